//! The gateway's mirror of Asterisk (channels, bridges, who dialed whom,
//! holds, device states, callers waiting in queues) and the floor it reads
//! from it. Pure: events in, a [`View`] out; nothing here talks to ARI.

use crate::ari::events::{Bridge, CallerId, Channel, Event};
use crate::roster::Roster;
use floorwalk_protocol::{AgentState, CallEndReason, Direction, Timestamp};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// app_queue's own variables, read when the configured ones are unset.
const MEMBERNAME: &str = "MEMBERNAME";
const QUEUENAME: &str = "QUEUENAME";
/// How far back a queue's service level looks.
const SLA_WINDOW_MS: i64 = 60 * 60 * 1000;

/// The channel variables that mark calls (names as in ari.conf's `channelvars`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marks {
    pub role: String,
    pub agent: String,
    pub team: String,
    pub queue: String,
    pub recording: String,
    /// The team of an agent that no variable or roster places.
    pub default_team: String,
    /// A queued caller answered within this many seconds meets the service level.
    pub sla_secs: u64,
}

impl Default for Marks {
    fn default() -> Self {
        Self {
            role: "FW_ROLE".into(),
            agent: "FW_AGENT".into(),
            team: "FW_TEAM".into(),
            queue: "FW_QUEUE".into(),
            recording: "FW_RECORDING".into(),
            default_team: "floor".into(),
            sla_secs: 20,
        }
    }
}

/// One contact-center call as Asterisk shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyCall {
    /// The bridge's id, which is the call's.
    pub id: String,
    pub customer: String,
    pub agent: String,
    pub agent_id: String,
    pub team: String,
    pub queue: Option<String>,
    pub direction: Direction,
    pub caller: CallerId,
    pub started_at: Timestamp,
    pub recording: bool,
    pub on_hold: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    pub team: String,
    pub state: AgentState,
    pub call_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueueView {
    pub id: String,
    pub name: String,
    pub team: String,
    pub waiting: u32,
    pub longest_wait_s: u64,
    pub sla_percent: f64,
    pub agents_available: u32,
}

/// The floor at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    pub calls: Vec<PartyCall>,
    pub agents: Vec<AgentView>,
    pub queues: Vec<QueueView>,
}

/// Everything the gateway knows of Asterisk.
#[derive(Debug, Default)]
pub struct Pbx {
    channels: HashMap<String, Channel>,
    bridges: HashMap<String, Bridge>,
    /// Callee channel → caller channel, from Dial events.
    dialed_by: HashMap<String, String>,
    held: HashSet<String>,
    /// Channels that asked to hang up, in order (for the call's end reason).
    hangups: HashMap<String, u64>,
    hangup_count: u64,
    /// Device (and endpoint) states by name: `PJSIP/1001` → `NOT_INUSE`.
    devices: HashMap<String, String>,
    /// When each channel now in Queue() entered it, and which queue.
    queued: HashMap<String, (String, Timestamp)>,
    /// Channels answered in the Queue() they are still in: app_queue keeps
    /// them there after the call (setting variables), not waiting.
    served: HashSet<String>,
    /// Per queue: when callers were answered and whether within the SLA.
    answered: HashMap<String, VecDeque<(Timestamp, bool)>>,
    /// Per queue: members free to take a call, as last polled.
    free_members: HashMap<String, u32>,
    /// Agents seen on calls: id → (name, team), so they stay on the floor.
    seen_agents: BTreeMap<String, (String, String)>,
    /// Queues seen on calls: id → team.
    seen_queues: BTreeMap<String, String>,
}

