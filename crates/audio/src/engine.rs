//! The engine threads and the handle the app holds.
//!
//! ```text
//! feed ──Vec<u8> frames──▶ FrameSink ─▶ playback thread: jitter buffers,
//!                                        decode, mix, limit ─▶ output
//!                                        └▶ meters (lock-free snapshot)
//! input ─▶ capture thread: 20 ms frames, encode ─▶ TransmitGate ─▶ upstream
//! ```
//!
//! Use:
//! ```no_run
//! use floorwalk_audio::engine::{AudioConfig, AudioEngine};
//! use floorwalk_audio::playback::TrackSpec;
//! use floorwalk_protocol::Role;
//!
//! let (audio, mut channels) = AudioEngine::start(AudioConfig::default());
//! let frames = audio.frame_sink(); // give to the feed: frames.send(binary_frame)
//! audio.set_tracks(vec![
//!     TrackSpec { track: 11, role: Role::Customer },
//!     TrackSpec { track: 12, role: Role::Agent },
//! ]);
//! audio.arm_microphone(true); // whisper or barge: open the microphone
//! audio.set_transmit(Some(31)); // push-to-talk on, on my leg's track
//! audio.set_transmit(None); // key released or Disconnect: returns once closed
//! let meters = audio.meters(); // for the call pane
//! // channels.events: AudioEvent (device opened, failed, ...)
//! // channels.upstream: wire frames for the feed to send
//! ```
//!
//! Nothing here blocks the caller: commands are queued to the threads, except
//! [`AudioHandle::set_transmit`], which closes the gate synchronously so that
//! no microphone frame is handed on after it returns.

use super::capture::TransmitGate;
use super::clock::{Clock, SystemClock};
use super::endpoint::Endpoint;
use super::jitter::JitterConfig;
use super::latency::ListeningDelay;
use super::mix::{Gains, Layout};
use super::playback::{PartyLevels, TrackSpec, TrackStats};
use super::signal::Level;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

mod capture_thread;
mod playback_thread;

use capture_thread::CaptureThread;
use playback_thread::PlaybackThread;

/// How often the threads look at a device ring at the most.
const DEVICE_POLL: Duration = Duration::from_millis(2);
/// How often stats are published.
const STATS_EVERY: Duration = Duration::from_millis(250);
/// Upstream frames queued for the feed before new ones are dropped (1 s).
const UPSTREAM_QUEUE: usize = 50;

/// How the engine starts.
#[derive(Debug, Clone)]
pub struct AudioConfig {
    pub output: Endpoint,
    pub input: Endpoint,
    /// Fixed for the engine's life (the output is opened with its channels).
    pub layout: Layout,
    pub gains: Gains,
    pub jitter: JitterConfig,
    pub clock: Arc<dyn Clock>,
}

impl Default for AudioConfig {
    fn default() -> Self {
        Self {
            output: Endpoint::None,
            input: Endpoint::None,
            layout: Layout::Mono,
            gains: Gains::default(),
            jitter: JitterConfig::default(),
            clock: Arc::new(SystemClock::default()),
        }
    }
}

/// What the engine tells the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioEvent {
    /// The output is open; `description` is for the status line.
    OutputReady { description: String },
    /// The output could not be opened, or failed or vanished: the engine
    /// plays to `none` from now on. Show it loudly.
    OutputFailed { endpoint: String, reason: String },
    /// The microphone is open.
    InputReady { description: String },
    /// The microphone could not be opened or failed: nothing is sent.
    InputFailed { endpoint: String, reason: String },
    /// The microphone was closed (silent mode, or left the call).
    InputClosed,
}

/// Levels for the call pane.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Meters {
    pub parties: PartyLevels,
    /// The supervisor's own microphone (while it is open).
    pub microphone: Level,
}

/// Figures for benchmarks, `doctor` and the log.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EngineStats {
    pub output: String,
    pub input: Option<String>,
    pub tracks: Vec<TrackStats>,
    pub frames_in: u64,
    pub frames_rejected: u64,
    pub frames_sent: u64,
    /// Upstream frames dropped because the feed did not keep up.
    pub upstream_dropped: u64,
    /// Output samples the device wanted but did not get in time.
    pub output_starved_samples: u64,
    /// Microphone samples lost because they were not read in time.
    pub input_dropped_samples: u64,
    /// Every played packet's delay from arrival to sample out, since start.
    pub listening_delay: ListeningDelay,
}

/// The meters as atomics: the engine threads store, the UI loads, nobody
/// waits. Each value is an f32's bits.
#[derive(Debug, Default)]
struct MeterBoard {
    values: [AtomicU32; 8],
}

impl MeterBoard {
    fn store(&self, slot: usize, level: Level) {
        self.values[2 * slot].store(level.peak.to_bits(), Ordering::Relaxed);
        self.values[2 * slot + 1].store(level.rms.to_bits(), Ordering::Relaxed);
    }

    fn load(&self, slot: usize) -> Level {
        Level {
            peak: f32::from_bits(self.values[2 * slot].load(Ordering::Relaxed)),
            rms: f32::from_bits(self.values[2 * slot + 1].load(Ordering::Relaxed)),
        }
    }
}

const CUSTOMER: usize = 0;
const AGENT: usize = 1;
const OTHERS: usize = 2;
const MICROPHONE: usize = 3;

enum PlaybackMsg {
    Frame(Vec<u8>),
    Tracks(Vec<TrackSpec>),
    Gains(Gains),
    Stop,
}

enum CaptureMsg {
    Arm(bool),
    Stop,
}

/// Where the feed puts downstream binary frames. Cheap to clone; sending
/// never blocks.
#[derive(Clone)]
pub struct FrameSink {
    tx: mpsc::Sender<PlaybackMsg>,
}

