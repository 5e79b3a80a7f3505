//! What consoles may do to the world: join a call, switch mode, leave, end
//! a call, and lose their legs when their lease runs out.
//!
//! The safety invariants of the protocol live here: `disconnect` removes only
//! the caller's own supervisor leg and never ends a call; `end_call` needs the
//! permission and the confirmation. A refused command changes nothing.
//! Commands never draw from the world's random generator.

use super::{Aftermath, ConsoleLeg, World, call_id, leg_id};
use crate::accounts::Account;
use floorwalk_protocol::{
    CallEndReason, DisconnectResult, ErrorCode, Leg, LegChanged, LegJoined, LegLeftReason, Mode,
    MonitorResult, Role, ServerMessage,
};
use std::collections::{HashMap, VecDeque};

/// A supervisor acting through a console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub name: String,
    /// Which teams (by world team index) the supervisor may see and join.
    pub teams: Vec<bool>,
    pub can_end_calls: bool,
}

impl Principal {
    fn sees(&self, team: usize) -> bool {
        self.teams.get(team).copied().unwrap_or(false)
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
}

fn refuse<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, CommandError> {
    Err(CommandError {
        code,
        message: message.into(),
    })
}

/// Console legs that already left, and whose they were, so a late
/// `disconnect` can answer `already_left`. Bounded: the oldest are forgotten.
#[derive(Default)]
pub(super) struct Departed {
    owners: HashMap<String, String>,
    order: VecDeque<String>,
}

const DEPARTED_KEPT: usize = 10_000;

impl Departed {
    pub(super) fn insert(&mut self, leg_id: String, owner: String) {
        self.order.push_back(leg_id.clone());
        self.owners.insert(leg_id, owner);
        while self.order.len() > DEPARTED_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.owners.remove(&old);
            }
        }
    }

    fn owner(&self, leg_id: &str) -> Option<&str> {
        self.owners.get(leg_id).map(String::as_str)
    }
}

/// After a supervisor ends a call the agent wraps up for a fixed time, so the
/// command draws nothing from the generator.
const ENDED_WRAP_UP_SECS: f64 = 20.0;
const ENDED_BOT_REST_SECS: f64 = 60.0;

impl World {
    /// The principal behind an account; teams the world does not staff are
    /// ignored.
    pub fn principal(&self, account: &Account) -> Principal {
        Principal {
            id: account.id.clone(),
            name: account.name.clone(),
            teams: self
                .teams
                .iter()
                .map(|team| account.teams.contains(&team.id))
                .collect(),
            can_end_calls: account.can_end_calls,
        }
    }

    /// Adds a supervisor leg for `who` to a call.
    pub fn monitor(
        &mut self,
        who: &Principal,
        call: &str,
        mode: Mode,
    ) -> Result<MonitorResult, CommandError> {
        let Some(n) = self.find_call(call) else {
            return refuse(ErrorCode::NotFound, format!("no live call {call}"));
        };
        let team = self.calls[&n].team;
        if !who.sees(team) {
            return refuse(
                ErrorCode::Forbidden,
                format!("{call} is outside your teams"),
            );
        }
        if let Some((leg, _)) = self
            .console_legs
            .iter()
            .find(|(_, leg)| leg.call == n && leg.owner == who.id)
        {
            return refuse(
                ErrorCode::Conflict,
                format!("you are already on {call} as {leg}"),
            );
        }
        let track = self.next_console_track;
        self.next_console_track = self.next_console_track.wrapping_add(1);
        let leg = Leg {
            id: leg_id(track),
            role: Role::Supervisor,
            user_id: Some(who.id.clone()),
            name: who.name.clone(),
            mode: Some(mode),
            track,
            joined_at: self.now(),
        };
        self.console_legs.insert(
            leg.id.clone(),
            ConsoleLeg {
                owner: who.id.clone(),
                call: n,
            },
        );
        let result = MonitorResult {
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
        Ok(result)
    }

    /// Switches one of `who`'s legs to another mode without leaving. The
    /// result names the leg and its mode.
    pub fn set_mode(
        &mut self,
        who: &Principal,
        leg: &str,
        mode: Mode,
    ) -> Result<serde_json::Value, CommandError> {
        let n = self.own_live_leg(who, leg)?.ok_or_else(|| CommandError {
            code: ErrorCode::NotFound,
            message: format!("leg {leg} already left its call"),
        })?;
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
        Ok(serde_json::json!({ "leg_id": leg, "mode": mode }))
    }

    /// Removes one of `who`'s legs, and nothing else: the call goes on.
    pub fn disconnect(
        &mut self,
        who: &Principal,
        leg: &str,
    ) -> Result<DisconnectResult, CommandError> {
        let Some(n) = self.own_live_leg(who, leg)? else {
            return Ok(DisconnectResult { already_left: true });
        };
        let team = self.calls[&n].team;
        self.leg_left(team, &call_id(n), leg, LegLeftReason::Disconnected);
        Ok(DisconnectResult {
            already_left: false,
        })
    }

    /// The call of `who`'s live leg `leg`; `None` if it was `who`'s and has
    /// left; `not_your_leg` for any other leg, `not_found` for unknown ones.
    fn own_live_leg(&self, who: &Principal, leg: &str) -> Result<Option<u64>, CommandError> {
        match self.console_legs.get(leg) {
            Some(mine) if mine.owner == who.id => return Ok(Some(mine.call)),
            Some(_) => {}
            None => match self.departed.owner(leg) {
                Some(owner) if owner == who.id => return Ok(None),
                Some(_) => {}
                None if self.floor.find_leg(leg).is_some() => {}
                None => return refuse(ErrorCode::NotFound, format!("no leg {leg}")),
            },
        }
        refuse(
            ErrorCode::NotYourLeg,
            format!("leg {leg} is not yours: only your own supervisor legs can be changed"),
        )
    }

    /// Ends a whole call for everyone.
    pub fn end_call(
        &mut self,
        who: &Principal,
        call: &str,
        confirm: &str,
    ) -> Result<serde_json::Value, CommandError> {
        let Some(n) = self.find_call(call) else {
            return refuse(ErrorCode::NotFound, format!("no live call {call}"));
        };
        if !who.sees(self.calls[&n].team) {
            return refuse(
                ErrorCode::Forbidden,
                format!("{call} is outside your teams"),
            );
        }
        if !who.can_end_calls {
            return refuse(ErrorCode::Forbidden, "you are not allowed to end calls");
        }
        if confirm != call {
            return refuse(
                ErrorCode::BadConfirmation,
                format!("confirm must repeat the call id {call:?}, got {confirm:?}"),
            );
        }
        let aftermath = Aftermath {
            wrap_up: self.story_ticks(ENDED_WRAP_UP_SECS),
            bot_rest: self.story_ticks(ENDED_BOT_REST_SECS),
        };
        self.finish_call(n, CallEndReason::EndedBySupervisor, &aftermath);
        Ok(serde_json::json!({ "call_id": call }))
    }

    /// Removes every leg of a supervisor whose console is gone for good,
    /// with reason `lease_expired`. Returns how many legs left.
    pub fn expire_lease(&mut self, supervisor_id: &str) -> usize {
        let legs: Vec<(String, u64)> = self
            .console_legs
            .iter()
            .filter(|(_, leg)| leg.owner == supervisor_id)
            .map(|(id, leg)| (id.clone(), leg.call))
            .collect();
        for (leg, n) in &legs {
            let team = self.calls.get(n).map_or(0, |c| c.team);
            self.leg_left(team, &call_id(*n), leg, LegLeftReason::LeaseExpired);
        }
        legs.len()
    }
}
