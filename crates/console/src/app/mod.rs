//! The app: the key map, the actions and the pure update step. State in,
//! effects out: no I/O, no clocks (the runtime passes `now` in), no tasks.
//!
//! The runtime calls [`App::update`] for every queued input and carries out
//! the returned [`Effect`]s in order and as they say (an `Audit` before a
//! `Send` is on disk before the send). Then, if [`App::needs_redraw`] and
//! the records the effects hold frames for are on disk, it draws once with
//! [`crate::ui::draw`] and calls [`App::mark_drawn`].

mod audio;
mod commands;
mod effect;
mod incoming;
mod input;
mod keymap;
mod keys;
pub mod layout;
mod reconcile;
mod view;
mod words;

pub use audio::{AudioOut, AudioPlan, METER_CELLS, MeterCells, Mic, meter_cells};
pub use effect::{Effect, Unrecorded};
pub use input::Input;
pub use keymap::{Action, Key, KeyMap, KeyMapError};
pub use view::{SortKey, age_minutes, queue_name, state_label};

/// The round trip as shown, in milliseconds: exact below 10 ms, then in
/// steps of 5 ms (and 50 ms from half a second), so ordinary jitter does not
/// redraw the header every heartbeat.
pub fn rtt_shown(rtt: std::time::Duration) -> u128 {
    let ms = rtt.as_millis();
    match ms {
        0..10 => ms,
        10..500 => ms - ms % 5,
        _ => ms - ms % 50,
    }
}

use crate::audit::{Record, RecordKind};
use commands::Pending;
use floorwalk_audio::output::Endpoint;
use floorwalk_audio::ptt::{Ptt, PttConfig};
use floorwalk_protocol::{Mode, Supervisor, Timestamp};
use floorwalk_state::Floor;
use layout::Screen;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;
use view::View;

/// How long a row keeps its highlight after its call started, changed or ended.
pub const FLASH_MS: i64 = 1500;
/// How long an info notice stays; warnings stay twice as long.
const NOTICE_MS: i64 = 6000;
/// An error is not pushed aside by a lesser notice for this long.
const ERROR_HOLD_MS: i64 = 10_000;

/// What the app needs from the configuration and the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSettings {
    pub keymap: KeyMap,
    /// Show customer numbers in full instead of only the last four digits.
    pub reveal_customer_numbers: bool,
    /// `false` under NO_COLOR: no colours, only bold, reverse and symbols.
    pub color: bool,
    /// The server URL without secrets, for the header and help.
    pub server_label: String,
    /// The configured audio output, for the header.
    pub audio_output: Endpoint,
    /// The configured microphone (`none`: push-to-talk says it cannot).
    pub audio_input: Endpoint,
    /// How the talk key is read (with whether the terminal reports releases).
    pub ptt: PttConfig,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            keymap: KeyMap::default(),
            reveal_customer_numbers: false,
            color: true,
            server_label: String::new(),
            audio_output: Endpoint::None,
            audio_input: Endpoint::None,
            ptt: PttConfig::default(),
        }
    }
}

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
}

/// The two buttons of a confirmation dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Cancel,
    Confirm,
}

/// How serious a message on the message line is (ordered: an error outranks a warning).
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

/// Why a row is highlighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Started,
    Changed,
    Ended,
}

/// The time-dependent things on screen, to know when a frame would differ.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Visible {
    server_second: Option<i64>,
    ages: Option<i64>,
    retry_tenths: Option<i64>,
    flashes: usize,
    notice: bool,
}

