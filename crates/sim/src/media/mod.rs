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

pub mod courier;
pub mod record;
pub mod routing;

use super::conversation::{Conversation, Library, party};
use super::world::{CallAudio, World, is_console_track};
use floorwalk_audio::FRAME_SAMPLES;
use floorwalk_protocol::{
    AudioFrame, FLAG_SPURT_END, FLAG_SPURT_START, FrameHeader, ServerMessage,
};
use record::{Mixdown, Recorder};
use routing::{Dropped, Routes};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Bytes;

/// How often dropped upstream frames are reported, in frames (5 seconds).
const REPORT_EVERY: i64 = 250;

/// Upstream frames that went nowhere, as counted for the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    /// On a track that is not the sender's live leg.
    pub not_yours: u64,
    /// On the sender's silent leg.
    pub silent: u64,
}

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
        let bits = super::splitmix(seed ^ u64::from(track));
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
}

/// The media engine (one per simulator).
pub struct Media {
    library: Arc<Library>,
    seed: u64,
    /// Frames since the world's start.
    frame: i64,
    routes: Routes,
    playing: BTreeMap<Arc<str>, Playing>,
    recorder: Option<Recorder>,
    drops: Drops,
    reported: Drops,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("frame", &self.frame)
            .field("playing", &self.playing.len())
            .field("drops", &self.drops)
            .finish_non_exhaustive()
    }
}

