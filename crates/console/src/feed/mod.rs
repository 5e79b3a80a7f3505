//! The WebSocket client: connect, subscribe, resume, heartbeats, and commands
//! with replies. It runs on its own tokio task and talks to the app through
//! channels; the app never touches the socket.
//!
//! Pure parts (URL checks, `seq` ordering, reconnect delays, the table of
//! commands awaiting replies) live in their own modules; `run` is the I/O.

mod backoff;
mod connect;
mod events;
mod in_flight;
mod run;
mod sequence;
mod target;
mod tls;

pub use backoff::Reconnect;
pub use events::*;

use crate::config::Secret;
use floorwalk_audio::capture::TransmitGate;
use floorwalk_protocol::ClientMessage;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Log filter directives to add to any filter that enables `trace` broadly:
/// tungstenite traces the raw upgrade request, token included, at `trace`.
pub const QUIET_TRANSPORT_LOGS: &str = "tungstenite=debug,tokio_tungstenite=debug";

/// How many feed events may wait for the app before the feed waits too.
const EVENT_QUEUE: usize = 1024;
/// How many upstream audio frames may wait (one second of 20 ms frames);
/// more are dropped, as late audio is useless.
const AUDIO_QUEUE: usize = 50;

/// How to reach the server.
#[derive(Debug)]
pub struct FeedOptions {
    /// `ws://` (loopback only, unless `allow_insecure_remote`) or `wss://`.
    /// Without a path, the protocol's `/v1/supervisor` is used.
    pub url: String,
    pub token: Secret,
    /// Extra certificate authorities (PEM) for `wss://`.
    pub ca_file: Option<PathBuf>,
    pub allow_insecure_remote: bool,
    /// How long a command waits for its reply before `Timeout`.
    pub command_timeout: Duration,
    /// Binary (audio) frames from the server, sent with `try_send`: dropped
    /// when full or absent, never passed through the app.
    pub audio_in: Option<mpsc::Sender<Vec<u8>>>,
    /// Checked just before each upstream frame is written: a frame it does
    /// not admit (push-to-talk released, leg left) is dropped, so none leaves
    /// after the key even if it was queued before. `None` sends them all.
    pub audio_gate: Option<TransmitGate>,
}

/// Why the feed could not start. Nothing was sent on the network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    #[error("`{url}` is not a valid server URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("the server URL scheme `{0}` is not supported: use ws:// or wss://")]
    UnsupportedScheme(String),
    #[error(
        "the server URL has credentials in it, which are not supported: the token goes in \
         FLOORWALK_TOKEN, token_file or token_command"
    )]
    CredentialsInUrl,
    #[error(
        "refusing unencrypted ws:// to {0}, which is not this machine: use wss://, or set \
         allow_insecure_remote to send the token and call audio in the clear"
    )]
    InsecureRemote(String),
    #[error("the token cannot be sent in an HTTP header (it has control or non-ASCII characters)")]
    BadToken,
    #[error("cannot use ca_file {}: {reason}", .path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("the feed must be started inside a tokio runtime")]
    NoRuntime,
}

/// What the app sends the feed task.
#[derive(Debug)]
enum Control {
    /// A command and when the app sent it (latency counts from there).
    Command(ClientMessage, Instant),
    Shutdown,
}

/// The app's side of the feed. Cheap to clone; dropping every clone stops
/// the feed like [`FeedHandle::shutdown`].
#[derive(Debug, Clone)]
pub struct FeedHandle {
    control: mpsc::UnboundedSender<Control>,
    audio: mpsc::Sender<Vec<u8>>,
    online: Arc<AtomicBool>,
    warnings: Arc<[String]>,
}

impl FeedHandle {
    /// Sends a command; never blocks. Exactly one [`FeedEvent::Reply`] comes
    /// back for it: the server's outcome, `Timeout` after the command
    /// timeout, or `Offline` at once when not connected (commands are never
    /// queued for later). A connection lost while a command waits also
    /// answers `Offline`: the events after the resume tell whether it took
    /// effect. After `shutdown` nothing comes back.
    pub fn send(&self, command: ClientMessage) {
        // An error means the feed has stopped (shutdown): nothing to answer.
        let _ = self.control.send(Control::Command(command, Instant::now()));
    }

    /// Sends one binary (audio) frame upstream; dropped when not connected
    /// or when the connection cannot keep up.
    pub fn send_audio(&self, frame: Vec<u8>) {
        if self.online.load(Ordering::Acquire) {
            let _ = self.audio.try_send(frame);
        }
    }

    /// Closes the connection and stops the feed.
    pub fn shutdown(&self) {
        let _ = self.control.send(Control::Shutdown);
    }

    /// Whether the feed is connected and subscribed right now.
    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::Acquire)
    }

    /// Things the supervisor should know about the setup (e.g. an
    /// unencrypted connection allowed by `allow_insecure_remote`).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// Checks the options and starts the feed on the current tokio runtime.
/// Errors come before any socket is opened; afterwards everything is
/// reported as [`FeedEvent`]s on the returned receiver.
pub fn spawn(options: FeedOptions) -> Result<(FeedHandle, mpsc::Receiver<FeedEvent>), FeedError> {
    spawn_with(options, Reconnect::default())
}

/// [`spawn`] with other reconnect delays.
pub fn spawn_with(
    options: FeedOptions,
    reconnect: Reconnect,
) -> Result<(FeedHandle, mpsc::Receiver<FeedEvent>), FeedError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| FeedError::NoRuntime)?;
    let (target, insecure) = target::check(&options.url, options.allow_insecure_remote)?;
    let mut authorization =
        http::HeaderValue::from_str(&format!("Bearer {}", options.token.expose()))
            .map_err(|_| FeedError::BadToken)?;
    authorization.set_sensitive(true);

    let mut warnings: Vec<String> = insecure.into_iter().collect();
    let connector = if target.tls {
        tokio_tungstenite::Connector::Rustls(tls::client_config(options.ca_file.as_deref())?)
    } else {
        if let Some(path) = &options.ca_file {
            warnings.push(format!(
                "ca_file {} is not used: the server URL is ws://, not wss://",
                path.display()
            ));
        }
        tokio_tungstenite::Connector::Plain
    };
    for warning in &warnings {
        tracing::warn!("{warning}");
    }

    let (control_tx, control_rx) = mpsc::unbounded_channel();
    let (audio_tx, audio_rx) = mpsc::channel(AUDIO_QUEUE);
    let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
    let online = Arc::new(AtomicBool::new(false));
    let feed = run::Feed::new(
        connect::Dialer::new(target, authorization, connector),
        run::Channels {
            control: control_rx,
            audio_out: audio_rx,
            audio_in: options.audio_in,
            audio_gate: options.audio_gate,
            events: events_tx,
        },
        online.clone(),
        options.command_timeout,
        reconnect,
    );
    runtime.spawn(feed.run());
    let handle = FeedHandle {
        control: control_tx,
        audio: audio_tx,
        online,
        warnings: warnings.into(),
    };
    Ok((handle, events_rx))
}