impl Pbx {
    /// Replaces everything with what GET /channels, /bridges and
    /// /endpoints said (after a (re)connect). Agents and queues seen
    /// before stay on the floor.
    pub fn load(
        &mut self,
        channels: Vec<Channel>,
        bridges: Vec<Bridge>,
        devices: impl IntoIterator<Item = (String, String)>,
        now: Timestamp,
    ) {
        self.channels = channels.into_iter().map(|c| (c.id.clone(), c)).collect();
        self.bridges = bridges.into_iter().map(|b| (b.id.clone(), b)).collect();
        self.dialed_by.retain(|k, _| self.channels.contains_key(k));
        self.held.retain(|k| self.channels.contains_key(k));
        self.hangups.clear();
        self.served.retain(|k| self.channels.contains_key(k));
        self.devices = devices.into_iter().collect();
        self.queued.clear();
        let entering: Vec<Channel> = self.channels.values().cloned().collect();
        for channel in &entering {
            self.note_queue(channel, now);
        }
    }

    /// Every channel id and bridge id, for sweeping the gateway's own.
    pub fn object_ids(&self) -> (Vec<String>, Vec<String>) {
        (
            self.channels.keys().cloned().collect(),
            self.bridges.keys().cloned().collect(),
        )
    }

    /// The queues whose free members are worth polling.
    pub fn queue_ids(&self, roster: &Roster) -> BTreeSet<String> {
        roster
            .queues
            .iter()
            .map(|q| q.id.clone())
            .chain(self.seen_queues.keys().cloned())
            .collect()
    }

    pub fn set_free_members(&mut self, queue: &str, free: u32) {
        self.free_members.insert(queue.to_owned(), free);
    }

    pub fn apply(&mut self, event: &Event, marks: &Marks, now: Timestamp) {
        match event {
            Event::ChannelDialplan { channel } => {
                // A new dialplan application: a Queue() now is a new wait.
                self.served.remove(&channel.id);
                self.update(channel, now);
            }
            Event::ChannelCreated { channel }
            | Event::ChannelStateChange { channel }
            | Event::ChannelCallerId { channel }
            | Event::ChannelConnectedLine { channel }
            | Event::StasisStart { channel }
            | Event::StasisEnd { channel } => self.update(channel, now),
            Event::ChannelVarset {
                channel: Some(channel),
                ..
            } => self.update(channel, now),
            Event::ChannelVarset { channel: None, .. }
            | Event::PlaybackFinished { .. }
            | Event::Other => {}
            Event::ChannelHangupRequest { channel } => {
                self.update(channel, now);
                self.hangup_count += 1;
                self.hangups
                    .entry(channel.id.clone())
                    .or_insert(self.hangup_count);
            }
            Event::ChannelDestroyed { channel } => {
                let id = &channel.id;
                self.channels.remove(id);
                self.dialed_by.remove(id);
                self.dialed_by.retain(|_, caller| caller != id);
                self.held.remove(id);
                self.hangups.remove(id);
                self.queued.remove(id);
                self.served.remove(id);
            }
            Event::ChannelHold { channel } => {
                self.held.insert(channel.id.clone());
            }
            Event::ChannelUnhold { channel } => {
                self.held.remove(&channel.id);
            }
            Event::ChannelEnteredBridge { bridge, channel } => {
                self.bridges.insert(bridge.id.clone(), bridge.clone());
                if let Some(channel) = channel {
                    self.update(channel, now);
                    self.answer(&channel.id, marks, now);
                }
            }
            Event::ChannelLeftBridge { bridge, channel } => {
                self.update(channel, now);
                self.bridges.insert(bridge.id.clone(), bridge.clone());
            }
            Event::BridgeCreated { bridge } => {
                self.bridges.insert(bridge.id.clone(), bridge.clone());
            }
            Event::BridgeDestroyed { bridge } => {
                self.bridges.remove(&bridge.id);
            }
            Event::BridgeMerged {
                bridge,
                bridge_from,
            } => {
                self.bridges.remove(&bridge_from.id);
                self.bridges.insert(bridge.id.clone(), bridge.clone());
            }
            Event::Dial { caller, peer, .. } => {
                self.update(peer, now);
                if let Some(caller) = caller {
                    self.dialed_by.insert(peer.id.clone(), caller.id.clone());
                }
            }
            Event::EndpointStateChange { endpoint } => {
                self.devices
                    .insert(endpoint.name(), endpoint.state.to_ascii_uppercase());
            }
            Event::DeviceStateChanged { device_state } => {
                self.devices
                    .insert(device_state.name.clone(), device_state.state.clone());
            }
        }
    }

