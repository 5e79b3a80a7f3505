//! A per-track adaptive jitter buffer. Pure: every call is given the time.
//!
//! Frames are placed by their 48 kHz timestamp (so talk-spurt gaps and loss
//! look the same: a slot with nothing in it) and played one per 20 ms tick.
//!
//! Two measures drive it, both taken as frames arrive:
//! - the spread: how much later than the quickest recent frame (over the last
//!   second, so that clock drift does not inflate it) each frame arrived. Its
//!   95th percentile over the last few seconds is the jitter to absorb, as in
//!   NetEQ and Mumble;
//! - the level: how long the quickest possible frame would wait before its
//!   tick. It moves only with the playout point and with clock drift.
//!
//! The controller keeps the level between the spread plus 2 ms and the spread
//! plus `min_delay` plus 3 ms (a band wider than a frame, so one step never
//! overshoots): it inserts a tick (concealment or silence) below, and drops a
//! frame above, preferring silence or tiny packets. That absorbs both jitter
//! changes and clock drift. The buffered audio never exceeds `max_delay`.

use super::{FRAME_DURATION, FRAME_SAMPLES};
use std::time::Duration;
use tracking::{SeenWindow, Unwrapper, Window};

mod tracking;

const FRAME_US: i64 = FRAME_DURATION.as_micros() as i64;
/// Ring of slots; must hold `max_delay` plus a burst's worth of frames.
const SLOTS: usize = 32;
/// Below the spread plus this level the buffer inserts a tick.
const LOW_WAIT_US: i64 = 2_000;
/// The drop threshold sits this far above `min_delay` (and at least a frame
/// above LOW), so that one step of a frame never overshoots the band.
const HIGH_MARGIN_US: i64 = 3_000;
/// Arrivals over which the quickest transit is taken (one second).
const TRANSIT_WINDOW: usize = 50;
/// How long a wanted drop may wait for a quiet frame before it is forced.
const FORCE_DROP_TICKS: u32 = 25;
/// A packet this small carries silence or comfort noise (Opus DTX frames are
/// one to a few bytes), so dropping it is inaudible.
const QUIET_PACKET_BYTES: usize = 8;
/// Arrivals needed before the controller trusts its statistics.
const MIN_SAMPLES: usize = 10;
/// Consecutive frames this late (more than the largest buffer) mean the
/// sender restarted its clock: start over.
const RESYNC_LATE_RUN: u32 = 10;

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Tuning of a [`JitterBuffer`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JitterConfig {
    /// The smallest target delay: frames are never made to wait less than
    /// this minus a frame (the tick phase makes up the rest).
    pub min_delay: Duration,
    /// The most audio ever held; frames beyond it are dropped.
    pub max_delay: Duration,
    /// How long a loss is concealed (faded out) before silence.
    pub conceal_for: Duration,
    /// How many recent arrivals the delay statistics cover.
    pub window: usize,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            conceal_for: Duration::from_millis(100),
            window: 200,
        }
    }
}

/// What to play at one 20 ms tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Playout<'a> {
    /// Decode this packet.
    Packet {
        seq: u32,
        timestamp: u32,
        flags: u16,
        arrival: Duration,
        opus: &'a [u8],
    },
    /// A frame is missing: ask the decoder for loss concealment and scale it
    /// by a gain ramping linearly from `fade_from` to `fade_to`.
    Conceal { fade_from: f32, fade_to: f32 },
    /// Nothing to play.
    Silence,
}

/// What happened to a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    Queued,
    /// Its tick had passed; dropped.
    Late,
    Duplicate,
    /// An empty packet; dropped.
    Empty,
}

/// Counters and current figures, for meters and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JitterStats {
    /// The delay the buffer aims for: the 95th percentile of the recent
    /// arrival-delay spread plus one frame, within `min_delay..=max_delay`.
    pub target_delay: Duration,
    /// Median time the recently played frames waited between arrival and
    /// playout.
    pub delay: Duration,
    /// Audio currently buffered ahead of the playout point.
    pub buffered: Duration,
    pub received: u64,
    pub played: u64,
    pub late_drops: u64,
    pub duplicates: u64,
    /// Ticks that asked for loss concealment.
    pub concealments: u64,
    /// Frames dropped to shorten the delay (jitter settled or sender fast).
    pub dropped: u64,
    /// Ticks inserted to lengthen the delay (late frames or sender slow).
    pub inserted: u64,
    /// Frames dropped because more than `max_delay` was buffered.
    pub overflow_drops: u64,
    /// Times the stream was re-anchored (sender restart or a far jump).
    pub resyncs: u64,
}

