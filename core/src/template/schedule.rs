//! Checks for schedule options: RFC 3339 instants, 5-field cron expressions
//! (with `L`, `W` and `#`, read by `croner`), and IANA time zones.

use std::str::FromStr;

/// An RFC 3339 timestamp, e.g. `2024-11-25T14:50:00.000Z`.
pub fn check_datetime(v: &str) -> Result<(), String> {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|_| ())
        .map_err(|e| format!("schedule value {v:?} is not an RFC 3339 time ({e}); write it like \"2024-11-25T14:50:00Z\""))
}

/// A 5-field cron expression: minute hour day-of-month month day-of-week.
pub fn check_cron(expr: &str) -> Result<croner::Cron, String> {
    let fields = expr.split_whitespace().count();
    if fields != 5 {
        return Err(format!(
            "cron expression {expr:?} has {fields} field(s); write 5: minute hour day-of-month month day-of-week, e.g. \"0 12 * * 1-5\" or \"* * * * 5#3\""
        ));
    }
    croner::Cron::from_str(expr).map_err(|e| format!("cron expression {expr:?} is not valid: {e}"))
}

/// An IANA time zone name, e.g. `America/New_York` or `UTC`.
pub fn check_timezone(tz: &str) -> Result<chrono_tz::Tz, String> {
    chrono_tz::Tz::from_str(tz).map_err(|_| {
        format!("{tz:?} is not an IANA time zone; use a name such as \"UTC\", \"Europe/Paris\" or \"America/New_York\"")
    })
}

