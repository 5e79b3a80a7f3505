//! A small scripted protocol-v1 server on loopback for the feed tests, and
//! helpers to read the feed's events. Each test drives the server by hand:
//! accept a connection (or refuse it), say hello, send events, read what the
//! console sent, drop the connection, fall silent.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// tungstenite fixes the callback's error type.
#![allow(clippy::result_large_err)]

use floorwalk_console::config::Secret;
use floorwalk_console::feed::{FeedEvent, FeedOptions};
use floorwalk_protocol::{ClientMessage, Mode, Parsed};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use http::HeaderMap;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

/// How long a test waits for something that should happen before failing.
pub const PATIENCE: Duration = Duration::from_secs(5);
pub const TOKEN: &str = "tok-7f3a9c-supervisor";

pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// How the server answers the next upgrade.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Accept,
    /// Upgrade, but without naming the `floorwalk.v1` subprotocol.
    WithoutSubprotocol,
    /// Refuse the upgrade with this HTTP status.
    Refuse(u16),
}

pub struct FakeServer {
    listener: TcpListener,
    pub url: String,
}

impl FakeServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        Self {
            listener,
            url: format!("ws://{addr}/v1/supervisor"),
        }
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
    }

    /// The next TCP connection, or `None` if none comes within `wait`.
    pub async fn tcp_within(&self, wait: Duration) -> Option<tokio::net::TcpStream> {
        match tokio::time::timeout(wait, self.listener.accept()).await {
            Ok(accepted) => Some(accepted.unwrap().0),
            Err(_) => None,
        }
    }

    /// Accepts the next connection and answers its upgrade: the request
    /// headers, and the connection when upgraded.
    pub async fn accept(&self, answer: Answer) -> (HeaderMap, Option<Conn>) {
        let tcp = self
            .tcp_within(PATIENCE)
            .await
            .expect("the console did not connect");
        handshake(Box::new(tcp), answer).await
    }

    /// Accepts, upgrades, says hello and reads the subscribe.
    pub async fn connect(&self, session: &str) -> (Conn, (Option<String>, Option<u64>)) {
        let (_, conn) = self.accept(Answer::Accept).await;
        let mut conn = conn.expect("the upgrade failed");
        conn.hello(session, 5000).await;
        let subscribe = conn.expect_subscribe().await;
        (conn, subscribe)
    }
}

/// Answers a WebSocket upgrade on any stream (plain or TLS).
pub async fn handshake(stream: Box<dyn Io>, answer: Answer) -> (HeaderMap, Option<Conn>) {
    let seen = Arc::new(Mutex::new(HeaderMap::new()));
    let seen_in_callback = seen.clone();
    let callback =
        move |request: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
            *seen_in_callback.lock().unwrap() = request.headers().clone();
            match answer {
                Answer::Accept => {
                    response.headers_mut().insert(
                        "sec-websocket-protocol",
                        floorwalk_protocol::SUBPROTOCOL.parse().unwrap(),
                    );
                    Ok(response)
                }
                Answer::WithoutSubprotocol => Ok(response),
                Answer::Refuse(status) => Err(http::Response::builder()
                    .status(status)
                    .body(Some("refused".to_owned()))
                    .unwrap()),
            }
        };
    let upgraded = tokio_tungstenite::accept_hdr_async(stream, callback).await;
    let headers = seen.lock().unwrap().clone();
    (headers, upgraded.ok().map(Conn::new))
}

/// One accepted console connection. A reader task keeps reading (which also
/// answers the console's pings) until [`Conn::go_silent`].
pub struct Conn {
    sink: SplitSink<WebSocketStream<Box<dyn Io>>, Message>,
    inbox: mpsc::UnboundedReceiver<Message>,
    reader: JoinHandle<()>,
}