#[derive(Debug, Clone, Default)]
struct Slot {
    /// Frame index this slot holds, when occupied.
    index: Option<i64>,
    seq: u32,
    timestamp: u32,
    flags: u16,
    arrival: Duration,
    data: Vec<u8>,
}

/// The jitter buffer of one track.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    config: JitterConfig,
    slots: Vec<Slot>,
    timestamps: Unwrapper,
    seqs: Unwrapper,
    seen: SeenWindow,
    /// Sample position of frame index 0.
    origin: Option<i64>,
    /// The frame index the next tick plays; None until playout starts.
    next: Option<i64>,
    newest: Option<i64>,
    last_tick: Duration,
    /// Recent transits (arrival minus send time by the timestamp), µs.
    transits: Window,
    /// Recent spreads: transit minus the quickest recent transit, µs.
    spread: Window,
    /// The level at the last arrival, minus `adjust` then (µs).
    level: Option<i64>,
    /// How long recently played frames waited (µs).
    played_waits: Window,
    /// Sum of all shifts of the playout point (µs): a drop moves every later
    /// frame's tick 20 ms earlier, an insert 20 ms later.
    adjust: i64,
    loss_run: u32,
    /// The last tick played silence, or the last packet ended a talk spurt:
    /// a gap now is not a loss, and shifting the playout point is inaudible.
    quiet: bool,
    excess_ticks: u32,
    late_run: u32,
    stats: JitterStats,
}

impl Default for JitterBuffer {
    fn default() -> Self {
        Self::new(JitterConfig::default())
    }
}

impl JitterBuffer {
    pub fn new(config: JitterConfig) -> Self {
        let mut slot = Slot::default();
        slot.data.reserve(floorwalk_protocol::MAX_OPUS_PACKET);
        Self {
            config,
            slots: vec![slot; SLOTS],
            timestamps: Unwrapper::default(),
            seqs: Unwrapper::default(),
            seen: SeenWindow::default(),
            origin: None,
            next: None,
            newest: None,
            last_tick: Duration::ZERO,
            transits: Window::new(TRANSIT_WINDOW),
            spread: Window::new(config.window),
            level: None,
            played_waits: Window::new(TRANSIT_WINDOW),
            adjust: 0,
            loss_run: 0,
            quiet: true,
            excess_ticks: 0,
            late_run: 0,
            stats: JitterStats::default(),
        }
    }

    fn max_frames(&self) -> i64 {
        (micros(self.config.max_delay) / FRAME_US).clamp(1, SLOTS as i64 / 2)
    }

    /// The 5th-percentile wait at or above which a frame is dropped.
    fn high_wait(&self) -> i64 {
        micros(self.config.min_delay).max(FRAME_US) + HIGH_MARGIN_US
    }

    fn conceal_ticks(&self) -> u32 {
        (micros(self.config.conceal_for) / FRAME_US).max(1) as u32
    }

