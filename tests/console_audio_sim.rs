//! The console against the real simulator, audio included: the console's
//! core (feed, app, engine) joins a call in whisper, plays what it hears to
//! a WAV file, talks with push-to-talk from a WAV microphone (a tone above
//! the simulated voices), and leaves. The simulator's recordings then show
//! that the agent heard the tone and the customer did not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "feed_support/mod.rs"]
mod feed_support;
mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use feed_support::options;
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::ptt::PttSetting;
use floorwalk_audio::signal::{Level, sine};
use floorwalk_console::config::Secret;
use floorwalk_console::feed::FeedOptions;
use floorwalk_sim::SimOptions;
use std::path::Path;
use support::console::{drive, wav_console};
use support::wav::{read_wav, windows_with_tone, write_mono};

/// My microphone: a tone where the simulated voices carry next to nothing.
const TONE_HZ: f32 = 2100.0;
const TONE: f32 = 0.3;

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whisper_through_the_console_reaches_the_agent_only() {
    let dir = tempfile::tempdir().unwrap();
    let recordings = dir.path().join("rec");
    std::fs::create_dir(&recordings).unwrap();
    let heard = dir.path().join("heard.wav");
    let mic = dir.path().join("mic.wav");
    write_mono(&mic, &sine(TONE_HZ, TONE, 48_000));
    let simulator = floorwalk_sim::start(SimOptions {
        agents: 20,
        record_dir: Some(recordings.clone()),
        min_call_secs: 120,
        ..SimOptions::default()
    })
    .await
    .unwrap();
    // Dana, one of the simulator's demo supervisors.
    let feed = FeedOptions {
        token: Secret::new("demo-dana"),
        ..options(&simulator.url())
    };
    let output = Endpoint::Wav(heard.clone());
    let mut core = wav_console(feed, output, &mic, PttSetting::Toggle);

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
    let to_agent = windows_with_tone(&agent, TONE_HZ, TONE);
    assert!(
        to_agent >= 25,
        "the agent heard {to_agent} windows of my whisper"
    );
    assert_eq!(
        windows_with_tone(&customer, TONE_HZ, TONE),
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
    let simulator = floorwalk_sim::start(SimOptions {
        agents: 20,
        record_dir: Some(recordings.clone()),
        min_call_secs: 120,
        ..SimOptions::default()
    })
    .await
    .unwrap();
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
