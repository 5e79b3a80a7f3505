//! The floor as consoles see it, kept from the [`View`]s of Asterisk: each
//! new view is compared with the last and the difference told as protocol
//! events, in the order the core wants (agents before the calls that name
//! them; supervisor legs leave before their call ends). Supervisor legs are
//! the gateway's own and are added and removed here by the driver. Pure.

use crate::model::{PartyCall, View, masked};
use floorwalk_protocol::{
    Agent, AgentEvent, Call, CallEndReason, CallEnded, CallEvent, Leg, LegChanged, LegJoined,
    LegLeft, LegLeftReason, Mode, Queue, Role, ServerMessage, Timestamp,
};
use floorwalk_server::{FloorOutput, FloorState, TeamQueue};
use std::collections::{BTreeMap, HashMap};

/// Supervisor legs' tracks start here, apart from the parties'.
const SUPERVISOR_TRACKS: u32 = 1 << 30;

#[derive(Debug, Default)]
pub struct Board {
    calls: BTreeMap<String, Call>,
    /// The Asterisk side of each published call.
    parties: BTreeMap<String, PartyCall>,
    agents: BTreeMap<String, Agent>,
    queues: BTreeMap<String, TeamQueue>,
    /// A party channel's track, for as long as it is on a call.
    tracks: HashMap<String, u32>,
    next_party_track: u32,
    next_supervisor_track: u32,
}

impl Board {
    pub fn state(&self) -> FloorState {
        FloorState {
            agents: self.agents.values().cloned().collect(),
            calls: self.calls.values().cloned().collect(),
            queues: self.queues.values().cloned().collect(),
        }
    }

    pub fn call(&self, id: &str) -> Option<&Call> {
        self.calls.get(id)
    }

    /// The Asterisk channels of a published call.
    pub fn parties(&self, id: &str) -> Option<&PartyCall> {
        self.parties.get(id)
    }

    /// Tells what changed since the last view. `ended` says how a call that
    /// is gone ended.
    pub fn sync(
        &mut self,
        view: &View,
        now: Timestamp,
        ended: &dyn Fn(&PartyCall) -> CallEndReason,
    ) -> Vec<FloorOutput> {
        let mut out = Vec::new();
        for agent in &view.agents {
            let since = match self.agents.get(&agent.id) {
                Some(old) if old.state == agent.state => old.state_since,
                _ => now,
            };
            let fresh = Agent {
                id: agent.id.clone(),
                name: agent.name.clone(),
                team: agent.team.clone(),
                state: agent.state,
                state_since: since,
                call_id: agent.call_id.clone(),
            };
            if self.agents.get(&agent.id) != Some(&fresh) {
                self.agents.insert(agent.id.clone(), fresh.clone());
                out.push(FloorOutput::Event(ServerMessage::Agent(AgentEvent {
                    seq: 0,
                    agent: fresh,
                })));
            }
        }
        let live: BTreeMap<&str, &PartyCall> =
            view.calls.iter().map(|c| (c.id.as_str(), c)).collect();
        let gone: Vec<String> = self
            .calls
            .keys()
            .filter(|id| !live.contains_key(id.as_str()))
            .cloned()
            .collect();
        for id in gone {
            out.extend(self.end_call(&id, now, ended));
        }
        for party in &view.calls {
            let call = self.publish(party);
            let message = match self.calls.get(&party.id) {
                None => Some(ServerMessage::CallStarted(CallEvent {
                    seq: 0,
                    call: call.clone(),
                })),
                Some(old) if *old != call => Some(ServerMessage::CallUpdated(CallEvent {
                    seq: 0,
                    call: call.clone(),
                })),
                Some(_) => None,
            };
            self.calls.insert(party.id.clone(), call);
            self.parties.insert(party.id.clone(), party.clone());
            out.extend(message.map(FloorOutput::Event));
        }
        for queue in &view.queues {
            let fresh = TeamQueue {
                team: queue.team.clone(),
                queue: Queue {
                    id: queue.id.clone(),
                    name: queue.name.clone(),
                    waiting: queue.waiting,
                    longest_wait_s: queue.longest_wait_s,
                    sla_percent: queue.sla_percent,
                    agents_available: queue.agents_available,
                },
            };
            if self.queues.get(&queue.id) != Some(&fresh) {
                self.queues.insert(queue.id.clone(), fresh.clone());
                out.push(FloorOutput::Queue(fresh));
            }
        }
        out
    }

