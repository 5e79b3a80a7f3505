//! The speaker: the mix going to a device.

use super::list::Direction;
use super::stream::{Callback, DeviceSample, Opened, Playing, RING, Shared, StreamSpec};
use super::stream::{open_stream, samples_for};
use super::tag::{Tag, TagMatcher};
use crate::endpoint::{OutputError, Sink};
use crate::latency::Measured;
use crate::resample::{Fixed, Resampler};
use crate::{FRAME_SAMPLES, SAMPLE_RATE};
use cpal::traits::DeviceTrait;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Before the device's first callback, the engine fills the ring this far.
const LOW_WATER: Duration = Duration::from_millis(10);
/// Then it renders each frame this long before the callback that would
/// otherwise run dry, so that a frame waits as little as possible in the
/// ring (the device buffer is the only other wait).
const REFILL_LEAD: Duration = Duration::from_millis(4);
/// Frames whose listening delay can be in flight between the engine and the
/// callback (the ring's worth, and then some).
const TAGS_IN_FLIGHT: usize = 64;

/// The mix going to a device.
pub struct DeviceSink {
    playing: Playing,
    producer: rtrb::Producer<f32>,
    /// Samples pushed into the ring so far.
    pushed: u64,
    /// Where the last frame written starts in the ring, if any of it fit.
    last_frame_at: Option<u64>,
    tags: rtrb::Producer<Tag>,
    measured: rtrb::Consumer<Measured>,
    /// Channels of the mix, and of the device.
    channels: usize,
    device_channels: usize,
    resampler: Resampler,
    /// A frame of the mix at the device's rate.
    converted: Vec<f32>,
    /// The same, laid out on the device's channels.
    laid_out: Vec<f32>,
    /// Ring samples by which the resampler's filter delays a frame.
    resampler_delay: u64,
    low_water: usize,
    /// Interleaved device samples per second.
    samples_per_second: u64,
    epoch: Instant,
    /// When the engine should render next (set by `due`).
    deadline: Option<Duration>,
}

impl std::fmt::Debug for DeviceSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.playing.describe())
    }
}

impl DeviceSink {
    /// Opens the named device (or the default) for `channels` channels of
    /// 48 kHz, falling back to what the device offers.
    pub fn open(name: Option<&str>, channels: usize) -> Result<Self, OutputError> {
        let channels = channels.clamp(1, 2);
        let epoch = Instant::now();
        let wanted = u16::try_from(channels).unwrap_or(1);
        let opened = open_stream(name, Direction::Output, wanted, |config, shared| {
            let (producer, consumer) = rtrb::RingBuffer::new(samples_for(RING, config));
            let (matcher, tags, measured) =
                TagMatcher::new(TAGS_IN_FLIGHT, config.sample_rate, config.channels);
            let callback = OutputCallback {
                consumer,
                matcher,
                shared: Arc::clone(shared),
                channels: usize::from(config.channels.max(1)),
                epoch,
            };
            (callback, (producer, tags, measured))
        })
        .map_err(OutputError::Device)?;
        let Opened {
            stream,
            shared,
            kept: (producer, tags, measured),
            config,
            label,
        } = opened;
        let resampler = Resampler::new(
            SAMPLE_RATE,
            config.sample_rate,
            channels,
            Fixed::Input(FRAME_SAMPLES as usize),
        )
        .map_err(|e| OutputError::Device(format!("{label}: {e}")))?;
        let device_channels = usize::from(config.channels.max(1));
        let frame_at_device_rate = resampler.output_frames_max();
        let buffer = match config.buffer_size {
            cpal::BufferSize::Fixed(n) => format!("{n}-frame buffer"),
            cpal::BufferSize::Default => "default buffer".to_owned(),
        };
        let description = format!(
            "{label} ({} Hz, {} ch, {buffer})",
            config.sample_rate, config.channels
        );
        Ok(Self {
            playing: Playing::new(stream, shared, description),
            producer,
            pushed: 0,
            last_frame_at: None,
            tags,
            measured,
            channels,
            device_channels,
            converted: vec![0.0; frame_at_device_rate * channels],
            laid_out: Vec::with_capacity(frame_at_device_rate * device_channels),
            resampler_delay: (resampler.output_delay() * device_channels) as u64,
            resampler,
            low_water: samples_for(LOW_WATER, &config),
            samples_per_second: u64::from(config.sample_rate) * device_channels as u64,
            epoch,
            deadline: None,
        })
    }
}

