//! The app: the key map, the actions and the pure update step. State in,
//! effects out: no I/O, no clocks (the runtime passes `now` in), no tasks.
//!
//! The runtime calls [`App::update`] for every queued input and carries out
//! the returned [`Effect`]s in order and as they say (an `Audit` before a
//! `Send` is on disk before the send). Then, if [`App::needs_redraw`] and
//! the records the effects hold frames for are on disk, it draws once with
//! [`crate::ui::draw`] and calls [`App::mark_drawn`].
//!
//! Modules by role: `keys` (keys and the mouse, dialogs), `commands` (what
//! the supervisor asks of the server, and the replies) with its `ledger`,
//! `incoming` (what the feed reports), `legs` (my legs on calls), `audio`
//! (push-to-talk and the engine's plan), `reconcile` (after a crash),
//! `rotation` (listening to each call in turn), `audit_pane` (my day from
//! the journal), `status`, `selection` and `redraw` (what the screen shows
//! and when).

mod audio;
mod audit_pane;
mod commands;
mod effect;
mod incoming;
mod input;
mod keymap;
mod keys;
pub mod layout;
mod ledger;
mod legs;
mod reconcile;
mod redraw;
mod rejoin;
mod rotation;
mod selection;
mod settings;
mod status;
mod view;
mod words;

pub use audio::{AudioOut, AudioPlan, METER_CELLS, MeterCells, Mic, meter_cells};
pub use audit_pane::{AuditContent, AuditPane};
pub use effect::{Effect, Unrecorded};
pub use input::Input;
pub use keymap::{Action, Key, KeyMap, KeyMapError};
pub use legs::{LegStatus, MyLeg};
pub use rotation::{Rotation, RotationSettings};
pub use settings::AppSettings;
pub use status::{Button, Dialog, FLASH_MS, FlashKind, Link, Notice, Severity, rtt_shown};
pub use view::{SortKey, age_minutes, queue_name, state_label};

use crate::audit::{OpenLeg, Record, RecordKind};
use floorwalk_audio::ptt::Ptt;
use floorwalk_protocol::{Call, Mode, Supervisor, Timestamp};
use floorwalk_state::Floor;
use ledger::Ledger;
use redraw::Visible;
use std::collections::{BTreeMap, HashMap, HashSet};
use view::View;

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
    /// The commands sent and not yet fully confirmed.
    ledger: Ledger,
    /// Which calls I left and when, for the rejoin rule.
    rejoins: rejoin::Rejoins,
    /// Calls this console recorded as seen and not yet as ended.
    seen_calls: HashSet<String>,
    /// Legs the journal left open, to check against the first snapshot.
    unreconciled: Vec<OpenLeg>,
    view: View,
    selected: Option<String>,
    selected_index: Option<usize>,
    scroll: usize,
    filter: String,
    filter_editing: bool,
    dialog: Option<Dialog>,
    notice: Option<Notice>,
    audit_failure: Option<String>,
    /// Why the server cannot reach its contact center, while it says so.
    floor_down: Option<String>,
    flashes: HashMap<String, (FlashKind, Timestamp)>,
    size: (u16, u16),
    dirty: bool,
    drawn: Option<Visible>,
    quitting: bool,
    talk: Ptt,
    audio_out: AudioOut,
    mic: Mic,
    meters: MeterCells,
    /// The audit pane (`a`), while open.
    audit_pane: Option<AuditPane>,
    /// The rotation under way (`r`).
    rotation: Option<Rotation>,
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
            ledger: Ledger::default(),
            rejoins: rejoin::Rejoins::default(),
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
            floor_down: None,
            flashes: HashMap::new(),
            size: (80, 24),
            dirty: true,
            drawn: None,
            quitting: false,
            audit_pane: None,
            rotation: None,
        }
    }

    /// Handles one input; returns what the runtime must do, in order.
    /// Before carrying the effects out, the runtime makes the audio engine
    /// follow [`App::audio_plan`]: a leave stops the microphone before its
    /// command is sent.
    pub fn update(&mut self, input: Input, now: Timestamp) -> Vec<Effect> {
        let mut effects = self.step(input, now);
        self.settle_audio();
        self.refresh_audit_pane(&mut effects);
        effects
    }

    fn step(&mut self, input: Input, now: Timestamp) -> Vec<Effect> {
        match input {
            Input::Key(key, at) => return self.on_key(key, at, now),
            Input::Feed(event) => return self.on_feed(event, now),
            Input::Mouse(mouse) => self.on_mouse(mouse),
            Input::Resize(width, height) => {
                self.size = (width, height);
                self.dirty = true;
                self.keep_selection_visible();
            }
            Input::Tick => return self.on_tick(now),
            Input::AuditFailed(why) => self.on_audit_failed(why, now),
            Input::AuditRecovered => self.on_audit_recovered(now),
            Input::TalkTick(at) => self.on_talk_tick(at, now),
            Input::Audio(event) => self.on_audio(event, now),
            Input::Meters(meters) => self.on_meters(meters),
            Input::JournalRead(read) => self.on_journal_read(read),
        }
        Vec::new()
    }

    /// Whether the supervisor asked to quit (Ctrl-C, or a confirmed quit):
    /// the runtime then leaves every leg (see [`App::leave_all`]) and exits.
    pub fn quitting(&self) -> bool {
        self.quitting
    }

    // Read access for the views.

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

    /// Why the contact center is unreachable, while the server says so
    /// (and is itself reachable: otherwise the news is stale).
    pub fn floor_down(&self) -> Option<&str> {
        self.floor_down.as_deref().filter(|_| self.is_live())
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
        self.ledger.joining(call_id)
    }

    /// The call the call pane shows: the selected agent's, or else mine.
    pub fn pane_call(&self) -> Option<&Call> {
        self.selected
            .as_deref()
            .and_then(|agent| self.floor.call_of_agent(agent))
            .or_else(|| {
                self.my_legs()
                    .next()
                    .and_then(|leg| self.floor.calls.get(&leg.call_id))
            })
    }

    // Shared helpers.

    fn record(&self, kind: RecordKind, call_id: &str, now: Timestamp) -> Record {
        let supervisor = self.me.as_ref().map_or("", |me| me.id.as_str());
        Record::new(now, kind, supervisor, call_id)
    }

    /// An agent's name, or its id when the floor does not know it.
    fn agent_name(&self, agent_id: &str) -> String {
        self.floor
            .agents
            .get(agent_id)
            .map_or_else(|| agent_id.to_owned(), |agent| agent.name.clone())
    }

    fn is_live(&self) -> bool {
        matches!(self.link, Link::Live { .. })
    }
}

/// A fixed floor and clock, for tests and benchmarks (feature `test-support`).
#[cfg(any(test, feature = "test-support"))]
pub mod fixture;
#[cfg(test)]
mod tests;
