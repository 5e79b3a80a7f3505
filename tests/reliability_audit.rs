#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Promise 3: the audit journal never loses a record. The real console
//! binary in a pty against the simulator:
//!
//! - a scripted session (join, whisper, barge, leave, join again, …) is cut
//!   by SIGKILL at seeded random moments, fifteen times over one journal:
//!   every action the screen showed as confirmed before the kill is in the
//!   journal, the journal always parses, and at the end (the last start
//!   having reconciled what the crashes left open) no leg is without an end;
//! - a torn last line is reported at the next start, never fatal, and the
//!   records after it stand on lines of their own;
//! - a journal that cannot write (its file swapped for `/dev/full` under the
//!   running console) is shown loudly and no join reaches the server.

mod support;

#[path = "support/crash.rs"]
mod crash;

use crash::{Home, ME, STEP, Server};
use floorwalk::audit::{self, Filter, Journal, ProblemKind, Record, RecordKind};
use floorwalk::protocol::{Mode, Timestamp};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;
use support::pty::PtyApp;

const KILLS: usize = 15;
const LEASE_MS: u64 = 1500;
const HEARTBEAT_MS: u64 = 300;

/// What the screen shows once the server confirmed a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirmed {
    Joined(Mode),
    Changed(Mode),
    Left,
}

/// The scripted session: a key, and what confirms it on screen.
const SCRIPT: [(&str, Confirmed); 7] = [
    ("m", Confirmed::Joined(Mode::Silent)),
    ("w", Confirmed::Changed(Mode::Whisper)),
    ("b", Confirmed::Changed(Mode::Barge)),
    ("d", Confirmed::Left),
    ("b", Confirmed::Joined(Mode::Barge)),
    ("m", Confirmed::Changed(Mode::Silent)),
    ("d", Confirmed::Left),
];

fn shows(screen: &str, confirmed: Confirmed) -> bool {
    match confirmed {
        Confirmed::Joined(mode) | Confirmed::Changed(mode) => {
            screen.contains(&format!("you:{mode}"))
        }
        Confirmed::Left => !crash::on_screen_on_call(screen),
    }
}

/// Whether `records` hold a record for each confirmed step (as many of each
/// kind and mode as were confirmed).
fn missing(records: &[Record], confirmed: &[Confirmed]) -> Vec<Confirmed> {
    let mut left: Vec<&Record> = records.iter().collect();
    let mut missing = Vec::new();
    for step in confirmed {
        let found = left.iter().position(|r| match step {
            Confirmed::Joined(mode) => r.kind == RecordKind::Joined && r.mode == Some(*mode),
            Confirmed::Changed(mode) => r.kind == RecordKind::ModeChanged && r.mode == Some(*mode),
            Confirmed::Left => {
                r.kind == RecordKind::Left && r.reason.as_deref() == Some("disconnected")
            }
        });
        match found {
            Some(at) => {
                left.remove(at);
            }
            None => missing.push(*step),
        }
    }
    missing
}

/// After a start: a leg the last kill left on the server (within its
/// lease) shows up; leave it. Returns whether a leave was confirmed.
fn leave_what_the_last_run_left(app: &mut PtyApp, server: &Server) -> bool {
    app.wait_for_text("● live", STEP);
    let deadline = std::time::Instant::now() + STEP;
    loop {
        if crash::on_screen_on_call(&app.screen_text()) {
            app.send("d");
            app.wait_for("the old leg to go", STEP, |s| shows(s, Confirmed::Left));
            return true;
        }
        // Nothing on the server and nothing shown, twice in a row a moment
        // apart: the floor is clear.
        if server.legs_of(ME).is_empty()
            && !crash::wait_briefly(app, crash::on_screen_on_call, Duration::from_millis(150))
            && server.legs_of(ME).is_empty()
        {
            return false;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a leg of mine on the server never showed:\n{}",
            app.screen_text()
        );
    }
}

/// Journal problems may only be torn last lines, as a kill mid-write
/// leaves them; returns how many.
fn torn_last_lines(home: &Home) -> usize {
    let loaded = home.journal();
    for problem in &loaded.problems {
        let text = std::fs::read_to_string(&problem.file).unwrap();
        let lines = text.lines().count() as u64;
        assert!(
            problem.kind == ProblemKind::Torn && problem.line == lines,
            "{problem:?}"
        );
    }
    loaded.problems.len()
}

