#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
//! The companion path against playing on the host itself, through a real
//! OpenSSH tunnel on loopback (a throwaway sshd, as in the tests):
//!
//! - **delay**: click frames (one 20 ms tone frame every 400 ms, silence
//!   between) are handed to the local engine, and to the console's link to
//!   an in-process `floorwalk companion`, both playing to a WAV file paced
//!   in real time; each click's onset in the file against the instant it
//!   was handed over, pooled over sessions of their own phase. The
//!   companion's extra delay is the difference of the medians (the jitter
//!   buffer and the mix are the same code in both), without network jitter
//!   before the console and with 0-20 ms of it.
//! - **bytes**: what the link sends through the tunnel per second with a
//!   call's two tracks of speech (the committed clips, Opus as it came),
//!   and what comes back while talking.
//! - **CPU**: the console process's CPU per second of a monitored call with
//!   the local engine decoding and mixing (output `none`), and with the
//!   companion (a separate `floorwalk companion` process) doing it.
//!
//! `cargo bench --bench companion` (`COMPANION_SECS` sets each run's length,
//! default 20).

#[path = "support/speech.rs"]
mod speech;
#[allow(dead_code)]
#[path = "../tests/support/sshd.rs"]
mod sshd;

use floorwalk_audio::codec::Encoder;
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::engine::{AudioConfig, AudioEngine, AudioEvent};
use floorwalk_audio::signal::{Level, sine};
use floorwalk_audio::{FRAME_DURATION, FRAME_SAMPLES};
use floorwalk_companion::client::{CompanionAudio, LinkConfig};
use floorwalk_companion::server::{Companion, Listen};
use floorwalk_companion::status::Status;
use floorwalk_protocol::Role;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use speech::{call_tracks, speech, wire};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CUSTOMER: u32 = 11;
const AGENT: u32 = 12;
/// A click every this many frames.
const CLICK_EVERY: u32 = 20;

