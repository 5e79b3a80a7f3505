//! Sockets: the accept loop, the upgrade check, and one task per console.
//!
//! With TLS, each connection's task first does the TLS handshake (so a
//! client that fails it, or never finishes it, holds up nobody else).
//!
//! The upgrade is refused before it happens: another path gets HTTP 404, a
//! missing or unknown bearer token HTTP 401. The `floorwalk.v1` subprotocol
//! is answered when offered. A connection task then reads frames (checking
//! the size limits, rate-limiting commands, answering malformed ones with
//! `invalid`), forwards subscribes and commands to the hub, writes what the
//! hub sends, pings every `heartbeat_ms`, and gives up on a console that has
//! been silent for `lease_ms`.
//!
//! Upstream audio frames are checked against the limits and the frame format
//! and handed to the hub, whose media engine routes them; when the hub is
//! busy they are dropped rather than held (audio is only worth it live).

use crate::accounts::Account;
use crate::hub::{ConnId, OUTBOX, Outgoing, Registration, Request};
use crate::limits::TokenBucket;
use floorwalk_protocol::{
    AudioFrame, CLOSE_TOO_BIG, ClientMessage, ErrorCode, MAX_BINARY_FRAME, MAX_TEXT_FRAME, Notice,
    NoticeLevel, PATH, ParseError, Parsed, Reply, SUBPROTOCOL, ServerMessage, parse_client,
    to_text,
};
use futures_util::{SinkExt, StreamExt};
use http::{HeaderValue, StatusCode, header};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request as HttpRequest, Response,
};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

/// A console that has not finished its handshakes (TLS and WebSocket) by
/// then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Commands: a burst of this many, then `COMMANDS_PER_SEC`.
const COMMAND_BURST: u32 = 20;
const COMMANDS_PER_SEC: f64 = 10.0;
/// Subscribes each cost a snapshot or a replay, so they are scarcer.
const SUBSCRIBE_BURST: u32 = 5;
const SUBSCRIBES_PER_SEC: f64 = 1.0;
/// How long a closing connection may take to drain what the console still
/// sends, at most; it stops earlier once the console goes quiet for
/// `CLOSE_QUIET` (its answer to our close frame is the last thing it sends).
const CLOSE_GRACE: Duration = Duration::from_secs(2);
const CLOSE_QUIET: Duration = Duration::from_millis(150);

/// What every connection task needs.
pub struct Context {
    /// `None`: plain `ws://` (loopback only).
    pub tls: Option<TlsAcceptor>,
    pub accounts: Vec<Account>,
    pub hub: mpsc::Sender<Request>,
    pub heartbeat: Duration,
    pub lease: Duration,
}

/// Accepts consoles until `shutdown` fires, then lets them close.
pub async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<Context>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tasks.spawn(connection(stream, peer, Arc::clone(&ctx), shutdown.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!(%e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    let closing = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(CLOSE_GRACE + Duration::from_secs(1), closing)
        .await
        .is_err()
    {
        tasks.abort_all();
    }
}

/// The WebSocket limits of protocol v1: binary frames are checked on arrival,
/// since tungstenite has one limit for both kinds.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_TEXT_FRAME))
        .max_frame_size(Some(MAX_TEXT_FRAME))
}

/// A console's byte stream: TCP, or TLS over TCP.
trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) {
    // Best effort: small frames should not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let by = Instant::now() + HANDSHAKE_TIMEOUT;
    let Some(tls) = &ctx.tls else {
        return upgrade(stream, peer, &ctx, shutdown, by).await;
    };
    match tokio::time::timeout_at(by, tls.accept(stream)).await {
        Ok(Ok(stream)) => upgrade(stream, peer, &ctx, shutdown, by).await,
        // A plain ws:// console, a scanner, an untrusting client: its
        // problem, said once in the log.
        Ok(Err(e)) => tracing::info!(%peer, %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}

/// The WebSocket upgrade (by `by`), then the console's session.
async fn upgrade<S: Transport>(
    stream: S,
    peer: SocketAddr,
    ctx: &Context,
    shutdown: watch::Receiver<bool>,
    by: Instant,
) {
    let mut who = None;
    // The error type is tungstenite's callback contract.
    #[allow(clippy::result_large_err)]
    let check = |request: &HttpRequest, response: Response| {
        let (response, account) =
            check_upgrade(&ctx.accounts, request, response).map_err(Refusal::into_response)?;
        who = Some(account.clone());
        Ok(response)
    };
    let handshake =
        tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(ws_config()));
    let ws = match tokio::time::timeout_at(by, handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            tracing::debug!(%peer, %e, "upgrade refused or failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "handshake timed out");
            return;
        }
    };
    let Some(account) = who else {
        return;
    };
    tracing::info!(%peer, supervisor = %account.id, "console connected");
    Session::open(ws, account, ctx, shutdown).await;
}

/// Checks an upgrade request: the path, then the bearer token. On success
/// answers the subprotocol and names the account.
pub fn check_upgrade<'a>(
    accounts: &'a [Account],
    request: &HttpRequest,
    mut response: Response,
) -> Result<(Response, &'a Account), Refusal> {
    if request.uri().path() != PATH {
        return Err(Refusal::NotFound);
    }
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let Some(token) = token else {
        return Err(Refusal::NoToken);
    };
    let Some(account) = accounts.iter().find(|a| same_secret(&a.token, token)) else {
        return Err(Refusal::BadToken);
    };
    let offered = request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|p| p.trim() == SUBPROTOCOL);
    if offered {
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
    }
    Ok((response, account))
}

