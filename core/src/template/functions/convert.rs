//! The type-conversion functions: `tostring`, `tonumber`, `tobool`,
//! `tolist`, `toset` and `tomap`, as Terraform defines them (go-cty's
//! `convert`). Seed 002 does not list them, but templates written as one
//! writes Terraform use them.
//!
//! Values carry no collection type here (README, "Where templates differ
//! from Terraform"): `tolist` and `toset` give a list whose elements are
//! converted to one type (`toset` also without duplicates and in go-cty's
//! set order), and `tomap` an object whose values are.

use super::{found, make_set, unify_list, Args, FuncContext, FuncError};
use crate::template::unify;
use crate::template::value::{self, Map, Number, Value};

/// tostring(v): a string, or a number or bool written as one; null stays null.
pub(super) fn tostring(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        v => value::to_string(v).map(Value::String).ok_or_else(|| {
            cannot(
                a,
                "a string",
                "only a string, number or bool converts to a string",
            )
        }),
    }
}

/// tonumber(v): a number, or a string holding a decimal number; null stays null.
pub(super) fn tonumber(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::Number(n) => Ok(Value::Number(n.clone())),
        Value::String(s) => match Number::parse(s) {
            Ok(Some(n)) => Ok(Value::Number(n)),
            Ok(None) => Err(cannot(
                a,
                "a number",
                "the string must be a decimal number, such as \"12\" or \"-1.5e3\"",
            )),
            Err(e) => Err(a.arg_err(0, format!("is out of range: {e}"))),
        },
        _ => Err(cannot(
            a,
            "a number",
            "only a number or a string converts to a number",
        )),
    }
}

/// tobool(v): a bool, or the string "true" or "false" ("1" and "0" too, as
/// go-cty converts them); null stays null.
pub(super) fn tobool(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        v => match value::to_bool(v) {
            Some(b) => Ok(Value::Bool(b)),
            None => {
                let hint = match v.as_str().map(str::to_lowercase).as_deref() {
                    Some("true") => "write it in lowercase: \"true\"",
                    Some("false") => "write it in lowercase: \"false\"",
                    _ => "only a bool, or the string \"true\" or \"false\", converts to a bool",
                };
                Err(cannot(a, "a bool", hint))
            }
        },
    }
}

/// tolist(v): a list or set with its elements converted to one type.
pub(super) fn tolist(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    match a.take(0) {
        Value::Null => Ok(Value::Null),
        Value::Array(items) => unify_list(items)
            .map(Value::Array)
            .map_err(|e| a.arg_err(0, format!("cannot be made a list of one type: {e}"))),
        other => Err(not_a(a, &other, "a list", "a list, tuple or set")),
    }
}

/// toset(v): a list's elements converted to one type, without duplicates,
/// in go-cty's set order.
pub(super) fn toset(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    match a.take(0) {
        Value::Null => Ok(Value::Null),
        Value::Array(items) => {
            let (items, ty) = unify::to_common_type(items)
                .map_err(|e| a.arg_err(0, format!("cannot be made a set of one type: {e}")))?;
            make_set(items, &ty)
                .map(Value::Array)
                .ok_or_else(|| a.arg_err(0, "is nested too deeply"))
        }
        other => Err(not_a(a, &other, "a set", "a list, tuple or set")),
    }
}

/// tomap(v): an object's values converted to one type, keys in lexical order.
pub(super) fn tomap(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    match a.take(0) {
        Value::Null => Ok(Value::Null),
        Value::Object(m) => {
            let (keys, vals): (Vec<String>, Vec<Value>) = m.into_iter().unzip();
            let vals = unify_list(vals)
                .map_err(|e| a.arg_err(0, format!("cannot be made a map of one type: {e}")))?;
            let mut out: Map<String, Value> = keys.into_iter().zip(vals).collect();
            out.sort_unstable_keys();
            Ok(Value::Object(out))
        }
        other => Err(not_a(a, &other, "a map", "a map or object")),
    }
}

fn cannot(a: &Args, to: &str, hint: &str) -> FuncError {
    a.arg_err(
        0,
        format!(
            "cannot be converted to {to}, got {}: {hint}",
            found(a.get(0))
        ),
    )
}

fn not_a(a: &Args, v: &Value, to: &str, from: &str) -> FuncError {
    a.arg_err(
        0,
        format!(
            "cannot be converted to {to}, got {}: only {from} converts to {to}",
            found(v)
        ),
    )
}
