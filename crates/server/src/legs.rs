//! The supervisor legs consoles own, and the checks every command passes
//! before a floor sees it (safety invariants 1 and 2 of the contract).
//!
//! A leg becomes a console's when the floor confirms the join the core asked
//! for, and stops being one when its `leg_left` or its call's `call_ended`
//! arrives. The mode that gates the microphone is the one the supervisor
//! asked for and the floor confirmed, never a mode the floor reports on its
//! own. Pure: no I/O, no clock.

use crate::floor::FloorCommand;
use crate::scope::Scope;
use floorwalk_protocol::{
    ClientMessage, ErrorCode, LegLeftReason, Mode, ServerMessage, Supervisor,
};
use std::collections::{HashMap, HashSet, VecDeque};

/// Who is asking: a supervisor (by desk number) and what they may do.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub desk: usize,
    pub supervisor: &'a Supervisor,
}

impl Caller<'_> {
    pub fn sees(&self, team: &str) -> bool {
        self.supervisor.teams.iter().any(|t| t == team)
    }
}

/// A console's supervisor leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedLeg {
    pub desk: usize,
    pub call_id: String,
    pub track: u32,
    /// As asked and confirmed; what gates the supervisor's voice.
    pub mode: Mode,
    /// A leave was asked: the voice is cut from that moment.
    pub leaving: bool,
}

impl OwnedLeg {
    /// Whether audio the supervisor sends on this leg may reach anyone.
    pub fn transmits(&self) -> bool {
        !self.leaving && self.mode.transmits()
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

fn refuse<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        code,
        message: message.into(),
    })
}

/// What becomes of an allowed command.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Answered by the core alone (nothing for the floor to do).
    Answer(serde_json::Value),
    /// For the floor; [`Asked`] says how to finish it.
    Ask(FloorCommand, Asked),
}

/// A command the floor is carrying out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    Join {
        desk: usize,
        call_id: String,
        mode: Mode,
        /// The customer is to hear the monitoring notice.
        announce: bool,
    },
    SetMode {
        leg_id: String,
        mode: Mode,
    },
    Leave {
        leg_id: String,
    },
    EndCall {
        call_id: String,
    },
}

/// Console legs that already left, and whose they were, so a late
/// `disconnect` can answer `already_left`. Bounded: the oldest are forgotten.
#[derive(Debug, Default)]
struct Departed {
    owners: HashMap<String, usize>,
    order: VecDeque<String>,
}

const DEPARTED_KEPT: usize = 10_000;

impl Departed {
    fn insert(&mut self, leg_id: String, desk: usize) {
        self.order.push_back(leg_id.clone());
        self.owners.insert(leg_id, desk);
        while self.order.len() > DEPARTED_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.owners.remove(&old);
            }
        }
    }
}

/// The console legs, by id, by track and by call.
#[derive(Debug, Default)]
pub struct Legs {
    live: HashMap<String, OwnedLeg>,
    by_track: HashMap<u32, String>,
    by_call: HashMap<String, Vec<String>>,
    /// Joins the floor is still carrying out, per desk and call.
    joining: HashSet<(usize, String)>,
    departed: Departed,
}

impl Legs {
    /// Checks a command from `caller` against the contract and the floor as
    /// the core knows it. Subscribes are not commands: `None`.
    pub fn gate(
        &mut self,
        caller: Caller<'_>,
        command: ClientMessage,
        scope: &Scope,
    ) -> Option<(String, Result<Decision, Refusal>)> {
        Some(match command {
            ClientMessage::Subscribe { .. } => return None,
            ClientMessage::Monitor {
                req,
                call_id,
                mode,
                announce,
            } => (req, self.monitor(caller, scope, (call_id, mode, announce))),
            ClientMessage::SetMode { req, leg_id, mode } => {
                (req, self.set_mode(caller, leg_id, mode, scope))
            }
            ClientMessage::Disconnect { req, leg_id } => {
                (req, self.disconnect(caller, leg_id, scope))
            }
            ClientMessage::EndCall {
                req,
                call_id,
                confirm,
            } => (req, end_call(caller, call_id, &confirm, scope)),
        })
    }

