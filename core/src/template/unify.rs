//! The one type both results of a conditional are converted to, as
//! Terraform (go-cty's `UnifyUnsafe`) finds it: `true ? 1 : "a"` is `"1"`,
//! `true ? {a = 1} : {b = "x"}` is `{a = "1"}` (a map of strings), and
//! `false ? 1 : true` is an error.

use super::value::{to_string, Map, Value};

/// A value's type, as far as unification needs it.
#[derive(Debug, Clone, PartialEq)]
enum Ty {
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

fn ty_of(v: &Value) -> Ty {
    match v {
        Value::Null => Ty::Dynamic,
        Value::Bool(_) => Ty::Bool,
        Value::Number(_) => Ty::Number,
        Value::String(_) => Ty::String,
        Value::Array(items) => Ty::Tuple(items.iter().map(ty_of).collect()),
        Value::Object(m) => Ty::Object(m.iter().map(|(k, v)| (k.clone(), ty_of(v))).collect()),
    }
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

/// `v` converted to `t` (which it unified into, so conversion cannot fail:
/// only numbers and bools become strings).
fn convert(v: Value, t: &Ty) -> Value {
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
/// unify to; `Err` with the two type names when they do not.
pub fn conditional(chosen: Value, other: Option<&Value>) -> Result<Value, (String, String)> {
    let Some(other) = other else {
        // The other result failed to evaluate: like Terraform, its type is
        // unknown and the chosen result stands.
        return Ok(chosen);
    };
    let (a, b) = (ty_of(&chosen), ty_of(other));
    match unify(&a, &b) {
        Some(t) => Ok(convert(chosen, &t)),
        None => Err((name(&a), name(&b))),
    }
}

fn name(t: &Ty) -> String {
    match t {
        Ty::Dynamic => "dynamic".into(),
        Ty::Bool => "bool".into(),
        Ty::Number => "number".into(),
        Ty::String => "string".into(),
        Ty::List(_) => "list".into(),
        Ty::Tuple(_) => "tuple".into(),
        Ty::Map(_) => "map".into(),
        Ty::Object(_) => "object".into(),
    }
}
