//! `floorwalk calibrate` against a `floorwalk sim` whose carrier takes
//! 300 ms to release a leg (`--vendor-delay 300`): it measures that delay
//! (median within 40 ms, generous for a loaded two-core machine), finds no
//! microphone frame after the key (and the simulator's recording of what
//! each agent heard holds no more of calibrate's tone than it sent before
//! the key), recording on and the calls going on, and writes a calibration
//! that `floorwalk report --calibration` applies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use floorwalk_audio::signal::tone_amplitude;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use support::notice::read_wav;
use support::sim_process::listening_url;

const DELAY_MS: f64 = 300.0;
/// How far the median may be from the configured delay.
const TOLERANCE_MS: f64 = 40.0;
/// The tone calibrate talks in whisper and barge.
const MIC_TONE_HZ: f32 = 2300.0;

fn floorwalk(home: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_floorwalk"));
    command
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("NO_COLOR", "1");
    command
}

fn measure<'a>(out: &'a Value, name: &str) -> &'a Value {
    out["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no measure {name} in {out:#}"))
}

#[test]
fn calibrate_measures_the_carriers_release_delay_and_report_applies_it() {
    let home = tempfile::tempdir().unwrap();
    let records = home.path().join("records");
    let mut sim = floorwalk(home.path())
        .args(["sim", "--listen", "127.0.0.1:0", "--agents", "60"])
        .args([
            "--min-call-secs",
            "300",
            "--vendor-delay",
            "300",
            "--record-dir",
        ])
        .arg(&records)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = listening_url(&mut sim);

    let output = floorwalk(home.path())
        .args([
            "calibrate",
            "--server",
            &url,
            "--calls",
            "2",
            "--format",
            "json",
        ])
        .env("FLOORWALK_TOKEN", "demo-dana")
        .output()
        .unwrap();
    let _ = sim.kill();
    let _ = sim.wait();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "calibrate failed: {text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = serde_json::from_str(&text).unwrap();

    let release = measure(&out, "key to leg_left ms");
    let median = release["median"].as_f64().unwrap();
    assert_eq!(release["n"], 6, "{release}");
    assert!(
        (median - DELAY_MS).abs() <= TOLERANCE_MS,
        "key to leg_left: median {median} ms, configured {DELAY_MS} ms"
    );
    // The leg heard the call until the carrier let go: never after it.
    let last_audio = measure(&out, "key to last audio ms");
    assert!(last_audio["max"].as_f64().unwrap() <= median + TOLERANCE_MS);
    assert_eq!(measure(&out, "mic frames after key")["max"], 0.0);
    let samples = out["samples"].as_array().unwrap();
    let modes: Vec<&str> = samples
        .iter()
        .map(|s| s["mode"].as_str().unwrap())
        .collect();
    assert_eq!(
        modes,
        ["silent", "silent", "whisper", "whisper", "barge", "barge"]
    );
    // What the agents heard, per call: never more of the tone than went
    // out before the keys.
    let mut sent: BTreeMap<&str, u64> = BTreeMap::new();
    for sample in samples.iter().filter(|s| s["mode"] != "silent") {
        let before = sample["mic_before_key"].as_u64().unwrap();
        assert!(before > 10, "{sample}");
        *sent.entry(sample["call_id"].as_str().unwrap()).or_default() += before;
    }
    for (call, sent) in sent {
        let heard = read_wav(&records.join(format!("{call}-agent.wav")));
        let frames = heard
            .chunks(960)
            .filter(|frame| tone_amplitude(frame, MIC_TONE_HZ, 48_000) > 0.1)
            .count() as u64;
        assert!(
            frames >= sent / 2 && frames <= sent,
            "{call}: the agent heard {frames} frames of the tone, {sent} were sent before the keys"
        );
    }
    for check in out["checks"].as_array().unwrap() {
        assert_eq!(check["verdict"], "ok", "{check}");
    }
    let names: Vec<&str> = out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    for name in [
        "release",
        "mic",
        "audio",
        "recording",
        "clock",
        "calibration",
    ] {
        assert!(names.contains(&name), "no {name} check in {names:?}");
    }

    // The calibration, kept for this server, corrects console times.
    let file = out["calibration_file"].as_str().unwrap();
    assert!(
        file.starts_with(home.path().join("data").to_str().unwrap()),
        "{file}"
    );
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(kept["server"], url.as_str());
    assert!((kept["release_ms"].as_f64().unwrap() - median).abs() < 1e-9);
    let report = floorwalk(home.path())
        .args([
            "report",
            "--dir",
            "tests/fixtures/audit/floor",
            "--format",
            "json",
        ])
        .args(["--calibration", &url])
        .output()
        .unwrap();
    assert!(report.status.success(), "{report:?}");
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["calibration"]["server"], url.as_str());
    assert!(
        report["calibration"]["corrected"].as_u64().unwrap() > 0,
        "{report:#}"
    );
}