fn secs() -> u64 {
    std::env::var("COMPANION_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

/// Click frames on the customer's track: a tone frame every
/// `CLICK_EVERY`, encoded silence between.
fn clicks(count: u32) -> Vec<Vec<u8>> {
    let mut encoder = Encoder::voip().unwrap();
    let tone = sine(1000.0, 0.5, FRAME_SAMPLES as usize);
    let silence = vec![0.0; FRAME_SAMPLES as usize];
    (0..count * CLICK_EVERY)
        .map(|seq| {
            let pcm = if seq % CLICK_EVERY == CLICK_EVERY / 2 {
                &tone
            } else {
                &silence
            };
            wire(CUSTOMER, seq, encoder.encode(pcm).unwrap())
        })
        .collect()
}

/// Network jitter upstream of the console in the second scenario: each
/// frame is handed over up to this much after its tick (in order).
const JITTER: Duration = Duration::from_millis(20);

/// Hands the click frames over in real time, each up to `jitter` late
/// (seeded); the instants the clicks went.
async fn send_clicks(
    frames: Vec<Vec<u8>>,
    jitter: Duration,
    send: impl Fn(Vec<u8>),
) -> Vec<Instant> {
    let mut rng = SmallRng::seed_from_u64(7);
    let mut tick = tokio::time::interval(FRAME_DURATION);
    let mut sent = Vec::new();
    for (seq, frame) in (0u32..).zip(frames) {
        tick.tick().await;
        if !jitter.is_zero() {
            let late = rng.random_range(0..jitter.as_micros() as u64);
            tokio::time::sleep(Duration::from_micros(late)).await;
        }
        if seq % CLICK_EVERY == CLICK_EVERY / 2 {
            sent.push(Instant::now());
        }
        send(frame);
    }
    // Let the last one play out.
    tokio::time::sleep(Duration::from_millis(500)).await;
    sent
}

/// The onsets of the clicks in a WAV file (1 ms resolution), as instants
/// given the instant its first sample stands for.
fn onsets(path: &Path, start: Instant) -> Vec<Instant> {
    let samples: Vec<f32> = hound::WavReader::open(path)
        .unwrap()
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    let mut found = Vec::new();
    let mut quiet_until = 0;
    for (i, chunk) in samples.chunks_exact(48).enumerate() {
        let at = i * 48;
        if at >= quiet_until && Level::of(chunk).peak > 0.1 {
            found.push(start + Duration::from_secs_f64(at as f64 / 48_000.0));
            quiet_until = at + 48_000 / 5;
        }
    }
    found
}

/// Each click's delay: its onset against when it was handed over.
fn delays(sent: &[Instant], heard: &[Instant]) -> Vec<Duration> {
    let mut delays: Vec<Duration> = sent
        .iter()
        .filter_map(|s| {
            heard
                .iter()
                .find(|h| **h > *s && **h < *s + Duration::from_millis(300))
                .map(|h| *h - *s)
        })
        .collect();
    delays.sort_unstable();
    delays
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(name: &str, delays: &[Duration], clicks: usize) -> Duration {
    let median = delays[delays.len() / 2];
    let p95 = delays[delays.len() * 95 / 100];
    println!(
        "  {name:<10} handed over to sample out: median {:.1} ms, p95 {:.1} ms ({} of {clicks} clicks found)",
        ms(median),
        ms(p95),
        delays.len()
    );
    median
}

/// A process's parent and CPU time so far (user + system), from /proc.
fn stat(pid: u32) -> Option<(u32, Duration)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let parent = fields[1].parse().ok()?;
    let ticks: u64 = fields[11].parse::<u64>().ok()? + fields[12].parse::<u64>().ok()?;
    // Linux reports in clock ticks of 100 Hz on every common configuration.
    Some((parent, Duration::from_millis(ticks * 10)))
}

fn cpu_time(pid: u32) -> Duration {
    stat(pid).map_or(Duration::ZERO, |(_, cpu)| cpu)
}

/// The CPU time of a process and all its descendants still running.
fn tree_cpu(root: u32) -> Duration {
    let all: Vec<(u32, u32, Duration)> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| stat(pid).map(|(parent, cpu)| (pid, parent, cpu)))
        .collect();
    let mut inside = vec![root];
    let mut total = Duration::ZERO;
    while let Some(pid) = inside.pop() {
        for &(child, parent, cpu) in &all {
            if child == pid {
                total += cpu;
            }
            if parent == pid {
                inside.push(child);
            }
        }
    }
    total
}

/// Streams the call's two tracks of speech in real time for `seconds`.
async fn stream_speech(seconds: u64, send: impl Fn(Vec<u8>)) {
    let customer = speech(Role::Customer);
    let agent = speech(Role::Agent);
    let mut tick = tokio::time::interval(FRAME_DURATION);
    for seq in 0..(seconds * 50) as u32 {
        tick.tick().await;
        let i = seq as usize;
        send(wire(CUSTOMER, seq, &customer[i % customer.len()]));
        send(wire(AGENT, seq, &agent[i % agent.len()]));
    }
}

fn link(path: &Path, microphone: bool) -> (CompanionAudio, floorwalk_audio::engine::AudioChannels) {
    CompanionAudio::start(LinkConfig {
        key_file: None,
        ..LinkConfig::new(path.to_owned(), microphone)
    })
}

async fn wait_ready(events: &mut tokio::sync::mpsc::UnboundedReceiver<AudioEvent>) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Some(AudioEvent::OutputReady { .. })) => return,
            Ok(Some(_)) => {}
            other => panic!("the companion did not connect: {other:?}"),
        }
    }
}

/// Sessions per path and scenario, each with its own engine and so its own
/// phase between the sender's ticks and the output's 20 ms frames (a
/// single session's median would carry its phase, 0 to 20 ms).
const SESSIONS: u64 = 8;
/// Clicks per session.
const SESSION_CLICKS: u32 = 10;

