//! The objects that state events carry: agents, calls, legs and queues.

use super::Timestamp;
use serde::{Deserialize, Serialize};

/// What an agent is doing. Values this build does not know map to `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    Available,
    OnCall,
    WrapUp,
    Away,
    Offline,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub team: String,
    pub state: AgentState,
    pub state_since: Timestamp,
    /// The call the agent is on; `None` unless on a call.
    #[serde(default)]
    pub call_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub id: String,
    pub agent_id: String,
    /// The queue the call came through; outbound calls may have none.
    #[serde(default)]
    pub queue: Option<String>,
    pub direction: Direction,
    /// The customer's number or name as the server chooses to show it.
    pub customer: String,
    pub started_at: Timestamp,
    pub recording: bool,
    pub on_hold: bool,
    #[serde(default)]
    pub legs: Vec<Leg>,
}

impl Call {
    pub fn leg(&self, leg_id: &str) -> Option<&Leg> {
        self.legs.iter().find(|leg| leg.id == leg_id)
    }

    pub fn leg_with_role(&self, role: Role) -> Option<&Leg> {
        self.legs.iter().find(|leg| leg.role == role)
    }

    pub fn supervisor_legs(&self) -> impl Iterator<Item = &Leg> {
        self.legs.iter().filter(|leg| leg.role == Role::Supervisor)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Agent,
    Supervisor,
    Bot,
    #[serde(other)]
    Unknown,
}

/// How a supervisor leg takes part in a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Hears the call; nobody hears the supervisor.
    Silent,
    /// Hears the call; only the agent hears the supervisor.
    Whisper,
    /// Hears the call; the agent and the customer hear the supervisor.
    Barge,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Silent, Mode::Whisper, Mode::Barge];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Silent => "silent",
            Mode::Whisper => "whisper",
            Mode::Barge => "barge",
        }
    }

    /// Whether audio sent on a leg in this mode reaches anyone.
    pub fn transmits(self) -> bool {
        !matches!(self, Mode::Silent)
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub id: String,
    pub role: Role,
    /// The user behind the leg (agent or supervisor id); customers may have none.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub name: String,
    /// Set for supervisor legs, `None` for every other role.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// The track number this leg's audio carries in binary frames.
    pub track: u32,
    pub joined_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    pub id: String,
    pub name: String,
    pub waiting: u32,
    pub longest_wait_s: u64,
    pub sla_percent: f64,
    pub agents_available: u32,
}

/// The supervisor the server authenticated, as told in `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supervisor {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub can_end_calls: bool,
}
