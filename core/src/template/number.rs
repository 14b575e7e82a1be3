//! Terraform's numbers. go-cty keeps every number as a Go `math/big.Float`:
//! a binary mantissa of a given precision (bits) with round-half-to-even.
//! Literals and numbers read from strings or JSON get 512 bits, integers made
//! by functions 64, results of float64 functions (`pow`, `log`) 53, and an
//! arithmetic result the larger precision of its operands. A number prints as
//! the shortest decimal that rounds back to it at its own precision, so
//! `0.1 + 0.2` prints `0.3`, `1/3` prints 155 digits and `pow(2, 64)` prints
//! `18446744073709550000`, all as in Terraform. This module reproduces those
//! rules (Go's `Float.Add/Mul/Quo`, `Int`, `SetInt`, `Text` and its
//! shortest-decimal search) on `num-bigint`.
//!
//! Deliberate difference: Go's exponent range is about ±2^31 bits; here a
//! number's magnitude must stay between 2^-16384 and 2^16384 (about
//! 1e±4932), so that printing one can never take long. Beyond that an
//! operation fails with [`NumberError::Range`].

use std::cmp::Ordering;

use num_bigint::{BigInt, BigUint, Sign};
use num_integer::Integer;
use num_traits::{ToPrimitive, Zero};

/// Precision of numbers written in templates, strings and JSON (cty's
/// `ParseNumberVal` and HCL's number literals).
pub const LITERAL_PREC: u32 = 512;
/// Precision of a number made from a 64-bit integer (Go's `SetInt64`).
const INT_PREC: u32 = 64;
/// Precision of a number made from a float64 (Go's `SetFloat64`).
const F64_PREC: u32 = 53;
/// The largest magnitude of a number's binary exponent (see the module docs).
pub const MAX_EXP: i64 = 16384;
/// The longest run of digits a number may be written with.
const MAX_DIGITS: usize = 10_000;

/// Why an operation has no number for a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Go's `big.ErrNaN`: the result is not a number.
    #[error("{0}")]
    NaN(&'static str),
    /// The result is beyond the magnitudes kept (a deliberate difference).
    #[error(
        "the result is out of range: numbers must stay between 1e-4932 and 1e4932 in magnitude"
    )]
    Range,
}

/// A number as go-cty holds it: ±mant × 2^exp with `mant` odd (or zero),
/// rounded to `prec` bits, or ±infinity.
#[derive(Clone)]
pub struct Number {
    neg: bool,
    inf: bool,
    mant: BigUint,
    exp: i64,
    prec: u32,
}

/// How `Number::to_int` relates to the number (Go's `big.Accuracy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accuracy {
    Below,
    Exact,
    Above,
}

impl Number {
    fn finite(
        neg: bool,
        mut mant: BigUint,
        mut exp: i64,
        prec: u32,
    ) -> Result<Number, NumberError> {
        if mant.is_zero() {
            return Ok(Number {
                neg,
                inf: false,
                mant,
                exp: 0,
                prec,
            });
        }
        let tz = mant.trailing_zeros().unwrap_or(0);
        mant >>= tz;
        exp += tz as i64;
        let top = exp + mant.bits() as i64;
        if !(-MAX_EXP..=MAX_EXP).contains(&top) {
            return Err(NumberError::Range);
        }
        Ok(Number {
            neg,
            inf: false,
            mant,
            exp,
            prec,
        })
    }

    /// ±mant × 2^exp (with `sticky`: plus something below its last bit)
    /// rounded half-to-even to `prec` bits. Callers that set `sticky` give
    /// at least `prec + 2` bits.
    fn rounded(
        neg: bool,
        mut mant: BigUint,
        mut exp: i64,
        sticky: bool,
        prec: u32,
    ) -> Result<Number, NumberError> {
        let bits = mant.bits();
        if bits > u64::from(prec) {
            let s = bits - u64::from(prec);
            let half = mant.bit(s - 1);
            let more = sticky || mant.trailing_zeros().unwrap_or(0) < s - 1;
            mant >>= s;
            exp += s as i64;
            if half && (more || mant.bit(0)) {
                mant += 1u32;
            }
        }
        Number::finite(neg, mant, exp, prec)
    }

