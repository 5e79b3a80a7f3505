//! The console's side of the audio engine: making the engine follow the
//! app's [`AudioPlan`] after every update, and the two frame paths between
//! the feed and the engine (never through the app).

use crate::app::{App, AudioPlan, Effect, Input};
use crate::feed::FeedHandle;
use floorwalk_audio::engine::{AudioHandle, FrameSink};
use floorwalk_audio::playback::TrackSpec;
use floorwalk_protocol::Timestamp;
use tokio::sync::mpsc;

/// Downstream frames queued between the feed and the engine (one second of
/// four tracks); more are dropped, as late audio is useless.
pub const DOWNSTREAM_QUEUE: usize = 200;

/// What the console asks of the engine (a trait so the order of the calls
/// can be checked in tests).
pub trait AudioControl {
    fn set_transmit(&self, track: Option<u32>);
    fn arm_microphone(&self, on: bool);
    fn set_tracks(&self, tracks: Vec<TrackSpec>);
}

impl AudioControl for AudioHandle {
    fn set_transmit(&self, track: Option<u32>) {
        AudioHandle::set_transmit(self, track);
    }

    fn arm_microphone(&self, on: bool) {
        AudioHandle::arm_microphone(self, on);
    }

    fn set_tracks(&self, tracks: Vec<TrackSpec>) {
        AudioHandle::set_tracks(self, tracks);
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
pub fn spawn_downstream(mut from_feed: mpsc::Receiver<Vec<u8>>, sink: FrameSink) {
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
    }

    fn plan(tracks: &[u32], microphone: bool, transmit: Option<u32>) -> AudioPlan {
        AudioPlan {
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