    /// The call as consoles see it: its parties' legs (tracks kept for as
    /// long as the channel is on the call) and the supervisor legs it has.
    fn publish(&mut self, party: &PartyCall) -> Call {
        let mut legs = vec![
            self.party_leg(
                &party.customer,
                Role::Customer,
                "Customer",
                party.started_at,
            ),
            self.party_leg(&party.agent, Role::Agent, &party.agent_id, party.started_at),
        ];
        if let Some(agent) = self.agents.get(&party.agent_id) {
            legs[1].name.clone_from(&agent.name);
            legs[1].user_id = Some(agent.id.clone());
        }
        if let Some(old) = self.calls.get(&party.id) {
            legs.extend(old.supervisor_legs().cloned());
        }
        Call {
            id: party.id.clone(),
            agent_id: party.agent_id.clone(),
            queue: party.queue.clone(),
            direction: party.direction,
            customer: masked(&party.caller),
            started_at: party.started_at,
            recording: party.recording,
            on_hold: party.on_hold,
            legs,
        }
    }

    fn party_leg(&mut self, channel: &str, role: Role, name: &str, at: Timestamp) -> Leg {
        let track = *self.tracks.entry(channel.to_owned()).or_insert_with(|| {
            self.next_party_track = self.next_party_track.wrapping_add(1) % SUPERVISOR_TRACKS;
            self.next_party_track.max(1)
        });
        Leg {
            id: channel.to_owned(),
            role,
            user_id: None,
            name: name.to_owned(),
            mode: None,
            track,
            joined_at: at,
        }
    }

    fn end_call(
        &mut self,
        id: &str,
        now: Timestamp,
        ended: &dyn Fn(&PartyCall) -> CallEndReason,
    ) -> Vec<FloorOutput> {
        let mut out = Vec::new();
        let Some(call) = self.calls.remove(id) else {
            return out;
        };
        for leg in call.supervisor_legs() {
            out.push(FloorOutput::Event(ServerMessage::LegLeft(LegLeft {
                seq: 0,
                call_id: id.to_owned(),
                leg_id: leg.id.clone(),
                at: now,
                reason: LegLeftReason::CallEnded,
            })));
        }
        let reason = self.parties.remove(id).map_or(CallEndReason::Failed, |p| {
            for channel in [&p.customer, &p.agent] {
                self.tracks.remove(channel);
            }
            ended(&p)
        });
        out.push(FloorOutput::Event(ServerMessage::CallEnded(CallEnded {
            seq: 0,
            call_id: id.to_owned(),
            at: now,
            reason,
        })));
        out
    }

    /// A fresh track for a supervisor leg.
    pub fn supervisor_track(&mut self) -> u32 {
        self.next_supervisor_track = self.next_supervisor_track.wrapping_add(1);
        SUPERVISOR_TRACKS | (self.next_supervisor_track % SUPERVISOR_TRACKS)
    }

    /// Adds a supervisor leg; `None` when the call is gone meanwhile.
    pub fn join(&mut self, call_id: &str, leg: Leg) -> Option<ServerMessage> {
        let call = self.calls.get_mut(call_id)?;
        call.legs.push(leg.clone());
        Some(ServerMessage::LegJoined(LegJoined {
            seq: 0,
            call_id: call_id.to_owned(),
            leg,
        }))
    }

    /// Switches a supervisor leg's mode; `None` if it is not there (any
    /// more). A party's leg has no mode.
    pub fn change(
        &mut self,
        call_id: &str,
        leg_id: &str,
        mode: Mode,
        at: Timestamp,
    ) -> Option<ServerMessage> {
        let leg = self
            .calls
            .get_mut(call_id)?
            .legs
            .iter_mut()
            .find(|l| l.id == leg_id && l.role == Role::Supervisor)?;
        leg.mode = Some(mode);
        Some(ServerMessage::LegChanged(LegChanged {
            seq: 0,
            call_id: call_id.to_owned(),
            leg_id: leg_id.to_owned(),
            mode,
            at,
        }))
    }

    /// Removes a supervisor leg; `None` if it is not there (any more).
    pub fn leave(
        &mut self,
        call_id: &str,
        leg_id: &str,
        reason: LegLeftReason,
        at: Timestamp,
    ) -> Option<ServerMessage> {
        let call = self.calls.get_mut(call_id)?;
        let before = call.legs.len();
        call.legs
            .retain(|l| !(l.id == leg_id && l.role == Role::Supervisor));
        (call.legs.len() < before).then(|| {
            ServerMessage::LegLeft(LegLeft {
                seq: 0,
                call_id: call_id.to_owned(),
                leg_id: leg_id.to_owned(),
                at,
                reason,
            })
        })
    }
}

#[cfg(test)]
mod tests;
