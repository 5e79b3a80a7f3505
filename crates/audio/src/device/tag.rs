//! The listening delay of a device's frames: the engine tags each frame
//! with where it starts in the output ring and when its audio arrived; the
//! audio callback, which knows when it hands each sample over and how long
//! the device will hold it, turns the tags into measurements.

use crate::latency::Measured;
use std::time::{Duration, Instant};

/// A frame in the output ring: where its first sample is, and when its
/// audio arrived.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tag {
    /// Index of its first sample in everything pushed into the ring.
    pub position: u64,
    pub arrival: Instant,
}

/// The audio callback's side: matches tags to the samples it takes. Never
/// allocates, locks or logs (it runs inside the callback).
pub(super) struct TagMatcher {
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
    pub(super) fn new(
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
    pub(super) fn took(&mut self, count: usize, now: Instant, device_delay: Duration) {
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
    /// A matcher for a 48 kHz device of `channels` channels, with frames
    /// tagged at (position, arrival after the returned instant).
    fn tagged(
        channels: u16,
        frames: &[(u64, Duration)],
    ) -> (
        TagMatcher,
        rtrb::Producer<Tag>,
        rtrb::Consumer<Measured>,
        Instant,
    ) {
        let (matcher, mut tags, measured) = TagMatcher::new(8, 48_000, channels);
        let t0 = Instant::now();
        for &(position, after) in frames {
            let arrival = t0 + after;
            tags.push(Tag { position, arrival }).unwrap();
        }
        (matcher, tags, measured, t0)
    }
    #[test]
    fn a_tag_is_measured_by_the_callback_that_takes_its_first_sample() {
        // Mono at 48 kHz: 48 samples a millisecond. Frame A starts at
        // sample 0, frame B at 960 (20 ms later).
        let (mut matcher, _, mut measured, t0) = tagged(1, &[(0, ms(0)), (960, ms(5))]);
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
        let (mut matcher, _, mut measured, t0) = tagged(2, &[(960, ms(0))]);
        matcher.took(1_920, t0 + ms(15), ms(10));
        let m = measured.pop().unwrap();
        assert_eq!(m.handed, ms(15));
        assert_eq!(m.played, ms(35), "10 ms into the buffer, then 10 more");
    }

    #[test]
    fn a_tag_for_samples_already_gone_is_dropped() {
        let (mut matcher, mut tags, mut measured, t0) = tagged(1, &[]);
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
