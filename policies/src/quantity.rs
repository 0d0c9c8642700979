//! Kubernetes resource quantities, compared by value.
//!
//! The grammar is the API server's (`k8s.io/apimachinery/pkg/api/resource`):
//! `<signed decimal><suffix>` where the suffix is a binary SI one (`Ki Mi Gi Ti Pi Ei`), a decimal
//! SI one (`n u m "" k M G T P E`) or a decimal exponent (`e3`, `E-2`).
//! See <https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/>.
//!
//! Values are held as an exact count of nano-units in an `i128`, so `200m == 0.2` and
//! `1Gi == 1024Mi` hold exactly; no float rounding can turn an equal pair into a "change".

use std::cmp::Ordering;
use std::fmt;

/// Nano-units per unit: the smallest suffix Kubernetes accepts is `n`.
const NANOS: i128 = 1_000_000_000;

/// A parsed quantity: its exact value and the text it was written as.
#[derive(Debug, Clone)]
pub struct Quantity {
    nanos: i128,
    text: String,
}

/// Why a string is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The text is empty or only white space.
    #[error("empty quantity")]
    Empty,
    /// The text does not follow the quantity grammar.
    #[error("`{0}` is not a Kubernetes quantity (expected e.g. 200m, 0.5, 256Mi, 1G, 1e3)")]
    Syntax(String),
    /// The value is too large (or too precise) to represent.
    #[error("`{0}` is out of range for a quantity")]
    OutOfRange(String),
}

