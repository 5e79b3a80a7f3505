//! A seeded network impairment for the audio the simulator sends, so tests
//! and demos can exercise the console's jitter buffer and loss concealment:
//! drop some frames, hold some back so that the next overtakes them, and
//! delay the rest by a fixed amount plus jitter.
//!
//! [`Impairer`] is pure: it is given the time and decides each frame's fate
//! from its own generator, so one seed gives one sequence of fates.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// The longest delay or jitter accepted, in milliseconds.
pub const MAX_IMPAIR_MS: u32 = 10_000;
/// How much longer than the rest a reordered frame is held: two frames, so
/// the frame after it always overtakes it.
const HOLD_BACK: Duration = Duration::from_millis(40);

/// What happens to the audio frames the simulator sends (all zero: nothing).
///
/// Written as `drop=0.05,reorder=0.02,delay=40,jitter=30,seed=7` (any
/// subset, in any order; `delay` and `jitter` in milliseconds, an `ms`
/// suffix allowed; `none` for no impairment).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Impairment {
    /// The share of frames dropped (0 to 1).
    pub drop: f32,
    /// The share of frames held back so that the next overtakes them.
    pub reorder: f32,
    /// Added to every frame's delivery.
    pub delay_ms: u32,
    /// A further random delay of up to this much; order is kept.
    pub jitter_ms: u32,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImpairmentError {
    #[error("{0:?} is not key=value (keys: drop, reorder, delay, jitter, seed)")]
    NotKeyValue(String),
    #[error("unknown impairment {0:?} (keys: drop, reorder, delay, jitter, seed)")]
    UnknownKey(String),
    #[error("{key}={value:?} is not a number")]
    NotANumber { key: &'static str, value: String },
    #[error("{key} must be a share between 0 and 1, not {value}")]
    NotAShare { key: &'static str, value: f32 },
    #[error("{key} must be at most {MAX_IMPAIR_MS} ms, not {value}")]
    TooLong { key: &'static str, value: u32 },
}

impl Impairment {
    pub fn is_none(&self) -> bool {
        self.drop == 0.0 && self.reorder == 0.0 && self.delay_ms == 0 && self.jitter_ms == 0
    }

    /// Checks the ranges (a struct built by hand skips the parser).
    pub fn check(&self) -> Result<(), ImpairmentError> {
        for (key, value) in [("drop", self.drop), ("reorder", self.reorder)] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ImpairmentError::NotAShare { key, value });
            }
        }
        for (key, value) in [("delay", self.delay_ms), ("jitter", self.jitter_ms)] {
            if value > MAX_IMPAIR_MS {
                return Err(ImpairmentError::TooLong { key, value });
            }
        }
        Ok(())
    }
}

impl FromStr for Impairment {
    type Err = ImpairmentError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut out = Impairment::default();
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("none") {
            return Ok(out);
        }
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let Some((key, value)) = item.split_once('=') else {
                return Err(ImpairmentError::NotKeyValue(item.to_string()));
            };
            let (key, value) = (key.trim(), value.trim());
            match key {
                "drop" => out.drop = number("drop", value)?,
                "reorder" => out.reorder = number("reorder", value)?,
                "delay" | "delay_ms" => out.delay_ms = millis("delay", value)?,
                "jitter" | "jitter_ms" => out.jitter_ms = millis("jitter", value)?,
                "seed" => out.seed = number("seed", value)?,
                _ => return Err(ImpairmentError::UnknownKey(key.to_string())),
            }
        }
        out.check()?;
        Ok(out)
    }
}

fn number<T: FromStr>(key: &'static str, value: &str) -> Result<T, ImpairmentError> {
    value.parse().map_err(|_| ImpairmentError::NotANumber {
        key,
        value: value.to_string(),
    })
}

fn millis(key: &'static str, value: &str) -> Result<u32, ImpairmentError> {
    number(key, value.strip_suffix("ms").unwrap_or(value).trim_end())
}

impl fmt::Display for Impairment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            return f.write_str("none");
        }
        write!(
            f,
            "drop={},reorder={},delay={},jitter={},seed={}",
            self.drop, self.reorder, self.delay_ms, self.jitter_ms, self.seed
        )
    }
}

/// The impairment of one stream of frames (one console).
#[derive(Debug, Clone)]
pub struct Impairer {
    impairment: Impairment,
    rng: SmallRng,
    /// The latest delivery promised to a frame that was not held back:
    /// later frames are never delivered before it, so jitter keeps order.
    last: Option<Instant>,
}

