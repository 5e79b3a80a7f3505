//! Commands to the server and their replies. A command's confirmation has two
//! halves, the reply (with its latency) and the state event (with the server's
//! time), arriving in either order. The audit record is written with the
//! state event, the moment the screen shows the change: with the reply's
//! latency when the reply came first, else with the time from the key to the
//! event. Nothing the screen shows as done waits for a reply to be journaled.

use super::words::{self, Attempt};
use super::{App, Effect, LegStatus, Severity};
use crate::audit::{Record, RecordKind};
use crate::feed::CommandFailure;
use floorwalk_protocol::{ClientMessage, Mode, Timestamp};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Op {
    Join { mode: Mode },
    SetMode { leg_id: String, mode: Mode },
    Disconnect { leg_id: String, mode: Mode },
    EndCall,
}

/// A command sent and not yet fully confirmed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Pending {
    pub op: Op,
    pub call_id: String,
    pub agent_id: String,
    pub agent_name: String,
    /// When the command was made (the console's clock).
    pub sent_at: Timestamp,
    /// Set when the reply came back ok.
    pub latency_ms: Option<u64>,
    /// For a join: leave as soon as the leg appears (`d` or quit while joining).
    pub then_leave: bool,
}

impl Pending {
    fn new(op: Op, call_id: &str, agent_id: &str, agent_name: &str, now: Timestamp) -> Pending {
        Pending {
            op,
            call_id: call_id.to_owned(),
            agent_id: agent_id.to_owned(),
            agent_name: agent_name.to_owned(),
            sent_at: now,
            latency_ms: None,
            then_leave: false,
        }
    }

    /// A disconnect not yet answered, or a join that is to be left once it
    /// lands: either way a leg of mine may still be on the server.
    pub fn holds_a_leave(&self) -> bool {
        match self.op {
            Op::Disconnect { .. } => self.latency_ms.is_none(),
            Op::Join { .. } => self.then_leave,
            Op::SetMode { .. } | Op::EndCall => false,
        }
    }

    /// A disconnect whose `leg_left` is still to come (its `left` record
    /// goes with it), or a join that is to be left once it lands.
    pub fn leave_unrecorded(&self) -> bool {
        match self.op {
            Op::Disconnect { .. } => true,
            Op::Join { .. } => self.then_leave,
            Op::SetMode { .. } | Op::EndCall => false,
        }
    }

    pub fn joining(&self, call_id: &str) -> Option<Mode> {
        match self.op {
            Op::Join { mode } if self.call_id == call_id => Some(mode),
            _ => None,
        }
    }

    fn attempt(&self) -> Attempt {
        match self.op {
            Op::Join { .. } => Attempt::Join,
            Op::SetMode { .. } => Attempt::SwitchMode,
            Op::Disconnect { .. } => Attempt::Leave,
            Op::EndCall => Attempt::EndCall,
        }
    }
}

pub(super) fn shout(mode: Mode) -> &'static str {
    match mode {
        Mode::Silent => "SILENT",
        Mode::Whisper => "WHISPER",
        Mode::Barge => "BARGE",
    }
}

/// Who hears the supervisor in a mode, for notices.
pub(super) fn who_hears(mode: Mode) -> &'static str {
    match mode {
        Mode::Silent => "nobody hears you",
        Mode::Whisper => "only the agent hears you when you talk",
        Mode::Barge => "the agent and the customer hear you when you talk",
    }
}

