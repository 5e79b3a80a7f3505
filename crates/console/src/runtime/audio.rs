//! The console's side of the audio engine: which engine plays (the local
//! one, or the companion on the supervisor's laptop), making it follow the
//! app's [`AudioPlan`] after every update, and the two frame paths between
//! the feed and the engine (never through the app).

use crate::app::{App, AudioPlan, Effect, Input};
use crate::feed::FeedHandle;
use anyhow::bail;
use floorwalk_audio::capture::TransmitGate;
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::engine::{
    AudioChannels, AudioConfig, AudioEngine, AudioHandle, EngineStats, FrameSink, Meters,
};
use floorwalk_audio::playback::TrackSpec;
#[cfg(unix)]
use floorwalk_companion::client::{CompanionAudio, CompanionFrames, LinkConfig};
use floorwalk_protocol::Timestamp;
use std::path::PathBuf;
use tokio::sync::mpsc;

/// What plays the call and captures the microphone: the engine here, or
/// the companion (`companion:PATH`), which runs the engine on the laptop.
#[derive(Debug)]
pub enum ConsoleAudio {
    Local(AudioHandle),
    #[cfg(unix)]
    Companion(CompanionAudio),
}

/// Where downstream frames go.
#[derive(Debug, Clone)]
pub enum Downstream {
    Local(FrameSink),
    #[cfg(unix)]
    Companion(CompanionFrames),
}

impl Downstream {
    fn send(&self, frame: Vec<u8>) -> bool {
        match self {
            Downstream::Local(sink) => sink.send(frame),
            #[cfg(unix)]
            Downstream::Companion(sink) => sink.send(frame),
        }
    }
}

impl ConsoleAudio {
    /// Starts the engine the endpoints name. The companion takes both ends:
    /// `--audio-in` is then the same `companion:PATH`, or `none`.
    /// `companion_key_file`: the companion's key, when not at its default
    /// path.
    pub fn start(
        config: AudioConfig,
        companion_key_file: Option<PathBuf>,
    ) -> anyhow::Result<(Self, AudioChannels)> {
        match (&config.output, &config.input) {
            (Endpoint::Companion(path), Endpoint::Companion(_) | Endpoint::None) => {
                if matches!(&config.input, Endpoint::Companion(other) if other != path) {
                    bail!(
                        "--audio-out {} and --audio-in {} name two companions: give the same path",
                        config.output,
                        config.input
                    );
                }
                start_companion(&config, path.clone(), companion_key_file)
            }
            (_, Endpoint::Companion(_)) | (Endpoint::Companion(_), _) => bail!(
                "the companion plays and captures: give companion:PATH for --audio-out, and the \
                 same or none for --audio-in (got --audio-out {} --audio-in {})",
                config.output,
                config.input
            ),
            _ => {
                let (handle, channels) = AudioEngine::start(config);
                Ok((ConsoleAudio::Local(handle), channels))
            }
        }
    }

    pub fn frame_sink(&self) -> Downstream {
        match self {
            ConsoleAudio::Local(engine) => Downstream::Local(engine.frame_sink()),
            #[cfg(unix)]
            ConsoleAudio::Companion(companion) => Downstream::Companion(companion.frame_sink()),
        }
    }

    pub fn transmit_gate(&self) -> TransmitGate {
        match self {
            ConsoleAudio::Local(engine) => engine.transmit_gate(),
            #[cfg(unix)]
            ConsoleAudio::Companion(companion) => companion.transmit_gate(),
        }
    }

    pub fn meters(&self) -> Meters {
        match self {
            ConsoleAudio::Local(engine) => engine.meters(),
            #[cfg(unix)]
            ConsoleAudio::Companion(companion) => companion.meters(),
        }
    }

    pub fn stats(&self) -> EngineStats {
        match self {
            ConsoleAudio::Local(engine) => engine.stats(),
            #[cfg(unix)]
            ConsoleAudio::Companion(companion) => companion.stats(),
        }
    }

    pub fn shutdown(self) {
        match self {
            ConsoleAudio::Local(engine) => engine.shutdown(),
            #[cfg(unix)]
            ConsoleAudio::Companion(companion) => companion.shutdown(),
        }
    }
}

