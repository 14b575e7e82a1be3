//! The built-in functions that templates can call, with Terraform's semantics
//! (the Go original uses go-cty's standard library; Terraform's documentation
//! is the reference).
//!
//! Every function converts its arguments the way Terraform does: a number
//! parameter accepts the string `"5"`, a string parameter accepts numbers and
//! bools, a list parameter accepts only lists. No input makes a function
//! panic, and results are capped in size ([`MAX_ELEMENTS`], [`MAX_STRING_BYTES`])
//! so that a template cannot make the server allocate without bound.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use super::unify;
use super::value::{self, Map, Number, Value};

mod collection;
mod convert;
mod datetime;
mod encode;
mod numeric;
mod string;
#[cfg(test)]
mod tests;

/// The largest list (or map) a function will build.
pub const MAX_ELEMENTS: usize = 1_000_000;
/// The largest string a function will build, in bytes (10 MiB).
pub const MAX_STRING_BYTES: usize = 10 * 1024 * 1024;
/// How deeply nested a value may be for the functions that walk it recursively.
pub const MAX_DEPTH: usize = 256;

/// What a function call may depend on besides its arguments.
pub struct FuncContext {
    /// The pipeline creation time; `timestamp()` returns it.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Why a function call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FuncError {
    /// unknown function; `suggestion` is the closest known name if any (edit distance <= 2)
    #[error("there is no function named {name:?}{}", suggestion_text(suggestion))]
    Unknown {
        name: String,
        suggestion: Option<String>,
    },
    /// wrong number of arguments; `expected` is human text like "2", "at least 1", "2 or 3"
    #[error("{name}() takes {}, got {got}", expected_text(expected))]
    Arity {
        name: &'static str,
        expected: &'static str,
        got: usize,
    },
    /// a specific argument (0-based `index`) is wrong; message says what was found and what is expected
    #[error("{name}(): argument {} {message}", index + 1)]
    Arg {
        name: &'static str,
        index: usize,
        message: String,
    },
    /// the call as a whole failed (e.g. chunk size 0, index out of range)
    #[error("{name}(): {message}")]
    Invalid { name: &'static str, message: String },
}

fn suggestion_text(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("; did you mean {s:?}?"),
        None => String::new(),
    }
}

fn expected_text(expected: &str) -> String {
    match expected {
        "0" => "no arguments".to_string(),
        "1" | "at least 1" | "at most 1" => format!("{expected} argument"),
        _ => format!("{expected} arguments"),
    }
}

type Impl = fn(&mut Args, &FuncContext) -> Result<Value, FuncError>;

/// Every function, sorted by name.
const FUNCS: &[(&str, Impl)] = &[
    ("abs", numeric::abs),
    ("ceil", numeric::ceil),
    ("chomp", string::chomp),
    ("chunklist", collection::chunklist),
    ("coalesce", collection::coalesce),
    ("coalescelist", collection::coalescelist),
    ("compact", collection::compact),
    ("concat", collection::concat),
    ("contains", collection::contains),
    ("distinct", collection::distinct),
    ("element", collection::element),
    ("flatten", collection::flatten),
    ("floor", numeric::floor),
    ("format", string::format),
    ("formatdate", datetime::formatdate),
    ("formatlist", string::formatlist),
    ("indent", string::indent),
    ("index", collection::index),
    ("join", string::join),
    ("jsondecode", encode::jsondecode),
    ("jsonencode", encode::jsonencode),
    ("keys", collection::keys),
    ("length", collection::length),
    ("log", numeric::log),
    ("lookup", collection::lookup),
    ("lower", string::lower),
    ("max", numeric::max),
    ("merge", collection::merge),
    ("min", numeric::min),
    ("parseint", numeric::parseint),
    ("pow", numeric::pow),
    ("range", collection::range),
    ("regex_replace", string::regex_replace),
    ("replace", string::replace),
    ("reverse", collection::reverse),
    ("setintersection", collection::setintersection),
    ("setproduct", collection::setproduct),
    ("setunion", collection::setunion),
    ("signum", numeric::signum),
    ("slice", collection::slice),
    ("sort", collection::sort),
    ("split", string::split),
    ("strlen", string::strlen),
    ("strrev", string::strrev),
    ("substr", string::substr),
    ("timeadd", datetime::timeadd),
    ("timestamp", datetime::timestamp),
    ("title", string::title),
    ("tobool", convert::tobool),
    ("tolist", convert::tolist),
    ("tomap", convert::tomap),
    ("tonumber", convert::tonumber),
    ("toset", convert::toset),
    ("tostring", convert::tostring),
    ("trim", string::trim),
    ("trimprefix", string::trimprefix),
    ("trimsuffix", string::trimsuffix),
    ("upper", string::upper),
    ("values", collection::values),
    ("zipmap", collection::zipmap),
];