    /// Adds a frame that arrived at `arrival`.
    pub fn push(
        &mut self,
        seq: u32,
        timestamp: u32,
        flags: u16,
        arrival: Duration,
        opus: &[u8],
    ) -> PushOutcome {
        if opus.is_empty() {
            return PushOutcome::Empty;
        }
        let seq_ext = self.seqs.unwrap(seq);
        if !self.seen.insert(seq_ext) {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        self.stats.received += 1;
        let samples = self.timestamps.unwrap(timestamp);
        let origin = *self.origin.get_or_insert(samples);
        let half = i64::from(FRAME_SAMPLES / 2);
        let mut index = (samples - origin + half).div_euclid(i64::from(FRAME_SAMPLES));

        if let Some(next) = self.next {
            // This frame plays at the tick after the last one, plus one frame
            // per index ahead of `next`.
            let planned = micros(self.last_tick) + (index - next + 1) * FRAME_US;
            let wait = planned - micros(arrival);
            if index - next >= SLOTS as i64 {
                // A jump far ahead (a new talk spurt after a long gap, or a
                // sender restart): start over from this frame.
                self.resync(samples, seq);
                index = 0;
            } else {
                let late = index < next;
                self.late_run = if late { self.late_run + 1 } else { 0 };
                if late && self.late_run >= RESYNC_LATE_RUN && wait < -micros(self.config.max_delay)
                {
                    // Frames keep coming from far behind: the sender restarted.
                    self.resync(samples, seq);
                    index = 0;
                } else {
                    let sent = (samples - origin) * 1_000_000 / i64::from(super::SAMPLE_RATE);
                    let transit = micros(arrival) - sent;
                    self.transits.push(transit);
                    let spread = transit - self.transits.min().unwrap_or(transit);
                    self.spread.push(spread);
                    self.level = Some(wait + spread - self.adjust);
                    if late {
                        self.stats.late_drops += 1;
                        return PushOutcome::Late;
                    }
                }
            }
        } else if let Some(newest) = self.newest
            && (newest - index).abs() >= SLOTS as i64
        {
            // Before playout starts, a far jump also restarts the stream.
            self.resync(samples, seq);
            index = 0;
        }

        let slot = &mut self.slots[index.rem_euclid(SLOTS as i64) as usize];
        if slot.index == Some(index) {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        slot.index = Some(index);
        slot.seq = seq;
        slot.timestamp = timestamp;
        slot.flags = flags;
        slot.arrival = arrival;
        slot.data.clear();
        slot.data.extend_from_slice(opus);
        self.newest = Some(self.newest.map_or(index, |n| n.max(index)));
        PushOutcome::Queued
    }

    fn resync(&mut self, samples: i64, seq: u32) {
        self.seqs = Unwrapper::default();
        self.seen = SeenWindow::default();
        self.seen.insert(self.seqs.unwrap(seq));
        for slot in &mut self.slots {
            slot.index = None;
        }
        self.origin = Some(samples);
        self.next = None;
        self.newest = None;
        self.clear_statistics();
        self.excess_ticks = 0;
        self.late_run = 0;
        self.stats.resyncs += 1;
    }

    /// Forgets the delay statistics: after a discontinuity they describe a
    /// stream that is gone.
    fn clear_statistics(&mut self) {
        self.transits.clear();
        self.spread.clear();
        self.level = None;
        self.adjust = 0;
    }

    fn slot_of(&self, index: i64) -> Option<&Slot> {
        let slot = &self.slots[index.rem_euclid(SLOTS as i64) as usize];
        (slot.index == Some(index)).then_some(slot)
    }

    fn discard(&mut self, index: i64) -> bool {
        let slot = &mut self.slots[index.rem_euclid(SLOTS as i64) as usize];
        let held = slot.index == Some(index);
        if held {
            slot.index = None;
        }
        held
    }

    /// Frames held from `next` on, counting gaps.
    fn depth(&self, next: i64) -> i64 {
        self.newest.map_or(0, |newest| (newest - next + 1).max(0))
    }

    /// The playout tick at time `now` (call every 20 ms).
    pub fn pop(&mut self, now: Duration) -> Playout<'_> {
        let next = match self.next {
            Some(next) => next,
            None => match self.start(now) {
                Some(first) => first,
                None => {
                    self.last_tick = now;
                    return Playout::Silence;
                }
            },
        };
        self.last_tick = now;
        let next = self.enforce_cap(next);
        self.next = Some(next);

        if self.spread.len() >= MIN_SAMPLES
            && let (Some(level), Some(spread)) = (self.level, self.spread.percentile(95))
        {
            let level = level + self.adjust;
            if level < spread + LOW_WAIT_US
                && (self.depth(next) + 1) * FRAME_US <= micros(self.config.max_delay)
            {
                self.excess_ticks = 0;
                self.adjust += FRAME_US;
                self.stats.inserted += 1;
                return self.missing_frame(false);
            }
            let high = spread + self.high_wait();
            if level >= high {
                self.excess_ticks += 1;
                let quiet_frame = self
                    .slot_of(next)
                    .is_none_or(|slot| slot.data.len() <= QUIET_PACKET_BYTES);
                if self.quiet
                    || quiet_frame
                    || self.excess_ticks >= FORCE_DROP_TICKS
                    || level >= high + 2 * FRAME_US
                {
                    self.discard(next);
                    self.next = Some(next + 1);
                    self.adjust -= FRAME_US;
                    self.excess_ticks = 0;
                    self.stats.dropped += 1;
                }
            } else {
                self.excess_ticks = 0;
            }
        }
        self.play_next()
    }

    /// Starts playout at the first tick after the earliest frame, which puts
    /// its wait inside the controller's band; the controller widens it if
    /// the network needs more.
    fn start(&mut self, now: Duration) -> Option<i64> {
        let earliest = self
            .slots
            .iter()
            .filter_map(|slot| slot.index.map(|index| (index, slot.arrival)))
            .min_by_key(|(index, _)| *index)?;
        let ready = earliest.1 + Duration::from_micros(LOW_WAIT_US as u64);
        (now >= ready).then(|| {
            self.next = Some(earliest.0);
            earliest.0
        })
    }

    /// Skips the oldest frames when more than `max_delay` is buffered.
    fn enforce_cap(&mut self, mut next: i64) -> i64 {
        let max = self.max_frames();
        if self.depth(next) <= max {
            return next;
        }
        while self.depth(next) > max {
            if self.discard(next) {
                self.stats.overflow_drops += 1;
            }
            next += 1;
        }
        // The sender dumped a burst from its own buffer: the statistics of
        // the burst say nothing about the network.
        self.clear_statistics();
        next
    }

    fn play_next(&mut self) -> Playout<'_> {
        let Some(next) = self.next else {
            return Playout::Silence;
        };
        self.next = Some(next + 1);
        if !self.discard(next) {
            return self.missing_frame(true);
        }
        self.loss_run = 0;
        self.stats.played += 1;
        let slot = &self.slots[next.rem_euclid(SLOTS as i64) as usize];
        self.played_waits
            .push(micros(self.last_tick) - micros(slot.arrival));
        self.quiet = slot.flags & floorwalk_protocol::FLAG_SPURT_END != 0;
        Playout::Packet {
            seq: slot.seq,
            timestamp: slot.timestamp,
            flags: slot.flags,
            arrival: slot.arrival,
            opus: &slot.data,
        }
    }

