//! Opening a device stream: the configurations to try, the sample formats
//! a callback serves, and the state a stream shares with its callback.

use super::alsa_log::quietly;
use super::list::{Direction, device_name, find_device};
use crate::SAMPLE_RATE;
use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample, StreamConfig};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The device buffer we ask for: 10 ms.
const DEVICE_BUFFER_FRAMES: u32 = 480;
/// The ring between the engine and the callback holds this much.
pub(super) const RING: Duration = Duration::from_millis(200);
/// A device that takes nothing for this long has gone away.
const STALL: Duration = Duration::from_secs(2);
/// How long cpal may take to build a stream.
const BUILD_TIMEOUT: Duration = Duration::from_secs(2);

/// State shared with the callbacks: only atomics, set once or counted.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Samples the callback moved.
    pub moved: AtomicU64,
    /// Output: when the last callback ran (ns after the sink's epoch, plus
    /// one: zero means never) and how many samples it asked for.
    pub last_callback: AtomicU64,
    pub last_callback_len: AtomicU64,
    /// Output: the last callback found the ring short.
    pub last_callback_starved: AtomicBool,
    /// Output: samples the callback wanted but the ring did not have.
    /// Input: samples the ring had no room for.
    pub starved: AtomicU64,
    failed: AtomicBool,
    reason: OnceLock<String>,
}

impl Shared {
    fn error_callback(self: &Arc<Self>) -> impl FnMut(cpal::Error) + Send + 'static {
        let shared = Arc::clone(self);
        move |error: cpal::Error| {
            use cpal::ErrorKind::*;
            // Xruns and route changes are survivable; these are not.
            if matches!(
                error.kind(),
                DeviceNotAvailable | HostUnavailable | StreamInvalidated | PermissionDenied
            ) {
                let _ = shared.reason.set(error.to_string());
                shared.failed.store(true, Ordering::Release);
            }
        }
    }

    fn failure(&self) -> Option<String> {
        self.failed.load(Ordering::Acquire).then(|| {
            self.reason
                .get()
                .cloned()
                .unwrap_or_else(|| "the device failed".to_owned())
        })
    }
}

/// Notices a device that reported a failure or stopped moving samples.
#[derive(Debug, Default)]
struct Watchdog {
    last_moved: u64,
    last_progress: Option<Duration>,
}

impl Watchdog {
    fn check(&mut self, shared: &Shared, now: Duration, stalled: &str) -> Result<(), String> {
        if let Some(reason) = shared.failure() {
            return Err(reason);
        }
        let moved = shared.moved.load(Ordering::Relaxed);
        if moved != self.last_moved || self.last_progress.is_none() {
            self.last_moved = moved;
            self.last_progress = Some(now);
        } else if self
            .last_progress
            .is_some_and(|since| now.saturating_sub(since) > STALL)
        {
            return Err(stalled.to_owned());
        }
        Ok(())
    }
}

/// The configurations to try, best first: 48 kHz with our channel count and
/// a small fixed buffer, then the same with the device's buffer, then the
/// device's own default format.
fn candidates(
    default: Option<cpal::SupportedStreamConfig>,
    channels: u16,
) -> Vec<(StreamConfig, Option<SampleFormat>)> {
    let ours = |buffer_size| StreamConfig {
        channels,
        sample_rate: SAMPLE_RATE,
        buffer_size,
    };
    let mut v = vec![
        (ours(cpal::BufferSize::Fixed(DEVICE_BUFFER_FRAMES)), None),
        (ours(cpal::BufferSize::Default), None),
    ];
    if let Some(default) = default {
        let format = Some(default.sample_format());
        let mut config = default.config();
        config.buffer_size = cpal::BufferSize::Fixed(DEVICE_BUFFER_FRAMES);
        v.push((config, format));
        config.buffer_size = cpal::BufferSize::Default;
        v.push((config, format));
    }
    v
}

/// Interleaved samples in `duration` of a stream.
pub(super) fn samples_for(duration: Duration, config: &StreamConfig) -> usize {
    (u128::from(config.sample_rate) * duration.as_micros() / 1_000_000) as usize
        * usize::from(config.channels)
}

/// The sample types we open streams in.
pub(super) trait DeviceSample: SizedSample + FromSample<f32> {
    fn to_f32(self) -> f32;
}

impl<T: SizedSample + FromSample<f32>> DeviceSample for T
where
    f32: FromSample<T>,
{
    fn to_f32(self) -> f32 {
        f32::from_sample(self)
    }
}

