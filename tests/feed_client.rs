//! The feed against a scripted protocol-v1 server on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod feed_support;

use feed_support::*;
use floorwalk_console::feed::{self, CommandFailure, FeedError, FeedEvent};
use floorwalk_protocol::{ClientMessage, ErrorCode, Mode, Reachability, ServerMessage};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

fn monitor(req: &str) -> ClientMessage {
    ClientMessage::Monitor {
        req: req.into(),
        call_id: "c-9".into(),
        mode: Mode::Silent,
        announce: false,
    }
}

#[tokio::test]
async fn sends_token_and_subprotocol_subscribes_fresh_then_resumes() {
    let server = FakeServer::start().await;
    let (_handle, mut rx) = feed::spawn(options(&server.url)).unwrap();
    match next(&mut rx).await {
        FeedEvent::Connecting {
            attempt: 1,
            retry_in,
            last_error: None,
        } => assert_eq!(retry_in, Duration::ZERO),
        other => panic!("{other:?}"),
    }

    let (headers, conn) = server.accept(Answer::Accept).await;
    assert_eq!(headers["authorization"], format!("Bearer {TOKEN}").as_str());
    assert_eq!(headers["sec-websocket-protocol"], "floorwalk.v1");
    let mut conn = conn.unwrap();
    conn.hello("s-1", 5000).await;
    assert_eq!(conn.expect_subscribe().await, (None, None));
    match next(&mut rx).await {
        FeedEvent::Connected { hello, resumed } => {
            assert_eq!(hello.session, "s-1");
            assert_eq!(hello.supervisor.name, "Dana Ruiz");
            assert!(!resumed);
        }
        other => panic!("{other:?}"),
    }
    conn.send(snapshot(10)).await;
    conn.send(event(11)).await;
    assert_eq!(next_seq(&mut rx).await, 10);
    assert_eq!(next_seq(&mut rx).await, 11);

    // The connection drops: the feed reports it and comes back, resuming.
    drop(conn);
    match next(&mut rx).await {
        FeedEvent::Connecting {
            attempt: 1,
            last_error: Some(error),
            ..
        } => assert!(error.contains("connection"), "{error}"),
        other => panic!("{other:?}"),
    }
    let (mut conn, subscribe) = server.connect("s-1").await;
    assert_eq!(subscribe, (Some("s-1".into()), Some(11)));
    assert!(expect_connected(&mut rx).await, "a resume says so");
    conn.send(event(12)).await;
    assert_eq!(next_seq(&mut rx).await, 12);

    // The server lost the stream (new session): the old values are sent,
    // the server answers with a snapshot, and the new numbering is followed.
    drop(conn);
    let (mut conn, subscribe) = server.connect("s-2").await;
    assert_eq!(subscribe, (Some("s-1".into()), Some(12)));
    assert!(!expect_connected(&mut rx).await);
    conn.send(snapshot(3)).await;
    conn.send(event(4)).await;
    assert_eq!(next_seq(&mut rx).await, 3);
    assert_eq!(next_seq(&mut rx).await, 4);
}

#[tokio::test]
async fn a_gap_resubscribes_on_the_same_socket_and_only_contiguous_events_pass() {
    let server = FakeServer::start().await;
    let (handle, mut rx) = feed::spawn(options(&server.url)).unwrap();
    let (mut conn, _) = server.connect("s-1").await;
    expect_connected(&mut rx).await;
    for message in [snapshot(1), event(2), event(3), event(5), event(6)] {
        conn.send(message).await;
    }
    // One re-subscribe from the last contiguous event, on the same socket.
    assert_eq!(conn.expect_subscribe().await, (Some("s-1".into()), Some(3)));
    for seq in 4..=7 {
        conn.send(event(seq)).await;
    }
    for seq in 1..=7 {
        assert_eq!(next_seq(&mut rx).await, seq);
    }
    // Event 6 arrived while the re-subscribe was pending, yet no second
    // subscribe went out: the next thing the server hears is this command.
    handle.send(monitor("r-1"));
    assert_eq!(conn.recv_client().await, monitor("r-1"));
}

