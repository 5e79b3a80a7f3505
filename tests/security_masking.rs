//! Customer numbers are masked by default: on screen, in the logs and in the
//! audit journal. The simulator masks numbers before sending them, so the
//! console is also tried against a small scripted server that sends numbers
//! in full: the real binary in a pty shows only the country code and the
//! last four digits, unless `reveal_customer_numbers = true` is configured,
//! and never writes the number to its log (at `trace`) or journal, revealed
//! or not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// tungstenite fixes the upgrade callback's error type.
#![allow(clippy::result_large_err)]

mod support;

use floorwalk_protocol::{ClientMessage, Parsed, SUBPROTOCOL, parse_client};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::pty::PtyApp;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

const START: Duration = Duration::from_secs(30);
const STEP: Duration = Duration::from_secs(10);
const LOUDEST: &str = "trace";
const AT: &str = "2026-11-21T09:14:03.250Z";

/// Full numbers as a server might send them, what the screen shows by
/// default, and pieces of the hidden digits that must appear nowhere.
const NUMBERS: [(&str, &str, &[&str]); 3] = [
    (
        "+1 628 947 3815",
        "+1 ••• ••• 3815",
        &["628 947", "947 3815", "6289473815", "+1 628"],
    ),
    (
        "+44 20 7946 0958",
        "+44 •• •••• 0958",
        &["20 7946", "7946 0958", "2079460958"],
    ),
    (
        "+4915123456789",
        "+•••••••••6789",
        &["4915123456789", "151234"],
    ),
];

fn agent(n: usize) -> Value {
    json!({"id": format!("a-{n}"), "name": format!("Agent Number{n}"), "team": "billing",
           "state": "on_call", "state_since": AT, "call_id": format!("c-{n}")})
}

fn call(n: usize, customer: &str) -> Value {
    let leg = |id: usize, role: &str, name: &str| {
        json!({"id": format!("l-{id}"), "role": role, "user_id": null, "name": name,
               "mode": null, "track": id, "joined_at": AT})
    };
    json!({"id": format!("c-{n}"), "agent_id": format!("a-{n}"), "queue": "billing",
           "direction": "inbound", "customer": customer, "started_at": AT,
           "recording": true, "on_hold": false,
           "legs": [leg(10 * n, "customer", "Customer"), leg(10 * n + 1, "agent", "Agent")]})
}

/// A protocol-v1 server for one console: hello, a snapshot of calls with
/// unmasked numbers, and answers to monitor, set_mode and disconnect.
async fn serve_one(listener: TcpListener) {
    let (tcp, _) = listener.accept().await.unwrap();
    let answer = |_: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
        let protocol = SUBPROTOCOL.parse().unwrap();
        response
            .headers_mut()
            .insert("sec-websocket-protocol", protocol);
        Ok(response)
    };
    let mut ws = tokio_tungstenite::accept_hdr_async(tcp, answer)
        .await
        .unwrap();
    let send = |value: Value| Message::Text(value.to_string().into());
    ws.send(send(json!({
        "type": "hello", "protocol": 1, "server": "fake/0", "session": "s-1", "now": AT,
        "heartbeat_ms": 5000, "lease_ms": 15000,
        "supervisor": {"id": "sup-1", "name": "Dana Ruiz", "teams": ["billing"], "can_end_calls": true}
    })))
    .await
    .unwrap();
    let agents: Vec<Value> = (1..=NUMBERS.len()).map(agent).collect();
    let calls: Vec<Value> = NUMBERS
        .iter()
        .enumerate()
        .map(|(i, (full, _, _))| call(i + 1, full))
        .collect();
    let mut seq = 1;
    // The call our one supervisor leg is on.
    let mut joined = String::new();
    while let Some(Ok(frame)) = ws.next().await {
        let Message::Text(text) = frame else { continue };
        let Ok(Parsed::Known(message)) = parse_client(text.as_str()) else {
            continue;
        };
        let (events, reply) = match message {
            ClientMessage::Subscribe { .. } => {
                let snapshot = json!({"type": "snapshot", "seq": seq, "agents": agents,
                                      "calls": calls, "queues": []});
                (vec![snapshot], None)
            }
            ClientMessage::Monitor {
                req, call_id, mode, ..
            } => {
                joined.clone_from(&call_id);
                let leg = json!({"id": "l-900", "role": "supervisor", "user_id": "sup-1",
                                 "name": "Dana Ruiz", "mode": mode, "track": 900, "joined_at": AT});
                (
                    vec![json!({"type": "leg_joined", "call_id": call_id, "leg": leg})],
                    Some(json!({"type": "reply", "req": req, "ok": true,
                                "result": {"leg_id": "l-900", "track": 900}})),
                )
            }
            ClientMessage::SetMode { req, leg_id, mode } => (
                vec![
                    json!({"type": "leg_changed", "call_id": joined, "leg_id": leg_id,
                            "mode": mode, "at": AT}),
                ],
                Some(json!({"type": "reply", "req": req, "ok": true, "result": {}})),
            ),
            ClientMessage::Disconnect { req, leg_id } => (
                vec![
                    json!({"type": "leg_left", "call_id": joined, "leg_id": leg_id,
                            "at": AT, "reason": "disconnected"}),
                ],
                Some(json!({"type": "reply", "req": req, "ok": true,
                            "result": {"already_left": false}})),
            ),
            ClientMessage::EndCall { req, .. } => (
                Vec::new(),
                Some(json!({"type": "reply", "req": req, "ok": false,
                            "error": {"code": "forbidden", "message": "not in this test"}})),
            ),
        };
        for mut event in events {
            if event["type"] != "snapshot" {
                seq += 1;
                event["seq"] = json!(seq);
            }
            ws.send(send(event)).await.unwrap();
        }
        if let Some(reply) = reply {
            ws.send(send(reply)).await.unwrap();
        }
    }
}

