//! The rejoin rule from the keyboard: the real console in a pty against a
//! `floorwalk sim --record-dir` process, with `[compliance]
//! rejoin_announcement = "always"`. Joining a call, leaving it and joining
//! it again asks first, naming the call and the notice; once confirmed the
//! customer hears the monitoring notice (it is in the customer's recording,
//! and not in the agent's), the journal records the rejoin as announced,
//! and `floorwalk report` counts it for the supervisor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::notice::{notice_match, read_wav};
use support::pty::PtyApp;
use support::sim_process::listening_url;

const STEP: Duration = Duration::from_secs(15);

/// The call id in "You joined c-12 (…)".
fn joined_call(screen: &str) -> String {
    let at = screen.find("You joined ").unwrap() + "You joined ".len();
    screen[at..].split_whitespace().next().unwrap().to_owned()
}

#[test]
fn rejoining_asks_first_then_the_customer_hears_the_notice_and_it_is_counted() {
    let home = tempfile::tempdir().unwrap();
    let records = home.path().join("records");
    let mut sim = Command::new(env!("CARGO_BIN_EXE_floorwalk"))
        .args(["sim", "--listen", "127.0.0.1:0", "--agents", "40"])
        .args(["--min-call-secs", "300", "--record-dir"])
        .arg(&records)
        .env("HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = listening_url(&mut sim);
    let audit = home.path().join("audit");
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "audit_dir = \"{}\"\nlog_file = \"{}\"\n\n[compliance]\nrejoin_announcement = \"always\"\n",
            audit.display(),
            home.path().join("console.log").display()
        ),
    )
    .unwrap();
    let mut app = PtyApp::spawn_with_env(
        &[
            "console",
            "--server",
            &url,
            "--config",
            config.to_str().unwrap(),
            "--audio-out",
            "none",
            "--audio-in",
            "none",
        ],
        home.path(),
        120,
        34,
        &[("FLOORWALK_TOKEN", "demo-dana")],
    );
    app.wait_for_text("● live", STEP);
    let screen = app.join_next_call("m", "You joined", STEP);
    let call = joined_call(&screen);
    app.send("d");
    app.wait_for_text(&format!("You left {call}"), STEP);

    // Again: the console asks, and a cancel joins nothing.
    app.send("m");
    let dialog = app.wait_for_text(&format!("Rejoin call {call}"), STEP);
    assert!(
        dialog.contains("customer will hear the monitoring notice"),
        "{dialog}"
    );
    app.send("n");
    app.wait_for_text(&format!("Cancelled: you did not rejoin {call}"), STEP);
    app.send("m");
    app.wait_for_text(&format!("Rejoin call {call}"), STEP);
    app.send("y");
    app.wait_for_text(&format!("You joined {call}"), STEP);
    // The notice lasts under two seconds; the recording's header is
    // brought up to date every second.
    std::thread::sleep(Duration::from_secs(4));
    app.send("d");
    app.wait_for_text(&format!("You left {call}"), STEP);
    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);
    let _ = sim.kill();
    let _ = sim.wait();

    let customer = notice_match(&read_wav(&records.join(format!("{call}-customer.wav"))));
    let agent = notice_match(&read_wav(&records.join(format!("{call}-agent.wav"))));
    assert!(
        customer > 0.6,
        "the notice is not in what the customer heard ({customer})"
    );
    assert!(agent < 0.3, "the agent heard the notice ({agent})");

    let journal: Vec<Value> = std::fs::read_dir(&audit)
        .unwrap()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    let rejoins: Vec<&Value> = journal.iter().filter(|r| r["kind"] == "rejoin").collect();
    assert_eq!(rejoins.len(), 1, "{journal:#?}");
    assert_eq!(rejoins[0]["call_id"], call.as_str());
    assert_eq!(rejoins[0]["announced"], true);

    let report = Command::new(env!("CARGO_BIN_EXE_floorwalk"))
        .args(["report", "--format", "json", "--dir"])
        .arg(&audit)
        .env("HOME", home.path())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(
        report["rejoins"],
        serde_json::json!([{"supervisor": "sup-1", "announced": 1, "unannounced": 0}])
    );
}