    fn infinity(neg: bool, prec: u32) -> Number {
        Number {
            neg,
            inf: true,
            mant: BigUint::zero(),
            exp: 0,
            prec,
        }
    }

    /// Zero (positive).
    pub fn zero() -> Number {
        Number::from_i64(0)
    }

    /// From a 64-bit integer (precision 64).
    pub fn from_i64(i: i64) -> Number {
        Number {
            neg: i < 0,
            ..Number::from_u64(i.unsigned_abs())
        }
    }

    /// From an unsigned 64-bit integer (precision 64).
    pub fn from_u64(u: u64) -> Number {
        let mant = BigUint::from(u);
        let tz = mant.trailing_zeros().unwrap_or(0);
        Number {
            neg: false,
            inf: false,
            mant: mant >> tz,
            exp: tz as i64,
            prec: INT_PREC,
        }
    }

    /// From a big integer: precision the larger of its bit length and 64
    /// (Go's `SetInt` on a new Float).
    pub fn from_bigint(i: &BigInt) -> Result<Number, NumberError> {
        let prec = u32::try_from(i.bits()).unwrap_or(u32::MAX).max(INT_PREC);
        Number::finite(i.sign() == Sign::Minus, i.magnitude().clone(), 0, prec)
    }

    /// `i` rounded to this number's precision (Go's `f.SetInt(i)` on a Float
    /// that has one, as `ceil` and `floor` do).
    pub fn with_int(&self, i: &BigInt) -> Result<Number, NumberError> {
        Number::rounded(
            i.sign() == Sign::Minus,
            i.magnitude().clone(),
            0,
            false,
            self.prec,
        )
    }