    fn update(&mut self, channel: &Channel, now: Timestamp) {
        if in_queue_app(channel) {
            self.note_queue(channel, now);
        } else {
            // Out of Queue() without being answered: not waiting any more.
            self.queued.remove(&channel.id);
            self.served.remove(&channel.id);
        }
        self.channels.insert(channel.id.clone(), channel.clone());
    }

    /// A queued caller was bridged with a member: answered, within the
    /// service level or not.
    fn answer(&mut self, channel: &str, marks: &Marks, now: Timestamp) {
        let Some((queue, since)) = self.queued.remove(channel) else {
            return;
        };
        self.served.insert(channel.to_owned());
        let within =
            now.millis_since(since) <= i64::try_from(marks.sla_secs * 1000).unwrap_or(i64::MAX);
        let record = self.answered.entry(queue).or_default();
        record.push_back((now, within));
        while record
            .front()
            .is_some_and(|(at, _)| now.millis_since(*at) > SLA_WINDOW_MS)
        {
            record.pop_front();
        }
    }

    fn note_queue(&mut self, channel: &Channel, now: Timestamp) {
        let bridged = self
            .bridges
            .values()
            .any(|b| b.channels.contains(&channel.id));
        if in_queue_app(channel)
            && !bridged
            && !self.queued.contains_key(&channel.id)
            && !self.served.contains(&channel.id)
        {
            let queue = channel
                .dialplan
                .app_data
                .split(',')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            self.queued.insert(channel.id.clone(), (queue, now));
        }
    }

    /// How a call that is no longer on the floor ended.
    pub fn end_reason(&self, call: &PartyCall) -> CallEndReason {
        match (
            self.hangups.get(&call.customer),
            self.hangups.get(&call.agent),
        ) {
            (Some(c), Some(a)) if a < c => CallEndReason::AgentHangup,
            (Some(_), _) => CallEndReason::CustomerHangup,
            (None, Some(_)) => CallEndReason::AgentHangup,
            // Out of the bridge without hanging up: sent elsewhere.
            (None, None) if self.channels.contains_key(&call.customer) => {
                CallEndReason::Transferred
            }
            (None, None) => CallEndReason::CustomerHangup,
        }
    }

    /// The floor now. `ours` tells the gateway's own objects, which are
    /// never calls, legs or agents.
    pub fn view(
        &mut self,
        marks: &Marks,
        roster: &Roster,
        ours: &dyn Fn(&str) -> bool,
        now: Timestamp,
    ) -> View {
        let mut calls: Vec<PartyCall> = self
            .bridges
            .values()
            .filter(|b| !ours(&b.id))
            .filter_map(|b| self.call_in(b, marks, roster, ours))
            .collect();
        calls.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        for call in &calls {
            // A dialed channel's caller id is the caller's: only the roster
            // names agents.
            let name = roster
                .agent(&call.agent_id)
                .map_or_else(|| call.agent_id.clone(), |a| a.name.clone());
            self.seen_agents
                .insert(call.agent_id.clone(), (name, call.team.clone()));
            if let Some(queue) = &call.queue {
                self.seen_queues
                    .entry(queue.clone())
                    .or_insert_with(|| call.team.clone());
            }
        }
        let agents = self.agents(&calls, roster);
        let queues = self.queues(roster, marks, now);
        View {
            calls,
            agents,
            queues,
        }
    }

