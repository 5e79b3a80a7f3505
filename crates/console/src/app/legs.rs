//! My legs: where each stands, which one the microphone may send on, leaving
//! them all, and keeping them in line with the floor as the server reports
//! legs that appeared, changed mode or left, with the records that implies.

use super::words::{self, shout, who_hears};
use super::{App, Effect, Severity};
use crate::audit::{ROTATION_HOP, Record, RecordKind};
use floorwalk_protocol::{Leg, LegLeftReason, Mode, Role, Timestamp};

/// Where one of my legs stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegStatus {
    On,
    /// A mode switch was asked for and not yet confirmed.
    Switching {
        to: Mode,
    },
    /// `d` was pressed: the microphone is off, the server has not confirmed.
    Leaving,
    /// The server confirmed the disconnect; its `leg_left` is still to come.
    Gone,
}

/// A supervisor leg of mine on a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyLeg {
    pub leg_id: String,
    pub call_id: String,
    pub agent_id: String,
    pub agent_name: String,
    /// The track this leg's audio (and my microphone upstream) carries.
    pub track: u32,
    /// The mode the server last confirmed.
    pub mode: Mode,
    /// Server time the leg joined.
    pub joined_at: Timestamp,
    pub status: LegStatus,
}

/// What the message that touched a call says about my legs on it.
pub(super) struct Context {
    /// The server's time of the event, where it tells one.
    pub at: Option<Timestamp>,
    /// Why a leg of mine that is no longer there left.
    pub left_reason: &'static str,
    /// Set when the leg left by the server's `leg_left`.
    pub left_event: Option<LegLeftReason>,
    /// Why a leg of mine appeared that this console did not ask for.
    pub unasked_join: &'static str,
}

impl Context {
    pub fn plain() -> Context {
        Context {
            at: None,
            left_reason: "removed",
            left_event: None,
            unasked_join: "joined from elsewhere",
        }
    }

    /// An event the server timed.
    pub fn at(at: Timestamp) -> Context {
        Context {
            at: Some(at),
            ..Context::plain()
        }
    }
}

/// The mode of a supervisor leg as the floor has it (without one, it listens).
fn mode_of(leg: &Leg) -> Mode {
    leg.mode.unwrap_or(Mode::Silent)
}

impl App {
    /// My legs still on a call (leaving ones included, confirmed-gone ones not).
    pub fn my_legs(&self) -> impl Iterator<Item = &MyLeg> {
        self.mine
            .values()
            .filter(|leg| leg.status != LegStatus::Gone)
    }

    /// One of my legs by id, whatever its status (a confirmed-gone leg
    /// stays until the server's `leg_left` arrives).
    pub fn my_leg(&self, leg_id: &str) -> Option<&MyLeg> {
        self.mine.get(leg_id)
    }

    /// My leg on a given call, if I am on it.
    pub fn my_leg_on(&self, call_id: &str) -> Option<&MyLeg> {
        self.my_legs().find(|leg| leg.call_id == call_id)
    }

    pub fn is_on_call(&self) -> bool {
        self.my_legs().next().is_some()
    }

    /// The leg the microphone may send on: whisper or barge, not leaving,
    /// and not switching to silent. `None` means the microphone stays closed.
    pub fn talk_leg(&self) -> Option<&MyLeg> {
        self.mine.values().find(|leg| match leg.status {
            LegStatus::On => leg.mode.transmits(),
            LegStatus::Switching { to } => leg.mode.transmits() && to.transmits(),
            LegStatus::Leaving | LegStatus::Gone => false,
        })
    }

    /// Whether the microphone may be open at all.
    pub fn mic_allowed(&self) -> bool {
        self.talk_leg().is_some()
    }

    /// Leaves every leg of mine (for quit, SIGTERM, SIGHUP): an audit record
    /// and a disconnect for each leg not already leaving. A join still in
    /// flight is left as soon as its leg appears (see [`App::awaiting_leave`]).
    pub fn leave_all(&mut self, now: Timestamp) -> Vec<Effect> {
        self.rotation = None;
        self.ledger.leave_joins_on_arrival();
        let legs: Vec<String> = self
            .mine
            .values()
            .filter(|leg| matches!(leg.status, LegStatus::On | LegStatus::Switching { .. }))
            .map(|leg| leg.leg_id.clone())
            .collect();
        legs.iter()
            .flat_map(|leg_id| self.disconnect(leg_id, now))
            .collect()
    }

    /// Whether a disconnect is still waiting for the server's answer, or a
    /// join in flight is still to be left. (Quitting waits for more: see
    /// [`App::leaves_settled`].)
    pub fn awaiting_leave(&self) -> bool {
        self.ledger.awaiting_leave()
    }

    /// Whether every leave asked for is over and recorded: no leg of mine
    /// on a call, no join in flight still to be left, and no disconnect
    /// waiting for its reply or for the server's `leg_left` (the `left`
    /// record needs both). Quitting waits for this, within a short budget.
    pub fn leaves_settled(&self) -> bool {
        !self.is_on_call() && !self.ledger.leave_unrecorded()
    }

    /// Whether a leg on the floor is one of mine (a supervisor leg of the
    /// supervisor the server says I am).
    pub(super) fn is_mine(&self, leg: &Leg) -> bool {
        let me = self.me.as_ref().map(|me| me.id.as_str());
        leg.role == Role::Supervisor && me.is_some() && leg.user_id.as_deref() == me
    }

