//! What the feed reports: connection changes, replies, and state messages
//! applied to the floor, with the audit records and highlights they imply.

use super::commands::Op;
use super::words;
use super::{App, Dialog, Effect, FLASH_MS, FlashKind, LegStatus, Link, MyLeg, Severity};
use crate::audit::RecordKind;
use crate::feed::FeedEvent;
use floorwalk_protocol::{
    CallEndReason, LegLeftReason, Mode, NoticeLevel, Role, ServerMessage, Timestamp,
};
use floorwalk_state::{Applied, Change};
use std::collections::BTreeSet;

/// What the message that touched a call says about my legs on it.
struct Context {
    /// The server's time of the event, where it tells one.
    at: Option<Timestamp>,
    /// Why a leg of mine that is no longer there left.
    left_reason: &'static str,
    /// Set when the leg left by the server's `leg_left`.
    left_event: Option<LegLeftReason>,
    /// Why a leg of mine appeared that this console did not ask for.
    unasked_join: &'static str,
}

impl Context {
    fn plain() -> Context {
        Context {
            at: None,
            left_reason: "removed",
            left_event: None,
            unasked_join: "joined from elsewhere",
        }
    }
}

fn end_reason_words(reason: CallEndReason) -> &'static str {
    match reason {
        CallEndReason::CustomerHangup => "the customer hung up",
        CallEndReason::AgentHangup => "the agent hung up",
        CallEndReason::EndedBySupervisor => "a supervisor ended it",
        CallEndReason::Transferred => "transferred",
        CallEndReason::Failed => "the call failed",
        CallEndReason::Unknown => "ended",
    }
}

impl App {
    pub(super) fn on_feed(&mut self, event: FeedEvent, now: Timestamp) -> Vec<Effect> {
        match event {
            FeedEvent::Connecting {
                attempt,
                retry_in,
                last_error,
            } => {
                let shown = match &self.link {
                    Link::Connecting { last_error, .. } => last_error.as_ref(),
                    _ => None,
                };
                if let Some(error) = &last_error
                    && shown != Some(error)
                {
                    let text = if self.is_live() {
                        format!("Connection lost: {error}")
                    } else {
                        format!("Cannot connect: {error}")
                    };
                    self.notify(Severity::Warn, text, now);
                }
                let retry_ms = i64::try_from(retry_in.as_millis()).unwrap_or(i64::MAX);
                self.link = Link::Connecting {
                    attempt,
                    retry_at: now.plus_millis(retry_ms),
                    last_error,
                };
                self.dirty = true;
                Vec::new()
            }
            FeedEvent::Connected { hello, resumed } => {
                self.clock_offset_ms = hello.now.millis_since(now);
                self.me = Some(hello.supervisor);
                if self.was_live {
                    let how = if resumed {
                        "Reconnected: caught up with what was missed."
                    } else {
                        "Reconnected: the floor was refreshed from the server."
                    };
                    self.notify(Severity::Info, how, now);
                }
                self.link = Link::Live { rtt: None };
                self.was_live = true;
                self.dirty = true;
                Vec::new()
            }
            FeedEvent::Rtt(rtt) => {
                if let Link::Live { rtt: shown } = &mut self.link {
                    // Jitter of a millisecond or two is not worth a frame.
                    if shown.map(super::rtt_shown) != Some(super::rtt_shown(rtt)) {
                        self.dirty = true;
                    }
                    *shown = Some(rtt);
                }
                Vec::new()
            }
            FeedEvent::Reply {
                req,
                outcome,
                latency,
            } => self.on_reply(&req, outcome, latency, now),
            FeedEvent::ProtocolError(error) => {
                // The feed says what it ignored and why, in lower case.
                let mut chars = error.chars();
                let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
                let text = format!(
                    "{}{}; carrying on.",
                    first.unwrap_or_default(),
                    chars.as_str()
                );
                self.notify(Severity::Warn, text, now);
                Vec::new()
            }
            FeedEvent::Fatal(text) => {
                self.notify(Severity::Error, text.clone(), now);
                self.link = Link::Fatal(text);
                self.dirty = true;
                Vec::new()
            }
            FeedEvent::Message(message) => self.on_message(message, now),
        }
    }

