//! Go's `time.ParseDuration` syntax, as Terraform's `timeadd()` accepts it.
//!
//! A duration is an optional sign followed by one or more decimal numbers,
//! each with an optional fraction and a required unit: `"300ms"`, `"-1.5h"`,
//! `"2h45m"`. Units are `ns`, `us` (or `µs`/`μs`), `ms`, `s`, `m` and `h`.
//! `"0"` on its own needs no unit. Like Go, the result must fit in a signed
//! 64-bit count of nanoseconds (about 292 years).

/// The hint appended to every parse error.
const EXPECTED: &str =
    "expected a number followed by a unit (ns, us, ms, s, m, h), e.g. \"90s\" or \"1h30m\"";

/// Parses a Go duration string such as `"1h30m"` or `"-1.5s"`.
pub fn parse_go_duration(s: &str) -> Result<chrono::Duration, String> {
    let nanos = parse_nanos(s).map_err(|why| match why {
        Some(why) => format!("invalid duration {s:?}: {why}; {EXPECTED}"),
        None => format!("invalid duration {s:?}: {EXPECTED}"),
    })?;
    Ok(chrono::Duration::nanoseconds(nanos))
}

/// Nanoseconds per unit, longest unit names first where they share a prefix.
fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60 * 1_000_000_000,
        "h" => 3_600 * 1_000_000_000,
        _ => return None,
    })
}

