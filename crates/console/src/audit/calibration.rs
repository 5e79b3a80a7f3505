//! Calibration files: what `floorwalk calibrate` measured of one server,
//! kept per server URL under the data directory (`calibration/`), and how
//! `floorwalk report` corrects the journal's times with it.
//!
//! The journal times an event by the server's clock (`server_at`) when the
//! server told it, and by the console's (`at`) otherwise (a leg that left
//! without a `leg_left`, a reconciliation). The report measures presence
//! on the server's clock, so a console time is brought onto it: the
//! console's time plus the server's measured offset, plus the measured
//! drift for the time since the calibration. docs/audit.md gives the formula.

use super::Record;
use floorwalk_protocol::Timestamp;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a calibration measured, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The server URL, as given to `calibrate`.
    pub server: String,
    /// When the calibration ran (the console's clock).
    pub measured_at: Timestamp,
    /// Joins that were measured.
    pub calls: u64,
    /// The server's clock minus the console's, in ms (median).
    pub clock_offset_ms: f64,
    /// How fast the server's clock gains on the console's, in parts per
    /// million (negative: it loses); 0 when the run could not tell a drift
    /// from the scatter of its readings.
    pub drift_ppm: f64,
    /// From the disconnect key to the server's `leg_left`, in ms (median).
    pub release_ms: Option<f64>,
    /// From the disconnect key to the last audio frame received, in ms
    /// (median).
    pub last_audio_ms: Option<f64>,
}

impl Calibration {
    /// The console time `at` on the server's clock.
    pub fn server_time(&self, at: Timestamp) -> Timestamp {
        let since_ms = at.millis_since(self.measured_at) as f64;
        let offset = self.clock_offset_ms + self.drift_ppm * since_ms / 1e6;
        at.plus_millis(offset.round() as i64)
    }

    /// Gives every record the server never timed a server time from its
    /// console time; returns how many it corrected.
    pub fn correct(&self, records: &mut [Record]) -> usize {
        let mut corrected = 0;
        for record in records.iter_mut().filter(|r| r.server_at.is_none()) {
            record.server_at = Some(self.server_time(record.at));
            corrected += 1;
        }
        corrected
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the calibration {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a calibration file", path.display()))
    }

    /// Writes the file (whole, then renamed into place).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        use anyhow::Context as _;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let partial = path.with_extension("json.partial");
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(&partial, text + "\n")
            .with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))
    }
}

/// Where calibrations are kept unless told otherwise: the platform data
/// directory's `floorwalk/calibration`.
pub fn default_calibration_dir() -> Option<PathBuf> {
    crate::config::data_dir().map(|dir| dir.join("calibration"))
}

/// The file for `server` in `dir`: the URL made into a file name (letters,
/// digits, `.` and `-` kept, anything else `_`), e.g.
/// `ws___127.0.0.1_7700_v1_supervisor.json`.
pub fn calibration_file(dir: &Path, server: &str) -> PathBuf {
    let name: String = server
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{name}.json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::RecordKind;

    fn calibration(offset: f64, drift_ppm: f64) -> Calibration {
        Calibration {
            server: "ws://127.0.0.1:7700/v1/supervisor".into(),
            measured_at: Timestamp::from_millis(1_000_000),
            calls: 6,
            clock_offset_ms: offset,
            drift_ppm,
            release_ms: Some(301.0),
            last_audio_ms: Some(290.0),
        }
    }

    #[test]
    fn console_times_move_onto_the_server_clock_with_offset_and_drift() {
        let c = calibration(250.0, 100.0);
        let at = |ms| Timestamp::from_millis(ms);
        assert_eq!(c.server_time(at(1_000_000)), at(1_000_250));
        // An hour later the server gained 100 ppm of it: 360 ms more.
        assert_eq!(c.server_time(at(4_600_000)), at(4_600_610));
        assert_eq!(calibration(-40.0, 0.0).server_time(at(5)), at(-35));
    }

    #[test]
    fn only_records_without_a_server_time_are_corrected() {
        let c = calibration(100.0, 0.0);
        let mut timed = Record::new(
            Timestamp::from_millis(2_000_000),
            RecordKind::Joined,
            "s",
            "c-1",
        );
        timed.server_at = Some(Timestamp::from_millis(1_999_000));
        let untimed = Record::new(
            Timestamp::from_millis(2_000_500),
            RecordKind::Left,
            "s",
            "c-1",
        );
        let mut records = vec![timed.clone(), untimed];
        assert_eq!(c.correct(&mut records), 1);
        assert_eq!(records[0], timed);
        assert_eq!(
            records[1].server_at,
            Some(Timestamp::from_millis(2_000_600))
        );
    }

    #[test]
    fn a_calibration_survives_the_disk_and_each_server_has_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = calibration(12.5, -3.0);
        let path = calibration_file(dir.path(), &c.server);
        assert_eq!(
            path.file_name().unwrap(),
            "ws___127.0.0.1_7700_v1_supervisor.json"
        );
        c.save(&path).unwrap();
        assert_eq!(Calibration::load(&path).unwrap(), c);
        assert_ne!(
            path,
            calibration_file(dir.path(), "wss://other/v1/supervisor")
        );
        std::fs::write(&path, "{}").unwrap();
        let err = Calibration::load(&path).unwrap_err().to_string();
        assert!(err.contains("is not a calibration file"), "{err}");
    }
}
