//! The order of the agents table: filtered and sorted once, then kept up to
//! date one agent at a time as events arrive, so neither a frame nor an event
//! re-sorts ten thousand rows.

use floorwalk_protocol::{Agent, AgentState, Timestamp};
use floorwalk_state::Floor;
use std::cmp::Ordering;

/// How the agents table is sorted (`s` cycles through them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    Agent,
    Team,
    State,
    LongestCall,
    Queue,
}

impl SortKey {
    pub fn next(self) -> SortKey {
        match self {
            SortKey::Agent => SortKey::Team,
            SortKey::Team => SortKey::State,
            SortKey::State => SortKey::LongestCall,
            SortKey::LongestCall => SortKey::Queue,
            SortKey::Queue => SortKey::Agent,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Agent => "agent",
            SortKey::Team => "team",
            SortKey::State => "state",
            SortKey::LongestCall => "longest call",
            SortKey::Queue => "queue",
        }
    }
}

/// How an agent state reads on screen (and in the filter).
pub fn state_label(state: AgentState) -> &'static str {
    match state {
        AgentState::Available => "available",
        AgentState::OnCall => "on call",
        AgentState::WrapUp => "wrap-up",
        AgentState::Away => "away",
        AgentState::Offline => "offline",
        AgentState::Unknown => "unknown",
    }
}

fn state_rank(state: AgentState) -> u8 {
    match state {
        AgentState::OnCall => 0,
        AgentState::WrapUp => 1,
        AgentState::Available => 2,
        AgentState::Away => 3,
        AgentState::Offline => 4,
        AgentState::Unknown => 5,
    }
}

/// How long an agent has been in a state, in whole minutes (as shown in
/// the wide table, which the redraw check must know).
///
/// As shown: whole minutes, and whole hours from ten hours on. Ages turn
/// over on whole seconds of the server clock, with the call timers, so they
/// never cost a frame of their own.
pub fn age_minutes(now: Timestamp, since: Timestamp) -> i64 {
    let second = Timestamp(now.millis() - now.millis().rem_euclid(1000));
    let minutes = second.millis_since(since).max(0) / 60_000;
    if minutes >= 600 {
        minutes - minutes % 60
    } else {
        minutes
    }
}

/// The display name of the queue a call came through.
pub fn queue_name<'a>(floor: &'a Floor, queue_id: &'a str) -> &'a str {
    floor
        .queues
        .get(queue_id)
        .map_or(queue_id, |queue| queue.name.as_str())
}

/// A row's place in the order: group, text, number, name, then the agent
/// id to make it total. Sorting 10,000 rows is bound by memory, so the key
/// leads with inline prefixes of the texts and most comparisons never chase
/// a pointer. (Comparing prefixes before `number` keeps the order exact:
/// `number` is only set when `text` is empty.)
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RowKey {
    group: u8,
    text_prefix: u128,
    number: i64,
    name_prefix: u128,
    text: String,
    name: String,
    id: String,
}

/// The first 16 bytes of a string as a number, zero-padded: zero sorts
/// below every other byte, so comparing prefixes, then the whole strings,
/// orders exactly as comparing the strings.
fn prefix(text: &str) -> u128 {
    let mut out = [0; 16];
    for (slot, byte) in out.iter_mut().zip(text.bytes()) {
        *slot = byte;
    }
    u128::from_be_bytes(out)
}

fn row_key(floor: &Floor, agent: &Agent, sort: SortKey) -> RowKey {
    let call = floor.call_of_agent(&agent.id);
    let (group, text, number) = match sort {
        SortKey::Agent => (0, String::new(), 0),
        SortKey::Team => (0, agent.team.to_lowercase(), 0),
        SortKey::State => (state_rank(agent.state), String::new(), 0),
        // Earliest start first: the longest call on top, agents without one last.
        SortKey::LongestCall => match call {
            Some(call) => (0, String::new(), call.started_at.millis()),
            None => (1, String::new(), 0),
        },
        SortKey::Queue => match call.and_then(|c| c.queue.as_deref()) {
            Some(queue) => (0, queue_name(floor, queue).to_lowercase(), 0),
            None => (1, String::new(), 0),
        },
    };
    let name = agent.name.to_lowercase();
    RowKey {
        group,
        text_prefix: prefix(&text),
        text,
        number,
        name_prefix: prefix(&name),
        name,
        id: agent.id.clone(),
    }
}