    fn call_in(
        &self,
        bridge: &Bridge,
        marks: &Marks,
        roster: &Roster,
        ours: &dyn Fn(&str) -> bool,
    ) -> Option<PartyCall> {
        let parties: Vec<&Channel> = bridge
            .channels
            .iter()
            .filter(|id| !ours(id))
            .filter_map(|id| self.channels.get(id))
            .collect();
        let with_role = |role: &str| {
            parties.iter().copied().find(|c| {
                c.var(&marks.role)
                    .is_some_and(|r| r.eq_ignore_ascii_case(role))
            })
        };
        let (customer, agent) = match (with_role("customer"), with_role("agent")) {
            (Some(customer), Some(agent)) => (customer, agent),
            _ => self.by_dial(&parties, roster)?,
        };
        let var = |name: &str| agent.var(name).or_else(|| customer.var(name));
        let endpoint_agent = roster.agent_at(agent.endpoint());
        let agent_id = var(&marks.agent)
            .or_else(|| var(MEMBERNAME))
            .map(str::to_owned)
            .or_else(|| endpoint_agent.map(|a| a.id.clone()))
            .unwrap_or_else(|| agent.endpoint().to_owned());
        let queue = var(&marks.queue)
            .or_else(|| var(QUEUENAME))
            .map(str::to_owned);
        let team = var(&marks.team)
            .map(str::to_owned)
            .or_else(|| roster.agent(&agent_id).map(|a| a.team.clone()))
            .or_else(|| endpoint_agent.map(|a| a.team.clone()))
            .or_else(|| {
                queue
                    .as_deref()
                    .and_then(|q| roster.queue(q))
                    .map(|q| q.team.clone())
            })
            .unwrap_or_else(|| marks.default_team.clone());
        let outbound = self.dialed_by.get(&customer.id) == Some(&agent.id);
        let recording = [customer, agent]
            .iter()
            .any(|c| c.var(&marks.recording).is_some_and(truthy));
        Some(PartyCall {
            id: bridge.id.clone(),
            customer: customer.id.clone(),
            agent: agent.id.clone(),
            agent_id,
            team,
            queue,
            direction: if outbound {
                Direction::Outbound
            } else {
                Direction::Inbound
            },
            caller: if outbound {
                customer.connected.clone()
            } else {
                customer.caller.clone()
            },
            started_at: crate::ari::events::ari_time(&bridge.creationtime)
                .unwrap_or_else(|| customer.created()),
            recording,
            on_hold: self.held.contains(&customer.id) || self.held.contains(&agent.id),
        })
    }

    /// Customer and agent of a two-party bridge: a roster agent's own
    /// endpoint first (an agent who dials a customer out is still the
    /// agent), else who dialed whom, else app_queue's MEMBERNAME on the
    /// agent's side only (queues.conf's `setinterfacevar` sets it on the
    /// caller too).
    fn by_dial<'a>(
        &self,
        parties: &[&'a Channel],
        roster: &Roster,
    ) -> Option<(&'a Channel, &'a Channel)> {
        let [a, b] = parties else {
            return None;
        };
        let rostered = |c: &Channel| roster.agent_at(c.endpoint()).is_some();
        match (rostered(a), rostered(b)) {
            (false, true) => return Some((a, b)),
            (true, false) => return Some((b, a)),
            _ => {}
        }
        let dialed =
            |callee: &Channel, caller: &Channel| self.dialed_by.get(&callee.id) == Some(&caller.id);
        let member = |c: &Channel| c.var(MEMBERNAME).is_some();
        if dialed(b, a) || (!dialed(a, b) && member(b) && !member(a)) {
            Some((a, b))
        } else if dialed(a, b) || (member(a) && !member(b)) {
            Some((b, a))
        } else {
            None
        }
    }

    fn agents(&self, calls: &[PartyCall], roster: &Roster) -> Vec<AgentView> {
        let on_call: HashMap<&str, &str> = calls
            .iter()
            .map(|c| (c.agent_id.as_str(), c.id.as_str()))
            .collect();
        let mut agents: BTreeMap<String, AgentView> = BTreeMap::new();
        for agent in &roster.agents {
            let device = agent
                .endpoints
                .iter()
                .filter_map(|e| self.devices.get(e))
                .map(|s| device_state(s))
                .max_by_key(|s| match s {
                    AgentState::OnCall => 3,
                    AgentState::Available => 2,
                    _ => 1,
                });
            agents.insert(
                agent.id.clone(),
                AgentView {
                    id: agent.id.clone(),
                    name: agent.name.clone(),
                    team: agent.team.clone(),
                    state: device.unwrap_or(AgentState::Offline),
                    call_id: None,
                },
            );
        }
        for (id, (name, team)) in &self.seen_agents {
            agents.entry(id.clone()).or_insert_with(|| AgentView {
                id: id.clone(),
                name: name.clone(),
                team: team.clone(),
                state: AgentState::Available,
                call_id: None,
            });
        }
        for (id, call) in on_call {
            if let Some(agent) = agents.get_mut(id) {
                agent.state = AgentState::OnCall;
                agent.call_id = Some(call.to_owned());
            }
        }
        agents.into_values().collect()
    }

