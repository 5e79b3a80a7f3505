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

use super::capture::{Capture, TransmitGate};
use super::clock::{Clock, SystemClock};
use super::endpoint::{Endpoint, Microphone, Sink};
use super::jitter::JitterConfig;
use super::latency::ListeningDelay;
use super::mix::{Gains, Layout};
use super::none::NullSink;
use super::open::{open_input, open_output};
use super::playback::{FrameRejected, PartyLevels, Playback, TrackSpec, TrackStats};
use super::signal::Level;
use super::{FRAME_DURATION, FRAME_SAMPLES};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

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

struct PlaybackThread {
    config: AudioConfig,
    rx: mpsc::Receiver<PlaybackMsg>,
    events: tokio::sync::mpsc::UnboundedSender<AudioEvent>,
    shared: Arc<Shared>,
}

impl PlaybackThread {
    fn open_output(&self, channels: usize) -> Box<dyn Sink> {
        match open_output(&self.config.output, channels) {
            Ok(sink) => {
                let _ = self.events.send(AudioEvent::OutputReady {
                    description: sink.describe(),
                });
                sink
            }
            Err(e) => {
                tracing::warn!("audio output {}: {e}", self.config.output);
                let _ = self.events.send(AudioEvent::OutputFailed {
                    endpoint: self.config.output.to_string(),
                    reason: e.to_string(),
                });
                Box::new(NullSink::new(channels))
            }
        }
    }

    fn run(self) {
        quiet_alsa();
        let clock = Arc::clone(&self.config.clock);
        let mut playback = Playback::new(self.config.layout, self.config.gains, self.config.jitter);
        let mut sink = self.open_output(playback.channels());
        let mut frames_in = 0u64;
        let mut frames_rejected = 0u64;
        let mut listening = ListeningDelay::default();
        // The record when the tracks last changed, to log a call's share.
        let mut call_start = ListeningDelay::default();
        let mut last_stats = Duration::ZERO;
        loop {
            let now = clock.now();
            let wait = sink
                .next_deadline()
                .map_or(DEVICE_POLL, |d| d.saturating_sub(now).min(FRAME_DURATION));
            let mut next = match self.rx.recv_timeout(wait) {
                Ok(msg) => Some(msg),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            while let Some(msg) = next.take().or_else(|| self.rx.try_recv().ok()) {
                match msg {
                    PlaybackMsg::Frame(bytes) => {
                        frames_in += 1;
                        match playback.push(&bytes, clock.now()) {
                            Ok(_) => {}
                            Err(FrameRejected::UnknownTrack(_)) => frames_rejected += 1,
                            Err(e) => {
                                frames_rejected += 1;
                                tracing::debug!("audio frame dropped: {e}");
                            }
                        }
                    }
                    PlaybackMsg::Tracks(tracks) => {
                        if tracks.is_empty() {
                            log_listening(&listening.since(&call_start));
                        }
                        call_start.clone_from(&listening);
                        if let Err(e) = playback.set_tracks(&tracks) {
                            tracing::error!("audio decoder: {e}");
                        }
                    }
                    PlaybackMsg::Gains(gains) => playback.set_gains(gains),
                    PlaybackMsg::Stop => return,
                }
            }
            let now = clock.now();
            loop {
                match sink.due(now) {
                    Ok(0) => break,
                    Ok(n) => {
                        let mut failed = None;
                        for _ in 0..n {
                            if let Err(e) = sink.write(playback.render(now)) {
                                failed = Some(e);
                                break;
                            }
                            for &arrival in playback.arrivals() {
                                // The age as of now, after rendering: a
                                // device turns it back into an instant.
                                let age = clock.now().saturating_sub(arrival);
                                if let Some(measured) = sink.tag(age) {
                                    listening.record(measured);
                                }
                            }
                        }
                        if let Some(e) = failed {
                            sink = self.fail_output(&e.to_string(), playback.channels());
                        }
                        let levels = playback.levels();
                        let board = &self.shared.meters;
                        board.store(CUSTOMER, levels.customer);
                        board.store(AGENT, levels.agent);
                        board.store(OTHERS, levels.others);
                    }
                    Err(e) => sink = self.fail_output(&e.to_string(), playback.channels()),
                }
            }
            sink.measured(&mut |measured| listening.record(measured));
            if now.saturating_sub(last_stats) >= STATS_EVERY {
                last_stats = now;
                flush_alsa_log();
                if let Ok(mut stats) = self.shared.stats.try_lock() {
                    stats.output = sink.describe();
                    stats.output_starved_samples = sink.starved_samples();
                    stats.tracks = playback.stats();
                    stats.frames_in = frames_in;
                    stats.frames_rejected = frames_rejected;
                    stats.listening_delay.clone_from(&listening);
                }
            }
        }
    }

    fn fail_output(&self, reason: &str, channels: usize) -> Box<dyn Sink> {
        tracing::warn!("audio output {} failed: {reason}", self.config.output);
        let _ = self.events.send(AudioEvent::OutputFailed {
            endpoint: self.config.output.to_string(),
            reason: reason.to_owned(),
        });
        Box::new(NullSink::new(channels))
    }
}

/// Logs the listening delay of the call just left, for whoever looks into
/// how a call sounded.
fn log_listening(delay: &ListeningDelay) {
    let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1e3);
    if delay.played.count() > 0 {
        tracing::info!(
            "listening delay since the tracks last changed: median {:.1} ms, p95 {:.1} ms, \
             max {:.1} ms over {} packets (arrival to sample out)",
            ms(delay.played.percentile(50)),
            ms(delay.played.percentile(95)),
            ms(Some(delay.played.max())),
            delay.played.count()
        );
    }
}

