//! One supervisor's session end to end, with the simulator writing its
//! records to SQLite and the real console binary in a pty writing its
//! journal: joins, mode switches, leaves, a console killed with SIGKILL
//! (and started again within the lease, so its leg lives on), and a call
//! ended for everyone. Then `floorwalk report` from the server's records and
//! from the console's journal give the same figures for that supervisor,
//! and `--compare-journal` finds nothing they disagree about.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

#[path = "support/crash.rs"]
mod crash;
#[path = "support/report_cli.rs"]
mod report_cli;

use crash::{Home, ME, STEP, on_screen_on_call, select_a_call, signal};
use floorwalk_records::{Keeper, Records, Target, Window};
use floorwalk_sim::SimOptions;
use serde_json::Value;
use std::time::Duration;
use support::pty::PtyApp;

/// Long enough that a console killed and started again finds its leg.
const LEASE_MS: u64 = 30_000;
/// Time spent in each mode, so every figure is well above zero.
const DWELL: Duration = Duration::from_millis(400);

fn press(app: &mut PtyApp, key: &str, shows: &str) {
    std::thread::sleep(DWELL);
    app.send(key);
    app.wait_for_text(shows, STEP);
}

fn gone(app: &PtyApp) {
    app.wait_for("my presence to go", STEP, |s| !on_screen_on_call(s));
}

/// `floorwalk report ARGS` for my supervisor, as JSON documents.
fn report(args: &[&str]) -> Vec<Value> {
    let mine = [args, &["--supervisor", ME]].concat();
    report_cli::report_json(&mine, &[])
}

/// The figures both sources must agree on: everything about legs. (Calls
/// seen differ by design: the server sees every call, a console only those
/// shown to it while it ran.)
const SAME: [&str; 10] = [
    "sessions",
    "legs_ended",
    "present_ms",
    "whisper_ms",
    "barge_ms",
    "disconnected_legs",
    "back_to_back_joins",
    "legs_without_end",
    "lease_expired_legs",
    "closed_after_crash",
];

fn leg_figures(figures: &Value) -> Vec<(&'static str, Value)> {
    SAME.iter().map(|k| (*k, figures[*k].clone())).collect()
}

#[test]
fn the_servers_records_and_the_consoles_journal_give_the_same_report() {
    let home = Home::new();
    let url = format!(
        "sqlite:{}",
        home.dir.path().join("records.sqlite").display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let keeper = Keeper::open(
        Target::parse(&url).unwrap(),
        "sim",
        &home.dir.path().join("spool"),
    )
    .unwrap();
    let sim = runtime
        .block_on(floorwalk_sim::start(SimOptions {
            agents: 20,
            seed: 11,
            min_call_secs: 3600,
            lease_ms: LEASE_MS,
            heartbeat_ms: 1_000,
            records: Some(keeper.clone()),
            ..SimOptions::default()
        }))
        .unwrap();

    // Monitor, whisper, barge, leave.
    let mut app = home.console(&sim.url());
    select_a_call(&mut app);
    press(&mut app, "m", "you:silent");
    press(&mut app, "w", "you:whisper");
    press(&mut app, "b", "you:barge");
    std::thread::sleep(DWELL);
    app.send("d");
    gone(&app);

    // Whisper on another call, and the console is killed.
    select_a_call(&mut app);
    press(&mut app, "w", "you:whisper");
    std::thread::sleep(DWELL);
    signal(&app, "KILL");
    app.wait_exit(STEP);

    // Started again within the lease: the leg is still there; leave it.
    let mut app = home.console(&sim.url());
    app.wait_for_text("● live", STEP);
    app.wait_for("my leg from before the kill", STEP, on_screen_on_call);
    std::thread::sleep(DWELL);
    app.send("d");
    gone(&app);

    // Monitor a call and end it for everyone.
    select_a_call(&mut app);
    press(&mut app, "m", "you:silent");
    press(&mut app, "E", "End call for everyone?");
    app.send("y");
    gone(&app);
    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);
    runtime.block_on(sim.shutdown());
    keeper.close();

    let from_journal = report(&["--dir", home.audit().to_str().unwrap()]);
    let from_records = report(&["--records", &url]);
    let (journal, records) = (&from_journal[0], &from_records[0]);
    assert_eq!(
        leg_figures(&records["overall"]),
        leg_figures(&journal["overall"]),
        "records:\n{records:#}\njournal:\n{journal:#}"
    );
    let overall = &records["overall"];
    assert_eq!(overall["sessions"], 3, "{overall}");
    assert_eq!(overall["disconnected_legs"], 2, "{overall}");
    for figure in ["present_ms", "whisper_ms", "barge_ms"] {
        assert!(overall[figure].as_u64().unwrap() > 0, "{figure}: {overall}");
    }
    // Agent by agent too.
    let by_agent = |report: &Value| -> Vec<(Value, Vec<(&'static str, Value)>)> {
        let mut agents: Vec<_> = (report["agents"].as_array().unwrap().iter())
            .filter(|a| a["sessions"].as_u64() > Some(0))
            .map(|a| (a["agent_id"].clone(), leg_figures(a)))
            .collect();
        agents.sort_by_key(|(id, _)| id.to_string());
        agents
    };
    assert_eq!(by_agent(records), by_agent(journal));

    // The records tell the ended call apart, and the comparison finds the
    // console and the server in agreement.
    let rows = Records::open(&Target::parse(&url).unwrap())
        .unwrap()
        .load(Window::default(), Some(ME))
        .unwrap();
    let mut reasons: Vec<&str> = (rows.legs.iter())
        .map(|l| l.left_reason.as_deref().unwrap_or("open"))
        .collect();
    reasons.sort_unstable();
    assert_eq!(
        reasons,
        ["disconnected", "disconnected", "ended_by_supervisor"]
    );
    let compared = report(&[
        "--records",
        &url,
        "--compare-journal",
        home.audit().to_str().unwrap(),
    ]);
    assert_eq!(compared[1], Value::Array(Vec::new()), "{:#}", compared[1]);
}
