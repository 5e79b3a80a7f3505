//! The simulated contact center: pure, deterministic, advanced in fixed ticks.
//!
//! [`World::step`] moves the floor on by [`TICK_MS`]: customers arrive in
//! each team's queue (a Poisson process whose load drifts, so queues build up
//! and drain), wait, give up or get the longest-idle agent; calls go on hold,
//! pause recording for card details, get transcribed, and end when the
//! customer or the agent hangs up; agents wrap up, take breaks, log off, and
//! (mostly in sales and retention) dial out. Simulated supervisors drop in on
//! calls, switch modes and leave.
//!
//! Every change is a protocol event with `seq` 0, tagged with the team it
//! belongs to, and is applied to the world's own [`Floor`] with the same
//! reducer the console uses, so snapshots and events cannot disagree. The
//! streams number the events per supervisor.
//!
//! All randomness comes from one generator seeded with the world's seed, and
//! only the ticks draw from it: console commands never do, and nothing
//! iterates a hash map, so one seed gives the same floor and the same story.
//! Per-tick work is proportional to what happens in that tick (timers live in
//! a heap), not to the number of agents.
//!
//! Every call has a [`Conversation`], a pure function of the seed and the
//! call's number; transcribed calls send its lines as transcript events at
//! the moments they are spoken, so the text matches what the media engine
//! plays. The media engine follows the legs through [`World::take_events`]
//! and asks [`World::call_audio`] for a call's tracks and start.

mod agents;
mod bots;
mod calls;
mod commands;
mod queues;

use super::conversation::{self, Conversation, FRAME_MS, Library};
use super::names;
use floorwalk_protocol::{
    Agent, AgentEvent, AgentState, Call, CallEndReason, CallEnded, CallEvent, Direction, Leg,
    LegChanged, LegJoined, LegLeft, LegLeftReason, Mode, Queue, QueueEvent, Role, ServerMessage,
    Timestamp, Transcript,
};
use floorwalk_server::{FloorState, TeamQueue};
use floorwalk_state::Floor;
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::Arc;

/// The length of one tick of world time.
pub const TICK_MS: i64 = 100;
const TICKS_PER_SEC: i64 = 1000 / TICK_MS;

/// The teams every simulated floor staffs.
pub const DEFAULT_TEAMS: [&str; 5] = ["billing", "retention", "sales", "support", "tech"];

/// Tracks of console supervisor legs start here, apart from the world's own
/// legs, so a console joining or leaving never shifts the world's numbering.
const CONSOLE_TRACK_BASE: u32 = 1 << 30;

/// The share of calls with a transcript bot.
const TRANSCRIBED: f64 = 0.2;
/// A call answered within this many seconds counts towards the SLA.
const SLA_SECS: i64 = 20;
/// How many answered or abandoned calls the SLA figure covers.
const SLA_SAMPLE: usize = 400;
/// Mean of the random part of a call's length, on top of `min_call_secs`.
const EXTRA_CALL_MEAN_SECS: f64 = 100.0;
const EXTRA_CALL_MAX_SECS: f64 = 360.0;
const MEAN_WRAP_UP_SECS: f64 = 22.0;
/// The offered load a team drifts back to, relative to its staffing.
const NORMAL_LOAD: f64 = 0.88;
/// The share of agents on shift (not away or logged off) the arrival rate
/// is sized for.
const STAFFED: f64 = 0.88;

/// What a world is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldConfig {
    pub agents: usize,
    pub seed: u64,
    /// The shortest call, in seconds.
    pub min_call_secs: u64,
    /// How many times faster than a real floor the story runs: every random
    /// duration (the varying part of a call, waits, wrap-ups, breaks, holds,
    /// transcript pacing) is divided by it and customers arrive that much
    /// more often. The clock and `min_call_secs` stay in real time. 1 is a
    /// real floor.
    pub speed: f64,
    /// Team names; queues are named after them.
    pub teams: Vec<String>,
    /// The wall-clock time of tick 0.
    pub start: Timestamp,
}