impl Impairer {
    /// `stream` tells the streams of one seed apart.
    pub fn new(impairment: Impairment, stream: u64) -> Self {
        let seed = super::splitmix(impairment.seed ^ super::splitmix(stream));
        Self {
            impairment,
            rng: SmallRng::seed_from_u64(seed),
            last: None,
        }
    }

    /// When a frame handed over at `now` is delivered, or `None` if it is
    /// dropped. Every frame draws the same numbers, so fates line up with
    /// the frames whatever happens to them.
    pub fn plan(&mut self, now: Instant) -> Option<Instant> {
        let i = self.impairment;
        let dropped = self.rng.random::<f32>() < i.drop;
        let jitter = self.rng.random_range(0..=i.jitter_ms);
        let held = self.rng.random::<f32>() < i.reorder;
        if dropped {
            return None;
        }
        let due = now + Duration::from_millis(u64::from(i.delay_ms) + u64::from(jitter));
        let due = self.last.map_or(due, |last| due.max(last));
        if held {
            let latest = now + Duration::from_millis(u64::from(i.delay_ms + i.jitter_ms));
            return Some(due.max(latest) + HOLD_BACK);
        }
        self.last = Some(due);
        Some(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_into_an_impairment() {
        let i: Impairment = "drop=0.05,reorder=0.02,jitter=30".parse().unwrap();
        assert_eq!(
            i,
            Impairment {
                drop: 0.05,
                reorder: 0.02,
                jitter_ms: 30,
                ..Impairment::default()
            }
        );
        let i: Impairment = " delay=40ms , jitter_ms=5, seed=9 ".parse().unwrap();
        assert_eq!((i.delay_ms, i.jitter_ms, i.seed), (40, 5, 9));
        assert!("none".parse::<Impairment>().unwrap().is_none());
        assert!("".parse::<Impairment>().unwrap().is_none());
        let round: Impairment = i.to_string().parse().unwrap();
        assert_eq!(round, i);
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        let cases = [
            ("drop", "not key=value"),
            ("loss=0.1", "unknown impairment \"loss\""),
            ("drop=lots", "drop=\"lots\" is not a number"),
            ("drop=1.5", "between 0 and 1"),
            ("reorder=-0.1", "between 0 and 1"),
            ("jitter=-3", "not a number"),
            ("delay=20000", "at most 10000 ms"),
        ];
        for (text, expected) in cases {
            let err = text.parse::<Impairment>().unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    fn fates(impairment: Impairment, stream: u64, frames: u32) -> Vec<Option<Duration>> {
        let start = Instant::now();
        let mut impairer = Impairer::new(impairment, stream);
        (0..frames)
            .map(|n| {
                let now = start + Duration::from_millis(20 * u64::from(n));
                impairer.plan(now).map(|due| due - now)
            })
            .collect()
    }

    #[test]
    fn one_seed_one_sequence_of_fates() {
        let i = Impairment {
            drop: 0.1,
            reorder: 0.05,
            delay_ms: 30,
            jitter_ms: 50,
            seed: 4,
        };
        assert_eq!(fates(i, 1, 500), fates(i, 1, 500));
        assert_ne!(fates(i, 1, 500), fates(i, 2, 500));
        assert_ne!(fates(i, 1, 500), fates(Impairment { seed: 5, ..i }, 1, 500));
    }

    #[test]
    fn drops_reorders_and_delays_as_asked() {
        let i = Impairment {
            drop: 0.1,
            reorder: 0.05,
            delay_ms: 30,
            jitter_ms: 50,
            seed: 1,
        };
        let n = 20_000;
        let start = Instant::now();
        let mut impairer = Impairer::new(i, 0);
        let mut deliveries = Vec::new();
        for frame in 0..n {
            let now = start + Duration::from_millis(20 * u64::from(frame));
            if let Some(due) = impairer.plan(now) {
                assert!(due >= now + Duration::from_millis(30), "the fixed delay");
                deliveries.push((due, frame));
            }
        }
        let dropped = f64::from(n - deliveries.len() as u32) / f64::from(n);
        assert!((dropped - 0.1).abs() < 0.01, "dropped {dropped}");
        deliveries.sort();
        // A frame arrives out of order when a later one came before it.
        let mut latest = 0;
        let mut late = 0;
        for (_, frame) in &deliveries {
            if *frame < latest {
                late += 1;
            }
            latest = latest.max(*frame);
        }
        let share = f64::from(late) / deliveries.len() as f64;
        assert!((share - 0.05).abs() < 0.01, "reordered {share}");
    }

    #[test]
    fn no_impairment_delivers_everything_at_once_in_order() {
        let fates = fates(Impairment::default(), 3, 100);
        assert!(fates.iter().all(|f| *f == Some(Duration::ZERO)));
    }
}
