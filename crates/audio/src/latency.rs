//! Listening delay: how long after a frame arrives its first sample goes out.
//!
//! Every frame the playback thread renders is measured: at once by outputs
//! that play it as they take it (`none`, `wav:`), and by the audio callback
//! for a device, which knows when it hands each sample over and how long the
//! device itself will hold it. The engine keeps the figures as cumulative
//! histograms, so a caller can take the delays of any stretch of time as the
//! difference of two readings.

use std::time::Duration;

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
}
