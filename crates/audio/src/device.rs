//! Audio devices through cpal (feature `audio-device`).
//!
//! The device callbacks run on cpal's thread and never allocate, lock or
//! log: they only move samples through a lock-free SPSC ring (rtrb) and bump
//! atomic counters. The engine thread fills or drains the ring, resamples
//! when the device does not take 48 kHz, and watches for a device that
//! failed or stopped taking audio.
//!
//! alsa-lib prints its complaints to stderr, which would scribble over the
//! dashboard; every thread here that opens or lists devices first routes
//! them into a buffer that ends up in the log (see [`quiet_alsa`]). cpal's
//! own stream thread is not covered, but cpal recovers xruns without
//! alsa-lib messages, so it stays quiet in practice.

use super::input::{InputError, Source};
use super::latency::{Measured, Tag, TagMatcher};
use super::output::{OutputError, Sink};
use super::resample::Resampler;
use super::{DeviceInfo, DeviceList, FRAME_SAMPLES, SAMPLE_RATE};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample, StreamConfig};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The device buffer we ask for: 10 ms.
const DEVICE_BUFFER_FRAMES: u32 = 480;
/// The ring between the engine and the callback holds this much.
const RING: Duration = Duration::from_millis(200);
/// Before the device's first callback, the engine fills the ring this far.
const LOW_WATER: Duration = Duration::from_millis(10);
/// Then it renders each frame this long before the callback that would
/// otherwise run dry, so that a frame waits as little as possible in the
/// ring (the device buffer is the only other wait).
const REFILL_LEAD: Duration = Duration::from_millis(4);
/// Frames whose listening delay can be in flight between the engine and the
/// callback (the ring's worth, and then some).
const TAGS_IN_FLIGHT: usize = 64;
/// A device that takes nothing for this long has gone away.
const STALL: Duration = Duration::from_secs(2);

#[cfg(target_os = "linux")]
thread_local! {
    /// This thread's alsa-lib message buffer, once installed.
    static ALSA_LOG: std::cell::RefCell<Option<std::rc::Rc<std::cell::RefCell<alsa::Output>>>> =
        const { std::cell::RefCell::new(None) };
}

/// Routes alsa-lib's error messages on this thread into a buffer (instead of
/// stderr) that [`flush_alsa_log`] sends to the log. Idempotent.
pub(crate) fn quiet_alsa() {
    #[cfg(target_os = "linux")]
    ALSA_LOG.with_borrow_mut(|slot| {
        if slot.is_none() {
            *slot = alsa::Output::local_error_handler().ok();
        }
    });
}

/// Logs and forgets what alsa-lib said on this thread since the last call.
pub(crate) fn flush_alsa_log() {
    #[cfg(target_os = "linux")]
    ALSA_LOG.with_borrow_mut(|slot| {
        let Some(output) = slot else {
            return;
        };
        let text = output.borrow().to_string();
        if text.is_empty() {
            return;
        }
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            tracing::debug!(target: "alsa", "{line}");
        }
        // A fresh buffer; the old one goes with its text.
        *slot = alsa::Output::local_error_handler().ok();
    });
}

fn device_name(device: &cpal::Device) -> String {
    device
        .id()
        .map(|id| id.id().to_owned())
        .unwrap_or_else(|_| device.to_string())
}

/// Lists the output and input devices.
pub fn list_devices() -> DeviceList {
    quiet_alsa();
    let host = cpal::default_host();
    let devices = match host.devices() {
        Ok(devices) => devices,
        Err(e) => {
            return DeviceList {
                devices: Vec::new(),
                note: Some(format!("no audio system: {e}")),
            };
        }
    };
    let default_out = host.default_output_device().map(|d| device_name(&d));
    let default_in = host.default_input_device().map(|d| device_name(&d));
    let devices: Vec<DeviceInfo> = devices
        .map(|device| {
            let name = device_name(&device);
            let description = device
                .description()
                .map(|d| d.name().to_owned())
                .unwrap_or_default();
            DeviceInfo {
                output: device.supports_output(),
                input: device.supports_input(),
                default_output: default_out.as_deref() == Some(name.as_str()),
                default_input: default_in.as_deref() == Some(name.as_str()),
                name,
                description,
            }
        })
        .collect();
    flush_alsa_log();
    let note = devices
        .is_empty()
        .then(|| format!("the {} audio system reports no devices", host.id().name()));
    DeviceList { devices, note }
}