    fn monitor(
        &mut self,
        caller: Caller<'_>,
        scope: &Scope,
        (call_id, mode, announce): (String, Mode, bool),
    ) -> Result<Decision, Refusal> {
        visible_call(caller, &call_id, scope)?;
        if let Some(leg) = self.leg_on(caller.desk, &call_id) {
            return refuse(
                ErrorCode::Conflict,
                format!("you are already on {call_id} as {leg}"),
            );
        }
        if !self.joining.insert((caller.desk, call_id.clone())) {
            return refuse(
                ErrorCode::Conflict,
                format!("you are already joining {call_id}"),
            );
        }
        let command = FloorCommand::Join {
            call_id: call_id.clone(),
            supervisor: caller.supervisor.clone(),
            mode,
            announce,
        };
        let asked = Asked::Join {
            desk: caller.desk,
            call_id,
            mode,
            announce,
        };
        Ok(Decision::Ask(command, asked))
    }

    fn set_mode(
        &mut self,
        caller: Caller<'_>,
        leg_id: String,
        mode: Mode,
        scope: &Scope,
    ) -> Result<Decision, Refusal> {
        let Some(leg) = self.own(caller, &leg_id, scope)? else {
            return refuse(
                ErrorCode::NotFound,
                format!("leg {leg_id} already left its call"),
            );
        };
        if leg.mode == mode {
            return Ok(Decision::Answer(mode_result(&leg_id, mode)));
        }
        let command = FloorCommand::SetMode {
            call_id: leg.call_id.clone(),
            leg_id: leg_id.clone(),
            mode,
        };
        Ok(Decision::Ask(command, Asked::SetMode { leg_id, mode }))
    }

    fn disconnect(
        &mut self,
        caller: Caller<'_>,
        leg_id: String,
        scope: &Scope,
    ) -> Result<Decision, Refusal> {
        let Some(leg) = self.own(caller, &leg_id, scope)? else {
            return Ok(Decision::Answer(left_result(true)));
        };
        let command = FloorCommand::Leave {
            call_id: leg.call_id.clone(),
            leg_id: leg_id.clone(),
            reason: LegLeftReason::Disconnected,
        };
        self.start_leaving(&leg_id);
        Ok(Decision::Ask(command, Asked::Leave { leg_id }))
    }

    /// `caller`'s live leg `leg_id`; `None` if it was theirs and has left;
    /// `not_your_leg` for any other leg there is or was, `not_found` else.
    fn own(
        &self,
        caller: Caller<'_>,
        leg_id: &str,
        scope: &Scope,
    ) -> Result<Option<&OwnedLeg>, Refusal> {
        match self.live.get(leg_id) {
            Some(mine) if mine.desk == caller.desk => return Ok(Some(mine)),
            Some(_) => {}
            None => match self.departed.owners.get(leg_id) {
                Some(&desk) if desk == caller.desk => return Ok(None),
                Some(_) => {}
                None if scope.leg(leg_id).is_some() => {}
                None => return refuse(ErrorCode::NotFound, format!("no leg {leg_id}")),
            },
        }
        refuse(
            ErrorCode::NotYourLeg,
            format!("leg {leg_id} is not yours: only your own supervisor legs can be changed"),
        )
    }

    /// Cuts the voice of a leg whose leave was asked.
    pub fn start_leaving(&mut self, leg_id: &str) {
        if let Some(leg) = self.live.get_mut(leg_id) {
            leg.leaving = true;
        }
    }

    /// A leave the floor could not carry out: the leg is still there.
    fn stay(&mut self, leg_id: &str) {
        if let Some(leg) = self.live.get_mut(leg_id) {
            leg.leaving = false;
        }
    }

    /// The legs a supervisor still holds, to let go of when the lease ends.
    pub fn held_by(&self, desk: usize) -> Vec<(String, String)> {
        let mut held: Vec<_> = self
            .live
            .iter()
            .filter(|(_, leg)| leg.desk == desk && !leg.leaving)
            .map(|(id, leg)| (id.clone(), leg.call_id.clone()))
            .collect();
        held.sort();
        held
    }

    /// The floor finished a join: the leg is the caller's if the floor put
    /// it on the call as asked.
    pub fn joined(
        &mut self,
        asked: (usize, &str, Mode),
        supervisor: &Supervisor,
        leg_id: &str,
        track: u32,
        scope: &Scope,
    ) -> Result<(), Refusal> {
        let (desk, call_id, mode) = asked;
        self.joining.remove(&(desk, call_id.to_string()));
        let added = scope.leg(leg_id).is_some_and(|(call, leg)| {
            call.id == call_id
                && leg.role == floorwalk_protocol::Role::Supervisor
                && leg.user_id.as_deref() == Some(supervisor.id.as_str())
                && leg.track == track
        });
        if !added || self.live.contains_key(leg_id) || self.by_track.contains_key(&track) {
            return refuse(
                ErrorCode::Unavailable,
                format!("the contact center did not add your leg to {call_id} as asked"),
            );
        }
        self.by_track.insert(track, leg_id.to_string());
        self.by_call
            .entry(call_id.to_string())
            .or_default()
            .push(leg_id.to_string());
        let leg = OwnedLeg {
            desk,
            call_id: call_id.to_string(),
            track,
            mode,
            leaving: false,
        };
        self.live.insert(leg_id.to_string(), leg);
        Ok(())
    }