impl App {
    /// `m`, `w`, `b` on the selected agent's call: join it, or switch mode
    /// when already on it.
    pub(super) fn join_selected(&mut self, mode: Mode, now: Timestamp) -> Vec<Effect> {
        let Some(agent_id) = self.selected.clone() else {
            self.notify(Severity::Warn, "No agent selected.", now);
            return Vec::new();
        };
        let agent_name = self
            .floor
            .agents
            .get(&agent_id)
            .map_or_else(|| agent_id.clone(), |a| a.name.clone());
        let Some(call_id) = self.floor.call_of_agent(&agent_id).map(|c| c.id.clone()) else {
            self.notify(
                Severity::Warn,
                format!("{agent_name} is not on a call."),
                now,
            );
            return Vec::new();
        };
        if !self.is_live() {
            self.notify(
                Severity::Error,
                words::failure(&CommandFailure::Offline, Attempt::Join),
                now,
            );
            return Vec::new();
        }
        if let Some(leg) = self.my_leg_on(&call_id) {
            let (leg_id, current, status) = (leg.leg_id.clone(), leg.mode, leg.status);
            return match status {
                LegStatus::Leaving | LegStatus::Gone => {
                    self.notify(
                        Severity::Warn,
                        format!("You are leaving {call_id}: wait for the server, then join again."),
                        now,
                    );
                    Vec::new()
                }
                LegStatus::Switching { to } if to == mode => {
                    self.notify(
                        Severity::Info,
                        format!("Already switching to {}.", shout(mode)),
                        now,
                    );
                    Vec::new()
                }
                LegStatus::On if current == mode => {
                    self.notify(
                        Severity::Info,
                        format!("You are already in {} on {call_id}.", shout(mode)),
                        now,
                    );
                    Vec::new()
                }
                LegStatus::On | LegStatus::Switching { .. } => self.set_mode(&leg_id, mode, now),
            };
        }
        if self.joining(&call_id).is_some() {
            self.notify(
                Severity::Info,
                format!("Already joining {call_id}: waiting for the server."),
                now,
            );
            return Vec::new();
        }
        let elsewhere = self
            .my_legs()
            .map(|leg| (leg.call_id.clone(), leg.agent_name.clone()))
            .next()
            .or_else(|| {
                self.pending
                    .values()
                    .find(|p| matches!(p.op, Op::Join { .. }))
                    .map(|p| (p.call_id.clone(), p.agent_name.clone()))
            });
        if let Some((other, other_agent)) = elsewhere {
            let leave = self.key_label(super::Action::Disconnect);
            self.notify(
                Severity::Warn,
                format!(
                    "You are on call {other} ({other_agent}): press {leave} to leave it first."
                ),
                now,
            );
            return Vec::new();
        }
        // While the journal fails, a join still goes out as record first,
        // command second: the executor sends the command only once the record
        // is on disk, so each attempt finds out whether the disk has room again.
        let req = self.next_req();
        let mut record = self.record(RecordKind::JoinRequested, &call_id, now);
        record.agent_id = Some(agent_id.clone());
        record.agent_name = Some(agent_name.clone());
        record.mode = Some(mode);
        self.pending.insert(
            req.clone(),
            Pending::new(Op::Join { mode }, &call_id, &agent_id, &agent_name, now),
        );
        self.dirty = true;
        vec![
            Effect::audit(record),
            Effect::send(ClientMessage::Monitor { req, call_id, mode }),
        ]
    }

    fn set_mode(&mut self, leg_id: &str, mode: Mode, now: Timestamp) -> Vec<Effect> {
        let Some(leg) = self.mine.get_mut(leg_id) else {
            return Vec::new();
        };
        leg.status = LegStatus::Switching { to: mode };
        let op = Op::SetMode {
            leg_id: leg_id.to_owned(),
            mode,
        };
        let pending = Pending::new(op, &leg.call_id, &leg.agent_id, &leg.agent_name, now);
        let req = self.next_req();
        self.pending.insert(req.clone(), pending);
        self.notify(
            Severity::Info,
            format!("Switching to {}…", shout(mode)),
            now,
        );
        vec![Effect::send(ClientMessage::SetMode {
            req,
            leg_id: leg_id.to_owned(),
            mode,
        })]
    }

