//! Commands to the server and their replies. A command's confirmation has two
//! halves, the reply (with its latency) and the state event (with the server's
//! time), arriving in either order. The audit record is written with the
//! state event, the moment the screen shows the change: with the reply's
//! latency when the reply came first, else with the time from the key to the
//! event. Nothing the screen shows as done waits for a reply to be journaled.

use super::ledger::{Op, Outstanding};
use super::rejoin::JoinKind;
use super::words::{self, Attempt, shout};
use super::{Action, App, Button, Dialog, Effect, LegStatus, MyLeg, Severity};
use crate::audit::{Record, RecordKind};
use crate::config::RejoinRule;
use crate::feed::CommandFailure;
use floorwalk_protocol::{Call, ClientMessage, Mode, MonitorResult, Timestamp};
use std::time::Duration;

/// Whether the supervisor has confirmed that the customer will hear the
/// monitoring notice (the rejoin dialog).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Notice {
    Unasked,
    Confirmed,
}

fn attempt(op: &Op) -> Attempt {
    match op {
        Op::Join { .. } => Attempt::Join,
        Op::SetMode { .. } => Attempt::SwitchMode,
        Op::Disconnect { .. } => Attempt::Leave,
        Op::EndCall => Attempt::EndCall,
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
        let Some(call_id) = self.floor.call_of_agent(&agent_id).map(|c| c.id.clone()) else {
            let text = format!("{} is not on a call.", self.agent_name(&agent_id));
            self.notify(Severity::Warn, text, now);
            return Vec::new();
        };
        self.join_call(&call_id, mode, Notice::Unasked, now)
    }

    /// The one way onto a call (every key and path that joins comes here):
    /// join `call_id` in `mode`, or switch mode when already on it. A rejoin
    /// that `[compliance]` wants announced first asks the supervisor
    /// (`Notice::Unasked`), and goes out with `announce` once confirmed.
    pub(super) fn join_call(
        &mut self,
        call_id: &str,
        mode: Mode,
        notice: Notice,
        now: Timestamp,
    ) -> Vec<Effect> {
        let Some(call) = self.floor.calls.get(call_id) else {
            let text = format!("Call {call_id} has already ended.");
            self.notify(Severity::Info, text, now);
            return Vec::new();
        };
        let agent_id = call.agent_id.clone();
        let rule = self.rejoin_rule(call);
        let agent_name = self.agent_name(&agent_id);
        let call_id = call_id.to_owned();
        if !self.ensure_live(Attempt::Join, now) {
            return Vec::new();
        }
        if let Some(leg) = self.my_leg_on(&call_id) {
            let (leg_id, current, status) = (leg.leg_id.clone(), leg.mode, leg.status);
            let (severity, text) = match status {
                LegStatus::Leaving | LegStatus::Gone => (
                    Severity::Warn,
                    format!("You are leaving {call_id}: wait for the server, then join again."),
                ),
                LegStatus::Switching { to } if to == mode => (
                    Severity::Info,
                    format!("Already switching to {}.", shout(mode)),
                ),
                LegStatus::On if current == mode => (
                    Severity::Info,
                    format!("You are already in {} on {call_id}.", shout(mode)),
                ),
                LegStatus::On | LegStatus::Switching { .. } => {
                    return self.set_mode(&leg_id, mode, now);
                }
            };
            self.notify(severity, text, now);
            return Vec::new();
        }
        if self.ledger.joining(&call_id).is_some() {
            let text = format!("Already joining {call_id}: waiting for the server.");
            self.notify(Severity::Info, text, now);
            return Vec::new();
        }
        let elsewhere = self
            .my_legs()
            .map(|leg| (leg.call_id.clone(), leg.agent_name.clone()))
            .next()
            .or_else(|| {
                let join = self.ledger.any_join()?;
                Some((join.call_id.clone(), join.agent_name.clone()))
            });
        if let Some((other, other_agent)) = elsewhere {
            let leave = self.key_label(Action::Disconnect);
            let text = format!(
                "You are on call {other} ({other_agent}): press {leave} to leave it first."
            );
            self.notify(Severity::Warn, text, now);
            return Vec::new();
        }
        let rejoin = match self.rejoins.assess(&call_id, mode, rule, now) {
            JoinKind::First | JoinKind::Continuing => None,
            JoinKind::Rejoin { announce: false } => Some(false),
            JoinKind::Rejoin { announce: true } if notice == Notice::Confirmed => Some(true),
            JoinKind::Rejoin { announce: true } => {
                self.dialog = Some(Dialog::Rejoin {
                    call_id,
                    agent_name,
                    mode,
                    focus: Button::Cancel,
                });
                return Vec::new();
            }
        };
        if rejoin == Some(true) {
            let text = format!("Rejoining {call_id}: the customer hears the monitoring notice…");
            self.notify(Severity::Info, text, now);
        }
        self.send_join(call_id, agent_id, &agent_name, mode, rejoin, now)
    }

    /// `[compliance]`'s rejoin rule for `call` (its queue's, else its team's).
    pub(super) fn rejoin_rule(&self, call: &Call) -> RejoinRule {
        self.settings.compliance.rule(
            self.floor
                .agents
                .get(&call.agent_id)
                .map(|a| a.team.as_str()),
            call.queue.as_deref(),
        )
    }

    /// Sends a join the rules have allowed (`rejoin`: whether it is a rejoin,
    /// and whether it is announced).
    pub(super) fn send_join(
        &mut self,
        call_id: String,
        agent_id: String,
        agent_name: &str,
        mode: Mode,
        rejoin: Option<bool>,
        now: Timestamp,
    ) -> Vec<Effect> {
        // While the journal fails, a join still goes out as record first,
        // command second: the executor sends the command only once the record
        // is on disk, so each attempt finds out whether the disk has room again.
        let op = Op::Join { mode, rejoin };
        let command = Outstanding::new(op, &call_id, &agent_id, agent_name, now);
        self.dirty = true;
        self.request(command, RecordKind::JoinRequested, now, |req| {
            Effect::send(ClientMessage::Monitor {
                req,
                call_id,
                mode,
                announce: rejoin == Some(true),
            })
        })
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
        let command = Outstanding::new(op, &leg.call_id, &leg.agent_id, &leg.agent_name, now);
        let req = self.ledger.open(command);
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
        let mut targets: Vec<&MyLeg> = self.my_legs().collect();
        if let Some(call_id) = &pane_call
            && targets.iter().any(|leg| &leg.call_id == call_id)
        {
            targets.retain(|leg| &leg.call_id == call_id);
        }
        if targets.is_empty() {
            let text = if self.ledger.leave_joins_on_arrival() {
                "Still joining: you will leave as soon as the leg is up."
            } else {
                "You are not on any call: there is nothing to leave."
            };
            self.notify(Severity::Info, text, now);
            return Vec::new();
        }
        if targets.iter().all(|leg| leg.status == LegStatus::Leaving) {
            let call = targets.first().map_or("", |leg| leg.call_id.as_str());
            let text = format!("Already leaving {call}: waiting for the server.");
            self.notify(Severity::Info, text, now);
            return Vec::new();
        }
        let legs: Vec<String> = targets
            .into_iter()
            .filter(|leg| leg.status != LegStatus::Leaving)
            .map(|leg| leg.leg_id.clone())
            .collect();
        if !self.ensure_live(Attempt::Leave, now) {
            return Vec::new();
        }
        legs.iter()
            .flat_map(|leg| self.disconnect(leg, now))
            .collect()
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
        let op = Op::Disconnect {
            leg_id: leg_id.to_owned(),
            mode: leg.mode,
        };
        let command = Outstanding::new(op, &leg.call_id, &leg.agent_id, &leg.agent_name, now);
        self.notify(Severity::Info, format!("Leaving {}…", command.call_id), now);
        let leg_id = leg_id.to_owned();
        self.request(command, RecordKind::DisconnectRequested, now, |req| {
            Effect::leave(ClientMessage::Disconnect { req, leg_id })
        })
    }

    /// The confirmed end-call dialog: end the call for everyone.
    pub(super) fn end_call(&mut self, call_id: &str, now: Timestamp) -> Vec<Effect> {
        let Some(call) = self.floor.calls.get(call_id) else {
            let text = format!("Call {call_id} has already ended.");
            self.notify(Severity::Info, text, now);
            return Vec::new();
        };
        let agent_id = call.agent_id.clone();
        if !self.ensure_live(Attempt::EndCall, now) {
            return Vec::new();
        }
        let agent_name = self.agent_name(&agent_id);
        let command = Outstanding::new(Op::EndCall, call_id, &agent_id, &agent_name, now);
        let text = format!("Ending call {call_id} for everyone…");
        self.notify(Severity::Warn, text, now);
        self.request(command, RecordKind::EndCallRequested, now, |req| {
            Effect::send(ClientMessage::EndCall {
                req,
                call_id: call_id.to_owned(),
                confirm: call_id.to_owned(),
            })
        })
    }

    /// Enters a command in the ledger: its `..._requested` record, then its
    /// message (made with its request id). The record is on disk before the
    /// message goes.
    pub(super) fn request(
        &mut self,
        command: Outstanding,
        kind: RecordKind,
        now: Timestamp,
        message: impl FnOnce(String) -> Effect,
    ) -> Vec<Effect> {
        let record = self.command_record(kind, &command, now);
        let req = self.ledger.open(command);
        vec![Effect::audit(record), message(req)]
    }

    /// Whether the console is live; when it is not, says nothing was sent.
    pub(super) fn ensure_live(&mut self, attempt: Attempt, now: Timestamp) -> bool {
        if self.is_live() {
            return true;
        }
        let text = words::failure(&CommandFailure::Offline, attempt);
        self.notify(Severity::Error, text, now);
        false
    }

    /// The reply to one of my commands.
    pub(super) fn on_reply(
        &mut self,
        req: &str,
        outcome: Result<serde_json::Value, CommandFailure>,
        latency: Duration,
        now: Timestamp,
    ) -> Vec<Effect> {
        if let Some(rejoin) = self.ledger.unanswered_rejoin(req) {
            // The leg is on already; without a reply, the notice is not
            // known to have played.
            let result = outcome.unwrap_or_default();
            return self.on_success(req, rejoin, &result, now);
        }
        if self.ledger.get(req).is_none() {
            return Vec::new();
        }
        self.dirty = true;
        match outcome {
            Ok(result) => {
                let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
                match self.ledger.answered(req, latency_ms).cloned() {
                    Some(command) => self.on_success(req, command, &result, now),
                    None => Vec::new(),
                }
            }
            Err(failure) => match self.ledger.close(req) {
                Some(command) => self.on_failure(command, &failure, now),
                None => Vec::new(),
            },
        }
    }

    fn on_success(
        &mut self,
        req: &str,
        command: Outstanding,
        result: &serde_json::Value,
        now: Timestamp,
    ) -> Vec<Effect> {
        match command.op {
            Op::Join {
                rejoin: Some(asked),
                ..
            } => return self.rejoined(&command, asked, result, now),
            Op::Join { .. } | Op::SetMode { .. } => {}
            // Confirmed: the presence indicator goes now; the `left` record
            // waits for the server's leg_left.
            Op::Disconnect { leg_id, .. } => match self.mine.get_mut(&leg_id) {
                Some(leg) => leg.status = LegStatus::Gone,
                None => {
                    self.ledger.close(req);
                }
            },
            Op::EndCall => {
                self.ledger.close(req);
                let text = format!("Call {} was ended for everyone.", command.call_id);
                self.notify(Severity::Info, text, now);
            }
        }
        Vec::new()
    }

    /// A rejoin the server carried out: journaled with whether the notice
    /// played. One asked with the notice that the server did not announce
    /// (a server that does not know `announce`) is left at once.
    fn rejoined(
        &mut self,
        command: &Outstanding,
        asked: bool,
        result: &serde_json::Value,
        now: Timestamp,
    ) -> Vec<Effect> {
        let joined = serde_json::from_value::<MonitorResult>(result.clone()).ok();
        let announced = joined.as_ref().is_some_and(|j| j.announced);
        let mut record = self.command_record(RecordKind::Rejoin, command, now);
        record.leg_id = joined.as_ref().map(|j| j.leg_id.clone());
        record.announced = Some(announced);
        let mut effects = vec![Effect::audit(record)];
        if asked && !announced {
            let call_id = &command.call_id;
            let text = format!(
                "The server did not play the monitoring notice on {call_id}: leaving the call."
            );
            self.notify(Severity::Error, text, now);
            let leg = joined.and_then(|j| self.mine.contains_key(&j.leg_id).then_some(j.leg_id));
            match leg {
                Some(leg_id) => effects.extend(self.disconnect(&leg_id, now)),
                None => {
                    self.ledger.leave_joins_on_arrival();
                }
            }
        }
        effects
    }

    fn on_failure(
        &mut self,
        command: Outstanding,
        failure: &CommandFailure,
        now: Timestamp,
    ) -> Vec<Effect> {
        let text = words::failure(failure, attempt(&command.op));
        self.notify(Severity::Error, text, now);
        let kind = match &command.op {
            Op::Join { .. } => {
                self.rotation_hop_failed(&command.call_id, now);
                RecordKind::JoinFailed
            }
            Op::SetMode { leg_id, .. } => {
                if let Some(leg) = self.mine.get_mut(leg_id)
                    && matches!(leg.status, LegStatus::Switching { .. })
                {
                    leg.status = LegStatus::On;
                }
                return Vec::new();
            }
            Op::Disconnect { leg_id, .. } => {
                // Still on the call: show the leg again.
                if let Some(leg) = self.mine.get_mut(leg_id) {
                    leg.status = LegStatus::On;
                }
                RecordKind::DisconnectFailed
            }
            Op::EndCall => RecordKind::EndCallFailed,
        };
        let mut record = self.command_record(kind, &command, now);
        record.reason = Some(words::failure_reason(failure));
        vec![Effect::audit(record)]
    }

    /// Files the confirming half that came from a state event, now, with
    /// the command's latency (see [`Outstanding::latency_at`]). The command
    /// is done: a reply still to come changes nothing (the state is the
    /// truth). Without a matching command (someone else's doing), it is
    /// written as is.
    pub(super) fn confirm(&mut self, req: Option<String>, mut record: Record) -> Vec<Effect> {
        if let Some(command) = req.and_then(|req| self.ledger.settle(&req)) {
            record.latency_ms = Some(command.latency_at(record.at));
        }
        vec![Effect::audit(record)]
    }

    /// A record about a command: its call and agent, and the leg and mode
    /// it was for.
    pub(super) fn command_record(
        &self,
        kind: RecordKind,
        command: &Outstanding,
        now: Timestamp,
    ) -> Record {
        let mut record = self.record(kind, &command.call_id, now);
        record.agent_id = Some(command.agent_id.clone());
        record.agent_name = Some(command.agent_name.clone());
        match &command.op {
            Op::Join { mode, .. } => record.mode = Some(*mode),
            Op::SetMode { leg_id, mode } | Op::Disconnect { leg_id, mode } => {
                record.leg_id = Some(leg_id.clone());
                record.mode = Some(*mode);
            }
            Op::EndCall => {}
        }
        record
    }
}
