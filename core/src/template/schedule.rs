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

#[cfg(test)]
mod tests {
    use super::*;

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
