//! Reconnect delays: exponential with jitter, so many consoles that lost the
//! same server do not all knock again at the same instant.

use rand::Rng;
use std::time::Duration;

pub(super) const BASE: Duration = Duration::from_millis(250);
pub(super) const CAP: Duration = Duration::from_secs(10);
/// A connection that lived this long was good: the next loss starts the
/// delays from the beginning again.
pub(super) const STABLE: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub(super) struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The delay before the next attempt: none before the first, then a
    /// random value in `[d/2, d]` where `d` doubles from [`BASE`] up to [`CAP`].
    pub fn next_delay(&self, rng: &mut impl Rng) -> Duration {
        let Some(exponent) = self.failures.checked_sub(1) else {
            return Duration::ZERO;
        };
        let full = BASE
            .saturating_mul(2u32.saturating_pow(exponent.min(16)))
            .min(CAP);
        let half = full / 2;
        half + half.mul_f64(rng.random::<f64>())
    }

    pub fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
    }

    /// A connection ended after living `lived`.
    pub fn lost_after(&mut self, lived: Duration) {
        if lived >= STABLE {
            self.failures = 0;
        }
        self.failed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    #[test]
    fn delays_double_with_jitter_up_to_the_cap() {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut backoff = Backoff::default();
        assert_eq!(backoff.next_delay(&mut rng), Duration::ZERO);
        let mut full = BASE;
        for _ in 0..12 {
            backoff.failed();
            for _ in 0..20 {
                let delay = backoff.next_delay(&mut rng);
                assert!(delay >= full / 2 && delay <= full, "{delay:?} vs {full:?}");
            }
            full = (full * 2).min(CAP);
        }
        assert_eq!(full, CAP);
    }

    #[test]
    fn only_a_stable_connection_resets_the_delays() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut backoff = Backoff::default();
        for _ in 0..5 {
            backoff.failed();
        }
        // A connection that drops right after hello does not reset: no storm.
        backoff.lost_after(Duration::from_millis(50));
        assert!(backoff.next_delay(&mut rng) >= BASE * 16);
        backoff.lost_after(STABLE);
        assert!(backoff.next_delay(&mut rng) <= BASE);
    }
}
