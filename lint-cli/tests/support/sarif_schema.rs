// The official SARIF 2.1.0 schema (vendored in `tests/fixtures/sarif-schema-2.1.0.json`) as a
// validator, shared by the unit tests of `output/sarif.rs` and the binary tests.

use serde_json::{Value, json};

/// The official schema's `language` patterns (on `run` and `toolComponent`) have a stray `]`,
/// which ECMAScript reads as a literal but the Rust regex format check rejects when the schema
/// is compiled. Escaping it keeps the meaning (and changelint never writes `language`).
fn fix_patterns(value: &mut Value, fixed: &mut usize) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "pattern" && child == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" {
                    *child = json!("^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$");
                    *fixed += 1;
                } else {
                    fix_patterns(child, fixed);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| fix_patterns(v, fixed)),
        _ => {}
    }
}

/// The compiled schema.
pub fn validator() -> jsonschema::Validator {
    let text = include_str!("../fixtures/sarif-schema-2.1.0.json");
    let mut schema: Value = serde_json::from_str(text).expect("schema is JSON");
    let mut fixed = 0;
    fix_patterns(&mut schema, &mut fixed);
    assert_eq!(
        fixed, 2,
        "the vendored schema changed: review this workaround"
    );
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

/// Fails with every schema error of a SARIF log.
pub fn assert_valid(log: &Value) {
    let validator = validator();
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
    // Guard against a validator that accepts anything.
    assert!(!validator.is_valid(&json!({"version": "2.1.0", "runs": [{"tool": {}}]})));
}
