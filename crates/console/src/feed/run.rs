//! The feed task: connect, say hello, subscribe, pass events on, answer
//! commands, keep the connection alive, and reconnect when it dies.

use super::backoff::{Backoff, Reconnect};
use super::connect::{DialError, Dialer, Socket};
use super::in_flight::InFlight;
use super::sequence::{Sequencer, Verdict};
use super::{CommandFailure, Control, FeedEvent};
use floorwalk_audio::capture::TransmitGate;
use floorwalk_protocol::{
    ClientMessage, ErrorCode, Hello, PROTOCOL_VERSION, Parsed, ReplyError, ServerMessage,
};
use futures_util::{SinkExt, StreamExt};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::time::{MissedTickBehavior, sleep_until};
use tokio_tungstenite::tungstenite::Message;

/// How often we ping the server to measure the round trip.
const PING_EVERY: Duration = Duration::from_secs(2);
/// How long the server may take to say hello after the upgrade.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// The shortest silence that counts as a dead connection.
const MIN_SILENCE: Duration = Duration::from_secs(3);
/// How long one write may wait for the server to take the data.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a polite close may take on shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

pub(super) struct Channels {
    pub control: mpsc::UnboundedReceiver<Control>,
    pub audio_out: mpsc::Receiver<Vec<u8>>,
    pub audio_in: Option<mpsc::Sender<Vec<u8>>>,
    pub audio_gate: Option<TransmitGate>,
    pub events: mpsc::Sender<FeedEvent>,
}

/// Why the feed stops.
enum Stop {
    /// Shutdown, every handle dropped, or the app stopped listening.
    Done,
    /// The server refused us for good; words for the supervisor.
    Fatal(String),
}

/// How one connection ended.
enum Ended {
    Stop(Stop),
    Lost(String),
}

impl From<Stop> for Ended {
    fn from(stop: Stop) -> Self {
        Ended::Stop(stop)
    }
}

impl Channels {
    /// Tells the app; `Stop::Done` when the app is gone.
    async fn emit(&self, event: FeedEvent) -> Result<(), Stop> {
        self.events.send(event).await.map_err(|_| Stop::Done)
    }

    async fn reply(
        &self,
        req: String,
        outcome: Result<serde_json::Value, CommandFailure>,
        sent: Instant,
    ) -> Result<(), Stop> {
        let latency = sent.elapsed();
        self.emit(FeedEvent::Reply {
            req,
            outcome,
            latency,
        })
        .await
    }

    async fn protocol_error(&self, text: String) -> Result<(), Stop> {
        tracing::warn!("{text}");
        self.emit(FeedEvent::ProtocolError(text)).await
    }

    /// Answers a command that cannot be sent now.
    async fn refuse_offline(&self, command: ClientMessage, sent: Instant) -> Result<(), Stop> {
        match command.req() {
            Some(req) => {
                self.reply(req.to_owned(), Err(CommandFailure::Offline), sent)
                    .await
            }
            None => self.ignore_subscribe().await,
        }
    }

    async fn ignore_subscribe(&self) -> Result<(), Stop> {
        self.protocol_error(
            "the app sent a subscribe; the feed subscribes by itself, so it was ignored".into(),
        )
        .await
    }

    /// Runs `work` while not connected: commands are answered `Offline` at
    /// once, upstream audio is dropped, shutdown stops everything.
    async fn offline<T>(&mut self, work: impl Future<Output = T>) -> Result<T, Stop> {
        tokio::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return Ok(out),
                control = self.control.recv() => match control {
                    Some(Control::Command(command, sent)) => self.refuse_offline(command, sent).await?,
                    Some(Control::Shutdown) | None => return Err(Stop::Done),
                },
                Some(_dropped) = self.audio_out.recv() => {}
            }
        }
    }

    /// Whether an upstream frame may still go out (see `FeedOptions::audio_gate`).
    fn admits(&self, frame: &[u8]) -> bool {
        self.audio_gate
            .as_ref()
            .is_none_or(|gate| gate.admits(frame))
    }

    fn discard_queued_audio(&mut self) {
        while self.audio_out.try_recv().is_ok() {}
    }
}

