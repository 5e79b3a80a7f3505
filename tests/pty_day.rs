#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The rest of the supervisor's day, from the keyboard of the real binary in
//! a pseudo-terminal against the demo's simulator: a rotation over the
//! calls (`r`, `n`, `p`, the stop keys), my audit log (`a`, Esc), and
//! `floorwalk report` on the demo's journal.

mod support;

use floorwalk_console::audit::{Record, RecordKind};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::pty::PtyApp;

const START: Duration = Duration::from_secs(30);
const STEP: Duration = Duration::from_secs(10);

/// A private home whose config sets the rotation's dwell.
fn home_with_dwell(dwell_secs: u64) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("config/floorwalk");
    std::fs::create_dir_all(&dir).unwrap();
    let config = format!("[rotation]\ndwell_secs = {dwell_secs}\n");
    std::fs::write(dir.join("config.toml"), config).unwrap();
    home
}

fn demo(home: &Path) -> PtyApp {
    let app = PtyApp::spawn(&["demo", "--min-call-secs", "120"], home, 120, 30);
    app.wait_for_text("● live", START);
    app.wait_for("an agent on a call", STEP, |s| {
        s.contains("billing") && s.contains(':')
    });
    app
}

/// The demo journal's records, in order.
fn journal(home: &Path) -> Vec<Record> {
    let dir = home.join("data/floorwalk/demo-audit");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            text.lines()
                .map(|line| serde_json::from_str::<Record>(line).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn hops(records: &[Record]) -> Vec<&Record> {
    records
        .iter()
        .filter(|r| r.kind == RecordKind::Joined && r.reason.as_deref() == Some("rotation"))
        .collect()
}

/// The call the header says the rotation listens to, once it has landed.
fn rotation_call(screen: &str) -> Option<String> {
    let line = screen.lines().next()?;
    let rest = line.split("⟳ ROTATION ").nth(1)?;
    let call = rest.split_whitespace().next()?;
    (call.starts_with("c-") && line.contains("· next")).then(|| call.to_owned())
}

fn wait_for_rotation_on(app: &PtyApp, not: &[&str]) -> String {
    let screen = app.wait_for("the rotation on a new call", STEP, |s| {
        rotation_call(s).is_some_and(|call| !not.contains(&call.as_str()))
    });
    rotation_call(&screen).unwrap()
}

/// Every hop made before it broke: the next call's `joined` comes before
/// the previous leg's `disconnect_requested`, and never more than two legs
/// are open at once.
fn assert_make_before_break(records: &[Record]) {
    let mut open: Vec<&str> = Vec::new();
    let mut most = 0;
    for record in records {
        let leg = record.leg_id.as_deref().unwrap_or("");
        match record.kind {
            RecordKind::Joined => {
                assert!(record.server_at.is_some(), "server time: {record:?}");
                open.push(leg);
                most = most.max(open.len());
            }
            RecordKind::Left => open.retain(|l| *l != leg),
            _ => {}
        }
    }
    assert!(most <= 2, "{most} legs open at once");
    for pair in hops(records).windows(2) {
        let (earlier, later) = (pair[0], pair[1]);
        let leave = records
            .iter()
            .position(|r| r.kind == RecordKind::DisconnectRequested && r.leg_id == earlier.leg_id)
            .unwrap_or_else(|| panic!("the leg on {} was never left", earlier.call_id));
        let joined = records.iter().position(|r| r == later).unwrap();
        assert!(
            joined < leave,
            "{} was left before {} was joined",
            earlier.call_id,
            later.call_id
        );
    }
}

#[test]
fn rotation_hops_make_before_break_and_r_or_push_to_talk_stop_it_where_i_am() {
    let home = home_with_dwell(2);
    let mut app = demo(home.path());
    app.send("r");
    let first = wait_for_rotation_on(&app, &[]);
    assert!(app.screen_text().contains("you:silent"));
    // Two more hops, on the dwell alone.
    let deadline = Instant::now() + Duration::from_secs(30);
    while hops(&journal(home.path())).len() < 3 {
        assert!(Instant::now() < deadline, "{:?}", journal(home.path()));
        std::thread::sleep(Duration::from_millis(100));
    }
    app.send("r");
    let screen = app.wait_for("the rotation to stop", STEP, |s| !s.contains("⟳ ROTATION"));
    assert!(
        screen.contains("you:silent"),
        "I stay where I am:\n{screen}"
    );
    let last = hops(&journal(home.path())).last().unwrap().call_id.clone();
    // Again: it starts from the silent leg I am on (no join), then
    // push-to-talk stops it: silent, so it only says why nobody hears me.
    app.send("r");
    let on = wait_for_rotation_on(&app, &[]);
    assert_eq!(on, last, "the rotation starts where I am");
    app.send(" ");
    let screen = app.wait_for("push-to-talk to stop the rotation", STEP, |s| {
        !s.contains("⟳ ROTATION") && s.contains("Silent monitoring: nobody hears you")
    });
    assert!(screen.contains("you:silent"), "{screen}");
    app.send("q");
    app.wait_for_text("and quit?", STEP);
    app.send("y");
    assert_eq!(app.wait_exit(STEP), 0);

    let records = journal(home.path());
    let hops = hops(&records);
    assert!(hops.len() >= 3, "{hops:?}");
    assert_eq!(hops[0].call_id, first);
    assert_eq!(hops[0].mode, Some(floorwalk_protocol::Mode::Silent));
    let mut calls: Vec<&str> = hops.iter().map(|r| r.call_id.as_str()).collect();
    calls.sort_unstable();
    calls.dedup();
    assert_eq!(calls.len(), hops.len(), "no call twice: {hops:?}");
    assert_make_before_break(&records);
    let kinds = |kind| records.iter().filter(|r| r.kind == kind).count();
    assert_eq!(
        kinds(RecordKind::Joined),
        kinds(RecordKind::Left),
        "every leg left"
    );
}

#[test]
fn n_and_p_skip_d_stops_and_leaves_a_shows_my_day_and_report_finds_the_demo() {
    let home = home_with_dwell(600);
    let mut app = demo(home.path());
    app.send("r");
    let a = wait_for_rotation_on(&app, &[]);
    app.send("n");
    let b = wait_for_rotation_on(&app, &[&a]);
    // Back: the call I left a moment ago is skipped.
    app.send("p");
    let c = wait_for_rotation_on(&app, &[&a, &b]);

    // My audit log: each leg with its times and how it ended.
    app.send("a");
    let screen = app.wait_for("my legs in the audit pane", STEP, |s| {
        s.contains("My audit log") && s.contains(&format!("History of {c}"))
    });
    for call in [&a, &b] {
        let row = screen
            .lines()
            .find(|l| l.contains(&format!(" {call} ")) && l.contains("confirmed"))
            .unwrap_or_else(|| panic!("no confirmed leave on {call}:\n{screen}"));
        assert!(row.contains(":"), "{row}");
    }
    assert!(screen.contains("⟳ silent"), "{screen}");
    app.send("\x1b");
    app.wait_for("the pane to close", STEP, |s| !s.contains("My audit log"));

    // d stops the rotation and leaves.
    app.send("d");
    app.wait_for("the rotation to stop and my leg to go", STEP, |s| {
        !s.contains("⟳ ROTATION") && !s.contains("you:silent")
    });
    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);
    let records = journal(home.path());
    assert_make_before_break(&records);
    let calls: Vec<&str> = hops(&records).iter().map(|r| r.call_id.as_str()).collect();
    assert_eq!(calls, [&a, &b, &c]);

    // `report` finds no journal of its own, and says where the demo's is.
    let report = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_floorwalk"))
            .arg("report")
            .args(args)
            .env_clear()
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let text = report(&[]);
    assert!(text.contains("No audit journal at"), "{text}");
    assert!(
        text.contains("floorwalk report --demo` reports it") && text.contains("demo-audit"),
        "{text}"
    );
    let text = report(&["--demo"]);
    assert!(text.contains("floorwalk audit report"), "{text}");
    assert!(text.contains("demo-audit"), "{text}");
    // The agents with presence first, most first (the demo's legs are
    // short: a hop or a key apart, a few simulator ticks at most).
    let csv = report(&["--demo", "--format", "csv"]);
    let rows: Vec<(u64, u64)> = csv
        .lines()
        .filter(|l| l.starts_with("agent,"))
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[5].parse().unwrap(), cells[3].parse().unwrap())
        })
        .collect();
    let with_legs = rows
        .iter()
        .take_while(|(_, sessions)| *sessions > 0)
        .count();
    assert_eq!(with_legs, 3, "the three agents I listened to first:\n{csv}");
    assert!(
        rows[with_legs..].iter().all(|(_, sessions)| *sessions == 0),
        "{csv}"
    );
    assert!(rows.windows(2).all(|w| w[0] >= w[1]), "{csv}");
}