impl std::fmt::Debug for FrameSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FrameSink")
    }
}

impl FrameSink {
    /// Hands a binary frame to the engine; false once the engine stopped.
    pub fn send(&self, frame: Vec<u8>) -> bool {
        self.tx.send(PlaybackMsg::Frame(frame)).is_ok()
    }
}

/// The receiving ends the app and the feed take.
#[derive(Debug)]
pub struct AudioChannels {
    pub events: tokio::sync::mpsc::UnboundedReceiver<AudioEvent>,
    /// Upstream wire frames for the feed to send (check
    /// [`TransmitGate::admits`] right before writing each).
    pub upstream: tokio::sync::mpsc::Receiver<Vec<u8>>,
}

/// The engine.
#[derive(Debug)]
pub struct AudioEngine;

impl AudioEngine {
    /// Starts the playback and capture threads. Never fails: an output that
    /// cannot be opened is reported as [`AudioEvent::OutputFailed`] and the
    /// engine plays to `none`.
    pub fn start(config: AudioConfig) -> (AudioHandle, AudioChannels) {
        let (events_tx, events) = tokio::sync::mpsc::unbounded_channel();
        let (upstream_tx, upstream) = tokio::sync::mpsc::channel(UPSTREAM_QUEUE);
        let (playback_tx, playback_rx) = mpsc::channel();
        let (capture_tx, capture_rx) = mpsc::channel();
        let shared = Arc::new(Shared::default());
        let gate = TransmitGate::default();

        let playback = PlaybackThread {
            config: config.clone(),
            rx: playback_rx,
            events: events_tx.clone(),
            shared: Arc::clone(&shared),
        };
        let capture = CaptureThread {
            input: config.input.clone(),
            clock: Arc::clone(&config.clock),
            rx: capture_rx,
            events: events_tx,
            upstream: upstream_tx,
            gate: gate.clone(),
            shared: Arc::clone(&shared),
        };
        let mut threads = Vec::new();
        let spawned = std::thread::Builder::new()
            .name("audio-playback".into())
            .spawn(move || playback.run())
            .and_then(|p| {
                threads.push(p);
                std::thread::Builder::new()
                    .name("audio-capture".into())
                    .spawn(move || capture.run())
            });
        match spawned {
            Ok(c) => threads.push(c),
            Err(e) => tracing::error!("audio threads could not start: {e}"),
        }
        let handle = AudioHandle {
            playback: playback_tx,
            capture: capture_tx,
            gate,
            shared,
            threads,
        };
        (handle, AudioChannels { events, upstream })
    }
}

#[derive(Debug, Default)]
struct Shared {
    meters: MeterBoard,
    stats: Mutex<EngineStats>,
    frames_sent: AtomicU64,
    upstream_dropped: AtomicU64,
}

/// The app's handle on the engine. Dropping it stops the threads.
#[derive(Debug)]
pub struct AudioHandle {
    playback: mpsc::Sender<PlaybackMsg>,
    capture: mpsc::Sender<CaptureMsg>,
    gate: TransmitGate,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl AudioHandle {
    /// Where the feed puts downstream binary frames.
    pub fn frame_sink(&self) -> FrameSink {
        FrameSink {
            tx: self.playback.clone(),
        }
    }

    /// Plays exactly these tracks (the legs of the joined call, without the
    /// supervisor's own). Tracks that stay keep playing without a gap.
    pub fn set_tracks(&self, tracks: Vec<TrackSpec>) {
        let _ = self.playback.send(PlaybackMsg::Tracks(tracks));
    }

    pub fn set_gains(&self, gains: Gains) {
        let _ = self.playback.send(PlaybackMsg::Gains(gains));
    }

    /// Opens (whisper, barge) or closes (silent, left) the microphone. It is
    /// opened ahead of push-to-talk so that talking starts at once.
    pub fn arm_microphone(&self, on: bool) {
        let _ = self.capture.send(CaptureMsg::Arm(on));
    }

    /// Push-to-talk: send the microphone on `track`, or stop. Closing is
    /// synchronous: after `set_transmit(None)` returns, no frame is handed
    /// on. Opening also arms the microphone if it was not.
    pub fn set_transmit(&self, track: Option<u32>) {
        self.gate.set(track);
        if track.is_some() {
            self.arm_microphone(true);
        }
    }

    /// The gate, for the feed's writer to check each upstream frame with.
    pub fn transmit_gate(&self) -> TransmitGate {
        self.gate.clone()
    }

    /// The latest levels (lock-free).
    pub fn meters(&self) -> Meters {
        let board = &self.shared.meters;
        Meters {
            parties: PartyLevels {
                customer: board.load(CUSTOMER),
                agent: board.load(AGENT),
                others: board.load(OTHERS),
            },
            microphone: board.load(MICROPHONE),
        }
    }

    /// The latest figures (updated four times a second).
    pub fn stats(&self) -> EngineStats {
        let mut stats = self
            .shared
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        stats.frames_sent = self.shared.frames_sent.load(Ordering::Relaxed);
        stats.upstream_dropped = self.shared.upstream_dropped.load(Ordering::Relaxed);
        stats
    }

    /// Stops the threads and waits for them (closing the devices and
    /// finishing a WAV file).
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.gate.set(None);
        let _ = self.playback.send(PlaybackMsg::Stop);
        let _ = self.capture.send(CaptureMsg::Stop);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for AudioHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

fn quiet_alsa() {
    #[cfg(feature = "audio-device")]
    super::device::quiet_alsa();
}

fn flush_alsa_log() {
    #[cfg(feature = "audio-device")]
    super::device::flush_alsa_log();
}

#[cfg(test)]
mod tests;
