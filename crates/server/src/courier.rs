//! Hands downstream audio frames to the consoles, through the seeded
//! [`Impairment`] when one is set: each console gets its own [`Impairer`],
//! and delayed frames wait in one queue ordered by when they are due.

use crate::impair::{Impairer, Impairment};
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;
use tokio_tungstenite::tungstenite::Bytes;

struct Held<K> {
    due: Instant,
    order: u64,
    to: K,
    frame: Bytes,
}

impl<K> PartialEq for Held<K> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<K> Eq for Held<K> {}

impl<K> PartialOrd for Held<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Held<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.order).cmp(&(other.due, other.order))
    }
}

/// Frames on their way to consoles keyed by `K`.
pub struct Courier<K> {
    impairment: Impairment,
    streams: HashMap<K, Impairer>,
    held: BinaryHeap<Reverse<Held<K>>>,
    order: u64,
}

impl<K> std::fmt::Debug for Courier<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Courier")
            .field("impairment", &self.impairment)
            .field("held", &self.held.len())
            .finish_non_exhaustive()
    }
}

impl<K: Copy + Eq + std::hash::Hash + Into<u64>> Courier<K> {
    pub fn new(impairment: Impairment) -> Self {
        Self {
            impairment,
            streams: HashMap::new(),
            held: BinaryHeap::new(),
            order: 0,
        }
    }

    /// Takes a frame for `to` at `now`: gives it back if it goes at once;
    /// otherwise it is dropped or held until [`Courier::due`] hands it out.
    pub fn post(&mut self, to: K, frame: Bytes, now: Instant) -> Option<Bytes> {
        if self.impairment.is_none() {
            return Some(frame);
        }
        let impairment = self.impairment;
        let due = self
            .streams
            .entry(to)
            .or_insert_with(|| Impairer::new(impairment, to.into()))
            .plan(now)?;
        if due <= now {
            return Some(frame);
        }
        self.order += 1;
        self.held.push(Reverse(Held {
            due,
            order: self.order,
            to,
            frame,
        }));
        None
    }

    /// When the next held frame is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.held.peek().map(|Reverse(held)| held.due)
    }

    /// The next held frame due by `now`, if any.
    pub fn due(&mut self, now: Instant) -> Option<(K, Bytes)> {
        if self.next_due()? > now {
            return None;
        }
        self.held.pop().map(|Reverse(held)| (held.to, held.frame))
    }

    /// A console is gone: its held frames and its impairer go too.
    pub fn forget(&mut self, to: K) {
        self.streams.remove(&to);
        self.held.retain(|Reverse(held)| held.to != to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn without_impairment_frames_go_at_once() {
        let mut courier = Courier::<u64>::new(Impairment::default());
        let now = Instant::now();
        let frame = Bytes::from_static(b"x");
        assert_eq!(courier.post(1, frame.clone(), now), Some(frame));
        assert_eq!(courier.next_due(), None);
    }

    #[test]
    fn delayed_frames_come_out_when_due_in_due_order() {
        let impairment = Impairment {
            delay_ms: 50,
            jitter_ms: 30,
            seed: 2,
            ..Impairment::default()
        };
        let mut courier = Courier::<u64>::new(impairment);
        let start = Instant::now();
        for n in 0..20u8 {
            let now = start + Duration::from_millis(20 * u64::from(n));
            assert_eq!(
                courier.post(u64::from(n % 2), Bytes::from(vec![n]), now),
                None
            );
        }
        assert!(courier.due(start).is_none(), "nothing before the delay");
        let mut out = Vec::new();
        let mut last = start;
        while let Some(due) = courier.next_due() {
            assert!(due >= last);
            last = due;
            let (to, frame) = courier.due(due).unwrap();
            assert_eq!(u64::from(frame[0] % 2), to);
            out.push(frame[0]);
        }
        let mut sorted = out.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..20).collect::<Vec<u8>>(), "every frame, once");

        courier.post(5, Bytes::from_static(b"y"), last);
        courier.forget(5);
        assert_eq!(courier.next_due(), None);
    }
}