/// Why an upgrade is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    NoToken,
    BadToken,
}

impl Refusal {
    pub fn status(self) -> StatusCode {
        match self {
            Refusal::NotFound => StatusCode::NOT_FOUND,
            Refusal::NoToken | Refusal::BadToken => StatusCode::UNAUTHORIZED,
        }
    }

    fn text(self) -> String {
        match self {
            Refusal::NotFound => format!("no such endpoint; use {PATH}"),
            Refusal::NoToken => "missing bearer token".into(),
            Refusal::BadToken => "unknown token".into(),
        }
    }

    /// The HTTP answer, sent instead of the upgrade.
    fn into_response(self) -> ErrorResponse {
        let mut response = ErrorResponse::new(Some(self.text()));
        *response.status_mut() = self.status();
        if self.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"floorwalk\""),
            );
        }
        response
    }
}

/// Compares tokens without stopping at the first difference.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// What a text frame asks for.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// A subscribe or a command for the hub.
    Message(ClientMessage),
    /// Not understood; answered with `invalid` when it names a `req`.
    Invalid { req: Option<String>, why: String },
}

/// Reads one text frame.
pub fn read_text(text: &str) -> Incoming {
    let req = || {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("req")?.as_str().map(str::to_string))
    };
    match parse_client(text) {
        Ok(Parsed::Known(message)) => Incoming::Message(message),
        Ok(Parsed::Unknown { kind }) => Incoming::Invalid {
            req: req(),
            why: format!("unknown message type {kind:?}"),
        },
        Err(e @ (ParseError::Malformed(_) | ParseError::MissingType | ParseError::TooLarge(_))) => {
            Incoming::Invalid {
                req: req(),
                why: e.to_string(),
            }
        }
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The console closed, or the socket failed.
    Peer,
    /// A frame over the protocol limits.
    TooBig,
    /// Nothing heard for `lease_ms`.
    Silent,
    /// The hub dropped the console for falling behind.
    TooSlow,
    Shutdown,
}

struct Session<'a, S> {
    ws: WebSocketStream<S>,
    ctx: &'a Context,
    conn: ConnId,
    commands: TokenBucket,
    subscribes: TokenBucket,
    /// When the console last sent anything; its lease runs from here.
    last_heard: Instant,
}