#[cfg(unix)]
fn start_companion(
    config: &AudioConfig,
    path: PathBuf,
    key_file: Option<PathBuf>,
) -> anyhow::Result<(ConsoleAudio, AudioChannels)> {
    let (companion, channels) = CompanionAudio::start(LinkConfig {
        layout: config.layout,
        gains: config.gains,
        ..LinkConfig::new(path, config.input != Endpoint::None).key_from(key_file)
    });
    Ok((ConsoleAudio::Companion(companion), channels))
}

#[cfg(not(unix))]
fn start_companion(
    _config: &AudioConfig,
    _path: PathBuf,
    _key_file: Option<PathBuf>,
) -> anyhow::Result<(ConsoleAudio, AudioChannels)> {
    bail!("companion:PATH is for a console on a Unix jump host")
}

/// Downstream frames queued between the feed and the engine (one second of
/// four tracks); more are dropped, as late audio is useless.
pub const DOWNSTREAM_QUEUE: usize = 200;

/// What the console asks of the engine (a trait so the order of the calls
/// can be checked in tests).
pub trait AudioControl {
    fn set_transmit(&self, track: Option<u32>);
    fn arm_microphone(&self, on: bool);
    fn set_tracks(&self, tracks: Vec<TrackSpec>);
    /// The call's id: only a companion shows it (on its status line).
    fn set_call(&self, _call: Option<String>) {}
}

impl AudioControl for ConsoleAudio {
    fn set_transmit(&self, track: Option<u32>) {
        match self {
            ConsoleAudio::Local(engine) => engine.set_transmit(track),
            #[cfg(unix)]
            ConsoleAudio::Companion(companion) => companion.set_transmit(track),
        }
    }

    fn arm_microphone(&self, on: bool) {
        match self {
            ConsoleAudio::Local(engine) => engine.arm_microphone(on),
            #[cfg(unix)]
            ConsoleAudio::Companion(companion) => companion.arm_microphone(on),
        }
    }

    fn set_tracks(&self, tracks: Vec<TrackSpec>) {
        match self {
            ConsoleAudio::Local(engine) => engine.set_tracks(tracks),
            #[cfg(unix)]
            ConsoleAudio::Companion(companion) => companion.set_tracks(tracks),
        }
    }

    fn set_call(&self, call: Option<String>) {
        #[cfg(unix)]
        if let ConsoleAudio::Companion(companion) = self {
            companion.set_call(call);
        }
        #[cfg(not(unix))]
        let _ = call;
    }
}

/// The plan last given to the engine; tells it only what changed.
#[derive(Debug, Default)]
pub struct AudioSync {
    applied: AudioPlan,
}

impl AudioSync {
    /// Brings the engine to `plan`. Stopping comes first: the transmission
    /// closes (synchronously) before anything else, then the microphone.
    pub fn apply(&mut self, plan: AudioPlan, audio: &impl AudioControl) {
        let applied = &mut self.applied;
        if plan.transmit.is_none() && applied.transmit.is_some() {
            audio.set_transmit(None);
        }
        if plan.microphone != applied.microphone {
            audio.arm_microphone(plan.microphone);
        }
        if plan.call != applied.call {
            audio.set_call(plan.call.clone());
        }
        if plan.tracks != applied.tracks {
            audio.set_tracks(plan.tracks.clone());
        }
        if plan.transmit.is_some() && plan.transmit != applied.transmit {
            audio.set_transmit(plan.transmit);
        }
        *applied = plan;
    }
}

/// One update step: the app takes the input, then the engine follows the
/// app's new plan, and only then are the effects returned to be carried
/// out. So the Disconnect key has closed the microphone before its command
/// can be sent.
pub fn step(
    app: &mut App,
    sync: &mut AudioSync,
    audio: &impl AudioControl,
    input: Input,
    now: Timestamp,
) -> Vec<Effect> {
    let effects = app.update(input, now);
    sync.apply(app.audio_plan(), audio);
    effects
}

/// Moves downstream frames from the feed to the engine until either side
/// stops.
pub fn spawn_downstream(mut from_feed: mpsc::Receiver<Vec<u8>>, sink: Downstream) {
    tokio::spawn(async move {
        while let Some(frame) = from_feed.recv().await {
            if !sink.send(frame) {
                break;
            }
        }
    });
}

