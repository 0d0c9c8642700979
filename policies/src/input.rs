//! Turning file contents into objects: UTF-8 and size checks, YAML/JSON documents, `kind: List`
//! unpacking. The engine is handed bytes; reading the disk is the caller's job.

use std::sync::Arc;

use serde_json::Value;

use crate::config::Policy;
use crate::object::{Identity, Object, Origin};
use crate::projection::Projection;
use crate::yaml::{Limits, YamlError, escape_token, parse_manifests};

/// One file handed to the engine.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path shown to users (as given on the command line or found in a tree).
    pub path: String,
    /// The path used to pair before and after files (relative to the tree root).
    pub pairing_path: String,
    /// The raw content.
    pub bytes: Vec<u8>,
}

impl SourceFile {
    /// A file whose display path is also its pairing path.
    pub fn new(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        let path = path.into();
        Self {
            pairing_path: path.clone(),
            path,
            bytes: bytes.into(),
        }
    }
}

/// Why a file could not be read into objects. Always names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct InputError {
    /// The file's display path.
    pub file: String,
    /// 1-based line, where there is one.
    pub line: Option<u32>,
    /// What is wrong.
    pub message: String,
}

/// Added to an error about text that holds `{{`.
pub(crate) const TEMPLATE_HINT: &str = " (this looks like an unrendered Helm or Go template: check the output of `helm template` instead)";

impl InputError {
    pub(crate) fn new(file: &str, line: Option<u32>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }
}

/// The text of a file's bytes, or an error naming the line of the first byte that is not
/// UTF-8.
pub fn decode_utf8<'b>(file: &str, bytes: &'b [u8]) -> Result<&'b str, InputError> {
    std::str::from_utf8(bytes).map_err(|e| not_utf8(file, bytes, e.valid_up_to()))
}

/// The error for `bytes` of `file` that are UTF-8 up to `valid_up_to` only.
pub fn not_utf8(file: &str, bytes: &[u8], valid_up_to: usize) -> InputError {
    let line = crate::yaml::line_at(bytes, valid_up_to);
    InputError::new(file, Some(line as u32), "file is not valid UTF-8")
}

/// Extensions of the files changelint reads as manifests.
pub const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Whether a path names a manifest by its extension, in any case: `X.YAML` is a manifest on
/// every file system, and one that skipped it would drop it from the lint unseen.
pub fn is_manifest_path(path: &str) -> bool {
    path.rsplit_once('.').is_some_and(|(_, ext)| {
        MANIFEST_EXTENSIONS
            .iter()
            .any(|known| ext.eq_ignore_ascii_case(known))
    })
}

/// Reads every object of a file, each workload projected onto what the rules read (see
/// [`crate::projection`]). Empty documents are skipped; a file with none is an error.
pub fn load_objects(
    file: &SourceFile,
    limits: &Limits,
    policy: &Policy,
) -> Result<Vec<Object>, InputError> {
    let text = decode_utf8(&file.path, &file.bytes)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let documents = parse_manifests(text, limits, &Projection::files(policy)).map_err(
        |YamlError { line, mut message }| {
            if text.contains("{{") {
                message.push_str(TEMPLATE_HINT);
            }
            InputError::new(&file.path, line, message)
        },
    )?;
    let file_name: Arc<str> = file.path.as_str().into();
    let pairing: Arc<str> = file.pairing_path.as_str().into();
    let count = documents.iter().filter(|d| !d.value.is_null()).count();
    if count == 0 {
        return Err(InputError::new(
            &file.path,
            None,
            "file holds no YAML or JSON document",
        ));
    }
    let mut objects = Vec::new();
    for (index, document) in documents.into_iter().enumerate() {
        if document.value.is_null() {
            continue;
        }
        if !document.value.is_object() {
            return Err(InputError::new(
                &file.path,
                Some(document.start_line),
                "document is not a mapping (expected a Kubernetes object or a config mapping)",
            ));
        }
        let lines = Arc::new(document.lines);
        let origin = |prefix: String| Origin {
            file: file_name.clone(),
            pairing_path: pairing.clone(),
            document: index,
            prefix,
        };
        let config_name = if count > 1 {
            format!("{}#{index}", file.pairing_path)
        } else {
            file.pairing_path.clone()
        };
        match unpack_list(document.value) {
            Ok(items) => {
                for (item_index, item) in items.into_iter().enumerate() {
                    let prefix = format!("/items/{}", escape_token(&item_index.to_string()));
                    if !item.is_object() {
                        return Err(InputError::new(
                            &file.path,
                            lines.line_of(&prefix),
                            format!("`{prefix}`: a List item must be an object (a mapping)"),
                        ));
                    }
                    let identity =
                        Identity::of(&item, &format!("{config_name}/items/{item_index}"));
                    objects.push(Object {
                        value: item,
                        origin: Some(origin(prefix)),
                        lines: lines.clone(),
                        identity,
                    });
                }
            }
            Err(value) => {
                let identity = Identity::of(&value, &config_name);
                objects.push(Object {
                    value,
                    origin: Some(origin(String::new())),
                    lines,
                    identity,
                });
            }
        }
    }
    Ok(objects)
}