impl Media {
    pub fn new(library: Arc<Library>, seed: u64, recorder: Option<Recorder>) -> Self {
        Self {
            library,
            seed,
            frame: 0,
            routes: Routes::default(),
            playing: BTreeMap::new(),
            recorder,
            drops: Drops::default(),
            reported: Drops::default(),
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
                self.routes.join(&joined.call_id, &joined.leg);
            }
            ServerMessage::LegChanged(changed) => self.routes.change(&changed.leg_id, changed.mode),
            ServerMessage::LegLeft(left) => {
                let Some(track) = self.routes.leave(&left.leg_id) else {
                    return;
                };
                let call = left.call_id.as_str();
                let Some(playing) = self.playing.get_mut(call) else {
                    return;
                };
                match &mut playing.mixdown {
                    Some(mixdown) => mixdown.leave(track),
                    // Nobody listens and nothing records: stop.
                    None if !self.routes.has_listeners(call) => {
                        self.playing.remove(call);
                    }
                    None => {}
                }
            }
            ServerMessage::CallEnded(ended) => {
                // The world sends each leg's `leg_left` first; this only
                // makes sure no route outlives its call.
                self.routes.end_call(&ended.call_id);
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
            },
        );
    }

    /// One 20 ms frame: the line being said on each playing call goes to
    /// the consoles on it (`send(supervisor, frame)`), and into the mix.
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
                    Ok(bytes) => {
                        let bytes = Bytes::from(bytes);
                        for supervisor in self.routes.listeners(&playing.id) {
                            send(supervisor, bytes.clone());
                        }
                    }
                    Err(e) => tracing::warn!(call = %playing.id, %e, "clip packet not sendable"),
                }
                if let Some(mixdown) = &mut playing.mixdown
                    && let Err(e) = mixdown.speech(role, packet)
                {
                    tracing::debug!(call = %playing.id, %e, "clip packet not decodable");
                }
            }
            if let (Some(mixdown), Some(recorder)) = (&mut playing.mixdown, &self.recorder) {
                mixdown.finish(|customer, agent| recorder.frame(&playing.id, customer, agent));
            }
        }
        if self.frame % REPORT_EVERY == 0 && self.drops != self.reported {
            self.reported = self.drops;
            tracing::info!(
                not_yours = self.drops.not_yours,
                silent = self.drops.silent,
                "upstream audio dropped so far (not the sender's leg; silent leg)"
            );
        }
    }

    /// A frame a console of `sender` sent: it goes to the other supervisors
    /// on the call and into the mix for the parties it reaches, or nowhere.
    pub fn upstream(&mut self, sender: &str, bytes: Bytes, send: &mut impl FnMut(&str, Bytes)) {
        let frame = match AudioFrame::decode(&bytes) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::debug!(%sender, %e, "bad audio frame ignored");
                return;
            }
        };
        let track = frame.header.track;
        let route = match self.routes.route(sender, track) {
            Ok(route) => route,
            Err(Dropped::NotYours) => {
                self.drops.not_yours += 1;
                tracing::debug!(
                    %sender,
                    track,
                    dropped = self.drops.not_yours,
                    "upstream frame dropped: not the sender's leg"
                );
                return;
            }
            Err(Dropped::Silent) => {
                self.drops.silent += 1;
                return;
            }
        };
        if route.reach.supervisors {
            for supervisor in self.routes.others(route.call, sender) {
                send(supervisor, bytes.clone());
            }
        }
        let Some(mixdown) = self
            .playing
            .get_mut(route.call)
            .and_then(|p| p.mixdown.as_mut())
        else {
            return;
        };
        if let Err(e) = mixdown.upstream(track, route.reach, frame.opus) {
            tracing::debug!(%sender, track, %e, "upstream packet not decodable");
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
    use crate::accounts::demo_accounts;
    use crate::world::{WorldConfig, team_list};
    use floorwalk_protocol::{Mode, Role, Timestamp};

    struct Bench {
        world: World,
        media: Media,
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
                self.media.tick(&mut |to, bytes| {
                    let header = AudioFrame::decode(&bytes).unwrap().header;
                    self.sent.push((to.to_string(), header));
                });
            }
        }

        fn upstream(&mut self, from: &str, track: u32) {
            let frame = AudioFrame {
                header: FrameHeader {
                    track,
                    ..FrameHeader::default()
                },
                opus: &[0xf8, 0xff, 0xfe],
            };
            let bytes = Bytes::from(frame.encode().unwrap());
            self.media.upstream(from, bytes, &mut |to, bytes| {
                let header = AudioFrame::decode(&bytes).unwrap().header;
                self.sent.push((to.to_string(), header));
            });
        }
    }

    #[test]
    fn only_joined_calls_play_and_only_to_their_consoles() {
        let mut bench = Bench::new();
        let accounts = demo_accounts();
        let (dana, amara) = (
            bench.world.principal(&accounts[0]),
            bench.world.principal(&accounts[2]),
        );
        bench.ticks(100);
        assert!(bench.sent.is_empty(), "nobody listens yet");

        let call = bench.world.snapshot(&dana.teams, 0).calls[0].clone();
        let parties = [Role::Agent, Role::Customer].map(|r| call.leg_with_role(r).unwrap().track);
        let dana_leg = bench.world.monitor(&dana, &call.id, Mode::Silent).unwrap();
        let amara_leg = bench.world.monitor(&amara, &call.id, Mode::Silent).unwrap();
        bench.follow();
        bench.ticks(500);
        assert!(
            bench.sent.len() > 300,
            "{} frames in 10 s",
            bench.sent.len()
        );
        for who in ["sup-1", "sup-3"] {
            let tracks: std::collections::BTreeSet<u32> = bench
                .sent
                .iter()
                .filter(|(to, _)| to == who)
                .map(|(_, h)| h.track)
                .collect();
            assert_eq!(tracks, parties.into_iter().collect(), "{who}");
        }

        // Silent and foreign frames are counted and go nowhere.
        bench.sent.clear();
        bench.upstream("sup-1", dana_leg.track);
        bench.upstream("sup-1", amara_leg.track);
        bench.upstream("sup-1", parties[0]);
        assert!(bench.sent.is_empty());
        assert_eq!(
            bench.media.drops,
            Drops {
                not_yours: 2,
                silent: 1
            }
        );

        // A whisper reaches the other supervisor, on the sender's track.
        bench
            .world
            .set_mode(&dana, &dana_leg.leg_id, Mode::Whisper)
            .unwrap();
        bench.follow();
        bench.upstream("sup-1", dana_leg.track);
        assert_eq!(bench.sent.len(), 1);
        assert_eq!(bench.sent[0].0, "sup-3");
        assert_eq!(bench.sent[0].1.track, dana_leg.track);

        // Once both have left, nothing plays.
        bench.world.disconnect(&dana, &dana_leg.leg_id).unwrap();
        bench.world.disconnect(&amara, &amara_leg.leg_id).unwrap();
        bench.follow();
        bench.sent.clear();
        bench.ticks(200);
        bench.upstream("sup-1", dana_leg.track);
        assert!(bench.sent.is_empty());
        assert!(bench.media.playing.is_empty());
    }
}
