//! A hostile server against the console: garbage, wrong types, unknown
//! messages, huge-but-legal and oversized frames, `seq` chaos, replies to
//! requests never made, binary junk, terminal escapes in its text. The
//! console says a frame could not be read, ignores what it must, and keeps
//! applying the good events that follow. First the feed and the app without
//! a terminal, then the real binary in a pseudo-terminal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod feed_support;
mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use feed_support::*;
use floorwalk_console::app::{App, AppSettings, Input, Link, Notice, Severity};
use floorwalk_console::feed::{self, FeedEvent};
use floorwalk_protocol::{MAX_TEXT_FRAME, Timestamp};
use serde_json::{Value, json};
use std::time::Duration;
use support::pty::PtyApp;
use tokio::sync::mpsc;

fn agent_named(seq: u64, id: &str, name: &str) -> Value {
    json!({"type": "agent", "seq": seq, "agent": {
        "id": id, "name": name, "team": "billing", "state": "available",
        "state_since": "2026-11-21T09:00:00.000Z", "call_id": null}})
}

/// A snapshot of `a-1` plus `extra` more agents.
fn snapshot_of(seq: u64, extra: usize) -> Value {
    let mut value = snapshot(seq);
    let agents = value["agents"].as_array_mut().unwrap();
    for n in 0..extra {
        agents.push(agent(&format!("x-{n}")));
    }
    value
}

/// The app as the console runtime drives it, minus the terminal.
struct Console {
    app: App,
    events: mpsc::Receiver<FeedEvent>,
}