    /// From a float64 (precision 53); `None` for NaN.
    pub fn from_f64(f: f64) -> Option<Number> {
        if f.is_nan() {
            return None;
        }
        let neg = f.is_sign_negative();
        if f.is_infinite() {
            return Some(Number::infinity(neg, F64_PREC));
        }
        let bits = f.to_bits();
        let e = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1u64 << 52) - 1);
        let (mant, exp) = if e == 0 {
            (frac, -1074)
        } else {
            (frac | 1 << 52, e - 1075)
        };
        Number::finite(neg, BigUint::from(mant), exp, F64_PREC).ok()
    }

    /// A decimal number as Go's `big.ParseFloat(s, 10, 512, ToNearestEven)`
    /// reads it: an optional sign, digits with an optional point, an
    /// optional exponent, or `Inf`. `Err(Range)` beyond the kept magnitudes,
    /// `Ok(None)` for anything else.
    pub fn parse(s: &str) -> Result<Option<Number>, NumberError> {
        let (neg, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        if rest == "Inf" || rest == "inf" {
            return Ok(Some(Number::infinity(neg, LITERAL_PREC)));
        }
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) {
            return Ok(None);
        }
        let mut e10: i64 = match exponent {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !all_digits(digits) {
                    return Ok(None);
                }
                let t = digits.trim_start_matches('0');
                let mag: i64 = if t.is_empty() {
                    0
                } else {
                    t.parse().unwrap_or(i64::MAX)
                };
                if e.starts_with('-') {
                    -mag
                } else {
                    mag
                }
            }
        };
        let digits = format!("{int}{frac}");
        let digits = digits.trim_start_matches('0');
        if digits.is_empty() {
            // Go keeps the sign of zero: "-0" is -0.
            return Ok(Some(Number::finite(neg, BigUint::zero(), 0, LITERAL_PREC)?));
        }
        if digits.len() > MAX_DIGITS {
            return Err(NumberError::Range);
        }
        e10 = e10.saturating_sub(frac.len() as i64);
        // |value| ≥ 10^(e10 + len - 1): out of range long before i64 matters.
        let magnitude = e10.saturating_add(digits.len() as i64);
        if !(-5000..=5000).contains(&magnitude) {
            return Err(NumberError::Range);
        }
        let d: BigUint = digits.parse().map_err(|_| NumberError::Range)?;
        if e10 >= 0 {
            let n = d * BigUint::from(10u32).pow(e10 as u32);
            return Number::rounded(neg, n, 0, false, LITERAL_PREC).map(Some);
        }
        let k = (-e10) as u32;
        let five = BigUint::from(5u32).pow(k);
        let shift = (u64::from(LITERAL_PREC) + 2 + five.bits()).saturating_sub(d.bits());
        let (q, r) = (d << shift).div_rem(&five);
        Number::rounded(
            neg,
            q,
            -(i64::from(k)) - shift as i64,
            !r.is_zero(),
            LITERAL_PREC,
        )
        .map(Some)
    }

    /// Whether this is ±infinity.
    pub fn is_inf(&self) -> bool {
        self.inf
    }

    /// Whether this is zero (of either sign).
    pub fn is_zero(&self) -> bool {
        !self.inf && self.mant.is_zero()
    }

    /// -1, 0 or 1 (zero of either sign is 0).
    pub fn signum(&self) -> i32 {
        if self.is_zero() {
            0
        } else if self.neg {
            -1
        } else {
            1
        }
    }

    /// Whether the number is negative, including -0.
    pub fn is_sign_negative(&self) -> bool {
        self.neg
    }

    /// Whether this is a whole number (infinities are not).
    pub fn is_int(&self) -> bool {
        !self.inf && (self.mant.is_zero() || self.exp >= 0)
    }

    /// The number with its sign flipped (Go's `Neg`: `-0` stays a number).
    pub fn neg(&self) -> Number {
        Number {
            neg: !self.neg,
            ..self.clone()
        }
    }

    /// The number without its sign.
    pub fn abs(&self) -> Number {
        Number {
            neg: false,
            ..self.clone()
        }
    }

    /// `self + other` (Go's `Add` on a new Float).
    pub fn add(&self, other: &Number) -> Result<Number, NumberError> {
        let prec = self.prec.max(other.prec);
        match (self.inf, other.inf) {
            (true, true) if self.neg != other.neg => {
                return Err(NumberError::NaN("can't compute sum of opposing infinities"))
            }
            (true, _) => return Ok(Number::infinity(self.neg, prec)),
            (_, true) => return Ok(Number::infinity(other.neg, prec)),
            _ => {}
        }
        if self.is_zero() && other.is_zero() {
            return Number::finite(self.neg && other.neg, BigUint::zero(), 0, prec);
        }
        let e = self.exp.min(other.exp);
        let a = BigInt::from_biguint(sign(self.neg), &self.mant << (self.exp - e) as u64);
        let b = BigInt::from_biguint(sign(other.neg), &other.mant << (other.exp - e) as u64);
        let s = a + b;
        Number::rounded(
            s.sign() == Sign::Minus,
            s.magnitude().clone(),
            e,
            false,
            prec,
        )
    }

    /// `self - other`.
    pub fn sub(&self, other: &Number) -> Result<Number, NumberError> {
        self.add(&other.neg())
            .map_err(|_| NumberError::NaN("can't subtract infinity from itself"))
    }

    /// `self * other` as go-cty multiplies: rounded to 512 bits, with the
    /// larger of the operands' precisions and the bits the product needs.
    pub fn mul(&self, other: &Number) -> Result<Number, NumberError> {
        let neg = self.neg != other.neg;
        let prec = self.prec.max(other.prec);
        if self.inf || other.inf {
            if self.is_zero() || other.is_zero() {
                return Err(NumberError::NaN("can't multiply zero by infinity"));
            }
            return Ok(Number::infinity(neg, prec));
        }
        let mut r = Number::rounded(
            neg,
            &self.mant * &other.mant,
            self.exp + other.exp,
            false,
            LITERAL_PREC,
        )?;
        r.prec = prec.max(r.mant.bits() as u32);
        Ok(r)
    }

    /// `self / other` (Go's `Quo`): a non-zero number divided by zero is an
    /// infinity; zero by zero and infinity by infinity are not numbers.
    pub fn div(&self, other: &Number) -> Result<Number, NumberError> {
        let neg = self.neg != other.neg;
        let prec = self.prec.max(other.prec);
        let nan = NumberError::NaN("can't divide zero by zero or infinity by infinity");
        match (self.inf, other.inf) {
            (true, true) => return Err(nan),
            (true, false) => return Ok(Number::infinity(neg, prec)),
            (false, true) => return Number::finite(neg, BigUint::zero(), 0, prec),
            _ => {}
        }
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Err(nan),
            (false, true) => return Ok(Number::infinity(neg, prec)),
            (true, false) => return Number::finite(neg, BigUint::zero(), 0, prec),
            _ => {}
        }
        let shift = (u64::from(prec) + 2 + other.mant.bits()).saturating_sub(self.mant.bits());
        let (q, r) = (&self.mant << shift).div_rem(&other.mant);
        Number::rounded(
            neg,
            q,
            self.exp - other.exp - shift as i64,
            !r.is_zero(),
            prec,
        )
    }

    /// `self % other` as go-cty computes it: `self - other × trunc(self / other)`
    /// at `self`'s precision; `x % 0` is `x`, and with an infinity the result
    /// is the infinity of the product's sign.
    pub fn rem(&self, other: &Number) -> Result<Number, NumberError> {
        if self.inf || other.inf {
            return self
                .mul(other)
                .map_err(|_| NumberError::NaN("can't use modulo with zero and infinity"));
        }
        if other.is_zero() {
            return Ok(self.clone());
        }
        let (q, _) = self.div(other)?.to_int().ok_or(NumberError::Range)?;
        // Go's `Copy(v).SetInt(q)`, `Mul` and `Sub`, each rounded to v's precision.
        let work = self.with_int(&q)?;
        let prod = Number::rounded(
            other.neg != work.neg,
            &other.mant * &work.mant,
            other.exp + work.exp,
            false,
            self.prec,
        )?;
        self.sub(&prod)
    }

    /// The number truncated toward zero, and how that relates to the number
    /// (Go's `Int`); `None` for infinities.
    pub fn to_int(&self) -> Option<(BigInt, Accuracy)> {
        if self.inf {
            return None;
        }
        let (mag, exact) = if self.exp >= 0 {
            (&self.mant << self.exp as u64, true)
        } else {
            let s = (-self.exp) as u64;
            (&self.mant >> s, self.mant.is_zero())
        };
        let acc = match (exact, self.neg) {
            (true, _) => Accuracy::Exact,
            (false, false) => Accuracy::Below,
            (false, true) => Accuracy::Above,
        };
        Some((BigInt::from_biguint(sign(self.neg), mag), acc))
    }

    /// The whole number this is exactly, if it fits 64 bits.
    pub fn as_i64(&self) -> Option<i64> {
        match self.to_int()? {
            (i, Accuracy::Exact) => i.to_i64(),
            _ => None,
        }
    }

    /// The whole non-negative number this is exactly, if it fits 64 bits.
    pub fn as_u64(&self) -> Option<u64> {
        match self.to_int()? {
            (i, Accuracy::Exact) => i.to_u64(),
            _ => None,
        }
    }

    /// The nearest float64 (Go's `Float64`; beyond its range: ±infinity or 0).
    pub fn to_f64(&self) -> f64 {
        let s = if self.neg { -1.0 } else { 1.0 };
        if self.inf {
            return s * f64::INFINITY;
        }
        if self.mant.is_zero() {
            return s * 0.0;
        }
        let top = self.exp + self.mant.bits() as i64;
        if top > 1024 {
            return s * f64::INFINITY;
        }
        if top < -1080 {
            return s * 0.0;
        }
        // Round to 53 bits (or fewer for subnormals), then scale exactly.
        let prec = if top < -1021 {
            (53 - (-1021 - top)).max(1) as u32
        } else {
            53
        };
        let Ok(r) = Number::rounded(false, self.mant.clone(), self.exp, false, prec) else {
            return s * 0.0;
        };
        let m = r.mant.to_f64().unwrap_or(f64::NAN);
        s * m * pow2(r.exp)
    }

    /// Total order (±0 equal; infinities at the ends).
    pub fn compare(&self, other: &Number) -> Ordering {
        let (sa, sb) = (self.signum(), other.signum());
        if sa != sb {
            return sa.cmp(&sb);
        }
        if sa == 0 {
            return Ordering::Equal;
        }
        let mag = match (self.inf, other.inf) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => {
                let (ta, tb) = (
                    self.exp + self.mant.bits() as i64,
                    other.exp + other.mant.bits() as i64,
                );
                if ta != tb {
                    ta.cmp(&tb)
                } else {
                    let e = self.exp.min(other.exp);
                    (&self.mant << (self.exp - e) as u64)
                        .cmp(&(&other.mant << (other.exp - e) as u64))
                }
            }
        };
        if sa < 0 {
            mag.reverse()
        } else {
            mag
        }
    }

    /// Equality as go-cty defines it: whole numbers by value, others by their
    /// shortest decimal text, so `0.1 + 0.2 == 0.3`; `-0 == 0`.
    pub fn cty_equals(&self, other: &Number) -> bool {
        if self.signum() != other.signum() {
            return false;
        }
        match (self.to_int(), other.to_int()) {
            (Some((a, Accuracy::Exact)), Some((b, Accuracy::Exact))) => a == b,
            (Some((_, Accuracy::Exact)), _) | (_, Some((_, Accuracy::Exact))) => false,
            _ => self.text(b'f', -1) == other.text(b'f', -1),
        }
    }

    /// The exact decimal digits of the magnitude (Go's `decimal.init`).
    fn decimal(&self) -> Decimal {
        if self.mant.is_zero() || self.inf {
            return Decimal {
                digits: Vec::new(),
                exp: 0,
            };
        }
        let (n, shift) = if self.exp >= 0 {
            (&self.mant << self.exp as u64, 0)
        } else {
            let k = (-self.exp) as u32;
            (&self.mant * BigUint::from(5u32).pow(k), i64::from(k))
        };
        let mut digits = n.to_string().into_bytes();
        let exp = digits.len() as i64 - shift;
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        Decimal { digits, exp }
    }

    /// The shortest decimal that rounds back to this number at its precision
    /// (Go's `roundShortest`).
    fn shortest(&self) -> Decimal {
        let mut d = self.decimal();
        if d.digits.is_empty() {
            return d;
        }
        // mant with prec + 1 bits: its last bit is half an ulp.
        let bits = self.mant.bits() as i64;
        let s = bits - (i64::from(self.prec) + 1);
        let (mant, exp) = if s < 0 {
            (&self.mant << (-s) as u64, self.exp + s)
        } else {
            (&self.mant >> s as u64, self.exp + s)
        };
        let bound = |m: BigUint| {
            Number {
                neg: false,
                inf: false,
                mant: m,
                exp,
                prec: 0,
            }
            .decimal_unnormalized()
        };
        let lower = bound(&mant - 1u32);
        let upper = bound(&mant + 1u32);
        let inclusive = !mant.bit(1);
        for i in 0..d.digits.len() {
            let m = d.digits[i];
            let l = lower.at(i as i64);
            let u = upper.at(i as i64);
            let okdown = l != m || inclusive && i + 1 == lower.digits.len();
            let okup = m != u && (inclusive || m + 1 < u || i + 1 < upper.digits.len());
            match (okdown, okup) {
                (true, true) => {
                    d.round(i + 1);
                    return d;
                }
                (true, false) => {
                    d.round_down(i + 1);
                    return d;
                }
                (false, true) => {
                    d.round_up(i + 1);
                    return d;
                }
                _ => {}
            }
        }
        d
    }

    /// Like `decimal`, for a mantissa that may have trailing zero bits.
    fn decimal_unnormalized(&self) -> Decimal {
        match Number::finite(false, self.mant.clone(), self.exp, 0) {
            Ok(n) => n.decimal(),
            Err(_) => Decimal {
                digits: Vec::new(),
                exp: 0,
            },
        }
    }

    /// Go's `Float.Text(fmt, prec)` for `e`, `E`, `f`, `g` and `G`; a
    /// negative `prec` asks for the shortest exact digits. Infinities are
    /// `+Inf` and `-Inf`.
    pub fn text(&self, fmt: u8, prec: i64) -> String {
        let mut out = String::new();
        if self.neg {
            out.push('-');
        }
        if self.inf {
            if !self.neg {
                out.push('+');
            }
            out.push_str("Inf");
            return out;
        }
        let shortest = prec < 0;
        let mut prec = prec;
        let d = if shortest {
            let d = self.shortest();
            prec = match fmt {
                b'e' | b'E' => d.digits.len() as i64 - 1,
                b'f' => (d.digits.len() as i64 - d.exp).max(0),
                _ => d.digits.len() as i64,
            };
            d
        } else {
            let mut d = self.decimal();
            match fmt {
                b'e' | b'E' => d.round_signed(1 + prec),
                b'f' => d.round_signed(d.exp + prec),
                _ => {
                    if prec == 0 {
                        prec = 1;
                    }
                    d.round_signed(prec)
                }
            }
            d
        };
        let upper = fmt.is_ascii_uppercase();
        match fmt {
            b'e' | b'E' => out.push_str(&fmt_e(&d, prec, upper)),
            b'f' => out.push_str(&fmt_f(&d, prec)),
            _ => {
                let n = d.digits.len() as i64;
                let mut eprec = prec;
                if eprec > n && n >= d.exp {
                    eprec = n;
                }
                if shortest {
                    eprec = 6;
                }
                let exp = d.exp - 1;
                if exp < -4 || exp >= eprec {
                    if prec > n {
                        prec = n;
                    }
                    out.push_str(&fmt_e(&d, prec - 1, upper));
                } else {
                    if prec > d.exp {
                        prec = n;
                    }
                    out.push_str(&fmt_f(&d, (prec - d.exp).max(0)));
                }
            }
        }
        out
    }
}

