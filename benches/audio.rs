#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Audio benchmarks.
//!
//! - `call_20ms`: the playback work of one monitored call for 20 ms (two
//!   tracks: jitter buffer, Opus decode, mix, limit, meters). Divide by
//!   20 ms for the share of a core one call costs.
//! - `bare_decode_20ms`: libopus decoding the same two packets, for the ratio.
//! - `capture_20ms`: encoding and wrapping one microphone frame.
//! - `resample_20ms`: one 20 ms frame of the split-ear mix converted for a
//!   44.1 kHz device (only devices that refuse 48 kHz pay this).
//! - `latency`: not timed; prints arrival-to-playout figures from a simulated
//!   timeline (0, 30 and 80 ms of jitter, and the last minute of an hour with
//!   ±1% clock drift).

use criterion::{Criterion, criterion_group, criterion_main};
use floorwalk_audio::assets::clips;
use floorwalk_audio::capture::{Capture, TransmitGate};
use floorwalk_audio::codec::Decoder;
use floorwalk_audio::jitter::{JitterBuffer, Playout};
use floorwalk_audio::mix::{Gains, Layout};
use floorwalk_audio::playback::Playback;
use floorwalk_audio::resample::{Fixed, Resampler};
use floorwalk_audio::{FRAME_SAMPLES, jitter::JitterConfig};
use floorwalk_protocol::Role;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::Duration;

#[path = "support/speech.rs"]
mod speech;

use speech::{call_tracks, speech, wire};

fn call_20ms(c: &mut Criterion) {
    let customer = speech(Role::Customer);
    let agent = speech(Role::Agent);
    let mut playback = Playback::new(Layout::SplitEar, Gains::default(), JitterConfig::default());
    playback.set_tracks(&call_tracks(1, 2)).expect("decoders");
    let frames: Vec<(Vec<u8>, Vec<u8>)> = (0..customer.len().max(agent.len()))
        .map(|i| {
            let seq = i as u32;
            (
                wire(1, seq, &customer[i % customer.len()]),
                wire(2, seq, &agent[i % agent.len()]),
            )
        })
        .collect();
    let mut tick = 0u64;
    c.bench_function("call_20ms", |b| {
        b.iter(|| {
            // Frames keep their sequence numbers across laps; wrap them into
            // a continuous stream by re-stamping.
            let (a, g) = &frames[tick as usize % frames.len()];
            let now = Duration::from_millis(20 * tick);
            let mut a = a.clone();
            let mut g = g.clone();
            for bytes in [&mut a, &mut g] {
                bytes[8..12].copy_from_slice(&(tick as u32).to_be_bytes());
                bytes[12..16]
                    .copy_from_slice(&((tick as u32).wrapping_mul(FRAME_SAMPLES)).to_be_bytes());
            }
            let _ = playback.push(&a, now + Duration::from_millis(1));
            let _ = playback.push(&g, now + Duration::from_millis(1));
            black_box(playback.render(now + Duration::from_millis(5)));
            black_box(playback.levels());
            tick += 1;
        })
    });
}

fn bare_decode_20ms(c: &mut Criterion) {
    let customer = speech(Role::Customer);
    let agent = speech(Role::Agent);
    let mut d1 = Decoder::new().expect("decoder");
    let mut d2 = Decoder::new().expect("decoder");
    let mut out = vec![0.0; FRAME_SAMPLES as usize];
    let mut i = 0usize;
    c.bench_function("bare_decode_20ms", |b| {
        b.iter(|| {
            let _ = d1.decode(&customer[i % customer.len()], &mut out);
            let _ = d2.decode(&agent[i % agent.len()], &mut out);
            black_box(&out);
            i += 1;
        })
    });
}

/// Push-to-talk's share of the press-to-first-frame budget: one frame of
/// microphone audio is encoded and wrapped (the rest is waiting for the
/// next 20 ms frame boundary, 10 ms on average).
fn capture_20ms(c: &mut Criterion) {
    let gate = TransmitGate::default();
    gate.set(Some(31));
    let mut capture = Capture::new().expect("encoder");
    let voice = clips(Role::Agent)
        .next()
        .expect("a clip")
        .decode()
        .expect("decodes");
    let mut i = 0usize;
    c.bench_function("capture_20ms", |b| {
        b.iter(|| {
            let start = (i * FRAME_SAMPLES as usize) % (voice.len() - FRAME_SAMPLES as usize);
            let frame = &voice[start..start + FRAME_SAMPLES as usize];
            let _ = capture.process(frame, &gate, |bytes| {
                black_box(bytes);
            });
            i += 1;
        })
    });
}

