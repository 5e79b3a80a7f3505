//! cpal for real, headless: ALSA's `file` plugin stands in for a sound card
//! (see tests/fixtures/alsa/asoundrc.in). ALSA reads its configuration once
//! per process and environment variables are process-global, so each test
//! re-runs this binary for itself with `ALSA_CONFIG_PATH` set.
#![cfg(all(feature = "audio-device", target_os = "linux"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use floorwalk_audio::device::{DeviceMicrophone, DeviceSink};
use floorwalk_audio::endpoint::{Microphone, Sink};
use floorwalk_audio::signal::{best_correlation, sine};
use floorwalk_audio::{FRAME_SAMPLES, list_devices};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const DIR_VAR: &str = "FLOORWALK_ALSA_TEST_DIR";
/// How long ago the frames played in the playback test "arrived".
const AGE: Duration = Duration::from_millis(7);

/// In the parent: writes the configuration into a fresh directory and runs
/// `test` in a child with ALSA pointed at it; returns the directory. In the
/// child: None, and the caller runs the body.
fn in_child(test: &str) -> Option<tempfile::TempDir> {
    if std::env::var_os(DIR_VAR).is_some() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/alsa/asoundrc.in"),
    )
    .unwrap();
    let config = dir.path().join("asoundrc");
    std::fs::write(
        &config,
        template.replace("@DIR@", dir.path().to_str().unwrap()),
    )
    .unwrap();
    // The microphone: one second of a 300 Hz tone at half scale.
    let tone: Vec<u8> = sine(300.0, 0.5, 48_000)
        .iter()
        .flat_map(|s| ((s * 32767.0) as i16).to_le_bytes())
        .collect();
    std::fs::write(dir.path().join("in.raw"), tone).unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("ALSA_CONFIG_PATH", &config)
        .env(DIR_VAR, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}"
    );
    // alsa-lib's own messages must not reach the terminal.
    assert!(
        !stderr.contains("ALSA lib"),
        "ALSA wrote to stderr:\n{stderr}"
    );
    Some(dir)
}

fn test_dir() -> PathBuf {
    PathBuf::from(std::env::var_os(DIR_VAR).unwrap())
}

fn read_raw(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32767.0)
        .collect()
}

#[test]
fn playback_reaches_the_device_as_s16_48k_mono() {
    if let Some(dir) = in_child("playback_reaches_the_device_as_s16_48k_mono") {
        // The null device takes audio faster than real time, so silence
        // (underruns) sits between our frames: drop the silent runs and
        // the tone must come out whole.
        let written = read_raw(&dir.path().join("out.raw"));
        let mut sound = Vec::new();
        let mut run = Vec::new();
        for s in written {
            if s == 0.0 {
                run.push(s);
                continue;
            }
            if run.len() < 16 {
                sound.append(&mut run);
            }
            run.clear();
            sound.push(s);
        }
        let tone = sine(440.0, 0.5, 25 * FRAME_SAMPLES as usize);
        assert!(
            sound.len() >= tone.len() - 960,
            "only {} samples of sound",
            sound.len()
        );
        let (lag, c) = best_correlation(&tone[..20 * 960], &sound, 960);
        assert!(c > 0.99, "the tone came out changed: {c} at lag {lag}");
        return;
    }
    let devices = list_devices();
    assert!(
        devices
            .devices
            .iter()
            .any(|d| d.name == "default" && d.default_output),
        "{devices:?}"
    );
    // alsa-lib complains about this one ("Unknown PCM"); the parent checks
    // that the complaint stayed off stderr.
    let err = DeviceSink::open(Some("broken"), 1).unwrap_err().to_string();
    assert!(err.contains("broken"), "{err}");
    let mut sink = DeviceSink::open(None, 1).unwrap();
    assert!(
        sink.describe().starts_with("default (48000 Hz, 1 ch"),
        "{}",
        sink.describe()
    );
    let tone = sine(440.0, 0.5, 25 * FRAME_SAMPLES as usize);
    let start = Instant::now();
    let mut frames = tone.chunks(FRAME_SAMPLES as usize);
    let mut next = frames.next();
    while let Some(frame) = next {
        if sink.due(start.elapsed()).unwrap() > 0 {
            let written = Instant::now();
            sink.write(frame).unwrap();
            // Its audio "arrived" 7 ms before the write; the callback
            // measures the rest.
            assert_eq!(sink.tag(AGE + written.elapsed()), None);
            next = frames.next();
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the device took nothing"
        );
    }
    // Let the callback take the last frame, then close (flushing the file).
    while sink.due(start.elapsed()).unwrap() == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(50));
    // Each frame's first sample was taken by a callback, which measured its
    // delay from arrival: at least the age it was tagged with.
    let mut measured = Vec::new();
    sink.measured(&mut |m| measured.push(m));
    assert_eq!(measured.len(), 25, "{measured:?}");
    assert!(
        measured
            .iter()
            .all(|m| m.handed >= AGE && m.played >= m.handed),
        "{measured:?}"
    );
    drop(sink);
    assert!(test_dir().join("out.raw").exists());
}

