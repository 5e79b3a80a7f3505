//! One supervisor's presence from the journal, for the console's audit
//! pane: each leg with its join, mode changes and end, at the server's
//! times where the server gave them. Records are matched to legs as the
//! report matches them (see `docs/audit.md`).

use super::{ROTATION_HOP, Record, RecordKind, UNKNOWN_AFTER_CRASH};
use floorwalk_protocol::{Mode, Timestamp};

/// How a leg ended, as far as the journal says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegEnd {
    /// Still open in the journal: on the call now, or its end not recorded.
    Open,
    /// My leave, confirmed by the server (`left` with `disconnected`).
    Confirmed,
    /// The call ended under me.
    CallEnded,
    /// The server dropped the leg: the console was gone too long.
    LeaseExpired,
    /// Gone when the console started again after a crash: when is unknown.
    AfterCrash,
    /// Any other reason the server gave (`removed`, ...).
    Other(String),
}

impl LegEnd {
    pub fn words(&self) -> &str {
        match self {
            LegEnd::Open => "open",
            LegEnd::Confirmed => "confirmed",
            LegEnd::CallEnded => "call ended",
            LegEnd::LeaseExpired => "lease expired",
            LegEnd::AfterCrash => "after a crash",
            LegEnd::Other(reason) => reason,
        }
    }
}

/// One leg of the supervisor's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub call_id: String,
    pub leg_id: Option<String>,
    /// The agent's name, else its id, when the journal names one.
    pub agent: Option<String>,
    /// The join's event time (the server's when it gave one).
    pub joined_at: Timestamp,
    /// Whether `joined_at` is the server's time.
    pub server_time: bool,
    /// The mode at the join, then each change, with its event time.
    pub modes: Vec<(Timestamp, Mode)>,
    /// The end's event time, when one is recorded.
    pub left_at: Option<Timestamp>,
    pub end: LegEnd,
    /// Joined by a rotation hop.
    pub rotation: bool,
}

impl Presence {
    /// Time present: to the recorded end, else (still open) to `now`.
    pub fn duration_ms(&self, now: Timestamp) -> u64 {
        let end = self.left_at.unwrap_or(now);
        u64::try_from(end.millis_since(self.joined_at)).unwrap_or(0)
    }

    /// Whether the record is about this leg: its leg id, or its call when
    /// the record names no leg.
    fn owns(&self, record: &Record) -> bool {
        match &record.leg_id {
            Some(id) => self.leg_id.as_ref() == Some(id),
            None => self.call_id == record.call_id,
        }
    }
}

/// The server's time of a record's event when it gave one, else the console's.
fn event_time(record: &Record) -> Timestamp {
    record.server_at.unwrap_or(record.at)
}

/// The legs of `supervisor` in the records (journal order), oldest first.
pub fn presence_history(records: &[Record], supervisor: &str) -> Vec<Presence> {
    let mut legs: Vec<Presence> = Vec::new();
    // Indices in `legs` of the open ones.
    let mut open: Vec<usize> = Vec::new();
    for record in records.iter().filter(|r| r.supervisor == supervisor) {
        let t = event_time(record);
        if record.kind == RecordKind::Joined {
            open.push(legs.len());
            legs.push(Presence {
                call_id: record.call_id.clone(),
                leg_id: record.leg_id.clone(),
                agent: record
                    .agent_name
                    .clone()
                    .or_else(|| record.agent_id.clone()),
                joined_at: t,
                server_time: record.server_at.is_some(),
                modes: record.mode.map(|mode| (t, mode)).into_iter().collect(),
                left_at: None,
                end: LegEnd::Open,
                rotation: record.reason.as_deref() == Some(ROTATION_HOP),
            });
            continue;
        }
        let Some(slot) = open.iter().rposition(|&i| legs[i].owns(record)) else {
            continue;
        };
        let leg = &mut legs[open[slot]];
        match record.kind {
            RecordKind::ModeChanged => leg.modes.extend(record.mode.map(|mode| (t, mode))),
            RecordKind::Left => {
                leg.left_at = Some(t);
                leg.end = match record.reason.as_deref() {
                    Some("disconnected") => LegEnd::Confirmed,
                    Some("call_ended") => LegEnd::CallEnded,
                    Some("lease_expired") => LegEnd::LeaseExpired,
                    other => LegEnd::Other(other.unwrap_or("left").to_owned()),
                };
                open.remove(slot);
            }
            RecordKind::Reconciled if record.reason.as_deref() == Some(UNKNOWN_AFTER_CRASH) => {
                leg.end = LegEnd::AfterCrash;
                open.remove(slot);
            }
            _ => {}
        }
    }
    legs
}