fn find_device(
    host: &cpal::Host,
    name: Option<&str>,
    output: bool,
) -> Result<cpal::Device, String> {
    match name {
        None => if output {
            host.default_output_device()
        } else {
            host.default_input_device()
        }
        .ok_or_else(|| "no default device".to_owned()),
        Some(name) => host
            .devices()
            .map_err(|e| format!("no audio system: {e}"))?
            .find(|d| device_name(d) == name || d.to_string() == name)
            .ok_or_else(|| format!("no device named {name:?} (see `floorwalk devices`)")),
    }
}

/// State shared with the callbacks: only atomics, set once or counted.
#[derive(Debug, Default)]
struct Shared {
    /// Samples the callback moved.
    moved: AtomicU64,
    /// Output: when the last callback ran (ns after the sink's epoch, plus
    /// one: zero means never) and how many samples it asked for.
    last_callback: AtomicU64,
    last_callback_len: AtomicU64,
    /// Output: the last callback found the ring short.
    last_callback_starved: AtomicBool,
    /// Output: samples the callback wanted but the ring did not have.
    /// Input: samples the ring had no room for.
    starved: AtomicU64,
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

fn samples_for(duration: Duration, config: &StreamConfig) -> usize {
    (u128::from(config.sample_rate) * duration.as_micros() / 1_000_000) as usize
        * usize::from(config.channels)
}

/// The mix going to a device.
pub struct DeviceSink {
    stream: cpal::Stream,
    producer: rtrb::Producer<f32>,
    /// Samples pushed into the ring so far.
    pushed: u64,
    /// Where the last frame written starts in the ring, if any of it fit.
    last_frame_at: Option<u64>,
    tags: rtrb::Producer<Tag>,
    measured: rtrb::Consumer<Measured>,
    shared: Arc<Shared>,
    /// Channels of the mix, and of the device.
    channels: usize,
    device_channels: usize,
    resamplers: Vec<Resampler>,
    scratch: Vec<f32>,
    converted: Vec<Vec<f32>>,
    low_water: usize,
    /// Interleaved device samples per second.
    samples_per_second: u64,
    epoch: Instant,
    /// When the engine should render next (set by `due`).
    deadline: Option<Duration>,
    watchdog: Watchdog,
    description: String,
}

impl std::fmt::Debug for DeviceSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl DeviceSink {
    /// Opens the named device (or the default) for `channels` channels of
    /// 48 kHz, falling back to what the device offers.
    pub fn open(name: Option<&str>, channels: usize) -> Result<Self, OutputError> {
        quiet_alsa();
        let result = Self::open_inner(name, channels);
        flush_alsa_log();
        result
    }