fn lookup_fn(name: &str) -> Option<(&'static str, Impl)> {
    FUNCS
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| FUNCS[i])
}

/// Calls the function `name` with `args`.
pub fn call(name: &str, args: Vec<Value>, ctx: &FuncContext) -> Result<Value, FuncError> {
    call_borrowed(name, args.into_iter().map(Cow::Owned).collect(), ctx)
}

/// Calls the function `name` with arguments that may be borrowed: a function
/// that only reads an argument (`length(var.big_list)`) then never copies it.
pub fn call_borrowed(
    name: &str,
    args: Vec<Cow<'_, Value>>,
    ctx: &FuncContext,
) -> Result<Value, FuncError> {
    let Some((name, imp)) = lookup_fn(name) else {
        return Err(FuncError::Unknown {
            name: name.to_string(),
            suggestion: suggest(name),
        });
    };
    let mut a = Args { name, vals: args };
    imp(&mut a, ctx)
}

/// Whether a function named `name` exists.
pub fn exists(name: &str) -> bool {
    lookup_fn(name).is_some()
}

/// The names of all functions, sorted.
pub fn names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| FUNCS.iter().map(|(n, _)| *n).collect())
}

/// The known name closest to `name` (edit distance at most 2), if any.
fn suggest(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    let lower = name.to_lowercase();
    if let Some((n, _)) = lookup_fn(&lower) {
        return Some(n.to_string());
    }
    let target: Vec<char> = lower.chars().collect();
    let mut best: Option<(usize, &str)> = None;
    for (n, _) in FUNCS {
        let cand: Vec<char> = n.chars().collect();
        let d = edit_distance(&target, &cand);
        if d <= 2 && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, n));
        }
    }
    best.map(|(_, n)| n.to_string())
}

/// Levenshtein distance.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

// ---------------------------------------------------------------------------
// Argument handling shared by the function families.

/// The arguments of one call, with the conversions Terraform applies.
pub(crate) struct Args<'v> {
    pub name: &'static str,
    pub vals: Vec<Cow<'v, Value>>,
}

/// `string "abc"`, `number 5`, `list [1,2]`, `null`: what was found, for messages.
pub(crate) fn found(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        other => format!("{} {}", value::type_name(other), value::describe(other)),
    }
}

impl Args<'_> {
    pub fn len(&self) -> usize {
        self.vals.len()
    }

    /// Checks the argument count is within `min..=max` (`max` None: unbounded).
    pub fn arity(
        &self,
        min: usize,
        max: Option<usize>,
        expected: &'static str,
    ) -> Result<(), FuncError> {
        let n = self.vals.len();
        if n < min || max.is_some_and(|m| n > m) {
            return Err(FuncError::Arity {
                name: self.name,
                expected,
                got: n,
            });
        }
        Ok(())
    }

    /// Checks the argument count is exactly `n`.
    pub fn exact(&self, n: usize, expected: &'static str) -> Result<(), FuncError> {
        self.arity(n, Some(n), expected)
    }

    pub fn arg_err(&self, index: usize, message: impl Into<String>) -> FuncError {
        FuncError::Arg {
            name: self.name,
            index,
            message: message.into(),
        }
    }

    pub fn invalid(&self, message: impl Into<String>) -> FuncError {
        FuncError::Invalid {
            name: self.name,
            message: message.into(),
        }
    }

    pub fn get(&self, i: usize) -> &Value {
        static NULL: Value = Value::Null;
        self.vals.get(i).map_or(&NULL, |v| &**v)
    }

    /// Takes argument `i` out (leaving null behind).
    pub fn take(&mut self, i: usize) -> Value {
        self.vals
            .get_mut(i)
            .map(|v| std::mem::replace(v, Cow::Owned(Value::Null)).into_owned())
            .unwrap_or(Value::Null)
    }

    /// A string parameter: strings, and numbers and bools formatted.
    pub fn string(&self, i: usize) -> Result<String, FuncError> {
        let v = self.get(i);
        value::to_string(v)
            .ok_or_else(|| self.arg_err(i, format!("must be a string, got {}", found(v))))
    }

    /// A number parameter: numbers, and strings holding a decimal number.
    pub fn num(&self, i: usize) -> Result<Number, FuncError> {
        let v = self.get(i);
        to_number(v).ok_or_else(|| self.arg_err(i, format!("must be a number, got {}", found(v))))
    }

    /// A whole-number parameter that fits 64 bits.
    pub fn int(&self, i: usize) -> Result<i64, FuncError> {
        let v = self.get(i);
        let Some(n) = to_number(v).filter(Number::is_int) else {
            return Err(self.arg_err(i, format!("must be a whole number, got {}", found(v))));
        };
        n.as_i64()
            .ok_or_else(|| self.arg_err(i, format!("is out of range, got {}", found(v))))
    }

    /// A list parameter: lists (and tuples) only; a string is not a list.
    pub fn list(&self, i: usize) -> Result<&Vec<Value>, FuncError> {
        match self.get(i) {
            Value::Array(a) => Ok(a),
            other => Err(self.arg_err(i, format!("must be a list, got {}", found(other)))),
        }
    }

    /// Takes a list parameter out.
    pub fn take_list(&mut self, i: usize) -> Result<Vec<Value>, FuncError> {
        self.list(i)?;
        match self.take(i) {
            Value::Array(a) => Ok(a),
            _ => Ok(Vec::new()),
        }
    }

    /// A map parameter: maps and objects.
    pub fn map(&self, i: usize) -> Result<&Map<String, Value>, FuncError> {
        match self.get(i) {
            Value::Object(m) => Ok(m),
            other => Err(self.arg_err(i, format!("must be a map or object, got {}", found(other)))),
        }
    }
}