    /// `d`: leave my leg on the call in the call pane; when I have none
    /// there, leave my legs wherever they are (leaving is always safe).
    pub(super) fn leave_pressed(&mut self, now: Timestamp) -> Vec<Effect> {
        let pane_call = self.pane_call().map(|c| c.id.clone());
        let mut targets: Vec<&super::MyLeg> = self.my_legs().collect();
        if let Some(call_id) = &pane_call
            && targets.iter().any(|leg| &leg.call_id == call_id)
        {
            targets.retain(|leg| &leg.call_id == call_id);
        }
        if targets.is_empty() {
            if self.leave_joins_on_arrival() {
                self.notify(
                    Severity::Info,
                    "Still joining: you will leave as soon as the leg is up.",
                    now,
                );
            } else {
                self.notify(
                    Severity::Info,
                    "You are not on any call: there is nothing to leave.",
                    now,
                );
            }
            return Vec::new();
        }
        if targets.iter().all(|leg| leg.status == LegStatus::Leaving) {
            let call = targets
                .first()
                .map_or("", |leg| leg.call_id.as_str())
                .to_owned();
            self.notify(
                Severity::Info,
                format!("Already leaving {call}: waiting for the server."),
                now,
            );
            return Vec::new();
        }
        let legs: Vec<String> = targets
            .into_iter()
            .filter(|leg| leg.status != LegStatus::Leaving)
            .map(|leg| leg.leg_id.clone())
            .collect();
        if !self.is_live() {
            self.notify(
                Severity::Error,
                words::failure(&CommandFailure::Offline, Attempt::Leave),
                now,
            );
            return Vec::new();
        }
        legs.iter()
            .flat_map(|leg| self.disconnect(leg, now))
            .collect()
    }

    /// Marks every join in flight to be left the moment its leg appears;
    /// `false` when there is none.
    pub(super) fn leave_joins_on_arrival(&mut self) -> bool {
        let mut any = false;
        for pending in self.pending.values_mut() {
            if pending.joining(&pending.call_id).is_some() {
                pending.then_leave = true;
                any = true;
            }
        }
        any
    }

    /// Marks the leg as leaving (the microphone stops now) and asks the
    /// server to drop it.
    pub(super) fn disconnect(&mut self, leg_id: &str, now: Timestamp) -> Vec<Effect> {
        if !self.is_live() {
            return Vec::new();
        }
        let Some(leg) = self.mine.get_mut(leg_id) else {
            return Vec::new();
        };
        leg.status = LegStatus::Leaving;
        let leg = leg.clone();
        let req = self.next_req();
        let mut record = self.record(RecordKind::DisconnectRequested, &leg.call_id, now);
        record.agent_id = Some(leg.agent_id.clone());
        record.agent_name = Some(leg.agent_name.clone());
        record.leg_id = Some(leg.leg_id.clone());
        record.mode = Some(leg.mode);
        let op = Op::Disconnect {
            leg_id: leg.leg_id.clone(),
            mode: leg.mode,
        };
        let pending = Pending::new(op, &leg.call_id, &leg.agent_id, &leg.agent_name, now);
        self.pending.insert(req.clone(), pending);
        self.notify(Severity::Info, format!("Leaving {}…", leg.call_id), now);
        vec![
            Effect::audit(record),
            Effect::leave(ClientMessage::Disconnect {
                req,
                leg_id: leg.leg_id,
            }),
        ]
    }

    /// The confirmed end-call dialog: end the call for everyone.
    pub(super) fn end_call(&mut self, call_id: &str, now: Timestamp) -> Vec<Effect> {
        let Some(call) = self.floor.calls.get(call_id) else {
            self.notify(
                Severity::Info,
                format!("Call {call_id} has already ended."),
                now,
            );
            return Vec::new();
        };
        if !self.is_live() {
            self.notify(
                Severity::Error,
                words::failure(&CommandFailure::Offline, Attempt::EndCall),
                now,
            );
            return Vec::new();
        }
        let agent_id = call.agent_id.clone();
        let agent_name = self
            .floor
            .agents
            .get(&agent_id)
            .map_or_else(|| agent_id.clone(), |a| a.name.clone());
        let req = self.next_req();
        let mut record = self.record(RecordKind::EndCallRequested, call_id, now);
        record.agent_id = Some(agent_id.clone());
        record.agent_name = Some(agent_name.clone());
        self.pending.insert(
            req.clone(),
            Pending::new(Op::EndCall, call_id, &agent_id, &agent_name, now),
        );
        self.notify(
            Severity::Warn,
            format!("Ending call {call_id} for everyone…"),
            now,
        );
        vec![
            Effect::audit(record),
            Effect::send(ClientMessage::EndCall {
                req,
                call_id: call_id.to_owned(),
                confirm: call_id.to_owned(),
            }),
        ]
    }

