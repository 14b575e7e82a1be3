//! Numeric functions, as go-cty defines them: `abs`, `ceil`, `floor`, `max`,
//! `min` and `parseint` work on the arbitrary-precision numbers; `log` and
//! `pow` compute in float64 (Go's `math.Log` and `math.Pow`), so their
//! results carry float64's precision, as in Terraform.

use num_bigint::{BigInt, BigUint};
use num_traits::Zero;

use super::{found, num_result, Args, FuncContext, FuncError};
use crate::template::number::Accuracy;
use crate::template::value::{self, Number, Value};

/// abs(number): the number without its sign.
pub(super) fn abs(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    Ok(Value::Number(a.num(0)?.abs()))
}

/// ceil(number): the smallest whole number not less than the number.
pub(super) fn ceil(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    round_with(a, Accuracy::Below, 1)
}

/// floor(number): the largest whole number not greater than the number.
pub(super) fn floor(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    round_with(a, Accuracy::Above, -1)
}

/// go-cty's ceil and floor: truncate, step by `by` when the truncation is
/// on the `off` side, and keep the number's precision. Infinities stay.
fn round_with(a: &mut Args, off: Accuracy, by: i64) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let n = a.num(0)?;
    let Some((mut i, acc)) = n.to_int() else {
        return Ok(Value::Number(n));
    };
    if acc == off {
        i += BigInt::from(by);
    }
    n.with_int(&i)
        .map(Value::Number)
        .map_err(|e| a.invalid(e.to_string()))
}

/// log(number, base): the logarithm of the number in the given base.
pub(super) fn log(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    let n = a.num(0)?.to_f64();
    let base = a.num(1)?.to_f64();
    if n < 0.0 {
        return Err(a.arg_err(0, format!("must not be negative, got {}", found(a.get(0)))));
    }
    // As Terraform: ln(n) / ln(base) in float64, so `log(8, 0)` is 0 and
    // `log(0, 10)` is -infinity; NaN (a negative base) is refused.
    num_result(a, n.ln() / base.ln())
}

fn extreme(a: &mut Args, want: std::cmp::Ordering) -> Result<Value, FuncError> {
    a.arity(1, None, "at least 1")?;
    let mut best = a.num(0)?;
    for i in 1..a.len() {
        let n = a.num(i)?;
        if n.compare(&best) == want {
            best = n;
        }
    }
    Ok(Value::Number(best))
}

/// max(numbers...): the greatest of the numbers.
pub(super) fn max(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    extreme(a, std::cmp::Ordering::Greater)
}

/// min(numbers...): the smallest of the numbers.
pub(super) fn min(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    extreme(a, std::cmp::Ordering::Less)
}

/// parseint(string, base): the integer the string represents in `base` (2 to 62).
///
/// As with Go's big.Int (which Terraform uses), digits beyond 9 are letters,
/// case-insensitive up to base 36; above that `a`-`z` are 10-35 and `A`-`Z` are
/// 36-61. A leading `+` or `-` is allowed. As in Terraform, the first argument
/// must already be a string. Any size is exact, within the magnitudes kept.
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
    let mut ds = Vec::with_capacity(digits.len());
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
        ds.push(d as u8);
    }
    let mag = BigUint::from_radix_be(&ds, base).unwrap_or_else(BigUint::zero);
    let i = if neg {
        -BigInt::from(mag)
    } else {
        BigInt::from(mag)
    };
    Number::from_bigint(&i)
        .map(Value::Number)
        .map_err(|e| a.arg_err(0, format!("{e}: {}", value::describe(a.get(0)))))
}

/// pow(base, exponent): `base` raised to the power `exponent`, in float64
/// as Go's `math.Pow` computes it (so `pow(10, 308)` is 1.0000000000000006e308
/// there and here).
pub(super) fn pow(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    let base = a.num(0)?.to_f64();
    let exp = a.num(1)?.to_f64();
    num_result(a, go_pow(base, exp))
}

/// signum(number): -1, 0 or 1 for a negative, zero or positive number.
pub(super) fn signum(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(1, "1")?;
    let n = a.num(0)?;
    if n.as_i64().is_none() {
        return Err(a.arg_err(
            0,
            format!(
                "must be a whole number between -9223372036854775808 and 9223372036854775807 (as in Terraform), got {}",
                found(a.get(0))
            ),
        ));
    }
    Ok(value::int(i64::from(n.signum())))
}