impl std::fmt::Debug for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Number({}, {} bits)", self, self.prec)
    }
}

impl std::fmt::Display for Number {
    /// As Terraform prints a number: the shortest exact digits, no exponent.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(b'f', -1))
    }
}

impl PartialEq for Number {
    /// go-cty's equality ([`Number::cty_equals`]), which `==` in templates uses.
    fn eq(&self, other: &Number) -> bool {
        self.cty_equals(other)
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Number {
        Number::from_i64(i)
    }
}

impl From<u64> for Number {
    fn from(u: u64) -> Number {
        Number::from_u64(u)
    }
}

fn sign(neg: bool) -> Sign {
    if neg {
        Sign::Minus
    } else {
        Sign::Plus
    }
}

fn pow2(e: i64) -> f64 {
    // Two steps keep intermediate factors within f64's range.
    let half = e / 2;
    2f64.powi(half as i32) * 2f64.powi((e - half) as i32)
}

/// Decimal digits: value = 0.DIGITS × 10^exp, no trailing zeros (Go's
/// `math/big` decimal).
struct Decimal {
    digits: Vec<u8>,
    exp: i64,
}

impl Decimal {
    fn at(&self, i: i64) -> u8 {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.digits.get(i).copied())
            .unwrap_or(b'0')
    }

