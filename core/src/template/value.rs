//! Values that template expressions evaluate to, and the conversions between
//! them that Terraform performs implicitly (`"5"` to number, `true` to `"true"`).
//!
//! Lists, sets and tuples are arrays; maps and objects are objects
//! (insertion-ordered; [`super::canonical`] sorts keys where values are
//! made). Numbers are [`Number`], go-cty's arbitrary-precision binary floats.
//! Serialized, a value is plain JSON (the shape `hcl::Value` had, so stored
//! events keep decoding); see [`Value`]'s serde impls for what a number keeps.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

pub use super::number::{Number, NumberError};

/// An insertion-ordered map (the one `hcl` uses).
pub type Map<K, V> = indexmap::IndexMap<K, V>;

/// A template value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(Map<String, Value>),
}

impl Value {
    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bool, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The items, if this is a list.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The entries, if this is an object.
    pub fn as_object(&self) -> Option<&Map<String, Value>> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Number(Number::from_i64(i))
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Value {
        Value::Number(Number::from_i64(i64::from(i)))
    }
}

impl From<u64> for Value {
    fn from(u: u64) -> Value {
        Value::Number(Number::from_u64(u))
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Value {
        Value::Array(a)
    }
}

impl From<Map<String, Value>> for Value {
    fn from(m: Map<String, Value>) -> Value {
        Value::Object(m)
    }
}

impl Serialize for Value {
    /// Plain JSON. A number is written as an integer when it is a whole one
    /// that fits 64 bits, otherwise as the float64 nearest to it (JSON
    /// readers keep no more), and an infinity as `null`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    s.serialize_i64(i)
                } else if let Some(u) = n.as_u64() {
                    s.serialize_u64(u)
                } else if n.is_inf() {
                    s.serialize_unit()
                } else {
                    s.serialize_f64(n.to_f64())
                }
            }
            Value::String(v) => s.serialize_str(v),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    /// Any JSON. A float is read as the decimal it prints as (its shortest
    /// digits, at the precision of a literal), so `0.1` written and read back
    /// is the `0.1` of a template.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::from(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::from(u))
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        number_from_f64(f).ok_or_else(|| E::custom(format!("{f} is not a number")))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Map::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            m.insert(k, v);
        }
        Ok(Value::Object(m))
    }
}

/// A float64 read as the decimal it prints as (Rust's shortest digits),
/// parsed like a literal; `None` for NaN.
pub fn number_from_f64(f: f64) -> Option<Value> {
    if !f.is_finite() {
        return Number::from_f64(f).map(Value::Number);
    }
    match Number::parse(&format!("{f:e}")) {
        Ok(Some(n)) => Some(Value::Number(n)),
        _ => Number::from_f64(f).map(Value::Number),
    }
}

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

/// Makes a number value from a float64 result (precision 53, as go-cty's
/// `NumberFloatVal`); infinities are numbers, NaN gives `None`.
pub fn number(f: f64) -> Option<Value> {
    Number::from_f64(f).map(Value::Number)
}

/// Makes a number value from an integer.
pub fn int(i: i64) -> Value {
    Value::Number(Number::from_i64(i))
}

/// Converts to a number as Terraform does: numbers as they are, strings that
/// parse as decimal numbers (go-cty's `ParseNumberVal`, no spaces). Anything
/// else is `None`.
pub fn to_number(v: &Value) -> Option<Number> {
    match v {
        Value::Number(n) => Some(n.clone()),
        Value::String(s) => Number::parse(s).ok().flatten(),
        _ => None,
    }
}

/// Converts to the nearest float64, as [`to_number`] converts.
pub fn to_f64(v: &Value) -> Option<f64> {
    to_number(v).map(|n| n.to_f64())
}

/// Converts to a whole number that fits 64 bits; `None` for fractions,
/// larger numbers and non-numbers.
pub fn to_i64(v: &Value) -> Option<i64> {
    to_number(v)?.as_i64()
}

/// Formats a number the way Terraform prints it: its shortest exact digits,
/// no exponent (`+Inf` and `-Inf` for infinities).
pub fn format_number(n: &Number) -> String {
    n.to_string()
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

/// Converts to a bool as Terraform does: bools, the strings `"true"` and
/// `"false"`, and `"1"` and `"0"` (go-cty accepts those too).
pub fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" || s == "1" => Some(true),
        Value::String(s) if s == "false" || s == "0" => Some(false),
        _ => None,
    }
}

/// Equality as HCL's `==` defines it: numbers as go-cty compares them (1 == 1.0,
/// 0.1 + 0.2 == 0.3),
/// everything else structurally. Values of different types are never equal.
pub fn equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.cty_equals(y),
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
