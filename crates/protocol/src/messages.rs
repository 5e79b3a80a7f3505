//! Every JSON message of protocol v1, in both directions.

use super::{Agent, Call, Leg, Mode, Queue, Supervisor, Timestamp};
use serde::{Deserialize, Serialize};

/// A message from the server. State events carry a `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Hello(Hello),
    Snapshot(Snapshot),
    Agent(AgentEvent),
    Queue(QueueEvent),
    CallStarted(CallEvent),
    CallUpdated(CallEvent),
    CallEnded(CallEnded),
    LegJoined(LegJoined),
    LegChanged(LegChanged),
    LegLeft(LegLeft),
    Transcript(Transcript),
    Reply(Reply),
    Notice(Notice),
    /// An addition to the contract: whether the server reaches its contact
    /// center. Not floor state, so no `seq`.
    FloorStatus(FloorStatus),
}

impl ServerMessage {
    /// The `seq` of a state event or snapshot; `None` for hello, reply,
    /// notice and floor status.
    pub fn seq(&self) -> Option<u64> {
        match self {
            ServerMessage::Snapshot(m) => Some(m.seq),
            ServerMessage::Agent(m) => Some(m.seq),
            ServerMessage::Queue(m) => Some(m.seq),
            ServerMessage::CallStarted(m) | ServerMessage::CallUpdated(m) => Some(m.seq),
            ServerMessage::CallEnded(m) => Some(m.seq),
            ServerMessage::LegJoined(m) => Some(m.seq),
            ServerMessage::LegChanged(m) => Some(m.seq),
            ServerMessage::LegLeft(m) => Some(m.seq),
            ServerMessage::Transcript(m) => Some(m.seq),
            ServerMessage::Hello(_)
            | ServerMessage::Reply(_)
            | ServerMessage::Notice(_)
            | ServerMessage::FloorStatus(_) => None,
        }
    }

    /// Whether this is a state event (counted by `seq`, not a snapshot).
    pub fn is_state_event(&self) -> bool {
        self.seq().is_some() && !matches!(self, ServerMessage::Snapshot(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub server: String,
    pub session: String,
    pub now: Timestamp,
    pub heartbeat_ms: u64,
    pub lease_ms: u64,
    pub supervisor: Supervisor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub seq: u64,
    pub agents: Vec<Agent>,
    pub calls: Vec<Call>,
    pub queues: Vec<Queue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentEvent {
    pub seq: u64,
    pub agent: Agent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueEvent {
    pub seq: u64,
    pub queue: Queue,
}

/// `call_started` and `call_updated`: the call, sent whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEvent {
    pub seq: u64,
    pub call: Call,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEndReason {
    CustomerHangup,
    AgentHangup,
    EndedBySupervisor,
    Transferred,
    Failed,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEnded {
    pub seq: u64,
    pub call_id: String,
    pub at: Timestamp,
    pub reason: CallEndReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegJoined {
    pub seq: u64,
    pub call_id: String,
    pub leg: Leg,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegChanged {
    pub seq: u64,
    pub call_id: String,
    pub leg_id: String,
    pub mode: Mode,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegLeftReason {
    Disconnected,
    CallEnded,
    LeaseExpired,
    Removed,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegLeft {
    pub seq: u64,
    pub call_id: String,
    pub leg_id: String,
    pub at: Timestamp,
    pub reason: LegLeftReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    pub seq: u64,
    pub call_id: String,
    pub leg_id: String,
    pub at: Timestamp,
    pub text: String,
    #[serde(rename = "final")]
    pub is_final: bool,
}

/// The one answer to a command, matched by `req`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub req: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ReplyError>,
}

impl Reply {
    pub fn ok(req: impl Into<String>, result: serde_json::Value) -> Self {
        Self {
            req: req.into(),
            ok: true,
            result: Some(result),
            error: None,
        }
    }

    pub fn err(req: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        let error = ReplyError {
            code,
            message: message.into(),
        };
        Self {
            req: req.into(),
            ok: false,
            result: None,
            error: Some(error),
        }
    }

    /// The result on success, the error otherwise (a failed reply without an
    /// error object reads as `unavailable`).
    pub fn outcome(&self) -> Result<&serde_json::Value, ReplyError> {
        if self.ok {
            Ok(self.result.as_ref().unwrap_or(&serde_json::Value::Null))
        } else {
            Err(self.error.clone().unwrap_or(ReplyError {
                code: ErrorCode::Unavailable,
                message: "the server refused without saying why".into(),
            }))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ReplyError {
    pub code: ErrorCode,
    #[serde(default)]
    pub message: String,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::Display,
)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Invalid,
    NotFound,
    Forbidden,
    NotYourLeg,
    BadConfirmation,
    Conflict,
    RateLimited,
    Unavailable,
    /// A code this build does not know; the message still explains it.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Result of a successful `monitor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorResult {
    pub leg_id: String,
    pub track: u32,
    /// An addition: `true` when the join asked `announce` and the customer
    /// is hearing the monitoring notice. A server that does not know
    /// `announce` leaves it out, and the console must not stay on the call.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub announced: bool,
}

/// Result of a successful `disconnect`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisconnectResult {
    #[serde(default)]
    pub already_left: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLevel {
    Info,
    Warn,
    Error,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub level: NoticeLevel,
    pub text: String,
}

/// Whether the server reaches its contact center.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    Up,
    /// Commands that need the contact center are refused (`unavailable`).
    Down,
    #[serde(other)]
    Unknown,
}

/// `floor_status`: sent to every console when the contact center is lost or
/// back, and after a snapshot or replay while it is lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloorStatus {
    pub status: Reachability,
    /// Why it is down, for a supervisor to read; absent when up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Since when it has been so (server clock).
    pub since: Timestamp,
}

/// A message from the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Both fields are `null` on a fresh start, and always sent.
    Subscribe {
        session: Option<String>,
        last_seq: Option<u64>,
    },
    Monitor {
        req: String,
        call_id: String,
        mode: Mode,
        /// An addition to the contract: play the monitoring notice to the
        /// customer as the leg joins (absent: `false`). A server that cannot
        /// play it refuses the join rather than join without it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        announce: bool,
    },
    SetMode {
        req: String,
        leg_id: String,
        mode: Mode,
    },
    Disconnect {
        req: String,
        leg_id: String,
    },
    EndCall {
        req: String,
        call_id: String,
        confirm: String,
    },
}

impl ClientMessage {
    /// The command's `req`; `None` for `subscribe`, which gets no reply.
    pub fn req(&self) -> Option<&str> {
        match self {
            ClientMessage::Subscribe { .. } => None,
            ClientMessage::Monitor { req, .. }
            | ClientMessage::SetMode { req, .. }
            | ClientMessage::Disconnect { req, .. }
            | ClientMessage::EndCall { req, .. } => Some(req),
        }
    }
}