/// Go's `math.Pow` (src/math/pow.go), step for step: integer powers by
/// repeated squaring of the mantissa, so the last bits match Terraform's.
fn go_pow(x: f64, y: f64) -> f64 {
    let is_odd_int = |v: f64| {
        if v.abs() >= (1u64 << 53) as f64 {
            return false;
        }
        let (i, f) = (v.trunc(), v.fract());
        f == 0.0 && (i as i64) & 1 == 1
    };
    if y == 0.0 || x == 1.0 {
        return 1.0;
    }
    if y == 1.0 {
        return x;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 {
        if y < 0.0 {
            return if x.is_sign_negative() && is_odd_int(y) {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
        }
        return if x.is_sign_negative() && is_odd_int(y) {
            x
        } else {
            0.0
        };
    }
    if y.is_infinite() {
        return huge_power(x, y);
    }
    if x.is_infinite() {
        if x < 0.0 {
            return go_pow(1.0 / x, -y);
        }
        return if y < 0.0 { 0.0 } else { f64::INFINITY };
    }
    if y == 0.5 {
        return x.sqrt();
    }
    if y == -0.5 {
        return 1.0 / x.sqrt();
    }
    let (mut yi, mut yf) = (y.abs().trunc(), y.abs().fract());
    if yf != 0.0 && x < 0.0 {
        return f64::NAN;
    }
    if yi >= (1u64 << 63) as f64 {
        return huge_power(x, y);
    }
    let mut a1 = 1.0;
    let mut ae: i64 = 0;
    if yf != 0.0 {
        if yf > 0.5 {
            yf -= 1.0;
            yi += 1.0;
        }
        a1 = (yf * x.ln()).exp();
    }
    let (mut x1, mut xe) = frexp(x);
    let mut i = yi as i64;
    while i != 0 {
        if !(-(1 << 12)..=(1 << 12)).contains(&xe) {
            ae += xe;
            break;
        }
        if i & 1 == 1 {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if x1 < 0.5 {
            x1 += x1;
            xe -= 1;
        }
        i >>= 1;
    }
    if y < 0.0 {
        a1 = 1.0 / a1;
        ae = -ae;
    }
    ldexp(a1, ae)
}

/// `x` to an infinite (or overflowing even) power `y`, as Go's `math.Pow`.
fn huge_power(x: f64, y: f64) -> f64 {
    if x == -1.0 {
        1.0
    } else if (x.abs() < 1.0) == (y > 0.0) {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Go's `math.Frexp`: x = frac × 2^exp with |frac| in [0.5, 1).
fn frexp(x: f64) -> (f64, i64) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let (mut x, mut e) = (x, 0i64);
    if x.abs() < f64::MIN_POSITIVE {
        x *= (1u64 << 52) as f64;
        e = -52;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7ff) as i64 - 1022;
    let frac = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (frac, e)
}

/// frac × 2^exp, rounding once at the end (Go's `math.Ldexp`).
fn ldexp(frac: f64, exp: i64) -> f64 {
    let (f, e) = frexp(frac);
    let e = e.saturating_add(exp);
    if f == 0.0 || !f.is_finite() {
        return f;
    }
    if e > 1024 {
        return f64::INFINITY.copysign(f);
    }
    if e < -1075 - 52 {
        return 0.0f64.copysign(f);
    }
    // f in [0.5, 1): scale in two exact steps, the last one rounding.
    let first = e.clamp(-1000, 1000);
    let rest = e - first;
    f * 2f64.powi(first as i32) * 2f64.powi(rest as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_pow_matches_go() {
        // What Terraform 1.11 gives (tests/terraform/expected.jsonl) and Go documents.
        assert_eq!(go_pow(10.0, 308.0), 1.0000000000000006e308);
        assert_eq!(go_pow(2.0, 64.0), 18446744073709551616.0);
        assert_eq!(go_pow(1.1, 2.0), 1.2100000000000002);
        assert_eq!(go_pow(2.0, -1.0), 0.5);
        assert!(go_pow(10.0, 309.0).is_infinite());
        assert!(go_pow(-8.0, 1.0 / 3.0).is_nan());
        assert_eq!(go_pow(0.0, -1.0), f64::INFINITY);
        assert_eq!(ldexp(0.5, -1074), 0.0);
        assert_eq!(ldexp(0.5, -1073), f64::from_bits(1));
    }
}