    fn queues(&self, roster: &Roster, marks: &Marks, now: Timestamp) -> Vec<QueueView> {
        let mut teams: BTreeMap<String, (String, String)> = self
            .seen_queues
            .iter()
            .map(|(id, team)| (id.clone(), (id.clone(), team.clone())))
            .collect();
        for queue in &roster.queues {
            let name = queue.name.clone().unwrap_or_else(|| queue.id.clone());
            teams.insert(queue.id.clone(), (name, queue.team.clone()));
        }
        for (queue, _) in self.queued.values() {
            teams
                .entry(queue.clone())
                .or_insert_with(|| (queue.clone(), marks.default_team.clone()));
        }
        teams
            .into_iter()
            .map(|(id, (name, team))| {
                let waits: Vec<i64> = self
                    .queued
                    .values()
                    .filter(|(q, _)| *q == id)
                    .map(|(_, since)| now.millis_since(*since).max(0))
                    .collect();
                // Only answers within the window (answer() prunes at the next one).
                let answered: Vec<bool> = self
                    .answered
                    .get(&id)
                    .into_iter()
                    .flatten()
                    .filter(|(at, _)| now.millis_since(*at) <= SLA_WINDOW_MS)
                    .map(|(_, ok)| *ok)
                    .collect();
                let within = answered.iter().filter(|ok| **ok).count();
                let total = answered.len();
                QueueView {
                    waiting: u32::try_from(waits.len()).unwrap_or(u32::MAX),
                    longest_wait_s: waits.iter().max().map_or(0, |ms| (*ms / 1000) as u64),
                    // No caller answered in the window: nobody was failed.
                    sla_percent: if total == 0 {
                        100.0
                    } else {
                        (within as f64 * 1000.0 / total as f64).round() / 10.0
                    },
                    agents_available: self.free_members.get(&id).copied().unwrap_or(0),
                    id,
                    name,
                    team,
                }
            })
            .collect()
    }
}

fn in_queue_app(channel: &Channel) -> bool {
    channel.dialplan.app_name.eq_ignore_ascii_case("Queue")
}

fn truthy(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "1" | "yes" | "true" | "on"
    )
}

/// An agent's state off a call from their device's (Asterisk's device
/// state names, or an endpoint's `online`/`offline`).
fn device_state(state: &str) -> AgentState {
    match state.to_ascii_uppercase().as_str() {
        "NOT_INUSE" | "ONLINE" => AgentState::Available,
        "INUSE" | "BUSY" | "RINGING" | "RINGINUSE" | "ONHOLD" => AgentState::OnCall,
        _ => AgentState::Offline,
    }
}

/// A customer's number as consoles see it: the last four digits, the rest
/// masked, e.g. `+1 ••• ••• 0134`, as the simulator shows them.
pub fn masked(caller: &CallerId) -> String {
    let digits: Vec<char> = caller.number.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 5 {
        return if caller.number.is_empty() {
            "unknown".to_owned()
        } else {
            "•••".to_owned()
        };
    }
    let tail: String = digits[digits.len() - 4..].iter().collect();
    let plus = caller.number.trim_start().starts_with('+');
    match (plus, digits.first()) {
        (true, Some('1')) if digits.len() == 11 => format!("+1 ••• ••• {tail}"),
        (true, Some(first)) => format!("+{first}• ••• {tail}"),
        _ => format!("••• ••• {tail}"),
    }
}

#[cfg(test)]
mod tests;