/// Lays interleaved frames of a mix of `channels` channels (1 or 2) out on
/// a device's: mono on every channel, stereo averaged for a mono device,
/// else channel by channel with silence on the rest.
fn lay_out(mix: &[f32], channels: usize, device_channels: usize, out: &mut Vec<f32>) {
    for frame in mix.chunks_exact(channels.max(1)) {
        match (frame, device_channels) {
            ([mono], _) => out.extend(std::iter::repeat_n(*mono, device_channels)),
            (_, 1) => out.push(frame.iter().sum::<f32>() / frame.len() as f32),
            _ => out.extend((0..device_channels).map(|c| frame.get(c).copied().unwrap_or(0.0))),
        }
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

/// What the output callback owns: it never allocates, locks or logs.
struct OutputCallback {
    consumer: rtrb::Consumer<f32>,
    matcher: TagMatcher,
    shared: Arc<Shared>,
    channels: usize,
    epoch: Instant,
}

impl OutputCallback {
    fn fill<T: DeviceSample>(&mut self, data: &mut [T], info: &cpal::OutputCallbackInfo) {
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

impl Callback for OutputCallback {
    fn build<T: DeviceSample>(mut self, spec: StreamSpec<'_>) -> Result<cpal::Stream, cpal::Error> {
        let fill = move |data: &mut [T], info: &cpal::OutputCallbackInfo| self.fill(data, info);
        spec.device
            .build_output_stream(spec.config, fill, spec.on_error, spec.timeout)
    }
}

impl Sink for DeviceSink {
    fn due(&mut self, now: Duration) -> Result<u64, OutputError> {
        self.playing
            .check(now, "the device stopped taking audio")
            .map_err(OutputError::Device)?;
        let shared = &self.playing.shared;
        let held = self.producer.buffer().capacity() - self.producer.slots();
        let callback = match shared.last_callback.load(Ordering::Acquire) {
            0 => None,
            at => {
                let len = shared.last_callback_len.load(Ordering::Relaxed);
                Some(LastCallback {
                    ago: self
                        .epoch
                        .elapsed()
                        .saturating_sub(Duration::from_nanos(at - 1)),
                    len: usize::try_from(len).unwrap_or(usize::MAX),
                    starved: shared.last_callback_starved.load(Ordering::Relaxed),
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
        let (_, frames) = self
            .resampler
            .process(frame, &mut self.converted)
            .map_err(|e| OutputError::Device(e.to_string()))?;
        self.laid_out.clear();
        lay_out(
            &self.converted[..frames * self.channels],
            self.channels,
            self.device_channels,
            &mut self.laid_out,
        );
        // A full ring means the device is behind: drop rather than block.
        let (pushed, _) = self.producer.push_partial_slice(&self.laid_out);
        // The frame's own first sample comes out after the filter's delay.
        self.last_frame_at = (!pushed.is_empty()).then_some(self.pushed + self.resampler_delay);
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
        self.playing.describe()
    }

    fn starved_samples(&self) -> u64 {
        self.playing.lost_samples()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_mix_is_laid_out_on_the_device_channels() {
        let lay = |mix: &[f32], channels, device_channels| {
            let mut out = Vec::new();
            lay_out(mix, channels, device_channels, &mut out);
            out
        };
        // Mono everywhere.
        assert_eq!(lay(&[0.1, 0.2], 1, 1), [0.1, 0.2]);
        assert_eq!(lay(&[0.1, 0.2], 1, 2), [0.1, 0.1, 0.2, 0.2]);
        // Stereo: as it is, averaged for one channel, silence beyond two.
        assert_eq!(lay(&[0.1, 0.3, 0.5, 0.7], 2, 2), [0.1, 0.3, 0.5, 0.7]);
        assert_eq!(lay(&[0.1, 0.3, 0.5, 0.7], 2, 1), [0.2, 0.6]);
        assert_eq!(lay(&[0.1, 0.3], 2, 4), [0.1, 0.3, 0.0, 0.0]);
    }
}