/// Moves the microphone's frames from the engine to the feed (whose writer
/// checks the transmit gate once more before each one goes out).
pub fn spawn_upstream(mut from_engine: mpsc::Receiver<Vec<u8>>, feed: FeedHandle) {
    tokio::spawn(async move {
        while let Some(frame) = from_engine.recv().await {
            feed.send_audio(frame);
        }
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::app::fixture::{NOW, live_app, space};
    use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
    use floorwalk_protocol::{ClientMessage, Role};
    use std::cell::RefCell;
    use std::time::Duration;

    #[derive(Default)]
    struct Recorder(RefCell<Vec<String>>);

    impl AudioControl for Recorder {
        fn set_transmit(&self, track: Option<u32>) {
            self.0.borrow_mut().push(format!("transmit {track:?}"));
        }
        fn arm_microphone(&self, on: bool) {
            self.0.borrow_mut().push(format!("microphone {on}"));
        }
        fn set_tracks(&self, tracks: Vec<TrackSpec>) {
            let tracks: Vec<u32> = tracks.iter().map(|t| t.track).collect();
            self.0.borrow_mut().push(format!("tracks {tracks:?}"));
        }
        fn set_call(&self, call: Option<String>) {
            self.0.borrow_mut().push(format!("call {call:?}"));
        }
    }

    fn plan(tracks: &[u32], microphone: bool, transmit: Option<u32>) -> AudioPlan {
        AudioPlan {
            call: None,
            tracks: tracks
                .iter()
                .map(|&track| TrackSpec {
                    track,
                    role: Role::Customer,
                })
                .collect(),
            microphone,
            transmit,
        }
    }

    #[test]
    fn only_changes_reach_the_engine_and_stopping_comes_first() {
        let engine = Recorder::default();
        let mut sync = AudioSync::default();
        sync.apply(plan(&[], false, None), &engine);
        assert!(engine.0.borrow().is_empty());
        sync.apply(plan(&[10, 11], true, None), &engine);
        sync.apply(plan(&[10, 11], true, Some(31)), &engine);
        sync.apply(plan(&[10, 11], true, Some(31)), &engine);
        // Leaving: the transmission closes before the microphone and tracks.
        sync.apply(plan(&[], false, None), &engine);
        assert_eq!(
            *engine.0.borrow(),
            [
                "microphone true",
                "tracks [10, 11]",
                "transmit Some(31)",
                "transmit None",
                "microphone false",
                "tracks []",
            ]
        );
    }

    #[test]
    fn the_call_is_told_when_it_changes_before_its_tracks() {
        let engine = Recorder::default();
        let mut sync = AudioSync::default();
        let on_call = |call: &str| AudioPlan {
            call: Some(call.to_owned()),
            ..plan(&[10, 11], false, None)
        };
        sync.apply(on_call("c-1"), &engine);
        sync.apply(on_call("c-1"), &engine);
        sync.apply(on_call("c-2"), &engine);
        sync.apply(plan(&[], false, None), &engine);
        assert_eq!(
            *engine.0.borrow(),
            [
                "call Some(\"c-1\")",
                "tracks [10, 11]",
                "call Some(\"c-2\")",
                "call None",
                "tracks []",
            ]
        );
    }

    #[test]
    fn disconnect_clears_transmit_before_the_command_is_handed_on() {
        let (mut app, _) = live_app(true);
        let engine = Recorder::default();
        let mut sync = AudioSync::default();
        sync.apply(app.audio_plan(), &engine);
        let talk = Input::Key(space(KeyEventKind::Press), Duration::from_secs(1));
        let effects = step(&mut app, &mut sync, &engine, talk, NOW);
        assert!(effects.is_empty());
        assert_eq!(engine.0.borrow().last().unwrap(), "transmit Some(31)");
        engine.0.borrow_mut().clear();

        let d = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::NONE);
        let d = Input::Key(d, Duration::from_secs(2));
        let effects = step(&mut app, &mut sync, &engine, d, NOW);
        // The command is only returned, not yet sent: by now the engine
        // was told to stop transmitting, first of all.
        assert!(effects.iter().any(|e| matches!(
            e,
            Effect::Send {
                message: ClientMessage::Disconnect { .. },
                ..
            }
        )));
        assert_eq!(
            engine.0.borrow().first().map(String::as_str),
            Some("transmit None")
        );
        assert!(engine.0.borrow().contains(&"microphone false".to_owned()));
        assert_eq!(app.transmit_track(), None);
        assert!(!app.talking());
    }
}
