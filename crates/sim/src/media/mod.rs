//! The simulator's audio: it plays the conversations of the calls consoles
//! are on, routes the consoles' own voices, and records what the customer
//! and the agent heard.
//!
//! The hub owns the engine and drives it: every world event goes through
//! [`Media::follow`] (joins, mode switches, leaves, call ends), every 20 ms
//! through [`Media::tick`], and every upstream frame through
//! [`Media::upstream`]. Owning it in the hub keeps audio in step with the
//! events: a console that reads `leg_left` gets no more frames of that call
//! after it, and a mode switch routes the very next frame the new way.
//!
//! Only calls a console has joined play (and, with a record dir, go on
//! playing until they end, so the recording covers the whole call from the
//! first join): the clips' Opus packets are sent as they are, one per
//! frame, each party on its own leg's track, with per-track `seq`, 48 kHz
//! timestamps that follow the call's clock (pauses advance them without
//! frames) and talk-spurt flags.

pub mod record;
pub mod routing;

use super::conversation::{Conversation, Library, party};
use super::world::{CallAudio, World, is_console_track};
use floorwalk_audio::FRAME_SAMPLES;
use floorwalk_protocol::{
    AudioFrame, FLAG_SPURT_END, FLAG_SPURT_START, FrameHeader, ServerMessage,
};
use floorwalk_server::Talk;
use record::{Mixdown, Recorder};
use routing::{Listeners, Reach};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Bytes;

/// Per-track numbering: both start at a value derived from the seed and the
/// track, as RTP's do, so consoles meet wrapping early.
#[derive(Debug, Clone, Copy)]
struct Clock {
    track: u32,
    seq: u32,
    timestamp: u32,
}

impl Clock {
    fn new(seed: u64, track: u32) -> Self {
        let bits = floorwalk_server::splitmix(seed ^ u64::from(track));
        Self {
            track,
            seq: bits as u32,
            timestamp: (bits >> 32) as u32,
        }
    }
}

/// A call that plays.
struct Playing {
    id: Arc<str>,
    audio: CallAudio,
    talk: Conversation,
    /// The agent's and the customer's tracks.
    clocks: [Clock; 2],
    /// From the first console's join to the call's end, with a record dir.
    mixdown: Option<Mixdown>,
    /// The monitoring notice's next packet, while the customer hears it.
    notice: Option<usize>,
}

/// The media engine (one per simulator).
pub struct Media {
    library: Arc<Library>,
    seed: u64,
    /// Frames since the world's start.
    frame: i64,
    listeners: Listeners,
    playing: BTreeMap<Arc<str>, Playing>,
    recorder: Option<Recorder>,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("frame", &self.frame)
            .field("playing", &self.playing.len())
            .finish_non_exhaustive()
    }
}

impl Media {
    pub fn new(library: Arc<Library>, seed: u64, recorder: Option<Recorder>) -> Self {
        Self {
            library,
            seed,
            frame: 0,
            listeners: Listeners::default(),
            playing: BTreeMap::new(),
            recorder,
        }
    }

    /// Follows a world event: the routing changes before the next frame.
    pub fn follow(&mut self, event: &ServerMessage, world: &World) {
        match event {
            ServerMessage::LegJoined(joined) if is_console_track(joined.leg.track) => {
                if !self.playing.contains_key(joined.call_id.as_str()) {
                    let Some(audio) = world.call_audio(&joined.call_id) else {
                        return;
                    };
                    self.play(&joined.call_id, audio);
                }
                self.listeners.join(&joined.call_id, &joined.leg);
            }
            ServerMessage::LegLeft(left) => {
                let Some(track) = self.listeners.leave(&left.leg_id) else {
                    return;
                };
                let call = left.call_id.as_str();
                let Some(playing) = self.playing.get_mut(call) else {
                    return;
                };
                match &mut playing.mixdown {
                    Some(mixdown) => mixdown.leave(track),
                    // Nobody listens and nothing records: stop.
                    None if !self.listeners.any_on(call) => {
                        self.playing.remove(call);
                    }
                    None => {}
                }
            }
            ServerMessage::CallEnded(ended) => {
                // The world sends each leg's `leg_left` first; this only
                // makes sure no route outlives its call.
                self.listeners.end_call(&ended.call_id);
                if let Some(playing) = self.playing.remove(ended.call_id.as_str())
                    && playing.mixdown.is_some()
                    && let Some(recorder) = &self.recorder
                {
                    recorder.close(&playing.id);
                }
            }
            _ => {}
        }
    }

