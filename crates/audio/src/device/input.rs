//! The microphone from a device.

use super::list::Direction;
use super::stream::{Callback, DeviceSample, Opened, Playing, RING, Shared, StreamSpec};
use super::stream::{open_stream, samples_for};
use crate::endpoint::{InputError, Microphone};
use crate::resample::{Fixed, Resampler};
use crate::{FRAME_SAMPLES, SAMPLE_RATE};
use cpal::traits::DeviceTrait;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The microphone from a device, as 48 kHz mono.
pub struct DeviceMicrophone {
    playing: Playing,
    consumer: rtrb::Consumer<f32>,
    resampler: Resampler,
    /// Mono samples at the device's rate, taken from the ring but not yet
    /// converted: the first `staged_len`.
    staged: Vec<f32>,
    staged_len: usize,
}

impl std::fmt::Debug for DeviceMicrophone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.playing.describe())
    }
}

impl DeviceMicrophone {
    pub fn open(name: Option<&str>) -> Result<Self, InputError> {
        let opened = open_stream(name, Direction::Input, 1, |config, shared| {
            let (producer, consumer) = rtrb::RingBuffer::new(samples_for(RING, config));
            let callback = InputCallback {
                producer,
                shared: Arc::clone(shared),
                channels: usize::from(config.channels.max(1)),
            };
            (callback, consumer)
        })
        .map_err(InputError::Device)?;
        let Opened {
            stream,
            shared,
            kept: consumer,
            config,
            label,
        } = opened;
        let resampler = Resampler::new(
            config.sample_rate,
            SAMPLE_RATE,
            1,
            Fixed::Output(FRAME_SAMPLES as usize),
        )
        .map_err(|e| InputError::Device(format!("{label}: {e}")))?;
        let description = format!(
            "{label} ({} Hz, {} ch)",
            config.sample_rate, config.channels
        );
        Ok(Self {
            playing: Playing::new(stream, shared, description),
            consumer,
            resampler,
            // Room for a full ring on top of a frame's worth waiting.
            staged: vec![0.0; 2 * samples_for(RING, &config)],
            staged_len: 0,
        })
    }
}

/// What the input callback owns: it never allocates, locks or logs.
struct InputCallback {
    producer: rtrb::Producer<f32>,
    shared: Arc<Shared>,
    channels: usize,
}

impl InputCallback {
    /// Averages each of the device's frames to mono, into the ring.
    fn take<T: DeviceSample>(&mut self, data: &[T]) {
        let mut dropped = 0u64;
        for frame in data.chunks_exact(self.channels) {
            let mono = frame.iter().map(|s| s.to_f32()).sum::<f32>() / self.channels as f32;
            if self.producer.push(mono).is_err() {
                dropped += 1;
            }
        }
        self.shared
            .moved
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        self.shared.starved.fetch_add(dropped, Ordering::Relaxed);
    }
}

impl Callback for InputCallback {
    fn build<T: DeviceSample>(mut self, spec: StreamSpec<'_>) -> Result<cpal::Stream, cpal::Error> {
        let take = move |data: &[T], _: &cpal::InputCallbackInfo| self.take(data);
        spec.device
            .build_input_stream(spec.config, take, spec.on_error, spec.timeout)
    }
}

impl Microphone for DeviceMicrophone {
    fn read(&mut self, now: Duration, frame: &mut [f32]) -> Result<bool, InputError> {
        self.playing
            .check(now, "the microphone stopped sending audio")
            .map_err(InputError::Device)?;
        let (popped, _) = self
            .consumer
            .pop_partial_slice(&mut self.staged[self.staged_len..]);
        self.staged_len += popped.len();
        let want = FRAME_SAMPLES as usize;
        if self.staged_len < self.resampler.input_frames_next() || frame.len() < want {
            return Ok(false);
        }
        let (taken, _) = self
            .resampler
            .process(&self.staged[..self.staged_len], &mut frame[..want])
            .map_err(|e| InputError::Device(e.to_string()))?;
        self.staged.copy_within(taken..self.staged_len, 0);
        self.staged_len -= taken;
        Ok(true)
    }

    fn next_deadline(&self) -> Option<Duration> {
        (self.staged_len >= self.resampler.input_frames_next()).then_some(Duration::ZERO)
    }

    fn describe(&self) -> String {
        self.playing.describe()
    }

    fn dropped_samples(&self) -> u64 {
        self.playing.lost_samples()
    }
}