/// What building a stream takes besides its callback.
pub(super) struct StreamSpec<'a> {
    pub device: &'a cpal::Device,
    pub config: StreamConfig,
    pub on_error: Box<dyn FnMut(cpal::Error) + Send>,
    pub timeout: Option<Duration>,
}

/// A device callback that serves any of the sample formats we accept.
pub(super) trait Callback: Send + 'static {
    /// Builds the stream that calls it with samples of type `T`.
    fn build<T: DeviceSample>(self, spec: StreamSpec<'_>) -> Result<cpal::Stream, cpal::Error>;
}

fn build_stream(
    device: &cpal::Device,
    config: &StreamConfig,
    format: SampleFormat,
    callback: impl Callback,
    shared: &Arc<Shared>,
) -> Result<cpal::Stream, cpal::Error> {
    let spec = StreamSpec {
        device,
        config: *config,
        on_error: Box::new(shared.error_callback()),
        timeout: Some(BUILD_TIMEOUT),
    };
    match format {
        SampleFormat::I16 => callback.build::<i16>(spec),
        SampleFormat::U16 => callback.build::<u16>(spec),
        SampleFormat::I32 => callback.build::<i32>(spec),
        _ => callback.build::<f32>(spec),
    }
}

/// A stream that plays, and what the engine keeps of it.
pub(super) struct Opened<K> {
    pub stream: cpal::Stream,
    pub shared: Arc<Shared>,
    /// The engine's ends of the stream's rings.
    pub kept: K,
    pub config: StreamConfig,
    /// The device's name.
    pub label: String,
}

/// The engine's hold on a playing stream: the state its callback shares,
/// the watchdog on it, and what the status line says. Pauses the stream
/// when dropped.
pub(super) struct Playing {
    stream: cpal::Stream,
    pub shared: Arc<Shared>,
    watchdog: Watchdog,
    description: String,
}

impl Playing {
    pub fn new(stream: cpal::Stream, shared: Arc<Shared>, description: String) -> Self {
        Self {
            stream,
            shared,
            watchdog: Watchdog::default(),
            description,
        }
    }

    /// The device's failure, or `stalled` once no sample moved for `STALL`.
    pub fn check(&mut self, now: Duration, stalled: &str) -> Result<(), String> {
        self.watchdog.check(&self.shared, now, stalled)
    }

    pub fn describe(&self) -> String {
        self.description.clone()
    }

    /// Samples the callback could not move: missing from the ring
    /// (output), or with no room in it (input).
    pub fn lost_samples(&self) -> u64 {
        self.shared.starved.load(Ordering::Relaxed)
    }
}

impl Drop for Playing {
    fn drop(&mut self) {
        let _ = self.stream.pause();
    }
}

/// Opens the named device (or the default) for `direction`, trying each
/// configuration in turn until a stream builds and plays; the last error
/// says why none did. `make` gives a configuration's callback and what the
/// engine keeps.
pub(super) fn open_stream<C: Callback, K>(
    name: Option<&str>,
    direction: Direction,
    channels: u16,
    mut make: impl FnMut(&StreamConfig, &Arc<Shared>) -> (C, K),
) -> Result<Opened<K>, String> {
    quietly(|| {
        let host = cpal::default_host();
        let device = find_device(&host, name, direction)?;
        let label = device_name(&device);
        let shared = Arc::new(Shared::default());
        let default = match direction {
            Direction::Output => device.default_output_config(),
            Direction::Input => device.default_input_config(),
        };
        let mut last_error = String::from("no configuration worked");
        for (config, format) in candidates(default.ok(), channels) {
            let (callback, kept) = make(&config, &shared);
            let format = format.unwrap_or(SampleFormat::F32);
            let played = build_stream(&device, &config, format, callback, &shared)
                .map_err(|e| e.to_string())
                .and_then(|stream| match stream.play() {
                    Ok(()) => Ok(stream),
                    Err(e) => Err(e.to_string()),
                });
            match played {
                Ok(stream) => {
                    return Ok(Opened {
                        stream,
                        shared,
                        kept,
                        config,
                        label,
                    });
                }
                Err(e) => last_error = e,
            }
        }
        Err(format!("{label}: {last_error}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FRAME_DURATION;

    #[test]
    fn candidates_prefer_48k_and_a_small_buffer() {
        let list = candidates(None, 2);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].0.sample_rate, 48_000);
        assert_eq!(list[0].0.channels, 2);
        assert_eq!(list[0].0.buffer_size, cpal::BufferSize::Fixed(480));
        assert_eq!(samples_for(FRAME_DURATION, &list[0].0), 1920);
    }
}