fn resample_20ms(c: &mut Criterion) {
    let voice = clips(Role::Customer)
        .next()
        .expect("a clip")
        .decode()
        .expect("decodes");
    let stereo: Vec<f32> = voice.iter().flat_map(|&s| [s, 0.5 * s]).collect();
    let frame = 2 * FRAME_SAMPLES as usize;
    let mut resampler =
        Resampler::new(48_000, 44_100, 2, Fixed::Input(FRAME_SAMPLES as usize)).expect("rates");
    let mut out = vec![0.0; 2 * resampler.output_frames_max()];
    let mut i = 0usize;
    c.bench_function("resample_20ms", |b| {
        b.iter(|| {
            let start = (i * frame) % (stereo.len() - frame);
            let _ = black_box(resampler.process(&stereo[start..start + frame], &mut out));
            i += 1;
        })
    });
}

/// Arrival-to-playout waits (µs) of the played frames from `skip_ticks` on.
struct Run {
    waits: Vec<i64>,
    played: usize,
    concealed: u64,
    late: u64,
    ticks: usize,
}

fn simulate(jitter_ms: u64, rate: f64, seconds: u64, measure_last_s: u64, seed: u64) -> Run {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut jb = JitterBuffer::default();
    let ticks = (seconds * 50) as usize;
    let frames = (ticks as f64 * rate) as u32 + 10;
    let base = 5_000i64;
    let mut arrivals: Vec<(i64, u32)> = (0..frames)
        .map(|i| {
            let sent = (f64::from(i) * 20_000.0 / rate) as i64;
            let extra = if jitter_ms == 0 {
                0
            } else {
                rng.random_range(0..jitter_ms as i64 * 1000)
            };
            (sent + base + extra, i)
        })
        .collect();
    arrivals.sort_unstable();
    let phase = rng.random_range(0..20_000i64);
    let skip = ticks - (measure_last_s * 50) as usize;
    let payload = [0x42u8; 60];
    let mut pending = arrivals.into_iter().peekable();
    let mut waits = Vec::new();
    let mut played = 0;
    for k in 0..ticks {
        let now = phase + k as i64 * 20_000;
        while let Some((at, i)) = pending.next_if(|(at, _)| *at <= now) {
            jb.push(
                i,
                i.wrapping_mul(FRAME_SAMPLES),
                0,
                Duration::from_micros(at as u64),
                &payload,
            );
        }
        if let Playout::Packet { arrival, .. } = jb.pop(Duration::from_micros(now as u64)) {
            if k >= skip {
                waits.push(now - arrival.as_micros() as i64);
                played += 1;
            }
        }
    }
    waits.sort_unstable();
    let stats = jb.stats();
    Run {
        waits,
        played,
        concealed: stats.concealments,
        late: stats.late_drops,
        ticks,
    }
}

fn latency(_c: &mut Criterion) {
    let pct = |w: &[i64], p: usize| w[(w.len() - 1) * p / 100] as f64 / 1000.0;
    println!("\nlatency: frame arrival to playout tick (jitter buffer only), in ms");
    println!(
        "{:<34} {:>7} {:>7} {:>7} {:>8} {:>10}",
        "scenario", "median", "p95", "max", "late %*", "conceal %*"
    );
    let scenarios: [(&str, u64, f64, u64, u64); 5] = [
        ("clean network (0 ms jitter)", 0, 1.0, 120, 60),
        ("30 ms jitter (uniform 0-30)", 30, 1.0, 120, 60),
        ("80 ms jitter (uniform 0-80)", 80, 1.0, 120, 60),
        ("+1% drift, 10 ms jitter, 1 h", 10, 1.01, 3600, 60),
        ("-1% drift, 10 ms jitter, 1 h", 10, 0.99, 3600, 60),
    ];
    for (name, jitter, rate, seconds, last) in scenarios {
        let run = simulate(jitter, rate, seconds, last, 11);
        println!(
            "{:<34} {:>7.1} {:>7.1} {:>7.1} {:>8.2} {:>10.2}",
            name,
            pct(&run.waits, 50),
            pct(&run.waits, 95),
            pct(&run.waits, 100),
            100.0 * run.late as f64 / run.ticks as f64,
            100.0 * run.concealed as f64 / run.ticks as f64,
        );
        assert!(run.played > 0);
    }
    println!(
        "(a device adds the wait from playout to its callback, about 4 ms, and its own \
         buffer: `scripts/listening-bench.sh` measures it all; * over the whole run)\n"
    );
}

criterion_group!(
    benches,
    latency,
    call_20ms,
    bare_decode_20ms,
    capture_20ms,
    resample_20ms
);
criterion_main!(benches);