    fn on_message(&mut self, owned: ServerMessage, now: Timestamp) -> Vec<Effect> {
        // A snapshot moves into the floor whole (cloning 10,000 calls would
        // cost more than applying them); other messages are small, and a copy
        // is kept for what follows the reducer.
        let kept = match &owned {
            ServerMessage::Snapshot(snapshot) => {
                ServerMessage::Snapshot(floorwalk_protocol::Snapshot {
                    seq: snapshot.seq,
                    agents: Vec::new(),
                    calls: Vec::new(),
                    queues: Vec::new(),
                })
            }
            other => other.clone(),
        };
        let message = &kept;
        // What the reducer forgets: the agent a call belonged to, and a
        // queue's old name.
        let call_agent_before = match message {
            ServerMessage::CallStarted(ev) | ServerMessage::CallUpdated(ev) => self
                .floor
                .calls
                .get(&ev.call.id)
                .map(|call| call.agent_id.clone())
                .filter(|agent| agent != &ev.call.agent_id),
            _ => None,
        };
        let queue_name_before = match message {
            ServerMessage::Queue(ev) => Some(
                self.floor
                    .queues
                    .get(&ev.queue.id)
                    .map(|queue| queue.name.clone()),
            ),
            _ => None,
        };
        let change = match self.floor.apply(owned) {
            Applied::Changed(change) => change,
            // The feed resumes over gaps itself; nothing to show.
            Applied::Duplicate | Applied::Gap { .. } | Applied::NoBase => return Vec::new(),
            Applied::NotState => {
                if let ServerMessage::Notice(notice) = message {
                    let severity = match notice.level {
                        NoticeLevel::Info => Severity::Info,
                        NoticeLevel::Warn | NoticeLevel::Unknown => Severity::Warn,
                        NoticeLevel::Error => Severity::Error,
                    };
                    self.notify(severity, format!("Server: {}", notice.text), now);
                }
                return Vec::new();
            }
        };
        self.dirty = true;
        if let Some(old_agent) = &call_agent_before {
            self.view.touch(&self.floor, old_agent);
        }
        let mut effects = Vec::new();
        match change {
            Change::Everything => {
                self.view.rebuild(&self.floor);
                self.flashes.clear();
                effects = self.after_snapshot(now);
            }
            Change::Queues => {
                let renamed = match (&queue_name_before, message) {
                    (Some(before), ServerMessage::Queue(ev)) => {
                        before.as_deref() != Some(ev.queue.name.as_str())
                    }
                    _ => false,
                };
                if renamed && self.view.filter_depends_on_queue_names() {
                    self.view.rebuild(&self.floor);
                }
            }
            Change::AgentChanged { agent_id } => self.view.touch(&self.floor, &agent_id),
            Change::CallStarted { agent_id } | Change::CallChanged { agent_id } => {
                let (call_id, context, flash) = match message {
                    ServerMessage::CallStarted(ev) => {
                        (ev.call.id.clone(), Context::plain(), FlashKind::Started)
                    }
                    ServerMessage::CallUpdated(ev) => {
                        (ev.call.id.clone(), Context::plain(), FlashKind::Changed)
                    }
                    ServerMessage::LegJoined(ev) => (
                        ev.call_id.clone(),
                        Context {
                            at: Some(ev.leg.joined_at),
                            ..Context::plain()
                        },
                        FlashKind::Changed,
                    ),
                    ServerMessage::LegChanged(ev) => (
                        ev.call_id.clone(),
                        Context {
                            at: Some(ev.at),
                            ..Context::plain()
                        },
                        FlashKind::Changed,
                    ),
                    ServerMessage::LegLeft(ev) => (
                        ev.call_id.clone(),
                        Context {
                            at: Some(ev.at),
                            left_reason: words::leg_left_reason(ev.reason),
                            left_event: Some(ev.reason),
                            ..Context::plain()
                        },
                        FlashKind::Changed,
                    ),
                    // A transcript line changes the pane, not the row.
                    _ => return effects,
                };
                self.view.touch(&self.floor, &agent_id);
                self.flashes
                    .insert(agent_id, (flash, now.plus_millis(FLASH_MS)));
                effects.extend(self.see_call(&call_id, now));
                effects.extend(self.reconcile_call(&call_id, &context, now));
            }
            Change::CallEnded { agent_id, reason } => {
                self.view.touch(&self.floor, &agent_id);
                self.flashes.insert(
                    agent_id.clone(),
                    (FlashKind::Ended, now.plus_millis(FLASH_MS)),
                );
                if let ServerMessage::CallEnded(ev) = message {
                    effects = self.call_ended(&ev.call_id, &agent_id, ev.at, reason, now);
                }
            }
            Change::Nothing => {}
        }
        self.refresh_selection();
        effects
    }

