//! The capture core, without threads: 20 ms microphone frames in, Opus
//! frames for the supervisor's own leg out, only while the gate is open.

use super::FRAME_SAMPLES;
use super::codec::{CodecError, Encoder};
use floorwalk_protocol::{AudioFrame, FLAG_SPURT_START, FrameHeader};
use std::sync::{Arc, Mutex, PoisonError};

/// Whether the microphone may be sent, and on which track. Closing it is
/// synchronous: once [`TransmitGate::set`] returns `None`, no further frame
/// is handed on, because frames are handed on under the same lock.
#[derive(Debug, Clone, Default)]
pub struct TransmitGate {
    track: Arc<Mutex<Option<u32>>>,
}

impl TransmitGate {
    pub fn set(&self, track: Option<u32>) {
        *self.track.lock().unwrap_or_else(PoisonError::into_inner) = track;
    }

    pub fn track(&self) -> Option<u32> {
        *self.track.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// For the sending side of the socket: whether this upstream frame may
    /// still go out (its track is the open one). Frames queued before the
    /// gate closed are dropped by this check.
    pub fn admits(&self, frame: &[u8]) -> bool {
        AudioFrame::decode(frame).is_ok_and(|f| self.track() == Some(f.header.track))
    }

    fn with_lock<R>(&self, f: impl FnOnce(Option<u32>) -> R) -> R {
        let guard = self.track.lock().unwrap_or_else(PoisonError::into_inner);
        f(*guard)
    }
}

/// Encodes microphone frames into wire frames for the supervisor's leg.
#[derive(Debug)]
pub struct Capture {
    encoder: Encoder,
    seq: u32,
    /// Advances with every captured frame, sent or not, so that receivers
    /// see talk-spurt gaps as time.
    timestamp: u32,
    sending: bool,
}

impl Capture {
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            encoder: Encoder::voip()?,
            seq: 0,
            timestamp: 0,
            sending: false,
        })
    }

    /// Takes one 20 ms frame; when the gate is open, encodes it and hands
    /// the wire frame to `send` (under the gate's lock). Returns whether a
    /// frame was handed on.
    pub fn process(
        &mut self,
        frame: &[f32],
        gate: &TransmitGate,
        send: impl FnOnce(Vec<u8>),
    ) -> Result<bool, CodecError> {
        let timestamp = self.timestamp;
        self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES);
        if gate.track().is_none() {
            self.sending = false;
            return Ok(false);
        }
        // Encode outside the lock; hand on inside it, checking again.
        let packet = self.encoder.encode(frame)?;
        let sent = gate.with_lock(|track| {
            let Some(track) = track else {
                return false;
            };
            let header = FrameHeader {
                flags: if self.sending { 0 } else { FLAG_SPURT_START },
                track,
                seq: self.seq,
                timestamp,
            };
            match (AudioFrame {
                header,
                opus: packet,
            })
            .encode()
            {
                Ok(bytes) => {
                    send(bytes);
                    true
                }
                Err(_) => false,
            }
        });
        if sent {
            self.seq = self.seq.wrapping_add(1);
        }
        self.sending = sent;
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::signal::sine;

    #[test]
    fn frames_leave_only_while_the_gate_is_open_and_mark_spurts() {
        let gate = TransmitGate::default();
        let mut capture = Capture::new().unwrap();
        let tone = sine(200.0, 0.3, 960);
        let mut sent = Vec::new();
        for i in 0..10 {
            gate.set(match i {
                2..=4 => Some(31),
                7..=8 => Some(31),
                _ => None,
            });
            capture.process(&tone, &gate, |f| sent.push(f)).unwrap();
        }
        let headers: Vec<FrameHeader> = sent
            .iter()
            .map(|b| AudioFrame::decode(b).unwrap().header)
            .collect();
        assert_eq!(
            headers.iter().map(|h| h.seq).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert_eq!(
            headers
                .iter()
                .map(|h| h.timestamp / 960)
                .collect::<Vec<_>>(),
            vec![2, 3, 4, 7, 8]
        );
        assert_eq!(
            headers.iter().map(|h| h.spurt_start()).collect::<Vec<_>>(),
            vec![true, false, false, true, false]
        );
        assert!(headers.iter().all(|h| h.track == 31));
        assert!(!gate.admits(&sent[0]));
        gate.set(Some(31));
        assert!(gate.admits(&sent[0]));
        gate.set(Some(32));
        assert!(!gate.admits(&sent[0]));
    }

    #[test]
    fn closing_the_gate_from_another_thread_stops_frames_at_once() {
        let gate = TransmitGate::default();
        gate.set(Some(9));
        let (tx, rx) = std::sync::mpsc::channel();
        let worker_gate = gate.clone();
        let worker = std::thread::spawn(move || {
            let mut capture = Capture::new().unwrap();
            let tone = sine(200.0, 0.3, 960);
            for _ in 0..200 {
                capture
                    .process(&tone, &worker_gate, |f| tx.send(f).unwrap())
                    .unwrap();
            }
        });
        while rx.try_recv().is_err() {
            std::thread::yield_now();
        }
        gate.set(None);
        // Everything handed on was handed on before `set` returned.
        let already = rx.try_iter().count();
        worker.join().unwrap();
        assert_eq!(
            rx.try_iter().count(),
            0,
            "{already} were queued before the close"
        );
    }
}
