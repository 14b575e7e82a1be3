//! Encoding functions: `jsonencode` and `jsondecode`.
//!
//! JSON is written the way Terraform writes it (Go's encoding/json): compact,
//! object keys sorted, integers without a fraction, and `<`, `>`, `&`, U+2028
//! and U+2029 escaped as `\u003c` and so on.

use std::fmt::Write;

use super::{found, Args, FuncContext, FuncError, MAX_DEPTH, MAX_STRING_BYTES};
use crate::template::value::{self, Map, Number, Value};

/// jsonencode(value): the value as compact JSON.
pub(super) fn jsonencode(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let mut out = String::new();
    write_json(a.get(0), &mut out, 0).map_err(|e| a.invalid(e))?;
    Ok(Value::String(out))
}

/// jsondecode(string): the value the JSON text describes.
pub(super) fn jsondecode(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let text = a.string(0)?;
    let parsed: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        a.arg_err(
            0,
            format!("must be valid JSON, got {} ({e})", found(a.get(0))),
        )
    })?;
    from_json(parsed).map_err(|e| a.arg_err(0, e))
}

fn from_json(v: serde_json::Value) -> Result<Value, String> {
    // serde_json limits nesting to 128 levels, so this recursion is bounded.
    Ok(match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Number(Number::from(i))
            } else if let Some(u) = n.as_u64() {
                Value::Number(Number::from(u))
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                value::number(f).ok_or_else(|| format!("has a number out of range: {n}"))?
            }
        }
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(a) => {
            Value::Array(a.into_iter().map(from_json).collect::<Result<_, _>>()?)
        }
        serde_json::Value::Object(o) => {
            let mut m = Map::with_capacity(o.len());
            for (k, v) in o {
                m.insert(k, from_json(v)?);
            }
            Value::Object(m)
        }
    })
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