    /// Brings my legs on one call in line with the floor: legs that
    /// appeared, changed mode, or left.
    pub(super) fn reconcile_call(
        &mut self,
        call_id: &str,
        context: &Context,
        now: Timestamp,
    ) -> Vec<Effect> {
        if self.me.is_none() {
            return Vec::new();
        }
        let on_floor: Vec<Leg> = self
            .floor
            .calls
            .get(call_id)
            .map(|call| {
                let mine = call.legs.iter().filter(|leg| self.is_mine(leg));
                mine.cloned().collect()
            })
            .unwrap_or_default();
        let mut effects = Vec::new();
        for leg in &on_floor {
            match self.mine.get(&leg.id).map(|known| known.mode) {
                None => effects.extend(self.leg_appeared(call_id, leg, context, now)),
                Some(known) if known != mode_of(leg) => {
                    effects.extend(self.mode_changed(&leg.id, mode_of(leg), context.at, now));
                }
                Some(_) => {}
            }
        }
        let gone: Vec<String> = self
            .mine
            .values()
            .filter(|mine| {
                mine.call_id == call_id && !on_floor.iter().any(|leg| leg.id == mine.leg_id)
            })
            .map(|mine| mine.leg_id.clone())
            .collect();
        for leg_id in gone {
            effects.extend(self.leg_gone(&leg_id, context, now));
        }
        effects
    }

    fn leg_appeared(
        &mut self,
        call_id: &str,
        leg: &Leg,
        context: &Context,
        now: Timestamp,
    ) -> Vec<Effect> {
        let mine = self.adopt_leg(call_id, leg);
        let req = self.ledger.join_on(call_id);
        let mut record = self.leg_record(RecordKind::Joined, &mine, now);
        record.server_at = Some(mine.joined_at);
        if req.is_none() {
            record.reason = Some(context.unasked_join.to_owned());
        } else if self.is_rotation_hop(call_id) {
            record.reason = Some(ROTATION_HOP.to_owned());
        }
        let text = format!(
            "You joined {call_id} ({}) in {} – {}.",
            mine.agent_name,
            shout(mine.mode),
            who_hears(mine.mode)
        );
        self.notify(Severity::Info, text, now);
        let then_leave = req
            .as_deref()
            .and_then(|req| self.ledger.get(req))
            .is_some_and(|join| join.then_leave);
        let mut effects = self.confirm(req, record);
        if then_leave {
            effects.extend(self.disconnect(&mine.leg_id, now));
        }
        effects.extend(self.rotation_landed(call_id, now));
        effects
    }

    /// Starts showing a leg of mine that the server has, as on.
    pub(super) fn adopt_leg(&mut self, call_id: &str, leg: &Leg) -> MyLeg {
        let agent_id = self
            .floor
            .calls
            .get(call_id)
            .map(|call| call.agent_id.clone())
            .unwrap_or_default();
        let mine = MyLeg {
            leg_id: leg.id.clone(),
            call_id: call_id.to_owned(),
            agent_name: self.agent_name(&agent_id),
            agent_id,
            track: leg.track,
            mode: mode_of(leg),
            joined_at: leg.joined_at,
            status: LegStatus::On,
        };
        self.mine.insert(leg.id.clone(), mine.clone());
        mine
    }

    fn mode_changed(
        &mut self,
        leg_id: &str,
        mode: Mode,
        at: Option<Timestamp>,
        now: Timestamp,
    ) -> Vec<Effect> {
        let Some(leg) = self.mine.get_mut(leg_id) else {
            return Vec::new();
        };
        let from = leg.mode;
        leg.mode = mode;
        if matches!(leg.status, LegStatus::Switching { to } if to == mode) {
            leg.status = LegStatus::On;
        }
        let leg = leg.clone();
        let req = self.ledger.switch_of(leg_id, mode);
        let mut record = self.leg_record(RecordKind::ModeChanged, &leg, now);
        record.server_at = at;
        record.reason = Some(if req.is_some() {
            format!("from {from}")
        } else {
            format!("from {from}, changed from elsewhere")
        });
        let text = format!(
            "{}: now {} ({}).",
            leg.call_id,
            shout(mode),
            who_hears(mode)
        );
        self.notify(Severity::Info, text, now);
        self.confirm(req, record)
    }

    fn leg_gone(&mut self, leg_id: &str, context: &Context, now: Timestamp) -> Vec<Effect> {
        let Some(leg) = self.mine.remove(leg_id) else {
            return Vec::new();
        };
        // A mode switch for a leg that is gone will not be confirmed.
        self.ledger.drop_switches_of(leg_id);
        self.rejoins.left(&leg.call_id, now);
        let req = self.ledger.disconnect_of(leg_id);
        self.rotation_leg_gone(&leg.call_id, now);
        let mut record = self.leg_record(RecordKind::Left, &leg, now);
        record.server_at = context.at;
        record.reason = Some(context.left_reason.to_owned());
        let call_id = &leg.call_id;
        match (&req, context.left_event) {
            (Some(_), _) | (None, Some(LegLeftReason::Disconnected)) => {
                let text = format!("You left {call_id}. The call goes on.");
                self.notify(Severity::Info, text, now);
            }
            // Said by `call_ended` with the call's reason.
            (None, Some(LegLeftReason::CallEnded)) => {}
            (None, Some(reason)) => self.notify(Severity::Warn, words::unasked_leave(reason), now),
            (None, None) => {
                let text = format!("Your leg on {call_id} is gone ({}).", context.left_reason);
                self.notify(Severity::Warn, text, now);
            }
        }
        self.confirm(req, record)
    }

    /// A record about one of my legs: its call, agent, id and mode.
    pub(super) fn leg_record(&self, kind: RecordKind, leg: &MyLeg, now: Timestamp) -> Record {
        let mut record = self.record(kind, &leg.call_id, now);
        record.agent_id = Some(leg.agent_id.clone());
        record.agent_name = Some(leg.agent_name.clone());
        record.leg_id = Some(leg.leg_id.clone());
        record.mode = Some(leg.mode);
        record
    }
}