/// The core of Go's algorithm. `Err(None)` means "generally malformed";
/// `Err(Some(why))` carries a more specific reason.
fn parse_nanos(s: &str) -> Result<i64, Option<String>> {
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(None);
    }
    // Total so far, in nanoseconds; at most 1 << 63 (for i64::MIN).
    let limit: u64 = 1 << 63;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        // The next character must be a digit or '.'.
        let first = rest.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(None);
        }
        // Integer part.
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, r) = rest.split_at(int_len);
        rest = r;
        let mut whole: u64 = 0;
        for d in int_digits.bytes() {
            whole = whole
                .checked_mul(10)
                .and_then(|w| w.checked_add(u64::from(d - b'0')))
                .filter(|w| *w <= limit)
                .ok_or_else(|| Some("the value is too large".to_string()))?;
        }
        // Fraction part: keep digits while they still fit, like Go.
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut frac_len = 0;
        let has_dot = rest.starts_with('.');
        if has_dot {
            rest = &rest[1..];
            frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let mut overflow = false;
            for d in rest[..frac_len].bytes() {
                if overflow {
                    continue;
                }
                match frac
                    .checked_mul(10)
                    .and_then(|f| f.checked_add(u64::from(d - b'0')))
                {
                    Some(f) if f <= limit => {
                        frac = f;
                        scale *= 10.0;
                    }
                    _ => overflow = true,
                }
            }
            rest = &rest[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            // Just a "." with no digits around it.
            return Err(None);
        }
        // Unit: everything up to the next digit or '.'.
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let (unit, r) = rest.split_at(unit_len);
        rest = r;
        if unit.is_empty() {
            return Err(Some("missing unit".to_string()));
        }
        let per = unit_nanos(unit).ok_or_else(|| Some(format!("unknown unit {unit:?}")))?;
        let too_large = || Some("the value is too large".to_string());
        let mut v = whole
            .checked_mul(per)
            .filter(|v| *v <= limit)
            .ok_or_else(too_large)?;
        if frac > 0 {
            // Go computes this in float64 too; it only affects sub-nanosecond digits.
            let extra = (frac as f64) * (per as f64 / scale);
            v = v
                .checked_add(extra as u64)
                .filter(|v| *v <= limit)
                .ok_or_else(too_large)?;
        }
        total = total
            .checked_add(v)
            .filter(|t| *t <= limit)
            .ok_or_else(too_large)?;
    }
    if neg {
        // total <= 1 << 63, so this fits.
        Ok((total as i128).wrapping_neg() as i64)
    } else if total > i64::MAX as u64 {
        Err(Some("the value is too large".to_string()))
    } else {
        Ok(total as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_go_duration;
    use chrono::Duration;

    #[test]
    fn parses_go_durations() {
        let ms = Duration::milliseconds;
        let ns = Duration::nanoseconds;
        let s = Duration::seconds;
        let cases: &[(&str, Duration)] = &[
            ("0", Duration::zero()),
            ("-0", Duration::zero()),
            ("+0", Duration::zero()),
            ("0s", Duration::zero()),
            ("5s", s(5)),
            ("30s", s(30)),
            ("1478s", s(1478)),
            ("-5s", s(-5)),
            ("+5s", s(5)),
            ("-0s", Duration::zero()),
            ("5.0s", s(5)),
            ("5.6s", ms(5600)),
            ("5.s", s(5)),
            (".5s", ms(500)),
            ("1.0s", s(1)),
            ("1.00s", s(1)),
            ("1.004s", ms(1004)),
            ("1.0040s", ms(1004)),
            ("100.00100s", ms(100_001)),
            ("10ns", ns(10)),
            ("11us", ns(11_000)),
            ("12µs", ns(12_000)),
            ("12μs", ns(12_000)),
            ("13ms", ms(13)),
            ("300ms", ms(300)),
            ("14s", s(14)),
            ("15m", s(15 * 60)),
            ("16h", s(16 * 3600)),
            ("-1.5h", s(-5400)),
            ("2h45m", s(2 * 3600 + 45 * 60)),
            ("1h30m10s", s(3600 + 1800 + 10)),
            ("3h30m", s(3 * 3600 + 30 * 60)),
            ("10.5s4m", s(4 * 60 + 10) + ms(500)),
            ("-2m3.4s", -(s(2 * 60 + 3) + ms(400))),
            ("1h2m3s4ms5us6ns", s(3600 + 120 + 3) + ns(4_005_006)),
            ("39h9m14.425s", s(39 * 3600 + 9 * 60 + 14) + ms(425)),
            ("52763797000ns", ns(52_763_797_000)),
            ("0.3333333333333333333h", s(20 * 60)),
            ("9007199254740993ns", ns(9_007_199_254_740_993)),
            ("9223372036854775807ns", ns(i64::MAX)),
            ("9223372036.854775807s", ns(i64::MAX)),
            ("-9223372036854775808ns", ns(i64::MIN)),
            ("-2562047h47m16.854775808s", ns(i64::MIN)),
            ("0.100000000000000000000h", s(6 * 60)),
            (
                "0.830103483285477580700h",
                s(49 * 60 + 48) + ns(372_539_827),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_go_duration(input).as_ref(),
                Ok(want),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn rejects_invalid_durations() {
        let cases: &[(&str, &str)] = &[
            ("", "invalid duration \"\""),
            ("3", "missing unit"),
            ("-", "invalid duration"),
            ("s", "invalid duration"),
            (".", "invalid duration"),
            ("-.", "invalid duration"),
            (".s", "invalid duration"),
            ("+.s", "invalid duration"),
            ("1d", "unknown unit \"d\""),
            ("5x", "unknown unit \"x\""),
            ("1hm", "unknown unit \"hm\""),
            ("1h 30m", "unknown unit \"h \""),
            (" 1h", "invalid duration"),
            ("1.5", "missing unit"),
            ("--5s", "invalid duration"),
            ("9223372036854775808ns", "too large"),
            ("9223372036854775.808us", "too large"),
            ("9223372036854ms775us808ns", "too large"),
            ("-9223372036854775809ns", "too large"),
            ("99999999999999999999999h", "too large"),
            ("3000000h", "too large"),
        ];
        for (input, want) in cases {
            let got = parse_go_duration(input);
            let err = got.expect_err(input);
            assert!(err.contains(want), "{input:?}: {err}");
            assert!(
                err.contains("expected a number followed by a unit"),
                "{input:?}: {err}"
            );
        }
    }

    #[test]
    fn error_message_is_actionable() {
        assert_eq!(
            parse_go_duration("5x").unwrap_err(),
            "invalid duration \"5x\": unknown unit \"x\"; expected a number followed by a unit \
             (ns, us, ms, s, m, h), e.g. \"90s\" or \"1h30m\""
        );
        assert_eq!(
            parse_go_duration("").unwrap_err(),
            "invalid duration \"\": expected a number followed by a unit (ns, us, ms, s, m, h), \
             e.g. \"90s\" or \"1h30m\""
        );
    }
}
