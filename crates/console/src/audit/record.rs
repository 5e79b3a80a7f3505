//! One line of the audit journal.

use floorwalk_protocol::{Mode, Timestamp};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A call this console saw (for coverage figures).
    CallSeen,
    /// A call this console saw end (the whole call).
    CallEnded,
    /// The supervisor asked to join a call.
    JoinRequested,
    /// The server confirmed the leg (server time in `server_at`).
    Joined,
    /// The join was refused or timed out (`reason` says why).
    JoinFailed,
    /// The supervisor's leg switched mode (server time in `server_at`).
    ModeChanged,
    /// The supervisor asked to leave.
    DisconnectRequested,
    /// A disconnect the server refused or never answered.
    DisconnectFailed,
    /// The leg is gone (server time and reason).
    Left,
    /// The supervisor asked to end the call for everyone.
    EndCallRequested,
    /// The server refused or never answered an end call.
    EndCallFailed,
    /// At start, a leg the journal left open (the console stopped without
    /// recording its end, a crash say), checked against the server's first
    /// snapshot: `reason` is [`STILL_LIVE`] (it stays open, its `left` comes
    /// later) or [`UNKNOWN_AFTER_CRASH`] (gone; when and why is unknown).
    Reconciled,
    /// The server confirmed a join of a call this supervisor had left
    /// before (outside the `[compliance]` grace window); `announced` says
    /// whether the customer heard the monitoring notice.
    Rejoin,
}

/// `reconciled`: the server still has the leg.
pub const STILL_LIVE: &str = "still_live";
/// `reconciled`: the server no longer has the leg.
pub const UNKNOWN_AFTER_CRASH: &str = "unknown_after_crash";
/// `joined`: a hop of a rotation, which leaves the previous leg right after
/// (make before break), so the overlap is no back-to-back join.
pub const ROTATION_HOP: &str = "rotation";

impl RecordKind {
    /// The name on the journal line.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::CallSeen => "call_seen",
            RecordKind::CallEnded => "call_ended",
            RecordKind::JoinRequested => "join_requested",
            RecordKind::Joined => "joined",
            RecordKind::JoinFailed => "join_failed",
            RecordKind::ModeChanged => "mode_changed",
            RecordKind::DisconnectRequested => "disconnect_requested",
            RecordKind::DisconnectFailed => "disconnect_failed",
            RecordKind::Left => "left",
            RecordKind::EndCallRequested => "end_call_requested",
            RecordKind::EndCallFailed => "end_call_failed",
            RecordKind::Reconciled => "reconciled",
            RecordKind::Rejoin => "rejoin",
        }
    }
}

/// One journal record. Optional fields are left out of the line when
/// unknown (see the `Serialize` below), and read as `None` when absent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Record {
    /// Local wall-clock time the record was written.
    pub at: Timestamp,
    pub kind: RecordKind,
    /// The supervisor's id, as the server told it in `hello`.
    pub supervisor: String,
    pub call_id: String,
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub leg_id: Option<String>,
    pub mode: Option<Mode>,
    /// The server's time of the event, where the server told it.
    pub server_at: Option<Timestamp>,
    /// From sending the command to its confirmation, in milliseconds.
    pub latency_ms: Option<u64>,
    /// For `left`, `call_ended` and failures: the reason or error, as words.
    pub reason: Option<String>,
    /// For `rejoin`: whether the server played the monitoring notice.
    #[serde(default)]
    pub announced: Option<bool>,
}

impl Serialize for Record {
    /// The fields in declaration order, the unknown optional ones left out.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let optional = [
            self.agent_id.is_some(),
            self.agent_name.is_some(),
            self.leg_id.is_some(),
            self.mode.is_some(),
            self.server_at.is_some(),
            self.latency_ms.is_some(),
            self.reason.is_some(),
            self.announced.is_some(),
        ];
        let known = 4 + optional.into_iter().filter(|&known| known).count();
        let mut line = serializer.serialize_struct("Record", known)?;
        line.serialize_field("at", &self.at)?;
        line.serialize_field("kind", &self.kind)?;
        line.serialize_field("supervisor", &self.supervisor)?;
        line.serialize_field("call_id", &self.call_id)?;
        if_known(&mut line, "agent_id", &self.agent_id)?;
        if_known(&mut line, "agent_name", &self.agent_name)?;
        if_known(&mut line, "leg_id", &self.leg_id)?;
        if_known(&mut line, "mode", &self.mode)?;
        if_known(&mut line, "server_at", &self.server_at)?;
        if_known(&mut line, "latency_ms", &self.latency_ms)?;
        if_known(&mut line, "reason", &self.reason)?;
        if_known(&mut line, "announced", &self.announced)?;
        line.end()
    }
}

/// Writes an optional field when it is known, and skips it otherwise.
fn if_known<S: SerializeStruct, T: Serialize>(
    line: &mut S,
    key: &'static str,
    value: &Option<T>,
) -> Result<(), S::Error> {
    match value {
        Some(value) => line.serialize_field(key, value),
        None => line.skip_field(key),
    }
}

impl Record {
    /// A record with only the required fields set.
    pub fn new(at: Timestamp, kind: RecordKind, supervisor: &str, call_id: &str) -> Self {
        Self {
            at,
            kind,
            supervisor: supervisor.to_owned(),
            call_id: call_id.to_owned(),
            agent_id: None,
            agent_name: None,
            leg_id: None,
            mode: None,
            server_at: None,
            latency_ms: None,
            reason: None,
            announced: None,
        }
    }
}
