//! Collection functions: lists, maps and sets.
//!
//! Sets are represented as lists. Functions that Terraform defines over sets
//! (`setunion`, `setintersection`, `toset`) convert their elements to one
//! type, remove duplicates and order their result the way go-cty orders set
//! elements ([`unify::sort_set`]).

use std::collections::HashSet;

use super::{
    canonical_key, check_elements, found, unify_list, Args, FuncContext, FuncError, MAX_DEPTH,
    MAX_ELEMENTS,
};
use crate::template::unify::{self, Ty};
use crate::template::value::{self, Map, Number, Value};

/// chunklist(list, size): splits a list into lists of at most `size` elements.
/// As in Terraform, a size of 0 returns the whole list as the only chunk.
pub(super) fn chunklist(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    a.list(0)?;
    let size = a.int(1)?;
    if size < 0 {
        return Err(a.arg_err(1, format!("must not be negative, got {size}")));
    }
    let list = a.take_list(0)?;
    if size == 0 {
        return Ok(Value::Array(vec![Value::Array(list)]));
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(list.len().div_ceil(size));
    let mut it = list.into_iter().peekable();
    while it.peek().is_some() {
        out.push(Value::Array(it.by_ref().take(size).collect()));
    }
    Ok(Value::Array(out))
}

/// coalesce(vals...): the first argument that is not null and not an empty string.
pub(super) fn coalesce(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.arity(1, None, "at least 1")?;
    let vals: Vec<Value> = std::mem::take(&mut a.vals)
        .into_iter()
        .map(|v| v.into_owned())
        .collect();
    let vals = unify_list(vals).map_err(|e| a.invalid(e))?;
    for v in vals {
        match &v {
            Value::Null => continue,
            Value::String(s) if s.is_empty() => continue,
            _ => return Ok(v),
        }
    }
    Err(a.invalid("no non-null, non-empty-string arguments"))
}

/// coalescelist(lists...): the first list argument that is not empty.
pub(super) fn coalescelist(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.arity(1, None, "at least 1")?;
    for i in 0..a.len() {
        match a.get(i) {
            Value::Array(_) => {}
            other => return Err(a.arg_err(i, format!("must be a list, got {}", found(other)))),
        }
    }
    for i in 0..a.len() {
        if matches!(a.get(i), Value::Array(l) if !l.is_empty()) {
            return Ok(a.take(i));
        }
    }
    Err(a.invalid("no non-empty list arguments"))
}

/// compact(list): the list's strings without empty strings and nulls.
pub(super) fn compact(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let list = a.take_list(0)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.into_iter().enumerate() {
        if v.is_null() {
            continue;
        }
        let s = value::to_string(&v).ok_or_else(|| {
            a.arg_err(
                0,
                format!(
                    "must be a list of strings, but element {i} is {}",
                    found(&v)
                ),
            )
        })?;
        if !s.is_empty() {
            out.push(Value::String(s));
        }
    }
    Ok(Value::Array(out))
}

/// concat(lists...): the lists joined into one.
pub(super) fn concat(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.arity(1, None, "at least 1")?;
    let mut total = 0usize;
    for i in 0..a.len() {
        total = total.saturating_add(a.list(i)?.len());
    }
    check_elements(a, total)?;
    let mut out = Vec::with_capacity(total);
    for i in 0..a.len() {
        out.extend(a.take_list(i)?);
    }
    Ok(Value::Array(out))
}

/// contains(list, value): whether the list has an element equal to `value`.
/// Values of different types are never equal (`"1"` is not `1`). As in
/// Terraform, the value must not be null.
pub(super) fn contains(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    let list = a.list(0)?;
    let needle = a.get(1);
    if needle.is_null() {
        return Err(a.arg_err(1, "must not be null"));
    }
    Ok(Value::Bool(list.iter().any(|v| value::equals(v, needle))))
}

/// distinct(list): the list without duplicates, keeping first occurrences.
pub(super) fn distinct(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let list = a.take_list(0)?;
    let list = unify_list(list).map_err(|e| a.arg_err(0, e))?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for v in list {
        let key = canonical_key(&v).ok_or_else(|| a.arg_err(0, "is nested too deeply"))?;
        if seen.insert(key) {
            out.push(v);
        }
    }
    Ok(Value::Array(out))
}

/// element(list, index): the element at `index`, wrapping around past the end.
///
/// Terraform's documentation says the index must be non-negative (cty errors
/// with "cannot use element function with a negative index"), so a negative
/// index is an error here rather than counting from the end.
pub(super) fn element(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    a.list(0)?;
    let index = a.int(1)?;
    if index < 0 {
        return Err(a.arg_err(1, format!("must not be negative, got {index}")));
    }
    let list = a.list(0)?;
    if list.is_empty() {
        return Err(a.invalid("cannot take an element of an empty list"));
    }
    let i = (index as u64 % list.len() as u64) as usize;
    Ok(list[i].clone())
}

/// flatten(list): nested lists replaced by their elements, recursively.
pub(super) fn flatten(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let list = a.take_list(0)?;
    let mut out = Vec::new();
    flatten_into(a, list, &mut out, 0)?;
    Ok(Value::Array(out))
}

fn flatten_into(
    a: &Args,
    list: Vec<Value>,
    out: &mut Vec<Value>,
    depth: usize,
) -> Result<(), FuncError> {
    if depth > MAX_DEPTH {
        return Err(a.arg_err(0, format!("is nested more than {MAX_DEPTH} levels deep")));
    }
    for v in list {
        match v {
            Value::Array(inner) => flatten_into(a, inner, out, depth + 1)?,
            other => {
                if out.len() >= MAX_ELEMENTS {
                    return check_elements(a, out.len() + 1);
                }
                out.push(other);
            }
        }
    }
    Ok(())
}

/// index(list, value): the position of the first element equal to `value`.
/// index(map, key): the map's value at `key` (a Phobos extension).
pub(super) fn index(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    match a.get(0) {
        Value::Array(list) => {
            let needle = a.get(1);
            if needle.is_null() {
                return Err(a.arg_err(1, "must not be null"));
            }
            match list.iter().position(|v| value::equals(v, needle)) {
                Some(i) => Ok(value::int(i as i64)),
                None => Err(a.invalid(format!(
                    "the value {} was not found in the list",
                    value::describe(needle)
                ))),
            }
        }
        Value::Object(map) => {
            let key = a.string(1)?;
            match map.get(&key) {
                Some(v) => Ok(v.clone()),
                None => Err(a.invalid(format!("the map has no key {key:?}"))),
            }
        }
        other => Err(a.arg_err(0, format!("must be a list or a map, got {}", found(other)))),
    }
}

/// keys(map): the map's keys in lexical order.
pub(super) fn keys(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let map = a.map(0)?;
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    Ok(Value::Array(
        keys.into_iter().map(|k| Value::String(k.clone())).collect(),
    ))
}

/// length(value): elements of a list, keys of a map, or characters of a string.
pub(super) fn length(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let n = match a.get(0) {
        Value::Array(l) => l.len(),
        Value::Object(m) => m.len(),
        // Grapheme clusters, as Terraform counts them.
        Value::String(s) => {
            unicode_segmentation::UnicodeSegmentation::graphemes(s.as_str(), true).count()
        }
        other => {
            return Err(a.arg_err(
                0,
                format!("must be a list, a map or a string, got {}", found(other)),
            ))
        }
    };
    Ok(value::int(n as i64))
}

/// lookup(map, key, default): the map's value at `key`, or `default`.
/// With two arguments (as older Terraform allowed), a missing key is an error.
pub(super) fn lookup(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.arity(2, Some(3), "2 or 3")?;
    a.map(0)?;
    let key = a.string(1)?;
    let map = a.map(0)?;
    if let Some(v) = map.get(&key) {
        return Ok(v.clone());
    }
    if a.len() == 3 {
        return Ok(a.take(2));
    }
    Err(a.invalid(format!(
        "the map has no key {key:?} and no default was given"
    )))
}

/// merge(maps...): one map with all keys; later arguments win; nulls are skipped.
pub(super) fn merge(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    for i in 0..a.len() {
        match a.get(i) {
            Value::Null | Value::Object(_) => {}
            other => {
                return Err(a.arg_err(i, format!("must be a map or object, got {}", found(other))))
            }
        }
    }
    let mut out = Map::new();
    for v in std::mem::take(&mut a.vals) {
        if let Value::Object(m) = v.into_owned() {
            for (k, v) in m {
                out.insert(k, v);
            }
        }
    }
    Ok(Value::Object(out))
}

/// Terraform's own limit on the size of `range()`'s result.
const RANGE_LIMIT: usize = 1024;

/// range(limit), range(start, limit), range(start, limit, step), counted
/// as go-cty counts: `start`, `start + step`, … in its arbitrary-precision
/// numbers, so `range(0.1, 0.5, 0.1)` is `[0.1, 0.2, 0.3, 0.4]`.
pub(super) fn range(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.arity(1, Some(3), "1, 2 or 3")?;
    let one = |neg: bool| {
        let n = Number::from_i64(1);
        if neg {
            n.neg()
        } else {
            n
        }
    };
    let (start, end, step) = match a.len() {
        1 => {
            let end = a.num(0)?;
            let step = one(end.signum() < 0);
            (Number::zero(), end, step)
        }
        2 => {
            let (start, end) = (a.num(0)?, a.num(1)?);
            let step = one(end.compare(&start).is_lt());
            (start, end, step)
        }
        _ => (a.num(0)?, a.num(1)?, a.num(2)?),
    };
    if step.is_zero() {
        return Err(a.arg_err(2, "must not be zero"));
    }
    let down = step.signum() < 0;
    if down && end.compare(&start).is_gt() {
        return Err(a.arg_err(
            1,
            format!("must not be greater than the start ({start}) when the step is negative"),
        ));
    }
    if !down && end.compare(&start).is_lt() {
        return Err(a.arg_err(
            1,
            format!("must not be less than the start ({start}) when the step is positive"),
        ));
    }
    let mut out = Vec::new();
    let mut n = start;
    loop {
        let done = if down {
            n.compare(&end).is_le()
        } else {
            n.compare(&end).is_ge()
        };
        if done {
            break;
        }
        if out.len() >= RANGE_LIMIT {
            return Err(a.invalid(format!(
                "more than {RANGE_LIMIT} values would be generated; decrease the difference between start and limit or use a larger step"
            )));
        }
        let next = n.add(&step).map_err(|e| a.invalid(e.to_string()))?;
        out.push(Value::Number(n));
        n = next;
    }
    Ok(Value::Array(out))
}

/// reverse(list): the list in reverse order.
pub(super) fn reverse(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let mut list = a.take_list(0)?;
    list.reverse();
    Ok(Value::Array(list))
}

/// The arguments from `from` on as sets of one type (go-cty unifies the
/// element types of all of them): each deduplicated, with their keys for
/// comparing elements across sets, and the element type.
#[allow(clippy::type_complexity)]
fn set_args(a: &mut Args, from: usize) -> Result<(Vec<Vec<(String, Value)>>, Ty), FuncError> {
    for i in from..a.len() {
        a.list(i)?;
    }
    let all = a.vals[from..].iter().flat_map(|v| match &**v {
        Value::Array(l) => l.iter(),
        _ => [].iter(),
    });
    let ty = unify::common_type(all).map_err(|e| a.invalid(e))?;
    let mut sets = Vec::new();
    for i in from..a.len() {
        let list = a.take_list(i)?;
        let mut seen = HashSet::new();
        let mut set = Vec::new();
        for v in list {
            let v = unify::convert(v, &ty);
            let key = canonical_key(&v).ok_or_else(|| a.arg_err(i, "is nested too deeply"))?;
            if seen.insert(key.clone()) {
                set.push((key, v));
            }
        }
        sets.push(set);
    }
    Ok((sets, ty))
}

fn finish_set(mut set: Vec<Value>, ty: &Ty) -> Value {
    unify::sort_set(&mut set, ty);
    Value::Array(set)
}

/// setintersection(sets...): the elements present in every set.
pub(super) fn setintersection(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.arity(1, None, "at least 1")?;
    let (sets, ty) = set_args(a, 0)?;
    let mut sets = sets.into_iter();
    let first = sets.next().unwrap_or_default();
    let others: Vec<HashSet<String>> = sets
        .map(|s| s.into_iter().map(|(k, _)| k).collect())
        .collect();
    let out = first
        .into_iter()
        .filter(|(k, _)| others.iter().all(|o| o.contains(k)))
        .map(|(_, v)| v)
        .collect();
    Ok(finish_set(out, &ty))
}

/// setunion(sets...): the elements present in any set.
pub(super) fn setunion(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.arity(1, None, "at least 1")?;
    let (sets, ty) = set_args(a, 0)?;
    let total: usize = sets.iter().map(Vec::len).fold(0, usize::saturating_add);
    check_elements(a, total)?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (k, v) in sets.into_iter().flatten() {
        if seen.insert(k) {
            out.push(v);
        }
    }
    Ok(finish_set(out, &ty))
}

/// setproduct(lists...): every combination of one element from each list.
/// Lists are not deduplicated (Terraform returns a list for list arguments).
pub(super) fn setproduct(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.arity(2, None, "at least 2")?;
    let mut count: usize = 1;
    for i in 0..a.len() {
        let n = a.list(i)?.len();
        count = count.saturating_mul(n);
    }
    if count == 0 {
        return Ok(Value::Array(Vec::new()));
    }
    check_elements(a, count)?;
    check_elements(a, count.saturating_mul(a.len()))?;
    let lists: Vec<Vec<Value>> = (0..a.len())
        .map(|i| a.take_list(i))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(count);
    let mut idx = vec![0usize; lists.len()];
    loop {
        out.push(Value::Array(
            idx.iter().zip(&lists).map(|(&i, l)| l[i].clone()).collect(),
        ));
        // Advance the odometer, last list fastest.
        let mut pos = lists.len();
        loop {
            if pos == 0 {
                return Ok(Value::Array(out));
            }
            pos -= 1;
            idx[pos] += 1;
            if idx[pos] < lists[pos].len() {
                break;
            }
            idx[pos] = 0;
        }
    }
}

/// slice(list, start, end): the elements from `start` up to (not including) `end`.
pub(super) fn slice(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(3, "3")?;
    let len = a.list(0)?.len() as i64;
    let start = a.int(1)?;
    let end = a.int(2)?;
    if start < 0 {
        return Err(a.arg_err(
            1,
            format!("(start index) must not be negative, got {start}"),
        ));
    }
    if end < 0 {
        return Err(a.arg_err(2, format!("(end index) must not be negative, got {end}")));
    }
    if start > len {
        return Err(a.arg_err(1, format!("(start index) must not be greater than the length of the list ({len}), got {start}")));
    }
    if end > len {
        return Err(a.arg_err(
            2,
            format!(
                "(end index) must not be greater than the length of the list ({len}), got {end}"
            ),
        ));
    }
    if start > end {
        return Err(a.invalid(format!(
            "the start index ({start}) must not be greater than the end index ({end})"
        )));
    }
    let mut list = a.take_list(0)?;
    list.truncate(end as usize);
    list.drain(..start as usize);
    Ok(Value::Array(list))
}

/// sort(list): the list's elements as strings, in lexical order.
/// As in Terraform, numbers are converted to strings first (so 10 sorts before 9).
pub(super) fn sort(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let list = a.list(0)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        match value::to_string(v) {
            Some(s) => out.push(s),
            None => {
                return Err(a.arg_err(
                    0,
                    format!("must be a list of strings, but element {i} is {}", found(v)),
                ))
            }
        }
    }
    out.sort();
    Ok(Value::Array(out.into_iter().map(Value::String).collect()))
}

/// values(map): the map's values, ordered by their keys.
pub(super) fn values(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let map = a.map(0)?;
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|x, y| x.0.cmp(y.0));
    Ok(Value::Array(
        entries.into_iter().map(|(_, v)| v.clone()).collect(),
    ))
}

/// zipmap(keys, values): a map from each key to the value at the same position.
pub(super) fn zipmap(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    let keys = a.list(0)?;
    let nvals = a.list(1)?.len();
    if keys.len() != nvals {
        return Err(a.invalid(format!(
            "the number of keys ({}) does not match the number of values ({nvals})",
            keys.len()
        )));
    }
    let mut ks = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        match value::to_string(k) {
            Some(s) => ks.push(s),
            None => {
                return Err(a.arg_err(
                    0,
                    format!("must be a list of strings, but element {i} is {}", found(k)),
                ))
            }
        }
    }
    let vals = a.take_list(1)?;
    let mut out = Map::with_capacity(ks.len());
    for (k, v) in ks.into_iter().zip(vals) {
        out.insert(k, v);
    }
    Ok(Value::Object(out))
}
