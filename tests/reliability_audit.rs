#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Promise 3: the audit journal never loses a record. The real console
//! binary in a pty against the simulator:
//!
//! - a scripted session (join, whisper, barge, leave, join again, …) is cut
//!   by SIGKILL at seeded random moments, fifteen times over one journal:
//!   every action the screen showed as confirmed before the kill is in the
//!   journal, the journal always parses, and at the end (the last start
//!   having reconciled what the crashes left open) no leg is without an end;
//! - against a scripted server whose replies lag seconds behind its events,
//!   a kill the moment the screen shows a join, a switch or a leave still
//!   finds it journaled: the record goes with the event, not the reply;
//! - a torn last line is reported at the next start, never fatal, and the
//!   records after it stand on lines of their own;
//! - a journal that cannot write (its file swapped for `/dev/full` under the
//!   running console) is shown loudly and no join reaches the server until
//!   it writes again, which lifts the block without a restart.

mod support;

#[path = "support/crash.rs"]
mod crash;

use crash::{Home, ME, STEP, Server};
use floorwalk_console::audit::{self, Filter, Journal, ProblemKind, Record, RecordKind};
use floorwalk_protocol::{ClientMessage, Mode, Parsed, SUBPROTOCOL, Timestamp, parse_client};
use futures_util::{SinkExt, StreamExt};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::pty::PtyApp;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

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

