//! Audio as the app sees it: push-to-talk, what the engine must be doing
//! (the plan), the output and microphone as the screen shows them, and the
//! level meters. Pure: the runtime feeds events in and applies the plan.

use super::{Action, App, Effect, LegStatus, Severity};
use crossterm::event::{KeyEvent, KeyEventKind};
use floorwalk_audio::engine::{AudioEvent, Meters};
use floorwalk_audio::output::Endpoint;
use floorwalk_audio::playback::TrackSpec;
use floorwalk_audio::ptt::{KeyKind, PttChange, PttMode, StopReason};
use floorwalk_audio::signal;
use floorwalk_protocol::{Mode, Timestamp};
use std::time::Duration;

/// Cells of a level meter.
pub const METER_CELLS: u8 = 8;
/// The quietest level a meter shows (one cell above it).
const METER_FLOOR_DB: f32 = -60.0;

/// What the audio engine must be doing for the app's state. The runtime
/// compares it after every update and tells the engine what changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioPlan {
    /// The tracks of the call I am on, without my own leg's.
    pub tracks: Vec<TrackSpec>,
    /// The microphone is open: whisper or barge on my leg (never silent).
    pub microphone: bool,
    /// Push-to-talk is on: send the microphone on this track (my leg's).
    pub transmit: Option<u32>,
}

/// The audio output, as the header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioOut {
    /// The engine has not said yet.
    Opening,
    /// Playing; the description is the engine's (device, rate, channels).
    Ready { description: String },
    /// The output could not be opened or failed: the engine plays to none.
    Failed { reason: String },
}

/// The microphone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mic {
    Closed,
    Open,
    Failed { reason: String },
}

/// The meters as whole cells (0 to [`METER_CELLS`]): the screen changes
/// only when a cell does, so quiet audio costs no redraws.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeterCells {
    pub customer: u8,
    pub agent: u8,
    pub microphone: u8,
}

/// How many cells a level lights: RMS in dBFS, -60 to 0 over the cells.
pub fn meter_cells(level: signal::Level) -> u8 {
    let db = level.rms_dbfs();
    let per_cell = -METER_FLOOR_DB / f32::from(METER_CELLS);
    let cells = ((db - METER_FLOOR_DB) / per_cell).ceil();
    cells.clamp(0.0, f32::from(METER_CELLS)) as u8
}

fn key_kind(kind: KeyEventKind) -> KeyKind {
    match kind {
        KeyEventKind::Press => KeyKind::Press,
        KeyEventKind::Repeat => KeyKind::Repeat,
        KeyEventKind::Release => KeyKind::Release,
    }
}

impl App {
    /// Whether a key belongs to push-to-talk, and how. The talk key goes to
    /// push-to-talk before the key map, dialogs included, except while the
    /// filter is typed in; releases always do, and so does every event while
    /// talking, so a transmission can always be stopped. When talking is not
    /// possible the press goes to the key map, which says why.
    pub(super) fn talk_route(&self, key: &KeyEvent) -> Option<KeyKind> {
        if !self.settings.keymap.is(Action::Talk, key) {
            return None;
        }
        let kind = key_kind(key.kind);
        if kind == KeyKind::Release || self.talk.is_transmitting() {
            return Some(kind);
        }
        (!self.filter_editing && self.can_talk()).then_some(kind)
    }

    /// Whether the push-to-talk state machine is transmitting (the runtime
    /// ticks it often while it is).
    pub fn talking(&self) -> bool {
        self.talk.is_transmitting()
    }

    /// How the talk key is read right now (for the status line).
    pub fn ptt_mode(&self) -> PttMode {
        self.talk.mode()
    }

    /// The track the microphone goes out on right now: push-to-talk on, in
    /// whisper or barge on my leg, with a usable microphone.
    pub fn transmit_track(&self) -> Option<u32> {
        if !self.talk.is_transmitting() || !self.can_talk() {
            return None;
        }
        self.talk_leg().map(|leg| leg.track)
    }

    /// Who hears me, while I am on air: `Whisper` for the agent only,
    /// `Barge` for the agent and the customer. During a switch the wider
    /// audience is shown, as either routing may be in place.
    pub fn on_air(&self) -> Option<Mode> {
        self.transmit_track()?;
        let leg = self.talk_leg()?;
        let to = match leg.status {
            LegStatus::Switching { to } => to,
            _ => leg.mode,
        };
        Some(if leg.mode == Mode::Barge || to == Mode::Barge {
            Mode::Barge
        } else {
            Mode::Whisper
        })
    }