    fn play(&mut self, call: &str, audio: CallAudio) {
        let id: Arc<str> = Arc::from(call);
        let mixdown = self
            .recorder
            .as_ref()
            .and_then(|recorder| match Mixdown::new() {
                Ok(mixdown) => {
                    recorder.open(&id);
                    Some(mixdown)
                }
                Err(e) => {
                    tracing::warn!(%call, %e, "cannot record the call");
                    None
                }
            });
        let talk = Conversation::new(&self.library, self.seed, audio.number);
        let clocks = [
            Clock::new(self.seed, audio.agent_track),
            Clock::new(self.seed, audio.customer_track),
        ];
        tracing::debug!(%call, recording = mixdown.is_some(), "call audio starts");
        self.playing.insert(
            Arc::clone(&id),
            Playing {
                id,
                audio,
                talk,
                clocks,
                mixdown,
                notice: None,
            },
        );
    }

    /// A supervisor joined with `announce`: the customer hears the
    /// monitoring notice from the next frame on (over whatever is said).
    /// False when the call has no audio to play it in, or there is no
    /// notice to play.
    pub fn announce(&mut self, call: &str) -> bool {
        let Some(playing) = self.playing.get_mut(call) else {
            return false;
        };
        if self.library.notice(0).is_none() {
            return false;
        }
        tracing::info!(%call, "the customer hears the monitoring notice");
        playing.notice = Some(0);
        true
    }

    /// One 20 ms frame: the line being said on each playing call goes out
    /// (`send(call, frame)`, for the consoles on it), and into the mix.
    pub fn tick(&mut self, send: &mut impl FnMut(&str, Bytes)) {
        self.frame += 1;
        let library = &self.library;
        for playing in self.playing.values_mut() {
            let frame = self.frame - playing.audio.start_frame;
            let said = playing.talk.at(library, frame).and_then(|(line, index)| {
                let clip = library.clip(line.clip)?;
                let packet = clip.packets.get(usize::try_from(index).ok()?)?;
                let clock = playing.clocks[party(line.role)?];
                let mut flags = 0;
                if index == 0 {
                    flags |= FLAG_SPURT_START;
                }
                if index + 1 == line.frames {
                    flags |= FLAG_SPURT_END;
                }
                let header = FrameHeader {
                    flags,
                    track: clock.track,
                    seq: clock
                        .seq
                        .wrapping_add((line.spoken_before + u64::from(index)) as u32),
                    timestamp: clock
                        .timestamp
                        .wrapping_add((frame as u32).wrapping_mul(FRAME_SAMPLES)),
                };
                Some((line.role, header, packet))
            });
            if let Some((role, header, packet)) = said {
                let encoded = AudioFrame {
                    header,
                    opus: packet,
                }
                .encode();
                match encoded {
                    Ok(bytes) => send(&playing.id, Bytes::from(bytes)),
                    Err(e) => tracing::warn!(call = %playing.id, %e, "clip packet not sendable"),
                }
                if let Some(mixdown) = &mut playing.mixdown
                    && let Err(e) = mixdown.speech(role, packet)
                {
                    tracing::debug!(call = %playing.id, %e, "clip packet not decodable");
                }
            }
            if let Some(n) = playing.notice {
                let packet = library.notice(n);
                playing.notice = packet.map(|_| n + 1);
                if let (Some(packet), Some(mixdown)) = (packet, &mut playing.mixdown)
                    && let Err(e) = mixdown.notice(packet)
                {
                    tracing::debug!(call = %playing.id, %e, "notice packet not decodable");
                }
            }
            if let (Some(mixdown), Some(recorder)) = (&mut playing.mixdown, &self.recorder) {
                mixdown.finish(|customer, agent| recorder.frame(&playing.id, customer, agent));
            }
        }
    }

