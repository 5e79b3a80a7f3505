//! `--vendor-delay MS[,JITTER]`: how long the simulated carrier takes to
//! release a supervisor leg after a disconnect. Some voice vendors propagate
//! a disconnect at once, others wait for the carrier-side bridge to let go;
//! meanwhile the leg still hears the call, and its `leg_left` comes only
//! once the carrier released it. That is what `floorwalk calibrate`
//! measures. Pure: the release times are drawn from the seed, not a clock.

use std::str::FromStr;
use std::time::Duration;

/// The carrier's release delay: `ms` give or take `jitter_ms` (uniformly).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VendorDelay {
    pub ms: u64,
    pub jitter_ms: u64,
}

/// The longest delay accepted: a minute (a longer one is a typo).
const MAX_MS: u64 = 60_000;

impl VendorDelay {
    /// Whether leaves are carried out at once.
    pub fn is_none(&self) -> bool {
        self.ms == 0 && self.jitter_ms == 0
    }

    /// The delay of the `n`-th release: `ms` plus a jitter in
    /// `-jitter_ms..=jitter_ms` drawn from the seed, never below zero.
    pub fn nth(&self, seed: u64, n: u64) -> Duration {
        let span = 2 * self.jitter_ms + 1;
        let offset = floorwalk_server::splitmix(seed ^ n.wrapping_mul(0x5851_F42D)) % span;
        let ms = (self.ms + offset).saturating_sub(self.jitter_ms);
        Duration::from_millis(ms)
    }
}

impl FromStr for VendorDelay {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number = |part: &str, what: &str| {
            part.trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms <= MAX_MS)
                .ok_or_else(|| {
                    format!("{what} must be whole milliseconds up to {MAX_MS}, not {part:?}")
                })
        };
        let (ms, jitter) = match text.split_once(',') {
            Some((ms, jitter)) => (number(ms, "the delay")?, number(jitter, "the jitter")?),
            None => (number(text, "the delay")?, 0),
        };
        if jitter > ms {
            return Err(format!(
                "the jitter ({jitter} ms) cannot exceed the delay ({ms} ms)"
            ));
        }
        Ok(Self {
            ms,
            jitter_ms: jitter,
        })
    }
}

impl std::fmt::Display for VendorDelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{}", self.ms, self.jitter_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_delay_and_an_optional_jitter() {
        assert_eq!(
            "300".parse(),
            Ok(VendorDelay {
                ms: 300,
                jitter_ms: 0
            })
        );
        assert_eq!(
            " 300 , 20".parse(),
            Ok(VendorDelay {
                ms: 300,
                jitter_ms: 20
            })
        );
        assert!("0".parse::<VendorDelay>().unwrap().is_none());
        for bad in ["", "-5", "3e2", "300,", "300,400", "60001", "1,2,3"] {
            assert!(bad.parse::<VendorDelay>().is_err(), "{bad:?}");
        }
        let round: VendorDelay = VendorDelay {
            ms: 7,
            jitter_ms: 3,
        }
        .to_string()
        .parse()
        .unwrap();
        assert_eq!(
            round,
            VendorDelay {
                ms: 7,
                jitter_ms: 3
            }
        );
    }

    #[test]
    fn releases_stay_within_the_jitter_and_vary() {
        let delay = VendorDelay {
            ms: 300,
            jitter_ms: 20,
        };
        let drawn: Vec<u128> = (0..200).map(|n| delay.nth(9, n).as_millis()).collect();
        assert!(drawn.iter().all(|ms| (280..=320).contains(ms)), "{drawn:?}");
        let distinct: std::collections::BTreeSet<_> = drawn.iter().collect();
        assert!(distinct.len() > 20, "{distinct:?}");
        let fixed = VendorDelay {
            ms: 300,
            jitter_ms: 0,
        };
        assert!((0..50).all(|n| fixed.nth(9, n) == Duration::from_millis(300)));
        assert_eq!(delay.nth(9, 4), delay.nth(9, 4), "seeded, not random");
    }
}