struct CaptureThread {
    input: Endpoint,
    clock: Arc<dyn Clock>,
    rx: mpsc::Receiver<CaptureMsg>,
    events: tokio::sync::mpsc::UnboundedSender<AudioEvent>,
    upstream: tokio::sync::mpsc::Sender<Vec<u8>>,
    gate: TransmitGate,
    shared: Arc<Shared>,
}

impl CaptureThread {
    fn fail(&self, reason: String) {
        tracing::warn!("audio input {}: {reason}", self.input);
        let _ = self.events.send(AudioEvent::InputFailed {
            endpoint: self.input.to_string(),
            reason,
        });
    }

    fn open(&self) -> Option<Box<dyn Microphone>> {
        match open_input(&self.input) {
            Ok(Some(source)) => {
                let description = source.describe();
                if let Ok(mut stats) = self.shared.stats.lock() {
                    stats.input = Some(description.clone());
                }
                let _ = self.events.send(AudioEvent::InputReady { description });
                Some(source)
            }
            Ok(None) => None,
            Err(e) => {
                self.fail(e.to_string());
                None
            }
        }
    }

    fn run(self) {
        quiet_alsa();
        let mut capture = match Capture::new() {
            Ok(capture) => Some(capture),
            Err(e) => {
                self.fail(format!("no encoder: {e}"));
                None
            }
        };
        let mut source: Option<Box<dyn Microphone>> = None;
        let mut armed = false;
        let mut frame = vec![0.0f32; FRAME_SAMPLES as usize];
        loop {
            let msg = if armed {
                let now = self.clock.now();
                let wait = source
                    .as_ref()
                    .and_then(|s| s.next_deadline())
                    .map_or(DEVICE_POLL, |d| d.saturating_sub(now).min(FRAME_DURATION));
                match self.rx.recv_timeout(wait) {
                    Ok(msg) => Some(msg),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            } else {
                // Disarmed: nothing to do until told.
                match self.rx.recv() {
                    Ok(msg) => Some(msg),
                    Err(_) => return,
                }
            };
            match msg {
                Some(CaptureMsg::Stop) => return,
                Some(CaptureMsg::Arm(on)) if on != armed => {
                    armed = on;
                    if on {
                        source = self.open();
                    } else {
                        source = None;
                        self.shared.meters.store(MICROPHONE, Level::default());
                        if let Ok(mut stats) = self.shared.stats.lock() {
                            stats.input = None;
                        }
                        let _ = self.events.send(AudioEvent::InputClosed);
                    }
                    flush_alsa_log();
                }
                Some(CaptureMsg::Arm(_)) | None => {}
            }
            let (Some(src), Some(capture)) = (source.as_mut(), capture.as_mut()) else {
                continue;
            };
            loop {
                match src.read(self.clock.now(), &mut frame) {
                    Ok(true) => {
                        self.shared.meters.store(MICROPHONE, Level::of(&frame));
                        let sent = capture.process(&frame, &self.gate, |bytes| {
                            if self.upstream.try_send(bytes).is_err() {
                                self.shared.upstream_dropped.fetch_add(1, Ordering::Relaxed);
                            }
                        });
                        match sent {
                            Ok(true) => {
                                self.shared.frames_sent.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(false) => {}
                            Err(e) => tracing::debug!("audio encode: {e}"),
                        }
                    }
                    Ok(false) => {
                        if let Ok(mut stats) = self.shared.stats.try_lock() {
                            stats.input_dropped_samples = src.dropped_samples();
                        }
                        break;
                    }
                    Err(e) => {
                        self.fail(e.to_string());
                        source = None;
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
