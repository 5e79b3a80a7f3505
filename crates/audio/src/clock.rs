//! Time for the engine: the real monotonic clock, a manual one for tests and
//! simulations, and the pacer that turns elapsed time into 20 ms frames.

use super::FRAME_DURATION;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Monotonic time since some origin.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Duration;
}

/// The process's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to (shared: clones see the same time).
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    micros: Arc<AtomicU64>,
}

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        self.micros.fetch_add(
            u64::try_from(by.as_micros()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_micros(self.micros.load(Ordering::SeqCst))
    }
}

/// Counts the 20 ms frames due in real time: frame `k` is due `k * 20 ms`
/// after the first call. A late caller gets every missed frame at once, so
/// what it writes always spans exactly the time that passed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pacer {
    start: Option<Duration>,
    emitted: u64,
}

impl Pacer {
    /// Frames due by `now` that were not yet handed out; marks them handed.
    pub fn due(&mut self, now: Duration) -> u64 {
        let start = *self.start.get_or_insert(now);
        let elapsed = now.saturating_sub(start);
        let due = (elapsed.as_micros() / FRAME_DURATION.as_micros()) as u64 + 1;
        let new = due.saturating_sub(self.emitted);
        self.emitted = self.emitted.max(due);
        new
    }

    /// When the next frame falls due (None before the first call).
    pub fn next_deadline(&self) -> Option<Duration> {
        self.start
            .map(|start| start + FRAME_DURATION * u32::try_from(self.emitted).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacer_hands_out_one_frame_per_20_ms_and_catches_up() {
        let clock = ManualClock::default();
        clock.advance(Duration::from_secs(5));
        let mut pacer = Pacer::default();
        assert_eq!(pacer.next_deadline(), None);
        assert_eq!(pacer.due(clock.now()), 1);
        assert_eq!(pacer.due(clock.now()), 0);
        assert_eq!(pacer.next_deadline(), Some(Duration::from_millis(5020)));
        clock.advance(Duration::from_millis(19));
        assert_eq!(pacer.due(clock.now()), 0);
        clock.advance(Duration::from_millis(1));
        assert_eq!(pacer.due(clock.now()), 1);
        // A stall of a second: fifty frames at once, then back to the beat.
        clock.advance(Duration::from_secs(1));
        assert_eq!(pacer.due(clock.now()), 50);
        let mut total = 52;
        for _ in 0..1000 {
            clock.advance(Duration::from_millis(7));
            total += pacer.due(clock.now());
        }
        // 1.02 s + 7 s of time = 401 frames, plus the first at time zero.
        assert_eq!(total, 8020 / 20 + 1);
    }
}