/// The console's state.
#[derive(Debug)]
pub struct App {
    settings: AppSettings,
    floor: Floor,
    me: Option<Supervisor>,
    /// Server clock minus local clock, from `hello.now`.
    clock_offset_ms: i64,
    link: Link,
    was_live: bool,
    mine: BTreeMap<String, MyLeg>,
    pending: BTreeMap<String, Pending>,
    next_req: u64,
    /// Calls this console recorded as seen and not yet as ended.
    seen_calls: HashSet<String>,
    /// Legs the journal left open, to check against the first snapshot.
    unreconciled: Vec<crate::audit::OpenLeg>,
    view: View,
    selected: Option<String>,
    selected_index: Option<usize>,
    scroll: usize,
    filter: String,
    filter_editing: bool,
    dialog: Option<Dialog>,
    notice: Option<Notice>,
    audit_failure: Option<String>,
    flashes: HashMap<String, (FlashKind, Timestamp)>,
    size: (u16, u16),
    dirty: bool,
    drawn: Option<Visible>,
    quitting: bool,
    talk: Ptt,
    audio_out: AudioOut,
    mic: Mic,
    meters: MeterCells,
}

impl App {
    pub fn new(settings: AppSettings) -> App {
        App {
            talk: Ptt::new(settings.ptt),
            audio_out: AudioOut::Opening,
            mic: Mic::Closed,
            meters: MeterCells::default(),
            settings,
            floor: Floor::default(),
            me: None,
            clock_offset_ms: 0,
            link: Link::Starting,
            was_live: false,
            mine: BTreeMap::new(),
            pending: BTreeMap::new(),
            next_req: 1,
            seen_calls: HashSet::new(),
            unreconciled: Vec::new(),
            view: View::new(),
            selected: None,
            selected_index: None,
            scroll: 0,
            filter: String::new(),
            filter_editing: false,
            dialog: None,
            notice: None,
            audit_failure: None,
            flashes: HashMap::new(),
            size: (80, 24),
            dirty: true,
            drawn: None,
            quitting: false,
        }
    }

    /// Handles one input; returns what the runtime must do, in order.
    /// Before carrying the effects out, the runtime makes the audio engine
    /// follow [`App::audio_plan`]: a leave stops the microphone before its
    /// command is sent.
    pub fn update(&mut self, input: Input, now: Timestamp) -> Vec<Effect> {
        let effects = self.step(input, now);
        self.settle_audio();
        effects
    }

    fn step(&mut self, input: Input, now: Timestamp) -> Vec<Effect> {
        match input {
            Input::Key(key, at) => self.on_key(key, at, now),
            Input::Mouse(mouse) => {
                self.on_mouse(mouse);
                Vec::new()
            }
            Input::Resize(width, height) => {
                self.size = (width, height);
                self.dirty = true;
                self.keep_selection_visible();
                Vec::new()
            }
            Input::Feed(event) => self.on_feed(event, now),
            Input::Tick => {
                self.flashes.retain(|_, (_, until)| *until > now);
                if self.notice.as_ref().is_some_and(|n| !n.live(now)) {
                    self.notice = None;
                }
                Vec::new()
            }
            Input::AuditFailed(why) => {
                self.dirty = true;
                // Said once; the bar keeps saying it, and later failures are
                // told by what they refused ("Nothing was sent: ...").
                if self.audit_failure.is_none() {
                    self.notify(Severity::Error, format!("AUDIT JOURNAL FAILED: {why}"), now);
                }
                self.audit_failure = Some(why);
                Vec::new()
            }
            Input::AuditRecovered => {
                if self.audit_failure.take().is_some() {
                    self.dirty = true;
                    // The error on the message line is most likely the
                    // journal's own (or a join it blocked): it no longer holds.
                    if self
                        .notice
                        .as_ref()
                        .is_some_and(|n| n.severity == Severity::Error)
                    {
                        self.notice = None;
                    }
                    let text = "The audit journal is writing again: joining is allowed.";
                    self.notify(Severity::Info, text.to_owned(), now);
                }
                Vec::new()
            }
            Input::TalkTick(at) => {
                self.on_talk_tick(at, now);
                Vec::new()
            }
            Input::Audio(event) => {
                self.on_audio(event, now);
                Vec::new()
            }
            Input::Meters(meters) => {
                self.on_meters(meters);
                Vec::new()
            }
        }
    }