/// Every record about one call, in journal order: its whole history as
/// this console saw it (every supervisor's records in the journal).
pub fn call_history<'a>(records: &'a [Record], call_id: &str) -> Vec<&'a Record> {
    records.iter().filter(|r| r.call_id == call_id).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(&format!("2026-11-21T{text}Z")).unwrap()
    }

    fn record(kind: RecordKind, local: &str, server: Option<&str>, call: &str) -> Record {
        let mut record = Record::new(at(local), kind, "sup-1", call);
        record.server_at = server.map(at);
        record.leg_id = Some(format!("l-{call}"));
        record.agent_id = Some("a-1".into());
        record.agent_name = Some("Alex Kim".into());
        record
    }

    #[test]
    fn legs_with_server_times_modes_and_how_they_ended() {
        let mut joined = record(
            RecordKind::Joined,
            "09:00:05.200",
            Some("09:00:05.100"),
            "c-9",
        );
        joined.mode = Some(Mode::Silent);
        let mut whisper = record(
            RecordKind::ModeChanged,
            "09:01:00",
            Some("09:01:00.050"),
            "c-9",
        );
        whisper.mode = Some(Mode::Whisper);
        let mut left = record(RecordKind::Left, "09:04:10.100", Some("09:04:10"), "c-9");
        left.reason = Some("disconnected".into());
        let mut hop = record(RecordKind::Joined, "09:05:00", Some("09:05:00"), "c-10");
        hop.mode = Some(Mode::Silent);
        hop.reason = Some(ROTATION_HOP.into());
        let mut ended = record(RecordKind::Left, "09:06:00", Some("09:06:00"), "c-10");
        ended.reason = Some("call_ended".into());
        let mut lease = record(RecordKind::Joined, "09:07:00", None, "c-11");
        lease.mode = Some(Mode::Barge);
        let mut expired = record(RecordKind::Left, "09:08:00", Some("09:08:00"), "c-11");
        expired.reason = Some("lease_expired".into());
        let still = record(RecordKind::Joined, "09:09:00", Some("09:09:00"), "c-12");
        let mut other = record(RecordKind::Joined, "09:09:30", Some("09:09:30"), "c-13");
        other.supervisor = "sup-2".into();
        let records = [
            joined, whisper, left, hop, ended, lease, expired, still, other,
        ];

        let legs = presence_history(&records, "sup-1");
        assert_eq!(legs.len(), 4, "{legs:?}");
        let first = &legs[0];
        assert_eq!(first.joined_at, at("09:00:05.100"), "the server's time");
        assert!(first.server_time);
        assert_eq!(
            first.modes,
            [
                (at("09:00:05.100"), Mode::Silent),
                (at("09:01:00.050"), Mode::Whisper)
            ]
        );
        assert_eq!(first.left_at, Some(at("09:04:10")));
        assert_eq!(first.end, LegEnd::Confirmed);
        assert_eq!(first.duration_ms(at("12:00:00")), 244_900);
        assert_eq!(first.agent.as_deref(), Some("Alex Kim"));
        assert!(!first.rotation);
        assert!(legs[1].rotation);
        assert_eq!(legs[1].end, LegEnd::CallEnded);
        assert_eq!(legs[2].end, LegEnd::LeaseExpired);
        assert!(!legs[2].server_time, "no server time: the console's");
        assert_eq!(legs[3].end, LegEnd::Open);
        assert_eq!(legs[3].duration_ms(at("09:10:00")), 60_000, "open: to now");
        assert_eq!(call_history(&records, "c-9").len(), 3);
    }

    #[test]
    fn a_crash_closes_a_leg_without_an_end_time() {
        let joined = record(RecordKind::Joined, "09:00:00", Some("09:00:00"), "c-9");
        let mut gone = record(RecordKind::Reconciled, "10:00:00", None, "c-9");
        gone.reason = Some(UNKNOWN_AFTER_CRASH.into());
        let legs = presence_history(&[joined, gone], "sup-1");
        assert_eq!(legs[0].end, LegEnd::AfterCrash);
        assert_eq!(legs[0].left_at, None);
    }
}
