//! The console against the real simulator, audio included: the console's
//! core (feed, app, engine) joins a call in whisper, plays what it hears to
//! a WAV file, talks with push-to-talk from a WAV microphone (a tone above
//! the simulated voices), and leaves. The simulator's recordings then show
//! that the agent heard the tone and the customer did not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use floorwalk_audio::engine::AudioConfig;
use floorwalk_audio::output::Endpoint;
use floorwalk_audio::ptt::{PttConfig, PttSetting};
use floorwalk_audio::signal::{Level, best_correlation, sine};
use floorwalk_console::app::AppSettings;
use floorwalk_console::runtime::{ConsoleOptions, Core};
use floorwalk_sim::{SimHandle, SimOptions};
use std::path::Path;
use std::time::Duration;
use support::headless::loopback_feed;
use support::wav::write_mono;
use tokio::time::Instant;

/// My microphone: a tone where the simulated voices carry next to nothing.
const TONE_HZ: f32 = 2100.0;
const TONE: f32 = 0.3;
/// 20 ms windows.
const WINDOW: usize = 960;
const PATIENCE: Duration = Duration::from_secs(15);

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn read_wav(path: &Path) -> Vec<f32> {
    hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect()
}

/// How many 20 ms windows match the tone closely (at their best phase).
fn windows_with_tone(samples: &[f32]) -> usize {
    let period = (48_000.0 / TONE_HZ).ceil() as usize;
    let template = sine(TONE_HZ, 1.0, WINDOW);
    samples
        .windows(WINDOW + period)
        .step_by(WINDOW)
        .filter(|w| Level::of(&w[..WINDOW]).rms > TONE / 4.0)
        .filter(|w| best_correlation(&template, w, period).1 > 0.8)
        .count()
}

/// A simulator of twenty agents with calls that last, writing what each
/// party hears into `recordings`.
async fn recording_simulator(recordings: &Path) -> SimHandle {
    floorwalk_sim::start(SimOptions {
        agents: 20,
        record_dir: Some(recordings.to_owned()),
        min_call_secs: 120,
        ..SimOptions::default()
    })
    .await
    .unwrap()
}

async fn drive(core: &mut Core, what: &str, done: impl Fn(&Core) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done(core) {
        let input = tokio::time::timeout_at(deadline, core.next())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
        core.handle(input);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whisper_through_the_console_reaches_the_agent_only() {
    let dir = tempfile::tempdir().unwrap();
    let recordings = dir.path().join("rec");
    std::fs::create_dir(&recordings).unwrap();
    let heard = dir.path().join("heard.wav");
    let mic = dir.path().join("mic.wav");
    write_mono(&mic, &sine(TONE_HZ, TONE, 48_000));
    let simulator = recording_simulator(&recordings).await;
    let mut core = Core::start(ConsoleOptions {
        feed: loopback_feed(simulator.url(), "demo-dana"),
        app: AppSettings {
            audio_output: Endpoint::Wav(heard.clone()),
            audio_input: Endpoint::Wav(mic.clone()),
            ptt: PttConfig {
                setting: PttSetting::Toggle,
                ..PttConfig::default()
            },
            ..AppSettings::default()
        },
        journal: None,
        warnings: Vec::new(),
        audio: AudioConfig {
            output: Endpoint::Wav(heard.clone()),
            input: Endpoint::Wav(mic),
            ..AudioConfig::default()
        },
    })
    .unwrap();

    // Join the first active call in whisper.
    drive(&mut core, "a call", |core| {
        !core.app().floor().calls.is_empty() && !core.app().rows().is_empty()
    })
    .await;
    core.key(key('n'));
    core.key(key('w'));
    drive(&mut core, "my whisper leg", |core| core.app().mic_allowed()).await;
    let call = core.app().listening_call().unwrap().to_owned();
    // The call is heard: someone speaks.
    drive(&mut core, "the call's voices", |core| {
        let m = core.app().meters();
        m.customer > 2 || m.agent > 2
    })
    .await;

    // Talk for a second, then leave while talking.
    core.key(key(' '));
    assert!(core.app().on_air().is_some());
    drive(&mut core, "a second of talking", |core| {
        core.audio_stats().frames_sent >= 50
    })
    .await;
    core.key(key('d'));
    assert_eq!(core.app().transmit_track(), None);
    drive(&mut core, "the leave", |core| core.app().leaves_settled()).await;
    assert!(
        core.app().floor().calls.contains_key(&call),
        "the call goes on"
    );
    core.shutdown().await;
    simulator.shutdown().await;

    // What I heard: the call's voices.
    let played = read_wav(&heard);
    assert!(
        played.chunks_exact(4800).any(|w| Level::of(w).rms > 0.02),
        "no voices in what the console played"
    );
    // What the parties heard: the agent my whisper, the customer nothing.
    let agent = read_wav(&recordings.join(format!("{call}-agent.wav")));
    let customer = read_wav(&recordings.join(format!("{call}-customer.wav")));
    let to_agent = windows_with_tone(&agent);
    assert!(
        to_agent >= 25,
        "the agent heard {to_agent} windows of my whisper"
    );
    assert_eq!(
        windows_with_tone(&customer),
        0,
        "the customer heard my whisper"
    );
}

/// `floorwalk doctor` against the simulator: every check with a verdict,
/// and the round trip verified on the simulator's recordings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_verifies_the_round_trip_on_the_simulators_recordings() {
    let home = tempfile::tempdir().unwrap();
    let recordings = home.path().join("rec");
    std::fs::create_dir(&recordings).unwrap();
    let simulator = recording_simulator(&recordings).await;
    let doctor = |record_dir: Option<&Path>| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_floorwalk"));
        command
            .args(["doctor", "--server", &simulator.url()])
            .args(["--audio-out", "none", "--audio-in", "none"])
            .env_clear()
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("FLOORWALK_TOKEN", "demo-dana");
        if let Some(dir) = record_dir {
            command.arg("--record-dir").arg(dir);
        }
        command.output()
    };
    let output = doctor(Some(&recordings)).await.unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    for check in ["token", "server", "login", "output", "input", "round trip"] {
        assert!(
            text.lines()
                .any(|line| line.starts_with(check) && line.contains(" OK ")),
            "no OK for {check}:\n{text}"
        );
    }
    assert!(
        text.contains("the agent heard it, the customer did not"),
        "{text}"
    );

    // Without the recordings it cannot tell, and says so, without failing.
    let output = doctor(None).await.unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("round trip UNVERIFIED"), "{text}");
    assert!(text.contains("--record-dir"), "{text}");
    simulator.shutdown().await;
}