pub(super) struct Feed {
    dialer: Dialer,
    ch: Channels,
    online: Arc<AtomicBool>,
    command_timeout: Duration,
    /// Outlives connections, so a reconnect resumes where the app is.
    sequencer: Sequencer,
    backoff: Backoff,
    rng: SmallRng,
}

impl Feed {
    pub fn new(
        dialer: Dialer,
        ch: Channels,
        online: Arc<AtomicBool>,
        command_timeout: Duration,
        reconnect: Reconnect,
    ) -> Self {
        // Jitter only needs to differ between consoles, not be secret.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id());
        Self {
            dialer,
            ch,
            online,
            command_timeout,
            sequencer: Sequencer::default(),
            backoff: Backoff::new(reconnect),
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    pub async fn run(mut self) {
        if let Stop::Fatal(reason) = self.connect_loop().await {
            tracing::error!("{reason}");
            if self.ch.emit(FeedEvent::Fatal(reason)).await.is_ok() {
                // Stay to answer commands with `Offline` until shutdown.
                let _ = self.ch.offline(std::future::pending::<()>()).await;
            }
        }
        self.online.store(false, Ordering::Release);
        tracing::debug!("feed stopped");
    }

    async fn connect_loop(&mut self) -> Stop {
        let mut attempt = 0;
        let mut last_error: Option<String> = None;
        loop {
            attempt += 1;
            let retry_in = self.backoff.next_delay(&mut self.rng);
            let connecting = FeedEvent::Connecting {
                attempt,
                retry_in,
                last_error: last_error.clone(),
            };
            if let Err(stop) = self.ch.emit(connecting).await {
                return stop;
            }
            if let Err(stop) = self.ch.offline(tokio::time::sleep(retry_in)).await {
                return stop;
            }
            tracing::info!(url = %self.dialer.url(), attempt, "connecting");
            let dialed = match self.ch.offline(self.dialer.dial()).await {
                Ok(dialed) => dialed,
                Err(stop) => return stop,
            };
            let socket = match dialed {
                Ok(socket) => socket,
                Err(DialError::Fatal(reason)) => return Stop::Fatal(reason),
                Err(DialError::Retry(reason)) => {
                    tracing::warn!("{reason}");
                    last_error = Some(reason);
                    self.backoff.failed();
                    continue;
                }
            };
            let opened = Instant::now();
            let mut connection = Connection::new(socket);
            let ended = connection.run(self).await;
            self.online.store(false, Ordering::Release);
            self.ch.discard_queued_audio();
            let drained = connection.in_flight.drain();
            for (req, sent) in drained {
                if self
                    .ch
                    .reply(req, Err(CommandFailure::Offline), sent)
                    .await
                    .is_err()
                {
                    return Stop::Done;
                }
            }
            match ended {
                Ended::Stop(stop) => {
                    connection.close().await;
                    return stop;
                }
                Ended::Lost(reason) => {
                    tracing::warn!("{reason}");
                    if connection.subscribed {
                        attempt = 0;
                        self.backoff.lost_after(opened.elapsed());
                    } else {
                        self.backoff.failed();
                    }
                    last_error = Some(reason);
                }
            }
        }
    }
}

/// What woke the connection loop.
enum Wake {
    Frame(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Control(Option<Control>),
    Audio(Vec<u8>),
    Ping,
    Expire,
    Silent,
}

/// One open WebSocket and what belongs to it alone.
struct Connection {
    socket: Socket,
    in_flight: InFlight,
    subscribed: bool,
    /// Silence longer than this means the connection is dead.
    liveness: Duration,
    last_heard: Instant,
    pings_sent: u64,
    /// The ping awaiting its pong, and when it left.
    ping_out: Option<(u64, Instant)>,
}

impl Connection {
    fn new(socket: Socket) -> Self {
        Self {
            socket,
            in_flight: InFlight::default(),
            subscribed: false,
            liveness: HELLO_TIMEOUT,
            last_heard: Instant::now(),
            pings_sent: 0,
            ping_out: None,
        }
    }

    async fn run(&mut self, feed: &mut Feed) -> Ended {
        let mut pinger = tokio::time::interval(PING_EVERY);
        pinger.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let silent_at = tokio::time::Instant::from_std(self.last_heard + self.liveness);
            let expire_at = self
                .in_flight
                .next_deadline()
                .map(tokio::time::Instant::from_std);
            // Commands first (rare and urgent), then the socket, so a timer
            // never fires while frames are waiting to be read.
            let wake = tokio::select! {
                biased;
                control = feed.ch.control.recv() => Wake::Control(control),
                frame = self.socket.next() => Wake::Frame(frame),
                Some(frame) = feed.ch.audio_out.recv() => Wake::Audio(frame),
                _ = pinger.tick(), if self.subscribed => Wake::Ping,
                _ = sleep_until(expire_at.unwrap_or(silent_at)), if expire_at.is_some() => Wake::Expire,
                _ = sleep_until(silent_at) => Wake::Silent,
            };
            let step = match wake {
                Wake::Frame(frame) => self.on_frame(feed, frame).await,
                Wake::Control(Some(Control::Command(command, sent))) => {
                    self.on_command(feed, command, sent).await
                }
                Wake::Control(Some(Control::Shutdown) | None) => Err(Stop::Done.into()),
                Wake::Audio(frame) if self.subscribed && feed.ch.admits(&frame) => {
                    self.write(Message::Binary(frame.into())).await
                }
                Wake::Audio(_) => Ok(()),
                Wake::Ping => self.ping().await,
                Wake::Expire => self.expire(feed).await,
                Wake::Silent => Err(Ended::Lost(if self.subscribed {
                    format!(
                        "no sign of life from the server for {:.1} s: the connection is dead",
                        self.liveness.as_secs_f64()
                    )
                } else {
                    format!(
                        "the server sent no hello within {} s",
                        HELLO_TIMEOUT.as_secs()
                    )
                })),
            };
            if let Err(ended) = step {
                return ended;
            }
        }
    }

    async fn on_frame(
        &mut self,
        feed: &mut Feed,
        frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<(), Ended> {
        let message = match frame {
            None => return Err(Ended::Lost("the server closed the connection".into())),
            Some(Err(err)) => return Err(Ended::Lost(format!("the connection was lost: {err}"))),
            Some(Ok(message)) => message,
        };
        self.last_heard = Instant::now();
        match message {
            Message::Text(text) => self.on_text(feed, text.as_str()).await,
            Message::Binary(bytes) => {
                // Audio goes straight to the audio engine, never through the app.
                if let Some(audio_in) = &feed.ch.audio_in {
                    let _ = audio_in.try_send(bytes.to_vec());
                }
                Ok(())
            }
            Message::Pong(payload) => {
                if let Some((id, at)) = self.ping_out
                    && payload.as_ref() == id.to_be_bytes()
                {
                    self.ping_out = None;
                    feed.ch.emit(FeedEvent::Rtt(at.elapsed())).await?;
                }
                Ok(())
            }
            Message::Close(frame) => Err(Ended::Lost(match frame {
                Some(frame) if !frame.reason.is_empty() => format!(
                    "the server closed the connection (code {}: {})",
                    u16::from(frame.code),
                    frame.reason
                ),
                Some(frame) => format!(
                    "the server closed the connection (code {})",
                    u16::from(frame.code)
                ),
                None => "the server closed the connection".into(),
            })),
            // tungstenite answers pings by itself.
            Message::Ping(_) | Message::Frame(_) => Ok(()),
        }
    }

    async fn on_text(&mut self, feed: &mut Feed, text: &str) -> Result<(), Ended> {
        let message = match floorwalk_protocol::parse_server(text) {
            Ok(Parsed::Known(message)) => message,
            Ok(Parsed::Unknown { kind }) => {
                // How the protocol grows: logged and ignored, not an error.
                tracing::info!("ignored a message of unknown type `{kind}`");
                return Ok(());
            }
            Err(err) => {
                feed.ch
                    .protocol_error(format!("ignored a message the console cannot read: {err}"))
                    .await?;
                return Ok(());
            }
        };
        if let ServerMessage::Hello(hello) = message {
            return self.on_hello(feed, hello).await;
        }
        if !self.subscribed {
            let text = "ignored a message that came before hello".to_owned();
            feed.ch.protocol_error(text).await?;
            return Ok(());
        }
        match message {
            ServerMessage::Reply(reply) => match self.in_flight.take(&reply.req) {
                Some(sent) => {
                    let outcome = reply.outcome().cloned().map_err(CommandFailure::Refused);
                    feed.ch.reply(reply.req, outcome, sent).await?;
                }
                None => {
                    tracing::debug!(req = %reply.req, "a reply for a command no longer waiting")
                }
            },
            ServerMessage::Notice(_) | ServerMessage::FloorStatus(_) => {
                feed.ch.emit(FeedEvent::Message(message)).await?
            }
            ServerMessage::Hello(_) => {}
            _ => {
                let Some(seq) = message.seq() else {
                    return Ok(());
                };
                let snapshot = matches!(message, ServerMessage::Snapshot(_));
                match feed.sequencer.on_state(seq, snapshot, Instant::now()) {
                    Verdict::Forward => feed.ch.emit(FeedEvent::Message(message)).await?,
                    Verdict::Duplicate => tracing::debug!(seq, "dropped a duplicate event"),
                    Verdict::Awaiting => tracing::debug!(seq, "dropped an event while resuming"),
                    Verdict::Resubscribe(subscribe) => {
                        tracing::info!(seq, "events are missing: resuming");
                        self.write(Message::text(floorwalk_protocol::to_text(&subscribe)))
                            .await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn on_hello(&mut self, feed: &mut Feed, hello: Hello) -> Result<(), Ended> {
        if self.subscribed {
            feed.ch
                .protocol_error("ignored a second hello on the same connection".into())
                .await?;
            return Ok(());
        }
        if hello.protocol != PROTOCOL_VERSION {
            return Err(Stop::Fatal(format!(
                "the server ({}) speaks floorwalk protocol {}, this console speaks {PROTOCOL_VERSION}",
                hello.server, hello.protocol
            ))
            .into());
        }
        let (subscribe, resumed) = feed.sequencer.on_hello(&hello.session);
        self.write(Message::text(floorwalk_protocol::to_text(&subscribe)))
            .await?;
        self.liveness =
            Duration::from_millis(hello.heartbeat_ms.saturating_mul(2)).max(MIN_SILENCE);
        self.subscribed = true;
        feed.online.store(true, Ordering::Release);
        tracing::info!(session = %hello.session, server = %hello.server, resumed, "connected");
        feed.ch
            .emit(FeedEvent::Connected { hello, resumed })
            .await?;
        Ok(())
    }

    async fn on_command(
        &mut self,
        feed: &mut Feed,
        command: ClientMessage,
        sent: Instant,
    ) -> Result<(), Ended> {
        let Some(req) = command.req().map(str::to_owned) else {
            return Ok(feed.ch.ignore_subscribe().await?);
        };
        if !self.subscribed {
            return Ok(feed.ch.refuse_offline(command, sent).await?);
        }
        if !self
            .in_flight
            .insert(&req, sent, sent + feed.command_timeout)
        {
            let failure = CommandFailure::Refused(ReplyError {
                code: ErrorCode::Invalid,
                message: format!(
                    "request id `{req}` is still waiting for its reply; it was not sent"
                ),
            });
            return Ok(feed.ch.reply(req, Err(failure), sent).await?);
        }
        self.write(Message::text(floorwalk_protocol::to_text(&command)))
            .await
    }

    async fn ping(&mut self) -> Result<(), Ended> {
        self.pings_sent += 1;
        let id = self.pings_sent;
        self.ping_out = Some((id, Instant::now()));
        self.write(Message::Ping(id.to_be_bytes().to_vec().into()))
            .await
    }

    async fn expire(&mut self, feed: &mut Feed) -> Result<(), Ended> {
        for (req, sent) in self.in_flight.expire(Instant::now()) {
            tracing::warn!(%req, "no reply within {:?}", feed.command_timeout);
            feed.ch
                .reply(
                    req,
                    Err(CommandFailure::Timeout(feed.command_timeout)),
                    sent,
                )
                .await?;
        }
        Ok(())
    }

    /// Sends one frame; a server that does not take it in time is dead.
    async fn write(&mut self, message: Message) -> Result<(), Ended> {
        match tokio::time::timeout(WRITE_TIMEOUT, self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(Ended::Lost(format!("the connection was lost: {err}"))),
            Err(_) => Err(Ended::Lost(format!(
                "the server took no data for {} s: the connection is dead",
                WRITE_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn close(&mut self) {
        // Best effort: we are leaving either way.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.socket.close(None)).await;
    }
}