/// One change on the floor: a state event with `seq` 0, and the index of
/// the team it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldEvent {
    pub team: usize,
    pub message: ServerMessage,
}

/// The default teams, then any other team the accounts name, each once.
pub fn team_list<'a>(extra: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut teams: Vec<String> = DEFAULT_TEAMS.iter().map(|t| (*t).to_string()).collect();
    for team in extra {
        if !teams.iter().any(|t| t == team) {
            teams.push(team.to_string());
        }
    }
    teams
}

struct Team {
    id: String,
    agents: Vec<usize>,
    /// Agents in the order they became available, with the agent's epoch
    /// at that time; entries whose epoch moved on are stale and skipped.
    available: VecDeque<(usize, u32)>,
    available_count: u32,
    waiting: VecDeque<Caller>,
    /// Recent outcomes: answered within the SLA or not.
    outcomes: VecDeque<bool>,
    /// Offered load relative to staffing, drifting around `NORMAL_LOAD`.
    load: f64,
    /// The chance that an idle agent dials out.
    outbound: f64,
}

struct Caller {
    since: i64,
    customer: String,
    gives_up: i64,
}

struct SimAgent {
    id: String,
    name: String,
    team: usize,
    state: AgentState,
    /// Bumped on every state change, to retire stale timers.
    epoch: u32,
    call: Option<u64>,
}

struct SimCall {
    id: String,
    team: usize,
    agent: usize,
    customer_leg: String,
    agent_leg: String,
    /// What the transcript bot hears, if the call has one.
    transcript: Option<TranscriptState>,
}

struct TranscriptState {
    talk: Conversation,
    /// The tick the call started at (before tick 0 for opening calls).
    start: i64,
    /// Whether the interim text of the current line was already sent.
    interim_sent: bool,
}

impl TranscriptState {
    /// The tick frame `frame` of the call falls in (rounded up).
    fn tick_of(&self, frame: i64) -> i64 {
        self.start + (frame * FRAME_MS + TICK_MS - 1).div_euclid(TICK_MS)
    }

    /// When the next transcript event of the current line is due.
    fn due(&self, library: &Library) -> i64 {
        let line = self.talk.line();
        if !self.interim_sent && has_interim(library, line.clip) {
            self.tick_of(line.start + i64::from(line.frames / 2))
        } else {
            self.tick_of(line.end())
        }
    }
}

/// Lines of four words or more show an interim transcript first.
fn has_interim(library: &Library, clip: usize) -> bool {
    library
        .clip(clip)
        .is_some_and(|c| c.text.split_whitespace().count() >= 4)
}

/// What the media engine needs to know about a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallAudio {
    /// The call's number (its conversation's seed).
    pub number: u64,
    /// The 20 ms frame the call started at, counted from the world's start
    /// (negative for calls already going at the start).
    pub start_frame: i64,
    pub customer_track: u32,
    pub agent_track: u32,
}

/// Whether a track belongs to a console's supervisor leg.
pub fn is_console_track(track: u32) -> bool {
    track >= CONSOLE_TRACK_BASE
}

/// A simulated supervisor, not driven by any console.
struct Bot {
    id: String,
    name: String,
    teams: Vec<usize>,
    epoch: u32,
    /// The call and leg the bot is on.
    on: Option<(u64, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Agent { agent: usize, epoch: u32 },
    CallEnd { call: u64 },
    Flag { call: u64, flag: Flag, on: bool },
    Transcript { call: u64 },
    Bot { bot: usize, epoch: u32 },
}

/// A call flag that changes mid-call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Flag {
    Hold,
    /// Paused while the customer reads out card details.
    Recording,
}

/// How long the aftermath of a call end lasts, in ticks.
struct Aftermath {
    wrap_up: i64,
    bot_rest: i64,
}