    /// The reply to one of my commands.
    pub(super) fn on_reply(
        &mut self,
        req: &str,
        outcome: Result<serde_json::Value, CommandFailure>,
        latency: Duration,
        now: Timestamp,
    ) -> Vec<Effect> {
        let Some(pending) = self.pending.get_mut(req) else {
            return Vec::new();
        };
        self.dirty = true;
        let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        match outcome {
            Ok(_) => {
                pending.latency_ms = Some(latency_ms);
                match pending.op.clone() {
                    Op::Join { .. } | Op::SetMode { .. } => {}
                    Op::Disconnect { leg_id, .. } => {
                        // Confirmed: the presence indicator goes now; the
                        // `left` record waits for the server's leg_left.
                        match self.mine.get_mut(&leg_id) {
                            Some(leg) => leg.status = LegStatus::Gone,
                            None => {
                                self.pending.remove(req);
                            }
                        }
                    }
                    Op::EndCall => {
                        let call_id = pending.call_id.clone();
                        self.pending.remove(req);
                        self.notify(
                            Severity::Info,
                            format!("Call {call_id} was ended for everyone."),
                            now,
                        );
                    }
                }
                Vec::new()
            }
            Err(failure) => {
                let Some(pending) = self.pending.remove(req) else {
                    return Vec::new();
                };
                self.notify(
                    Severity::Error,
                    words::failure(&failure, pending.attempt()),
                    now,
                );
                let kind = match &pending.op {
                    Op::Join { .. } => Some(RecordKind::JoinFailed),
                    Op::SetMode { leg_id, .. } => {
                        if let Some(leg) = self.mine.get_mut(leg_id)
                            && matches!(leg.status, LegStatus::Switching { .. })
                        {
                            leg.status = LegStatus::On;
                        }
                        None
                    }
                    Op::Disconnect { leg_id, .. } => {
                        // Still on the call: show the leg again.
                        if let Some(leg) = self.mine.get_mut(leg_id) {
                            leg.status = LegStatus::On;
                        }
                        Some(RecordKind::DisconnectFailed)
                    }
                    Op::EndCall => Some(RecordKind::EndCallFailed),
                };
                let Some(kind) = kind else {
                    return Vec::new();
                };
                let mut record = self.record(kind, &pending.call_id, now);
                record.agent_id = Some(pending.agent_id);
                record.agent_name = Some(pending.agent_name);
                record.reason = Some(words::failure_reason(&failure));
                match pending.op {
                    Op::Join { mode } => record.mode = Some(mode),
                    Op::Disconnect { leg_id, mode } => {
                        record.leg_id = Some(leg_id);
                        record.mode = Some(mode);
                    }
                    Op::SetMode { .. } | Op::EndCall => {}
                }
                vec![Effect::audit(record)]
            }
        }
    }

    /// Files the confirming half that came from a state event, now, with
    /// the command's latency: the reply's when it came first, else from the
    /// key to this event (the record's `at`). The command is done: a reply
    /// still to come changes nothing (the state is the truth). Without a
    /// matching command (someone else's doing), it is written as is.
    pub(super) fn confirm(&mut self, req: Option<String>, record: Record) -> Vec<Effect> {
        let Some(pending) = req.and_then(|req| self.pending.remove(&req)) else {
            return vec![Effect::audit(record)];
        };
        let mut record = record;
        record.latency_ms = Some(pending.latency_ms.unwrap_or_else(|| {
            u64::try_from(record.at.millis_since(pending.sent_at)).unwrap_or(0)
        }));
        vec![Effect::audit(record)]
    }

    /// The pending command a state event confirms.
    pub(super) fn pending_for(&self, wanted: impl Fn(&Pending) -> bool) -> Option<String> {
        self.pending
            .iter()
            .find(|(_, p)| wanted(p))
            .map(|(req, _)| req.clone())
    }

    pub(super) fn announce_mode(&mut self, call_id: &str, mode: Mode, now: Timestamp) {
        self.notify(
            Severity::Info,
            format!("{call_id}: now {} ({}).", shout(mode), who_hears(mode)),
            now,
        );
    }
}
