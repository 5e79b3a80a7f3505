//! Protocol timestamps: RFC 3339 UTC with milliseconds on the wire, integer
//! milliseconds since the Unix epoch in memory (cheap to compare and subtract).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }

    pub fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self` (negative if `earlier` is later).
    pub fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Parses any RFC 3339 timestamp (any offset, any fraction precision).
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        if let Some(ts) = parse_canonical(text.as_bytes()) {
            return Ok(ts);
        }
        let parsed =
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map_err(|_| TimestampError(text.chars().take(40).collect()))?;
        let ms = parsed.unix_timestamp_nanos() / 1_000_000;
        // An offset can move a time past 0000 or 9999 in UTC, where it has
        // no RFC 3339 form to be written back as (in the audit journal, say).
        i64::try_from(ms)
            .ok()
            .filter(|ms| CANONICAL.contains(ms))
            .map(Self)
            .ok_or_else(|| TimestampError(text.chars().take(40).collect()))
    }
}

/// The times with a canonical form: 0000-01-01T00:00:00.000Z to
/// 9999-12-31T23:59:59.999Z.
const CANONICAL: std::ops::RangeInclusive<i64> = -62_167_219_200_000..=253_402_300_799_999;

/// A timestamp that is not RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 timestamp: {0:?}")]
pub struct TimestampError(String);

impl fmt::Display for Timestamp {
    /// Formats as `YYYY-MM-DDTHH:MM:SS.mmmZ`, the canonical wire form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400_000);
        let in_day = self.0.rem_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
        let (min, rest) = (rest / 60_000, rest % 60_000);
        let (s, ms) = (rest / 1000, rest % 1000);
        write!(f, "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{ms:03}Z")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Fast path for the exact canonical form `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn parse_canonical(b: &[u8]) -> Option<Timestamp> {
    if b.len() != 24
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[23] != b'Z'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        b[range].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s, ms) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(Timestamp(
        days * 86_400_000 + h * 3_600_000 + mi * 60_000 + s * 1000 + ms,
    ))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil calendar algorithms (public domain).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_round_trip() {
        let text = "2026-11-21T09:14:03.250Z";
        let ts = Timestamp::parse(text).unwrap();
        assert_eq!(ts.to_string(), text);
        assert_eq!(ts.millis(), 1_795_252_443_250);
    }

    #[test]
    fn offsets_and_precision_are_normalised_to_utc_millis() {
        let a = Timestamp::parse("2026-11-21T10:14:03.250123+01:00").unwrap();
        assert_eq!(a.to_string(), "2026-11-21T09:14:03.250Z");
        let b = Timestamp::parse("2026-11-21T09:14:03Z").unwrap();
        assert_eq!(b.to_string(), "2026-11-21T09:14:03.000Z");
    }

    #[test]
    fn epoch_and_leap_day() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        let leap = Timestamp::parse("2028-02-29T23:59:59.999Z").unwrap();
        assert_eq!(leap.to_string(), "2028-02-29T23:59:59.999Z");
        assert_eq!(leap.plus_millis(1).to_string(), "2028-03-01T00:00:00.000Z");
    }

    #[test]
    fn every_time_read_can_be_written_back() {
        for edge in ["0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z"] {
            assert_eq!(Timestamp::parse(edge).unwrap().to_string(), edge);
        }
        for outside in ["0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59.999-00:01"] {
            assert!(Timestamp::parse(outside).is_err(), "{outside}");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00.000Z",
            "2026-02-30T00:00:00.000Z",
            "2026-11-21T25:00:00.000Z",
            "９９９９-11-21T09:14:03.250Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }
}