#[cfg(target_os = "linux")]
#[test]
fn a_journal_that_cannot_write_is_loud_refuses_joins_and_recovers() {
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
    support::disk::make_full(&day);
    app.send("m");
    let screen = app.wait_for_text("AUDIT JOURNAL FAILED, joining is blocked", STEP);
    assert!(screen.contains("No space left on"), "{screen}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        server.legs_of(ME).is_empty(),
        "a join the journal did not record"
    );

    // Each try writes its record first; while the disk is full, nothing is
    // sent and the screen says why.
    app.send("w");
    app.wait_for_text("Nothing was sent: the audit journal cannot record it", STEP);
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.legs_of(ME).is_empty());

    // Room again (the day file is a plain file once more): the next try is
    // recorded, then sent, and the block lifts without a restart.
    std::fs::remove_file(&day).unwrap();
    app.send("m");
    let start = std::time::Instant::now();
    while server.legs_of(ME).len() != 1 {
        assert!(
            start.elapsed() < STEP,
            "the join after the recovery never came"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    app.wait_for("the failure bar to go", STEP, |screen| {
        !screen.contains("AUDIT JOURNAL FAILED") && screen.contains("you       SILENT")
    });
    let joins = audit::read_dir(&home.audit(), None, None)
        .unwrap()
        .records
        .into_iter()
        .filter(|r| r.kind == RecordKind::JoinRequested)
        .count();
    assert_eq!(joins, 1, "only the join that was sent is on record");
    // On a call, quitting asks first; yes leaves the call, then quits.
    app.send("q");
    app.wait_for_text("leave and quit", STEP);
    app.send("y");
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

/// How far the scripted server's replies lag behind its events.
const SLOW: Duration = Duration::from_secs(3);

/// What the scripted server knows: my one leg on c-1, if any, and `seq`.
#[derive(Default)]
struct Scripted {
    leg: Option<Value>,
    seq: u64,
}

/// A protocol-v1 server with one agent on one call, for any number of
/// consoles in turn: each command's event goes out at once, its reply
/// `SLOW` later.
async fn serve_slow_replies(listener: TcpListener, state: Arc<Mutex<Scripted>>) {
    while let Ok((tcp, _)) = listener.accept().await {
        serve_one(tcp, &state).await;
    }
}

#[allow(clippy::result_large_err)] // tungstenite fixes the callback's error type
fn answer(_: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    let protocol = SUBPROTOCOL.parse().unwrap();
    response
        .headers_mut()
        .insert("sec-websocket-protocol", protocol);
    Ok(response)
}

async fn serve_one(tcp: tokio::net::TcpStream, state: &Mutex<Scripted>) {
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, answer).await else {
        return;
    };
    let now = || Timestamp::now().to_string();
    let text = |value: Value| Message::Text(value.to_string().into());
    let hello = json!({"type": "hello", "protocol": 1, "server": "slow/0", "session": "s-1",
        "now": now(), "heartbeat_ms": 5000, "lease_ms": 15000,
        "supervisor": {"id": ME, "name": "Dana Ruiz", "teams": ["billing"], "can_end_calls": true}});
    if ws.send(text(hello)).await.is_err() {
        return;
    }
    let mut replies: Vec<(tokio::time::Instant, Value)> = Vec::new();
    loop {
        let due = replies.first().map(|(at, _)| *at);
        let frame = tokio::select! {
            frame = ws.next() => frame,
            () = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                let (_, reply) = replies.remove(0);
                if ws.send(text(reply)).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let frame = match frame {
            Some(Ok(Message::Text(frame))) => frame,
            // Pings are answered by tungstenite as it reads.
            Some(Ok(_)) => continue,
            None | Some(Err(_)) => return,
        };
        let Ok(Parsed::Known(command)) = parse_client(frame.as_str()) else {
            continue;
        };
        let (event, reply) = {
            let mut state = state.lock().unwrap();
            state.seq += 1;
            let seq = state.seq;
            match command {
                ClientMessage::Subscribe { .. } => {
                    let legs: Vec<Value> = [
                        json!({"id": "l-1", "role": "customer", "user_id": null, "name": "Customer",
                               "mode": null, "track": 1, "joined_at": now()}),
                        json!({"id": "l-2", "role": "agent", "user_id": "a-1", "name": "Alex Kim",
                               "mode": null, "track": 2, "joined_at": now()}),
                    ]
                    .into_iter()
                    .chain(state.leg.clone())
                    .collect();
                    let snapshot = json!({"type": "snapshot", "seq": seq,
                        "agents": [{"id": "a-1", "name": "Alex Kim", "team": "billing", "state": "on_call",
                                    "state_since": now(), "call_id": "c-1"}],
                        "calls": [{"id": "c-1", "agent_id": "a-1", "queue": "billing", "direction": "inbound",
                                   "customer": "+1 ••• ••• 0134", "started_at": now(), "recording": true,
                                   "on_hold": false, "legs": legs}],
                        "queues": []});
                    (snapshot, None)
                }
                ClientMessage::Monitor { req, mode, .. } => {
                    let leg = json!({"id": "l-9", "role": "supervisor", "user_id": ME, "name": "Dana Ruiz",
                                     "mode": mode, "track": 9, "joined_at": now()});
                    state.leg = Some(leg.clone());
                    (
                        json!({"type": "leg_joined", "seq": seq, "call_id": "c-1", "leg": leg}),
                        Some(json!({"type": "reply", "req": req, "ok": true,
                                    "result": {"leg_id": "l-9", "track": 9}})),
                    )
                }
                ClientMessage::SetMode { req, mode, .. } => {
                    if let Some(leg) = &mut state.leg {
                        leg["mode"] = json!(mode);
                    }
                    (
                        json!({"type": "leg_changed", "seq": seq, "call_id": "c-1", "leg_id": "l-9",
                               "mode": mode, "at": now()}),
                        Some(json!({"type": "reply", "req": req, "ok": true, "result": {}})),
                    )
                }
                ClientMessage::Disconnect { req, .. } => {
                    state.leg = None;
                    (
                        json!({"type": "leg_left", "seq": seq, "call_id": "c-1", "leg_id": "l-9",
                               "at": now(), "reason": "disconnected"}),
                        Some(json!({"type": "reply", "req": req, "ok": true,
                                    "result": {"already_left": false}})),
                    )
                }
                ClientMessage::EndCall { req, .. } => (
                    json!({"type": "notice", "level": "info", "text": "not in this test"}),
                    Some(json!({"type": "reply", "req": req, "ok": false,
                                "error": {"code": "forbidden", "message": "not in this test"}})),
                ),
            }
        };
        if ws.send(text(event)).await.is_err() {
            return;
        }
        if let Some(reply) = reply {
            replies.push((tokio::time::Instant::now() + SLOW, reply));
        }
    }
}

/// The moment the screen shows a change, the record of it is on disk,
/// even though the server's reply is seconds away.
#[test]
fn a_change_on_screen_is_journaled_before_its_reply_comes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("ws://{}/v1/supervisor", listener.local_addr().unwrap());
    runtime.spawn(serve_slow_replies(listener, Arc::default()));
    let home = Home::new();

    let steps: [(&str, Confirmed); 3] = [
        ("m", Confirmed::Joined(Mode::Silent)),
        ("w", Confirmed::Changed(Mode::Whisper)),
        ("d", Confirmed::Left),
    ];
    for (key, step) in steps {
        let before = if home.audit().exists() {
            home.journal().records.len()
        } else {
            0
        };
        let mut app = home.console(&url);
        app.wait_for_text("● live", STEP);
        app.wait_for_text("Alex Kim", STEP);
        if step != Confirmed::Joined(Mode::Silent) {
            // The last run's leg, found again.
            app.wait_for("my leg", STEP, crash::on_screen_on_call);
        }
        let killer = crash::Killer::arm(&app);
        app.send(key);
        assert!(
            crash::wait_briefly(&app, |s| shows(s, step), STEP),
            "{key} never showed:\n{}",
            app.screen_text()
        );
        killer.fire();
        app.wait_exit(STEP);
        let loaded = home.journal();
        let lost = missing(&loaded.records[before..], &[step]);
        assert!(
            lost.is_empty(),
            "{step:?} was on screen, not in the journal: {:#?}",
            &loaded.records[before..]
        );
    }
}
