//! The floor: agents, calls, legs and queues as the server last told them,
//! and a pure reducer that applies protocol events to it.

use floorwalk_protocol::{
    Agent, Call, CallEndReason, Leg, Mode, Queue, Role, ServerMessage, Snapshot, Timestamp,
};
use std::collections::{HashMap, VecDeque};

/// How many transcript lines each call keeps.
pub const TRANSCRIPT_LINES: usize = 20;

/// One line of live transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptLine {
    pub leg_id: String,
    pub at: Timestamp,
    pub text: String,
    pub is_final: bool,
}

/// Everything the console knows about the contact center.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Floor {
    pub agents: HashMap<String, Agent>,
    pub calls: HashMap<String, Call>,
    pub queues: HashMap<String, Queue>,
    /// Which call each agent is on, from the calls themselves.
    pub call_by_agent: HashMap<String, String>,
    pub transcripts: HashMap<String, VecDeque<TranscriptLine>>,
    /// The last `seq` applied, `None` before the first snapshot.
    pub last_seq: Option<u64>,
}

/// What applying one message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The state changed; the rows of these agents changed with it.
    Changed(Change),
    /// The event's `seq` was already applied: ignored.
    Duplicate,
    /// Events are missing between the last applied `seq` and this one; the
    /// event was not applied and the client must resume from `last_seq`.
    Gap { last_seq: u64, got: u64 },
    /// No snapshot yet, so events cannot be applied.
    NoBase,
    /// Not a state message (hello, reply, notice).
    NotState,
}

/// Which rows an applied message touched, for row highlights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The whole floor was replaced.
    Everything,
    CallStarted {
        agent_id: String,
    },
    CallChanged {
        agent_id: String,
    },
    CallEnded {
        agent_id: String,
        reason: CallEndReason,
    },
    AgentChanged {
        agent_id: String,
    },
    Queues,
    /// The event named a call the floor does not have; nothing changed.
    Nothing,
}

impl Floor {
    /// Applies a server message, enforcing `seq` order: duplicates are
    /// ignored and gaps are reported without applying.
    pub fn apply(&mut self, message: ServerMessage) -> Applied {
        if let ServerMessage::Snapshot(snapshot) = message {
            self.replace(snapshot);
            return Applied::Changed(Change::Everything);
        }
        let Some(seq) = message.seq() else {
            return Applied::NotState;
        };
        let Some(last_seq) = self.last_seq else {
            return Applied::NoBase;
        };
        if seq <= last_seq {
            return Applied::Duplicate;
        }
        if seq != last_seq + 1 {
            return Applied::Gap { last_seq, got: seq };
        }
        self.last_seq = Some(seq);
        Applied::Changed(self.apply_event(message))
    }

    /// Replaces the whole floor with a snapshot.
    pub fn replace(&mut self, snapshot: Snapshot) {
        self.agents = snapshot
            .agents
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        self.queues = snapshot
            .queues
            .into_iter()
            .map(|q| (q.id.clone(), q))
            .collect();
        self.calls.clear();
        self.call_by_agent.clear();
        self.calls.reserve(snapshot.calls.len());
        self.call_by_agent.reserve(snapshot.calls.len());
        for call in snapshot.calls {
            self.put_call(call);
        }
        let calls = &self.calls;
        self.transcripts
            .retain(|call_id, _| calls.contains_key(call_id));
        self.last_seq = Some(snapshot.seq);
    }

