//! The hook through which the core has every supervisor presence written
//! down: the quality team's records (see `docs/records.md`).
//!
//! The core tells a [`RecordKeeper`] what happens to calls and supervisor
//! legs, in the order it happens; where the records go (SQLite,
//! PostgreSQL) is the keeper's business, plugged in by the binary, so this
//! crate depends on no database. The one promise the core waits for: a
//! join's row is committed before the reply that confirms the join goes
//! out, and while the keeper cannot write, joins are refused.

use floorwalk_protocol::{Call, Mode, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// Why a supervisor leg ended, as the records keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The supervisor left (the Disconnect key), or the core took away a leg
    /// no console owned.
    Disconnected,
    /// The supervisor's consoles stayed away past the lease.
    LeaseExpired,
    /// The call ended, and the leg with it.
    CallEnded,
    /// The call ended because a supervisor ended it (End Call).
    EndedBySupervisor,
    /// The floor removed the leg on its own.
    Removed,
    /// The server stopped with the leg open; written when it starts again.
    ServerRestart,
}

impl EndReason {
    /// The word in the records (and the report's `left` reason).
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Disconnected => "disconnected",
            EndReason::LeaseExpired => "lease_expired",
            EndReason::CallEnded => "call_ended",
            EndReason::EndedBySupervisor => "ended_by_supervisor",
            EndReason::Removed => "removed",
            EndReason::ServerRestart => "server_restart",
        }
    }

    /// The reason a word names, for reading records back.
    pub fn parse(word: &str) -> Option<Self> {
        [
            EndReason::Disconnected,
            EndReason::LeaseExpired,
            EndReason::CallEnded,
            EndReason::EndedBySupervisor,
            EndReason::Removed,
            EndReason::ServerRestart,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == word)
    }
}

/// A call as the records keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub call_id: String,
    pub agent_id: String,
    pub agent_name: Option<String>,
    pub team: String,
    pub queue: Option<String>,
    /// Whether the call was being recorded when it started.
    pub recording: bool,
    pub started_at: Timestamp,
}

impl CallRecord {
    /// A call, with its agent's name and the team it belongs to.
    pub fn of(call: &Call, agent_name: Option<String>, team: String) -> Self {
        Self {
            call_id: call.id.clone(),
            agent_id: call.agent_id.clone(),
            agent_name,
            team,
            queue: call.queue.clone(),
            recording: call.recording,
            started_at: call.started_at,
        }
    }
}

/// A supervisor leg as it joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRecord {
    pub leg_id: String,
    pub supervisor: String,
    /// The call, its agent, team, queue and recording at the join.
    pub call: CallRecord,
    pub mode: Mode,
    pub joined_at: Timestamp,
}

/// One thing for the records, in the order the core saw it (serialisable,
/// so a keeper can hold it on disk until its database is back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RecordEvent {
    /// The server started: the keeper closes the legs a previous run of
    /// this server left open (`server_restart`, at `at`) and the calls it
    /// left open that are not in `calls`, the calls on the floor now.
    Started {
        at: Timestamp,
        calls: Vec<CallRecord>,
    },
    CallStarted(CallRecord),
    CallEnded {
        call_id: String,
        at: Timestamp,
    },
    Joined(JoinRecord),
    ModeChanged {
        leg_id: String,
        mode: Mode,
        at: Timestamp,
    },
    Left {
        leg_id: String,
        at: Timestamp,
        reason: EndReason,
    },
}

/// Answers once the event is committed, or says why it is not (it is then
/// kept on local disk and written when the database is back).
pub type Commit = oneshot::Receiver<Result<(), String>>;

/// Where the core's records go. Events are written in the order given.
pub trait RecordKeeper: Send + Sync + std::fmt::Debug {
    /// Queues `event` for writing; the answer comes when it is committed.
    fn write(&self, event: RecordEvent) -> Commit;
    /// Why the keeper cannot write now (joins are refused meanwhile);
    /// `None` when it can.
    fn unavailable(&self) -> Option<String>;
}
