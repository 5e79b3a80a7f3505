//! A small protocol-v1 test client for the simulator tests: it connects over
//! a real loopback WebSocket, keeps a `Floor` from the events it reads, and
//! fails loudly on a `seq` gap. Binary (audio) frames it reads are kept in
//! `audio`, in order, each with the number of text messages read before it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use floorwalk_protocol::{
    Hello, PATH, Parsed, Reply, SUBPROTOCOL, ServerMessage, Snapshot, parse_server,
};
use floorwalk_server::ServerHandle;
use floorwalk_sim::SimOptions;
use floorwalk_state::{Applied, Floor};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any single wait may take before the test fails (a hang guard,
/// not a speed check).
pub const PATIENCE: Duration = Duration::from_secs(10);

pub const DANA: &str = "demo-dana";
pub const JORGE: &str = "demo-jorge";
pub const AMARA: &str = "demo-amara";

/// Options for tests: calls never end on their own during a test.
pub fn quiet_options() -> SimOptions {
    SimOptions {
        min_call_secs: 3600,
        ..SimOptions::default()
    }
}

pub async fn start(opts: SimOptions) -> ServerHandle {
    floorwalk_sim::start(opts).await.unwrap()
}

/// The raw upgrade: a token (or none), a path, the subprotocol offered.
pub async fn upgrade(
    sim: &ServerHandle,
    token: Option<&str>,
    path: &str,
) -> Result<(Ws, tungstenite::handshake::client::Response), tungstenite::Error> {
    upgrade_at(sim.addr, token, path).await
}

/// The raw upgrade to a server at `addr` (a simulator in another process).
pub async fn upgrade_at(
    addr: std::net::SocketAddr,
    token: Option<&str>,
    path: &str,
) -> Result<(Ws, tungstenite::handshake::client::Response), tungstenite::Error> {
    let url = format!("ws://{addr}{path}");
    let mut request = url.into_client_request().unwrap();
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", SUBPROTOCOL.parse().unwrap());
    tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(request))
        .await
        .expect("upgrade timed out")
}

pub struct Client {
    pub ws: Ws,
    pub hello: Hello,
    pub floor: Floor,
    /// Every state event applied since the last snapshot, in order.
    pub events: Vec<ServerMessage>,
    /// Every audio frame read.
    pub audio: Vec<Heard>,
    /// How many text messages were read (after `hello`).
    pub texts: usize,
    next_req: u64,
}

/// An audio frame as read.
pub struct Heard {
    /// How many text messages came before it.
    pub after: usize,
    /// When it was read.
    pub at: Instant,
    pub bytes: Vec<u8>,
}

impl Client {
    /// Connects and reads `hello`.
    pub async fn connect(sim: &ServerHandle, token: &str) -> Client {
        Client::connect_at(sim.addr, token).await
    }

    pub async fn connect_at(addr: std::net::SocketAddr, token: &str) -> Client {
        let (mut ws, _) = upgrade_at(addr, Some(token), PATH).await.unwrap();
        let hello = match read(&mut ws).await {
            ServerMessage::Hello(hello) => hello,
            other => panic!("expected hello, got {other:?}"),
        };
        Client {
            ws,
            hello,
            floor: Floor::default(),
            events: Vec::new(),
            audio: Vec::new(),
            texts: 0,
            next_req: 1,
        }
    }

    /// Connects, subscribes fresh, and applies the snapshot.
    pub async fn subscribed(sim: &ServerHandle, token: &str) -> Client {
        Client::subscribed_at(sim.addr, token).await
    }

    pub async fn subscribed_at(addr: std::net::SocketAddr, token: &str) -> Client {
        let mut client = Client::connect_at(addr, token).await;
        client.subscribe(None, None).await;
        match client.next().await {
            ServerMessage::Snapshot(_) => {}
            other => panic!("expected a snapshot, got {other:?}"),
        }
        client
    }