#[test]
fn sigkill_at_random_moments_loses_no_confirmed_record() {
    let server = Server::start(31, LEASE_MS, HEARTBEAT_MS);
    let home = Home::new();
    let mut rng = SmallRng::seed_from_u64(2026);
    let mut torn = 0;
    let mut kills_after = Vec::new();

    for kill in 0..KILLS {
        let before = if home.audit().exists() {
            home.journal().records.len()
        } else {
            0
        };
        let mut app = home.console(&server.url());
        let mut confirmed = Vec::new();
        if leave_what_the_last_run_left(&mut app, &server) {
            confirmed.push(Confirmed::Left);
        }
        crash::select_a_call(&mut app);
        let killer = crash::Killer::arm(&app);

        // Kill on step `at`: either the moment its confirmation shows, or
        // a random moment after its key, the answer still in flight.
        let at = rng.random_range(0..SCRIPT.len());
        let in_flight = rng.random_bool(0.5).then(|| rng.random_range(0..60));
        for (i, (key, step)) in SCRIPT.iter().enumerate() {
            app.send(key);
            if i == at
                && let Some(ms) = in_flight
            {
                std::thread::sleep(Duration::from_millis(ms));
                break;
            }
            assert!(
                crash::wait_briefly(&app, |s| shows(s, *step), STEP),
                "kill {kill}, step {i} ({key}) never confirmed:\n{}",
                app.screen_text()
            );
            confirmed.push(*step);
            if i == at {
                break;
            }
        }
        killer.fire();
        app.wait_exit(STEP);
        kills_after.push((at, in_flight, confirmed.len()));

        torn += torn_last_lines(&home);
        let loaded = home.journal();
        let records = &loaded.records[before..];
        let lost = missing(records, &confirmed);
        assert!(
            lost.is_empty(),
            "kill {kill} (step {at}, in flight {in_flight:?}): confirmed on screen but not in \
             the journal: {lost:?}\nrecords of this run: {records:#?}"
        );
    }

    // A last, clean run reconciles what the kills left open and quits.
    let mut app = home.console(&server.url());
    leave_what_the_last_run_left(&mut app, &server);
    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);
    torn += torn_last_lines(&home);
    let loaded = home.journal();
    let report = audit::build_report(&loaded.records, &loaded.problems, &Filter::default());
    let all = report.overall;
    eprintln!("kills (step, in flight ms, confirmed): {kills_after:?}; torn lines: {torn}");
    eprintln!("report: {all:?}");
    assert!(all.sessions >= KILLS as u64 / 2, "{all:?}");
    assert_eq!(all.legs_without_end, 0, "{:#?}", report.anomalies);
    assert_eq!(all.unmatched_records, 0, "{:#?}", report.anomalies);
    assert_eq!(all.back_to_back_joins, 0, "{:#?}", report.anomalies);
}

#[test]
fn a_torn_last_line_is_reported_at_start_and_never_glued_to_the_next_record() {
    let server = Server::start(32, LEASE_MS, HEARTBEAT_MS);
    let home = Home::new();
    // A journal whose last write was cut short by a crash.
    let mut journal = Journal::open(&home.audit()).unwrap();
    let now = Timestamp::now();
    let mut seen = Record::new(now, RecordKind::CallSeen, ME, "c-1");
    seen.agent_id = Some("a-1".into());
    journal.append(&seen).unwrap();
    drop(journal);
    let day = home
        .audit()
        .join(audit::file_name(audit::utc_date(now).unwrap()));
    let mut bytes = std::fs::read(&day).unwrap();
    bytes.extend_from_slice(
        br#"{"at":"2026-11-21T09:00:00.000Z","kind":"joined","supervisor":"sup-1","call_id":"c-"#,
    );
    std::fs::write(&day, bytes).unwrap();

    let mut app = home.console(&server.url());
    let screen = app.wait_for_text("damaged line", STEP);
    assert!(screen.contains("torn line"), "{screen}");
    crash::select_a_call(&mut app);
    app.send("m");
    app.wait_for_text("you:silent", STEP);
    app.send("d");
    app.wait_for("my leg to go", STEP, |s| !crash::on_screen_on_call(s));
    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);

    let loaded = home.journal();
    assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
    assert_eq!(
        (loaded.problems[0].kind, loaded.problems[0].line),
        (ProblemKind::Torn, 2)
    );
    for kind in [RecordKind::Joined, RecordKind::Left] {
        assert!(
            loaded.records.iter().any(|r| r.kind == kind),
            "no {kind:?} after the torn line"
        );
    }
}

#[test]
fn a_journal_that_cannot_write_is_loud_and_no_join_happens() {
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("no /dev/full here: skipped");
        return;
    }
    let server = Server::start(33, LEASE_MS, HEARTBEAT_MS);
    let home = Home::new();
    let mut app = home.console(&server.url());
    crash::select_a_call(&mut app);
    let day = home
        .audit()
        .join(audit::file_name(audit::utc_date(Timestamp::now()).unwrap()));
    assert!(day.exists(), "the calls seen were journaled");

    // The disk fills up under the running console: its day file is now one
    // that takes no byte.
    std::fs::remove_file(&day).unwrap();
    std::os::unix::fs::symlink("/dev/full", &day).unwrap();
    app.send("m");
    let screen = app.wait_for_text("AUDIT JOURNAL FAILED, joining is blocked", STEP);
    assert!(screen.contains("No space left on"), "{screen}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        server.legs_of(ME).is_empty(),
        "a join the journal did not record"
    );

    app.send("w");
    app.wait_for_text("Joining is blocked while the audit journal fails", STEP);
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.legs_of(ME).is_empty());
    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);
}

/// The day file removed or rotated away under a running journal: the next
/// record goes to the day's path again (a new file), not into a file no
/// reader will ever open.
#[test]
fn a_day_file_removed_or_rotated_away_is_written_again_at_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::open(dir.path()).unwrap();
    let now = Timestamp::now();
    let day = dir
        .path()
        .join(audit::file_name(audit::utc_date(now).unwrap()));
    let record = |call: &str| Record::new(now, RecordKind::CallSeen, ME, call);
    journal.append(&record("c-1")).unwrap();
    std::fs::remove_file(&day).unwrap();
    journal.append(&record("c-2")).unwrap();
    std::fs::rename(&day, dir.path().join("rotated.jsonl")).unwrap();
    journal.append(&record("c-3")).unwrap();
    let calls: Vec<String> = audit::read_dir(dir.path(), None, None)
        .unwrap()
        .records
        .into_iter()
        .map(|r| r.call_id)
        .collect();
    assert_eq!(calls, ["c-3"]);
    let rotated = std::fs::read_to_string(dir.path().join("rotated.jsonl")).unwrap();
    assert!(
        rotated.contains("\"c-2\"") && !rotated.contains("\"c-3\""),
        "{rotated}"
    );
}