/// `kind: List` and every `*List` kind hold their objects in `items`. A `*List` kind whose
/// items are not all objects is a custom resource of its own (an `IPAllowList` of addresses);
/// a `kind: List` can hold nothing else.
fn unpack_list(value: Value) -> Result<Vec<Value>, Value> {
    let is_list = match value["kind"].as_str() {
        Some("List") => true,
        Some(kind) => {
            kind.ends_with("List")
                && value["items"]
                    .as_array()
                    .is_some_and(|items| items.iter().all(Value::is_object))
        }
        None => false,
    } && value["apiVersion"].is_string()
        && value["items"].is_array();
    if !is_list {
        return Err(value);
    }
    match value {
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(Value::Object(map)),
        },
        other => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_file(file: &SourceFile) -> Result<Vec<Object>, InputError> {
        let policy = crate::Policy::default();
        load_objects(file, &Limits::default(), &policy)
    }

    fn load(text: &str) -> Result<Vec<Object>, InputError> {
        load_file(&SourceFile::new("t.yaml", text.as_bytes()))
    }

    #[test]
    fn lists_unpack_with_lines() {
        let objects = load("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n").unwrap();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].identity.name, "a");
        assert_eq!(
            objects[0].locate("/metadata/name"),
            (Some("t.yaml".into()), Some(6))
        );
    }

    #[test]
    fn non_kubernetes_documents_are_configs() {
        let objects = load("shipper:\n  resources:\n    mem_limit: 1Gi\n").unwrap();
        assert!(objects[0].identity.is_config());
        assert_eq!(objects[0].identity.name, "t.yaml");
    }

    #[test]
    fn bad_input_names_file_and_line() {
        let err = load_file(&SourceFile::new("bin.yaml", b"a: 1\nb: \xff\n".to_vec())).unwrap_err();
        assert_eq!((err.file.as_str(), err.line), ("bin.yaml", Some(2)));
        let err = load("").unwrap_err();
        assert!(err.message.contains("no YAML"), "{err}");
        let err = load("- a\n- b\n").unwrap_err();
        assert!(err.message.contains("not a mapping"), "{err}");
        let err = load("a: [\n").unwrap_err();
        assert!(err.line.is_some(), "{err}");
    }

    #[test]
    fn manifest_extensions_match_in_any_case() {
        for path in ["a.yaml", "d/X.YAML", "b.Yml", "c.JSON"] {
            assert!(is_manifest_path(path), "{path}");
        }
        for path in ["a.md", "yaml", "d.yaml/README", "e.yamll"] {
            assert!(!is_manifest_path(path), "{path}");
        }
    }
}