    fn round_signed(&mut self, n: i64) {
        if let Ok(n) = usize::try_from(n) {
            self.round(n);
        }
    }

    fn round(&mut self, n: usize) {
        if n >= self.digits.len() {
            return;
        }
        let up = if self.digits[n] == b'5' && n + 1 == self.digits.len() {
            n > 0 && (self.digits[n - 1] - b'0') & 1 != 0
        } else {
            self.digits[n] >= b'5'
        };
        if up {
            self.round_up(n)
        } else {
            self.round_down(n)
        }
    }

    fn round_up(&mut self, mut n: usize) {
        if n >= self.digits.len() {
            return;
        }
        while n > 0 && self.digits[n - 1] >= b'9' {
            n -= 1;
        }
        if n == 0 {
            self.digits.truncate(1);
            self.digits[0] = b'1';
            self.exp += 1;
            return;
        }
        self.digits[n - 1] += 1;
        self.digits.truncate(n);
    }

    fn round_down(&mut self, n: usize) {
        if n >= self.digits.len() {
            return;
        }
        self.digits.truncate(n);
        while self.digits.last() == Some(&b'0') {
            self.digits.pop();
        }
    }
}

/// Go's `fmtE`: d.ddde±dd with `prec` digits after the point.
fn fmt_e(d: &Decimal, prec: i64, upper: bool) -> String {
    let mut s = String::new();
    s.push(char::from(d.digits.first().copied().unwrap_or(b'0')));
    if prec > 0 {
        s.push('.');
        for i in 1..=prec {
            s.push(char::from(d.at(i)));
        }
    }
    s.push(if upper { 'E' } else { 'e' });
    let exp = if d.digits.is_empty() { 0 } else { d.exp - 1 };
    s.push(if exp < 0 { '-' } else { '+' });
    s.push_str(&format!("{:02}", exp.abs()));
    s
}

