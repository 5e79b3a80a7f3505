//! The token never reaches the logs, even at `trace` for everything (with
//! the feed's recommended directives for the transport crates).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod feed_support;

use feed_support::*;
use floorwalk_console::feed::{self, FeedEvent, QUIET_TRANSPORT_LOGS};
use floorwalk_protocol::{ClientMessage, Mode};
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_reaches_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    // Also installs the `log` bridge, so tungstenite's and rustls's own
    // logging is captured too.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
            "trace,{QUIET_TRANSPORT_LOGS}"
        )))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .unwrap();

    // A full session: connect, events, a command, a reply, a drop, a resume.
    let server = FakeServer::start().await;
    let (handle, mut rx) = feed::spawn(options(&server.url)).unwrap();
    let (mut conn, _) = server.connect("s-1").await;
    expect_connected(&mut rx).await;
    conn.send(snapshot(1)).await;
    conn.send(event(3)).await;
    conn.expect_subscribe().await;
    handle.send(ClientMessage::Monitor {
        req: "r-1".into(),
        call_id: "c-1".into(),
        mode: Mode::Silent,
        announce: false,
    });
    conn.recv_client().await;
    conn.send(serde_json::json!({"type": "reply", "req": "r-1", "ok": true, "result": {}}))
        .await;
    loop {
        if let FeedEvent::Reply { .. } = next(&mut rx).await {
            break;
        }
    }
    drop(conn);
    let (_conn, _) = server.connect("s-1").await;
    expect_connected(&mut rx).await;

    // And a refusal.
    let refusing = FakeServer::start().await;
    let (_refused, mut rx2) = feed::spawn(options(&refusing.url)).unwrap();
    refusing.accept(Answer::Refuse(401)).await;
    loop {
        if let FeedEvent::Fatal(_) = next(&mut rx2).await {
            break;
        }
    }

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The capture works, for our logs and for the transport crates' own.
    assert!(logs.contains("connecting"), "{logs}");
    assert!(logs.contains("events are missing"), "{logs}");
    assert!(logs.contains("refused the token"), "{logs}");
    assert!(logs.contains("tungstenite"), "{logs}");
    assert!(!logs.contains(TOKEN), "the token is in the logs:\n{logs}");
}
