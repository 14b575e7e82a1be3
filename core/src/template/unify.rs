//! The one type several values are converted to, as Terraform (go-cty's
//! `UnifyUnsafe`) finds it: for both results of a conditional
//! (`true ? 1 : "a"` is `"1"`, `true ? {a = 1} : {b = "x"}` is `{a = "1"}`, a
//! map of strings, and `false ? 1 : true` is an error), for the elements of
//! `tolist`, `toset` and `tomap`, and for `coalesce`'s arguments. Also the
//! order of a set's elements, which follows from their type.

use std::cmp::Ordering;

use super::functions::MAX_DEPTH;
use super::value::{to_string, Map, Value};

/// A value's type, as far as unification needs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ty {
    /// `null`: unifies with anything.
    Dynamic,
    Bool,
    Number,
    String,
    List(Box<Ty>),
    Tuple(Vec<Ty>),
    Map(Box<Ty>),
    Object(Vec<(String, Ty)>),
}

/// `v`'s type; `Err` when it is nested more deeply than [`MAX_DEPTH`] (so
/// that no recursion here can overflow the stack).
fn ty_of(v: &Value) -> Result<Ty, String> {
    ty_at(v, 0).ok_or_else(|| {
        format!("a value is nested more than {MAX_DEPTH} levels deep, too deep to convert")
    })
}

fn ty_at(v: &Value, depth: usize) -> Option<Ty> {
    if depth > MAX_DEPTH {
        return None;
    }
    Some(match v {
        Value::Null => Ty::Dynamic,
        Value::Bool(_) => Ty::Bool,
        Value::Number(_) => Ty::Number,
        Value::String(_) => Ty::String,
        Value::Array(items) => Ty::Tuple(
            items
                .iter()
                .map(|v| ty_at(v, depth + 1))
                .collect::<Option<_>>()?,
        ),
        Value::Object(m) => Ty::Object(
            m.iter()
                .map(|(k, v)| Some((k.clone(), ty_at(v, depth + 1)?)))
                .collect::<Option<_>>()?,
        ),
    })
}

/// The element type of a collection type, if it is one.
fn elements(t: &Ty) -> Option<Vec<Ty>> {
    match t {
        Ty::List(e) | Ty::Map(e) => Some(vec![(**e).clone()]),
        Ty::Tuple(ts) => Some(ts.clone()),
        Ty::Object(fs) => Some(fs.iter().map(|(_, t)| t.clone()).collect()),
        _ => None,
    }
}

fn unify_all(types: impl IntoIterator<Item = Ty>) -> Option<Ty> {
    types
        .into_iter()
        .try_fold(Ty::Dynamic, |acc, t| unify(&acc, &t))
}

fn unify(a: &Ty, b: &Ty) -> Option<Ty> {
    use Ty::*;
    Some(match (a, b) {
        (Dynamic, t) | (t, Dynamic) => t.clone(),
        (x, y) if x == y => x.clone(),
        (String, Number | Bool) | (Number | Bool, String) => String,
        (Tuple(x), Tuple(y)) if x.len() == y.len() => Tuple(
            x.iter()
                .zip(y)
                .map(|(a, b)| unify(a, b))
                .collect::<Option<Vec<_>>>()?,
        ),
        (Tuple(_) | List(_), Tuple(_) | List(_)) => List(Box::new(unify_all(
            elements(a)?.into_iter().chain(elements(b)?),
        )?)),
        (Object(x), Object(y))
            if x.len() == y.len() && x.iter().zip(y).all(|((ka, _), (kb, _))| ka == kb) =>
        {
            Object(
                x.iter()
                    .zip(y)
                    .map(|((k, a), (_, b))| unify(a, b).map(|t| (k.clone(), t)))
                    .collect::<Option<Vec<_>>>()?,
            )
        }
        (Object(_) | Map(_), Object(_) | Map(_)) => Map(Box::new(unify_all(
            elements(a)?.into_iter().chain(elements(b)?),
        )?)),
        _ => return None,
    })
}

/// The one type all of `vals` convert to; `Err` names the first two kinds
/// that do not unify ("all values must have the same type, but found number
/// and bool").
pub(crate) fn common_type<'a>(vals: impl IntoIterator<Item = &'a Value>) -> Result<Ty, String> {
    let mut acc = Ty::Dynamic;
    for v in vals {
        let t = ty_of(v)?;
        acc = unify(&acc, &t).ok_or_else(|| {
            format!(
                "all values must have the same type, but found {} and {}",
                name(&acc),
                name(&t)
            )
        })?;
    }
    Ok(acc)
}

/// `vals` converted to their common type ([`common_type`]), with that type.
pub(crate) fn to_common_type(vals: Vec<Value>) -> Result<(Vec<Value>, Ty), String> {
    let t = common_type(&vals)?;
    let vals = vals.into_iter().map(|v| convert(v, &t)).collect();
    Ok((vals, t))
}