impl<'a, S: Transport> Session<'a, S> {
    async fn open(
        mut ws: WebSocketStream<S>,
        account: Account,
        ctx: &'a Context,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let (outbox, mut inbox) = mpsc::channel(OUTBOX);
        let (reply, registered) = oneshot::channel();
        let connect = Request::Connect {
            account,
            outbox,
            reply,
        };
        let registration = match ctx.hub.send(connect).await {
            Ok(()) => registered.await.ok(),
            Err(_) => None,
        };
        let Some(Registration { conn, hello }) = registration else {
            close(&mut ws, CloseCode::Away, "server shutting down").await;
            return;
        };
        if ws.send(Message::Text(hello)).await.is_err() {
            ctx.hub
                .send(Request::Gone {
                    conn,
                    last_heard: Instant::now().into_std(),
                })
                .await
                .ok();
            return;
        }
        let now = Instant::now();
        let mut session = Session {
            ws,
            ctx,
            conn,
            commands: TokenBucket::new(COMMAND_BURST, COMMANDS_PER_SEC, now.into_std()),
            subscribes: TokenBucket::new(SUBSCRIBE_BURST, SUBSCRIBES_PER_SEC, now.into_std()),
            last_heard: now,
        };
        let silence = tokio::time::sleep_until(now + ctx.lease);
        tokio::pin!(silence);
        let mut ping = tokio::time::interval_at(now + ctx.heartbeat, ctx.heartbeat);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let end = loop {
            tokio::select! {
                frame = session.ws.next() => {
                    let Some(frame) = frame else { break End::Peer };
                    session.last_heard = Instant::now();
                    silence.as_mut().reset(session.last_heard + ctx.lease);
                    match session.on_frame(frame).await {
                        Ok(()) => {}
                        Err(end) => break end,
                    }
                }
                outgoing = inbox.recv() => {
                    let Some(outgoing) = outgoing else {
                        // The hub lets go of a console that fell behind, and
                        // of everyone when it stops.
                        break if *shutdown.borrow() { End::Shutdown } else { End::TooSlow };
                    };
                    if let Err(end) = session.write(outgoing).await {
                        break end;
                    }
                }
                _ = ping.tick() => {
                    if let Err(end) = session.send(Message::Ping(Default::default())).await {
                        break end;
                    }
                }
                () = &mut silence => break End::Silent,
                _ = shutdown.changed() => break End::Shutdown,
            }
        };
        let gone = Request::Gone {
            conn,
            last_heard: session.last_heard.into_std(),
        };
        // The hub is gone only at shutdown, when leases no longer matter.
        let _ = ctx.hub.send(gone).await;
        tracing::info!(conn, ?end, "console disconnected");
        session.finish(end).await;
    }

