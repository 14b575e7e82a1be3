//! Values that template expressions evaluate to, and the conversions between
//! them that Terraform performs implicitly (`"5"` to number, `true` to `"true"`).
//!
//! Values are [`hcl::Value`]: lists, sets and tuples are arrays; maps and objects
//! are objects (insertion-ordered; functions that Terraform defines over sorted
//! keys sort explicitly).

pub use hcl::{Map, Number, Value};

/// The Terraform name of a value's type, for error messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// Makes a number value from an `f64`, keeping integers integral.
/// Non-finite results (NaN, infinity) give `None`.
pub fn number(f: f64) -> Option<Value> {
    if !f.is_finite() {
        return None;
    }
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Some(Value::Number(Number::from(f as i64)))
    } else {
        Number::from_f64(f).map(Value::Number)
    }
}

/// Makes a number value from an integer.
pub fn int(i: i64) -> Value {
    Value::Number(Number::from(i))
}

/// Converts to a number as Terraform does: numbers as they are, strings that
/// parse as decimal numbers. Anything else is `None`.
pub fn to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() || t != s {
                return None;
            }
            t.parse::<f64>().ok().filter(|f| f.is_finite())
        }
        _ => None,
    }
}

/// Converts to a whole number; `None` for fractions and non-numbers.
pub fn to_i64(v: &Value) -> Option<i64> {
    let f = to_f64(v)?;
    (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)
}

/// Formats a number the way Terraform prints it: no trailing `.0`, no exponent
/// for ordinary magnitudes.
pub fn format_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        let s = format!("{f}");
        s
    }
}

/// Converts a primitive to a string as Terraform does (numbers and bools are
/// formatted). Null, lists and objects give `None`.
pub fn to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(format_number(n)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Converts to a bool as Terraform does: bools, and the strings `"true"` and `"false"`.
pub fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// Equality as HCL's `==` defines it: numbers compare by value (1 == 1.0),
/// everything else structurally. Values of different types are never equal.
pub fn equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equals(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| equals(v, w)))
        }
        _ => a == b,
    }
}

/// A short rendering of a value for error messages (long values are cut).
pub fn describe(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("{s:?}"),
        other => serde_json::to_string(other).unwrap_or_else(|_| "?".into()),
    };
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// The (key, value) pairs that `for`, `%{for}` and `for_each` iterate: index
/// and element for lists, key and value for maps and objects. Any other value
/// is given back as the error.
pub fn entries(v: Value) -> Result<Vec<(Value, Value)>, Value> {
    match v {
        Value::Array(items) => Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (int(i as i64), v))
            .collect()),
        Value::Object(m) => Ok(m.into_iter().map(|(k, v)| (Value::String(k), v)).collect()),
        other => Err(other),
    }
}