/// The simulated contact center.
pub struct World {
    rng: SmallRng,
    seed: u64,
    library: Arc<Library>,
    tick: i64,
    start: Timestamp,
    min_call_ticks: i64,
    speed: f64,
    teams: Vec<Team>,
    agents: Vec<SimAgent>,
    calls: BTreeMap<u64, SimCall>,
    bots: Vec<Bot>,
    /// The supervisor legs consoles asked for, and their calls.
    console_legs: BTreeMap<String, u64>,
    timers: BinaryHeap<Reverse<(i64, u64, Timer)>>,
    timer_order: u64,
    next_call: u64,
    next_track: u32,
    next_console_track: u32,
    floor: Floor,
    out: Vec<WorldEvent>,
}

/// A summary: the whole floor would drown any log line.
impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (tick, agents, calls) = (self.tick, self.agents.len(), self.calls.len());
        write!(
            f,
            "World {{ tick: {tick}, agents: {agents}, calls: {calls}, .. }}"
        )
    }
}

impl World {
    /// Staffs the floor and sets it in motion: most agents already on calls
    /// of varied ages, some wrapping up, a few away or logged off. Calls'
    /// conversations draw from `library`.
    pub fn new(config: &WorldConfig, library: Arc<Library>) -> Self {
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let bot_count = (config.agents / 25).clamp(2, 12);
        let mut people = names::people(&mut rng, config.agents + bot_count);
        let bot_names = people.split_off(config.agents);
        let team_count = config.teams.len().max(1);
        let teams = config
            .teams
            .iter()
            .map(|id| Team {
                id: id.clone(),
                agents: Vec::new(),
                available: VecDeque::new(),
                available_count: 0,
                waiting: VecDeque::new(),
                outcomes: (0..SLA_SAMPLE).map(|_| rng.random_bool(0.9)).collect(),
                load: rng.random_range(0.85..1.05),
                outbound: match id.as_str() {
                    "sales" => 0.5,
                    "retention" => 0.3,
                    _ => 0.08,
                },
            })
            .collect();
        let agents = people
            .into_iter()
            .enumerate()
            .map(|(n, name)| SimAgent {
                id: format!("a-{}", n + 1),
                name,
                team: n % team_count,
                state: AgentState::Offline,
                epoch: 0,
                call: None,
            })
            .collect();
        let mut world = Self {
            rng,
            seed: config.seed,
            library,
            tick: 0,
            start: config.start,
            min_call_ticks: i64::try_from(config.min_call_secs)
                .unwrap_or(i64::MAX / 4)
                .saturating_mul(TICKS_PER_SEC),
            speed: config.speed,
            teams,
            agents,
            calls: BTreeMap::new(),
            bots: Vec::new(),
            console_legs: BTreeMap::new(),
            timers: BinaryHeap::new(),
            timer_order: 0,
            next_call: 1,
            next_track: 1,
            next_console_track: CONSOLE_TRACK_BASE,
            floor: Floor::default(),
            out: Vec::new(),
        };
        world.populate(bot_names);
        // The opening state is the snapshot's business, not a story to tell.
        world.out.clear();
        world
    }