    /// `call_seen` the first time this console sees a call.
    fn see_call(&mut self, call_id: &str, now: Timestamp) -> Vec<Effect> {
        if self.seen_calls.contains(call_id) {
            return Vec::new();
        }
        let Some(call) = self.floor.calls.get(call_id) else {
            return Vec::new();
        };
        let mut record = self.record(RecordKind::CallSeen, call_id, now);
        record.agent_id = Some(call.agent_id.clone());
        record.agent_name = self
            .floor
            .agents
            .get(&call.agent_id)
            .map(|a| a.name.clone());
        self.seen_calls.insert(call_id.to_owned());
        vec![Effect::observed(record)]
    }

    fn call_ended(
        &mut self,
        call_id: &str,
        agent_id: &str,
        at: Timestamp,
        reason: CallEndReason,
        now: Timestamp,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let agent_name = self.floor.agents.get(agent_id).map(|a| a.name.clone());
        if self.seen_calls.remove(call_id) {
            let mut record = self.record(RecordKind::CallEnded, call_id, now);
            record.agent_id = Some(agent_id.to_owned());
            record.agent_name = agent_name.clone();
            record.server_at = Some(at);
            record.reason = Some(words::call_end_reason(reason).to_owned());
            effects.push(Effect::observed(record));
        }
        let had_leg = self.mine.values().any(|leg| leg.call_id == call_id);
        let context = Context {
            at: Some(at),
            left_reason: "call_ended",
            left_event: Some(LegLeftReason::CallEnded),
            ..Context::plain()
        };
        effects.extend(self.reconcile_call(call_id, &context, now));
        effects.extend(self.fail_stale_joins(now));
        if matches!(&self.dialog, Some(Dialog::EndCall { call_id: id, .. }) if id == call_id) {
            self.dialog = None;
            self.notify(
                Severity::Info,
                format!(
                    "Call {call_id} has already ended ({}).",
                    end_reason_words(reason)
                ),
                now,
            );
        } else if had_leg {
            let who = agent_name.unwrap_or_else(|| agent_id.to_owned());
            self.notify(
                Severity::Info,
                format!(
                    "Call {call_id} with {who} ended ({}): you left with it.",
                    end_reason_words(reason)
                ),
                now,
            );
        }
        effects
    }

