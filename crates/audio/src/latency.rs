//! Listening delay: how long after a frame arrives its first sample goes out.
//!
//! Every frame the playback thread renders is measured: at once by outputs
//! that play it as they take it (`none`, `wav:`), and by the audio callback
//! for a device, which knows when it hands each sample over and how long the
//! device itself will hold it. The engine keeps the figures as cumulative
//! histograms, so a caller can take the delays of any stretch of time as the
//! difference of two readings.

use std::time::{Duration, Instant};

/// Histogram buckets of 1 ms each; delays beyond the last share it.
const BUCKETS: usize = 1_000;
const BUCKET: Duration = Duration::from_millis(1);

/// A count of delays in 1 ms buckets (up to a second).
#[derive(Clone, PartialEq, Eq)]
pub struct DelayHistogram {
    counts: Box<[u64; BUCKETS]>,
    max: Duration,
}

impl Default for DelayHistogram {
    fn default() -> Self {
        Self {
            counts: Box::new([0; BUCKETS]),
            max: Duration::ZERO,
        }
    }
}

impl std::fmt::Debug for DelayHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelayHistogram")
            .field("count", &self.count())
            .field("median", &self.percentile(50))
            .field("p95", &self.percentile(95))
            .field("max", &self.max)
            .finish()
    }
}

impl DelayHistogram {
    pub fn record(&mut self, delay: Duration) {
        let bucket = (delay.as_micros() / BUCKET.as_micros()).min(BUCKETS as u128 - 1) as usize;
        self.counts[bucket] += 1;
        self.max = self.max.max(delay);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `p`-th percentile (0..=100), as the middle of its 1 ms bucket;
    /// None when empty.
    pub fn percentile(&self, p: u32) -> Option<Duration> {
        let count = self.count();
        let rank = (count.checked_sub(1)? * u64::from(p.min(100))) / 100;
        let mut seen = 0;
        for (bucket, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen > rank {
                return Some(BUCKET * bucket as u32 + BUCKET / 2);
            }
        }
        None
    }

    /// The largest delay recorded (over the histogram's whole life).
    pub fn max(&self) -> Duration {
        self.max
    }

    /// Adds the delays recorded in `other`.
    pub fn add(&mut self, other: &Self) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine += theirs;
        }
        self.max = self.max.max(other.max);
    }

    /// The delays recorded since `earlier`, a reading of this histogram.
    /// The maximum is the bucket of the largest such delay.
    pub fn since(&self, earlier: &Self) -> Self {
        let mut counts = Box::new([0; BUCKETS]);
        for (out, (now, then)) in counts
            .iter_mut()
            .zip(self.counts.iter().zip(earlier.counts.iter()))
        {
            *out = now.saturating_sub(*then);
        }
        let max = counts
            .iter()
            .rposition(|&n| n > 0)
            .map_or(Duration::ZERO, |b| BUCKET * (b as u32 + 1));
        Self {
            counts,
            max: max.min(self.max),
        }
    }
}

/// One frame's listening delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    /// From arrival until its first sample was handed to the output.
    pub handed: Duration,
    /// From arrival until that sample is played: `handed` plus what the
    /// device said it still held ahead of it.
    pub played: Duration,
}

impl Measured {
    /// For outputs that play a sample the moment they take it.
    pub fn at_once(age: Duration) -> Self {
        Self {
            handed: age,
            played: age,
        }
    }
}

/// The engine's record of listening delays, cumulative since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListeningDelay {
    pub handed: DelayHistogram,
    pub played: DelayHistogram,
}

impl ListeningDelay {
    pub fn record(&mut self, measured: Measured) {
        self.handed.record(measured.handed);
        self.played.record(measured.played);
    }

    /// Adds what `other` recorded.
    pub fn add(&mut self, other: &Self) {
        self.handed.add(&other.handed);
        self.played.add(&other.played);
    }

    /// What was recorded since `earlier`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            handed: self.handed.since(&earlier.handed),
            played: self.played.since(&earlier.played),
        }
    }
}

/// A frame in the output ring: where its first sample is, and when its
/// audio arrived.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tag {
    /// Index of its first sample in everything pushed into the ring.
    pub position: u64,
    pub arrival: Instant,
}

/// The audio callback's side: matches tags to the samples it takes. Never
/// allocates, locks or logs (it runs inside the callback).
pub(crate) struct TagMatcher {
    tags: rtrb::Consumer<Tag>,
    measured: rtrb::Producer<Measured>,
    /// Samples taken from the ring so far.
    taken: u64,
    /// Interleaved samples per second of the device.
    samples_per_second: u64,
}

impl TagMatcher {
    /// The matcher and the engine's ends: where to put tags, where to read
    /// the measurements. Room for `capacity` frames in flight each way.
    pub(crate) fn new(
        capacity: usize,
        sample_rate: u32,
        channels: u16,
    ) -> (Self, rtrb::Producer<Tag>, rtrb::Consumer<Measured>) {
        let (tag_tx, tags) = rtrb::RingBuffer::new(capacity);
        let (measured, measured_rx) = rtrb::RingBuffer::new(capacity);
        let matcher = Self {
            tags,
            measured,
            taken: 0,
            samples_per_second: u64::from(sample_rate) * u64::from(channels.max(1)),
        };
        (matcher, tag_tx, measured_rx)
    }