    /// The call whose audio plays: the one my (first) leg is on.
    pub fn listening_call(&self) -> Option<&str> {
        self.talk_leg()
            .or_else(|| self.my_legs().next())
            .map(|leg| leg.call_id.as_str())
    }

    /// What the engine must be doing now.
    pub fn audio_plan(&self) -> AudioPlan {
        let leg = self.talk_leg().or_else(|| self.my_legs().next());
        let tracks = leg
            .and_then(|leg| {
                let call = self.floor.calls.get(&leg.call_id)?;
                Some(
                    call.legs
                        .iter()
                        .filter(|other| other.id != leg.leg_id)
                        .map(|other| TrackSpec {
                            track: other.track,
                            role: other.role,
                        })
                        .collect(),
                )
            })
            .unwrap_or_default();
        AudioPlan {
            tracks,
            microphone: self.mic_allowed(),
            transmit: self.transmit_track(),
        }
    }

    pub fn audio_out(&self) -> &AudioOut {
        &self.audio_out
    }

    pub fn mic(&self) -> &Mic {
        &self.mic
    }

    pub fn meters(&self) -> MeterCells {
        self.meters
    }

    /// Whether a press of the talk key would start talking.
    fn can_talk(&self) -> bool {
        self.mic_allowed() && self.settings.audio_input != Endpoint::None && self.mic_usable()
    }

    fn mic_usable(&self) -> bool {
        !matches!(self.mic, Mic::Failed { .. })
    }

    pub(super) fn on_talk(&mut self, kind: KeyKind, at: Duration, now: Timestamp) {
        let mode = self.talk.mode();
        let change = self.talk.key(kind, at);
        self.after_ptt(change, mode, now);
    }

    pub(super) fn on_talk_tick(&mut self, at: Duration, now: Timestamp) {
        let mode = self.talk.mode();
        let change = self.talk.tick(at);
        self.after_ptt(change, mode, now);
    }

    fn after_ptt(&mut self, change: Option<PttChange>, mode_before: PttMode, now: Timestamp) {
        if change.is_some() || self.talk.mode() != mode_before {
            self.dirty = true;
        }
        if change == Some(PttChange::Stopped(StopReason::TimedOut)) {
            let secs = self.settings.ptt.max_talk.as_secs();
            let key = self.key_label(Action::Talk);
            self.notify(
                Severity::Warn,
                format!(
                    "Push-to-talk stopped after {secs} s, the limit: press {key} to talk again."
                ),
                now,
            );
        }
    }

    /// The talk key when talking is not possible: say why.
    pub(super) fn talk_refused(&mut self, now: Timestamp) -> Vec<Effect> {
        let whisper = self.key_label(Action::Whisper);
        let barge = self.key_label(Action::Barge);
        let text = if self.talk_leg().is_some() {
            match &self.mic {
                Mic::Failed { reason } => {
                    format!("The microphone failed ({reason}): nobody can hear you.")
                }
                _ => {
                    "No microphone (audio input is none): start floorwalk with --audio-in to talk."
                        .to_owned()
                }
            }
        } else {
            match self.my_legs().next().map(|leg| (leg.status, leg.mode)) {
                Some((LegStatus::Leaving, _)) => {
                    "You are leaving the call: the microphone is off.".to_owned()
                }
                Some((LegStatus::Switching { to: Mode::Silent }, _)) | Some((_, Mode::Silent)) => {
                    format!(
                        "Silent monitoring: nobody hears you. Press {whisper} (whisper) or {barge} (barge) to talk."
                    )
                }
                _ => format!(
                    "Push-to-talk works in whisper or barge: join a call with {whisper} or {barge}."
                ),
            }
        };
        self.notify(Severity::Info, text, now);
        Vec::new()
    }

    pub(super) fn on_audio(&mut self, event: AudioEvent, now: Timestamp) {
        self.dirty = true;
        match event {
            AudioEvent::OutputReady { description } => {
                self.audio_out = AudioOut::Ready { description };
            }
            AudioEvent::OutputFailed { endpoint, reason } => {
                // At start the header says it (so the start's own warnings,
                // about the config say, keep the message line); a device
                // lost later is news.
                if self.audio_out != AudioOut::Opening {
                    self.notify(
                        Severity::Warn,
                        format!(
                            "Audio output {endpoint} failed: {reason}. Playing to none; the console goes on."
                        ),
                        now,
                    );
                }
                self.audio_out = AudioOut::Failed { reason };
            }
            AudioEvent::InputReady { .. } => self.mic = Mic::Open,
            AudioEvent::InputFailed { endpoint, reason } => {
                self.notify(
                    Severity::Warn,
                    format!("Microphone {endpoint} failed: {reason}. Nobody hears you."),
                    now,
                );
                self.mic = Mic::Failed { reason };
            }
            AudioEvent::InputClosed => self.mic = Mic::Closed,
        }
    }

