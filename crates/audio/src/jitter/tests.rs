#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// A frame on its way: when it arrives and what it carries.
#[derive(Debug, Clone, Copy)]
struct Sent {
    arrival_us: i64,
    seq: u32,
    timestamp: u32,
    flags: u16,
}

/// What one tick played.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Out {
    Packet { seq: u32, wait_us: i64 },
    Conceal(f32, f32),
    Silence,
}

/// `n` frames from a sender whose clock runs `rate` times ours, starting at
/// `seq0`/`ts0`, each delayed by `delay(i)` µs.
fn stream(n: u32, seq0: u32, ts0: u32, rate: f64, mut delay: impl FnMut(u32) -> i64) -> Vec<Sent> {
    (0..n)
        .map(|i| Sent {
            arrival_us: (f64::from(i) * FRAME_US as f64 / rate) as i64 + delay(i),
            seq: seq0.wrapping_add(i),
            timestamp: ts0.wrapping_add(i.wrapping_mul(FRAME_SAMPLES)),
            // The stream ends as a talk spurt does, so the tail is silence.
            flags: if i + 1 == n {
                floorwalk_protocol::FLAG_SPURT_END
            } else {
                0
            },
        })
        .collect()
}

/// Feeds `frames` (in arrival order) and ticks every 20 ms from `phase_us`
/// for `ticks` ticks.
fn run(jb: &mut JitterBuffer, mut frames: Vec<Sent>, phase_us: i64, ticks: usize) -> Vec<Out> {
    frames.sort_by_key(|f| f.arrival_us);
    let mut pending = frames.into_iter().peekable();
    let payload = [0x5au8; 40];
    let mut out = Vec::with_capacity(ticks);
    for k in 0..ticks {
        let now = phase_us + k as i64 * FRAME_US;
        while let Some(f) = pending.next_if(|f| f.arrival_us <= now) {
            jb.push(f.seq, f.timestamp, f.flags, us(f.arrival_us), &payload);
        }
        out.push(match jb.pop(us(now)) {
            Playout::Packet { seq, arrival, .. } => Out::Packet {
                seq,
                wait_us: now - arrival.as_micros() as i64,
            },
            Playout::Conceal { fade_from, fade_to } => Out::Conceal(fade_from, fade_to),
            Playout::Silence => Out::Silence,
        });
    }
    out
}

fn us(v: i64) -> Duration {
    Duration::from_micros(v.max(0) as u64)
}