    /// A supervisor's voice (whisper or barge, on the sender's own leg, as
    /// the server core checked): into the mix for the parties it reaches.
    pub fn talk(&mut self, talk: &Talk) {
        let frame = match AudioFrame::decode(&talk.frame) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::debug!(leg = %talk.leg_id, %e, "bad audio frame ignored");
                return;
            }
        };
        let Some(mixdown) = self
            .playing
            .get_mut(talk.call_id.as_str())
            .and_then(|p| p.mixdown.as_mut())
        else {
            return;
        };
        let track = frame.header.track;
        if let Err(e) = mixdown.upstream(track, Reach::of(talk.mode), frame.opus) {
            tracing::debug!(leg = %talk.leg_id, track, %e, "upstream packet not decodable");
        }
    }

    /// Finishes every recording (the simulator is stopping).
    pub async fn close(self) {
        let Some(recorder) = self.recorder else {
            return;
        };
        let thread = recorder.finish();
        if let Ok(Err(_)) = tokio::task::spawn_blocking(move || thread.join()).await {
            tracing::warn!("the recording thread panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{WorldConfig, team_list};
    use floorwalk_protocol::{LegLeftReason, Mode, Role, Timestamp};
    use floorwalk_server::demo_accounts;

    struct Bench {
        world: World,
        media: Media,
        /// What went out: the call and the frame's header.
        sent: Vec<(String, FrameHeader)>,
    }

    impl Bench {
        fn new() -> Self {
            let library = Arc::new(Library::embedded().unwrap());
            let config = WorldConfig {
                agents: 50,
                seed: 3,
                min_call_secs: 3600,
                speed: 1.0,
                teams: team_list([]),
                start: Timestamp::from_millis(0),
            };
            Self {
                world: World::new(&config, Arc::clone(&library)),
                media: Media::new(library, 3, None),
                sent: Vec::new(),
            }
        }

        fn follow(&mut self) {
            for event in self.world.take_events() {
                self.media.follow(&event.message, &self.world);
            }
        }

        fn ticks(&mut self, n: usize) {
            for _ in 0..n {
                self.media.tick(&mut |call, bytes| {
                    let header = AudioFrame::decode(&bytes).unwrap().header;
                    self.sent.push((call.to_string(), header));
                });
            }
        }
    }

    #[test]
    fn only_joined_calls_play_each_party_on_its_track() {
        let mut bench = Bench::new();
        let accounts = demo_accounts();
        let (dana, amara) = (accounts[0].supervisor(), accounts[2].supervisor());
        bench.ticks(100);
        assert!(bench.sent.is_empty(), "nobody listens yet");

        let call = bench.world.state().calls[0].clone();
        let parties = [Role::Agent, Role::Customer].map(|r| call.leg_with_role(r).unwrap().track);
        let dana_leg = bench.world.join(&dana, &call.id, Mode::Silent).unwrap();
        let amara_leg = bench.world.join(&amara, &call.id, Mode::Silent).unwrap();
        bench.follow();
        bench.ticks(500);
        assert!(
            bench.sent.len() > 300,
            "{} frames in 10 s",
            bench.sent.len()
        );
        assert!(bench.sent.iter().all(|(to, _)| *to == call.id));
        let tracks: std::collections::BTreeSet<u32> =
            bench.sent.iter().map(|(_, h)| h.track).collect();
        assert_eq!(tracks, parties.into_iter().collect());

        // One leaving keeps the call playing for the other; once both
        // have left, nothing plays.
        for (leg, still_plays) in [(dana_leg, true), (amara_leg, false)] {
            bench
                .world
                .leave(&leg.leg_id, LegLeftReason::Disconnected)
                .unwrap();
            bench.follow();
            bench.sent.clear();
            bench.ticks(100);
            assert_eq!(!bench.sent.is_empty(), still_plays);
        }
        assert!(bench.media.playing.is_empty());
    }
}
