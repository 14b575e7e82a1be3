//! Date and time functions. Timestamps are RFC 3339 strings, parsed as
//! strictly as Go's `time.Parse(time.RFC3339, ...)` does and written like
//! Go's `time.RFC3339` layout: whole seconds, `Z` for a zero offset.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeZone, Timelike};

use super::{Args, FuncContext, FuncError};
use crate::template::duration::parse_go_duration;
use crate::template::value::Value;

const TIMESTAMP_HINT: &str = "expected an RFC 3339 timestamp like \"2018-05-13T07:44:12Z\"";

/// Parses an RFC 3339 timestamp, keeping its offset.
pub(crate) fn parse_rfc3339(s: &str) -> Result<DateTime<FixedOffset>, String> {
    let fail =
        |why: &str| format!("is not a valid RFC 3339 timestamp ({why}): {s:?}; {TIMESTAMP_HINT}");
    let b = s.as_bytes();
    let num = |from: usize, len: usize, what: &str| -> Result<u32, String> {
        let part = b
            .get(from..from + len)
            .ok_or_else(|| fail(&format!("missing {what}")))?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(fail(&format!("bad {what}")));
        }
        Ok(part.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
    };
    let sep = |at: usize, want: u8, what: &str| -> Result<(), String> {
        if b.get(at) == Some(&want) {
            Ok(())
        } else {
            Err(fail(&format!("expected {:?} {what}", want as char)))
        }
    };
    let year = num(0, 4, "year")?;
    sep(4, b'-', "after the year")?;
    let month = num(5, 2, "month")?;
    sep(7, b'-', "after the month")?;
    let day = num(8, 2, "day")?;
    sep(10, b'T', "between the date and the time")?;
    let hour = num(11, 2, "hour")?;
    sep(13, b':', "after the hour")?;
    let minute = num(14, 2, "minute")?;
    sep(16, b':', "after the minute")?;
    let second = num(17, 2, "second")?;
    let mut pos = 19;
    let mut nanos: u32 = 0;
    if b.get(pos) == Some(&b'.') {
        let digits = b[pos + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            return Err(fail("missing digits after the decimal point"));
        }
        for (i, d) in b[pos + 1..pos + 1 + digits].iter().enumerate() {
            if i < 9 {
                nanos = nanos * 10 + u32::from(d - b'0');
            }
        }
        for _ in digits..9 {
            nanos *= 10;
        }
        pos += 1 + digits;
    }
    let offset_secs: i32 = match b.get(pos) {
        Some(b'Z') => {
            pos += 1;
            0
        }
        Some(&c @ (b'+' | b'-')) => {
            let oh = num(pos + 1, 2, "offset hours")?;
            sep(pos + 3, b':', "in the UTC offset")?;
            let om = num(pos + 4, 2, "offset minutes")?;
            if oh > 23 || om > 59 {
                return Err(fail("UTC offset out of range"));
            }
            pos += 6;
            let secs = (oh * 3600 + om * 60) as i32;
            if c == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return Err(fail("missing UTC offset such as \"Z\" or \"+01:00\"")),
    };
    if pos != b.len() {
        return Err(fail("unexpected text after the UTC offset"));
    }
    let date =
        NaiveDate::from_ymd_opt(year as i32, month, day).ok_or_else(|| fail("no such date"))?;
    if hour > 23 || minute > 59 || second > 59 {
        return Err(fail("time of day out of range"));
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
        .ok_or_else(|| fail("time of day out of range"))?;
    let offset =
        FixedOffset::east_opt(offset_secs).ok_or_else(|| fail("UTC offset out of range"))?;
    offset
        .from_local_datetime(&date.and_time(time))
        .single()
        .ok_or_else(|| fail("out of range"))
}

fn offset_parts(t: &DateTime<FixedOffset>) -> (char, i32, i32) {
    let secs = t.offset().local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.abs();
    (sign, secs / 3600, (secs % 3600) / 60)
}

fn year_text(y: i32, width: usize) -> String {
    if y < 0 {
        format!("-{:0width$}", -(y as i64))
    } else {
        format!("{y:0width$}")
    }
}

/// Formats like Go's `time.RFC3339` layout.
pub(crate) fn format_rfc3339(t: &DateTime<FixedOffset>) -> String {
    let mut s = format!(
        "{}-{:02}-{:02}T{:02}:{:02}:{:02}",
        year_text(t.year(), 4),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second().min(59)
    );
    let (sign, h, m) = offset_parts(t);
    if h == 0 && m == 0 {
        s.push('Z');
    } else {
        s.push_str(&format!("{sign}{h:02}:{m:02}"));
    }
    s
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// formatdate(spec, timestamp): the timestamp written according to `spec`.
pub(super) fn formatdate(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    let spec = a.string(0)?;
    let ts = a.string(1)?;
    let t = parse_rfc3339(&ts).map_err(|e| a.arg_err(1, e))?;
    let chars: Vec<char> = spec.chars().collect();
    let mut out = String::with_capacity(spec.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            // A quoted literal, in which '' stands for one quote.
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => {
                        return Err(a.arg_err(
                            0,
                            format!(
                            "has an unterminated quoted literal starting at character {}: {spec:?}",
                            i + 1
                        ),
                        ))
                    }
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        out.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(&other) => {
                        out.push(other);
                        j += 1;
                    }
                }
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let tok: String = chars[i..i + run].iter().collect();
        i += run;
        let bad = |what: &str| {
            a.arg_err(0, format!("has an invalid sequence {tok:?}: {what} (use single quotes for literal letters, e.g. \"'T'\")"))
        };
        let (sign, oh, om) = offset_parts(&t);
        let utc = oh == 0 && om == 0;
        match (c, run) {
            ('Y', 2) => out.push_str(&format!("{:02}", t.year().rem_euclid(100))),
            ('Y', 4) => out.push_str(&year_text(t.year(), 4)),
            ('Y', _) => return Err(bad("the year must be \"YY\" or \"YYYY\"")),
            ('M', 1) => out.push_str(&t.month().to_string()),
            ('M', 2) => out.push_str(&format!("{:02}", t.month())),
            ('M', 3) => out.push_str(&MONTHS[t.month0() as usize][..3]),
            ('M', 4) => out.push_str(MONTHS[t.month0() as usize]),
            ('M', _) => return Err(bad("the month must be \"M\", \"MM\", \"MMM\" or \"MMMM\"")),
            ('D', 1) => out.push_str(&t.day().to_string()),
            ('D', 2) => out.push_str(&format!("{:02}", t.day())),
            ('D', _) => return Err(bad("the day of month must be \"D\" or \"DD\"")),
            ('E', 3) => out.push_str(&WEEKDAYS[t.weekday().num_days_from_monday() as usize][..3]),
            ('E', 4) => out.push_str(WEEKDAYS[t.weekday().num_days_from_monday() as usize]),
            ('E', _) => return Err(bad("the day of week must be \"EEE\" or \"EEEE\"")),
            ('h', 1) => out.push_str(&t.hour().to_string()),
            ('h', 2) => out.push_str(&format!("{:02}", t.hour())),
            ('h', _) => return Err(bad("the 24-hour hour must be \"h\" or \"hh\"")),
            ('H', n @ (1 | 2)) => {
                let h = match t.hour() % 12 {
                    0 => 12,
                    h => h,
                };
                out.push_str(&if n == 1 {
                    h.to_string()
                } else {
                    format!("{h:02}")
                });
            }
            ('H', _) => return Err(bad("the 12-hour hour must be \"H\" or \"HH\"")),
            ('A', 2) => out.push_str(if t.hour() < 12 { "AM" } else { "PM" }),
            ('a', 2) => out.push_str(if t.hour() < 12 { "am" } else { "pm" }),
            ('A', _) => return Err(bad("the AM/PM marker must be \"AA\"")),
            ('a', _) => return Err(bad("the am/pm marker must be \"aa\"")),
            ('m', 1) => out.push_str(&t.minute().to_string()),
            ('m', 2) => out.push_str(&format!("{:02}", t.minute())),
            ('m', _) => return Err(bad("the minute must be \"m\" or \"mm\"")),
            ('s', 1) => out.push_str(&t.second().to_string()),
            ('s', 2) => out.push_str(&format!("{:02}", t.second())),
            ('s', _) => return Err(bad("the second must be \"s\" or \"ss\"")),
            ('Z', 1) if utc => out.push('Z'),
            ('Z', 1 | 5) => out.push_str(&format!("{sign}{oh:02}:{om:02}")),
            ('Z', 3) if utc => out.push_str("UTC"),
            ('Z', 3 | 4) => out.push_str(&format!("{sign}{oh:02}{om:02}")),
            ('Z', _) => {
                return Err(bad(
                    "the time zone must be \"Z\", \"ZZZ\", \"ZZZZ\" or \"ZZZZZ\"",
                ))
            }
            _ => {
                return Err(bad(
                    "unknown letter; letters must be quoted to appear literally",
                ))
            }
        }
    }
    Ok(Value::String(out))
}

/// timeadd(timestamp, duration): the timestamp moved by a Go duration like "1h30m".
pub(super) fn timeadd(a: &mut Args, _: &FuncContext) -> Result<Value, FuncError> {
    a.exact(2, "2")?;
    let ts = a.string(0)?;
    let dur = a.string(1)?;
    let t = parse_rfc3339(&ts).map_err(|e| a.arg_err(0, e))?;
    let d = parse_go_duration(&dur).map_err(|e| a.arg_err(1, format!("is an {e}")))?;
    let r = t.checked_add_signed(d).ok_or_else(|| {
        a.invalid(format!(
            "adding {dur:?} to {ts:?} gives a time out of range"
        ))
    })?;
    Ok(Value::String(format_rfc3339(&r)))
}

/// timestamp(): the pipeline creation time, like "2018-05-13T07:44:12Z".
pub(super) fn timestamp(a: &mut Args, ctx: &FuncContext) -> Result<Value, FuncError> {
    a.exact(0, "0")?;
    Ok(Value::String(format_rfc3339(&ctx.now.fixed_offset())))
}
