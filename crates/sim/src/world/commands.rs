//! What the server core asks of the world: add a supervisor leg, switch its
//! mode, remove it, end a call.
//!
//! The core has already checked who may do what (teams, ownership,
//! permission, confirmation); the world only answers for what it knows, a
//! call or leg that is not (or no longer) there. `leave` removes that one
//! leg and never ends a call. Commands never draw from the world's random
//! generator, so they never change the story.

use super::{Aftermath, World, call_id, leg_id};
use floorwalk_protocol::{
    CallEndReason, ErrorCode, Leg, LegChanged, LegJoined, LegLeftReason, Mode, Role, ServerMessage,
    Supervisor,
};
use floorwalk_server::{FloorError, Joined};

/// After a supervisor ends a call the agent wraps up for a fixed time, so the
/// command draws nothing from the generator.
const ENDED_WRAP_UP_SECS: f64 = 20.0;
const ENDED_BOT_REST_SECS: f64 = 60.0;

fn gone(what: String) -> FloorError {
    FloorError::new(ErrorCode::NotFound, what)
}

impl World {
    /// Adds a supervisor leg for `supervisor` to a call.
    pub fn join(
        &mut self,
        supervisor: &Supervisor,
        call: &str,
        mode: Mode,
    ) -> Result<Joined, FloorError> {
        let n = self
            .find_call(call)
            .ok_or_else(|| gone(format!("no live call {call}")))?;
        let team = self.calls[&n].team;
        let track = self.next_console_track;
        self.next_console_track = self.next_console_track.wrapping_add(1);
        let leg = Leg {
            id: leg_id(track),
            role: Role::Supervisor,
            user_id: Some(supervisor.id.clone()),
            name: supervisor.name.clone(),
            mode: Some(mode),
            track,
            joined_at: self.now(),
        };
        self.console_legs.insert(leg.id.clone(), n);
        let joined = Joined {
            leg_id: leg.id.clone(),
            track,
        };
        let call_id = call_id(n);
        self.emit(
            team,
            ServerMessage::LegJoined(LegJoined {
                seq: 0,
                call_id,
                leg,
            }),
        );
        Ok(joined)
    }

    /// Switches a console leg to another mode without leaving.
    pub fn set_mode(&mut self, leg: &str, mode: Mode) -> Result<(), FloorError> {
        let n = self.console_leg_call(leg)?;
        let team = self.calls[&n].team;
        let current = self.floor.find_leg(leg).and_then(|(_, l)| l.mode);
        if current != Some(mode) {
            let at = self.now();
            self.emit(
                team,
                ServerMessage::LegChanged(LegChanged {
                    seq: 0,
                    call_id: call_id(n),
                    leg_id: leg.to_string(),
                    mode,
                    at,
                }),
            );
        }
        Ok(())
    }

    /// Removes one console leg, and nothing else: the call goes on.
    pub fn leave(&mut self, leg: &str, reason: LegLeftReason) -> Result<(), FloorError> {
        let n = self.console_leg_call(leg)?;
        let team = self.calls[&n].team;
        self.leg_left(team, &call_id(n), leg, reason);
        Ok(())
    }

    /// The live call a console leg is on.
    pub(crate) fn console_leg_call(&self, leg: &str) -> Result<u64, FloorError> {
        self.console_legs
            .get(leg)
            .copied()
            .filter(|n| self.calls.contains_key(n))
            .ok_or_else(|| gone(format!("leg {leg} already left its call")))
    }

    /// Ends a whole call for everyone.
    pub fn end_call(&mut self, call: &str) -> Result<(), FloorError> {
        let n = self
            .find_call(call)
            .ok_or_else(|| gone(format!("no live call {call}")))?;
        let aftermath = Aftermath {
            wrap_up: self.story_ticks(ENDED_WRAP_UP_SECS),
            bot_rest: self.story_ticks(ENDED_BOT_REST_SECS),
        };
        self.finish_call(n, CallEndReason::EndedBySupervisor, &aftermath);
        Ok(())
    }
}
