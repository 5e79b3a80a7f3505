//! UTC days: which day a timestamp falls on, and the journal file of a day.

use floorwalk_protocol::Timestamp;
use time::{Date, macros::format_description};

const DAY_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

/// The UTC calendar day of `at`, or `None` when it is outside the calendar
/// the `time` crate handles (years -9999 to 9999).
pub fn utc_date(at: Timestamp) -> Option<Date> {
    let secs = at.millis().div_euclid(1000);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .map(|t| t.date())
}

/// `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text, DAY_FORMAT).map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))
}

/// The journal file name of a day: `journal-YYYY-MM-DD.jsonl`.
pub fn file_name(date: Date) -> String {
    format!("journal-{}.jsonl", format_date(date))
}

/// The day of a journal file name, or `None` for any other file.
pub fn parse_file_name(name: &str) -> Option<Date> {
    let day = name.strip_prefix("journal-")?.strip_suffix(".jsonl")?;
    parse_date(day).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn days_split_at_utc_midnight() {
        let before = Timestamp::parse("2026-11-21T23:59:59.999Z").unwrap();
        assert_eq!(utc_date(before), Some(date!(2026 - 11 - 21)));
        assert_eq!(utc_date(before.plus_millis(1)), Some(date!(2026 - 11 - 22)));
        assert_eq!(utc_date(Timestamp(-1)), Some(date!(1969 - 12 - 31)));
        assert_eq!(utc_date(Timestamp(i64::MAX)), None);
    }

    #[test]
    fn file_names_round_trip() {
        let day = date!(2026 - 03 - 07);
        assert_eq!(file_name(day), "journal-2026-03-07.jsonl");
        assert_eq!(parse_file_name(&file_name(day)), Some(day));
        for other in [
            "journal-2026-3-7.jsonl",
            "journal-2026-02-30.jsonl",
            "journal-2026-03-07.json",
            "notes-2026-03-07.jsonl",
            "journal-2026-03-07.jsonl.bak",
        ] {
            assert_eq!(parse_file_name(other), None, "{other}");
        }
    }

    #[test]
    fn bad_dates_are_clear_errors() {
        assert_eq!(parse_date("2026-11-21"), Ok(date!(2026 - 11 - 21)));
        let err = parse_date("21/11/2026").unwrap_err();
        assert!(err.contains("YYYY-MM-DD"), "{err}");
    }
}
