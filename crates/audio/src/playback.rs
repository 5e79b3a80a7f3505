//! The playback core, without threads: binary frames in, per-track jitter
//! buffers, decode, mix, limit, levels out. The engine thread drives it
//! with a clock; tests and benchmarks drive it directly.

use super::FRAME_SAMPLES;
use super::codec::{CodecError, Decoder};
use super::jitter::{JitterBuffer, JitterConfig, JitterStats, Playout, PushOutcome};
use super::mix::{Gains, Layout, Mixer};
use super::signal::Level;
use floorwalk_protocol::{AudioFrame, FrameError, Role};
use std::time::Duration;

/// A track to play: the leg's track number and whose voice it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackSpec {
    pub track: u32,
    pub role: Role,
}

/// Levels per party for the call pane (the last 20 ms, after gain).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PartyLevels {
    pub customer: Level,
    pub agent: Level,
    /// Other supervisors and bots.
    pub others: Level,
}

/// Figures of one track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackStats {
    pub track: u32,
    pub role: Role,
    pub jitter: JitterStats,
    pub decode_errors: u64,
}

/// Why a binary frame was not queued.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FrameRejected {
    #[error(transparent)]
    Malformed(#[from] FrameError),
    #[error("frame for track {0}, which is not being played")]
    UnknownTrack(u32),
}

struct Track {
    spec: TrackSpec,
    jitter: JitterBuffer,
    decoder: Decoder,
    pcm: Vec<f32>,
    decode_errors: u64,
}

impl Track {
    /// Decodes this tick's audio; returns the arrival of the packet played.
    fn render(&mut self, now: Duration) -> Option<Duration> {
        let mut played = None;
        match self.jitter.pop(now) {
            Playout::Packet { opus, arrival, .. } => {
                played = Some(arrival);
                if self.decoder.decode(opus, &mut self.pcm).is_err() {
                    // A corrupt packet is a lost one.
                    self.decode_errors += 1;
                    if self.decoder.conceal(&mut self.pcm).is_err() {
                        self.pcm.fill(0.0);
                    }
                }
            }
            Playout::Conceal { fade_from, fade_to } => {
                if self.decoder.conceal(&mut self.pcm).is_err() {
                    self.pcm.fill(0.0);
                }
                let step = (fade_to - fade_from) / self.pcm.len() as f32;
                for (i, s) in self.pcm.iter_mut().enumerate() {
                    *s *= fade_from + step * i as f32;
                }
            }
            Playout::Silence => self.pcm.fill(0.0),
        }
        played
    }
}

/// Plays the tracks of one call.
pub struct Playback {
    tracks: Vec<Track>,
    mixer: Mixer,
    jitter: JitterConfig,
    mix: Vec<f32>,
    levels: PartyLevels,
    arrivals: Vec<Duration>,
}

impl std::fmt::Debug for Playback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Playback")
            .field(
                "tracks",
                &self.tracks.iter().map(|t| t.spec).collect::<Vec<_>>(),
            )
            .field("layout", &self.mixer.layout)
            .finish()
    }
}

impl Playback {
    pub fn new(layout: Layout, gains: Gains, jitter: JitterConfig) -> Self {
        Self {
            tracks: Vec::new(),
            mixer: Mixer::new(layout, gains),
            jitter,
            mix: vec![0.0; FRAME_SAMPLES as usize * layout.channels()],
            levels: PartyLevels::default(),
            arrivals: Vec::new(),
        }
    }

    pub fn channels(&self) -> usize {
        self.mixer.layout.channels()
    }

    /// Plays exactly these tracks. Tracks that stay keep their buffers, so a
    /// mode switch does not gap; new ones start empty.
    pub fn set_tracks(&mut self, specs: &[TrackSpec]) -> Result<(), CodecError> {
        self.tracks
            .retain(|t| specs.iter().any(|s| s.track == t.spec.track));
        for spec in specs {
            match self.tracks.iter_mut().find(|t| t.spec.track == spec.track) {
                Some(track) => track.spec.role = spec.role,
                None => self.tracks.push(Track {
                    spec: *spec,
                    jitter: JitterBuffer::new(self.jitter),
                    decoder: Decoder::new()?,
                    pcm: vec![0.0; FRAME_SAMPLES as usize],
                    decode_errors: 0,
                }),
            }
        }
        Ok(())
    }

    pub fn set_gains(&mut self, gains: Gains) {
        self.mixer.gains = gains;
    }

    /// Queues a binary frame that arrived at `now`.
    pub fn push(&mut self, bytes: &[u8], now: Duration) -> Result<PushOutcome, FrameRejected> {
        let frame = AudioFrame::decode(bytes)?;
        let h = frame.header;
        let track = self
            .tracks
            .iter_mut()
            .find(|t| t.spec.track == h.track)
            .ok_or(FrameRejected::UnknownTrack(h.track))?;
        Ok(track
            .jitter
            .push(h.seq, h.timestamp, h.flags, now, frame.opus))
    }

    /// The next 20 ms of the mix, `channels()` interleaved.
    pub fn render(&mut self, now: Duration) -> &[f32] {
        let mut levels = PartyLevels::default();
        self.arrivals.clear();
        for track in &mut self.tracks {
            self.arrivals.extend(track.render(now));
            let gain = self.mixer.gains.of(track.spec.role);
            let level = Level::of(&track.pcm);
            let level = Level {
                peak: level.peak * gain,
                rms: level.rms * gain,
            };
            let slot = match track.spec.role {
                Role::Customer => &mut levels.customer,
                Role::Agent => &mut levels.agent,
                Role::Supervisor | Role::Bot | Role::Unknown => &mut levels.others,
            };
            *slot = slot.max(level);
        }
        self.levels = levels;
        let inputs: Vec<(Role, &[f32])> = self
            .tracks
            .iter()
            .map(|t| (t.spec.role, &t.pcm[..]))
            .collect();
        self.mixer.mix(&inputs, &mut self.mix);
        &self.mix
    }

    /// When the packets in the last rendered frame arrived (one per track
    /// that played a packet rather than concealment or silence).
    pub fn arrivals(&self) -> &[Duration] {
        &self.arrivals
    }

    pub fn levels(&self) -> PartyLevels {
        self.levels
    }

    pub fn stats(&mut self) -> Vec<TrackStats> {
        self.tracks
            .iter_mut()
            .map(|t| TrackStats {
                track: t.spec.track,
                role: t.spec.role,
                jitter: t.jitter.stats(),
                decode_errors: t.decode_errors,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
