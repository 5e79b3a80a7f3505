#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
//! Listening delay, end to end in real time: speech frames for a customer
//! and an agent track are handed to the real audio engine (the console's
//! playback thread: jitter buffers, decode, mix, output ring) on a network
//! schedule with jitter and clock drift, and played through cpal to a real,
//! clocked output. The engine measures each played packet from its arrival
//! to its first sample: `handed` when the audio callback takes it, `played`
//! adding what the device says it still holds ahead of it.
//!
//! Needs a clocked audio device. `scripts/listening-bench.sh` starts a
//! private PulseAudio with a null sink (timed by the system clock) and runs
//! this bench against it through ALSA's pulse plugin:
//!
//! ```text
//! scripts/listening-bench.sh                       # clean, 30 ms, 80 ms jitter
//! scripts/listening-bench.sh drift+1 drift-1       # an hour each, in parallel
//! LISTEN_SECS=6 scripts/listening-bench.sh clean   # shorter sessions
//! ```
//!
//! Scenarios: `clean`, `jitter30`, `jitter80` (twelve sessions of 15 s,
//! each with its own engine and so its own phase against the device's
//! clock, the last 10 s of each measured and pooled), `drift+1`, `drift-1`
//! (the sender's clock 1 % fast or slow, 10 ms of jitter; one hour, the
//! last minute measured). `LISTEN_SECS` overrides the session length,
//! `LISTEN_OUT` the output (default: the default device).

#[path = "support/speech.rs"]
mod speech;

use floorwalk_audio::FRAME_DURATION;
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::engine::{AudioConfig, AudioEngine, AudioEvent, EngineStats};
use floorwalk_audio::latency::{DelayHistogram, ListeningDelay};
use floorwalk_audio::mix::Layout;
use floorwalk_protocol::Role;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use speech::{call_tracks, speech, wire};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

const CUSTOMER: u32 = 11;
const AGENT: u32 = 12;

struct Scenario {
    name: &'static str,
    /// Each frame is delayed by a uniform 0..jitter.
    jitter: Duration,
    /// The sender's clock rate against the device's.
    rate: f64,
    /// Separate engines, each starting at its own phase against the device.
    sessions: u32,
    seconds: u64,
    measured: u64,
}

fn scenario(name: &str) -> Scenario {
    let short = |name, jitter_ms| Scenario {
        name,
        jitter: Duration::from_millis(jitter_ms),
        rate: 1.0,
        sessions: 12,
        seconds: 15,
        measured: 10,
    };
    let drift = |name, rate| Scenario {
        name,
        jitter: Duration::from_millis(10),
        rate,
        sessions: 1,
        seconds: 3_600,
        measured: 60,
    };
    let mut chosen = match name {
        "clean" => short("clean", 0),
        "jitter30" => short("jitter30", 30),
        "jitter80" => short("jitter80", 80),
        "drift+1" => drift("drift+1", 1.01),
        "drift-1" => drift("drift-1", 0.99),
        other => panic!("unknown scenario {other:?}: clean, jitter30, jitter80, drift+1, drift-1"),
    };
    if let Some(secs) = std::env::var("LISTEN_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        chosen.seconds = secs.max(2);
        chosen.measured = chosen.measured.min(secs / 2).max(1);
    }
    chosen
}