    fn open_inner(name: Option<&str>, channels: usize) -> Result<Self, OutputError> {
        let host = cpal::default_host();
        let device = find_device(&host, name, true).map_err(OutputError::Device)?;
        let label = device_name(&device);
        let shared = Arc::new(Shared::default());
        let epoch = Instant::now();
        let channels_u16 = u16::try_from(channels.clamp(1, 2)).unwrap_or(1);
        let configs = candidates(device.default_output_config().ok(), channels_u16);
        let (stream, (producer, tags, measured), config) =
            first_playing(configs, |config, format| {
                let (producer, consumer) = rtrb::RingBuffer::new(samples_for(RING, config));
                let (matcher, tags, measured) =
                    TagMatcher::new(TAGS_IN_FLIGHT, config.sample_rate, config.channels);
                let callback = OutputCallback {
                    consumer,
                    matcher,
                    shared: Arc::clone(&shared),
                    channels: usize::from(config.channels.max(1)),
                    epoch,
                };
                let built = match format {
                    SampleFormat::I16 => build_output::<i16>(&device, config, callback, &shared),
                    SampleFormat::U16 => build_output::<u16>(&device, config, callback, &shared),
                    SampleFormat::I32 => build_output::<i32>(&device, config, callback, &shared),
                    _ => build_output::<f32>(&device, config, callback, &shared),
                };
                built.map(|stream| (stream, (producer, tags, measured)))
            })
            .map_err(|e| OutputError::Device(format!("{label}: {e}")))?;
        let capacity = samples_for(RING, &config);
        let device_channels = usize::from(config.channels);
        let buffer = match config.buffer_size {
            cpal::BufferSize::Fixed(n) => format!("{n}-frame buffer"),
            cpal::BufferSize::Default => "default buffer".to_owned(),
        };
        Ok(Self {
            stream,
            producer,
            pushed: 0,
            last_frame_at: None,
            tags,
            measured,
            shared: Arc::clone(&shared),
            channels: channels.clamp(1, 2),
            device_channels,
            resamplers: (0..channels.clamp(1, 2))
                .map(|_| Resampler::new(SAMPLE_RATE, config.sample_rate))
                .collect(),
            scratch: Vec::with_capacity(capacity),
            converted: vec![Vec::with_capacity(capacity); channels.clamp(1, 2)],
            low_water: samples_for(LOW_WATER, &config),
            samples_per_second: u64::from(config.sample_rate) * u64::from(config.channels.max(1)),
            epoch,
            deadline: None,
            watchdog: Watchdog::default(),
            description: format!(
                "{label} ({} Hz, {} ch, {buffer})",
                config.sample_rate, config.channels
            ),
        })
    }
}

/// The output callback seen last.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LastCallback {
    ago: Duration,
    /// Samples it took, and how long they play.
    len: usize,
    period: Duration,
    /// The ring did not have all it wanted.
    starved: bool,
}

/// How long until the engine must render the next frame into a ring holding
/// `held` samples: zero for now, None while the next callback is covered.
/// Before any callback the ring is filled to `low_water`; then each frame is
/// rendered `lead` before the callback that would run dry without it. After
/// a callback that ran dry (a late engine, a device catching up, a device
/// not paced by a clock) there is no time to lose: at once.
fn refill_in(
    held: usize,
    low_water: usize,
    callback: Option<LastCallback>,
    lead: Duration,
) -> Option<Duration> {
    match callback {
        None => (held < low_water).then_some(Duration::ZERO),
        Some(last) if held >= last.len.max(1) => None,
        Some(last) if last.starved => Some(Duration::ZERO),
        Some(last) => Some(last.period.saturating_sub(last.ago).saturating_sub(lead)),
    }
}

/// Notices a device that reported a failure or stopped moving samples.
#[derive(Debug, Default)]
struct Watchdog {
    last_moved: u64,
    last_progress: Option<Duration>,
}