#[tokio::test]
async fn floor_status_reaches_the_app_outside_the_sequence() {
    let server = FakeServer::start().await;
    let (_handle, mut rx) = feed::spawn(options(&server.url)).unwrap();
    let (mut conn, _) = server.connect("s-1").await;
    expect_connected(&mut rx).await;
    let why = "Asterisk at 127.0.0.1:8088 is not answering";
    conn.send(snapshot(1)).await;
    conn.send(json!({"type": "floor_status", "status": "down", "reason": why, "since": "2026-11-21T09:14:03.250Z"}))
        .await;
    conn.send(event(2)).await;
    assert_eq!(next_seq(&mut rx).await, 1);
    match next(&mut rx).await {
        FeedEvent::Message(ServerMessage::FloorStatus(status)) => {
            assert_eq!(status.status, Reachability::Down);
            assert_eq!(status.reason.as_deref(), Some(why));
        }
        other => panic!("{other:?}"),
    }
    // No seq, so no gap: the next event follows on.
    assert_eq!(next_seq(&mut rx).await, 2);
}

#[tokio::test]
async fn duplicates_are_dropped() {
    let server = FakeServer::start().await;
    let (_handle, mut rx) = feed::spawn(options(&server.url)).unwrap();
    let (mut conn, _) = server.connect("s-1").await;
    expect_connected(&mut rx).await;
    for message in [
        snapshot(1),
        event(2),
        event(2),
        event(1),
        event(3),
        event(3),
    ] {
        conn.send(message).await;
    }
    conn.send(notice("end")).await;
    assert_eq!(next_seq(&mut rx).await, 1);
    assert_eq!(next_seq(&mut rx).await, 2);
    assert_eq!(next_seq(&mut rx).await, 3);
    match next(&mut rx).await {
        FeedEvent::Message(ServerMessage::Notice(notice)) => assert_eq!(notice.text, "end"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn replies_are_routed_by_req_with_their_latency() {
    let server = FakeServer::start().await;
    let (handle, mut rx) = feed::spawn(options(&server.url)).unwrap();
    let (mut conn, _) = server.connect("s-1").await;
    expect_connected(&mut rx).await;

    let started = Instant::now();
    handle.send(monitor("r-1"));
    handle.send(ClientMessage::Disconnect {
        req: "r-2".into(),
        leg_id: "l-7".into(),
    });
    // The same req again while r-1 waits: refused here, never sent.
    handle.send(monitor("r-1"));
    match next(&mut rx).await {
        FeedEvent::Reply {
            req,
            outcome: Err(CommandFailure::Refused(error)),
            ..
        } => {
            assert_eq!(req, "r-1");
            assert_eq!(error.code, ErrorCode::Invalid);
            assert!(error.message.contains("still waiting"), "{}", error.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(conn.recv_client().await, monitor("r-1"));
    assert!(matches!(
        conn.recv_client().await,
        ClientMessage::Disconnect { .. }
    ));

    // Answered out of order.
    conn.send(json!({"type": "reply", "req": "r-2", "ok": false,
                     "error": {"code": "not_your_leg", "message": "leg l-7 is not yours"}}))
        .await;
    conn.send(json!({"type": "reply", "req": "r-1", "ok": true,
                     "result": {"leg_id": "l-31", "track": 31}}))
        .await;
    match next(&mut rx).await {
        FeedEvent::Reply {
            req,
            outcome: Err(CommandFailure::Refused(error)),
            latency,
        } => {
            assert_eq!(req, "r-2");
            assert_eq!(error.code, ErrorCode::NotYourLeg);
            assert!(latency <= started.elapsed());
        }
        other => panic!("{other:?}"),
    }
    match next(&mut rx).await {
        FeedEvent::Reply {
            req,
            outcome: Ok(result),
            latency,
        } => {
            assert_eq!(req, "r-1");
            assert_eq!(result, json!({"leg_id": "l-31", "track": 31}));
            assert!(latency > Duration::ZERO && latency <= started.elapsed());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unanswered_command_times_out_exactly_once() {
    let server = FakeServer::start().await;
    let mut opts = options(&server.url);
    opts.command_timeout = Duration::from_millis(300);
    let (handle, mut rx) = feed::spawn(opts).unwrap();
    let (mut conn, _) = server.connect("s-1").await;
    expect_connected(&mut rx).await;

    handle.send(monitor("r-1"));
    assert_eq!(conn.recv_client().await, monitor("r-1"));
    match next(&mut rx).await {
        FeedEvent::Reply {
            req,
            outcome: Err(CommandFailure::Timeout(timeout)),
            latency,
        } => {
            assert_eq!(req, "r-1");
            assert_eq!(timeout, Duration::from_millis(300));
            assert!(latency >= timeout, "{latency:?}");
        }
        other => panic!("{other:?}"),
    }
    // The late reply is not a second answer.
    conn.send(json!({"type": "reply", "req": "r-1", "ok": true, "result": {}}))
        .await;
    conn.send(notice("after")).await;
    assert!(matches!(
        next(&mut rx).await,
        FeedEvent::Message(ServerMessage::Notice(_))
    ));
}

#[tokio::test]
async fn a_command_waiting_when_the_connection_drops_is_answered_offline() {
    let server = FakeServer::start().await;
    let (handle, mut rx) = feed::spawn(options(&server.url)).unwrap();
    let (mut conn, _) = server.connect("s-1").await;
    expect_connected(&mut rx).await;
    handle.send(monitor("r-1"));
    assert_eq!(conn.recv_client().await, monitor("r-1"));
    drop(conn);
    match next(&mut rx).await {
        FeedEvent::Reply {
            req,
            outcome: Err(CommandFailure::Offline),
            ..
        } => assert_eq!(req, "r-1"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(next(&mut rx).await, FeedEvent::Connecting { .. }));
}

#[tokio::test]
async fn offline_commands_are_refused_at_once_while_attempts_back_off() {
    // A loopback port with nothing listening: every attempt is refused.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let url = format!("ws://127.0.0.1:{port}/v1/supervisor");
    let (handle, mut rx) = feed::spawn(options(&url)).unwrap();
    handle.send(monitor("r-1"));
    handle.send_audio(vec![1, 2, 3]);
    assert!(!handle.is_online());

    let mut attempts = Vec::new();
    while attempts.len() < 4 {
        match next(&mut rx).await {
            FeedEvent::Connecting {
                attempt,
                retry_in,
                last_error,
            } => attempts.push((attempt, retry_in, last_error)),
            FeedEvent::Reply {
                req,
                outcome: Err(CommandFailure::Offline),
                ..
            } => assert_eq!(req, "r-1"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(attempts[0], (1, Duration::ZERO, None));
    let ms = Duration::from_millis;
    for (i, (full, (attempt, retry_in, last_error))) in [ms(250), ms(500), ms(1000)]
        .into_iter()
        .zip(&attempts[1..])
        .enumerate()
    {
        assert_eq!(*attempt as usize, i + 2);
        assert!(
            *retry_in >= full / 2 && *retry_in <= full,
            "{retry_in:?} for {full:?}"
        );
        let error = last_error.as_deref().unwrap();
        assert!(error.contains("cannot connect to 127.0.0.1"), "{error}");
    }
}

#[tokio::test]
async fn a_refused_token_is_fatal_and_not_retried() {
    let server = FakeServer::start().await;
    let (handle, mut rx) = feed::spawn(options(&server.url)).unwrap();
    let (headers, conn) = server.accept(Answer::Refuse(401)).await;
    assert!(conn.is_none());
    assert!(headers.contains_key("authorization"));
    assert!(matches!(
        next(&mut rx).await,
        FeedEvent::Connecting { attempt: 1, .. }
    ));
    match next(&mut rx).await {
        FeedEvent::Fatal(text) => {
            assert!(text.contains("the server refused the token"), "{text}");
            assert!(text.contains("401"), "{text}");
            assert!(!text.contains(TOKEN), "{text}");
        }
        other => panic!("{other:?}"),
    }
    // No retry storm: nobody knocks again, and commands are refused.
    assert!(
        server
            .tcp_within(Duration::from_millis(800))
            .await
            .is_none()
    );
    handle.send(monitor("r-1"));
    assert!(matches!(
        next(&mut rx).await,
        FeedEvent::Reply {
            outcome: Err(CommandFailure::Offline),
            ..
        }
    ));
}

#[tokio::test]
async fn a_server_that_does_not_answer_the_subprotocol_is_fatal() {
    let server = FakeServer::start().await;
    let (_handle, mut rx) = feed::spawn(options(&server.url)).unwrap();
    let (_, _conn) = server.accept(Answer::WithoutSubprotocol).await;
    assert!(matches!(next(&mut rx).await, FeedEvent::Connecting { .. }));
    match next(&mut rx).await {
        FeedEvent::Fatal(text) => assert!(text.contains("does not speak floorwalk.v1"), "{text}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_silent_server_is_declared_dead_and_the_feed_reconnects() {
    let server = FakeServer::start().await;
    let (_handle, mut rx) = feed::spawn(options(&server.url)).unwrap();
    let (_, conn) = server.accept(Answer::Accept).await;
    let mut conn = conn.unwrap();
    // heartbeat 100 ms: silence is fatal after max(200 ms, 3 s) = 3 s.
    conn.hello("s-1", 100).await;
    conn.expect_subscribe().await;
    expect_connected(&mut rx).await;
    conn.go_silent();
    match next(&mut rx).await {
        FeedEvent::Connecting {
            attempt: 1,
            last_error: Some(error),
            ..
        } => assert!(
            error.contains("no sign of life from the server for 3.0 s"),
            "{error}"
        ),
        other => panic!("{other:?}"),
    }
    let (_conn, subscribe) = server.connect("s-1").await;
    assert_eq!(
        subscribe,
        (None, None),
        "nothing was applied, so nothing to resume"
    );
    expect_connected(&mut rx).await;
}

#[tokio::test]
async fn garbage_is_reported_and_the_feed_carries_on() {
    let server = FakeServer::start().await;
    let (_handle, mut rx) = feed::spawn(options(&server.url)).unwrap();
    let (_, conn) = server.accept(Answer::Accept).await;
    let mut conn = conn.unwrap();
    conn.send(notice("too early")).await;
    conn.hello("s-1", 5000).await;
    conn.expect_subscribe().await;
    conn.send(snapshot(1)).await;
    conn.send_text("this is not json").await;
    conn.send(json!({"type": "mystery", "x": 1})).await;
    conn.send(json!({"no_type": true})).await;
    conn.send(json!({"type": "agent", "seq": "two"})).await;
    conn.send(json!({"type": "reply", "req": "nobody", "ok": true}))
        .await;
    conn.send(event(2)).await;

    assert!(matches!(next(&mut rx).await, FeedEvent::Connecting { .. }));
    let mut errors = Vec::new();
    let mut seqs = Vec::new();
    while seqs.len() < 2 {
        match next(&mut rx).await {
            FeedEvent::ProtocolError(text) => errors.push(text),
            FeedEvent::Connected { .. } => {}
            FeedEvent::Message(message) => seqs.push(message.seq().unwrap()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seqs, [1, 2]);
    // An unknown type is how the protocol grows: ignored, never an error.
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert!(errors[0].contains("before hello"), "{}", errors[0]);
    assert!(errors[1].contains("cannot read"), "{}", errors[1]);
    assert!(errors[2].contains("no \"type\""), "{}", errors[2]);
    assert!(errors[3].contains("cannot read"), "{}", errors[3]);
    assert!(errors.iter().all(|e| !e.contains("mystery")), "{errors:#?}");
}

#[tokio::test]
async fn round_trip_time_is_measured_with_pings() {
    let server = FakeServer::start().await;
    let started = Instant::now();
    let (_handle, mut rx) = feed::spawn(options(&server.url)).unwrap();
    let (_conn, _) = server.connect("s-1").await;
    assert!(matches!(
        next_raw(&mut rx).await,
        FeedEvent::Connecting { .. }
    ));
    assert!(matches!(
        next_raw(&mut rx).await,
        FeedEvent::Connected { .. }
    ));
    match next_raw(&mut rx).await {
        FeedEvent::Rtt(rtt) => assert!(rtt > Duration::ZERO && rtt <= started.elapsed()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn audio_flows_both_ways_without_passing_through_the_app() {
    let server = FakeServer::start().await;
    let (audio_tx, mut audio_rx) = tokio::sync::mpsc::channel(2);
    let mut opts = options(&server.url);
    opts.audio_in = Some(audio_tx);
    let (handle, mut rx) = feed::spawn(opts).unwrap();
    let (mut conn, _) = server.connect("s-1").await;
    expect_connected(&mut rx).await;
    assert!(handle.is_online());

    // Downstream: more frames than the audio queue holds; extra ones are
    // dropped and the feed goes on (the notice still arrives).
    for n in 0..5u8 {
        conn.send_binary(vec![1, n]).await;
    }
    conn.send(notice("after audio")).await;
    assert!(matches!(
        next(&mut rx).await,
        FeedEvent::Message(ServerMessage::Notice(_))
    ));
    assert_eq!(audio_rx.recv().await.unwrap(), [1, 0]);
    assert_eq!(audio_rx.recv().await.unwrap(), [1, 1]);
    assert!(
        audio_rx.try_recv().is_err(),
        "frames beyond the queue are dropped"
    );

    // Upstream.
    handle.send_audio(vec![9, 9, 9]);
    match conn.recv().await {
        Message::Binary(bytes) => assert_eq!(bytes.as_ref(), [9, 9, 9]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn shutdown_closes_the_connection_and_ends_the_events() {
    let server = FakeServer::start().await;
    let (handle, mut rx) = feed::spawn(options(&server.url)).unwrap();
    let (mut conn, _) = server.connect("s-1").await;
    expect_connected(&mut rx).await;
    handle.shutdown();
    assert!(conn.closed_by_console().await);
    loop {
        match tokio::time::timeout(PATIENCE, rx.recv()).await.unwrap() {
            None => break,
            Some(FeedEvent::Rtt(_)) => {}
            Some(other) => panic!("{other:?}"),
        }
    }
    assert!(!handle.is_online());
}

#[tokio::test]
async fn bad_urls_are_refused_before_any_socket_is_opened() {
    // 192.0.2.0/24 is reserved for documentation: never reachable, and never
    // tried, since spawn refuses before connecting.
    let err = feed::spawn(options("ws://192.0.2.1:9000/v1/supervisor")).unwrap_err();
    assert!(
        matches!(err, FeedError::InsecureRemote(ref host) if host == "192.0.2.1"),
        "{err}"
    );
    let err = feed::spawn(options("http://127.0.0.1:9000/v1/supervisor")).unwrap_err();
    assert_eq!(err, FeedError::UnsupportedScheme("http".into()));
    let err = feed::spawn(options("ws://127.0.0.1:notaport")).unwrap_err();
    assert!(matches!(err, FeedError::InvalidUrl { .. }), "{err}");
    let mut opts = options("ws://127.0.0.1:9000/v1/supervisor");
    opts.token = floorwalk_console::config::Secret::new("bad\ntoken");
    assert_eq!(feed::spawn(opts).unwrap_err(), FeedError::BadToken);
}

#[test]
fn spawning_outside_a_runtime_is_an_error_not_a_panic() {
    let err = feed::spawn(options("ws://127.0.0.1:9/v1/supervisor")).unwrap_err();
    assert_eq!(err, FeedError::NoRuntime);
}

#[test]
fn the_token_is_not_in_debug_output() {
    let text = format!("{:?}", options("ws://127.0.0.1:9/v1/supervisor"));
    assert!(!text.contains(TOKEN), "{text}");
    assert!(text.contains("Secret(***)"), "{text}");
}
