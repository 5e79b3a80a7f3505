//! Rotation (`r`): listening silently to each call in turn for a dwell
//! time, for QA coverage. Pure state driven by the clock the runtime passes
//! in (`Input::Tick`); every hop is an ordinary silent join and leave
//! through the ledger, so the journal records it like any other.
//!
//! A hop is make-before-break: the next call is joined first, and the
//! previous leg is left only once the server confirmed the new one (its
//! `leg_joined`), so nothing goes unheard and two legs never overlap for
//! longer than the hop. A join that fails leaves me where I am; the next
//! hop tries the call after it. A hop never opens a microphone: it joins
//! in silent mode, and the rotation does not start from a whisper or barge.

use super::rejoin::JoinKind;
use super::words::Attempt;
use super::{Action, App, Dialog, Effect, LegStatus, Severity};
use floorwalk_protocol::{Call, Mode, Role, Timestamp};
use std::time::Duration;

/// After a failed hop with no call to listen to, the next try comes this
/// soon rather than a whole dwell later.
const RETRY_MS: i64 = 2_000;

/// How the rotation chooses and paces its calls (the config's `[rotation]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationSettings {
    /// How long it listens to each call.
    pub dwell: Duration,
    /// Skip calls another supervisor is on.
    pub skip_occupied: bool,
    /// Skip calls younger than this (server clock).
    pub min_call_age: Duration,
    /// Skip calls I left within this.
    pub skip_left_within: Duration,
    /// Rotate over these agents (ids or names) in this order; empty: the
    /// table's agents in its filter and sort.
    pub agents: Vec<String>,
}

impl Default for RotationSettings {
    fn default() -> Self {
        RotationSettings {
            dwell: Duration::from_secs(45),
            skip_occupied: true,
            min_call_age: Duration::from_secs(10),
            skip_left_within: Duration::from_secs(300),
            agents: Vec::new(),
        }
    }
}

/// A rotation under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The agent whose call it is on (or last tried): the next hop starts
    /// looking after it.
    agent: Option<String>,
    /// The call it listens to (my leg's).
    call: Option<String>,
    /// The hop in flight: the call being joined, and its agent.
    hop: Option<(String, String)>,
    /// When the next hop is due (local clock).
    next_at: Timestamp,
}

impl Rotation {
    /// The call it listens to now.
    pub fn call(&self) -> Option<&str> {
        self.call.as_deref()
    }

    /// The call a hop in flight is joining.
    pub fn hopping_to(&self) -> Option<&str> {
        self.hop.as_ref().map(|(call, _)| call.as_str())
    }

    /// Whole seconds to the next hop (rounded up), none while one is in flight.
    pub fn next_in_secs(&self, now: Timestamp) -> Option<i64> {
        if self.hop.is_some() {
            return None;
        }
        Some((self.next_at.millis_since(now).max(0) + 999) / 1000)
    }
}

/// Why a call is passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// I am on it (or joining it) already.
    Mine,
    Occupied,
    Young,
    RecentlyLeft,
    /// A rejoin that `[compliance]` wants announced.
    NeedsNotice,
}

