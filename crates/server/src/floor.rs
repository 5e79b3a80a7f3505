//! The one trait a contact center implements to be served over protocol v1.
//!
//! A floor is the source of truth about calls, agents, queues and audio, and
//! the thing that carries out joins, mode changes, leaves and ended calls.
//! It never sees a console: the core authenticates, scopes, checks and
//! numbers everything, and hands the floor only commands it has already
//! allowed. What a new floor must do:
//!
//! 1. **Describe itself at start.** [`Floor::state`] returns every agent,
//!    call (with its legs) and queue, each queue with the team it serves.
//!    Every call names an agent the floor has described, because a call's
//!    team is its agent's team.
//! 2. **Tell every change, in order, through [`Floor::next`].** Changes are
//!    protocol state events ([`FloorOutput::Event`], `seq` ignored: the core
//!    numbers them per supervisor) and queue figures
//!    ([`FloorOutput::Queue`], with the queue's team). An agent is described
//!    before a call names it; supervisor legs leave (`leg_left`) before their
//!    call ends (`call_ended`). The core drops, and logs, events it cannot
//!    place in a team.
//! 3. **Carry out commands.** [`Floor::command`] starts one; its outcome comes
//!    back through `next` as [`FloorOutput::Done`] with the same [`Ticket`],
//!    *after* the events it caused: a join's `leg_joined` (a supervisor leg
//!    with the supervisor's id as `user_id`, in the asked mode) comes before
//!    its `Done`, or the core answers the console `unavailable`. A command
//!    may take a while (a real PBX answers over the network), and `next`
//!    keeps running meanwhile, but past the core's deadline
//!    (`command_timeout_ms`, 10 s by default) the console is answered
//!    `unavailable`, and a join that happens after that is undone with a
//!    `Leave` (`disconnected`). `Leave` removes that leg and nothing else:
//!    it must never end the call.
//! 4. **Stream the parties' audio.** [`FloorOutput::Audio`] carries one
//!    binary frame of a call, on the track of the leg that speaks; the core
//!    sends it to the supervisors on that call and to nobody else.
//! 5. **Play supervisors' voices to the parties.** [`Floor::talk`] gets a
//!    frame from a whisper (agent only) or barge (agent and customer) leg.
//!    The core has already checked that the frame came on the sender's own
//!    live leg and that the leg is not silent, and sends it to the other
//!    supervisors on the call itself.
//! 6. **Say when the contact center is lost, and when it is back.**
//!    [`FloorOutput::Health`] with [`Health::Down`] (and a reason a
//!    supervisor can read) when the floor cannot reach it, [`Health::Up`]
//!    once it can again; a floor is up when it starts. Meanwhile the core refuses
//!    joins, mode changes and ended calls itself (`unavailable`) and tells
//!    every console (`floor_status`); leaves still come (a console's
//!    `disconnect`, an expired lease): answer them, and carry them out when
//!    the contact center is back.
//!
//! What the core enforces, whatever the floor does: tokens and team scope of
//! every event, snapshot and frame; sessions and resume by `seq`; heartbeats
//! and leases (an expired lease becomes `Leave` with `lease_expired`); rate
//! limits; `not_your_leg`, `forbidden`, `bad_confirmation` and `conflict`
//! (the floor never sees a refused command); while the floor is down, only
//! leaves reach it; the microphone path (only the
//! mode the supervisor asked for, as the floor confirmed it, opens it: a
//! floor that flips a leg to barge on its own opens nothing).

use floorwalk_protocol::{Agent, Call, ErrorCode, LegLeftReason, Mode, Queue, ServerMessage};
use floorwalk_protocol::{Supervisor, Timestamp};
use std::future::Future;
use tokio_tungstenite::tungstenite::Bytes;

/// Names one command until its [`FloorOutput::Done`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub u64);

/// A queue and the team whose supervisors see it.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamQueue {
    pub team: String,
    pub queue: Queue,
}

/// Everything on a floor at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FloorState {
    pub agents: Vec<Agent>,
    pub calls: Vec<Call>,
    pub queues: Vec<TeamQueue>,
}

/// What the core asks of a floor, already checked against the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FloorCommand {
    /// Add a supervisor leg for `supervisor` to the call, in `mode`.
    /// With `announce`, the customer (and only the customer) hears the
    /// monitoring notice as the leg joins: a floor that cannot play it
    /// refuses the join (`unavailable`) rather than join without it.
    Join {
        call_id: String,
        supervisor: Supervisor,
        mode: Mode,
        announce: bool,
    },
    /// Switch the leg's mode without leaving: the new routing is in place
    /// before the old one goes, so listening never gaps.
    SetMode {
        call_id: String,
        leg_id: String,
        mode: Mode,
    },
    /// Remove this supervisor leg, and nothing else; its `leg_left` carries
    /// `reason` (`disconnected`, or `lease_expired` when the core lets go).
    Leave {
        call_id: String,
        leg_id: String,
        reason: LegLeftReason,
    },
    /// End the whole call for everyone (permission and confirmation checked).
    EndCall { call_id: String },
}

/// The leg a join added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub leg_id: String,
    pub track: u32,
}

/// What a finished command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Joined(Joined),
    /// Any other command that was carried out.
    Done,
}

/// Why a floor could not carry out a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct FloorError {
    /// `not_found` (the call or leg is gone), `conflict` or `unavailable`;
    /// the codes the core decides (`forbidden`, `not_your_leg`, …) are the
    /// core's, and a floor that answers with one is reported `unavailable`.
    pub code: ErrorCode,
    pub message: String,
}

impl FloorError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// One thing that happened on the floor.
#[derive(Debug, Clone, PartialEq)]
pub enum FloorOutput {
    /// A state event other than `queue`.
    Event(ServerMessage),
    /// A queue's new figures.
    Queue(TeamQueue),
    /// One binary audio frame of a call's party (the header's track is that
    /// party's leg).
    Audio { call_id: String, frame: Bytes },
    /// A command finished, after the events it caused.
    Done {
        ticket: Ticket,
        outcome: Result<Outcome, FloorError>,
    },
    /// The floor lost its contact center, or has it again.
    Health(Health),
}

/// Whether the floor can reach its contact center.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Up,
    /// Unreachable, with a reason a supervisor can read (e.g. "Asterisk at 127.0.0.1:8088 is not answering").
    Down(String),
}

/// A supervisor's voice for the parties of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Talk {
    pub call_id: String,
    pub leg_id: String,
    /// `whisper` or `barge`, never `silent`.
    pub mode: Mode,
    /// The binary frame as the console sent it (header already checked).
    pub frame: Bytes,
}

/// A contact center served over protocol v1 (see the module docs).
pub trait Floor: Send + 'static {
    /// Names the server in `hello`, e.g. `floorwalk-sim/0.1.0`.
    fn server_name(&self) -> String;
    /// The floor's clock, for `hello`'s `now`.
    fn now(&self) -> Timestamp;
    /// Everything on the floor now; the core reads it once, at start.
    fn state(&self) -> FloorState;
    /// Starts a command; its outcome comes back through [`Floor::next`].
    fn command(&mut self, ticket: Ticket, command: FloorCommand);
    /// A supervisor's voice for the parties the mode reaches.
    fn talk(&mut self, talk: Talk);
    /// The next thing that happened; `None` once the floor has stopped.
    /// Must be cancel-safe: the core drops it whenever a console speaks first.
    fn next(&mut self) -> impl Future<Output = Option<FloorOutput>> + Send;
    /// Lets go of everything (the server is stopping).
    fn close(self) -> impl Future<Output = ()> + Send;
}
