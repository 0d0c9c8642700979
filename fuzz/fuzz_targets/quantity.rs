//! Text -> `Quantity::parse`, with the invariants the rules rely on:
//! parsing is deterministic and ignores surrounding white space, a quantity re-parses from its
//! own text to the same value, a sign flips the value, comparison is a total order consistent
//! with equality, and rendering totals never panics.
#![no_main]

use std::cmp::Ordering;

use changelint_policies::quantity::{Quantity, format_total};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Two quantities from one input: `a|b`.
    let (a_text, b_text) = text.split_once('|').unwrap_or((text, "0"));
    let a = Quantity::parse(a_text);
    let b = Quantity::parse(b_text);
    if let Ok(a) = &a {
        let again = Quantity::parse(a.as_str()).expect("a quantity re-parses from its own text");
        assert_eq!(again.nanos(), a.nanos());
        let padded = Quantity::parse(&format!("  {a_text}\t")).expect("white space is ignored");
        assert_eq!(padded, *a);
        let unsigned = a.as_str().trim_start_matches(['+', '-']);
        if unsigned.len() == a.as_str().len() {
            let negated = Quantity::parse(&format!("-{unsigned}")).expect("a sign is accepted");
            assert_eq!(negated.nanos(), -a.nanos());
        }
        for memory in [true, false] {
            let _ = format_total(a.nanos(), memory);
        }
        let _ = a.ratio_to(a);
        assert_eq!(a.cmp(a), Ordering::Equal);
    }
    if let (Ok(a), Ok(b)) = (&a, &b) {
        assert_eq!(a.cmp(b), a.nanos().cmp(&b.nanos()));
        assert_eq!(a.cmp(b), b.cmp(a).reverse());
        assert_eq!(a == b, a.cmp(b) == Ordering::Equal);
        let _ = a.ratio_to(b);
    }
    let _ = Quantity::from_json(&serde_json::Value::String(text.to_owned()));
});