pub(crate) use value::to_number;

/// Makes a number value from a float64 result as go-cty's `NumberFloatVal`
/// does: infinities are numbers, NaN fails (Terraform panics there).
pub(crate) fn num_result(a: &Args, f: f64) -> Result<Value, FuncError> {
    value::number(f).ok_or_else(|| {
        a.invalid("the result is not a number (NaN), which cannot be represented".to_string())
    })
}

/// Fails unless `len` elements are within [`MAX_ELEMENTS`].
pub(crate) fn check_elements(a: &Args, len: usize) -> Result<(), FuncError> {
    if len > MAX_ELEMENTS {
        return Err(a.invalid(format!(
            "the result would have {len} elements, more than the limit of {MAX_ELEMENTS}"
        )));
    }
    Ok(())
}

/// Fails unless a string of `len` bytes is within [`MAX_STRING_BYTES`].
pub(crate) fn check_string_len(a: &Args, len: usize) -> Result<(), FuncError> {
    if len > MAX_STRING_BYTES {
        return Err(a.invalid(too_long_message()));
    }
    Ok(())
}

pub(crate) fn too_long_message() -> String {
    format!("the result would be longer than the limit of {MAX_STRING_BYTES} bytes")
}

/// A key under which equal values collide: numbers compare by value (1 and
/// 1.0 are the same), objects regardless of key order. `None` if too deep.
pub(crate) fn canonical_key(v: &Value) -> Option<String> {
    let mut out = String::new();
    write_canonical(v, &mut out, 0).then_some(out)
}

fn write_canonical(v: &Value, out: &mut String, depth: usize) -> bool {
    use fmt::Write;
    if depth > MAX_DEPTH {
        return false;
    }
    match v {
        Value::Null => out.push('n'),
        Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Number(n) => {
            // Equal numbers (as go-cty compares them) print alike.
            if n.is_zero() {
                out.push_str("#0;");
            } else {
                let _ = write!(out, "#{n};");
            }
        }
        Value::String(s) => {
            let _ = write!(out, "s{}:{s}", s.len());
        }
        Value::Array(a) => {
            let _ = write!(out, "[{};", a.len());
            for e in a {
                if !write_canonical(e, out, depth + 1) {
                    return false;
                }
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let _ = write!(out, "{{{};", m.len());
            for k in keys {
                let _ = write!(out, "{}:{k}", k.len());
                if !write_canonical(&m[k.as_str()], out, depth + 1) {
                    return false;
                }
            }
            out.push('}');
        }
    }
    true
}

/// Unifies the elements of a list as go-cty does (`[1, "a"]` becomes
/// `["1", "a"]`, `[{a = 1}, {a = "x"}]` becomes `[{a = "1"}, {a = "x"}]`);
/// `Err` says why they cannot be.
pub(crate) fn unify_list(list: Vec<Value>) -> Result<Vec<Value>, String> {
    unify::to_common_type(list).map(|(list, _)| list)
}

/// Elements as a set of type `t`: without duplicates (the first kept), in
/// go-cty's order. `None` if an element is nested too deeply to compare.
pub(crate) fn make_set(list: Vec<Value>, t: &unify::Ty) -> Option<Vec<Value>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(list.len());
    for v in list {
        if seen.insert(canonical_key(&v)?) {
            out.push(v);
        }
    }
    unify::sort_set(&mut out, t);
    Some(out)
}
