//! Terraform's canonical values: every string in Unicode NFC (go-cty
//! normalises each string it makes), every object's keys in lexical order
//! (cty iterates maps and objects by key). Applied where values are made:
//! literals, templates, object and `for` constructors, function results.

use super::value::{Map, Value};
use unicode_normalization::{is_nfc, UnicodeNormalization};

/// `s` in NFC.
pub fn nfc(s: String) -> String {
    if is_nfc(&s) {
        s
    } else {
        s.nfc().collect()
    }
}

/// Sorts `m` by key (byte order of the UTF-8, as Go compares strings).
pub fn sort_keys(m: &mut Map<String, Value>) {
    let sorted = m.keys().zip(m.keys().skip(1)).all(|(a, b)| a <= b);
    if !sorted {
        m.sort_keys();
    }
}

/// Makes `v` canonical throughout: strings and keys in NFC (keys that
/// become equal keep the last value), objects sorted by key.
pub fn canonical(v: &mut Value) {
    match v {
        Value::String(s) if !is_nfc(s) => *s = s.nfc().collect(),
        Value::Array(items) => items.iter_mut().for_each(canonical),
        Value::Object(m) => {
            if !m.keys().all(|k| is_nfc(k)) {
                let old = std::mem::take(m);
                for (k, v) in old {
                    m.insert(nfc(k), v);
                }
            }
            m.values_mut().for_each(canonical);
            sort_keys(m);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_nfc_and_keys_sorted() {
        assert_eq!(nfc("e\u{301}".into()), "\u{e9}");
        let mut v = Value::Object(Map::from_iter([
            ("b".to_string(), Value::String("e\u{301}".into())),
            ("a\u{308}".to_string(), Value::from(1)),
            ("\u{e4}".to_string(), Value::from(2)),
            (
                "a".to_string(),
                Value::Array(vec![Value::String("A\u{30a}".into())]),
            ),
        ]));
        canonical(&mut v);
        let Value::Object(m) = &v else {
            panic!("an object stays an object: {v:?}")
        };
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b", "\u{e4}"]);
        assert_eq!(m["\u{e4}"], Value::from(2));
        assert_eq!(m["b"], Value::String("\u{e9}".into()));
        assert_eq!(m["a"], Value::Array(vec![Value::String("\u{c5}".into())]));
    }
}
