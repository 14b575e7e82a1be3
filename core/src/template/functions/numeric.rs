//! Numeric functions. Integers stay exact where the result is an integer;
//! results that are not finite numbers (NaN, infinity) are errors.

use std::cmp::Ordering;

use super::{found, num_result, Args, FuncContext, FuncError};
use crate::template::value::{self, Number, Value};

/// abs(number): the number without its sign.
pub(super) fn abs(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let n = a.num(0)?;
    if let Some(i) = n.as_i64() {
        if let Some(v) = i.checked_abs() {
            return Ok(value::int(v));
        }
        return Ok(Value::Number(Number::from(i.unsigned_abs())));
    }
    if n.as_u64().is_some() {
        return Ok(Value::Number(n));
    }
    num_result(a, n.as_f64().unwrap_or(f64::NAN).abs())
}

/// ceil(number): the smallest whole number not less than the number.
pub(super) fn ceil(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    round_with(a, f64::ceil)
}

/// floor(number): the largest whole number not greater than the number.
pub(super) fn floor(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    round_with(a, f64::floor)
}

fn round_with(a: &mut Args, f: fn(f64) -> f64) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let n = a.num(0)?;
    if n.as_i64().is_some() || n.as_u64().is_some() {
        return Ok(Value::Number(n));
    }
    num_result(a, f(n.as_f64().unwrap_or(f64::NAN)))
}

/// log(number, base): the logarithm of the number in the given base.
pub(super) fn log(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    let n = a.number(0)?;
    let base = a.number(1)?;
    if n < 0.0 {
        return Err(a.arg_err(0, format!("must not be negative, got {}", found(a.get(0)))));
    }
    // As Terraform: ln(n) / ln(base), so `log(8, 0)` is 0; a base of 1 (or
    // a negative one) has no finite result and is refused.
    let r = n.ln() / base.ln();
    if !r.is_finite() {
        return Err(a.arg_err(
            1,
            format!(
                "gives no finite logarithm of {} to this base, got {}",
                found(a.get(0)),
                found(a.get(1))
            ),
        ));
    }
    num_result(a, r)
}

fn cmp_numbers(x: &Number, y: &Number) -> Ordering {
    match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
        (Some(p), Some(q), _, _) => p.cmp(&q),
        (_, _, Some(p), Some(q)) => p.cmp(&q),
        _ => {
            let (p, q) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            p.partial_cmp(&q).unwrap_or(Ordering::Equal)
        }
    }
}

fn extreme(a: &mut Args, want: Ordering) -> Result<Value, FuncError> {
    a.arity(1, None, "at least 1")?;
    let mut best = a.num(0)?;
    for i in 1..a.len() {
        let n = a.num(i)?;
        if cmp_numbers(&n, &best) == want {
            best = n;
        }
    }
    Ok(Value::Number(best))
}

/// max(numbers...): the greatest of the numbers.
pub(super) fn max(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    extreme(a, Ordering::Greater)
}

/// min(numbers...): the smallest of the numbers.
pub(super) fn min(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    extreme(a, Ordering::Less)
}

/// parseint(string, base): the integer the string represents in `base` (2 to 62).
///
/// As with Go's big.Int (which Terraform uses), digits beyond 9 are letters,
/// case-insensitive up to base 36; above that `a`-`z` are 10-35 and `A`-`Z` are
/// 36-61. A leading `+` or `-` is allowed. As in Terraform, the first argument
/// must already be a string. Integers too large for 64 bits are approximated.
pub(super) fn parseint(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    let s = match a.get(0) {
        Value::String(s) => s.clone(),
        other => return Err(a.arg_err(0, format!("must be a string, got {}", found(other)))),
    };
    let base = a.int(1)?;
    if !(2..=62).contains(&base) {
        return Err(a.arg_err(
            1,
            format!("must be a whole number between 2 and 62, got {base}"),
        ));
    }
    let base = base as u32;
    let fail = || {
        a.arg_err(
            0,
            format!(
                "cannot be parsed as a base {base} integer: {}",
                value::describe(a.get(0))
            ),
        )
    };
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s.as_str()),
    };
    if digits.is_empty() {
        return Err(fail());
    }
    let mut exact: Option<u128> = Some(0);
    let mut approx: f64 = 0.0;
    for c in digits.chars() {
        let d = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 10,
            'A'..='Z' if base <= 36 => c as u32 - 'A' as u32 + 10,
            'A'..='Z' => c as u32 - 'A' as u32 + 36,
            _ => return Err(fail()),
        };
        if d >= base {
            return Err(fail());
        }
        exact = exact
            .and_then(|e| e.checked_mul(u128::from(base)))
            .and_then(|e| e.checked_add(u128::from(d)));
        approx = approx * f64::from(base) + f64::from(d);
    }
    if let Some(e) = exact {
        if neg {
            if let Ok(i) = i64::try_from(e) {
                return Ok(value::int(-i));
            }
            if e == 1u128 << 63 {
                return Ok(value::int(i64::MIN));
            }
        } else if let Ok(u) = u64::try_from(e) {
            return Ok(Value::Number(Number::from(u)));
        }
    }
    if !approx.is_finite() {
        return Err(a.arg_err(
            0,
            format!("is too large a number: {}", value::describe(a.get(0))),
        ));
    }
    num_result(a, if neg { -approx } else { approx })
}

/// pow(base, exponent): `base` raised to the power `exponent`.
pub(super) fn pow(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    let base = a.num(0)?;
    let exp = a.num(1)?;
    if let (Some(b), Some(e)) = (base.as_i64(), exp.as_i64()) {
        if let Ok(e) = u32::try_from(e) {
            if let Some(r) = b.checked_pow(e) {
                return Ok(value::int(r));
            }
        }
    }
    let (b, e) = (
        base.as_f64().unwrap_or(f64::NAN),
        exp.as_f64().unwrap_or(f64::NAN),
    );
    num_result(a, b.powf(e))
}

/// signum(number): -1, 0 or 1 for a negative, zero or positive number.
pub(super) fn signum(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let n = a.number(0)?;
    if n.fract() != 0.0 || n.abs() > i64::MAX as f64 {
        return Err(a.arg_err(
            0,
            format!(
                "must be a whole number (as in Terraform), got {}",
                found(a.get(0))
            ),
        ));
    }
    let s = if n > 0.0 {
        1
    } else if n < 0.0 {
        -1
    } else {
        0
    };
    Ok(value::int(s))
}