impl Watchdog {
    /// The device's failure, or `stalled` once no sample moved for `STALL`.
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

/// Tries each configuration in turn until a stream builds and plays; the
/// last error says why none did. `build` returns the stream and the end of
/// its ring buffer the engine keeps.
fn first_playing<R>(
    configs: Vec<(StreamConfig, Option<SampleFormat>)>,
    mut build: impl FnMut(&StreamConfig, SampleFormat) -> Result<(cpal::Stream, R), cpal::Error>,
) -> Result<(cpal::Stream, R, StreamConfig), String> {
    let mut last_error = String::from("no configuration worked");
    for (config, format) in configs {
        let played = build(&config, format.unwrap_or(SampleFormat::F32))
            .map_err(|e| e.to_string())
            .and_then(|(stream, kept)| match stream.play() {
                Ok(()) => Ok((stream, kept)),
                Err(e) => Err(e.to_string()),
            });
        match played {
            Ok((stream, kept)) => return Ok((stream, kept, config)),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// What the output callback owns: it never allocates, locks or logs.
struct OutputCallback {
    consumer: rtrb::Consumer<f32>,
    matcher: TagMatcher,
    shared: Arc<Shared>,
    channels: usize,
    epoch: Instant,
}

impl OutputCallback {
    fn fill<T: SizedSample + FromSample<f32>>(
        &mut self,
        data: &mut [T],
        info: &cpal::OutputCallbackInfo,
    ) {
        // Whole frames only, so that channels never swap on an underrun.
        let mut staged = [0.0f32; 256];
        let mut done = 0;
        while done < data.len() {
            let want = (data.len() - done).min(staged.len());
            let available = self.consumer.slots().min(want) / self.channels * self.channels;
            if available == 0 {
                break;
            }
            let (popped, _) = self.consumer.pop_partial_slice(&mut staged[..available]);
            for (out, sample) in data[done..].iter_mut().zip(popped.iter()) {
                *out = T::from_sample(*sample);
            }
            done += popped.len();
        }
        for out in &mut data[done..] {
            *out = T::EQUILIBRIUM;
        }
        // The samples are the device's from here on.
        let now = Instant::now();
        let since_epoch = now.saturating_duration_since(self.epoch).as_nanos();
        self.shared
            .last_callback_len
            .store(data.len() as u64, Ordering::Relaxed);
        self.shared
            .last_callback_starved
            .store(done < data.len(), Ordering::Relaxed);
        self.shared.last_callback.store(
            u64::try_from(since_epoch).unwrap_or(u64::MAX - 1) + 1,
            Ordering::Release,
        );
        let stamp = info.timestamp();
        self.matcher
            .took(done, now, stamp.playback.duration_since(stamp.callback));
        self.shared.moved.fetch_add(done as u64, Ordering::Relaxed);
        self.shared
            .starved
            .fetch_add((data.len() - done) as u64, Ordering::Relaxed);
    }
}

fn build_output<T>(
    device: &cpal::Device,
    config: &StreamConfig,
    mut callback: OutputCallback,
    shared: &Arc<Shared>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    device.build_output_stream::<T, _, _>(
        *config,
        move |data: &mut [T], info| callback.fill(data, info),
        shared.error_callback(),
        Some(Duration::from_secs(2)),
    )
}

impl Sink for DeviceSink {
    fn due(&mut self, now: Duration) -> Result<u64, OutputError> {
        self.watchdog
            .check(&self.shared, now, "the device stopped taking audio")
            .map_err(OutputError::Device)?;
        let held = self.producer.buffer().capacity() - self.producer.slots();
        let callback = match self.shared.last_callback.load(Ordering::Acquire) {
            0 => None,
            at => {
                let len = self.shared.last_callback_len.load(Ordering::Relaxed);
                Some(LastCallback {
                    ago: self
                        .epoch
                        .elapsed()
                        .saturating_sub(Duration::from_nanos(at - 1)),
                    len: usize::try_from(len).unwrap_or(usize::MAX),
                    starved: self.shared.last_callback_starved.load(Ordering::Relaxed),
                    period: Duration::from_nanos(
                        len * 1_000_000_000 / self.samples_per_second.max(1),
                    ),
                })
            }
        };
        let refill = refill_in(held, self.low_water, callback, REFILL_LEAD);
        self.deadline = refill.map(|wait| now + wait);
        Ok(u64::from(refill == Some(Duration::ZERO)))
    }

    fn write(&mut self, frame: &[f32]) -> Result<(), OutputError> {
        // Resample each channel of the mix, then lay them out for the device.
        for (c, (resampler, out)) in self
            .resamplers
            .iter_mut()
            .zip(&mut self.converted)
            .enumerate()
        {
            self.scratch.clear();
            self.scratch
                .extend(frame.iter().skip(c).step_by(self.channels).copied());
            out.clear();
            resampler.process(&self.scratch, out);
        }
        self.scratch.clear();
        let len = self.converted.iter().map(Vec::len).min().unwrap_or(0);
        for i in 0..len {
            match (self.channels, self.device_channels) {
                (1, device) => {
                    for _ in 0..device {
                        self.scratch.push(self.converted[0][i]);
                    }
                }
                (_, 1) => self
                    .scratch
                    .push((self.converted[0][i] + self.converted[1][i]) / 2.0),
                (_, device) => {
                    for c in 0..device {
                        self.scratch
                            .push(self.converted.get(c).map_or(0.0, |channel| channel[i]));
                    }
                }
            }
        }
        // A full ring means the device is behind: drop rather than block.
        let (pushed, _) = self.producer.push_partial_slice(&self.scratch);
        self.last_frame_at = (!pushed.is_empty()).then_some(self.pushed);
        self.pushed += pushed.len() as u64;
        Ok(())
    }

    fn tag(&mut self, age: Duration) -> Option<Measured> {
        if let (Some(position), Some(arrival)) =
            (self.last_frame_at, Instant::now().checked_sub(age))
        {
            // A full queue means the callback is not running: nothing to measure.
            let _ = self.tags.push(Tag { position, arrival });
        }
        None
    }

    fn measured(&mut self, record: &mut dyn FnMut(Measured)) {
        while let Ok(measured) = self.measured.pop() {
            record(measured);
        }
    }

    fn channels(&self) -> usize {
        self.channels
    }

    fn next_deadline(&self) -> Option<Duration> {
        self.deadline
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn starved_samples(&self) -> u64 {
        self.shared.starved.load(Ordering::Relaxed)
    }
}

impl Drop for DeviceSink {
    fn drop(&mut self) {
        let _ = self.stream.pause();
    }
}

/// The microphone from a device, as 48 kHz mono.
pub struct DeviceSource {
    stream: cpal::Stream,
    consumer: rtrb::Consumer<f32>,
    shared: Arc<Shared>,
    resampler: Resampler,
    staged: Vec<f32>,
    pending: Vec<f32>,
    watchdog: Watchdog,
    description: String,
}

impl std::fmt::Debug for DeviceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl DeviceSource {
    pub fn open(name: Option<&str>) -> Result<Self, InputError> {
        quiet_alsa();
        let result = Self::open_inner(name);
        flush_alsa_log();
        result
    }

    fn open_inner(name: Option<&str>) -> Result<Self, InputError> {
        let host = cpal::default_host();
        let device = find_device(&host, name, false).map_err(InputError::Device)?;
        let label = device_name(&device);
        let shared = Arc::new(Shared::default());
        let configs = candidates(device.default_input_config().ok(), 1);
        let (stream, consumer, config) = first_playing(configs, |config, format| {
            let (producer, consumer) = rtrb::RingBuffer::new(samples_for(RING, config));
            let built = match format {
                SampleFormat::I16 => build_input::<i16>(&device, config, producer, &shared),
                SampleFormat::U16 => build_input::<u16>(&device, config, producer, &shared),
                SampleFormat::I32 => build_input::<i32>(&device, config, producer, &shared),
                _ => build_input::<f32>(&device, config, producer, &shared),
            };
            built.map(|stream| (stream, consumer))
        })
        .map_err(|e| InputError::Device(format!("{label}: {e}")))?;
        let capacity = samples_for(RING, &config);
        Ok(Self {
            stream,
            consumer,
            shared: Arc::clone(&shared),
            resampler: Resampler::new(config.sample_rate, SAMPLE_RATE),
            staged: vec![0.0; capacity],
            pending: Vec::with_capacity(capacity * 2),
            watchdog: Watchdog::default(),
            description: format!(
                "{label} ({} Hz, {} ch)",
                config.sample_rate, config.channels
            ),
        })
    }
}

fn build_input<T>(
    device: &cpal::Device,
    config: &StreamConfig,
    mut producer: rtrb::Producer<f32>,
    shared: &Arc<Shared>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let counters = Arc::clone(shared);
    device.build_input_stream::<T, _, _>(
        *config,
        move |data: &[T], _| {
            let mut dropped = 0u64;
            for frame in data.chunks_exact(channels) {
                let mono =
                    frame.iter().map(|s| f32::from_sample(*s)).sum::<f32>() / channels as f32;
                if producer.push(mono).is_err() {
                    dropped += 1;
                }
            }
            counters
                .moved
                .fetch_add(data.len() as u64, Ordering::Relaxed);
            counters.starved.fetch_add(dropped, Ordering::Relaxed);
        },
        shared.error_callback(),
        Some(Duration::from_secs(2)),
    )
}

impl Source for DeviceSource {
    fn read(&mut self, now: Duration, frame: &mut [f32]) -> Result<bool, InputError> {
        self.watchdog
            .check(&self.shared, now, "the microphone stopped sending audio")
            .map_err(InputError::Device)?;
        let (popped, _) = self.consumer.pop_partial_slice(&mut self.staged);
        let n = popped.len();
        self.resampler.process(&self.staged[..n], &mut self.pending);
        let want = FRAME_SAMPLES as usize;
        if self.pending.len() < want || frame.len() < want {
            return Ok(false);
        }
        frame[..want].copy_from_slice(&self.pending[..want]);
        self.pending.drain(..want);
        Ok(true)
    }

    fn next_deadline(&self) -> Option<Duration> {
        (self.pending.len() >= FRAME_SAMPLES as usize).then_some(Duration::ZERO)
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn dropped_samples(&self) -> u64 {
        self.shared.starved.load(Ordering::Relaxed)
    }
}

impl Drop for DeviceSource {
    fn drop(&mut self) {
        let _ = self.stream.pause();
    }
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

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A device whose callbacks take 10 ms of stereo (960 samples).
    fn callback(ago: Duration) -> Option<LastCallback> {
        Some(LastCallback {
            ago,
            len: 960,
            period: ms(10),
            starved: false,
        })
    }

    #[test]
    fn before_the_first_callback_the_ring_is_primed_to_low_water() {
        assert_eq!(refill_in(0, 960, None, ms(4)), Some(Duration::ZERO));
        assert_eq!(refill_in(959, 960, None, ms(4)), Some(Duration::ZERO));
        assert_eq!(refill_in(1920, 960, None, ms(4)), None);
    }

    #[test]
    fn a_frame_is_rendered_just_before_the_callback_that_needs_it() {
        // The ring covers the next callback: nothing to do yet.
        assert_eq!(refill_in(960, 960, callback(ms(1)), ms(4)), None);
        assert_eq!(refill_in(2_000, 960, callback(ms(9)), ms(4)), None);
        // It does not: render 4 ms before the next callback (due in 9 ms).
        assert_eq!(refill_in(500, 960, callback(ms(1)), ms(4)), Some(ms(5)));
        assert_eq!(refill_in(0, 960, callback(ms(6)), ms(4)), Some(ms(0)));
        // A late callback, or a late engine: at once.
        assert_eq!(refill_in(0, 960, callback(ms(30)), ms(4)), Some(ms(0)));
    }

    #[test]
    fn after_a_callback_ran_dry_the_next_frame_is_rendered_at_once() {
        let starved = callback(ms(1)).map(|c| LastCallback { starved: true, ..c });
        assert_eq!(refill_in(0, 960, starved, ms(4)), Some(ms(0)));
        assert_eq!(refill_in(960, 960, starved, ms(4)), None, "covered again");
    }
}