/// The clicks' delays through the local engine, one session.
fn local_session(runtime: &tokio::runtime::Runtime, wav: &Path, jitter: Duration) -> Vec<Duration> {
    let start = Instant::now();
    let (engine, _channels) = AudioEngine::start(AudioConfig {
        output: Endpoint::Wav(wav.to_owned()),
        ..AudioConfig::default()
    });
    engine.set_tracks(call_tracks(CUSTOMER, AGENT));
    let sink = engine.frame_sink();
    let sent = runtime.block_on(send_clicks(clicks(SESSION_CLICKS), jitter, |f| {
        sink.send(f);
    }));
    engine.shutdown();
    delays(&sent, &onsets(wav, start))
}

/// The clicks' delays through an in-process companion and the tunnel, one
/// session.
fn companion_session(
    runtime: &tokio::runtime::Runtime,
    sshd: &sshd::Sshd,
    dir: &Path,
    jitter: Duration,
) -> Vec<Duration> {
    let wav = dir.join("companion.wav");
    let laptop = dir.join("laptop/companion.sock");
    let jump = dir.join("jump.sock");
    let (start, sent) = runtime.block_on(async {
        let companion = Companion::listen(
            &Listen::Unix(laptop.clone()),
            None,
            Endpoint::Wav(wav.clone()),
            Endpoint::None,
        )
        .await
        .unwrap();
        let (status, _) = tokio::sync::watch::channel(Status::default());
        let start = Instant::now();
        let serving = tokio::spawn(companion.serve(status));
        let mut tunnel = sshd.tunnel(&jump, &laptop);
        let (audio, mut channels) = link(&jump, false);
        wait_ready(&mut channels.events).await;
        audio.set_tracks(call_tracks(CUSTOMER, AGENT));
        let sink = audio.frame_sink();
        let sent = send_clicks(clicks(SESSION_CLICKS), jitter, |f| {
            sink.send(f);
        })
        .await;
        audio.shutdown();
        let _ = tunnel.kill();
        let _ = tunnel.wait();
        // Dropping the companion stops its engine, which finishes the WAV.
        serving.abort();
        let _ = serving.await;
        (start, sent)
    });
    delays(&sent, &onsets(&wav, start))
}