    /// A tick without a frame: conceal a fresh loss with a fade, else silence.
    /// `lost` is false for an inserted tick, which does not fade.
    fn missing_frame(&mut self, lost: bool) -> Playout<'static> {
        let limit = self.conceal_ticks();
        if self.quiet || (lost && self.loss_run >= limit) {
            self.quiet = true;
            return Playout::Silence;
        }
        self.stats.concealments += 1;
        if !lost {
            let gain = 1.0 - self.loss_run as f32 / limit as f32;
            return Playout::Conceal {
                fade_from: gain,
                fade_to: gain,
            };
        }
        self.loss_run += 1;
        let step = 1.0 / limit as f32;
        Playout::Conceal {
            fade_from: 1.0 - (self.loss_run - 1) as f32 * step,
            fade_to: 1.0 - self.loss_run as f32 * step,
        }
    }

    /// Current figures.
    pub fn stats(&mut self) -> JitterStats {
        let mut stats = self.stats;
        let us = |v: i64| Duration::from_micros(v.max(0) as u64);
        stats.target_delay = self
            .spread
            .percentile(95)
            .map_or(self.config.min_delay, |p95| {
                // Not `clamp`: it panics on a config whose minimum exceeds
                // its maximum, and the maximum wins (it caps the buffer).
                us(p95 + FRAME_US)
                    .max(self.config.min_delay)
                    .min(self.config.max_delay)
            });
        stats.delay = self.played_waits.percentile(50).map_or(Duration::ZERO, us);
        stats.buffered = self.next.map_or(Duration::ZERO, |next| {
            FRAME_DURATION * self.depth(next) as u32
        });
        stats
    }
}

#[cfg(test)]
mod tests;