/// The keys that end a rotation where I am (a mode key, push-to-talk, leave).
pub(super) fn stops_rotation(action: Action) -> bool {
    matches!(
        action,
        Action::Monitor | Action::Whisper | Action::Barge | Action::Talk | Action::Disconnect
    )
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl App {
    pub fn rotation(&self) -> Option<&Rotation> {
        self.rotation.as_ref()
    }

    /// `r`: start a rotation, or stop the one under way (staying on the call).
    pub(super) fn rotate_pressed(&mut self, now: Timestamp) -> Vec<Effect> {
        if self.rotation.is_some() {
            self.stop_rotation(now);
            return Vec::new();
        }
        if !self.ensure_live(Attempt::Join, now) {
            return Vec::new();
        }
        let legs: Vec<_> = self.my_legs().collect();
        let (call, agent) = match legs.as_slice() {
            [] if self.ledger.any_join().is_none() => (None, None),
            [leg] if leg.mode == Mode::Silent && leg.status == LegStatus::On => {
                (Some(leg.call_id.clone()), Some(leg.agent_id.clone()))
            }
            _ => {
                let monitor = self.key_label(Action::Monitor);
                let leave = self.key_label(Action::Disconnect);
                let text = format!(
                    "A rotation listens silently from one call: press {monitor} (silent) or \
                     {leave} (leave) first."
                );
                self.notify(Severity::Warn, text, now);
                return Vec::new();
            }
        };
        let dwell = millis(self.settings.rotation.dwell);
        let next_at = if call.is_some() {
            now.plus_millis(dwell)
        } else {
            now
        };
        self.rotation = Some(Rotation {
            agent,
            call,
            hop: None,
            next_at,
        });
        let next = self.key_label(Action::NextCall);
        let stop = self.key_label(Action::Rotate);
        let mut text = format!(
            "Rotation: listening silently to each call for {} s; {next} skips, {stop} stops.",
            self.settings.rotation.dwell.as_secs()
        );
        // A name the config gives that is on no floor is likely a typo.
        let unknown: Vec<&str> = (self.settings.rotation.agents.iter())
            .filter(|want| self.rotation_agent(want).is_none())
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            text.push_str(&format!(" Not on the floor: {}.", unknown.join(", ")));
        }
        self.notify(Severity::Info, text, now);
        self.dirty = true;
        self.rotation_tick(now)
    }

    /// Ends the rotation where I am: a hop in flight is left as soon as its
    /// leg appears, and the selection goes back to the call I am on.
    pub(super) fn stop_rotation(&mut self, now: Timestamp) {
        let Some(rotation) = self.rotation.take() else {
            return;
        };
        self.dirty = true;
        if let Some((call, _)) = &rotation.hop {
            self.ledger.leave_join_on_arrival(call);
        }
        let text = match (&rotation.call, &rotation.agent) {
            (Some(call), Some(agent)) => {
                self.select_agent(agent);
                format!("Rotation stopped: you stay on {call}.")
            }
            _ => "Rotation stopped.".to_owned(),
        };
        self.notify(Severity::Info, text, now);
    }

    /// Time passed: hop when the dwell is over. Not while a dialog about
    /// the call I am on (ending it, quitting) waits for an answer: the call
    /// it names stays the one I am on.
    pub(super) fn rotation_tick(&mut self, now: Timestamp) -> Vec<Effect> {
        let deciding = matches!(
            self.dialog,
            Some(Dialog::EndCall { .. } | Dialog::Quit { .. })
        );
        match &self.rotation {
            Some(rotation) if rotation.hop.is_none() && now >= rotation.next_at && !deciding => {
                self.rotation_hop(true, now)
            }
            _ => Vec::new(),
        }
    }

    /// `n`/`p` during a rotation: hop now, ahead or back.
    pub(super) fn rotation_skip(&mut self, forward: bool, now: Timestamp) -> Vec<Effect> {
        if let Some(call) = self.rotation.as_ref().and_then(Rotation::hopping_to) {
            let text = format!("Rotation: already moving to {call}.");
            self.notify(Severity::Info, text, now);
            return Vec::new();
        }
        self.rotation_hop(forward, now)
    }

    /// Joins the next eligible call after (or before) the current one, or
    /// says why there is none and waits another dwell.
    fn rotation_hop(&mut self, forward: bool, now: Timestamp) -> Vec<Effect> {
        let Some(rotation) = &self.rotation else {
            return Vec::new();
        };
        let order = self.rotation_order();
        let len = order.len();
        let current = (rotation.agent.as_ref()).and_then(|a| order.iter().position(|id| id == a));
        // Steps from the current agent; at first, from the selection
        // (which is the first one looked at).
        let start = match current {
            Some(at) => at,
            None => {
                let selected = self.selected.as_ref();
                let at = selected.and_then(|s| order.iter().position(|id| id == s));
                let at = at.unwrap_or(0);
                if forward {
                    at + len.saturating_sub(1)
                } else {
                    at + 1
                }
            }
        };
        let mut skipped: Vec<Skip> = Vec::new();
        let mut found = None;
        for step in 1..=len {
            let index = if forward {
                (start + step) % len
            } else {
                (start + len * 2 - step) % len
            };
            let agent = &order[index];
            let Some(call) = self.floor.call_of_agent(agent) else {
                continue;
            };
            match self.skip(call, now) {
                Some(why) => skipped.push(why),
                None => {
                    found = Some((call.id.clone(), agent.clone()));
                    break;
                }
            }
        }
        let dwell = millis(self.settings.rotation.dwell);
        let Some((call_id, agent_id)) = found else {
            let text = format!(
                "Rotation: no other call to move to{}; trying again in {} s.",
                skipped_words(&skipped),
                dwell / 1000
            );
            self.notify(Severity::Info, text, now);
            if let Some(rotation) = &mut self.rotation {
                rotation.next_at = now.plus_millis(dwell);
            }
            self.dirty = true;
            return Vec::new();
        };
        if !self.ensure_live(Attempt::Join, now) {
            if let Some(rotation) = &mut self.rotation {
                rotation.next_at = now.plus_millis(dwell);
            }
            return Vec::new();
        }
        if let Some(rotation) = &mut self.rotation {
            rotation.hop = Some((call_id.clone(), agent_id.clone()));
        }
        let agent_name = self.agent_name(&agent_id);
        // `skip` let through no rejoin that needs the notice.
        let rejoin = self.floor.calls.get(&call_id).map(|call| {
            self.rejoins
                .assess(&call_id, Mode::Silent, self.rejoin_rule(call), now)
        });
        let rejoin = matches!(rejoin, Some(JoinKind::Rejoin { .. })).then_some(false);
        self.send_join(call_id, agent_id, &agent_name, Mode::Silent, rejoin, now)
    }

    /// The agents the rotation goes through, in order: the config's list
    /// (by id or name), else the table's rows.
    fn rotation_order(&self) -> Vec<String> {
        let wanted = &self.settings.rotation.agents;
        if wanted.is_empty() {
            return self.view.ids().to_vec();
        }
        wanted
            .iter()
            .filter_map(|want| self.rotation_agent(want))
            .collect()
    }

    /// The agent `[rotation] agents` means by `want`: an id, else a name.
    fn rotation_agent(&self, want: &str) -> Option<String> {
        let by_id = self.floor.agents.get(want);
        let by_name = || {
            let mut agents = self.floor.agents.values();
            agents.find(|agent| agent.name.eq_ignore_ascii_case(want))
        };
        by_id.or_else(by_name).map(|agent| agent.id.clone())
    }

    fn skip(&self, call: &Call, now: Timestamp) -> Option<Skip> {
        let rules = &self.settings.rotation;
        let me = self.me.as_ref().map(|me| me.id.as_str());
        let on_it = self.rotation.as_ref().and_then(Rotation::call) == Some(call.id.as_str())
            || self.my_leg_on(&call.id).is_some()
            || self.ledger.joining(&call.id).is_some();
        if on_it {
            return Some(Skip::Mine);
        }
        let others = call
            .legs
            .iter()
            .any(|leg| leg.role == Role::Supervisor && leg.user_id.as_deref() != me);
        if rules.skip_occupied && others {
            return Some(Skip::Occupied);
        }
        let age = self.server_now(now).millis_since(call.started_at);
        if age < millis(rules.min_call_age) {
            return Some(Skip::Young);
        }
        let left = self.rejoins.left_at(&call.id);
        if left.is_some_and(|at| now.millis_since(at) < millis(rules.skip_left_within)) {
            return Some(Skip::RecentlyLeft);
        }
        // A rotation never asks: a rejoin `[compliance]` wants announced is
        // for the supervisor to make by hand.
        let rule = self.rejoin_rule(call);
        if self.rejoins.assess(&call.id, Mode::Silent, rule, now)
            == (JoinKind::Rejoin { announce: true })
        {
            return Some(Skip::NeedsNotice);
        }
        None
    }

    /// Whether a leg of mine appearing on this call is the rotation's hop.
    pub(super) fn is_rotation_hop(&self, call_id: &str) -> bool {
        self.rotation.as_ref().and_then(Rotation::hopping_to) == Some(call_id)
    }

    /// The hop's leg is up: the rotation is on the new call, and leaves
    /// the previous one now (make before break).
    pub(super) fn rotation_landed(&mut self, call_id: &str, now: Timestamp) -> Vec<Effect> {
        if !self.is_rotation_hop(call_id) {
            return Vec::new();
        }
        let dwell = millis(self.settings.rotation.dwell);
        let Some(rotation) = &mut self.rotation else {
            return Vec::new();
        };
        let Some((call, agent)) = rotation.hop.take() else {
            return Vec::new();
        };
        rotation.call = Some(call);
        rotation.agent = Some(agent.clone());
        rotation.next_at = now.plus_millis(dwell);
        // The call pane shows what I hear.
        self.select_agent(&agent);
        // The previous leg, and any other an earlier hop failed to leave.
        let others: Vec<String> = self
            .my_legs()
            .filter(|leg| leg.call_id != call_id)
            .filter(|leg| matches!(leg.status, LegStatus::On | LegStatus::Switching { .. }))
            .map(|leg| leg.leg_id.clone())
            .collect();
        others
            .iter()
            .flat_map(|leg_id| self.disconnect(leg_id, now))
            .collect()
    }

    /// The hop's join failed: stay where I am; the next hop tries the call
    /// after it (soon when there is no call to listen to).
    pub(super) fn rotation_hop_failed(&mut self, call_id: &str, now: Timestamp) {
        if !self.is_rotation_hop(call_id) {
            return;
        }
        let dwell = millis(self.settings.rotation.dwell);
        if let Some(rotation) = &mut self.rotation
            && let Some((_, agent)) = rotation.hop.take()
        {
            rotation.agent = Some(agent);
            let wait = if rotation.call.is_some() {
                dwell
            } else {
                RETRY_MS
            };
            rotation.next_at = now.plus_millis(wait);
        }
    }

    /// A leg of mine is gone (the rejoin memory keeps when): when it was
    /// the rotation's (the call ended, say), the rotation moves on now.
    pub(super) fn rotation_leg_gone(&mut self, call_id: &str, now: Timestamp) {
        if let Some(rotation) = &mut self.rotation
            && rotation.call.as_deref() == Some(call_id)
        {
            rotation.call = None;
            rotation.next_at = now;
        }
    }
}

/// ": 2 with another supervisor, 1 too young" for the notice.
fn skipped_words(skipped: &[Skip]) -> String {
    let count = |kind| skipped.iter().filter(|s| **s == kind).count();
    let parts: Vec<String> = [
        (Skip::Occupied, "with another supervisor"),
        (Skip::Young, "too young"),
        (Skip::RecentlyLeft, "left recently"),
        (Skip::NeedsNotice, "needing the monitoring notice"),
    ]
    .into_iter()
    .filter(|(kind, _)| count(*kind) > 0)
    .map(|(kind, words)| format!("{} {words}", count(kind)))
    .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({} skipped)", parts.join(", "))
    }
}