fn main() {
    let seconds = secs();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sshd = sshd::Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Delay: without network jitter before the console, and with 0-20 ms.
    let clicks_sent = (SESSIONS * u64::from(SESSION_CLICKS)) as usize;
    for jitter in [Duration::ZERO, JITTER] {
        let mut local = Vec::new();
        let mut companion = Vec::new();
        for session in 0..SESSIONS {
            let wav = d.join(format!("local-{session}.wav"));
            local.extend(local_session(&runtime, &wav, jitter));
            let session_dir = d.join(format!("companion-{}-{session}", jitter.as_millis()));
            companion.extend(companion_session(&runtime, &sshd, &session_dir, jitter));
        }
        local.sort_unstable();
        companion.sort_unstable();
        println!(
            "{} ms of network jitter before the console:",
            jitter.as_millis()
        );
        let local = report("local", &local, clicks_sent);
        let companion = report("companion", &companion, clicks_sent);
        println!(
            "  the companion adds {:+.1} ms at the median (target: at most 10 ms)",
            ms(companion) - ms(local)
        );
    }

    // Bytes: an in-process companion, through the tunnel.
    let laptop = d.join("laptop/companion.sock");
    let jump = d.join("jump.sock");
    let mic = d.join("mic.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&mic, spec).unwrap();
    for s in sine(300.0, 0.3, 48_000) {
        writer.write_sample((s * 32767.0) as i16).unwrap();
    }
    writer.finalize().unwrap();
    let bytes = runtime.block_on(async {
        let companion = Companion::listen(
            &Listen::Unix(laptop.clone()),
            None,
            Endpoint::None,
            Endpoint::Wav(mic.clone()),
        )
        .await
        .unwrap();
        let (status, _) = tokio::sync::watch::channel(Status::default());
        tokio::spawn(companion.serve(status));
        let mut tunnel = sshd.tunnel(&jump, &laptop);
        let (audio, mut channels) = link(&jump, true);
        wait_ready(&mut channels.events).await;
        audio.set_tracks(call_tracks(CUSTOMER, AGENT));
        let sink = audio.frame_sink();
        // A call's two tracks of speech, then talking as well.
        let before = audio.tunnel_bytes();
        let began = Instant::now();
        stream_speech(seconds / 2, |f| {
            sink.send(f);
        })
        .await;
        let listening = audio.tunnel_bytes();
        let listened = began.elapsed();
        audio.arm_microphone(true);
        audio.set_transmit(Some(31));
        let began = Instant::now();
        let mut upstream = channels.upstream;
        let drain = tokio::spawn(async move { while upstream.recv().await.is_some() {} });
        stream_speech(seconds / 2, |f| {
            sink.send(f);
        })
        .await;
        let talked = began.elapsed();
        let talking = audio.tunnel_bytes();
        audio.set_transmit(None);
        drain.abort();
        audio.shutdown();
        let _ = tunnel.kill();
        let _ = tunnel.wait();
        let per_sec = |bytes: u64, d: Duration| bytes as f64 / d.as_secs_f64();
        [
            per_sec(listening.to_companion - before.to_companion, listened),
            per_sec(listening.from_companion - before.from_companion, listened),
            per_sec(talking.to_companion - listening.to_companion, talked),
            per_sec(talking.from_companion - listening.from_companion, talked),
        ]
    });
    drop(runtime);
    println!(
        "tunnel, listening: {:.0} B/s to the companion ({:.1} kbit/s), {:.0} B/s back (levels)",
        bytes[0],
        bytes[0] * 8.0 / 1e3,
        bytes[1]
    );
    println!(
        "tunnel, talking:   {:.0} B/s to the companion, {:.0} B/s back ({:.1} kbit/s: the microphone and levels)",
        bytes[2],
        bytes[3],
        bytes[3] * 8.0 / 1e3
    );

    cpu(&sshd, d, seconds);
}

/// The console process's CPU with the local engine and with the companion
/// (in its own process) doing the audio work.
fn cpu(sshd: &sshd::Sshd, d: &Path, seconds: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let me = std::process::id();
    let local = runtime.block_on(async {
        let (engine, _channels) = AudioEngine::start(AudioConfig::default());
        engine.set_tracks(call_tracks(CUSTOMER, AGENT));
        let sink = engine.frame_sink();
        let before = cpu_time(me);
        stream_speech(seconds, |f| {
            sink.send(f);
        })
        .await;
        let used = cpu_time(me) - before;
        engine.shutdown();
        used
    });
    let laptop = d.join("cpu-laptop/companion.sock");
    let jump = d.join("cpu-jump.sock");
    let mut companion: Child = Command::new(env!("CARGO_BIN_EXE_floorwalk"))
        .args([
            "companion",
            "--audio-out",
            "none",
            "--audio-in",
            "none",
            "--listen",
        ])
        .arg(&laptop)
        .env("XDG_DATA_HOME", d.join("cpu-data"))
        .env("XDG_CONFIG_HOME", d.join("cpu-config"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !laptop.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no companion socket"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut tunnel = sshd.tunnel(&jump, &laptop);
    let (remote, sshd_used) = runtime.block_on(async {
        let (audio, mut channels) = link(&jump, false);
        wait_ready(&mut channels.events).await;
        audio.set_tracks(call_tracks(CUSTOMER, AGENT));
        let sink = audio.frame_sink();
        let before = (cpu_time(me), tree_cpu(sshd.pid()));
        stream_speech(seconds, |f| {
            sink.send(f);
        })
        .await;
        let used = (
            cpu_time(me) - before.0,
            tree_cpu(sshd.pid()).saturating_sub(before.1),
        );
        audio.shutdown();
        used
    });
    let _ = tunnel.kill();
    let _ = companion.kill();
    let _ = tunnel.wait();
    let _ = companion.wait();
    let share = |used: Duration| 100.0 * used.as_secs_f64() / seconds as f64;
    println!(
        "console CPU, one monitored call: local decoding {:.2} % of a core, companion {:.2} % \
         (ratio {:.2}); the jump host's sshd carrying the tunnel: {:.2} %",
        share(local),
        share(remote),
        remote.as_secs_f64() / local.as_secs_f64().max(1e-9),
        share(sshd_used)
    );
}