    /// Whether a frame drawn now would differ from the last one drawn.
    pub fn needs_redraw(&self, now: Timestamp) -> bool {
        self.dirty || self.drawn.as_ref() != Some(&self.visible(now))
    }

    /// Tells the app a frame was drawn at `now` (call after `terminal.draw`).
    pub fn mark_drawn(&mut self, now: Timestamp) {
        self.dirty = false;
        self.drawn = Some(self.visible(now));
    }

    fn visible(&self, now: Timestamp) -> Visible {
        let server_now = self.server_now(now).millis();
        let timers = !self.floor.calls.is_empty() || !self.mine.is_empty();
        let wide = Screen::for_size(self.size.0, self.size.1).is_some_and(|s| s.wide());
        let retry_tenths = match &self.link {
            Link::Connecting { retry_at, .. } if *retry_at > now => {
                Some(retry_at.millis_since(now).div_euclid(100))
            }
            _ => None,
        };
        // The wide table shows each agent's minutes in its state: their sum
        // over the rows on screen changes exactly when one of them does.
        let ages = wide.then(|| {
            let end = (self.scroll + self.page()).min(self.view.len());
            self.view.ids()[self.scroll.min(end)..end]
                .iter()
                .filter_map(|id| self.floor.agents.get(id))
                .map(|agent| age_minutes(Timestamp(server_now), agent.state_since))
                .sum()
        });
        Visible {
            server_second: timers.then(|| server_now.div_euclid(1000)),
            ages,
            retry_tenths,
            flashes: self
                .flashes
                .values()
                .filter(|(_, until)| *until > now)
                .count(),
            notice: self.notice.as_ref().is_some_and(|n| n.live(now)),
        }
    }

    /// Leaves every leg of mine (for quit, SIGTERM, SIGHUP): an audit record
    /// and a disconnect for each leg not already leaving. A join still in
    /// flight is left as soon as its leg appears (see [`App::awaiting_leave`]).
    pub fn leave_all(&mut self, now: Timestamp) -> Vec<Effect> {
        self.leave_joins_on_arrival();
        let legs: Vec<String> = self
            .mine
            .values()
            .filter(|leg| matches!(leg.status, LegStatus::On | LegStatus::Switching { .. }))
            .map(|leg| leg.leg_id.clone())
            .collect();
        let mut effects = Vec::new();
        for leg_id in legs {
            effects.extend(self.disconnect(&leg_id, now));
        }
        effects
    }

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

    /// Whether a disconnect is still waiting for the server's answer, or a
    /// join in flight is still to be left. (Quitting waits for more: see
    /// [`App::leaves_settled`].)
    pub fn awaiting_leave(&self) -> bool {
        self.pending.values().any(Pending::holds_a_leave)
    }

    /// Whether every leave asked for is over and recorded: no leg of mine
    /// on a call, no join in flight still to be left, and no disconnect
    /// waiting for its reply or for the server's `leg_left` (the `left`
    /// record needs both). Quitting waits for this, within a short budget.
    pub fn leaves_settled(&self) -> bool {
        !self.is_on_call() && !self.pending.values().any(Pending::leave_unrecorded)
    }

    /// Whether the supervisor asked to quit (Ctrl-C, or a confirmed quit):
    /// the runtime then leaves every leg (see [`App::leave_all`]) and exits.
    pub fn quitting(&self) -> bool {
        self.quitting
    }

    // --- read access for the views -------------------------------------

    pub fn settings(&self) -> &AppSettings {
        &self.settings
    }

    pub fn floor(&self) -> &Floor {
        &self.floor
    }

    pub fn me(&self) -> Option<&Supervisor> {
        self.me.as_ref()
    }

    pub fn link(&self) -> &Link {
        &self.link
    }

    /// The server's clock at local time `now`.
    pub fn server_now(&self, now: Timestamp) -> Timestamp {
        now.plus_millis(self.clock_offset_ms)
    }