#[test]
fn doctor_opens_the_device_and_says_how_long_it_holds_sound() {
    if in_child("doctor_opens_the_device_and_says_how_long_it_holds_sound").is_some() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_floorwalk"))
        .args(["doctor", "--audio-out", "default", "--audio-in", "none"])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env_remove("FLOORWALK_TOKEN")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|line| line.starts_with("output"))
        .unwrap_or_else(|| panic!("no output check:\n{text}"));
    assert!(line.contains(" OK "), "{text}");
    assert!(line.contains("opened default (48000 Hz, 1 ch"), "{line}");
    assert!(
        line.contains(" ms after floorwalk hands it over"),
        "the device's delay is not reported: {line}"
    );
}

#[test]
fn the_microphone_reads_the_device() {
    if in_child("the_microphone_reads_the_device").is_some() {
        return;
    }
    let mut microphone = DeviceMicrophone::open(None).unwrap();
    assert!(
        microphone.describe().starts_with("default"),
        "{}",
        microphone.describe()
    );
    let start = Instant::now();
    let mut frame = vec![0.0; FRAME_SAMPLES as usize];
    while !microphone.read(start.elapsed(), &mut frame).unwrap() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no audio from the device"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // The first frame is the start of the file.
    let tone = sine(300.0, 0.5, 2 * FRAME_SAMPLES as usize);
    let (lag, c) = best_correlation(&frame[..480], &tone, 480);
    assert!(c > 0.99 && lag == 0, "{c} at {lag}");
    drop(microphone);
}

#[test]
fn the_engine_plays_and_captures_through_the_device() {
    use floorwalk_audio::endpoint::Endpoint;
    use floorwalk_audio::engine::{AudioConfig, AudioEngine, AudioEvent};

    if in_child("the_engine_plays_and_captures_through_the_device").is_some() {
        return;
    }
    let wait = |channels: &mut floorwalk_audio::engine::AudioChannels| {
        let start = Instant::now();
        loop {
            if let Ok(event) = channels.events.try_recv() {
                return event;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "no event");
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    let (audio, mut channels) = AudioEngine::start(AudioConfig {
        output: Endpoint::Default,
        input: Endpoint::Default,
        ..AudioConfig::default()
    });
    match wait(&mut channels) {
        AudioEvent::OutputReady { description } => assert!(description.starts_with("default")),
        other => panic!("{other:?}"),
    }
    audio.set_transmit(Some(44));
    match wait(&mut channels) {
        AudioEvent::InputReady { description } => assert!(description.starts_with("default")),
        other => panic!("{other:?}"),
    }
    let start = Instant::now();
    let frame = loop {
        if let Ok(frame) = channels.upstream.try_recv() {
            break frame;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "nothing upstream"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let header = floorwalk_protocol::AudioFrame::decode(&frame)
        .unwrap()
        .header;
    assert_eq!(header.track, 44);
    assert!(header.spurt_start());
    audio.shutdown();
}