    fn populate(&mut self, bot_names: Vec<String>) {
        if self.teams.is_empty() {
            return;
        }
        for (a, agent) in self.agents.iter().enumerate() {
            self.teams[agent.team].agents.push(a);
        }
        for team in 0..self.teams.len() {
            let queue = self.queue_figures(team);
            self.emit(team, ServerMessage::Queue(QueueEvent { seq: 0, queue }));
        }
        for a in 0..self.agents.len() {
            let roll: f64 = self.rng.random();
            if roll < 0.72 {
                let length = self.call_length();
                let elapsed = self.rng.random_range(0..length);
                let team = self.agents[a].team;
                let outbound = self.rng.random_bool(self.teams[team].outbound);
                let customer = names::masked_number(&mut self.rng);
                let (direction, queue) = if outbound {
                    (Direction::Outbound, None)
                } else {
                    (Direction::Inbound, Some(team))
                };
                self.start_call(a, direction, queue, customer, elapsed, length - elapsed);
                continue;
            }
            // Everyone else has been in their state for a while too.
            let (state, since, rest) = if roll < 0.80 {
                (AgentState::WrapUp, (0.0, 20.0), (1.0, 30.0))
            } else if roll < 0.92 {
                (AgentState::Available, (0.0, 60.0), (20.0, 90.0))
            } else if roll < 0.97 {
                (AgentState::Away, (0.0, 300.0), (10.0, 300.0))
            } else {
                (AgentState::Offline, (0.0, 3600.0), (60.0, 900.0))
            };
            let since = self.secs(since.0, since.1);
            let rest = self.secs(rest.0, rest.1);
            self.set_agent_since(a, state, None, self.ago(since));
            self.agent_timer(a, rest);
        }
        for team in 0..self.teams.len() {
            for _ in 0..self.rng.random_range(0..3) {
                let since = -self.secs(0.0, 40.0);
                self.add_caller(team, since);
            }
        }
        let team_count = self.teams.len();
        for (n, name) in bot_names.into_iter().enumerate() {
            let first = self.rng.random_range(0..team_count);
            let mut teams = vec![first];
            if team_count > 1 && self.rng.random_bool(0.5) {
                teams.push((first + 1) % team_count);
            }
            self.bots.push(Bot {
                id: format!("sim-sup-{}", n + 1),
                name,
                teams,
                epoch: 0,
                on: None,
            });
            let first_visit = self.secs(2.0, 40.0);
            self.schedule(first_visit, Timer::Bot { bot: n, epoch: 0 });
        }
        for team in 0..self.teams.len() {
            self.publish_queue(team);
        }
    }

    /// The world's current time.
    pub fn now(&self) -> Timestamp {
        self.start.plus_millis(self.tick * TICK_MS)
    }