    /// The agent ids of the table, in order.
    pub fn rows(&self) -> &[String] {
        self.view.ids()
    }

    pub fn sort(&self) -> SortKey {
        self.view.sort()
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    pub fn filter_editing(&self) -> bool {
        self.filter_editing
    }

    pub fn selected_agent(&self) -> Option<&str> {
        self.selected.as_deref()
    }

    pub fn selected_index(&self) -> Option<usize> {
        self.selected_index
    }

    /// The first table row shown.
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref()
    }

    /// The notice to show at `now`, if any.
    pub fn notice(&self, now: Timestamp) -> Option<&Notice> {
        self.notice.as_ref().filter(|n| n.live(now))
    }

    pub fn audit_failure(&self) -> Option<&str> {
        self.audit_failure.as_deref()
    }

    /// The highlight of an agent's row at `now`.
    pub fn flash(&self, agent_id: &str, now: Timestamp) -> Option<FlashKind> {
        self.flashes
            .get(agent_id)
            .filter(|(_, until)| *until > now)
            .map(|(kind, _)| *kind)
    }

    /// The mode of a join I asked for on this call and the server has not
    /// yet confirmed.
    pub fn joining(&self, call_id: &str) -> Option<Mode> {
        self.pending.values().find_map(|p| p.joining(call_id))
    }

    /// The call the call pane shows: the selected agent's, or else mine.
    pub fn pane_call(&self) -> Option<&floorwalk_protocol::Call> {
        self.selected
            .as_deref()
            .and_then(|agent| self.floor.call_of_agent(agent))
            .or_else(|| {
                self.my_legs()
                    .next()
                    .and_then(|leg| self.floor.calls.get(&leg.call_id))
            })
    }

    // --- shared helpers ---------------------------------------------------

    /// Shows a warning from outside the app (the configuration, the
    /// connection set-up) on the message line.
    pub fn warn(&mut self, text: impl Into<String>, now: Timestamp) {
        self.notify(Severity::Warn, text, now);
    }

    fn notify(&mut self, severity: Severity, text: impl Into<String>, now: Timestamp) {
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

    fn next_req(&mut self) -> String {
        let req = format!("r-{}", self.next_req);
        self.next_req += 1;
        req
    }

    fn record(&self, kind: RecordKind, call_id: &str, now: Timestamp) -> Record {
        let supervisor = self.me.as_ref().map_or("", |me| me.id.as_str());
        Record::new(now, kind, supervisor, call_id)
    }

    fn is_live(&self) -> bool {
        matches!(self.link, Link::Live { .. })
    }

    fn screen(&self) -> Option<Screen> {
        Screen::for_size(self.size.0, self.size.1)
    }

    fn page(&self) -> usize {
        self.screen().map_or(1, |s| s.page())
    }

    /// After the view changed: find the selected agent again (or its
    /// neighbour when it left the view) and keep it on screen.
    fn refresh_selection(&mut self) {
        let old = self.selected_index;
        let len = self.view.len();
        self.selected_index = self
            .selected
            .as_deref()
            .and_then(|id| self.view.position(id));
        if self.selected_index.is_none() {
            if len == 0 {
                self.selected = None;
            } else {
                self.select_index(old.unwrap_or(0).min(len - 1));
                return;
            }
        }
        self.keep_selection_visible();
    }

    fn select_index(&mut self, index: usize) {
        match self.view.ids().get(index) {
            Some(id) => {
                self.selected = Some(id.clone());
                self.selected_index = Some(index);
            }
            None => {
                self.selected = None;
                self.selected_index = None;
            }
        }
        self.keep_selection_visible();
    }

    fn keep_selection_visible(&mut self) {
        self.scroll = layout::scroll_for(
            self.selected_index,
            self.scroll,
            self.page(),
            self.view.len(),
        );
    }
}

/// A fixed floor and clock, for tests and benchmarks (feature `test-support`).
#[cfg(any(test, feature = "test-support"))]
pub mod fixture;
#[cfg(test)]
mod tests;