/// When a node with `schedule` starts, asked at `now` (the moment it
/// leaves BLOCKED): a datetime as given (in the past: `now`, so it starts at
/// once); a cron expression's next match strictly after `now`, in its time
/// zone's wall clock. In a DST gap the first valid minute after it is used
/// (`croner`); in an overlap the first pass. Evaluated once: a schedule
/// starts a node once, it does not repeat.
pub fn next_start(
    schedule: &super::model::Schedule,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use super::model::Schedule;
    use chrono::Utc;
    match schedule {
        Schedule::Datetime { value } => {
            check_datetime(value)?;
            let at = chrono::DateTime::parse_from_rfc3339(value)
                .map_err(|e| e.to_string())?
                .with_timezone(&Utc);
            Ok(at.max(now))
        }
        Schedule::Cron {
            expression,
            timezone,
        } => {
            let cron = check_cron(expression)?;
            let tz = check_timezone(timezone)?;
            cron.find_next_occurrence(&now.with_timezone(&tz), false)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    format!("cron expression {expression:?} in {timezone} has no next time: {e}")
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::model::Schedule;
    use chrono::{DateTime, TimeZone, Timelike, Utc};

    fn cron(e: &str, tz: &str) -> Schedule {
        Schedule::Cron {
            expression: e.into(),
            timezone: tz.into(),
        }
    }

    /// An independent answer: walk the wall clock minute by minute.
    fn scan(
        now: DateTime<Utc>,
        tz: chrono_tz::Tz,
        matches: impl Fn(chrono::NaiveDateTime) -> bool,
    ) -> DateTime<Utc> {
        let mut t = now.with_second(0).unwrap() + chrono::Duration::minutes(1);
        loop {
            if matches(t.with_timezone(&tz).naive_local()) {
                return t;
            }
            t += chrono::Duration::minutes(1);
        }
    }

    #[test]
    fn a_datetime_is_used_as_given_or_now_when_past() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let later = Schedule::Datetime {
            value: "2026-12-01T13:30:00+01:00".into(),
        };
        assert_eq!(
            next_start(&later, now).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 1, 12, 30, 0).unwrap()
        );
        let past = Schedule::Datetime {
            value: "2020-01-01T00:00:00Z".into(),
        };
        assert_eq!(next_start(&past, now).unwrap(), now);
    }

    #[test]
    fn cron_in_a_time_zone_matches_a_minute_by_minute_scan() {
        use chrono::{Datelike, Weekday};
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 7, 30).unwrap();
        let tz: chrono_tz::Tz = "Asia/Kolkata".parse().unwrap();
        // 09:15 on weekdays, in India (UTC+05:30).
        let got = next_start(&cron("15 9 * * MON-FRI", "Asia/Kolkata"), now).unwrap();
        let want = scan(now, tz, |t| {
            t.hour() == 9 && t.minute() == 15 && !matches!(t.weekday(), Weekday::Sat | Weekday::Sun)
        });
        assert_eq!(got, want);
        assert_eq!(got, Utc.with_ymd_and_hms(2026, 12, 2, 3, 45, 0).unwrap());
        // The third Friday of the month at noon (seed 002's `5#3`).
        let got = next_start(&cron("0 12 * * 5#3", "UTC"), now).unwrap();
        let want = scan(now, chrono_tz::UTC, |t| {
            t.hour() == 12
                && t.minute() == 0
                && t.weekday() == Weekday::Fri
                && (15..=21).contains(&t.day())
        });
        assert_eq!(got, want);
        assert_eq!(got, Utc.with_ymd_and_hms(2026, 12, 18, 12, 0, 0).unwrap());
    }

    #[test]
    fn cron_across_daylight_saving_changes() {
        // New York springs forward on 2027-03-14: 02:00 EST becomes 03:00
        // EDT, so 02:30 does not exist that day; croner takes the first
        // valid minute after the gap, 03:00 EDT = 07:00 UTC.
        let before = Utc.with_ymd_and_hms(2027, 3, 14, 5, 0, 0).unwrap(); // 00:00 EST
        let got = next_start(&cron("30 2 * * *", "America/New_York"), before).unwrap();
        assert_eq!(got, Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap());
        // It falls back on 2027-11-07: 01:30 happens twice (EDT, then EST);
        // the first pass is 05:30 UTC.
        let before = Utc.with_ymd_and_hms(2027, 11, 7, 4, 0, 0).unwrap(); // 00:00 EDT
        let got = next_start(&cron("30 1 * * *", "America/New_York"), before).unwrap();
        assert_eq!(got, Utc.with_ymd_and_hms(2027, 11, 7, 5, 30, 0).unwrap());
        // A normal day after it: 01:30 EST = 06:30 UTC.
        let after = Utc.with_ymd_and_hms(2027, 11, 7, 7, 0, 0).unwrap();
        let got = next_start(&cron("30 1 * * *", "America/New_York"), after).unwrap();
        assert_eq!(got, Utc.with_ymd_and_hms(2027, 11, 8, 6, 30, 0).unwrap());
    }

    #[test]
    fn a_bad_schedule_names_what_is_wrong() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let e = next_start(&cron("0 12 * *", "UTC"), now).unwrap_err();
        assert!(e.contains("4 field(s)"), "{e}");
        let e = next_start(&cron("0 12 * * *", "Mars/Olympus"), now).unwrap_err();
        assert!(e.contains("IANA"), "{e}");
    }

    #[test]
    fn datetimes() {
        assert!(check_datetime("2024-11-25T14:50:00.000Z").is_ok());
        assert!(check_datetime("2024-11-25T14:50:00+02:00").is_ok());
        assert!(check_datetime("2024-11-25 14:50")
            .unwrap_err()
            .contains("RFC 3339"));
    }

    #[test]
    fn cron_expressions() {
        for ok in [
            "* * * * 5#3",
            "* 12 * * *",
            "0 0 L * *",
            "0 9 * * MON-FRI",
            "*/15 * * * *",
        ] {
            assert!(check_cron(ok).is_ok(), "{ok}");
        }
        assert!(check_cron("0 0 12 * * *")
            .unwrap_err()
            .contains("6 field(s)"));
        assert!(check_cron("@daily").unwrap_err().contains("1 field(s)"));
        assert!(check_cron("61 * * * *").unwrap_err().contains("not valid"));
    }

    #[test]
    fn timezones() {
        assert!(check_timezone("America/New_York").is_ok());
        assert!(check_timezone("UTC").is_ok());
        assert!(check_timezone("Mars/Olympus").unwrap_err().contains("IANA"));
    }
}
