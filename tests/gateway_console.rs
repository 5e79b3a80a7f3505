//! The real console in a pseudo-terminal against the real gateway and the
//! real Asterisk: a supervisor joins a call, hears both parties (the
//! console's WAV output holds each party's tone), leaves with `d` (the
//! gateway's objects go, the call stays), and ends the call with `E`, `y`
//! (both parties hung up); a console killed (SIGKILL) on a call loses its
//! leg at lease expiry. Slow ARI (Asterisk stopped for longer than a
//! request may take) gives a clear refusal and leaves nothing behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/ari_proxy.rs"]
mod ari_proxy;
#[path = "support/asterisk.rs"]
mod asterisk;
#[path = "support/gateway.rs"]
mod gateway;
#[allow(dead_code)] // the other tests use the rest of it
#[path = "support/pty.rs"]
mod pty;
#[path = "support/sim_client.rs"]
mod sim_client;

use asterisk::{AGENT_HZ, CUSTOMER_HZ, PARTY_LEVEL};
use floorwalk_audio::signal::tone_amplitude;
use gateway::{Rig, all_gone, objects, rig, rig_with};
use pty::PtyApp;
use std::time::{Duration, Instant};

const STEP: Duration = Duration::from_secs(10);

fn console(home: &std::path::Path, url: &str, out: &std::path::Path) -> PtyApp {
    let config = home.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "audit_dir = \"{}\"\nlog_file = \"{}\"\n",
            home.join("audit").display(),
            home.join("console.log").display()
        ),
    )
    .unwrap();
    PtyApp::spawn_with_env(
        &[
            "console",
            "--server",
            url,
            "--config",
            config.to_str().unwrap(),
            "--audio-out",
            &format!("wav:{}", out.display()),
            "--audio-in",
            "none",
        ],
        home,
        110,
        32,
        &[("FLOORWALK_TOKEN", "demo-dana")],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_listens_leaves_and_ends_a_call_from_the_console() {
    let Rig {
        proxy: _proxy,
        asterisk,
        events: _events,
        gateway,
        dana: _dana,
        call,
    } = rig("console").await;
    let home = tempfile::tempdir().unwrap();
    let heard = home.path().join("heard.wav");
    let mut app = console(home.path(), &gateway.url, &heard);
    app.wait_for_text("● live", STEP);
    app.wait_for("the call on the floor", STEP, |s| {
        s.contains("ag-1") && s.contains("0134")
    });

    app.send("n");
    app.wait_for_text(&format!("Call {}", &call.id[..8]), STEP);
    app.send("m");
    app.wait_for_text("SILENT", STEP);
    app.wait_for_text("[d] leave call", STEP);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!objects(&asterisk, "floorwalk-console-").await.is_empty());

    app.send("d");
    app.wait_for("my presence to go", STEP, |s| !s.contains("[d] leave call"));
    all_gone(&asterisk, "floorwalk-console-").await;
    gateway::parties_up(&asterisk, &call).await;

    // What the console played while on the call: both parties.
    let samples = pty_wav(&heard);
    let rate = 48_000;
    let last = &samples[samples.len().saturating_sub(rate)..];
    assert!(
        tone_amplitude(last, CUSTOMER_HZ, 48_000) > PARTY_LEVEL / 4.0,
        "no customer in what the console played"
    );
    assert!(
        tone_amplitude(last, AGENT_HZ, 48_000) > PARTY_LEVEL / 4.0,
        "no agent in what the console played"
    );

    // End call: asked, confirmed with `y`, both parties hung up.
    app.send("E");
    app.wait_for_text("End call for everyone?", STEP);
    app.send("y");
    gateway::hung_up(&asterisk, &call).await;
    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);
    assert!(app.terminal_restored());
}

/// The console's WAV output, as it was written so far (48 kHz mono).
fn pty_wav(path: &std::path::Path) -> Vec<f32> {
    let reader = hound::WavReader::open(path).unwrap();
    assert_eq!(reader.spec().sample_rate, 48_000);
    match reader.spec().sample_format {
        hound::SampleFormat::Float => reader.into_samples::<f32>().map(|s| s.unwrap()).collect(),
        hound::SampleFormat::Int => reader
            .into_samples::<i16>()
            .map(|s| f32::from(s.unwrap()) / 32768.0)
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_asterisk_gives_a_clear_refusal_and_leaves_nothing_behind() {
    let Rig {
        proxy: _proxy,
        asterisk,
        events: _events,
        gateway: _gateway,
        mut dana,
        call,
    } = rig("slow").await;
    // Asterisk frozen for longer than an ARI request may take.
    asterisk.signal("STOP");
    let reply = dana
        .command(serde_json::json!({"type": "monitor", "call_id": call.id, "mode": "silent"}))
        .await;
    asterisk.signal("CONT");
    let error = reply
        .error
        .expect("a join on a frozen Asterisk was accepted");
    assert_eq!(error.code, floorwalk_protocol::ErrorCode::Unavailable);
    assert!(
        error.message.contains("no answer within"),
        "{}",
        error.message
    );
    all_gone(&asterisk, "floorwalk-slow-").await;
    // Thawed, it works.
    gateway::command(
        &mut dana,
        serde_json::json!({"type": "monitor", "call_id": call.id, "mode": "silent"}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_killed_on_a_call_loses_its_leg_at_lease_expiry() {
    let Rig {
        proxy: _proxy,
        asterisk,
        events: _events,
        gateway,
        dana: _dana,
        call,
    } = rig_with("killed", &["--lease-ms", "2000"]).await;
    let home = tempfile::tempdir().unwrap();
    let mut app = console(home.path(), &gateway.url, &home.path().join("heard.wav"));
    app.wait_for_text("● live", STEP);
    app.send("n");
    app.wait_for_text(&format!("Call {}", &call.id[..8]), STEP);
    app.send("b");
    app.wait_for_text("BARGE", STEP);
    assert!(!objects(&asterisk, "floorwalk-killed-").await.is_empty());
    let killed = Instant::now();
    let pid = app.pid().unwrap();
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    all_gone(&asterisk, "floorwalk-killed-").await;
    // Not before the lease ran out: a console back within it keeps its legs.
    assert!(
        killed.elapsed() >= Duration::from_millis(2000),
        "{:?}",
        killed.elapsed()
    );
    gateway::parties_up(&asterisk, &call).await;
}
