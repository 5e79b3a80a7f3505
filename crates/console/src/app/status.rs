//! The console's status as the screen shows it, besides the floor and my
//! legs: the connection, the contact center behind the server, dialogs, row
//! highlights, the message line and the journal's health.

use super::{App, Effect};
use floorwalk_protocol::{FloorStatus, Mode, Reachability, Timestamp};
use std::time::Duration;

/// How long a row keeps its highlight after its call started, changed or ended.
pub const FLASH_MS: i64 = 1500;
/// How long an info notice stays; warnings stay twice as long.
const NOTICE_MS: i64 = 6000;
/// An error is not pushed aside by a lesser notice for this long.
const ERROR_HOLD_MS: i64 = 10_000;

/// The connection as the supervisor sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    /// Nothing heard from the feed yet.
    Starting,
    Connecting {
        attempt: u32,
        /// Local time of the next attempt.
        retry_at: Timestamp,
        last_error: Option<String>,
    },
    Live {
        rtt: Option<Duration>,
    },
    /// The server refused us for good.
    Fatal(String),
}

/// The round trip as shown, in milliseconds: exact below 10 ms, then in
/// steps of 5 ms (and 50 ms from half a second), so ordinary jitter does not
/// redraw the header every heartbeat.
pub fn rtt_shown(rtt: Duration) -> u128 {
    let ms = rtt.as_millis();
    match ms {
        0..10 => ms,
        10..500 => ms - ms % 5,
        _ => ms - ms % 50,
    }
}

/// A dialog over the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    Help,
    EndCall {
        call_id: String,
        agent_name: String,
        /// As the server sent it (the views mask it).
        customer: String,
        focus: Button,
    },
    Quit {
        calls: Vec<String>,
        focus: Button,
    },
    /// Rejoining a call I left, where `[compliance]` wants the customer to
    /// hear the monitoring notice: confirm, or not join.
    Rejoin {
        call_id: String,
        agent_name: String,
        mode: Mode,
        focus: Button,
    },
}

/// The two buttons of a confirmation dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Cancel,
    Confirm,
}

impl Button {
    pub fn other(self) -> Button {
        match self {
            Button::Cancel => Button::Confirm,
            Button::Confirm => Button::Cancel,
        }
    }
}

/// Why a row is highlighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Started,
    Changed,
    Ended,
}

/// How serious a message on the message line is (ordered: an error
/// outranks a warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warn,
    Error,
}

/// The message line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub severity: Severity,
    pub text: String,
    pub at: Timestamp,
}

impl Notice {
    /// Whether it is still shown at `now` (errors stay until dismissed).
    pub fn live(&self, now: Timestamp) -> bool {
        match self.severity {
            Severity::Info => now.millis_since(self.at) < NOTICE_MS,
            Severity::Warn => now.millis_since(self.at) < 2 * NOTICE_MS,
            Severity::Error => true,
        }
    }
}

impl App {
    /// Shows a warning from outside the app (the configuration, the
    /// connection set-up) on the message line.
    pub fn warn(&mut self, text: impl Into<String>, now: Timestamp) {
        self.notify(Severity::Warn, text, now);
    }

    pub(super) fn notify(&mut self, severity: Severity, text: impl Into<String>, now: Timestamp) {
        // A fresh error is not pushed aside by lesser news.
        if let Some(current) = &self.notice
            && current.severity == Severity::Error
            && severity < Severity::Error
            && now.millis_since(current.at) < ERROR_HOLD_MS
        {
            return;
        }
        self.notice = Some(Notice {
            severity,
            text: text.into(),
            at: now,
        });
        self.dirty = true;
    }

    /// Time passed: highlights and notices expire, and a rotation hops
    /// when its dwell is over.
    pub(super) fn on_tick(&mut self, now: Timestamp) -> Vec<Effect> {
        self.flashes.retain(|_, (_, until)| *until > now);
        if self.notice.as_ref().is_some_and(|n| !n.live(now)) {
            self.notice = None;
        }
        self.rotation_tick(now)
    }

    /// The server lost its contact center, or has it again. Commands still
    /// go out: the server refuses them with its reason, which is shown.
    pub(super) fn on_floor_status(&mut self, status: &FloorStatus, now: Timestamp) {
        match status.status {
            Reachability::Down => {
                let reason = status.reason.as_deref().unwrap_or("no reason given");
                if self.floor_down.as_deref() == Some(reason) {
                    return;
                }
                self.floor_down = Some(reason.to_owned());
                // The reason stays in the header; this says what it means.
                let text =
                    "The contact center is unreachable: only leaving works until it is back.";
                self.notify(Severity::Warn, text, now);
            }
            Reachability::Up => {
                if self.floor_down.take().is_none() {
                    return;
                }
                self.notify(
                    Severity::Info,
                    "The contact center is reachable again.",
                    now,
                );
            }
            // A status this build does not know says nothing it can show.
            Reachability::Unknown => return,
        }
        self.dirty = true;
    }

    /// A new connection: the server says again after its snapshot or replay
    /// if the contact center is still unreachable, and says nothing if not.
    pub(super) fn forget_floor_status(&mut self) {
        self.floor_down = None;
    }

    pub(super) fn on_audit_failed(&mut self, why: String, now: Timestamp) {
        self.dirty = true;
        // Said once; the bar keeps saying it, and later failures are told by
        // what they refused ("Nothing was sent: ...").
        if self.audit_failure.is_none() {
            self.notify(Severity::Error, format!("AUDIT JOURNAL FAILED: {why}"), now);
        }
        self.audit_failure = Some(why);
    }

    pub(super) fn on_audit_recovered(&mut self, now: Timestamp) {
        if self.audit_failure.take().is_none() {
            return;
        }
        self.dirty = true;
        // The error on the message line is most likely the journal's own (or
        // a join it blocked): it no longer holds.
        if self
            .notice
            .as_ref()
            .is_some_and(|n| n.severity == Severity::Error)
        {
            self.notice = None;
        }
        let text = "The audit journal is writing again: joining is allowed.";
        self.notify(Severity::Info, text, now);
    }
}
