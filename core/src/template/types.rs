//! Variable type constraints (`string`, `list(object({…}))`, …) and the
//! conversions Terraform applies to make a value fit one.

use std::fmt;

use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::Span;
use serde::{Deserialize, Serialize};

use super::eval::EvalError;
use super::value::{self, describe, type_name, Map, Value};

/// A type constraint as written in a `variable` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    Any,
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(Vec<ObjectAttr>),
    Tuple(Vec<Type>),
}

/// One attribute of an `object({…})` type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectAttr {
    pub name: String,
    pub ty: Type,
    /// Declared with `optional(T)`: may be left out.
    pub optional: bool,
    /// The second argument of `optional(T, default)`.
    pub default: Option<Value>,
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Any => f.write_str("any"),
            Type::String => f.write_str("string"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::List(t) => write!(f, "list({t})"),
            Type::Set(t) => write!(f, "set({t})"),
            Type::Map(t) => write!(f, "map({t})"),
            Type::Tuple(ts) => {
                f.write_str("tuple([")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
            Type::Object(attrs) => {
                f.write_str("object({")?;
                for (i, a) in attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    if a.optional {
                        write!(f, " {} = optional({})", a.name, a.ty)?;
                    } else {
                        write!(f, " {} = {}", a.name, a.ty)?;
                    }
                }
                f.write_str(" })")
            }
        }
    }
}

const TYPE_HELP: &str = "expected a type: string, number, bool, any, list(T), set(T), map(T), object({ name = T, … }) or tuple([T, …])";

impl Type {
    /// Whether a value of this type is a single primitive (so a command-line
    /// value is taken as raw text rather than parsed as an expression).
    pub fn is_primitive(&self) -> bool {
        matches!(self, Type::String | Type::Number | Type::Bool)
    }

    /// Reads a type constraint expression.
    pub fn parse(expr: &Expression) -> Result<Type, EvalError> {
        Self::parse_in(expr, false).map(|(t, _, _)| t)
    }

    fn parse_in(
        expr: &Expression,
        in_object: bool,
    ) -> Result<(Type, bool, Option<Value>), EvalError> {
        let err = |msg: String| EvalError {
            span: expr.span(),
            message: msg,
        };
        match expr {
            Expression::Variable(v) => match v.as_str() {
                "string" => Ok((Type::String, false, None)),
                "number" => Ok((Type::Number, false, None)),
                "bool" => Ok((Type::Bool, false, None)),
                "any" => Ok((Type::Any, false, None)),
                "list" => Ok((Type::List(Box::new(Type::Any)), false, None)),
                "set" => Ok((Type::Set(Box::new(Type::Any)), false, None)),
                "map" => Ok((Type::Map(Box::new(Type::Any)), false, None)),
                other => Err(err(format!("unknown type `{other}`; {TYPE_HELP}"))),
            },
            Expression::String(s) => Err(err(format!(
                "a type is written without quotes: use {} instead of \"{}\"",
                s.value(),
                s.value()
            ))),
            Expression::Parenthesis(p) => Self::parse_in(p.inner(), in_object),
            Expression::FuncCall(call) => {
                let name = call.name.name.as_str();
                let args: Vec<&Expression> = call.args.iter().collect();
                let one = |what: &str| -> Result<&Expression, EvalError> {
                    match args.as_slice() {
                        [a] => Ok(*a),
                        _ => Err(err(format!(
                            "{what}(…) takes exactly one type, e.g. {what}(string)"
                        ))),
                    }
                };
                match name {
                    "list" => Ok((
                        Type::List(Box::new(Self::parse(one("list")?)?)),
                        false,
                        None,
                    )),
                    "set" => Ok((Type::Set(Box::new(Self::parse(one("set")?)?)), false, None)),
                    "map" => Ok((Type::Map(Box::new(Self::parse(one("map")?)?)), false, None)),
                    "object" => {
                        let Expression::Object(obj) = one("object")? else {
                            return Err(err("object(…) takes an object of attribute types, e.g. object({ name = string })".into()));
                        };
                        let mut attrs = Vec::new();
                        for (k, v) in obj.iter() {
                            let name = match k {
                                ObjectKey::Ident(i) => i.as_str().to_owned(),
                                ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                                ObjectKey::Expression(e) => {
                                    return Err(EvalError {
                                        span: e.span(),
                                        message:
                                            "an object type's attribute names must be plain names"
                                                .into(),
                                    })
                                }
                            };
                            let (ty, optional, default) = Self::parse_in(v.expr(), true)?;
                            attrs.push(ObjectAttr {
                                name,
                                ty,
                                optional,
                                default,
                            });
                        }
                        Ok((Type::Object(attrs), false, None))
                    }
                    "tuple" => {
                        let Expression::Array(items) = one("tuple")? else {
                            return Err(err(
                                "tuple(…) takes a list of types, e.g. tuple([string, number])"
                                    .into(),
                            ));
                        };
                        let ts = items
                            .iter()
                            .map(Self::parse)
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok((Type::Tuple(ts), false, None))
                    }
                    "optional" if in_object => {
                        let (ty, default) = match args.as_slice() {
                            [t] => (Self::parse(t)?, None),
                            [t, d] => {
                                let ty = Self::parse(t)?;
                                let dv = constant(d)?;
                                let dv = convert(dv, &ty).map_err(|m| EvalError {
                                    span: d.span(),
                                    message: format!("the default does not fit {ty}: {m}"),
                                })?;
                                (ty, Some(dv))
                            }
                            _ => return Err(err("optional(…) takes a type and an optional default, e.g. optional(string, \"x\")".into())),
                        };
                        Ok((ty, true, default))
                    }
                    "optional" => Err(err(
                        "optional(…) is only allowed for attributes of an object type".into(),
                    )),
                    other => Err(err(format!(
                        "unknown type constructor `{other}`; {TYPE_HELP}"
                    ))),
                }
            }
            _ => Err(err(TYPE_HELP.to_string())),
        }
    }
}

