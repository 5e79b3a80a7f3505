//! Reconnect delays: exponential with jitter, so many consoles that lost the
//! same server do not all knock again at the same instant.

use rand::Rng;
use std::time::Duration;

/// How the feed spaces its reconnect attempts. The defaults suit a real
/// server; tests of many restarts use shorter ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    /// The longest delay of the first attempt after a loss.
    pub base: Duration,
    /// No delay is ever longer.
    pub cap: Duration,
    /// A connection that lived this long was good: the next loss starts the
    /// delays from the beginning again. Shorter-lived ones keep doubling, so
    /// a server that drops every console right after hello gets no storm.
    pub stable: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            base: Duration::from_millis(250),
            cap: Duration::from_secs(10),
            stable: Duration::from_secs(10),
        }
    }
}

#[derive(Debug)]
pub(super) struct Backoff {
    params: Reconnect,
    failures: u32,
}

impl Backoff {
    pub fn new(params: Reconnect) -> Self {
        Backoff {
            params,
            failures: 0,
        }
    }

    /// The delay before the next attempt: none before the first, then a
    /// random value in `[d/2, d]` where `d` doubles from `base` up to `cap`.
    pub fn next_delay(&self, rng: &mut impl Rng) -> Duration {
        let Some(exponent) = self.failures.checked_sub(1) else {
            return Duration::ZERO;
        };
        let full = self
            .params
            .base
            .saturating_mul(2u32.saturating_pow(exponent.min(16)))
            .min(self.params.cap);
        let half = full / 2;
        half + half.mul_f64(rng.random::<f64>())
    }

    pub fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
    }

    /// A connection ended after living `lived`.
    pub fn lost_after(&mut self, lived: Duration) {
        if lived >= self.params.stable {
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
        let params = Reconnect::default();
        let mut rng = SmallRng::seed_from_u64(7);
        let mut backoff = Backoff::new(params);
        assert_eq!(backoff.next_delay(&mut rng), Duration::ZERO);
        let mut full = params.base;
        for _ in 0..12 {
            backoff.failed();
            for _ in 0..20 {
                let delay = backoff.next_delay(&mut rng);
                assert!(delay >= full / 2 && delay <= full, "{delay:?} vs {full:?}");
            }
            full = (full * 2).min(params.cap);
        }
        assert_eq!(full, params.cap);
    }

    #[test]
    fn only_a_stable_connection_resets_the_delays() {
        let params = Reconnect::default();
        let mut rng = SmallRng::seed_from_u64(1);
        let mut backoff = Backoff::new(params);
        for _ in 0..5 {
            backoff.failed();
        }
        // A connection that drops right after hello does not reset: no storm.
        backoff.lost_after(Duration::from_millis(50));
        assert!(backoff.next_delay(&mut rng) >= params.base * 16);
        backoff.lost_after(params.stable);
        assert!(backoff.next_delay(&mut rng) <= params.base);
    }
}