    /// The events produced since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<WorldEvent> {
        std::mem::take(&mut self.out)
    }

    /// Everything on the floor now: agents and calls in the order they were
    /// made, each queue with its team.
    pub fn state(&self) -> FloorState {
        FloorState {
            agents: self
                .agents
                .iter()
                .filter_map(|a| self.floor.agents.get(&a.id).cloned())
                .collect(),
            calls: self
                .calls
                .values()
                .filter_map(|c| self.floor.calls.get(&c.id).cloned())
                .collect(),
            queues: (0..self.teams.len())
                .filter_map(|team| self.team_queue(team))
                .collect(),
        }
    }

    /// A team's name, from its index in [`WorldEvent::team`].
    pub fn team_id(&self, team: usize) -> &str {
        self.teams.get(team).map_or("", |t| t.id.as_str())
    }

    /// A team's queue as it stands, with the team's name.
    pub fn team_queue(&self, team: usize) -> Option<TeamQueue> {
        let id = &self.teams.get(team)?.id;
        Some(TeamQueue {
            team: id.clone(),
            queue: self.floor.queues.get(id)?.clone(),
        })
    }

    /// Advances the world by one tick.
    pub fn step(&mut self) {
        self.tick += 1;
        if self.tick % (10 * TICKS_PER_SEC) == 0 {
            for team in &mut self.teams {
                // Drifts back towards a normal day, with now and then a surge
                // (an outage, a mailing) that queues calls up for a while.
                let surge = if self.rng.random_bool(1.0 / 120.0) {
                    0.35
                } else {
                    0.0
                };
                let drift = 0.1 * (NORMAL_LOAD - team.load) + self.rng.random_range(-0.06..0.06);
                team.load = (team.load + drift + surge).clamp(0.75, 1.4);
            }
        }
        while let Some(Reverse((due, _, timer))) = self.timers.peek().copied() {
            if due > self.tick {
                break;
            }
            self.timers.pop();
            self.fire(timer);
        }
        for team in 0..self.teams.len() {
            self.arrivals(team);
            self.abandonments(team);
            self.dispatch(team);
        }
        if self.tick % TICKS_PER_SEC == 0 {
            for team in 0..self.teams.len() {
                self.publish_queue(team);
            }
        }
    }

    fn fire(&mut self, timer: Timer) {
        match timer {
            Timer::Agent { agent, epoch } => {
                if self.agents[agent].epoch == epoch {
                    self.agent_due(agent);
                }
            }
            Timer::CallEnd { call } => {
                if self.calls.contains_key(&call) {
                    let reason = if self.rng.random_bool(0.75) {
                        CallEndReason::CustomerHangup
                    } else {
                        CallEndReason::AgentHangup
                    };
                    let aftermath = Aftermath {
                        wrap_up: self.secs(5.0, 40.0),
                        bot_rest: self.secs(30.0, 180.0),
                    };
                    self.finish_call(call, reason, &aftermath);
                }
            }
            Timer::Flag { call, flag, on } => self.set_flag(call, flag, on),
            Timer::Transcript { call } => self.transcribe(call),
            Timer::Bot { bot, epoch } => {
                if self.bots[bot].epoch == epoch {
                    self.bot_due(bot);
                }
            }
        }
    }

    fn emit(&mut self, team: usize, message: ServerMessage) {
        self.floor.apply_event(message.clone());
        self.out.push(WorldEvent { team, message });
    }

    fn schedule(&mut self, after: i64, timer: Timer) {
        self.timer_order += 1;
        self.timers
            .push(Reverse((self.tick + after.max(1), self.timer_order, timer)));
    }

    /// The time `ticks` ago.
    fn ago(&self, ticks: i64) -> Timestamp {
        self.start.plus_millis((self.tick - ticks) * TICK_MS)
    }

    /// A random duration in ticks.
    fn secs(&mut self, low: f64, high: f64) -> i64 {
        let secs = self.rng.random_range(low..high);
        self.story_ticks(secs)
    }

    /// Ticks of real time for `secs` of story time (see [`WorldConfig::speed`]).
    fn story_ticks(&self, secs: f64) -> i64 {
        (secs * TICKS_PER_SEC as f64 / self.speed) as i64
    }

    /// A live call's number, start and party tracks.
    pub fn call_audio(&self, call_id: &str) -> Option<CallAudio> {
        let number = self.find_call(call_id)?;
        let call = self.floor.calls.get(call_id)?;
        let track = |role| call.leg_with_role(role).map(|leg| leg.track);
        Some(CallAudio {
            number,
            start_frame: call
                .started_at
                .millis_since(self.start)
                .div_euclid(FRAME_MS),
            customer_track: track(Role::Customer)?,
            agent_track: track(Role::Agent)?,
        })
    }

    fn find_call(&self, id: &str) -> Option<u64> {
        let n = id.strip_prefix("c-")?.parse().ok()?;
        self.calls.get(&n).filter(|c| c.id == id).map(|_| n)
    }
}

fn record_outcome(outcomes: &mut VecDeque<bool>, ok: bool) {
    outcomes.push_back(ok);
    while outcomes.len() > SLA_SAMPLE {
        outcomes.pop_front();
    }
}

fn call_id(n: u64) -> String {
    format!("c-{n}")
}

fn leg_id(track: u32) -> String {
    format!("l-{track}")
}

/// A Poisson draw (Knuth's method, in chunks so large means stay exact).
fn poisson(rng: &mut impl Rng, mut mean: f64) -> u32 {
    let mut total = 0;
    while mean > 0.0 {
        let chunk = mean.min(20.0);
        mean -= chunk;
        let limit = (-chunk).exp();
        let mut p: f64 = rng.random();
        while p > limit {
            total += 1;
            p *= rng.random::<f64>();
        }
    }
    total
}

#[cfg(test)]
mod tests;
