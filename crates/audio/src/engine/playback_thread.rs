//! The playback thread: downstream frames into the jitter buffers, the mix
//! out to the output, the party meters and the listening delay.

use super::{
    AGENT, AudioConfig, AudioEvent, CUSTOMER, DEVICE_POLL, OTHERS, PlaybackMsg, STATS_EVERY,
    Shared, flush_alsa_log, quiet_alsa,
};
use crate::FRAME_DURATION;
use crate::endpoint::Sink;
use crate::latency::ListeningDelay;
use crate::none::NullSink;
use crate::open::open_output;
use crate::playback::{FrameRejected, Playback};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

pub(super) struct PlaybackThread {
    pub(super) config: AudioConfig,
    pub(super) rx: mpsc::Receiver<PlaybackMsg>,
    pub(super) events: tokio::sync::mpsc::UnboundedSender<AudioEvent>,
    pub(super) shared: Arc<Shared>,
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

    pub(super) fn run(self) {
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