impl Quantity {
    /// Parses a quantity string such as `200m`, `1.5Gi` or `1e3`.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        Ok(Self {
            nanos: Self::nanos_of(text)?,
            text: text.trim().to_owned(),
        })
    }

    /// The value of `text` in nano-units, without keeping the text: what a check that the text
    /// is a quantity needs.
    pub fn nanos_of(text: &str) -> Result<i128, QuantityError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(QuantityError::Empty);
        }
        let syntax = || QuantityError::Syntax(trimmed.to_owned());
        let range = || QuantityError::OutOfRange(trimmed.to_owned());

        let (negative, unsigned) = match trimmed.as_bytes()[0] {
            b'-' => (true, &trimmed[1..]),
            b'+' => (false, &trimmed[1..]),
            _ => (false, trimmed),
        };
        let number_len = unsigned
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(unsigned.len());
        let (number, suffix) = unsigned.split_at(number_len);
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(syntax());
        }
        if frac_part.contains('.') {
            return Err(syntax());
        }
        // Trailing zeros of the fraction carry no value: `1.000...0` is `1`, however many.
        let frac_part = frac_part.trim_end_matches('0');
        // The mantissa as an integer with `frac_part.len()` decimal places.
        let significant = (int_part.bytes().chain(frac_part.bytes())).skip_while(|&d| d == b'0');
        if significant.clone().count() > 36 {
            return Err(range());
        }
        // At most 36 decimal digits: below i128::MAX (about 1.7e38), so no overflow.
        let mantissa = significant.fold(0i128, |m, d| m * 10 + i128::from(d - b'0'));
        let mut decimal_exp: i32 = -(i32::try_from(frac_part.len()).map_err(|_| range())?);
        let mut binary_factor: i128 = 1;
        match suffix {
            "" => {}
            "n" => decimal_exp -= 9,
            "u" => decimal_exp -= 6,
            "m" => decimal_exp -= 3,
            "k" => decimal_exp += 3,
            "M" => decimal_exp += 6,
            "G" => decimal_exp += 9,
            "T" => decimal_exp += 12,
            "P" => decimal_exp += 15,
            "E" => decimal_exp += 18,
            "Ki" => binary_factor = 1 << 10,
            "Mi" => binary_factor = 1 << 20,
            "Gi" => binary_factor = 1 << 30,
            "Ti" => binary_factor = 1 << 40,
            "Pi" => binary_factor = 1 << 50,
            "Ei" => binary_factor = 1 << 60,
            exp if exp.starts_with(['e', 'E']) => {
                let exp: i32 = exp[1..].parse().map_err(|_| syntax())?;
                if !(-64..=64).contains(&exp) {
                    return Err(range());
                }
                decimal_exp += exp;
            }
            _ => return Err(syntax()),
        }
        let mut nanos = mantissa.checked_mul(binary_factor).ok_or_else(range)?;
        let scale = decimal_exp + 9;
        if scale >= 0 {
            let factor = 10i128.checked_pow(scale as u32).ok_or_else(range)?;
            nanos = nanos.checked_mul(factor).ok_or_else(range)?;
        } else {
            // Below nano precision the API server rounds up; so do we.
            let divisor = 10i128
                .checked_pow(scale.unsigned_abs())
                .unwrap_or(i128::MAX);
            nanos = nanos / divisor + i128::from(nanos % divisor != 0);
        }
        if negative {
            nanos = -nanos;
        }
        Ok(nanos)
    }

    /// [`Quantity::nanos_of`] a JSON scalar: a string, or a bare number.
    pub fn nanos_of_json(value: &serde_json::Value) -> Result<i128, QuantityError> {
        match value {
            serde_json::Value::String(s) => Self::nanos_of(s),
            serde_json::Value::Number(n) => Self::nanos_of(&n.to_string()),
            other => Err(QuantityError::Syntax(other.to_string())),
        }
    }

    /// Parses a JSON scalar: a string, or a bare number as YAML gives for `cpu: 2`.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, QuantityError> {
        match value {
            serde_json::Value::String(s) => Self::parse(s),
            serde_json::Value::Number(n) => Self::parse(&n.to_string()),
            other => Err(QuantityError::Syntax(other.to_string())),
        }
    }

    /// The text as written in the manifest.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The exact value in nano-units.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// `self / other` as a float, for "grew by more than N times" checks.
    pub fn ratio_to(&self, other: &Quantity) -> Option<f64> {
        (other.nanos > 0).then(|| self.nanos as f64 / other.nanos as f64)
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}
impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Multiplies a quantity's nano value by a count (pods or nodes) and renders it readably,
/// in binary units for memory and cores for cpu.
pub fn format_total(nanos: i128, memory: bool) -> String {
    if memory {
        let bytes = nanos / NANOS;
        for (suffix, shift) in [("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)] {
            let unit = 1i128 << shift;
            if bytes >= unit {
                let whole = bytes as f64 / unit as f64;
                return format!("{}{suffix}", trim_float(whole));
            }
        }
        format!("{bytes}")
    } else {
        let cores = nanos as f64 / NANOS as f64;
        if cores < 1.0 {
            format!("{}m", trim_float(cores * 1000.0))
        } else {
            trim_float(cores)
        }
    }
}

fn trim_float(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn equal_by_value_not_by_text() {
        assert_eq!(q("200m"), q("0.2"));
        assert_eq!(q("1Gi"), q("1024Mi"));
        assert_eq!(q("268435456"), q("256Mi"));
        assert_eq!(q("1e3"), q("1k"));
        assert_eq!(q("1E-3"), q("1m"));
        assert_eq!(q("+1"), q("1000m"));
        assert_eq!(q(".5"), q("500m"));
        assert_ne!(q("1G"), q("1Gi"));
    }

    #[test]
    fn ordering_follows_value() {
        assert!(q("100Mi") < q("200Mi"));
        assert!(q("1") > q("999m"));
        assert!(q("-1") < q("0"));
        assert!(q("1Ei") > q("1E"));
    }

    #[test]
    fn rejects_what_the_api_server_rejects() {
        for bad in [
            "", "  ", "Mi", "1.2.3", "12x", "1 Mi", "1e", "--1", "1e999", ".",
        ] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} should not parse");
        }
        assert!(matches!(
            Quantity::parse("9999999999999999999999999999999999999999Ei"),
            Err(QuantityError::OutOfRange(_))
        ));
    }

    #[test]
    fn sub_nano_precision_rounds_up() {
        assert_eq!(q("0.0000000001").nanos(), 1);
    }

    #[test]
    fn numbers_from_yaml() {
        assert_eq!(
            Quantity::from_json(&serde_json::json!(2)).unwrap(),
            q("2000m")
        );
        assert_eq!(
            Quantity::from_json(&serde_json::json!(0.5)).unwrap(),
            q("500m")
        );
        assert!(Quantity::from_json(&serde_json::json!(true)).is_err());
    }

    #[test]
    fn totals_are_readable() {
        assert_eq!(format_total(q("256Mi").nanos() * 120, true), "30Gi");
        assert_eq!(format_total(q("200m").nanos() * 3, false), "600m");
        assert_eq!(format_total(q("200m").nanos() * 120, false), "24");
    }

    /// `1.000...0` with more zeros than the mantissa limit is still exactly 1.
    // See: proptest round trip (padded fraction `1.<40 zeros>` was "out of range")
    #[test]
    fn trailing_fraction_zeros_do_not_count() {
        assert_eq!(q(&format!("1.{}", "0".repeat(40))), q("1"));
        assert_eq!(q(&format!("0.5{}Mi", "0".repeat(60))), q("512Ki"));
        assert_eq!(q(&format!(".{}", "0".repeat(50))).nanos(), 0);
    }

    /// Property tests: quantities generated by construction, rendered in every spelling.
    mod properties {
        use std::cmp::Ordering;

        use proptest::prelude::*;

        use super::super::*;

        /// Decimal suffixes with their power of ten (of units).
        const DECIMAL: &[(&str, i32)] = &[
            ("n", -9),
            ("u", -6),
            ("m", -3),
            ("", 0),
            ("k", 3),
            ("M", 6),
            ("G", 9),
            ("T", 12),
            ("P", 15),
            ("E", 18),
        ];
        /// Binary suffixes with their power of two.
        const BINARY: &[(&str, u32)] = &[
            ("Ki", 10),
            ("Mi", 20),
            ("Gi", 30),
            ("Ti", 40),
            ("Pi", 50),
            ("Ei", 60),
        ];

        /// The exact decimal text of `n / 10^shift`, with `pad` extra trailing fraction zeros
        /// and `zeros` extra leading zeros (both are other spellings of the same value).
        fn decimal(n: i128, shift: u32, pad: usize, zeros: usize, plus: bool) -> String {
            let digits = n.unsigned_abs().to_string();
            let shift = shift as usize;
            let (int, frac) = if digits.len() > shift {
                digits.split_at(digits.len() - shift)
            } else {
                ("", digits.as_str())
            };
            let frac = format!("{frac:0>shift$}");
            let sign = if n < 0 {
                "-"
            } else if plus {
                "+"
            } else {
                ""
            };
            let int = format!(
                "{}{}",
                "0".repeat(zeros),
                if int.is_empty() { "0" } else { int }
            );
            let frac = format!("{}{}", frac.trim_end_matches('0'), "0".repeat(pad));
            if frac.is_empty() {
                format!("{sign}{int}")
            } else {
                format!("{sign}{int}.{frac}")
            }
        }

        /// `nanos` written with the decimal suffix `(suffix, power)` (or its `eN` form).
        fn render_decimal(nanos: i128, (suffix, power): (&str, i32), exp_form: bool) -> String {
            // value in units of the suffix = nanos / 10^(9 + power); shift the point.
            let scale = 9 + power;
            let (n, shift) = if scale >= 0 {
                (nanos, scale as u32)
            } else {
                (nanos * 10i128.pow(scale.unsigned_abs()), 0)
            };
            let number = decimal(n, shift, 0, 0, false);
            if exp_form {
                format!("{number}e{power}")
            } else {
                format!("{number}{suffix}")
            }
        }

        fn parse_nanos(text: &str) -> i128 {
            Quantity::parse(text)
                .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
                .nanos()
        }

        fn decimal_suffix() -> impl Strategy<Value = (&'static str, i32)> {
            prop::sample::select(DECIMAL)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2048))]

            /// Any nano count, written in any decimal suffix or exponent, with any padding,
            /// parses back to exactly that count.
            #[test]
            fn decimal_spellings_round_trip(
                nanos in any::<i64>(),
                suffix in decimal_suffix(),
                exp_form in any::<bool>(),
                pad in 0usize..48,
                zeros in 0usize..4,
                plus in any::<bool>(),
            ) {
                let nanos = i128::from(nanos);
                let scale = 9 + suffix.1;
                let (n, shift) = if scale >= 0 {
                    (nanos, scale as u32)
                } else {
                    (nanos * 10i128.pow(scale.unsigned_abs()), 0)
                };
                let number = decimal(n, shift, pad, zeros, plus);
                let text = if exp_form {
                    format!("{number}e{}", suffix.1)
                } else {
                    format!("{number}{}", suffix.0)
                };
                prop_assert_eq!(parse_nanos(&text), nanos, "{}", text);
            }

            /// `m` units times a binary suffix: `m/10^9 Ki` is exactly `m * 1024` nanos, etc.
            #[test]
            fn binary_spellings_round_trip(
                m in -(1i64 << 50)..(1i64 << 50),
                suffix in prop::sample::select(BINARY),
            ) {
                let m = i128::from(m);
                let text = format!("{}{}", decimal(m, 9, 0, 0, false), suffix.0);
                prop_assert_eq!(parse_nanos(&text), m << suffix.1, "{}", text);
            }

            /// Equal values in different spellings compare equal:
            /// `n*1024 Ki == n Mi`, `n Gi == n*2^30`, `k m == k/1000`, `n k == n e3 == n*1000`.
            #[test]
            fn equal_values_in_other_units_compare_equal(
                n in 0u64..(1 << 36),
                k in any::<i64>(),
                unit in 0usize..5,
            ) {
                let (small, big) = (BINARY[unit], BINARY[unit + 1]);
                let n128 = i128::from(n);
                prop_assert_eq!(
                    Quantity::parse(&format!("{}{}", n128 * 1024, small.0)).unwrap(),
                    Quantity::parse(&format!("{n}{}", big.0)).unwrap()
                );
                if n < (1 << 30) {
                    prop_assert_eq!(
                        Quantity::parse(&format!("{n}Gi")).unwrap(),
                        Quantity::parse(&(n128 << 30).to_string()).unwrap()
                    );
                }
                let k128 = i128::from(k);
                prop_assert_eq!(
                    Quantity::parse(&format!("{k}m")).unwrap(),
                    Quantity::parse(&decimal(k128, 3, 0, 0, false)).unwrap()
                );
                prop_assert_eq!(
                    Quantity::parse(&format!("{k}k")).unwrap(),
                    Quantity::parse(&format!("{k}e3")).unwrap()
                );
                prop_assert_eq!(
                    Quantity::parse(&format!("{k}k")).unwrap(),
                    Quantity::parse(&(k128 * 1000).to_string()).unwrap()
                );
            }

            /// Ordering follows value: two nano counts written in independent suffixes compare
            /// as the counts do (so `a < b` by construction gives `parse(a) < parse(b)`).
            #[test]
            fn ordering_follows_value(
                a in any::<i64>(),
                delta in 1i64..i64::MAX,
                sa in decimal_suffix(),
                sb in decimal_suffix(),
                ea in any::<bool>(),
                eb in any::<bool>(),
            ) {
                let a = i128::from(a);
                let b = a + i128::from(delta);
                let qa = Quantity::parse(&render_decimal(a, sa, ea)).unwrap();
                let qb = Quantity::parse(&render_decimal(b, sb, eb)).unwrap();
                prop_assert!(qa < qb, "{} !< {}", qa, qb);
                prop_assert_eq!(qb.cmp(&qa), Ordering::Greater);
                let qa2 = Quantity::parse(&render_decimal(a, sb, eb)).unwrap();
                prop_assert_eq!(&qa, &qa2);
            }

            /// No string makes the parser panic; what parses re-parses from its own text and
            /// its negation is its negative.
            #[test]
            fn arbitrary_strings_never_panic(text in "\\PC{0,64}") {
                if let Ok(q) = Quantity::parse(&text) {
                    prop_assert_eq!(parse_nanos(q.as_str()), q.nanos());
                }
            }

            /// Quantity-shaped noise: long mantissas, odd exponents, stray signs and points.
            #[test]
            fn quantity_shaped_strings_never_panic(
                text in "[ +-]{0,2}[0-9.]{0,48}([eE][+-]?[0-9]{0,12}|[numkMGTPE]i?|[a-zA-Z]{0,3})",
            ) {
                if let Ok(q) = Quantity::parse(&text) {
                    prop_assert_eq!(parse_nanos(q.as_str()), q.nanos());
                    let unsigned = q.as_str().trim_start_matches(['+', '-']);
                    if unsigned.len() == q.as_str().len() {
                        prop_assert_eq!(parse_nanos(&format!("-{unsigned}")), -q.nanos());
                    }
                }
            }
        }
    }
}