impl Conn {
    fn new(socket: WebSocketStream<Box<dyn Io>>) -> Self {
        let (sink, mut stream) = socket.split();
        let (tx, inbox) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        Self {
            sink,
            inbox,
            reader,
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.sink.send(Message::text(text)).await.unwrap();
    }

    pub async fn send(&mut self, value: Value) {
        self.send_text(&value.to_string()).await;
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.sink.send(Message::Binary(bytes.into())).await.unwrap();
    }

    pub async fn hello(&mut self, session: &str, heartbeat_ms: u64) {
        self.send(hello(session, heartbeat_ms)).await;
    }

    /// The next text or binary frame from the console (pings and pongs skipped).
    pub async fn recv(&mut self) -> Message {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.inbox.recv())
                .await
                .expect("the console sent nothing")
                .expect("the connection closed");
            if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
                return message;
            }
        }
    }

    pub async fn recv_client(&mut self) -> ClientMessage {
        match self.recv().await {
            Message::Text(text) => match floorwalk_protocol::parse_client(text.as_str()).unwrap() {
                Parsed::Known(message) => message,
                Parsed::Unknown { kind } => panic!("the console sent an unknown type {kind}"),
            },
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    pub async fn expect_subscribe(&mut self) -> (Option<String>, Option<u64>) {
        match self.recv_client().await {
            ClientMessage::Subscribe { session, last_seq } => (session, last_seq),
            other => panic!("expected subscribe, got {other:?}"),
        }
    }

    /// Whether the console closed the connection (close frame or EOF).
    pub async fn closed_by_console(&mut self) -> bool {
        loop {
            match tokio::time::timeout(PATIENCE, self.inbox.recv()).await {
                Ok(None) | Ok(Some(Message::Close(_))) => return true,
                Ok(Some(_)) => continue,
                Err(_) => return false,
            }
        }
    }

    /// Stops reading (so pings go unanswered) and writing; keeps TCP open.
    pub fn go_silent(&mut self) {
        self.reader.abort();
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

pub fn hello(session: &str, heartbeat_ms: u64) -> Value {
    json!({
        "type": "hello", "protocol": 1, "server": "fake/0", "session": session,
        "now": "2026-11-21T09:14:03.250Z", "heartbeat_ms": heartbeat_ms, "lease_ms": 15000,
        "supervisor": {"id": "sup-1", "name": "Dana Ruiz", "teams": ["billing"], "can_end_calls": true}
    })
}

pub fn snapshot(seq: u64) -> Value {
    json!({"type": "snapshot", "seq": seq, "agents": [agent("a-1")], "calls": [], "queues": []})
}

/// A snapshot with one call, c-1, of agent a-1 (Alex Kim): its customer on
/// `customer_track`, its agent on `agent_track`.
pub fn call_snapshot(customer_track: u32, agent_track: u32) -> Value {
    json!({
        "type": "snapshot", "seq": 1,
        "agents": [{"id": "a-1", "name": "Alex Kim", "team": "billing", "state": "on_call",
                    "state_since": "2026-11-21T09:10:00.000Z", "call_id": "c-1"}],
        "calls": [{"id": "c-1", "agent_id": "a-1", "queue": null, "direction": "inbound",
                   "customer": "+1 555 201 0134", "started_at": "2026-11-21T09:10:00.000Z",
                   "recording": true, "on_hold": false,
                   "legs": [leg("l-c", "customer", None, None, customer_track),
                            leg("l-a", "agent", Some("a-1"), None, agent_track)]}],
        "queues": []
    })
}

/// A leg of a call, named after its id, joined at 09:10.
pub fn leg(id: &str, role: &str, user: Option<&str>, mode: Option<&str>, track: u32) -> Value {
    json!({"id": id, "role": role, "user_id": user, "name": id, "mode": mode,
           "track": track, "joined_at": "2026-11-21T09:10:00.000Z"})
}

/// Answers the console's next message, a join, with my leg l-31 on `track`:
/// the reply, then the server's `leg_joined` (after [`call_snapshot`]).
/// Returns the call and the mode the join asked for.
pub async fn accept_join(conn: &mut Conn, track: u32) -> (String, Mode) {
    let (req, call_id, mode) = match conn.recv_client().await {
        ClientMessage::Monitor {
            req, call_id, mode, ..
        } => (req, call_id, mode),
        other => panic!("expected monitor, got {other:?}"),
    };
    conn.send(json!({"type": "reply", "req": req, "ok": true,
                     "result": {"leg_id": "l-31", "track": track}}))
        .await;
    let mut mine = leg("l-31", "supervisor", Some("sup-1"), None, track);
    mine["mode"] = json!(mode);
    conn.send(json!({"type": "leg_joined", "seq": 2, "call_id": call_id, "leg": mine}))
        .await;
    (call_id, mode)
}

pub fn agent(id: &str) -> Value {
    json!({"id": id, "name": "Alex Kim", "team": "billing", "state": "available",
           "state_since": "2026-11-21T09:00:00.000Z", "call_id": null})
}

/// A state event with `seq`.
pub fn event(seq: u64) -> Value {
    json!({"type": "agent", "seq": seq, "agent": agent("a-1")})
}

pub fn notice(text: &str) -> Value {
    json!({"type": "notice", "level": "info", "text": text})
}

pub fn options(url: &str) -> FeedOptions {
    FeedOptions {
        url: url.to_owned(),
        token: Secret::new(TOKEN),
        ca_file: None,
        allow_insecure_remote: false,
        command_timeout: Duration::from_secs(2),
        audio_in: None,
        audio_gate: None,
    }
}

/// The next event other than a round-trip measurement (those come every
/// couple of seconds whenever the server answers pings).
pub async fn next(rx: &mut mpsc::Receiver<FeedEvent>) -> FeedEvent {
    loop {
        let event = next_raw(rx).await;
        if !matches!(event, FeedEvent::Rtt(_)) {
            return event;
        }
    }
}

pub async fn next_raw(rx: &mut mpsc::Receiver<FeedEvent>) -> FeedEvent {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("no feed event in time")
        .expect("the feed stopped")
}

/// The `seq` of a forwarded message, or a panic naming what came instead.
pub async fn next_seq(rx: &mut mpsc::Receiver<FeedEvent>) -> u64 {
    match next(rx).await {
        FeedEvent::Message(message) => message.seq().expect("a message without seq"),
        other => panic!("expected a state message, got {other:?}"),
    }
}

pub async fn expect_connected(rx: &mut mpsc::Receiver<FeedEvent>) -> bool {
    loop {
        match next(rx).await {
            FeedEvent::Connecting { .. } => continue,
            FeedEvent::Connected { resumed, .. } => return resumed,
            other => panic!("expected Connected, got {other:?}"),
        }
    }
}
