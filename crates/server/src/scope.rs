//! The floor as the core knows it, and the team everything belongs to.
//!
//! The core keeps its own copy of the floor, built with the console's
//! reducer from the floor's state and events, so it can answer snapshots,
//! check commands and place every event in a team without trusting the
//! floor to say which team an event is for: an agent's team is in the agent,
//! a call's is its agent's, a leg's, transcript's or call end's is its
//! call's. Only queues are placed by the floor ([`TeamQueue`]).

use crate::floor::{FloorState, TeamQueue};
use floorwalk_protocol::{Agent, Call, Leg, QueueEvent, ServerMessage, Snapshot};
use floorwalk_state::Floor as Mirror;
use std::collections::HashMap;

/// Why an event was not passed on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unplaced {
    #[error("{0} names no call the floor described")]
    UnknownCall(String),
    #[error("call {call} names agent {agent}, whom the floor never described")]
    UnknownAgent { call: String, agent: String },
    #[error("queue figures must come with their team, not as a plain event")]
    QueueWithoutTeam,
    #[error("only state events go on a supervisor's stream")]
    NotAnEvent,
}

#[derive(Debug, Default)]
pub struct Scope {
    mirror: Mirror,
    /// The team of each queue, as the floor placed it.
    queue_teams: HashMap<String, String>,
}

impl Scope {
    pub fn new(state: FloorState) -> Self {
        let mut scope = Self::default();
        for agent in state.agents {
            scope.mirror.agents.insert(agent.id.clone(), agent);
        }
        for call in state.calls {
            let started =
                ServerMessage::CallStarted(floorwalk_protocol::CallEvent { seq: 0, call });
            if let Err(e) = scope.apply(started) {
                tracing::error!(%e, "the floor's opening state has a call out of scope");
            }
        }
        for queue in state.queues {
            scope.apply_queue(queue);
        }
        scope
    }

    /// Applies a state event and says which team it belongs to.
    pub fn apply(&mut self, message: ServerMessage) -> Result<String, Unplaced> {
        let team = self.team_of(&message)?;
        self.record(message);
        Ok(team)
    }

    /// Applies an event already placed with [`Scope::team_of`].
    pub fn record(&mut self, message: ServerMessage) {
        self.mirror.apply_event(message);
    }

    /// Applies queue figures; returns the event to publish.
    pub fn apply_queue(&mut self, placed: TeamQueue) -> ServerMessage {
        self.queue_teams
            .insert(placed.queue.id.clone(), placed.team);
        let event = ServerMessage::Queue(QueueEvent {
            seq: 0,
            queue: placed.queue,
        });
        self.mirror.apply_event(event.clone());
        event
    }

    /// The team an event belongs to, from the floor as it stands before it.
    pub fn team_of(&self, message: &ServerMessage) -> Result<String, Unplaced> {
        match message {
            ServerMessage::Agent(event) => Ok(event.agent.team.clone()),
            ServerMessage::CallStarted(event) | ServerMessage::CallUpdated(event) => {
                self.agent_team(&event.call)
            }
            ServerMessage::CallEnded(event) => self.call_team(&event.call_id),
            ServerMessage::LegJoined(event) => self.call_team(&event.call_id),
            ServerMessage::LegChanged(event) => self.call_team(&event.call_id),
            ServerMessage::LegLeft(event) => self.call_team(&event.call_id),
            ServerMessage::Transcript(event) => self.call_team(&event.call_id),
            ServerMessage::Queue(_) => Err(Unplaced::QueueWithoutTeam),
            _ => Err(Unplaced::NotAnEvent),
        }
    }

    fn agent_team(&self, call: &Call) -> Result<String, Unplaced> {
        self.mirror
            .agents
            .get(&call.agent_id)
            .map(|agent| agent.team.clone())
            .ok_or_else(|| Unplaced::UnknownAgent {
                call: call.id.clone(),
                agent: call.agent_id.clone(),
            })
    }

    /// The team of a live call.
    pub fn call_team(&self, call_id: &str) -> Result<String, Unplaced> {
        let call = self
            .mirror
            .calls
            .get(call_id)
            .ok_or_else(|| Unplaced::UnknownCall(call_id.to_string()))?;
        self.agent_team(call)
    }

    pub fn call(&self, call_id: &str) -> Option<&Call> {
        self.mirror.calls.get(call_id)
    }