    pub async fn send(&mut self, value: Value) {
        self.ws
            .send(Message::Text(value.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn subscribe(&mut self, session: Option<&str>, last_seq: Option<u64>) {
        self.send(json!({"type": "subscribe", "session": session, "last_seq": last_seq}))
            .await;
    }

    /// The next message; snapshots and events are applied to `floor`,
    /// audio frames on the way are kept.
    pub async fn next(&mut self) -> ServerMessage {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("no message in time")
                .expect("connection ended")
                .expect("read failed");
            if let Some(message) = self.take(frame) {
                return message;
            }
        }
    }

    /// Keeps an audio frame, or reads a text frame and applies it.
    fn take(&mut self, frame: Message) -> Option<ServerMessage> {
        match frame {
            Message::Text(text) => {
                let message = parse(&text);
                self.texts += 1;
                self.absorb(&message);
                Some(message)
            }
            Message::Binary(bytes) => {
                self.audio.push(Heard {
                    after: self.texts,
                    at: Instant::now(),
                    bytes: bytes.to_vec(),
                });
                None
            }
            Message::Close(close) => panic!("closed by the server: {close:?}"),
            _ => None,
        }
    }

    /// Sends a binary (audio) frame.
    pub async fn send_audio(&mut self, frame: Vec<u8>) {
        self.ws.send(Message::Binary(frame.into())).await.unwrap();
    }

    /// Applies a snapshot or an event, failing on a gap or a duplicate.
    fn absorb(&mut self, message: &ServerMessage) {
        match message {
            ServerMessage::Snapshot(_) => {
                self.events.clear();
                self.floor.apply(message.clone());
            }
            m if m.is_state_event() => match self.floor.apply(message.clone()) {
                Applied::Changed(_) => self.events.push(message.clone()),
                other => panic!("event {:?} not applied: {other:?}", message.seq()),
            },
            _ => {}
        }
    }

    /// Reads until a message matches, returning it.
    pub async fn until(&mut self, mut wanted: impl FnMut(&ServerMessage) -> bool) -> ServerMessage {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the awaited message never came"
            );
            let message = self.next().await;
            if wanted(&message) {
                return message;
            }
        }
    }

    /// Sends a command (a `req` is added) and reads until its reply.
    pub async fn command(&mut self, mut command: Value) -> Reply {
        let req = format!("r-{}", self.next_req);
        self.next_req += 1;
        command["req"] = json!(req);
        self.send(command).await;
        self.reply_to(&req).await
    }

    pub async fn reply_to(&mut self, req: &str) -> Reply {
        match self
            .until(|m| matches!(m, ServerMessage::Reply(r) if r.req == req))
            .await
        {
            ServerMessage::Reply(reply) => reply,
            _ => unreachable!(),
        }
    }

    /// Keeps reading (and so answering pings) for a while.
    pub async fn pump(&mut self, time: Duration) {
        self.pump_until(tokio::time::Instant::now() + time).await;
    }

    pub async fn pump_until(&mut self, until: tokio::time::Instant) {
        while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(until, self.ws.next()).await {
            if !frame.is_close() {
                self.take(frame);
            }
        }
    }

    /// Closes the socket politely.
    pub async fn close(mut self) {
        self.ws.close(None).await.ok();
        while let Ok(Some(Ok(_))) = tokio::time::timeout(PATIENCE, self.ws.next()).await {}
    }

    /// A live call of this supervisor's floor, preferring the oldest.
    pub fn a_call(&self) -> String {
        let mut calls: Vec<&String> = self.floor.calls.keys().collect();
        calls.sort_by_key(|id| (id.len(), *id));
        calls
            .first()
            .expect("no live call on the floor")
            .to_string()
    }
}

/// Reads the next text frame as a server message, skipping control frames.
pub async fn read(ws: &mut Ws) -> ServerMessage {
    loop {
        let frame = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("no message in time")
            .expect("connection ended")
            .expect("read failed");
        match frame {
            Message::Text(text) => return parse(&text),
            Message::Close(close) => panic!("closed by the server: {close:?}"),
            _ => {}
        }
    }
}

pub fn parse(text: &str) -> ServerMessage {
    match parse_server(text) {
        Ok(Parsed::Known(message)) => message,
        other => panic!("unreadable message {text}: {other:?}"),
    }
}

/// Reads until the server closes; returns its close frame.
pub async fn close_frame(ws: &mut Ws) -> Option<CloseFrame> {
    loop {
        match tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("no close in time")
        {
            Some(Ok(Message::Close(frame))) => return frame,
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("connection failed before a close frame: {e}"),
            None => return None,
        }
    }
}

/// The whole floor of the simulator.
pub async fn world(sim: &ServerHandle) -> Snapshot {
    sim.floor_snapshot().await.unwrap()
}