/// Go's `fmtF`: the integer digits, then `prec` digits after the point.
fn fmt_f(d: &Decimal, prec: i64) -> String {
    let mut s = String::new();
    if d.exp > 0 {
        for i in 0..d.exp {
            s.push(char::from(d.at(i)));
        }
    } else {
        s.push('0');
    }
    if prec > 0 {
        s.push('.');
        for i in 0..prec {
            s.push(char::from(d.at(d.exp + i)));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Number {
        Number::parse(s).unwrap().unwrap()
    }

    #[test]
    fn literals_print_as_written() {
        for s in ["0.1", "0.3", "1e21", "123.456", "9007199254740993", "1e-7"] {
            let n = lit(s);
            let back = lit(&n.to_string());
            assert!(n == back, "{s} printed {n}");
        }
        assert_eq!(lit("0.1").to_string(), "0.1");
        assert_eq!(lit("1e-7").to_string(), "0.0000001");
        // Go's ParseFloat keeps the sign: `tonumber("-0")` is -0 in Terraform.
        assert_eq!(lit("-0").to_string(), "-0");
    }

    #[test]
    fn arithmetic_follows_cty() {
        let sum = lit("0.1").add(&lit("0.2")).unwrap();
        assert_eq!(sum.to_string(), "0.3");
        assert!(sum.cty_equals(&lit("0.3")));
        assert_eq!(
            lit("9007199254740993").add(&lit("2")).unwrap().to_string(),
            "9007199254740995"
        );
        let third = lit("1").div(&lit("3")).unwrap().to_string();
        assert_eq!(third.len(), 157, "{third}");
        assert!(third.ends_with("335"), "{third}");
        assert_eq!(
            Number::from_f64(2f64.powi(64)).unwrap().to_string(),
            "18446744073709550000"
        );
        assert_eq!(lit("-7").rem(&lit("3")).unwrap().to_string(), "-1");
        assert_eq!(lit("7.5").rem(&lit("2")).unwrap().to_string(), "1.5");
        assert!(lit("1").div(&lit("0")).unwrap().is_inf());
        assert!(lit("0").div(&lit("0")).is_err());
        assert_eq!(lit("1e308").mul(&lit("10")).unwrap().to_string().len(), 310);
    }

    #[test]
    fn go_text_formats() {
        assert_eq!(lit("12.345").text(b'f', 2), "12.34");
        assert_eq!(lit("0.125").text(b'f', 2), "0.12");
        assert_eq!(lit("2.5").text(b'f', 0), "2");
        assert_eq!(lit("1234.5678").text(b'e', 6), "1.234568e+03");
        assert_eq!(lit("1234.5678").text(b'g', -1), "1234.5678");
        assert_eq!(
            lit("9007199254740993").text(b'g', -1),
            "9.007199254740993e+15"
        );
        assert_eq!(lit("0.1").text(b'f', 20), "0.10000000000000000000");
    }

    #[test]
    fn magnitudes_are_bounded() {
        assert_eq!(Number::parse("1e5000").unwrap_err(), NumberError::Range);
        assert!(Number::parse("1e400").unwrap().is_some());
        assert_eq!(Number::parse("1e").unwrap(), None);
        assert_eq!(Number::parse("").unwrap(), None);
        assert_eq!(Number::parse(".").unwrap(), None);
    }
}