    /// Every live call, in no particular order.
    pub fn calls(&self) -> impl Iterator<Item = &Call> {
        self.mirror.calls.values()
    }

    pub fn agent(&self, agent_id: &str) -> Option<&Agent> {
        self.mirror.agents.get(agent_id)
    }

    /// A leg still on a call.
    pub fn leg(&self, leg_id: &str) -> Option<(&Call, &Leg)> {
        self.mirror.find_leg(leg_id)
    }

    /// What a supervisor who sees `sees` teams gets, at `seq`. Agents and
    /// calls in a stable order: agents by id (`a-2` before `a-10`), calls by
    /// start.
    pub fn snapshot(&self, sees: impl Fn(&str) -> bool, seq: u64) -> Snapshot {
        let agent_sees = |agent_id: &str| {
            self.mirror
                .agents
                .get(agent_id)
                .is_some_and(|agent| sees(&agent.team))
        };
        let agents = sorted(
            self.mirror.agents.values().filter(|a| sees(&a.team)),
            |a, b| natural(&a.id, &b.id),
        );
        let calls = sorted(
            self.mirror
                .calls
                .values()
                .filter(|c| agent_sees(&c.agent_id)),
            |a, b| {
                a.started_at
                    .cmp(&b.started_at)
                    .then_with(|| natural(&a.id, &b.id))
            },
        );
        let queues = sorted(
            self.mirror
                .queues
                .values()
                .filter(|q| self.queue_teams.get(&q.id).is_some_and(|team| sees(team))),
            |a, b| natural(&a.id, &b.id),
        );
        Snapshot {
            seq,
            agents,
            calls,
            queues,
        }
    }
}

fn sorted<'a, T: Clone + 'a>(
    items: impl Iterator<Item = &'a T>,
    order: impl FnMut(&T, &T) -> std::cmp::Ordering,
) -> Vec<T> {
    let mut items: Vec<T> = items.cloned().collect();
    items.sort_by(order);
    items
}

/// Orders ids with numbers the way people count: shorter first, then by text.
fn natural(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{agent, call, queue};
    use floorwalk_protocol::{CallEvent, LegLeft, LegLeftReason, Timestamp};

    fn scope() -> Scope {
        Scope::new(FloorState {
            agents: vec![agent("a-1", "billing"), agent("a-2", "sales")],
            calls: vec![call("c-1", "a-1", 1), call("c-2", "a-2", 3)],
            queues: vec![queue("billing"), queue("sales")],
        })
    }

    #[test]
    fn every_event_is_placed_by_what_it_is_about() {
        let mut scope = scope();
        let left = ServerMessage::LegLeft(LegLeft {
            seq: 0,
            call_id: "c-2".into(),
            leg_id: "l-3".into(),
            at: Timestamp::from_millis(1),
            reason: LegLeftReason::Removed,
        });
        assert_eq!(scope.apply(left).unwrap(), "sales");
        let moved = ServerMessage::Agent(floorwalk_protocol::AgentEvent {
            seq: 0,
            agent: agent("a-3", "tech"),
        });
        assert_eq!(scope.apply(moved).unwrap(), "tech");
        // A call naming an agent nobody described cannot be placed.
        let stray = ServerMessage::CallStarted(CallEvent {
            seq: 0,
            call: call("c-9", "a-404", 9),
        });
        assert!(matches!(
            scope.apply(stray),
            Err(Unplaced::UnknownAgent { .. })
        ));
        assert!(scope.call("c-9").is_none(), "nothing applied");
    }

    #[test]
    fn snapshots_hold_only_the_teams_asked_for() {
        let scope = scope();
        let billing = scope.snapshot(|team| team == "billing", 7);
        assert_eq!(billing.seq, 7);
        assert_eq!(billing.agents.len(), 1);
        assert_eq!(billing.calls[0].id, "c-1");
        assert_eq!(billing.queues[0].id, "billing");
        assert_eq!(scope.snapshot(|_| true, 0).calls.len(), 2);
        assert!(scope.snapshot(|_| false, 0).agents.is_empty());
    }

    #[test]
    fn ids_sort_the_way_people_count() {
        let mut ids = ["a-10", "a-2", "a-1"];
        ids.sort_by(|a, b| natural(a, b));
        assert_eq!(ids, ["a-1", "a-2", "a-10"]);
    }
}
