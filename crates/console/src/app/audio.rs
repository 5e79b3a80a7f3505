//! Audio as the app sees it: push-to-talk, what the engine must be doing
//! (the plan), the output and microphone as the screen shows them, and the
//! level meters. Pure: the runtime feeds events in and applies the plan.

use super::{Action, App, Effect, LegStatus, MyLeg, Severity};
use crossterm::event::{KeyEvent, KeyEventKind};
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::engine::{AudioEvent, Meters};
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
    /// The call I am on (its id), for a companion's status line.
    pub call: Option<String>,
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
        self.listening_leg().map(|leg| leg.call_id.as_str())
    }

    /// The leg whose call plays: the one I talk on, else one I am not
    /// leaving (a rotation hop plays the new call as soon as it is up),
    /// else any.
    fn listening_leg(&self) -> Option<&MyLeg> {
        self.talk_leg()
            .or_else(|| self.my_legs().find(|leg| leg.status != LegStatus::Leaving))
            .or_else(|| self.my_legs().next())
    }

    /// What the engine must be doing now.
    pub fn audio_plan(&self) -> AudioPlan {
        let leg = self.listening_leg();
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
            call: leg.map(|leg| leg.call_id.clone()),
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
                // Only the companion comes back after a failure: say so.
                if matches!(self.audio_out, AudioOut::Failed { .. }) {
                    self.notify(
                        Severity::Info,
                        format!("Audio output back: playing through {description} again."),
                        now,
                    );
                }
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
