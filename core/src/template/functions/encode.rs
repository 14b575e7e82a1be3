//! Encoding functions: `jsonencode` and `jsondecode`.
//!
//! JSON is written the way Terraform writes it (Go's encoding/json): compact,
//! object keys sorted, integers without a fraction, and `<`, `>`, `&`, U+2028
//! and U+2029 escaped as `\u003c` and so on.

use std::borrow::Cow;
use std::fmt::Write;

use super::{found, Args, FuncContext, FuncError, MAX_DEPTH, MAX_STRING_BYTES};
use serde_json::value::RawValue;

use crate::template::value::{self, Map, Number, Value};

/// jsonencode(value): the value as compact JSON.
pub(super) fn jsonencode(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let mut out = String::new();
    write_json(a.get(0), &mut out, 0).map_err(|e| a.invalid(e))?;
    Ok(Value::String(out))
}

/// jsondecode(string): the value the JSON text describes. Numbers are read
/// from their text at literal precision (go-cty's `ParseNumberVal`), so
/// `9007199254740993` and `1e400` keep every digit.
pub(super) fn jsondecode(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let text = a.string(0)?;
    let bad = |e: String| {
        a.arg_err(
            0,
            format!("must be valid JSON, got {} ({e})", found(a.get(0))),
        )
    };
    // serde_json checks the syntax once; the value is then built from the
    // raw text of each element.
    let text = replace_lone_surrogates(&text);
    let raw: &RawValue = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    from_json(raw, 0).map_err(|e| a.arg_err(0, e))
}

/// `text` with each `\u` escape of a lone UTF-16 surrogate (one not in a
/// high-low pair) made `\ufffd`, as Go's encoding/json decodes it: the JSON
/// text `"\ud83d"` is the string U+FFFD in Terraform; serde_json refuses it.
fn replace_lone_surrogates(text: &str) -> Cow<'_, str> {
    if !text.contains("\\u") {
        return Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let unit = |at: usize| -> Option<u16> {
        let hex = text.get(at..at + 6)?;
        let digits = hex.strip_prefix("\\u")?;
        u16::from_str_radix(digits, 16).ok()
    };
    let high = |u: u16| (0xD800..0xDC00).contains(&u);
    let low = |u: u16| (0xDC00..0xE000).contains(&u);
    let mut out = String::with_capacity(text.len());
    let (mut i, mut copied, mut in_string) = (0, 0, false);
    while i < b.len() {
        match b[i] {
            b'"' => {
                in_string = !in_string;
                i += 1;
            }
            b'\\' if in_string => match unit(i) {
                Some(u) if high(u) && unit(i + 6).is_some_and(low) => i += 12,
                Some(u) if high(u) || low(u) => {
                    out.push_str(&text[copied..i]);
                    out.push_str("\\ufffd");
                    i += 6;
                    copied = i;
                }
                // Any other escape: the next byte is not a quote that ends the string.
                _ => i += 2,
            },
            _ => i += 1,
        }
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// serde_json's own nesting limit, which raw values do not apply.
const JSON_DEPTH: usize = 128;

fn from_json(raw: &RawValue, depth: usize) -> Result<Value, String> {
    if depth > JSON_DEPTH {
        return Err(format!("is nested more than {JSON_DEPTH} levels deep"));
    }
    let text = raw.get();
    let json = |e: serde_json::Error| e.to_string();
    Ok(match text.as_bytes().first() {
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(json)?;
            Value::Array(
                items
                    .into_iter()
                    .map(|v| from_json(v, depth + 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        Some(b'{') => {
            let entries: Vec<(String, &RawValue)> =
                serde_json::from_str::<Entries>(text).map_err(json)?.0;
            let mut m = Map::with_capacity(entries.len());
            for (k, v) in entries {
                // As Go's encoding/json: a repeated key keeps its last value.
                m.insert(k, from_json(v, depth + 1)?);
            }
            Value::Object(m)
        }
        Some(b'-' | b'0'..=b'9') => match Number::parse(text) {
            Ok(Some(n)) => Value::Number(n),
            Ok(None) => return Err(format!("has a number that cannot be read: {text}")),
            Err(e) => return Err(format!("has a number out of range ({e}): {text}")),
        },
        _ => match serde_json::from_str::<serde_json::Value>(text).map_err(json)? {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::String(s) => Value::String(s),
            other => return Err(format!("has an unexpected value: {other}")),
        },
    })
}

/// A JSON object's entries in order, repeated keys included (a map would
/// refuse them).
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Entries<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<Entries<'a>, M::Error> {
                let mut out = Vec::new();
                while let Some(entry) = m.next_entry::<String, &'de RawValue>()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Appends `v` as JSON; fails if it is nested too deeply or too long.
pub(super) fn write_json(v: &Value, out: &mut String, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "the value is nested more than {MAX_DEPTH} levels deep"
        ));
    }
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_inf() => {
            return Err("cannot serialize infinity as JSON".to_string())
        }
        Value::Number(n) => out.push_str(&value::format_number(n)),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out, depth + 1)?;
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|x, y| x.0.cmp(y.0));
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(item, out, depth + 1)?;
            }
            out.push('}');
        }
    }
    if out.len() > MAX_STRING_BYTES {
        return Err(super::too_long_message());
    }
    Ok(())
}

/// Appends `s` as a JSON string literal, escaped as Go's encoding/json does.
pub(super) fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