/// Evaluates an expression that may not reference anything (defaults).
fn constant(e: &Expression) -> Result<Value, EvalError> {
    let ctx = super::functions::FuncContext {
        now: chrono::DateTime::UNIX_EPOCH,
    };
    super::eval::Evaluator::new(&ctx).eval(e, &super::eval::Scope::default())
}

/// Converts `v` to fit `ty` as Terraform does, or says why it cannot, naming
/// the element or attribute at fault.
pub fn convert(v: Value, ty: &Type) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let wrong =
        |v: &Value, want: &str| format!("{want} is required, got {} {}", type_name(v), describe(v));
    match ty {
        Type::Any => Ok(v),
        Type::String => value::to_string(&v)
            .map(Value::String)
            .ok_or_else(|| wrong(&v, "a string")),
        Type::Number => value::to_number(&v)
            .map(Value::Number)
            .ok_or_else(|| wrong(&v, "a number")),
        Type::Bool => value::to_bool(&v)
            .map(Value::Bool)
            .ok_or_else(|| wrong(&v, "a bool")),
        Type::List(t) | Type::Set(t) => {
            let Value::Array(items) = v else {
                return Err(wrong(&v, "a list"));
            };
            let mut out: Vec<Value> = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let c = convert(item, t).map_err(|m| format!("element {i}: {m}"))?;
                if matches!(ty, Type::Set(_)) && out.iter().any(|o| value::equals(o, &c)) {
                    continue;
                }
                out.push(c);
            }
            Ok(Value::Array(out))
        }
        Type::Tuple(ts) => {
            let Value::Array(items) = v else {
                return Err(wrong(&v, "a tuple"));
            };
            if items.len() != ts.len() {
                return Err(format!(
                    "a tuple of {} elements is required, got {}",
                    ts.len(),
                    items.len()
                ));
            }
            items
                .into_iter()
                .zip(ts)
                .enumerate()
                .map(|(i, (item, t))| convert(item, t).map_err(|m| format!("element {i}: {m}")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        Type::Map(t) => {
            let Value::Object(m) = v else {
                return Err(wrong(&v, "a map"));
            };
            let mut out = Map::with_capacity(m.len());
            for (k, item) in m {
                let c = convert(item, t).map_err(|e| format!("key {k:?}: {e}"))?;
                out.insert(k, c);
            }
            Ok(Value::Object(out))
        }
        Type::Object(attrs) => {
            let Value::Object(mut m) = v else {
                return Err(wrong(&v, "an object"));
            };
            let mut out = Map::with_capacity(attrs.len());
            for a in attrs {
                match m.shift_remove(&a.name) {
                    Some(item) if !item.is_null() || !a.optional => {
                        let c = convert(item, &a.ty)
                            .map_err(|e| format!("attribute {:?}: {e}", a.name))?;
                        out.insert(a.name.clone(), c);
                    }
                    _ if a.optional => {
                        out.insert(a.name.clone(), a.default.clone().unwrap_or(Value::Null));
                    }
                    _ => return Err(format!("attribute {:?} is required", a.name)),
                }
            }
            Ok(Value::Object(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ty(src: &str) -> Type {
        Type::parse(&hcl_edit::parser::parse_expr(src).unwrap()).unwrap()
    }

    fn v(j: serde_json::Value) -> Value {
        serde_json::from_value(j).unwrap()
    }

    #[test]
    fn parses_and_prints_types() {
        for src in [
            "string",
            "list(object({ group_path = string, workspace_name = string }))",
            "map(number)",
            "set(bool)",
            "tuple([string, number])",
            "object({ a = optional(string) })",
        ] {
            assert_eq!(
                ty(src).to_string().replace(' ', ""),
                src.replace(' ', ""),
                "{src}"
            );
        }
        assert_eq!(ty("list"), Type::List(Box::new(Type::Any)));
        let e = Type::parse(&hcl_edit::parser::parse_expr("strng").unwrap()).unwrap_err();
        assert!(e.message.contains("unknown type `strng`"), "{}", e.message);
        let e = Type::parse(&hcl_edit::parser::parse_expr("\"string\"").unwrap()).unwrap_err();
        assert!(e.message.contains("without quotes"), "{}", e.message);
    }

    #[test]
    fn converts_as_terraform() {
        let cases: Vec<(&str, serde_json::Value, Result<serde_json::Value, &str>)> = vec![
            ("number", json!("5"), Ok(json!(5))),
            ("number", json!("1.5"), Ok(json!(1.5))),
            (
                "number",
                json!("five"),
                Err("a number is required, got string \"five\""),
            ),
            ("string", json!(5), Ok(json!("5"))),
            ("string", json!(true), Ok(json!("true"))),
            ("string", json!([1]), Err("a string is required, got list")),
            ("bool", json!("true"), Ok(json!(true))),
            ("bool", json!("yes"), Err("a bool is required")),
            ("list(number)", json!(["1", 2]), Ok(json!([1, 2]))),
            (
                "list(number)",
                json!([1, "x"]),
                Err("element 1: a number is required"),
            ),
            ("set(string)", json!(["a", "b", "a"]), Ok(json!(["a", "b"]))),
            ("map(string)", json!({"a": 1}), Ok(json!({"a": "1"}))),
            (
                "tuple([string, number])",
                json!(["a", "2"]),
                Ok(json!(["a", 2])),
            ),
            (
                "tuple([string])",
                json!(["a", "b"]),
                Err("a tuple of 1 elements is required, got 2"),
            ),
            (
                "object({ a = string, b = optional(number, 3) })",
                json!({"a": "x", "extra": 1}),
                Ok(json!({"a": "x", "b": 3})),
            ),
            (
                "object({ a = string })",
                json!({}),
                Err("attribute \"a\" is required"),
            ),
            (
                "list(object({ n = number }))",
                json!([{"n": 1}, {"n": "z"}]),
                Err("element 1: attribute \"n\": a number is required"),
            ),
            ("any", json!({"a": [1]}), Ok(json!({"a": [1]}))),
            ("string", json!(null), Ok(json!(null))),
        ];
        for (t, input, want) in cases {
            let got = convert(v(input.clone()), &ty(t));
            match want {
                Ok(w) => assert_eq!(got, Ok(v(w)), "{t} <- {input}"),
                Err(msg) => {
                    let e = got.expect_err(&format!("{t} <- {input} should fail"));
                    assert!(e.contains(msg), "{t} <- {input}: {e}");
                }
            }
        }
    }
}