fn played(out: &[Out]) -> Vec<u32> {
    out.iter()
        .filter_map(|o| match o {
            Out::Packet { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect()
}

fn waits(out: &[Out]) -> Vec<i64> {
    let mut w: Vec<i64> = out
        .iter()
        .filter_map(|o| match o {
            Out::Packet { wait_us, .. } => Some(*wait_us),
            _ => None,
        })
        .collect();
    w.sort_unstable();
    w
}

fn pct(sorted: &[i64], p: usize) -> i64 {
    sorted[(sorted.len() - 1) * p / 100]
}

#[test]
fn in_order_frames_play_in_order_with_a_small_delay() {
    let mut jb = JitterBuffer::default();
    let out = run(&mut jb, stream(500, 0, 0, 1.0, |_| 5_000), 7_000, 520);
    assert_eq!(played(&out), (0..500).collect::<Vec<_>>());
    let stats = jb.stats();
    assert_eq!(stats.concealments, 0);
    assert_eq!(stats.late_drops, 0);
    assert_eq!(stats.target_delay, Duration::from_millis(20));
    let w = waits(&out);
    assert!(pct(&w, 100) <= 40_000, "waits {:?}", &w[w.len() - 5..]);
    // Within the controller's band: at most a frame plus a little.
    assert!(
        pct(&w, 50) < FRAME_US + HIGH_MARGIN_US,
        "median wait {}",
        pct(&w, 50)
    );
}

#[test]
fn reordered_frames_are_put_back_in_order() {
    let mut jb = JitterBuffer::default();
    // Every odd frame overtakes its predecessor by 10 ms.
    let frames = stream(
        300,
        100,
        4800,
        1.0,
        |i| if i % 2 == 0 { 15_000 } else { 3_000 },
    );
    let out = run(&mut jb, frames, 0, 320);
    assert_eq!(played(&out), (100..400).collect::<Vec<_>>());
    assert_eq!(jb.stats().late_drops, 0);
    assert_eq!(jb.stats().concealments, 0);
}

#[test]
fn a_short_loss_is_concealed_with_a_fade_and_a_long_one_turns_to_silence() {
    let mut jb = JitterBuffer::default();
    let frames: Vec<Sent> = stream(200, 0, 0, 1.0, |_| 1_000)
        .into_iter()
        .filter(|f| !(50..53).contains(&f.seq) && !(100..120).contains(&f.seq))
        .collect();
    let out = run(&mut jb, frames, 0, 220);
    let first = out
        .iter()
        .position(|o| matches!(o, Out::Packet { seq: 49, .. }))
        .unwrap();
    assert_eq!(out[first + 1], Out::Conceal(1.0, 0.8));
    assert!(
        matches!(out[first + 2], Out::Conceal(a, b) if (a - 0.8).abs() < 1e-6 && (b - 0.6).abs() < 1e-6)
    );
    assert!(matches!(out[first + 3], Out::Conceal(..)));
    assert!(matches!(out[first + 4], Out::Packet { seq: 53, .. }));

    let second = out
        .iter()
        .position(|o| matches!(o, Out::Packet { seq: 99, .. }))
        .unwrap();
    let gap = &out[second + 1..second + 21];
    assert_eq!(
        gap.iter().filter(|o| matches!(o, Out::Conceal(..))).count(),
        5
    );
    assert!(matches!(gap[4], Out::Conceal(_, to) if to.abs() < 1e-6));
    assert!(gap[5..].iter().all(|o| *o == Out::Silence));
    assert!(matches!(out[second + 21], Out::Packet { seq: 120, .. }));
}

#[test]
fn duplicates_are_played_once() {
    let mut jb = JitterBuffer::default();
    let mut frames = stream(100, 0, 0, 1.0, |_| 2_000);
    let copies: Vec<Sent> = frames
        .iter()
        .map(|f| Sent {
            arrival_us: f.arrival_us + 7_000,
            ..*f
        })
        .collect();
    frames.extend(copies);
    // A very late copy of an already played frame is a duplicate, not late.
    frames.push(Sent {
        arrival_us: 1_000_000,
        ..frames[40]
    });
    let out = run(&mut jb, frames, 0, 120);
    assert_eq!(played(&out), (0..100).collect::<Vec<_>>());
    assert_eq!(jb.stats().duplicates, 101);
    assert_eq!(jb.stats().late_drops, 0);
}

#[test]
fn a_frame_later_than_its_tick_is_dropped_and_concealed() {
    let mut jb = JitterBuffer::default();
    let frames = stream(100, 0, 0, 1.0, |i| if i == 60 { 300_000 } else { 1_000 });
    let out = run(&mut jb, frames, 0, 120);
    let seqs = played(&out);
    assert!(!seqs.contains(&60));
    assert_eq!(seqs.len(), 99);
    assert_eq!(jb.stats().late_drops, 1);
    assert!(jb.stats().concealments >= 1);
}

#[test]
fn a_burst_after_a_stall_raises_the_delay_within_the_cap_then_it_recovers() {
    let mut jb = JitterBuffer::default();
    // TCP-like: nothing for 500 ms, then everything held back at once.
    let frames = stream(1500, 0, 0, 1.0, |i| {
        let sent = i64::from(i) * FRAME_US;
        if (500_000..1_000_000).contains(&sent) {
            1_000_000 - sent + 2_000
        } else {
            2_000
        }
    });
    let out = run(&mut jb, frames, 500, 1520);
    let stats = jb.stats();
    assert!(stats.late_drops > 0);
    let max_wait = out
        .iter()
        .filter_map(|o| match o {
            Out::Packet { wait_us, .. } => Some(*wait_us),
            _ => None,
        })
        .max()
        .unwrap();
    assert!(max_wait <= 200_000 + FRAME_US, "max wait {max_wait}");
    assert!(stats.buffered <= Duration::from_millis(200));
    // 30 s on, the stall has left the statistics and the delay came down.
    let tail = waits(&out[1200..]);
    assert!(
        pct(&tail, 50) < 2 * FRAME_US,
        "median wait after recovery {}",
        pct(&tail, 50)
    );
}

/// ±1% drift for a simulated hour: the delay must not creep.
fn drift_for_an_hour(rate: f64) {
    let mut jb = JitterBuffer::default();
    let ticks = 3600 * 50;
    let frames = (f64::from(ticks as u32) * rate) as u32;
    let mut rng = SmallRng::seed_from_u64(7);
    let out = run(
        &mut jb,
        stream(frames, 0, 0, rate, |_| 5_000 + rng.random_range(0..10_000)),
        3_000,
        ticks,
    );
    let stats = jb.stats();
    let last_minute = waits(&out[ticks - 3000..]);
    assert!(
        pct(&last_minute, 95) <= 60_000,
        "p95 wait in the last minute {}",
        pct(&last_minute, 95)
    );
    assert!(
        pct(&last_minute, 50) <= 40_000,
        "median wait in the last minute {}",
        pct(&last_minute, 50)
    );
    let all = waits(&out);
    assert!(pct(&all, 100) <= 200_000);
    assert_eq!(stats.resyncs, 0);
    // About 1% of the frames were dropped or inserted, not many more.
    let adjustments = if rate > 1.0 {
        stats.dropped
    } else {
        stats.inserted
    };
    let expected = (f64::from(ticks as u32) * (rate - 1.0).abs()) as u64;
    assert!(
        adjustments >= expected * 8 / 10 && adjustments <= expected * 13 / 10,
        "{adjustments} adjustments, expected about {expected}"
    );
}

#[test]
fn a_sender_one_percent_fast_for_an_hour_keeps_a_bounded_delay() {
    drift_for_an_hour(1.01);
}

#[test]
fn a_sender_one_percent_slow_for_an_hour_keeps_a_bounded_delay() {
    drift_for_an_hour(0.99);
}

#[test]
fn sequence_numbers_and_timestamps_wrap() {
    let mut jb = JitterBuffer::default();
    let seq0 = u32::MAX - 40;
    let ts0 = u32::MAX - 20 * FRAME_SAMPLES + 7;
    let out = run(
        &mut jb,
        stream(
            100,
            seq0,
            ts0,
            1.0,
            |i| if i % 3 == 0 { 12_000 } else { 1_000 },
        ),
        0,
        120,
    );
    let expected: Vec<u32> = (0..100).map(|i| seq0.wrapping_add(i)).collect();
    assert_eq!(played(&out), expected);
    let stats = jb.stats();
    assert_eq!(stats.resyncs, 0);
    assert_eq!(stats.late_drops, 0);
}

#[test]
fn thirty_ms_of_jitter_is_absorbed_with_few_late_frames() {
    let mut jb = JitterBuffer::default();
    let mut rng = SmallRng::seed_from_u64(3);
    let out = run(
        &mut jb,
        stream(3000, 0, 0, 1.0, |_| rng.random_range(0..30_000)),
        0,
        3020,
    );
    let stats = jb.stats();
    assert!(stats.late_drops < 3000 / 20, "{} late", stats.late_drops);
    assert!(
        stats.target_delay >= Duration::from_millis(40),
        "{:?}",
        stats.target_delay
    );
    assert!(
        stats.target_delay <= Duration::from_millis(60),
        "{:?}",
        stats.target_delay
    );
    let w = waits(&out[1000..]);
    assert!(pct(&w, 95) <= 70_000, "p95 wait {}", pct(&w, 95));
}

#[test]
fn never_more_than_the_cap_is_buffered() {
    let mut jb = JitterBuffer::default();
    // The first frame is played, then the sender dumps 25 frames at once.
    let frames = stream(30, 0, 0, 1.0, |i| {
        if i == 0 {
            0
        } else {
            40_000 - i64::from(i) * FRAME_US
        }
    });
    let out = run(&mut jb, frames, 0, 40);
    assert!(jb.stats().overflow_drops > 0);
    let w = waits(&out);
    assert!(
        pct(&w, 100) <= 200_000 + FRAME_US,
        "max wait {}",
        pct(&w, 100)
    );
}

#[test]
fn a_sender_restart_is_followed() {
    let mut jb = JitterBuffer::default();
    let mut frames = stream(100, 5000, 900_000, 1.0, |_| 1_000);
    // Then the sender restarts with fresh counters far behind.
    frames.extend(stream(100, 0, 0, 1.0, |_| 1_000).into_iter().map(|f| Sent {
        arrival_us: f.arrival_us + 2_000_000,
        ..f
    }));
    let out = run(&mut jb, frames, 0, 220);
    let seqs = played(&out);
    assert!(seqs.contains(&99) && seqs.contains(&80), "{seqs:?}");
    assert_eq!(jb.stats().resyncs, 1);
}

#[test]
fn a_talk_spurt_end_means_silence_not_concealment() {
    let mut jb = JitterBuffer::default();
    let mut frames = stream(50, 0, 0, 1.0, |_| 1_000);
    frames[19].flags = floorwalk_protocol::FLAG_SPURT_END;
    frames.retain(|f| !(20..35).contains(&f.seq));
    let out = run(&mut jb, frames, 0, 60);
    assert_eq!(jb.stats().concealments, 0);
    assert!(out.contains(&Out::Silence));
    assert_eq!(played(&out).len(), 35);
}

#[test]
fn empty_packets_are_refused() {
    let mut jb = JitterBuffer::default();
    assert_eq!(jb.push(0, 0, 0, Duration::ZERO, &[]), PushOutcome::Empty);
    assert_eq!(jb.pop(Duration::from_millis(40)), Playout::Silence);
}