    /// Applies an event's content regardless of `seq`. Events carry whole
    /// objects, so applying one twice leaves the same floor as applying it once.
    pub fn apply_event(&mut self, message: ServerMessage) -> Change {
        match message {
            ServerMessage::Agent(ev) => {
                self.agents.insert(ev.agent.id.clone(), ev.agent.clone());
                Change::AgentChanged {
                    agent_id: ev.agent.id.clone(),
                }
            }
            ServerMessage::Queue(ev) => {
                self.queues.insert(ev.queue.id.clone(), ev.queue.clone());
                Change::Queues
            }
            ServerMessage::CallStarted(ev) => {
                let agent_id = ev.call.agent_id.clone();
                self.put_call(ev.call.clone());
                Change::CallStarted { agent_id }
            }
            ServerMessage::CallUpdated(ev) => {
                let agent_id = ev.call.agent_id.clone();
                self.put_call(ev.call.clone());
                Change::CallChanged { agent_id }
            }
            ServerMessage::CallEnded(ev) => match self.remove_call(&ev.call_id) {
                Some(call) => Change::CallEnded {
                    agent_id: call.agent_id,
                    reason: ev.reason,
                },
                None => Change::Nothing,
            },
            ServerMessage::LegJoined(ev) => self.edit_call(&ev.call_id, |call| {
                call.legs.retain(|leg| leg.id != ev.leg.id);
                call.legs.push(ev.leg);
            }),
            ServerMessage::LegChanged(ev) => self.edit_call(&ev.call_id, |call| {
                if let Some(leg) = call.legs.iter_mut().find(|leg| leg.id == ev.leg_id) {
                    leg.mode = Some(ev.mode);
                }
            }),
            ServerMessage::LegLeft(ev) => self.edit_call(&ev.call_id, |call| {
                call.legs.retain(|leg| leg.id != ev.leg_id);
            }),
            ServerMessage::Transcript(ev) => {
                if !self.calls.contains_key(&ev.call_id) {
                    return Change::Nothing;
                }
                let lines = self.transcripts.entry(ev.call_id.clone()).or_default();
                let seen = |line: &TranscriptLine| {
                    line.leg_id == ev.leg_id && line.at == ev.at && line.text == ev.text
                };
                if lines.iter().any(seen) {
                    return Change::Nothing;
                }
                // A final line replaces the interim lines of the same speaker.
                if let Some(last) = lines.back()
                    && last.leg_id == ev.leg_id
                    && !last.is_final
                {
                    lines.pop_back();
                }
                lines.push_back(TranscriptLine {
                    leg_id: ev.leg_id,
                    at: ev.at,
                    text: ev.text,
                    is_final: ev.is_final,
                });
                while lines.len() > TRANSCRIPT_LINES {
                    lines.pop_front();
                }
                match self.calls.get(&ev.call_id) {
                    Some(call) => Change::CallChanged {
                        agent_id: call.agent_id.clone(),
                    },
                    None => Change::Nothing,
                }
            }
            ServerMessage::Snapshot(snapshot) => {
                self.replace(snapshot);
                Change::Everything
            }
            ServerMessage::Hello(_)
            | ServerMessage::Reply(_)
            | ServerMessage::Notice(_)
            | ServerMessage::FloorStatus(_) => Change::Nothing,
        }
    }

    fn put_call(&mut self, call: Call) {
        if let Some(old) = self.calls.get(&call.id)
            && old.agent_id != call.agent_id
        {
            self.call_by_agent.remove(&old.agent_id);
        }
        self.call_by_agent
            .insert(call.agent_id.clone(), call.id.clone());
        self.calls.insert(call.id.clone(), call);
    }

    fn remove_call(&mut self, call_id: &str) -> Option<Call> {
        let call = self.calls.remove(call_id)?;
        if self
            .call_by_agent
            .get(&call.agent_id)
            .is_some_and(|id| id == call_id)
        {
            self.call_by_agent.remove(&call.agent_id);
        }
        self.transcripts.remove(call_id);
        Some(call)
    }

    fn edit_call(&mut self, call_id: &str, edit: impl FnOnce(&mut Call)) -> Change {
        match self.calls.get_mut(call_id) {
            Some(call) => {
                edit(call);
                Change::CallChanged {
                    agent_id: call.agent_id.clone(),
                }
            }
            None => Change::Nothing,
        }
    }

    /// The call an agent is on, if any.
    pub fn call_of_agent(&self, agent_id: &str) -> Option<&Call> {
        self.call_by_agent
            .get(agent_id)
            .and_then(|id| self.calls.get(id))
    }

    /// The supervisor legs owned by `user_id`, with their calls.
    pub fn legs_of<'a>(&'a self, user_id: &'a str) -> impl Iterator<Item = (&'a Call, &'a Leg)> {
        self.calls.values().flat_map(move |call| {
            call.supervisor_legs()
                .filter(move |leg| leg.user_id.as_deref() == Some(user_id))
                .map(move |leg| (call, leg))
        })
    }

    /// The leg `leg_id` if it is still on any call.
    pub fn find_leg(&self, leg_id: &str) -> Option<(&Call, &Leg)> {
        self.calls
            .values()
            .find_map(|call| call.leg(leg_id).map(|leg| (call, leg)))
    }

    /// The floor as a snapshot at its current `seq` (sorted, for stable output).
    pub fn snapshot(&self) -> Snapshot {
        let mut agents: Vec<Agent> = self.agents.values().cloned().collect();
        agents.sort_by(|a, b| a.id.cmp(&b.id));
        let mut calls: Vec<Call> = self.calls.values().cloned().collect();
        calls.sort_by(|a, b| a.id.cmp(&b.id));
        let mut queues: Vec<Queue> = self.queues.values().cloned().collect();
        queues.sort_by(|a, b| a.id.cmp(&b.id));
        Snapshot {
            seq: self.last_seq.unwrap_or(0),
            agents,
            calls,
            queues,
        }
    }
}

/// The supervisors on a call with their modes, in the order they joined.
pub fn supervisors_on(call: &Call) -> impl Iterator<Item = (&Leg, Mode)> {
    call.legs
        .iter()
        .filter(|leg| leg.role == Role::Supervisor)
        .map(|leg| (leg, leg.mode.unwrap_or(Mode::Silent)))
}

#[cfg(test)]
mod tests;