impl Console {
    /// Feeds the app what the feed reports until `check` holds.
    async fn until(&mut self, what: &str, check: impl Fn(&App) -> bool) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !check(&self.app) {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
                .expect("the feed stopped");
            self.app.update(Input::Feed(event), Timestamp::now());
        }
    }

    fn name_of(&self, id: &str) -> Option<&str> {
        self.app.floor().agents.get(id).map(|a| a.name.as_str())
    }

    fn notice(&self) -> Option<&Notice> {
        self.app.notice(Timestamp::now())
    }

    /// Esc clears the message line, so the next notice is a new one.
    fn clear_notice(&mut self) {
        let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
        self.app
            .update(Input::Key(esc, Duration::ZERO), Timestamp::now());
        assert!(self.notice().is_none());
    }

    /// Sends `hostile`, then a good event renaming `a-1`, and returns once
    /// the good event is applied.
    async fn survives(&mut self, conn: &mut Conn, hostile: &str, seq: &mut u64) {
        conn.send_text(hostile).await;
        *seq += 1;
        let name = format!("Good {seq}");
        conn.send(agent_named(*seq, "a-1", &name)).await;
        self.until(&format!("{name} after {:.80?}", hostile), |app| {
            app.floor()
                .agents
                .get("a-1")
                .is_some_and(|a| a.name == name)
        })
        .await;
    }

    /// Asserts the message line reports what was ignored (`what`) and that
    /// the console carries on.
    fn reports_a_protocol_error(&self, hostile: &str, what: &str) {
        let notice = self
            .notice()
            .unwrap_or_else(|| panic!("nothing shown after {hostile:.80?}"));
        assert_eq!(notice.severity, Severity::Warn, "{}", notice.text);
        assert!(
            notice.text.contains(what) && notice.text.ends_with("; carrying on."),
            "after {hostile:.80?}: {}",
            notice.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_reports_what_it_cannot_read_and_carries_on() {
    let server = FakeServer::start().await;
    let (_feed, events) = feed::spawn(options(&server.url)).unwrap();
    let mut console = Console {
        app: App::new(AppSettings::default()),
        events,
    };
    let (mut conn, _) = server.connect("s-1").await;
    conn.send(snapshot(10)).await;
    console
        .until("the first snapshot", |app| app.floor().last_seq == Some(10))
        .await;
    assert!(matches!(console.app.link(), Link::Live { .. }));
    let mut seq = 10;

    // Frames that cannot be read: each is reported, none is fatal.
    let deep = format!(
        "{{\"type\":\"agent\",\"seq\":1,\"agent\":{}",
        "[".repeat(100_000)
    );
    let unreadable = [
        "not json at all".to_owned(),
        String::new(),
        "[1, 2, 3]".to_owned(),
        r#"{"type": 42}"#.to_owned(),
        r#"{"seq": 11}"#.to_owned(),
        r#"{"type":"agent","seq":11,"agent":{"id":5}}"#.to_owned(),
        r#"{"type":"agent","seq":1e400,"agent":{}}"#.to_owned(),
        r#"{"type":"call_started","seq":11,"call":"c-1"}"#.to_owned(),
        r#"{"type":"leg_left","seq":11,"call_id":"c-1","leg_id":"l-1","at":"yesterday","reason":"removed"}"#.to_owned(),
        r#"{"type":"snapshot","seq":-1,"agents":[],"calls":[],"queues":[]}"#.to_owned(),
        r#"{"type":"reply","req":7,"ok":"yes"}"#.to_owned(),
        "{\"type\":\"notice\",\"level\":\"info\",\"text\":\"\\ud800\"}".to_owned(),
        deep,
    ];
    for hostile in &unreadable {
        console.clear_notice();
        console.survives(&mut conn, hostile, &mut seq).await;
        console.reports_a_protocol_error(hostile, "cannot read");
    }
    // A second hello can be read, but has no place on a live connection.
    let again = hello("s-1", 5000).to_string();
    console.clear_notice();
    console.survives(&mut conn, &again, &mut seq).await;
    console.reports_a_protocol_error(&again, "Ignored a second hello");

    // Frames to ignore, quietly or not: the console carries on.
    let ignorable = [
        r#"{"type":"weather","seq":999,"sky":"blue"}"#.to_owned(),
        r#"{"type":"reply","req":"r-nobody-sent","ok":true,"result":{"leg_id":"l-9","track":9}}"#
            .to_owned(),
        r#"{"type":"reply","req":"r-1","ok":false,"error":{"code":"teapot","message":"?"}}"#
            .to_owned(),
    ];
    for hostile in &ignorable {
        console.survives(&mut conn, hostile, &mut seq).await;
    }
    for junk in [
        vec![],
        vec![0xff; 3],
        vec![1, 1, 0, 0, 0, 0, 0, 9],
        vec![7; 100_000],
    ] {
        conn.send_binary(junk).await;
    }
    console.survives(&mut conn, "null", &mut seq).await;

    // Legal but extreme values, with fields nobody knows: applied.
    seq += 1;
    conn.send(
        json!({"type": "queue", "seq": seq, "extra": [1, {"x": null}], "queue": {
        "id": "q", "name": "\u{202e}q", "waiting": u32::MAX, "longest_wait_s": u64::MAX,
        "sla_percent": 1e308, "agents_available": 0, "colour": "red"}}),
    )
    .await;
    console.survives(&mut conn, "{}", &mut seq).await;
    assert_eq!(console.app.floor().queues["q"].waiting, u32::MAX);

    // Old and repeated events are dropped, never applied over newer ones.
    for stale in [seq, seq - 1, 0] {
        conn.send(agent_named(stale, "a-1", "Stale")).await;
    }
    console.survives(&mut conn, "{}", &mut seq).await;
    assert_ne!(console.name_of("a-1"), Some("Stale"));

    // Text the server wants shown goes on the message line, escapes and all,
    // as text (the views never pass control characters to the terminal).
    let shouting = format!("\u{1b}[2J\u{1b}]0;pwned\u{7}{}", "A".repeat(1 << 20));
    conn.send(json!({"type": "notice", "level": "error", "text": shouting}))
        .await;
    console
        .until("the server's notice", |app| {
            app.notice(Timestamp::now())
                .is_some_and(|n| n.text.starts_with("Server:"))
        })
        .await;
    assert_eq!(console.notice().unwrap().severity, Severity::Error);

    // A gap: the console asks to resume from what it has, and takes the
    // snapshot the server answers with; the event after the gap is not applied.
    conn.send(agent_named(seq + 5, "a-1", "After a gap")).await;
    assert_eq!(
        conn.expect_subscribe().await,
        (Some("s-1".into()), Some(seq))
    );
    // A huge but legal snapshot: twenty thousand agents, megabytes of text.
    conn.send(snapshot_of(100, 20_000)).await;
    console
        .until("the big snapshot", |app| app.floor().last_seq == Some(100))
        .await;
    assert_eq!(console.app.floor().agents.len(), 20_001);
    assert_eq!(console.name_of("a-1"), Some("Alex Kim"));
    seq = 100;
    console.survives(&mut conn, "[]", &mut seq).await;

    // Over the limit: the connection is dropped and made again, resuming.
    // (The console may hang up before the server has written it all.)
    tokio::spawn(async move { conn.send_text(&" ".repeat(MAX_TEXT_FRAME + 1)).await });
    console
        .until("the reconnect", |app| {
            matches!(app.link(), Link::Connecting { .. })
        })
        .await;
    let (_, conn) = server.accept(Answer::Accept).await;
    let mut conn = conn.expect("the upgrade failed");
    // A new connection that starts with garbage and events before hello.
    console.clear_notice();
    conn.send_text("garbage before hello").await;
    conn.send(agent_named(seq + 1, "a-1", "Before hello")).await;
    console
        .until("the garbage before hello to be reported", |app| {
            app.notice(Timestamp::now())
                .is_some_and(|n| n.text.contains("came before hello"))
        })
        .await;
    console.reports_a_protocol_error("an event before hello", "came before hello");
    conn.hello("s-1", 5000).await;
    assert_eq!(
        conn.expect_subscribe().await,
        (Some("s-1".into()), Some(seq))
    );
    console.survives(&mut conn, "", &mut seq).await;
    assert!(matches!(console.app.link(), Link::Live { .. }));
}

/// The hostile server, run for the pty test on its own runtime and told
/// what to do next by the test.
enum Do {
    Text(String),
    Binary(Vec<u8>),
    /// Reads the console's subscribe, then sends this.
    AnswerSubscribe(Value),
}

fn hostile_server(runtime: &tokio::runtime::Runtime) -> (u16, mpsc::UnboundedSender<Do>) {
    let server = runtime.block_on(FakeServer::start());
    let port = server.port();
    let (tx, mut rx) = mpsc::unbounded_channel();
    runtime.spawn(async move {
        let (mut conn, _) = server.connect("s-1").await;
        conn.send(snapshot(10)).await;
        while let Some(step) = rx.recv().await {
            match step {
                Do::Text(text) => conn.send_text(&text).await,
                Do::Binary(bytes) => conn.send_binary(bytes).await,
                Do::AnswerSubscribe(answer) => {
                    conn.expect_subscribe().await;
                    conn.send(answer).await;
                }
            }
        }
        // Stay connected until the test ends.
        std::future::pending::<()>().await;
    });
    (port, tx)
}

#[test]
fn the_real_console_shows_the_problem_keeps_running_and_quits_cleanly() {
    const START: Duration = Duration::from_secs(30);
    const STEP: Duration = Duration::from_secs(10);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (port, server) = hostile_server(&runtime);
    let home = tempfile::tempdir().unwrap();
    let url = format!("ws://127.0.0.1:{port}/v1/supervisor");
    let mut app = PtyApp::spawn_with_env(
        &[
            "console",
            "--server",
            &url,
            "--audio-out",
            "none",
            "--audio-in",
            "none",
        ],
        home.path(),
        120,
        30,
        &[("FLOORWALK_TOKEN", TOKEN)],
    );
    app.wait_for("the floor", START, |s| {
        s.contains("● live") && s.contains("Alex Kim")
    });
    let send = |step: Do| server.send(step).unwrap();

    // Garbage: the message line says so.
    send(Do::Text("not json at all".into()));
    app.wait_for_text("cannot read", STEP);

    // Terminal escapes in the server's words are shown as text, not obeyed.
    let evil = "\u{1b}[?1049l\u{1b}[2J\u{1b}]0;pwned\u{7}EVIL";
    send(Do::Text(
        json!({"type": "notice", "level": "warn", "text": evil}).to_string(),
    ));
    app.wait_for_text("EVIL", STEP);
    let raw = String::from_utf8_lossy(&app.raw_output()).into_owned();
    assert!(
        !raw.contains("\u{1b}[?1049l") && !raw.contains("pwned\u{7}"),
        "the server's escapes reached the terminal"
    );

    // Wrong types, binary junk, unknown messages, replies to nothing, old
    // events, then a gap answered with a snapshot: the console carries on.
    for text in [
        r#"{"type":"agent","seq":11,"agent":{"id":5}}"#,
        r#"{"type":"weather","seq":11}"#,
        r#"{"type":"reply","req":"r-404","ok":true}"#,
        r#"{"type":"agent","seq":3,"agent":{"id":"a-1","name":"Stale","team":"billing","state":"away","state_since":"2026-11-21T09:00:00.000Z","call_id":null}}"#,
    ] {
        send(Do::Text(text.into()));
    }
    send(Do::Binary(vec![0xde, 0xad, 0xbe, 0xef]));
    send(Do::Text(agent_named(40, "a-1", "Gap").to_string()));
    // (The names sort first, so the table shows them.)
    let mut after_gap = snapshot_of(50, 3000);
    after_gap["agents"][0]["name"] = json!("Aaron Good");
    send(Do::AnswerSubscribe(after_gap));
    let screen = app.wait_for_text("Aaron Good", STEP);
    assert!(screen.contains("3001"), "the agent count:\n{screen}");
    assert!(
        !screen.contains("Stale") && !screen.contains("Gap"),
        "{screen}"
    );
    send(Do::Text(
        agent_named(51, "a-1", "Aaa Last Good").to_string(),
    ));
    app.wait_for_text("Aaa Last Good", STEP);
    assert!(app.is_running());

    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);
    assert!(
        app.terminal_restored(),
        "alternate screen, cursor or mouse left on"
    );
}
