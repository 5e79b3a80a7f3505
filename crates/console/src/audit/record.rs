//! One line of the audit journal.

use floorwalk_protocol::{Mode, Timestamp};
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
}

/// `reconciled`: the server still has the leg.
pub const STILL_LIVE: &str = "still_live";
/// `reconciled`: the server no longer has the leg.
pub const UNKNOWN_AFTER_CRASH: &str = "unknown_after_crash";

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
        }
    }
}

/// One journal record. Optional fields are left out of the line when unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Local wall-clock time the record was written.
    pub at: Timestamp,
    pub kind: RecordKind,
    /// The supervisor's id, as the server told it in `hello`.
    pub supervisor: String,
    pub call_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leg_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// The server's time of the event, where the server told it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_at: Option<Timestamp>,
    /// From sending the command to its confirmation, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// For `left`, `call_ended` and failures: the reason or error, as words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
        }
    }
}