    /// The callback at `now` took `count` samples from the ring; the device
    /// plays the first of them `device_delay` from now.
    pub(crate) fn took(&mut self, count: usize, now: Instant, device_delay: Duration) {
        let start = self.taken;
        self.taken += count as u64;
        while let Ok(tag) = self.tags.peek() {
            if tag.position >= self.taken {
                break;
            }
            let tag = *tag;
            let _ = self.tags.pop();
            let Some(offset) = tag.position.checked_sub(start) else {
                continue; // taken by an earlier callback before it was tagged
            };
            let into_buffer =
                Duration::from_nanos(offset * 1_000_000_000 / self.samples_per_second);
            let handed = now.saturating_duration_since(tag.arrival);
            let _ = self.measured.push(Measured {
                handed,
                played: handed + device_delay + into_buffer,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_come_from_the_buckets() {
        let mut h = DelayHistogram::default();
        assert_eq!(h.percentile(50), None);
        for d in 1..=100 {
            h.record(ms(d));
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.percentile(50), Some(Duration::from_micros(50_500)));
        assert_eq!(h.percentile(95), Some(Duration::from_micros(95_500)));
        assert_eq!(h.percentile(0), Some(Duration::from_micros(1_500)));
        assert_eq!(h.max(), ms(100));
        h.record(ms(5_000));
        assert_eq!(h.percentile(100), Some(Duration::from_micros(999_500)));
        assert_eq!(h.max(), ms(5_000));
    }

    #[test]
    fn since_keeps_only_the_later_delays() {
        let mut h = DelayHistogram::default();
        for _ in 0..1_000 {
            h.record(ms(80));
        }
        let earlier = h.clone();
        for _ in 0..10 {
            h.record(ms(30));
        }
        let later = h.since(&earlier);
        assert_eq!(later.count(), 10);
        let mut pooled = later.clone();
        pooled.add(&later);
        assert_eq!(pooled.count(), 20);
        assert_eq!(pooled.percentile(50), later.percentile(50));
        assert_eq!(later.percentile(95), Some(Duration::from_micros(30_500)));
        assert_eq!(later.max(), ms(31));
    }

    #[test]
    fn a_tag_is_measured_by_the_callback_that_takes_its_first_sample() {
        // Mono at 48 kHz: 48 samples a millisecond.
        let (mut matcher, mut tags, mut measured) = TagMatcher::new(8, 48_000, 1);
        let t0 = Instant::now();
        // Frame A starts at sample 0, frame B at 960 (20 ms later).
        tags.push(Tag {
            position: 0,
            arrival: t0,
        })
        .unwrap();
        tags.push(Tag {
            position: 960,
            arrival: t0 + ms(5),
        })
        .unwrap();
        // The first callback, 12 ms after A arrived, takes 480 samples that
        // the device plays 10 ms later.
        matcher.took(480, t0 + ms(12), ms(10));
        let a = measured.pop().unwrap();
        assert_eq!(a.handed, ms(12));
        assert_eq!(a.played, ms(22));
        assert!(measured.pop().is_err(), "B is not taken yet");
        // The second takes 480..960: B's first sample is not among them.
        matcher.took(480, t0 + ms(22), ms(10));
        assert!(measured.pop().is_err());
        // The third takes 960..1920 (a 20 ms buffer); B is at its start.
        matcher.took(960, t0 + ms(32), ms(10));
        let b = measured.pop().unwrap();
        assert_eq!(b.handed, ms(27));
        assert_eq!(b.played, ms(37));
    }

    #[test]
    fn a_tag_inside_a_buffer_counts_its_place_in_it() {
        // Stereo: 96 samples a millisecond.
        let (mut matcher, mut tags, mut measured) = TagMatcher::new(8, 48_000, 2);
        let t0 = Instant::now();
        tags.push(Tag {
            position: 960,
            arrival: t0,
        })
        .unwrap();
        matcher.took(1_920, t0 + ms(15), ms(10));
        let m = measured.pop().unwrap();
        assert_eq!(m.handed, ms(15));
        assert_eq!(m.played, ms(35), "10 ms into the buffer, then 10 more");
    }

    #[test]
    fn a_tag_for_samples_already_gone_is_dropped() {
        let (mut matcher, mut tags, mut measured) = TagMatcher::new(8, 48_000, 1);
        let t0 = Instant::now();
        matcher.took(960, t0, ms(10));
        tags.push(Tag {
            position: 100,
            arrival: t0,
        })
        .unwrap();
        matcher.took(960, t0 + ms(20), ms(10));
        assert!(measured.pop().is_err());
        assert_eq!(tags.slots(), 8, "the stale tag was consumed");
    }
}
