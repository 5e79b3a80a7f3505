//! What the feed reports: connection changes, replies, and state messages
//! applied to the floor, with the audit records and highlights they imply.

use super::legs::Context;
use super::words;
use super::{App, Dialog, Effect, FLASH_MS, FlashKind, Link, Severity, rtt_shown};
use crate::audit::RecordKind;
use crate::feed::FeedEvent;
use floorwalk_protocol::{CallEndReason, LegLeftReason, NoticeLevel, ServerMessage, Timestamp};
use floorwalk_state::{Applied, Change};
use std::collections::BTreeSet;

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
                self.forget_floor_status();
                self.was_live = true;
                self.dirty = true;
                Vec::new()
            }
            FeedEvent::Rtt(rtt) => {
                if let Link::Live { rtt: shown } = &mut self.link {
                    // Jitter of a millisecond or two is not worth a frame.
                    if shown.map(rtt_shown) != Some(rtt_shown(rtt)) {
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
                match message {
                    ServerMessage::Notice(notice) => {
                        let severity = match notice.level {
                            NoticeLevel::Info => Severity::Info,
                            NoticeLevel::Warn | NoticeLevel::Unknown => Severity::Warn,
                            NoticeLevel::Error => Severity::Error,
                        };
                        self.notify(severity, format!("Server: {}", notice.text), now);
                    }
                    ServerMessage::FloorStatus(status) => self.on_floor_status(status, now),
                    _ => {}
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
                        Context::at(ev.leg.joined_at),
                        FlashKind::Changed,
                    ),
                    ServerMessage::LegChanged(ev) => {
                        (ev.call_id.clone(), Context::at(ev.at), FlashKind::Changed)
                    }
                    ServerMessage::LegLeft(ev) => (
                        ev.call_id.clone(),
                        Context {
                            left_reason: words::leg_left_reason(ev.reason),
                            left_event: Some(ev.reason),
                            ..Context::at(ev.at)
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
            left_reason: "call_ended",
            left_event: Some(LegLeftReason::CallEnded),
            ..Context::at(at)
        };
        effects.extend(self.reconcile_call(call_id, &context, now));
        self.rejoins.ended(call_id);
        effects.extend(self.fail_stale_joins(now));
        let why = end_reason_words(reason);
        if matches!(&self.dialog, Some(Dialog::EndCall { call_id: id, .. } | Dialog::Rejoin { call_id: id, .. }) if id == call_id)
        {
            self.dialog = None;
            let text = format!("Call {call_id} has already ended ({why}).");
            self.notify(Severity::Info, text, now);
        } else if had_leg {
            let who = agent_name.unwrap_or_else(|| agent_id.to_owned());
            let text = format!("Call {call_id} with {who} ended ({why}): you left with it.");
            self.notify(Severity::Info, text, now);
        }
        effects
    }

    /// Joins in flight on calls the floor no longer has can never complete.
    fn fail_stale_joins(&mut self, now: Timestamp) -> Vec<Effect> {
        let calls = &self.floor.calls;
        let stale = self
            .ledger
            .close_joins_on(|call_id| !calls.contains_key(call_id));
        for join in &stale {
            self.rotation_hop_failed(&join.call_id, now);
        }
        stale
            .iter()
            .map(|join| {
                let mut record = self.command_record(RecordKind::JoinFailed, join, now);
                record.reason = Some("the call ended while joining".into());
                Effect::audit(record)
            })
            .collect()
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
        if self.me.is_none() {
            return effects;
        }
        let mut calls: BTreeSet<String> = self.mine.values().map(|l| l.call_id.clone()).collect();
        let with_mine = (self.floor.calls.values())
            .filter(|call| call.legs.iter().any(|leg| self.is_mine(leg)));
        calls.extend(with_mine.map(|call| call.id.clone()));
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
}
