//! The `[rotation]` table: how `r` moves through the calls, listening
//! silently to each in turn (see `app::rotation`).

use super::de::WholeNumber;
use serde::Deserialize;
use serde::de::Deserializer;
use std::time::Duration;

/// How long the rotation stays on each call unless configured.
pub const DEFAULT_DWELL_SECS: u64 = 45;
/// Calls younger than this are skipped unless configured.
pub const DEFAULT_MIN_CALL_AGE_SECS: u64 = 10;
/// Calls left within this are skipped unless configured (five minutes).
pub const DEFAULT_SKIP_LEFT_WITHIN_SECS: u64 = 300;
/// The longest dwell accepted (an hour).
const MAX_DWELL_SECS: u64 = 3600;
/// The longest age or window accepted (a day).
const MAX_WINDOW_SECS: u64 = 86_400;

/// The `[rotation]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RotationSection {
    /// Seconds on each call before the next hop.
    #[serde(deserialize_with = "dwell_secs")]
    pub dwell_secs: u64,
    /// Skip calls another supervisor is on.
    pub skip_occupied: bool,
    /// Skip calls younger than this many seconds (0: none are skipped).
    #[serde(deserialize_with = "min_call_age_secs")]
    pub min_call_age_secs: u64,
    /// Skip calls I left within this many seconds (0: none are skipped).
    #[serde(deserialize_with = "skip_left_within_secs")]
    pub skip_left_within_secs: u64,
    /// Rotate over these agents (ids or names), in this order, instead of
    /// the table's filter and sort.
    pub agents: Vec<String>,
}

impl Default for RotationSection {
    fn default() -> Self {
        Self {
            dwell_secs: DEFAULT_DWELL_SECS,
            skip_occupied: true,
            min_call_age_secs: DEFAULT_MIN_CALL_AGE_SECS,
            skip_left_within_secs: DEFAULT_SKIP_LEFT_WITHIN_SECS,
            agents: Vec::new(),
        }
    }
}

impl RotationSection {
    pub fn dwell(&self) -> Duration {
        Duration::from_secs(self.dwell_secs)
    }

    pub fn min_call_age(&self) -> Duration {
        Duration::from_secs(self.min_call_age_secs)
    }

    pub fn skip_left_within(&self) -> Duration {
        Duration::from_secs(self.skip_left_within_secs)
    }
}

fn dwell_secs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    WholeNumber {
        key: "dwell_secs",
        unit: "seconds",
        example: DEFAULT_DWELL_SECS,
        max: MAX_DWELL_SECS,
    }
    .deserialize(deserializer)
}

fn min_call_age_secs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    WholeNumber {
        key: "min_call_age_secs",
        unit: "seconds",
        example: DEFAULT_MIN_CALL_AGE_SECS,
        max: MAX_WINDOW_SECS,
    }
    .deserialize_or_off(deserializer)
}

fn skip_left_within_secs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    WholeNumber {
        key: "skip_left_within_secs",
        unit: "seconds",
        example: DEFAULT_SKIP_LEFT_WITHIN_SECS,
        max: MAX_WINDOW_SECS,
    }
    .deserialize_or_off(deserializer)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Doc {
        #[serde(default)]
        rotation: RotationSection,
    }

    fn parse(text: &str) -> Result<RotationSection, String> {
        toml::from_str::<Doc>(text)
            .map(|doc| doc.rotation)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_overrides() {
        let defaults = parse("").unwrap();
        assert_eq!(defaults, RotationSection::default());
        assert_eq!(defaults.dwell(), Duration::from_secs(45));
        assert!(defaults.skip_occupied);
        let doc = parse(
            "[rotation]\ndwell_secs = 3\nskip_occupied = false\nmin_call_age_secs = 0\n\
             skip_left_within_secs = 0\nagents = [\"a-01\", \"Priya Nair\"]\n",
        )
        .unwrap();
        assert_eq!(doc.dwell(), Duration::from_secs(3));
        assert!(!doc.skip_occupied);
        assert_eq!(doc.min_call_age(), Duration::ZERO);
        assert_eq!(doc.skip_left_within(), Duration::ZERO);
        assert_eq!(doc.agents, ["a-01", "Priya Nair"]);
    }

    #[test]
    fn bad_values_are_refused_with_the_range() {
        for bad in ["0", "3601", "-1", "\"45\""] {
            let err = parse(&format!("[rotation]\ndwell_secs = {bad}\n")).unwrap_err();
            assert!(err.contains("dwell_secs must be"), "{bad}: {err}");
        }
        let err = parse("[rotation]\nmin_call_age_secs = -1\n").unwrap_err();
        assert!(
            err.contains("min_call_age_secs must be between 0 (off) and 86400 seconds"),
            "{err}"
        );
        let err = parse("[rotation]\ndwell = 3\n").unwrap_err();
        assert!(err.contains("unknown field `dwell`"), "{err}");
    }
}