/// Sorts the elements of a set of type `t` (deduplicated already) as go-cty
/// orders them: strings byte-wise, numbers by value, `false` before `true`;
/// other elements by the bytes go-cty hashes them from (`[10]` before
/// `[2]`); nulls last.
pub(crate) fn sort_set(vals: &mut [Value], t: &Ty) {
    let nulls_last = |a: &Value, b: &Value| a.is_null().cmp(&b.is_null());
    match t {
        Ty::String | Ty::Number | Ty::Bool | Ty::Dynamic => vals.sort_by(|a, b| {
            nulls_last(a, b).then_with(|| match (a, b) {
                (Value::String(x), Value::String(y)) => x.cmp(y),
                (Value::Number(x), Value::Number(y)) => x.compare(y),
                (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
                _ => Ordering::Equal,
            })
        }),
        _ => vals.sort_by_cached_key(|v| {
            let mut key = Vec::new();
            hash_bytes(v, t, &mut key);
            (v.is_null(), key)
        }),
    }
}

/// go-cty's `appendSetHashBytes`: the bytes a set element is hashed (and,
/// when it is not a primitive, ordered) by.
fn hash_bytes(v: &Value, t: &Ty, out: &mut Vec<u8>) {
    match (v, t) {
        (Value::Null, _) => out.push(b'~'),
        // big.Float's String(): Text('g', 10).
        (Value::Number(n), _) => out.extend_from_slice(n.text(b'g', 10).as_bytes()),
        (Value::Bool(b), _) => out.push(if *b { b'T' } else { b'F' }),
        (Value::String(s), _) => go_quote(s, out),
        (Value::Object(m), Ty::Map(e)) => {
            out.push(b'{');
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                go_quote(k, out);
                out.push(b':');
                hash_bytes(&m[k.as_str()], e, out);
                out.push(b';');
            }
            out.push(b'}');
        }
        (Value::Array(items), Ty::List(e)) => {
            out.push(b'[');
            for item in items {
                hash_bytes(item, e, out);
                out.push(b';');
            }
            out.push(b']');
        }
        (Value::Array(items), Ty::Tuple(ts)) => {
            out.push(b'<');
            for (item, t) in items.iter().zip(ts) {
                hash_bytes(item, t, out);
                out.push(b';');
            }
            out.push(b'>');
        }
        (Value::Object(m), Ty::Object(fs)) => {
            out.push(b'<');
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                let item = &m[k.as_str()];
                match fs.iter().find(|(name, _)| name == k) {
                    Some((_, t)) => hash_bytes(item, t, out),
                    None => hash_bytes(item, &ty_of(item).unwrap_or(Ty::Dynamic), out),
                }
                out.push(b';');
            }
            out.push(b'>');
        }
        // A value that is not of `t` (cannot happen after conversion): by
        // its own type.
        (v, _) => match ty_of(v) {
            Ok(t @ (Ty::Tuple(_) | Ty::Object(_))) => hash_bytes(v, &t, out),
            _ => out.push(b'?'),
        },
    }
}

/// Go's `%q` of a string (strconv.Quote), for the set hash bytes: control
/// characters escaped, everything else as it is.
fn go_quote(s: &str, out: &mut Vec<u8>) {
    use std::io::Write;
    out.push(b'"');
    for c in s.chars() {
        let _ = match c {
            '"' => out.write_all(b"\\\""),
            '\\' => out.write_all(b"\\\\"),
            '\u{7}' => out.write_all(b"\\a"),
            '\u{8}' => out.write_all(b"\\b"),
            '\u{c}' => out.write_all(b"\\f"),
            '\n' => out.write_all(b"\\n"),
            '\r' => out.write_all(b"\\r"),
            '\t' => out.write_all(b"\\t"),
            '\u{b}' => out.write_all(b"\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => write!(out, "\\x{:02x}", c as u32),
            c if c.is_control() => write!(out, "\\u{:04x}", c as u32),
            c => write!(out, "{c}"),
        };
    }
    out.push(b'"');
}

/// `v` converted to `t` (which it unified into, so conversion cannot fail:
/// only numbers and bools become strings).
pub(crate) fn convert(v: Value, t: &Ty) -> Value {
    match (v, t) {
        (v @ (Value::Number(_) | Value::Bool(_)), Ty::String) => {
            to_string(&v).map(Value::String).unwrap_or(v)
        }
        (Value::Array(items), Ty::List(e)) => {
            Value::Array(items.into_iter().map(|v| convert(v, e)).collect())
        }
        (Value::Array(items), Ty::Tuple(ts)) => Value::Array(
            items
                .into_iter()
                .zip(ts)
                .map(|(v, t)| convert(v, t))
                .collect(),
        ),
        (Value::Object(m), Ty::Map(e)) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, convert(v, e)))
                .collect::<Map<_, _>>(),
        ),
        (Value::Object(m), Ty::Object(fs)) => Value::Object(
            m.into_iter()
                .zip(fs)
                .map(|((k, v), (_, t))| (k, convert(v, t)))
                .collect::<Map<_, _>>(),
        ),
        (v, _) => v,
    }
}

/// The chosen result of a conditional, converted to the type both results
/// unify to; `Err` says why they do not.
pub fn conditional(chosen: Value, other: Option<&Value>) -> Result<Value, String> {
    let Some(other) = other else {
        // The other result failed to evaluate: like Terraform, its type is
        // unknown and the chosen result stands.
        return Ok(chosen);
    };
    let (a, b) = (ty_of(&chosen)?, ty_of(other)?);
    match unify(&a, &b) {
        Some(t) => Ok(convert(chosen, &t)),
        None => Err(format!(
            "the results of `? :` must have one type, got {} and {}: convert one (e.g. with tostring) or make both the same",
            name(&a),
            name(&b)
        )),
    }
}

fn name(t: &Ty) -> String {
    match t {
        Ty::Dynamic => "dynamic".into(),
        Ty::Bool => "bool".into(),
        Ty::Number => "number".into(),
        Ty::String => "string".into(),
        // Our values do not tell a tuple from a list (`type_name` says list).
        Ty::List(_) | Ty::Tuple(_) => "list".into(),
        Ty::Map(_) => "map".into(),
        Ty::Object(_) => "object".into(),
    }
}