    /// Joins in flight on calls the floor no longer has can never complete.
    fn fail_stale_joins(&mut self, now: Timestamp) -> Vec<Effect> {
        let stale: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| {
                p.joining(&p.call_id).is_some() && !self.floor.calls.contains_key(&p.call_id)
            })
            .map(|(req, _)| req.clone())
            .collect();
        let mut effects = Vec::new();
        for req in stale {
            if let Some(pending) = self.pending.remove(&req) {
                let mut record = self.record(RecordKind::JoinFailed, &pending.call_id, now);
                record.agent_id = Some(pending.agent_id);
                record.agent_name = Some(pending.agent_name);
                if let Op::Join { mode } = pending.op {
                    record.mode = Some(mode);
                }
                record.reason = Some("the call ended while joining".into());
                effects.push(Effect::audit(record));
            }
        }
        effects
    }

    /// After a snapshot: calls seen and gone, my legs found and lost.
    fn after_snapshot(&mut self, now: Timestamp) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut new_calls: Vec<String> = self
            .floor
            .calls
            .keys()
            .filter(|id| !self.seen_calls.contains(*id))
            .cloned()
            .collect();
        new_calls.sort();
        for call_id in new_calls {
            effects.extend(self.see_call(&call_id, now));
        }
        let mut vanished: Vec<String> = self
            .seen_calls
            .iter()
            .filter(|id| !self.floor.calls.contains_key(*id))
            .cloned()
            .collect();
        vanished.sort();
        for call_id in vanished {
            self.seen_calls.remove(&call_id);
            let mut record = self.record(RecordKind::CallEnded, &call_id, now);
            record.reason = Some("gone from the server's snapshot".into());
            effects.push(Effect::observed(record));
        }
        effects.extend(self.reconcile_journal(now));
        let Some(me) = self.me.as_ref().map(|me| me.id.clone()) else {
            return effects;
        };
        let mut calls: BTreeSet<String> = self.mine.values().map(|l| l.call_id.clone()).collect();
        for call in self.floor.calls.values() {
            if call
                .supervisor_legs()
                .any(|leg| leg.user_id.as_deref() == Some(me.as_str()))
            {
                calls.insert(call.id.clone());
            }
        }
        let context = Context {
            left_reason: "gone from the server's snapshot",
            unasked_join: "already on the call when the console connected",
            ..Context::plain()
        };
        for call_id in calls {
            effects.extend(self.reconcile_call(&call_id, &context, now));
        }
        effects.extend(self.fail_stale_joins(now));
        effects
    }

    /// Brings my legs on one call in line with the floor: legs that
    /// appeared, changed mode, or left.
    fn reconcile_call(&mut self, call_id: &str, context: &Context, now: Timestamp) -> Vec<Effect> {
        let Some(me) = self.me.as_ref().map(|me| me.id.clone()) else {
            return Vec::new();
        };
        let on_floor: Vec<(String, Mode, u32, Timestamp)> = self
            .floor
            .calls
            .get(call_id)
            .map(|call| {
                call.legs
                    .iter()
                    .filter(|leg| {
                        leg.role == Role::Supervisor && leg.user_id.as_deref() == Some(me.as_str())
                    })
                    .map(|leg| {
                        let mode = leg.mode.unwrap_or(Mode::Silent);
                        (leg.id.clone(), mode, leg.track, leg.joined_at)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut effects = Vec::new();
        for (leg_id, mode, track, joined_at) in &on_floor {
            match self.mine.get(leg_id).map(|leg| leg.mode) {
                None => effects.extend(
                    self.leg_appeared(call_id, leg_id, *mode, *track, *joined_at, context, now),
                ),
                Some(known) if known != *mode => {
                    effects.extend(self.mode_changed(leg_id, *mode, context.at, now));
                }
                Some(_) => {}
            }
        }
        let gone: Vec<String> = self
            .mine
            .values()
            .filter(|leg| {
                leg.call_id == call_id && !on_floor.iter().any(|(id, ..)| id == &leg.leg_id)
            })
            .map(|leg| leg.leg_id.clone())
            .collect();
        for leg_id in gone {
            effects.extend(self.leg_gone(&leg_id, context, now));
        }
        effects
    }

    #[allow(clippy::too_many_arguments)]
    fn leg_appeared(
        &mut self,
        call_id: &str,
        leg_id: &str,
        mode: Mode,
        track: u32,
        joined_at: Timestamp,
        context: &Context,
        now: Timestamp,
    ) -> Vec<Effect> {
        let (agent_id, agent_name) = self.adopt_leg(call_id, leg_id, mode, track, joined_at);
        let req = self.pending_for(|p| matches!(p.op, Op::Join { .. }) && p.call_id == call_id);
        let mut record = self.record(RecordKind::Joined, call_id, now);
        record.agent_id = Some(agent_id);
        record.agent_name = Some(agent_name.clone());
        record.leg_id = Some(leg_id.to_owned());
        record.mode = Some(mode);
        record.server_at = Some(joined_at);
        if req.is_none() {
            record.reason = Some(context.unasked_join.to_owned());
        }
        self.notify(
            Severity::Info,
            format!(
                "You joined {call_id} ({agent_name}) in {} – {}.",
                super::commands::shout(mode),
                super::commands::who_hears(mode)
            ),
            now,
        );
        let then_leave = req
            .as_ref()
            .and_then(|req| self.pending.get(req))
            .is_some_and(|p| p.then_leave);
        let mut effects = self.confirm(req, record);
        if then_leave {
            effects.extend(self.disconnect(leg_id, now));
        }
        effects
    }

    /// Starts showing a leg of mine that the server has, as on; returns
    /// the id and name of the agent whose call it is on.
    pub(super) fn adopt_leg(
        &mut self,
        call_id: &str,
        leg_id: &str,
        mode: Mode,
        track: u32,
        joined_at: Timestamp,
    ) -> (String, String) {
        let agent_id = self
            .floor
            .calls
            .get(call_id)
            .map(|call| call.agent_id.clone())
            .unwrap_or_default();
        let agent_name = self
            .floor
            .agents
            .get(&agent_id)
            .map_or_else(|| agent_id.clone(), |a| a.name.clone());
        self.mine.insert(
            leg_id.to_owned(),
            MyLeg {
                leg_id: leg_id.to_owned(),
                call_id: call_id.to_owned(),
                agent_id: agent_id.clone(),
                agent_name: agent_name.clone(),
                track,
                mode,
                joined_at,
                status: LegStatus::On,
            },
        );
        (agent_id, agent_name)
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
        let req = self.pending_for(
            |p| matches!(&p.op, Op::SetMode { leg_id: id, mode: m } if id == leg_id && *m == mode),
        );
        let mut record = self.record(RecordKind::ModeChanged, &leg.call_id, now);
        record.agent_id = Some(leg.agent_id);
        record.agent_name = Some(leg.agent_name);
        record.leg_id = Some(leg.leg_id);
        record.mode = Some(mode);
        record.server_at = at;
        record.reason = Some(if req.is_some() {
            format!("from {from}")
        } else {
            format!("from {from}, changed from elsewhere")
        });
        self.announce_mode(&leg.call_id, mode, now);
        self.confirm(req, record)
    }

    fn leg_gone(&mut self, leg_id: &str, context: &Context, now: Timestamp) -> Vec<Effect> {
        let Some(leg) = self.mine.remove(leg_id) else {
            return Vec::new();
        };
        // A mode switch for a leg that is gone will not be confirmed.
        self.pending
            .retain(|_, p| !matches!(&p.op, Op::SetMode { leg_id: id, .. } if id == leg_id));
        let req = self
            .pending_for(|p| matches!(&p.op, Op::Disconnect { leg_id: id, .. } if id == leg_id));
        let mut record = self.record(RecordKind::Left, &leg.call_id, now);
        record.agent_id = Some(leg.agent_id.clone());
        record.agent_name = Some(leg.agent_name.clone());
        record.leg_id = Some(leg.leg_id.clone());
        record.mode = Some(leg.mode);
        record.server_at = context.at;
        record.reason = Some(context.left_reason.to_owned());
        match (&req, context.left_event) {
            (Some(_), _) | (None, Some(LegLeftReason::Disconnected)) => self.notify(
                Severity::Info,
                format!("You left {}. The call goes on.", leg.call_id),
                now,
            ),
            // Said by `call_ended` with the call's reason.
            (None, Some(LegLeftReason::CallEnded)) => {}
            (None, Some(reason)) => self.notify(Severity::Warn, words::unasked_leave(reason), now),
            (None, None) => self.notify(
                Severity::Warn,
                format!(
                    "Your leg on {} is gone ({}).",
                    leg.call_id, context.left_reason
                ),
                now,
            ),
        }
        self.confirm(req, record)
    }
}
