//! Reading the journal back when the console starts: the legs it left open
//! (joined, never left: the console stopped without recording the end), to
//! be checked against the server, and the lines that are not records, to be
//! shown. The same matching rules as the report (see `docs/audit.md`).

use super::read::{Problem, read_dir};
use super::{AuditError, Record, RecordKind, UNKNOWN_AFTER_CRASH, utc_date};
use floorwalk_protocol::{Mode, Timestamp};
use std::path::Path;

/// How many days back the console looks for open legs. A leg left open
/// longer ago stays a "no recorded end" in the report.
pub const RECOVER_DAYS: i64 = 7;

/// A leg the journal says is still open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenLeg {
    pub leg_id: String,
    /// Its last recorded mode.
    pub mode: Option<Mode>,
    /// The call it is on, whose agent, and whose leg it is.
    pub call_id: String,
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub supervisor: String,
}

/// A call the journal saw a supervisor leave, and not end: joining it
/// again after a restart is still a rejoin (the `[compliance]` rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftCall {
    pub supervisor: String,
    pub call_id: String,
    /// When the leave was recorded (the console's clock).
    pub at: Timestamp,
}

/// What the console learns from its journal at start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovery {
    /// In the order they were joined.
    pub open_legs: Vec<OpenLeg>,
    /// The latest leave of each call, per supervisor.
    pub left_calls: Vec<LeftCall>,
    pub problems: Vec<Problem>,
}

