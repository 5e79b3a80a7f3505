//! Hostile consoles against the simulator, over loopback: readers that never
//! read, floods, garbage, oversized and broken frames, half-open sockets and
//! crowds of connections. Whatever they do, a well-behaved console on the
//! same simulator keeps getting its events and its replies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/sim_client.rs"]
mod sim_client;

use floorwalk_protocol::{
    ErrorCode, LegLeftReason, MAX_BINARY_FRAME, PATH, SUBPROTOCOL, ServerMessage,
};
use floorwalk_server::ServerHandle;
use floorwalk_sim::SimOptions;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use sim_client::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message};

/// Proves the simulator still serves a well-behaved console: three rounds
/// of join and leave, each reply within [`PATIENCE`], then a state event of
/// the world's own (not one this console caused).
async fn still_served(good: &mut Client) {
    for _ in 0..3 {
        let call = good.a_call();
        let reply = good
            .command(json!({"type": "monitor", "call_id": call, "mode": "silent"}))
            .await;
        assert!(reply.ok, "monitor refused: {reply:?}");
        let leg_id = reply.result.unwrap()["leg_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(good.floor.calls[&call].leg(&leg_id).is_some());
        let reply = good
            .command(json!({"type": "disconnect", "leg_id": leg_id}))
            .await;
        assert!(reply.ok, "disconnect refused: {reply:?}");
    }
    let events = good.events.len();
    good.until(|m| m.is_state_event()).await;
    assert!(good.events.len() > events);
}

/// An upgraded socket with a tiny receive buffer.
async fn narrow_socket(sim: &ServerHandle, token: &str) -> Ws {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(1024).unwrap();
    let stream = socket.connect(sim.addr).await.unwrap();
    let mut request = format!("ws://{}{PATH}", sim.addr)
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("Authorization", format!("Bearer {token}").parse().unwrap());
    headers.insert("Sec-WebSocket-Protocol", SUBPROTOCOL.parse().unwrap());
    let (ws, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
        .await
        .unwrap();
    ws
}

/// Sends until a write stalls (the simulator stopped taking our frames).
async fn send_until_stalled(ws: &mut Ws, messages: impl IntoIterator<Item = serde_json::Value>) {
    for message in messages {
        let send = ws.send(Message::text(message.to_string()));
        if !matches!(tokio::time::timeout(STALL, send).await, Ok(Ok(()))) {
            break;
        }
    }
}

fn subscribes(n: usize) -> impl Iterator<Item = serde_json::Value> {
    std::iter::repeat_n(
        json!({"type": "subscribe", "session": null, "last_seq": null}),
        n,
    )
}

/// A console whose socket takes almost nothing and that never reads. It
/// asks for all it can get (snapshots, commands) and lets the simulator's
/// writes pile up.
async fn slow_reader(sim: &ServerHandle, token: &str) -> Ws {
    let mut ws = narrow_socket(sim, token).await;
    let commands = (0..50).map(|n| {
        json!({"type": "monitor", "req": format!("s-{n}"), "call_id": "c-nope", "mode": "barge"})
    });
    send_until_stalled(&mut ws, subscribes(5).chain(commands)).await;
    ws
}

/// How long a write may wait before the peer counts as not reading.
const STALL: Duration = Duration::from_secs(1);

/// Reads what waited for a slow reader: true once `bytes` of text came.
async fn backlog_of(ws: &mut Ws, bytes: usize) -> bool {
    let mut read = 0;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Message::Text(text) = frame {
            read += text.len();
            if read >= bytes {
                return true;
            }
        }
    }
    false
}

fn busy_floor() -> SimOptions {
    SimOptions {
        agents: 2000,
        ..quiet_options()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consoles_that_never_read_do_not_hold_up_the_others() {
    let sim = start(busy_floor()).await;
    let mut readers = Vec::new();
    for token in [DANA, AMARA, DANA] {
        readers.push(slow_reader(&sim, token).await);
    }
    // The same supervisor as one of the slow readers, on the same stream.
    let mut good = Client::subscribed(&sim, DANA).await;
    still_served(&mut good).await;
    // And a console that arrives now is served from the start.
    let mut late = Client::subscribed(&sim, AMARA).await;
    still_served(&mut late).await;

    // The slow readers really were held up: megabytes waited for them.
    for reader in &mut readers {
        assert!(
            backlog_of(reader, 1 << 20).await,
            "a slow reader had no backlog"
        );
    }
    sim.shutdown().await;
}

/// A console that stops reading (and so answering pings) with megabytes on
/// their way to it is as gone as a silent one: its supervisor's legs go at
/// the end of the lease, however full its socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_that_stops_reading_loses_its_legs_at_the_lease() {
    let sim = start(SimOptions {
        lease_ms: 1000,
        heartbeat_ms: 200,
        ..busy_floor()
    })
    .await;
    let mut watcher = Client::subscribed(&sim, AMARA).await;
    // Jorge's only console joins a call, then stops reading while asking
    // for snapshot after snapshot.
    let mut jorge = narrow_socket(&sim, JORGE).await;
    send_until_stalled(&mut jorge, subscribes(1)).await;
    let call = loop {
        if let ServerMessage::Snapshot(snapshot) = read(&mut jorge).await {
            break snapshot.calls[0].id.clone();
        }
    };
    let monitor = json!({"type": "monitor", "req": "j-1", "call_id": call, "mode": "whisper"});
    send_until_stalled(&mut jorge, [monitor]).await;
    let leg_id = loop {
        if let ServerMessage::Reply(reply) = read(&mut jorge).await {
            break reply.outcome().unwrap()["leg_id"]
                .as_str()
                .unwrap()
                .to_string();
        }
    };
    send_until_stalled(&mut jorge, subscribes(4)).await;
    let left = watcher
        .until(|m| matches!(m, ServerMessage::LegLeft(l) if l.leg_id == leg_id))
        .await;
    let ServerMessage::LegLeft(left) = left else {
        unreachable!()
    };
    assert_eq!(left.reason, LegLeftReason::LeaseExpired);
    drop(jorge);
    sim.shutdown().await;
}

/// A text frame whose payload is not UTF-8, which no JSON can be.
fn invalid_utf8_text() -> Message {
    Message::Frame(Frame::message(
        vec![b'{', 0xff, 0xfe, b'}'],
        OpCode::Data(Data::Text),
        true,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_garbage_and_oversized_frames_from_others_do_not_disturb_a_console() {
    let sim = start(quiet_options()).await;
    let mut good = Client::subscribed(&sim, DANA).await;

    // A flood of commands: every one answered, the excess rate_limited, and
    // the flooder still connected afterwards.
    let flooder = async {
        let mut flooder = Client::subscribed(&sim, DANA).await;
        let count = 300;
        for n in 0..count {
            flooder
                .send(json!({"type": "set_mode", "req": format!("f-{n}"), "leg_id": "l-x", "mode": "barge"}))
                .await;
        }
        let mut limited = 0;
        let mut replies = 0;
        while replies < count {
            if let ServerMessage::Reply(reply) = flooder.next().await {
                replies += 1;
                if reply
                    .outcome()
                    .is_err_and(|e| e.code == ErrorCode::RateLimited)
                {
                    limited += 1;
                }
            }
        }
        assert!(
            limited > 0,
            "a flood of {count} commands was not rate-limited"
        );
        flooder
    };

    // Garbage of every kind on one connection: answered `invalid` where it
    // names a request, ignored otherwise, never fatal.
    let garbage = async {
        let mut client = Client::subscribed(&sim, AMARA).await;
        let texts = [
            "",
            "null",
            "{",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            r#"{"type": 7, "req": "g-0"}"#,
            r#"{"type": "monitor", "req": "g-1", "call_id": {"$gt": ""}, "mode": "silent"}"#,
            r#"{"type": "subscribe", "session": "s-0", "last_seq": 18446744073709551615}"#,
            r#"{"type": "subscribe", "session": 5, "last_seq": -1}"#,
            r#"{"type": "end_call", "req": "g-2", "call_id": "c-1", "confirm": "c-1", "confirm": "c-2"}"#,
            "\u{0}\u{1b}[2J",
        ];
        for text in texts {
            client.ws.send(Message::text(text)).await.unwrap();
        }
        let deep = format!(
            "{{\"type\":\"monitor\",\"req\":\"g-3\",\"x\":{}",
            "[".repeat(100_000)
        );
        client.ws.send(Message::text(deep)).await.unwrap();
        for bytes in [
            vec![],
            vec![0u8; 3],
            vec![1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xfc],
        ] {
            client.ws.send(Message::binary(bytes)).await.unwrap();
        }
        let reply = client.reply_to("g-0").await;
        assert_eq!(reply.outcome().unwrap_err().code, ErrorCode::Invalid);
        let reply = client.reply_to("g-1").await;
        assert_eq!(reply.outcome().unwrap_err().code, ErrorCode::Invalid);
        // Still a working console.
        let reply = client
            .command(json!({"type": "disconnect", "leg_id": "l-nope"}))
            .await;
        assert_eq!(reply.outcome().unwrap_err().code, ErrorCode::NotFound);
        client
    };

    // Frames that end a connection: too big (1009), or not UTF-8 in a text
    // frame (tungstenite's own close). Only that connection ends.
    let fatal = async {
        let mut big = Client::subscribed(&sim, DANA).await;
        big.ws
            .send(Message::binary(vec![1u8; MAX_BINARY_FRAME + 1]))
            .await
            .unwrap();
        let close = close_frame(&mut big.ws).await.expect("a close frame");
        assert_eq!(u16::from(close.code), 1009);

        let mut broken = Client::subscribed(&sim, DANA).await;
        broken.ws.send(invalid_utf8_text()).await.unwrap();
        let closed = tokio::time::timeout(PATIENCE, async {
            loop {
                match broken.ws.next().await {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a text frame that is not UTF-8 was taken");
    };

    let (mut flooder, mut garbage, ()) = tokio::join!(flooder, garbage, fatal);
    still_served(&mut good).await;
    // The misbehaving consoles that were not closed are still served too.
    let reply = flooder
        .command(json!({"type": "disconnect", "leg_id": "l-nope"}))
        .await;
    assert!(matches!(
        reply.outcome().unwrap_err().code,
        ErrorCode::NotFound | ErrorCode::RateLimited
    ));
    garbage.pump(Duration::from_millis(100)).await;
    sim.shutdown().await;
}

/// Connects and sends `bytes` raw, then keeps the socket open.
async fn raw(sim: &ServerHandle, bytes: &[u8]) -> TcpStream {
    let mut tcp = TcpStream::connect(sim.addr).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    tcp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_sockets_and_crowds_of_connections_leave_room_for_a_console() {
    let sim = start(quiet_options()).await;
    let host = sim.addr.to_string();
    let upgrade = |token: &str| {
        format!(
            "GET {PATH} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Authorization: Bearer {token}\r\n\r\n"
        )
    };
    let mut held = Vec::new();
    // Sockets that say nothing at all.
    for _ in 0..100 {
        held.push(raw(&sim, b"").await);
    }
    // Upgrades cut off half way, some then abandoned outright.
    let full = upgrade(DANA);
    for n in 0..60 {
        let cut = full.len() * n / 60;
        let tcp = raw(&sim, &full.as_bytes()[..cut]).await;
        if n % 2 == 0 {
            held.push(tcp);
        }
    }
    // HTTP that is not an upgrade, and upgrades with a bad token.
    for request in [
        "GET / HTTP/1.1\r\n\r\n".to_owned(),
        "POST /v1/supervisor HTTP/1.1\r\nContent-Length: 99999999\r\n\r\nxx".to_owned(),
        "\u{0}\u{1}\u{2}garbage\r\n\r\n".to_owned(),
        upgrade("demo-nobody"),
        upgrade(""),
    ] {
        let mut tcp = raw(&sim, request.as_bytes()).await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut answer)).await;
    }
    // Complete upgrades that then never read, never subscribe.
    let mut mute = Vec::new();
    for _ in 0..30 {
        let (ws, _) = upgrade_as(&sim, AMARA).await;
        mute.push(ws);
    }
    // And a churn of consoles that connect and vanish, politely or not.
    let churn = (0..40).map(|n| {
        let sim = &sim;
        async move {
            let client = Client::subscribed(sim, if n % 2 == 0 { DANA } else { JORGE }).await;
            if n % 3 == 0 {
                client.close().await;
            } else {
                drop(client);
            }
        }
    });
    futures_util::future::join_all(churn).await;

    // Through all of that, a console connects and is served.
    let mut good = Client::subscribed(&sim, DANA).await;
    still_served(&mut good).await;
    assert!(!held.is_empty() && !mute.is_empty());
    sim.shutdown().await;
}

async fn upgrade_as(
    sim: &ServerHandle,
    token: &str,
) -> (Ws, tungstenite::handshake::client::Response) {
    upgrade(sim, Some(token), PATH).await.unwrap()
}