/// Whether an agent matches the filter (already lower-case): by name, team,
/// queue or state.
fn matches(floor: &Floor, agent: &Agent, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let has = |hay: &str| hay.to_lowercase().contains(needle);
    if has(&agent.name) || has(&agent.team) || has(state_label(agent.state)) {
        return true;
    }
    let state_wire = match agent.state {
        AgentState::OnCall => "on_call",
        AgentState::WrapUp => "wrap_up",
        _ => "",
    };
    if !state_wire.is_empty() && state_wire.contains(needle) {
        return true;
    }
    floor
        .call_of_agent(&agent.id)
        .and_then(|call| call.queue.as_deref())
        .is_some_and(|queue| has(queue) || has(queue_name(floor, queue)))
}

/// The filtered, sorted list of agent ids the table shows.
#[derive(Debug, Clone)]
pub struct View {
    order: Vec<String>,
    sort: SortKey,
    needle: String,
}

impl View {
    pub fn new() -> View {
        View {
            order: Vec::new(),
            sort: SortKey::Agent,
            needle: String::new(),
        }
    }

    pub fn ids(&self) -> &[String] {
        &self.order
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn sort(&self) -> SortKey {
        self.sort
    }

    pub fn position(&self, agent_id: &str) -> Option<usize> {
        self.order.iter().position(|id| id == agent_id)
    }

    /// Changes the sort and rebuilds.
    pub fn set_sort(&mut self, floor: &Floor, sort: SortKey) {
        self.sort = sort;
        self.rebuild(floor);
    }

    /// Changes the filter text and rebuilds.
    pub fn set_filter(&mut self, floor: &Floor, text: &str) {
        self.needle = text.trim().to_lowercase();
        self.rebuild(floor);
    }

    pub fn filter_depends_on_queue_names(&self) -> bool {
        !self.needle.is_empty() || self.sort == SortKey::Queue
    }

    /// Recomputes the whole order (after a snapshot, or a new filter or sort).
    pub fn rebuild(&mut self, floor: &Floor) {
        let mut rows: Vec<(RowKey, &str)> = floor
            .agents
            .values()
            .filter(|agent| matches(floor, agent, &self.needle))
            .map(|agent| (row_key(floor, agent, self.sort), agent.id.as_str()))
            .collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.order = rows.into_iter().map(|(_, id)| id.to_owned()).collect();
    }

    /// Moves one agent to its place after its row changed (or removes it
    /// when it no longer exists or no longer matches the filter).
    pub fn touch(&mut self, floor: &Floor, agent_id: &str) {
        if let Some(at) = self.position(agent_id) {
            self.order.remove(at);
        }
        let Some(agent) = floor.agents.get(agent_id) else {
            return;
        };
        if !matches(floor, agent, &self.needle) {
            return;
        }
        let key = row_key(floor, agent, self.sort);
        let at = self.order.partition_point(|id| {
            floor
                .agents
                .get(id)
                .map(|other| row_key(floor, other, self.sort).cmp(&key) == Ordering::Less)
                // An id the floor no longer has cannot be compared; keep it first.
                .unwrap_or(true)
        });
        self.order.insert(at, agent_id.to_owned());
    }
}

impl Default for View {
    fn default() -> Self {
        View::new()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::prefix;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn prefix_then_string_orders_as_the_string(a in ".{0,24}", b in ".{0,24}") {
            let by_key = (prefix(&a), &a).cmp(&(prefix(&b), &b));
            prop_assert_eq!(by_key, a.cmp(&b));
        }
    }
}