impl Recovery {
    /// One line for the supervisor about the lines that are not records, if
    /// any: how many, and where the first is.
    pub fn problem_summary(&self) -> Option<String> {
        let first = self.problems.first()?;
        let file = first.file.file_name().map_or_else(
            || first.file.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        let count = self.problems.len();
        let lines = if count == 1 { "line" } else { "lines" };
        Some(format!(
            "Audit journal: {count} damaged {lines}, first {file}:{} ({}); `floorwalk report` \
             lists them.",
            first.line,
            first.kind.as_str()
        ))
    }
}

/// Reads the last [`RECOVER_DAYS`] days of the journal in `dir` (by UTC
/// day, up to `now`'s). A directory that does not exist yet holds nothing.
pub fn recover(dir: &Path, now: Timestamp) -> Result<Recovery, AuditError> {
    let from =
        utc_date(now).and_then(|today| today.checked_sub(time::Duration::days(RECOVER_DAYS)));
    let loaded = match read_dir(dir, from, None) {
        Ok(loaded) => loaded,
        Err(AuditError::Missing { .. }) => return Ok(Recovery::default()),
        Err(err) => return Err(err),
    };
    Ok(Recovery {
        open_legs: open_legs(&loaded.records),
        left_calls: left_calls(&loaded.records),
        problems: loaded.problems,
    })
}

/// The calls each supervisor left (a `left` record) whose end the journal
/// has not recorded since, with the latest leave; records in journal order.
pub fn left_calls(records: &[Record]) -> Vec<LeftCall> {
    let mut left: Vec<LeftCall> = Vec::new();
    for record in records {
        match record.kind {
            RecordKind::Left => {
                left.retain(|l| {
                    !(l.supervisor == record.supervisor && l.call_id == record.call_id)
                });
                left.push(LeftCall {
                    supervisor: record.supervisor.clone(),
                    call_id: record.call_id.clone(),
                    at: record.at,
                });
            }
            RecordKind::CallEnded => left.retain(|l| l.call_id != record.call_id),
            _ => {}
        }
    }
    left
}

/// The legs joined and not closed, records taken in journal order. A
/// `joined` opens a leg (replacing an open one with the same supervisor and
/// leg id); `mode_changed` and a still-live `reconciled` update its mode;
/// `left` and an unknown-after-crash `reconciled` close it.
pub fn open_legs(records: &[Record]) -> Vec<OpenLeg> {
    let mut open: Vec<OpenLeg> = Vec::new();
    for record in records {
        let position = |open: &[OpenLeg]| {
            open.iter().rposition(|leg| {
                leg.supervisor == record.supervisor
                    && match &record.leg_id {
                        Some(id) => &leg.leg_id == id,
                        None => leg.call_id == record.call_id,
                    }
            })
        };
        match record.kind {
            RecordKind::Joined => {
                let Some(leg_id) = &record.leg_id else {
                    continue;
                };
                open.retain(|leg| !(leg.supervisor == record.supervisor && &leg.leg_id == leg_id));
                open.push(OpenLeg {
                    leg_id: leg_id.clone(),
                    mode: record.mode,
                    call_id: record.call_id.clone(),
                    agent_id: record.agent_id.clone(),
                    agent_name: record.agent_name.clone(),
                    supervisor: record.supervisor.clone(),
                });
            }
            RecordKind::Left => {
                if let Some(at) = position(&open) {
                    open.remove(at);
                }
            }
            RecordKind::Reconciled if record.reason.as_deref() == Some(UNKNOWN_AFTER_CRASH) => {
                if let Some(at) = position(&open) {
                    open.remove(at);
                }
            }
            RecordKind::ModeChanged | RecordKind::Reconciled => {
                if let Some(at) = position(&open)
                    && record.mode.is_some()
                {
                    open[at].mode = record.mode;
                }
            }
            RecordKind::CallSeen
            | RecordKind::CallEnded
            | RecordKind::JoinRequested
            | RecordKind::JoinFailed
            | RecordKind::DisconnectRequested
            | RecordKind::DisconnectFailed
            | RecordKind::EndCallRequested
            | RecordKind::EndCallFailed
            | RecordKind::Rejoin => {}
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Journal, STILL_LIVE};

    const T: Timestamp = Timestamp(1_795_000_000_000);

    fn record(kind: RecordKind, supervisor: &str, leg: Option<&str>, mode: Option<Mode>) -> Record {
        let mut record = Record::new(T, kind, supervisor, "c-9");
        record.leg_id = leg.map(str::to_owned);
        record.mode = mode;
        record
    }

    fn reconciled(leg: &str, reason: &str) -> Record {
        let mut record = record(
            RecordKind::Reconciled,
            "sup-1",
            Some(leg),
            Some(Mode::Barge),
        );
        record.reason = Some(reason.to_owned());
        record
    }

    fn ids(legs: &[OpenLeg]) -> Vec<(&str, &str, Option<Mode>)> {
        legs.iter()
            .map(|l| (l.supervisor.as_str(), l.leg_id.as_str(), l.mode))
            .collect()
    }

    #[test]
    fn the_calls_left_and_not_ended_are_remembered_with_their_last_leave() {
        let at = |record: Record, ms: i64, call: &str| Record {
            at: Timestamp::from_millis(ms),
            call_id: call.to_owned(),
            ..record
        };
        let left = |ms, call| {
            at(
                record(RecordKind::Left, "sup-1", Some("l-1"), None),
                ms,
                call,
            )
        };
        let records = [
            left(1_000, "c-1"),
            left(2_000, "c-2"),
            at(
                record(RecordKind::Left, "sup-2", Some("l-5"), None),
                2_500,
                "c-1",
            ),
            left(3_000, "c-1"),
            at(
                record(RecordKind::CallEnded, "sup-1", None, None),
                4_000,
                "c-2",
            ),
        ];
        let calls: Vec<(String, String, i64)> = left_calls(&records)
            .into_iter()
            .map(|l| {
                (
                    l.supervisor,
                    l.call_id,
                    l.at.millis_since(Timestamp::from_millis(0)),
                )
            })
            .collect();
        assert_eq!(
            calls,
            [
                ("sup-2".into(), "c-1".into(), 2_500),
                ("sup-1".into(), "c-1".into(), 3_000)
            ]
        );
    }

    #[test]
    fn joined_without_left_is_open_with_its_last_mode() {
        let records = [
            record(RecordKind::Joined, "sup-1", Some("l-1"), Some(Mode::Silent)),
            record(RecordKind::Joined, "sup-2", Some("l-2"), Some(Mode::Silent)),
            record(
                RecordKind::ModeChanged,
                "sup-1",
                Some("l-1"),
                Some(Mode::Whisper),
            ),
            record(RecordKind::Joined, "sup-1", Some("l-3"), Some(Mode::Silent)),
            record(RecordKind::Left, "sup-1", Some("l-3"), Some(Mode::Silent)),
            // Another supervisor's leave does not close mine.
            record(RecordKind::Left, "sup-2", Some("l-1"), None),
        ];
        assert_eq!(
            ids(&open_legs(&records)),
            [
                ("sup-1", "l-1", Some(Mode::Whisper)),
                ("sup-2", "l-2", Some(Mode::Silent))
            ]
        );
    }

    #[test]
    fn reconciliation_keeps_a_live_leg_open_and_closes_a_lost_one() {
        let records = [
            record(RecordKind::Joined, "sup-1", Some("l-1"), Some(Mode::Silent)),
            record(RecordKind::Joined, "sup-1", Some("l-2"), Some(Mode::Silent)),
            reconciled("l-1", STILL_LIVE),
            reconciled("l-2", UNKNOWN_AFTER_CRASH),
        ];
        assert_eq!(
            ids(&open_legs(&records)),
            [("sup-1", "l-1", Some(Mode::Barge))]
        );
    }

    #[test]
    fn the_same_leg_joined_again_is_one_open_leg() {
        let records = [
            record(RecordKind::Joined, "sup-1", Some("l-1"), Some(Mode::Silent)),
            record(RecordKind::Joined, "sup-1", Some("l-1"), Some(Mode::Barge)),
        ];
        assert_eq!(
            ids(&open_legs(&records)),
            [("sup-1", "l-1", Some(Mode::Barge))]
        );
    }

    #[test]
    fn recover_reads_the_journal_and_names_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            recover(&dir.path().join("none"), T).unwrap(),
            Recovery::default()
        );
        let mut journal = Journal::open(dir.path()).unwrap();
        let now = Timestamp::now();
        let mut joined = record(RecordKind::Joined, "sup-1", Some("l-1"), Some(Mode::Silent));
        joined.at = now;
        journal.append(&joined).unwrap();
        let file = journal
            .dir()
            .join(crate::audit::file_name(utc_date(now).unwrap()));
        let mut bytes = std::fs::read(&file).unwrap();
        bytes.extend_from_slice(br#"{"at":"2026-11-21T09:00:00.000Z","kind":"le"#);
        std::fs::write(&file, bytes).unwrap();

        let recovery = recover(dir.path(), now).unwrap();
        assert_eq!(
            ids(&recovery.open_legs),
            [("sup-1", "l-1", Some(Mode::Silent))]
        );
        let summary = recovery.problem_summary().unwrap();
        assert!(
            summary.starts_with("Audit journal: 1 damaged line, first journal-"),
            "{summary}"
        );
        assert!(summary.contains(".jsonl:2 (torn line)"), "{summary}");
    }
}
