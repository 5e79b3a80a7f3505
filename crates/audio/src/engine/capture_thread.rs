//! The capture thread: the microphone, while armed, encoded into upstream
//! frames behind the transmit gate, and its meter.

use super::{AudioEvent, CaptureMsg, DEVICE_POLL, MICROPHONE, Shared, flush_alsa_log, quiet_alsa};
use crate::capture::{Capture, TransmitGate};
use crate::clock::Clock;
use crate::endpoint::{Endpoint, Microphone};
use crate::open::open_input;
use crate::signal::Level;
use crate::{FRAME_DURATION, FRAME_SAMPLES};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};

pub(super) struct CaptureThread {
    pub(super) input: Endpoint,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) rx: mpsc::Receiver<CaptureMsg>,
    pub(super) events: tokio::sync::mpsc::UnboundedSender<AudioEvent>,
    pub(super) upstream: tokio::sync::mpsc::Sender<Vec<u8>>,
    pub(super) gate: TransmitGate,
    pub(super) shared: Arc<Shared>,
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
            Ok(Some(microphone)) => {
                let description = microphone.describe();
                if let Ok(mut stats) = self.shared.stats.lock() {
                    stats.input = Some(description.clone());
                }
                let _ = self.events.send(AudioEvent::InputReady { description });
                Some(microphone)
            }
            Ok(None) => None,
            Err(e) => {
                self.fail(e.to_string());
                None
            }
        }
    }

    pub(super) fn run(self) {
        quiet_alsa();
        let mut capture = match Capture::new() {
            Ok(capture) => Some(capture),
            Err(e) => {
                self.fail(format!("no encoder: {e}"));
                None
            }
        };
        let mut microphone: Option<Box<dyn Microphone>> = None;
        let mut armed = false;
        let mut frame = vec![0.0f32; FRAME_SAMPLES as usize];
        loop {
            let msg = if armed {
                let now = self.clock.now();
                let wait = microphone
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
                        microphone = self.open();
                    } else {
                        microphone = None;
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
            let (Some(mic), Some(capture)) = (microphone.as_mut(), capture.as_mut()) else {
                continue;
            };
            loop {
                match mic.read(self.clock.now(), &mut frame) {
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
                            stats.input_dropped_samples = mic.dropped_samples();
                        }
                        break;
                    }
                    Err(e) => {
                        self.fail(e.to_string());
                        microphone = None;
                        break;
                    }
                }
            }
        }
    }
}
