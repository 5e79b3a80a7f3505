//! What the jitter buffer tracks as frames arrive: sequence numbers
//! unwrapped past their wrap, the ones already seen, and a window of recent
//! values with percentiles.

use super::MIN_SAMPLES;

/// Unwraps a wrapping u32 counter into an i64 near the last value seen.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Unwrapper {
    last: Option<(u32, i64)>,
}

impl Unwrapper {
    pub(super) fn unwrap(&mut self, raw: u32) -> i64 {
        let value = match self.last {
            None => i64::from(raw),
            Some((last_raw, last)) => last + i64::from(raw.wrapping_sub(last_raw) as i32),
        };
        if self.last.is_none_or(|(_, last)| value > last) {
            self.last = Some((raw, value));
        }
        value
    }
}

/// Recently seen sequence numbers, to spot duplicates (like SRTP's replay
/// window).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SeenWindow {
    highest: Option<i64>,
    bits: u64,
}

impl SeenWindow {
    /// Records `seq`; false when it was already seen.
    pub(super) fn insert(&mut self, seq: i64) -> bool {
        let Some(highest) = self.highest else {
            self.highest = Some(seq);
            self.bits = 1;
            return true;
        };
        if seq > highest {
            let shift = seq - highest;
            self.bits = if shift >= 64 { 0 } else { self.bits << shift };
            self.bits |= 1;
            self.highest = Some(seq);
            return true;
        }
        let back = highest - seq;
        if back >= 64 {
            return true; // too old to tell; the late check will drop it
        }
        let bit = 1u64 << back;
        let fresh = self.bits & bit == 0;
        self.bits |= bit;
        fresh
    }
}

/// The last `capacity` values (µs), with percentiles.
#[derive(Debug, Clone)]
pub(super) struct Window {
    values: Vec<i64>,
    next: usize,
    capacity: usize,
    sorted: Vec<i64>,
    dirty: bool,
}

impl Window {
    pub(super) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(MIN_SAMPLES);
        Self {
            values: Vec::with_capacity(capacity),
            next: 0,
            capacity,
            sorted: Vec::with_capacity(capacity),
            dirty: false,
        }
    }

    pub(super) fn push(&mut self, value: i64) {
        if self.values.len() < self.capacity {
            self.values.push(value);
        } else {
            self.values[self.next] = value;
        }
        self.next = (self.next + 1) % self.capacity;
        self.dirty = true;
    }

    pub(super) fn clear(&mut self) {
        self.values.clear();
        self.next = 0;
        self.dirty = true;
    }

    pub(super) fn len(&self) -> usize {
        self.values.len()
    }

    pub(super) fn min(&self) -> Option<i64> {
        self.values.iter().copied().min()
    }

    /// The `p`-th percentile (0..=100); None when empty.
    pub(super) fn percentile(&mut self, p: usize) -> Option<i64> {
        if self.dirty {
            self.sorted.clear();
            self.sorted.extend_from_slice(&self.values);
            self.dirty = false;
        }
        let last = self.sorted.len().checked_sub(1)?;
        let (_, value, _) = self.sorted.select_nth_unstable(last * p.min(100) / 100);
        Some(*value)
    }
}