    pub(super) fn on_meters(&mut self, meters: Meters) {
        let cells = MeterCells {
            customer: meter_cells(meters.parties.customer),
            agent: meter_cells(meters.parties.agent),
            microphone: meter_cells(meters.microphone),
        };
        if cells != self.meters {
            self.meters = cells;
            self.dirty = true;
        }
    }

    /// After every update: push-to-talk stops when talking is no longer
    /// possible (left, went silent, the microphone failed), so it is not
    /// still on when talking becomes possible again; meters rest off calls.
    pub(super) fn settle_audio(&mut self) {
        if self.talk.is_transmitting() && !self.can_talk() {
            self.talk.cancel();
            self.dirty = true;
        }
        if !self.is_on_call() && self.meters != MeterCells::default() {
            self.meters = MeterCells::default();
            self.dirty = true;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::fixture::{self, NOW, live_app, space};
    use super::super::{AppSettings, Dialog, Input};
    use super::*;
    use crate::feed::FeedEvent;
    use crossterm::event::{KeyCode, KeyModifiers};
    use floorwalk_audio::playback::PartyLevels;
    use floorwalk_audio::ptt::{PttConfig, PttSetting};
    use floorwalk_protocol::{ClientMessage, Role};

    fn key(c: char) -> Input {
        Input::Key(
            KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
            Duration::ZERO,
        )
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The talk key, at a monotonic time.
    fn talk_key(app: &mut App, kind: KeyEventKind, at: Duration) -> Vec<Effect> {
        app.update(Input::Key(space(kind), at), NOW)
    }

    fn notice(app: &App) -> String {
        app.notice(NOW).map(|n| n.text.clone()).unwrap_or_default()
    }

    fn app_with(ptt: PttConfig, input: Endpoint) -> App {
        let settings = AppSettings {
            ptt,
            audio_input: input,
            ..fixture::settings()
        };
        fixture::connect(settings, fixture::me(), true, (80, 24)).0
    }

    fn level(rms: f32) -> signal::Level {
        signal::Level { peak: rms, rms }
    }

    #[test]
    fn meters_light_one_cell_per_seven_and_a_half_db() {
        let at = |db: f32| meter_cells(level(10f32.powf(db / 20.0)));
        assert_eq!(meter_cells(signal::Level::default()), 0);
        assert_eq!(at(-70.0), 0);
        assert_eq!(at(-59.0), 1);
        assert_eq!(at(-20.0), 6);
        assert_eq!(at(-3.0), 8);
        assert_eq!(at(0.0), 8);
        assert_eq!(at(6.0), 8);
    }

    #[test]
    fn the_talk_key_goes_to_push_to_talk_only_when_talking_is_possible() {
        let (mut app, _) = live_app(true);
        // Typing in the filter: the space is text.
        app.update(key('/'), NOW);
        talk_key(&mut app, KeyEventKind::Press, ms(0));
        assert_eq!(app.filter(), " ");
        assert!(!app.talking());
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        app.update(Input::Key(enter, ms(100)), NOW);

        // Out of the filter it talks, over a dialog too, which stays open.
        app.update(key('?'), NOW);
        assert!(talk_key(&mut app, KeyEventKind::Press, ms(1000)).is_empty());
        assert!(app.talking());
        assert_eq!(app.dialog(), Some(&Dialog::Help));
        talk_key(&mut app, KeyEventKind::Repeat, ms(1100));
        assert!(app.talking(), "a held key repeats");
        talk_key(&mut app, KeyEventKind::Release, ms(1200));
        assert!(!app.talking());
        assert_eq!(app.dialog(), Some(&Dialog::Help));

        // While talking every talk key event goes to push-to-talk, the filter
        // open or not, so a transmission can always be stopped.
        talk_key(&mut app, KeyEventKind::Press, ms(2000));
        app.update(key('/'), NOW);
        talk_key(&mut app, KeyEventKind::Press, ms(2050));
        assert!(app.talking());
        assert_eq!(app.filter(), " ", "not typed while talking");
        talk_key(&mut app, KeyEventKind::Release, ms(2100));
        assert!(!app.talking());

        // Not on a call: the key map says why, and nothing is sent.
        let (mut idle, _) = live_app(false);
        assert!(talk_key(&mut idle, KeyEventKind::Press, ms(0)).is_empty());
        assert!(
            notice(&idle).contains("whisper or barge"),
            "{}",
            notice(&idle)
        );
        assert!(!idle.talking());
    }

    #[test]
    fn transmitting_needs_the_key_whisper_or_barge_and_a_microphone() {
        let (mut app, _) = live_app(true);
        assert_eq!(app.transmit_track(), None);
        assert!(
            app.audio_plan().microphone,
            "whisper opens the microphone ahead"
        );
        talk_key(&mut app, KeyEventKind::Press, ms(0));
        assert!(app.talking());
        assert_eq!(app.transmit_track(), Some(31));
        assert_eq!(app.on_air(), Some(Mode::Whisper));
        // Switching to barge: the wider audience is shown at once.
        app.update(key('b'), NOW);
        assert_eq!(app.transmit_track(), Some(31));
        assert_eq!(app.on_air(), Some(Mode::Barge));
        // Switching to silent closes everything before the server answers,
        // and push-to-talk does not stay on for later.
        let effects = app.update(key('m'), NOW);
        assert!(matches!(
            effects[..],
            [Effect::Send {
                message: ClientMessage::SetMode {
                    mode: Mode::Silent,
                    ..
                },
                ..
            }]
        ));
        assert_eq!(app.transmit_track(), None);
        assert_eq!(app.on_air(), None);
        assert!(!app.talking());
        assert!(
            !app.audio_plan().microphone,
            "silent never opens the microphone"
        );
    }

    #[test]
    fn silent_monitoring_never_talks() {
        let (mut app, _) = live_app(true);
        app.update(key('m'), NOW);
        assert!(talk_key(&mut app, KeyEventKind::Press, ms(0)).is_empty());
        assert!(!app.talking());
        assert_eq!(app.audio_plan().transmit, None);
        assert!(!app.audio_plan().microphone);
        assert!(
            notice(&app).contains("Silent monitoring"),
            "{}",
            notice(&app)
        );
    }

    #[test]
    fn disconnect_stops_transmitting_in_the_same_update() {
        let (mut app, _) = live_app(true);
        talk_key(&mut app, KeyEventKind::Press, ms(0));
        assert_eq!(app.audio_plan().transmit, Some(31));
        let effects = app.update(key('d'), NOW);
        assert!(matches!(
            effects[1],
            Effect::Send {
                message: ClientMessage::Disconnect { .. },
                ..
            }
        ));
        let plan = app.audio_plan();
        assert_eq!(plan.transmit, None);
        assert!(!plan.microphone);
        assert_eq!(
            plan.tracks.len(),
            2,
            "still listening until the server confirms"
        );
        assert!(!app.talking());
        // Talking again while leaving is refused with the reason.
        talk_key(&mut app, KeyEventKind::Press, ms(2000));
        assert!(!app.talking());
        assert!(notice(&app).contains("leaving"), "{}", notice(&app));
    }

    #[test]
    fn the_plan_plays_the_other_legs_of_my_call_with_their_roles() {
        let (app, _) = live_app(true);
        let plan = app.audio_plan();
        assert_eq!(
            plan.tracks,
            [
                TrackSpec {
                    track: 10,
                    role: Role::Customer
                },
                TrackSpec {
                    track: 11,
                    role: Role::Agent
                },
            ]
        );
        assert_eq!(app.listening_call(), Some("c-9"));
        let (idle, _) = live_app(false);
        assert_eq!(idle.audio_plan(), AudioPlan::default());
        assert_eq!(idle.listening_call(), None);
    }

    #[test]
    fn no_microphone_or_a_failed_one_means_no_talking() {
        let mut app = app_with(PttConfig::default(), Endpoint::None);
        talk_key(&mut app, KeyEventKind::Press, ms(0));
        assert!(!app.talking());
        assert!(notice(&app).contains("No microphone"), "{}", notice(&app));

        let (mut app, _) = live_app(true);
        talk_key(&mut app, KeyEventKind::Press, ms(0));
        assert!(app.talking());
        app.update(
            Input::Audio(AudioEvent::InputFailed {
                endpoint: "default".into(),
                reason: "device unplugged".into(),
            }),
            NOW,
        );
        assert!(!app.talking());
        assert_eq!(app.transmit_track(), None);
        assert!(
            notice(&app).contains("device unplugged"),
            "{}",
            notice(&app)
        );
        talk_key(&mut app, KeyEventKind::Press, ms(3000));
        assert!(!app.talking());
        // Reopened (after leaving and joining again): usable again.
        app.update(Input::Audio(AudioEvent::InputClosed), NOW);
        app.update(
            Input::Audio(AudioEvent::InputReady {
                description: "default".into(),
            }),
            NOW,
        );
        talk_key(&mut app, KeyEventKind::Press, ms(6000));
        assert!(app.talking());
    }

    #[test]
    fn toggle_mode_talks_from_one_press_to_the_next() {
        let toggle = PttConfig {
            setting: PttSetting::Toggle,
            ..PttConfig::default()
        };
        let mut app = app_with(toggle, Endpoint::Default);
        assert_eq!(app.ptt_mode(), PttMode::Toggle);
        talk_key(&mut app, KeyEventKind::Press, ms(0));
        talk_key(&mut app, KeyEventKind::Release, ms(100));
        assert_eq!(app.transmit_track(), Some(31));
        talk_key(&mut app, KeyEventKind::Press, ms(2000));
        assert_eq!(app.transmit_track(), None);
    }

    #[test]
    fn a_stuck_transmission_stops_at_the_limit_and_says_so() {
        let limited = PttConfig {
            setting: PttSetting::Toggle,
            max_talk: Duration::from_secs(30),
            ..PttConfig::default()
        };
        let mut app = app_with(limited, Endpoint::Default);
        talk_key(&mut app, KeyEventKind::Press, ms(0));
        app.update(Input::TalkTick(ms(29_000)), NOW);
        assert!(app.talking());
        app.update(Input::TalkTick(ms(30_000)), NOW);
        assert!(!app.talking());
        let text = notice(&app);
        assert!(text.contains("stopped after 30 s"), "{text}");
        assert!(text.contains("press space to talk again"), "{text}");
    }

    #[test]
    fn auto_mode_shows_the_reading_in_use() {
        let auto = PttConfig {
            releases_expected: true,
            ..PttConfig::default()
        };
        let mut app = app_with(auto, Endpoint::Default);
        assert_eq!(app.ptt_mode(), PttMode::Native);
        app.mark_drawn(NOW);
        // A second press without a release between: releases are not coming.
        talk_key(&mut app, KeyEventKind::Press, ms(0));
        talk_key(&mut app, KeyEventKind::Press, ms(30));
        assert_eq!(app.ptt_mode(), PttMode::Repeat);
        assert!(app.needs_redraw(NOW));
        let (app, _) = live_app(true);
        assert_eq!(app.ptt_mode(), PttMode::Repeat, "no releases expected");
    }

    #[test]
    fn meters_redraw_only_when_a_cell_changes_and_rest_off_calls() {
        let (mut app, _) = live_app(true);
        app.mark_drawn(NOW);
        let meters = |customer: f32, mic: f32| Meters {
            parties: PartyLevels {
                customer: level(customer),
                ..PartyLevels::default()
            },
            microphone: level(mic),
        };
        app.update(Input::Meters(meters(0.1, 0.0)), NOW);
        assert!(app.needs_redraw(NOW));
        assert_eq!(app.meters().customer, 6);
        app.mark_drawn(NOW);
        app.update(Input::Meters(meters(0.105, 0.0)), NOW);
        assert!(!app.needs_redraw(NOW), "the same cells");
        app.update(Input::Meters(meters(0.105, 0.5)), NOW);
        assert!(app.needs_redraw(NOW));
        // Leaving: once the server confirms, the meters rest.
        app.update(key('d'), NOW);
        app.update(
            Input::Feed(FeedEvent::Reply {
                req: "r-1".into(),
                outcome: Ok(serde_json::json!({})),
                latency: ms(5),
            }),
            NOW,
        );
        assert!(!app.is_on_call());
        assert_eq!(app.meters(), MeterCells::default());
    }

    #[test]
    fn audio_events_show_and_the_console_goes_on() {
        assert_eq!(
            App::new(fixture::settings()).audio_out(),
            &AudioOut::Opening
        );
        let (mut app, _) = live_app(true);
        assert!(matches!(app.audio_out(), AudioOut::Ready { .. }));
        app.update(
            Input::Audio(AudioEvent::OutputFailed {
                endpoint: "default".into(),
                reason: "the device vanished".into(),
            }),
            NOW,
        );
        assert!(matches!(app.audio_out(), AudioOut::Failed { .. }));
        let text = notice(&app);
        assert!(text.contains("the device vanished"), "{text}");
        assert!(text.contains("goes on"), "{text}");
        assert!(app.is_on_call());

        // A device that cannot open at start shows in the header only, so
        // the start's own warnings keep the message line.
        let mut app = App::new(fixture::settings());
        app.warn("config file can be read by other users", NOW);
        app.update(
            Input::Audio(AudioEvent::OutputFailed {
                endpoint: "default".into(),
                reason: "no default device".into(),
            }),
            NOW,
        );
        assert!(matches!(app.audio_out(), AudioOut::Failed { .. }));
        assert!(notice(&app).contains("config file"), "{}", notice(&app));
    }
}