/// Everything one session left: screens, raw terminal bytes, log, journal.
struct Seen {
    screens: Vec<String>,
    raw: String,
    log: String,
    journal: String,
}

/// A session against the scripted server: look, join the first call,
/// leave, quit.
fn session(reveal: bool) -> Seen {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("ws://{}/v1/supervisor", listener.local_addr().unwrap());
    runtime.spawn(serve_one(listener));

    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let config = home.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "log_file = \"{}\"\naudit_dir = \"{}\"\nreveal_customer_numbers = {reveal}\n",
            home.join("console.log").display(),
            home.join("audit").display()
        ),
    )
    .unwrap();
    let env = [("FLOORWALK_TOKEN", "t-masking"), ("FLOORWALK_LOG", LOUDEST)];
    let config = config.to_str().unwrap();
    let mut app = PtyApp::spawn_with_env(
        &["console", "--server", &url, "--config", config],
        home,
        170,
        40,
        &env,
    );
    let mut screens = vec![app.wait_for("every call on the table", START, |s| {
        s.contains("3815") && s.contains("0958") && s.contains("6789")
    })];
    app.send("n");
    screens.push(app.wait_for_text("Call c-", STEP));
    app.send("m");
    screens.push(app.wait_for_text("SILENT", STEP));
    app.send("d");
    screens.push(app.wait_for_text("not on this call", STEP));
    app.send("E");
    screens.push(app.wait_for_text("End call for everyone?", STEP));
    app.send("\x1b");
    app.wait_for("the dialog to close", STEP, |s| {
        !s.contains("End call for everyone?")
    });
    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);
    Seen {
        screens,
        raw: String::from_utf8_lossy(&app.raw_output()).into_owned(),
        log: std::fs::read_to_string(home.join("console.log")).unwrap(),
        journal: journal(&home.join("audit")),
    }
}

fn journal(dir: &Path) -> String {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect()
}

fn assert_no_full_number(what: &str, text: &str) {
    for (full, _, pieces) in NUMBERS {
        for piece in std::iter::once(&full).chain(pieces) {
            assert!(
                !text.contains(piece),
                "{what} shows {piece:?} of {full}:\n{text}"
            );
        }
    }
}

#[test]
fn numbers_are_masked_on_screen_in_the_log_and_in_the_journal() {
    let seen = session(false);
    for (n, screen) in seen.screens.iter().enumerate() {
        assert_no_full_number(&format!("screen {n}"), screen);
    }
    for (_, masked, _) in NUMBERS {
        assert!(seen.screens[0].contains(masked), "{}", seen.screens[0]);
    }
    // The pane of the joined call shows it masked too (and the table), and
    // so does the end-call dialog.
    let joined = |screen: &str| {
        NUMBERS
            .iter()
            .any(|(_, masked, _)| screen.matches(masked).count() >= 2)
    };
    assert!(joined(&seen.screens[2]), "{}", seen.screens[2]);
    assert!(joined(&seen.screens[4]), "{}", seen.screens[4]);
    assert_no_full_number("the raw terminal output", &seen.raw);
    assert_no_full_number("the log", &seen.log);
    assert_no_full_number("the journal", &seen.journal);
    // They were there to look at.
    assert!(seen.log.contains("TRACE"), "{}", seen.log);
    assert!(seen.journal.contains("\"joined\""), "{}", seen.journal);
}

#[test]
fn revealing_is_a_configured_permission_for_the_screen_only() {
    let seen = session(true);
    for (full, _, _) in NUMBERS {
        assert!(seen.screens[0].contains(full), "{}", seen.screens[0]);
    }
    assert!(
        NUMBERS
            .iter()
            .any(|(full, _, _)| seen.screens[2].matches(full).count() >= 2),
        "{}",
        seen.screens[2]
    );
    assert_no_full_number("the log", &seen.log);
    assert_no_full_number("the journal", &seen.journal);
}

/// What the simulator sends: at most the last four digits after the
/// country code, on a large floor.
#[tokio::test]
async fn the_simulator_sends_numbers_masked() {
    let sim = floorwalk_sim::start(floorwalk_sim::SimOptions {
        agents: 2000,
        ..floorwalk_sim::SimOptions::default()
    })
    .await
    .unwrap();
    let world = sim.floor_snapshot().await.unwrap();
    assert!(world.calls.len() > 1000, "{} calls", world.calls.len());
    for call in &world.calls {
        let (code, rest) = call.customer.split_once(' ').unwrap();
        assert!(code.starts_with('+'), "{}", call.customer);
        let shown = rest.chars().filter(char::is_ascii_digit).count();
        assert!(shown <= 4, "{} shows {shown} digits", call.customer);
        assert!(rest.contains('•'), "{}", call.customer);
    }
    sim.shutdown().await;
}