/// Delivers both tracks' frames on the scenario's schedule for `seconds`.
fn send(
    frames: &floorwalk_audio::engine::FrameSink,
    scenario: &Scenario,
    start: Instant,
    seed: u64,
) {
    let customer = speech(Role::Customer);
    let agent = speech(Role::Agent);
    let mut rng = SmallRng::seed_from_u64(seed);
    let period = FRAME_DURATION.as_secs_f64() / scenario.rate;
    let total = (scenario.seconds as f64 / period) as u32;
    let jitter_us = scenario.jitter.as_micros() as u64;
    // Frames in flight, by delivery time.
    let mut in_flight: BinaryHeap<Reverse<(Duration, u32, u32)>> = BinaryHeap::new();
    let mut next = 0u32;
    loop {
        let elapsed = start.elapsed();
        while next < total
            && Duration::from_secs_f64(f64::from(next) * period) <= elapsed + scenario.jitter
        {
            let sent = Duration::from_secs_f64(f64::from(next) * period);
            for track in [CUSTOMER, AGENT] {
                let delay = if jitter_us == 0 {
                    0
                } else {
                    rng.random_range(0..jitter_us)
                };
                in_flight.push(Reverse((sent + Duration::from_micros(delay), track, next)));
            }
            next += 1;
        }
        // The next frame is made `jitter` before it is sent, so no delivery
        // scheduled later can be due before it.
        let made_next = (next < total).then(|| {
            Duration::from_secs_f64(f64::from(next) * period).saturating_sub(scenario.jitter)
        });
        let Some(&Reverse((at, track, seq))) = in_flight.peek() else {
            match made_next {
                Some(t) => {
                    std::thread::sleep(t.saturating_sub(start.elapsed()));
                    continue;
                }
                None => return,
            }
        };
        if made_next.is_some_and(|t| t < at) {
            std::thread::sleep(made_next.unwrap_or(at).saturating_sub(start.elapsed()));
            continue;
        }
        in_flight.pop();
        if let Some(wait) = at.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        let packets = if track == CUSTOMER { &customer } else { &agent };
        let opus = &packets[seq as usize % packets.len()];
        frames.send(wire(track, seq, opus));
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(
        || "-".to_owned(),
        |d| format!("{:.1}", d.as_secs_f64() * 1e3),
    )
}

fn row(label: &str, h: &DelayHistogram) -> String {
    format!(
        "{label:<8} median {:>6} ms  p95 {:>6} ms  max {:>6} ms",
        ms(h.percentile(50)),
        ms(h.percentile(95)),
        ms(Some(h.max()))
    )
}

fn counters(stats: &EngineStats) -> [u64; 4] {
    stats.tracks.iter().fold([0; 4], |acc, t| {
        [
            acc[0] + t.jitter.played,
            acc[1] + t.jitter.concealments,
            acc[2] + t.jitter.late_drops,
            acc[3] + t.jitter.dropped + t.jitter.inserted,
        ]
    })
}

/// What the measured stretches of a scenario's sessions add up to.
#[derive(Default)]
struct Tally {
    output: String,
    delay: ListeningDelay,
    /// Played, concealed, late drops, drift steps.
    counts: [u64; 4],
    starved_samples: u64,
    /// Median arrival-to-render wait of each track, per session.
    jitter_waits: Vec<Duration>,
}

/// One engine, one call's two tracks, `scenario.seconds` long; adds the
/// last `scenario.measured` seconds to `tally`.
fn session(scenario: &Scenario, output: &Endpoint, seed: u64, tally: &mut Tally) {
    let (audio, mut channels) = AudioEngine::start(AudioConfig {
        output: output.clone(),
        layout: Layout::SplitEar,
        ..AudioConfig::default()
    });
    match channels.events.blocking_recv() {
        Some(AudioEvent::OutputReady { description }) => tally.output = description,
        other => panic!("the output did not open: {other:?}"),
    }
    audio.set_tracks(call_tracks(CUSTOMER, AGENT));
    let frames = audio.frame_sink();
    let start = Instant::now();
    let (before, after) = std::thread::scope(|scope| {
        let sender = scope.spawn(|| send(&frames, scenario, start, seed));
        let from = Duration::from_secs(scenario.seconds - scenario.measured);
        std::thread::sleep(from.saturating_sub(start.elapsed()));
        let before = audio.stats();
        std::thread::sleep(Duration::from_secs(scenario.seconds).saturating_sub(start.elapsed()));
        let after = audio.stats();
        sender.join().unwrap();
        (before, after)
    });
    tally
        .delay
        .add(&after.listening_delay.since(&before.listening_delay));
    let (a, b) = (counters(&after), counters(&before));
    for (sum, (a, b)) in tally.counts.iter_mut().zip(a.iter().zip(b.iter())) {
        *sum += a - b;
    }
    tally.starved_samples += after.output_starved_samples - before.output_starved_samples;
    tally
        .jitter_waits
        .extend(after.tracks.iter().map(|t| t.jitter.delay));
    audio.shutdown();
}

fn run(scenario: &Scenario, output: &Endpoint) -> String {
    let mut tally = Tally::default();
    for k in 0..scenario.sessions {
        session(scenario, output, 7 + u64::from(k), &mut tally);
    }
    tally.jitter_waits.sort_unstable();
    let [played, concealed, late, steps] = tally.counts;
    let delay = &tally.delay;
    assert!(
        delay.played.count() > 0,
        "nothing was measured: is the device clocked?"
    );
    format!(
        "\n{name}: {sessions} session(s) of {secs} s, the last {measured} s of each measured; \
         output {output}\n  {packets} packets measured ({played} played)\n  {handed}\n  {playedrow}\n  \
         jitter buffer wait (median per track and session): median {wait} ms\n  \
         concealed {concealed}, late drops {late}, drift steps {steps}, device underruns {starved:.1} ms",
        name = scenario.name,
        sessions = scenario.sessions,
        secs = scenario.seconds,
        measured = scenario.measured,
        output = tally.output,
        packets = delay.played.count(),
        handed = row("handed", &delay.handed),
        playedrow = row("played", &delay.played),
        wait = ms(tally
            .jitter_waits
            .get(tally.jitter_waits.len() / 2)
            .copied()),
        starved = tally.starved_samples as f64 / 96.0,
    )
}

fn main() {
    let output: Endpoint = std::env::var("LISTEN_OUT")
        .map_or(Ok(Endpoint::Default), |s| s.parse())
        .expect("LISTEN_OUT: an output endpoint");
    // `cargo bench` passes `--bench`; everything else names scenarios.
    let mut names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if names.is_empty() {
        names = vec!["clean".into(), "jitter30".into(), "jitter80".into()];
    }
    let scenarios: Vec<Scenario> = names.iter().map(|n| scenario(n)).collect();
    std::thread::scope(|scope| {
        // Hour-long drift runs go side by side; the short ones one by one.
        let (long, short): (Vec<_>, Vec<_>) = scenarios.iter().partition(|s| s.rate != 1.0);
        let long: Vec<_> = long
            .into_iter()
            .map(|s| scope.spawn(|| run(s, &output)))
            .collect();
        for s in short {
            println!("{}", run(s, &output));
        }
        for handle in long {
            println!("{}", handle.join().unwrap());
        }
    });
}