    /// Handles one received frame; `Err` ends the connection.
    async fn on_frame(&mut self, frame: Result<Message, tungstenite::Error>) -> Result<(), End> {
        let message = match frame {
            Ok(message) => message,
            Err(tungstenite::Error::Capacity(e)) => {
                tracing::warn!(conn = self.conn, %e, "frame over the limit");
                return Err(End::TooBig);
            }
            Err(e) => {
                tracing::debug!(conn = self.conn, %e, "read failed");
                return Err(End::Peer);
            }
        };
        match message {
            Message::Text(text) => self.on_text(&text).await,
            Message::Binary(bytes) if bytes.len() > MAX_BINARY_FRAME => {
                tracing::warn!(
                    conn = self.conn,
                    len = bytes.len(),
                    "audio frame over the limit"
                );
                Err(End::TooBig)
            }
            Message::Binary(bytes) => {
                if let Err(e) = AudioFrame::decode(&bytes) {
                    tracing::debug!(conn = self.conn, %e, "bad audio frame ignored");
                    return Ok(());
                }
                let audio = Request::Audio {
                    conn: self.conn,
                    frame: bytes,
                };
                match self.ctx.hub.try_send(audio) {
                    Ok(()) => Ok(()),
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::debug!(conn = self.conn, "hub busy: upstream frame dropped");
                        Ok(())
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => Err(End::Shutdown),
                }
            }
            Message::Close(_) => Err(End::Peer),
            // tungstenite answers pings itself; any frame counts as a sign of life.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(()),
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<(), End> {
        match read_text(text) {
            Incoming::Message(message @ ClientMessage::Subscribe { .. }) => {
                if self.subscribes.take(Instant::now().into_std()) {
                    return self.forward(message).await;
                }
                let text = format!(
                    "subscribe ignored: too many subscribes; retry in {} ms",
                    self.subscribes.retry_in().as_millis()
                );
                let notice = Notice {
                    level: NoticeLevel::Warn,
                    text,
                };
                self.reply(ServerMessage::Notice(notice)).await
            }
            // Every command, understood or not, gets exactly one reply; a
            // flood gets `rate_limited` ones.
            Incoming::Message(message) => {
                let req = message.req().unwrap_or_default().to_string();
                match self.throttle(req) {
                    None => self.forward(message).await,
                    Some(limited) => self.reply(ServerMessage::Reply(limited)).await,
                }
            }
            Incoming::Invalid {
                req: Some(req),
                why,
            } => {
                tracing::debug!(conn = self.conn, %req, %why, "invalid command");
                let reply = self
                    .throttle(req.clone())
                    .unwrap_or_else(|| Reply::err(req, ErrorCode::Invalid, why));
                self.reply(ServerMessage::Reply(reply)).await
            }
            Incoming::Invalid { req: None, why } => {
                tracing::info!(conn = self.conn, %why, "ignored a text frame");
                Ok(())
            }
        }
    }

    /// Takes a command token; without one, gives the `rate_limited` reply
    /// for `req`.
    fn throttle(&mut self, req: String) -> Option<Reply> {
        if self.commands.take(Instant::now().into_std()) {
            return None;
        }
        let why = format!(
            "too many commands; retry in {} ms",
            self.commands.retry_in().as_millis()
        );
        Some(Reply::err(req, ErrorCode::RateLimited, why))
    }

    async fn forward(&mut self, message: ClientMessage) -> Result<(), End> {
        let request = Request::Client {
            conn: self.conn,
            message,
        };
        self.ctx.hub.send(request).await.map_err(|_| End::Shutdown)
    }

    async fn reply(&mut self, message: ServerMessage) -> Result<(), End> {
        let text = Utf8Bytes::from(to_text(&message));
        self.send(Message::Text(text)).await
    }

    async fn send(&mut self, message: Message) -> Result<(), End> {
        let by = self.last_heard + self.ctx.lease;
        within_lease(by, self.ws.send(message)).await
    }

    async fn write(&mut self, outgoing: Outgoing) -> Result<(), End> {
        let by = self.last_heard + self.ctx.lease;
        let ws = &mut self.ws;
        let written = async move {
            match outgoing {
                Outgoing::Text(text) => ws.send(Message::Text(text)).await,
                Outgoing::Batch(texts) => {
                    for text in texts {
                        ws.feed(Message::Text(text)).await?;
                    }
                    ws.flush().await
                }
                Outgoing::Audio(frame) => ws.send(Message::Binary(frame)).await,
            }
        };
        within_lease(by, written).await
    }

    async fn finish(mut self, end: End) {
        match end {
            End::Peer => {
                // Sends tungstenite's answer to the console's close, if any.
                let _ = tokio::time::timeout(CLOSE_GRACE, self.ws.flush()).await;
            }
            End::TooBig => {
                close(
                    &mut self.ws,
                    CloseCode::from(CLOSE_TOO_BIG),
                    "frame exceeds the protocol limit",
                )
                .await;
            }
            End::Silent => {
                close(
                    &mut self.ws,
                    CloseCode::Away,
                    "no sign of life within the lease",
                )
                .await
            }
            End::TooSlow => {
                close(
                    &mut self.ws,
                    CloseCode::Again,
                    "console fell behind; reconnect to resume",
                )
                .await;
            }
            End::Shutdown => close(&mut self.ws, CloseCode::Away, "server shutting down").await,
        }
    }
}

/// A write that must finish by the end of the lease. A console that takes
/// nothing for that long (its socket full, its reader stuck) is as gone as a
/// silent one; without the bound its connection task would wait on the
/// socket for ever, and its supervisor's legs would never be let go.
async fn within_lease(
    by: Instant,
    write: impl std::future::Future<Output = Result<(), tungstenite::Error>>,
) -> Result<(), End> {
    match tokio::time::timeout_at(by, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::Peer),
        Err(_) => Err(End::TooSlow),
    }
}

/// Sends a close frame, then reads and discards whatever the console still
/// sends (the rest of an oversized frame, its own close frame) until it
/// closes or goes quiet, so the socket is not reset under our close frame.
/// Raw bytes, not frames: after an oversized header the frame reader is
/// out of step with the stream.
async fn close<S: Transport>(ws: &mut WebSocketStream<S>, code: CloseCode, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    // A console that takes nothing would hold the close frame up for ever.
    if !matches!(
        tokio::time::timeout(CLOSE_GRACE, ws.close(Some(frame))).await,
        Ok(Ok(()))
    ) {
        return;
    }
    let deadline = Instant::now() + CLOSE_GRACE;
    let socket = ws.get_mut();
    let mut sink = vec![0u8; 64 * 1024];
    loop {
        let quiet = (Instant::now() + CLOSE_QUIET).min(deadline);
        match tokio::time::timeout_at(quiet, socket.read(&mut sink)).await {
            Ok(Ok(read)) if read > 0 => {}
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests;