    /// A command that will not be carried out (the floor refused it, or it
    /// never reached the floor): a join is no longer under way, a leg whose
    /// leave failed is still there.
    pub fn abandon(&mut self, asked: &Asked) {
        match asked {
            Asked::Join { desk, call_id, .. } => {
                self.joining.remove(&(*desk, call_id.clone()));
            }
            Asked::Leave { leg_id } => self.stay(leg_id),
            Asked::SetMode { .. } | Asked::EndCall { .. } => {}
        }
    }

    /// The floor switched the leg as asked.
    pub fn mode_set(&mut self, leg_id: &str, mode: Mode) {
        if let Some(leg) = self.live.get_mut(leg_id) {
            leg.mode = mode;
        }
    }

    /// Follows the floor's events: legs that left stop being anyone's.
    pub fn follow(&mut self, event: &ServerMessage) {
        match event {
            ServerMessage::LegLeft(left) => self.forget(&left.leg_id),
            ServerMessage::CallEnded(ended) => {
                for leg_id in self.by_call.remove(&ended.call_id).unwrap_or_default() {
                    self.forget(&leg_id);
                }
            }
            _ => {}
        }
    }

    fn forget(&mut self, leg_id: &str) {
        let Some(leg) = self.live.remove(leg_id) else {
            return;
        };
        self.by_track.remove(&leg.track);
        if let Some(legs) = self.by_call.get_mut(&leg.call_id) {
            legs.retain(|id| id != leg_id);
            if legs.is_empty() {
                self.by_call.remove(&leg.call_id);
            }
        }
        self.departed.insert(leg_id.to_string(), leg.desk);
    }

    /// Whether a console owns the leg.
    pub fn owns(&self, leg_id: &str) -> bool {
        self.live.contains_key(leg_id)
    }

    /// The leg a track belongs to, if a console owns it.
    pub fn by_track(&self, track: u32) -> Option<(&str, &OwnedLeg)> {
        let id = self.by_track.get(&track)?;
        self.live.get(id).map(|leg| (id.as_str(), leg))
    }

    /// The console legs on a call.
    pub fn on_call(&self, call_id: &str) -> impl Iterator<Item = &OwnedLeg> {
        self.by_call
            .get(call_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.live.get(id))
    }

    fn leg_on(&self, desk: usize, call_id: &str) -> Option<&str> {
        self.by_call
            .get(call_id)?
            .iter()
            .find(|id| self.live.get(*id).is_some_and(|leg| leg.desk == desk))
            .map(String::as_str)
    }
}

/// `end_call` needs the call in the caller's teams, the permission and the
/// call id repeated (invariant 2).
fn end_call(
    caller: Caller<'_>,
    call_id: String,
    confirm: &str,
    scope: &Scope,
) -> Result<Decision, Refusal> {
    visible_call(caller, &call_id, scope)?;
    if !caller.supervisor.can_end_calls {
        return refuse(ErrorCode::Forbidden, "you are not allowed to end calls");
    }
    if confirm != call_id {
        return refuse(
            ErrorCode::BadConfirmation,
            format!("confirm must repeat the call id {call_id:?}, got {confirm:?}"),
        );
    }
    let command = FloorCommand::EndCall {
        call_id: call_id.clone(),
    };
    Ok(Decision::Ask(command, Asked::EndCall { call_id }))
}

fn visible_call(caller: Caller<'_>, call_id: &str, scope: &Scope) -> Result<(), Refusal> {
    let Ok(team) = scope.call_team(call_id) else {
        return refuse(ErrorCode::NotFound, format!("no live call {call_id}"));
    };
    if !caller.sees(&team) {
        return refuse(
            ErrorCode::Forbidden,
            format!("{call_id} is outside your teams"),
        );
    }
    Ok(())
}

/// The result of `set_mode`.
pub fn mode_result(leg_id: &str, mode: Mode) -> serde_json::Value {
    serde_json::json!({ "leg_id": leg_id, "mode": mode })
}

/// The result of `disconnect`.
pub fn left_result(already_left: bool) -> serde_json::Value {
    serde_json::json!({ "already_left": already_left })
}

#[cfg(test)]
mod tests;
