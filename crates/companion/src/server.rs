//! The laptop side: `floorwalk companion` listens on a private Unix socket
//! (or on loopback TCP where there are none, then with its key required),
//! admits one console at a time (same user, right hello, the key's proof
//! when it has a key), and runs the
//! audio engine for it: jitter buffers, decoding, mix, limiter, meters and
//! playback of the call's frames, and the microphone encoded while the
//! console says whisper or barge.

use crate::key::Key;
use crate::link::{LinkError, challenge, hello, read_message, refuse, write_message};
#[cfg(unix)]
use crate::private::{PrivacyError, close_socket, my_uid, private_dir};
use crate::status::Status;
use crate::wire::{DeviceEvent, Message};
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::engine::{
    AudioChannels, AudioConfig, AudioEngine, AudioEvent, AudioHandle, FrameSink,
};
use floorwalk_audio::mix::Layout;
use floorwalk_audio::playback::TrackSpec;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
#[cfg(unix)]
use tokio::net::UnixListener;
use tokio::sync::{mpsc, watch};

/// How often the console gets the meters.
const LEVELS_EVERY: Duration = Duration::from_millis(100);

/// Where the companion listens: `--listen PATH` or `--listen tcp:ADDR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A Unix socket (the default where there are Unix sockets).
    Unix(PathBuf),
    /// A loopback TCP address (port 0: the system picks one).
    Tcp(SocketAddr),
}

impl std::str::FromStr for Listen {
    type Err = String;

    /// `tcp:127.0.0.1:PORT` or `tcp:[::1]:PORT`; anything else is a path.
    /// Only loopback: refused here, before any socket opens.
    fn from_str(text: &str) -> Result<Self, String> {
        let Some(address) = text.strip_prefix("tcp:") else {
            return Ok(Listen::Unix(PathBuf::from(text)));
        };
        let address: SocketAddr = address
            .parse()
            .map_err(|_| format!("{text}: give tcp:127.0.0.1:PORT or tcp:[::1]:PORT"))?;
        if !address.ip().is_loopback() {
            return Err(format!(
                "{text}: the companion listens on loopback only (127.0.0.1 or [::1]), so that \
                 nothing but this machine's ssh -R can reach it"
            ));
        }
        Ok(Listen::Tcp(address))
    }
}

/// Why the companion cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[cfg(unix)]
    #[error(transparent)]
    Privacy(#[from] PrivacyError),
    #[error("cannot listen on {path}: {source}")]
    Listen {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{0} is the console's end on the jump host; here give none, default, device:NAME or wav:PATH"
    )]
    CompanionEndpoint(String),
    #[error("{0}: on loopback TCP every local user can connect, so the key is required")]
    NoKey(String),
    #[cfg(not(unix))]
    #[error("{0}: Unix sockets are not available here; give --listen tcp:127.0.0.1:0")]
    NoUnixSockets(String),
}

/// A connection, whatever carries it.
trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}
type Stream = Box<dyn Conn>;

/// The listening socket.
#[derive(Debug)]
enum Listener {
    #[cfg(unix)]
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener),
}

impl Listener {
    /// The next connection, and whether its peer may be served (the same
    /// user, on a Unix socket; TCP cannot tell: the key decides).
    async fn accept(&self) -> std::io::Result<(Stream, Result<(), String>)> {
        match self {
            #[cfg(unix)]
            Listener::Unix(listener, _) => {
                let (stream, _) = listener.accept().await?;
                let me = my_uid();
                let peer = match stream.peer_cred() {
                    Ok(cred) if cred.uid() == me => Ok(()),
                    Ok(cred) => Err(format!(
                        "a process of user {} is not this user ({me})",
                        cred.uid()
                    )),
                    Err(e) => Err(format!("cannot tell who connected: {e}")),
                };
                Ok((Box::new(stream), peer))
            }
            Listener::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok((Box::new(stream), Ok(())))
            }
        }
    }
}

/// The companion, listening.
#[derive(Debug)]
pub struct Companion {
    listener: Listener,
    /// Where it listens, as `ssh -R` forwards to it (a path or ADDR:PORT).
    local: String,
    key: Option<Key>,
    output: Endpoint,
    input: Endpoint,
}

impl Companion {
    /// Listens where `listen` says. A Unix socket: its directory made
    /// private, a stale socket replaced, the new one 0600; `key` is then
    /// optional (required when given). TCP: loopback only, `key` required.
    pub async fn listen(
        listen: &Listen,
        key: Option<Key>,
        output: Endpoint,
        input: Endpoint,
    ) -> Result<Self, ServeError> {
        for endpoint in [&output, &input] {
            if matches!(endpoint, Endpoint::Companion(_)) {
                return Err(ServeError::CompanionEndpoint(endpoint.to_string()));
            }
        }
        let (listener, local) = match listen {
            Listen::Unix(path) => (unix_listener(path)?, path.display().to_string()),
            Listen::Tcp(address) => {
                let shown = format!("tcp:{address}");
                if key.is_none() {
                    return Err(ServeError::NoKey(shown));
                }
                let listener =
                    TcpListener::bind(address)
                        .await
                        .map_err(|source| ServeError::Listen {
                            path: shown,
                            source,
                        })?;
                let local = listener
                    .local_addr()
                    .map_or_else(|_| address.to_string(), |a| a.to_string());
                (Listener::Tcp(listener), local)
            }
        };
        Ok(Self {
            listener,
            local,
            key,
            output,
            input,
        })
    }

    /// Where `ssh -R` forwards to: the socket's path, or ADDR:PORT.
    pub fn local(&self) -> &str {
        &self.local
    }

    /// Whether consoles must prove they know the key.
    pub fn needs_key(&self) -> bool {
        self.key.is_some()
    }

    /// Serves consoles until the process ends, publishing what it does.
    pub async fn serve(self, status: watch::Sender<Status>) {
        let mut engine = Engine::start(self.output.clone(), self.input.clone(), Layout::Mono);
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("companion accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            match admit(stream, peer, self.key.as_ref()).await {
                Ok((stream, console)) => {
                    tracing::info!("console {console} connected");
                    status.send_modify(|s| {
                        *s = Status {
                            console: Some(console.clone()),
                            ..Status::default()
                        }
                    });
                    let reason = Session {
                        listener: &self.listener,
                        engine: &mut engine,
                        status: &status,
                    }
                    .run(stream)
                    .await;
                    tracing::info!("console {console} gone: {reason}");
                    engine.rest();
                    status.send_modify(|s| {
                        *s = Status {
                            note: Some(format!("console {console} gone: {reason}")),
                            ..Status::default()
                        }
                    });
                }
                Err(reason) => {
                    tracing::warn!("companion refused a client: {reason}");
                    status.send_modify(|s| s.note = Some(format!("refused a client: {reason}")));
                }
            }
        }
    }
}

#[cfg(unix)]
fn unix_listener(path: &Path) -> Result<Listener, ServeError> {
    let listen_error = |source| ServeError::Listen {
        path: path.display().to_string(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir(dir)?;
    // A socket left by a companion that ended: nobody listens on it.
    if std::os::unix::net::UnixStream::connect(path).is_err() && path.exists() {
        std::fs::remove_file(path).map_err(listen_error)?;
    }
    let listener = UnixListener::bind(path).map_err(listen_error)?;
    close_socket(path)?;
    Ok(Listener::Unix(listener, path.to_owned()))
}

#[cfg(not(unix))]
fn unix_listener(path: &Path) -> Result<Listener, ServeError> {
    Err(ServeError::NoUnixSockets(path.display().to_string()))
}

impl Drop for Companion {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Listener::Unix(_, path) = &self.listener {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Checks who connected (this user only, on a Unix socket), exchanges
/// hellos and, with a key, the challenge.
async fn admit(
    mut stream: Stream,
    peer: Result<(), String>,
    key: Option<&Key>,
) -> Result<(Stream, String), String> {
    if let Err(reason) = peer {
        refuse(&mut stream, &reason).await;
        return Err(reason);
    }
    let console = hello(&mut stream, &crate::machine_name())
        .await
        .map_err(|e| e.to_string())?;
    challenge(&mut stream, key)
        .await
        .map_err(|e| format!("{console}: {e}"))?;
    Ok((stream, console))
}

/// The engine and what its devices last said.
struct Engine {
    output: Endpoint,
    input: Endpoint,
    layout: Layout,
    handle: AudioHandle,
    frames: FrameSink,
    channels: AudioChannels,
    /// The output's last event, for the next console.
    output_state: Option<DeviceEvent>,
}

impl Engine {
    fn start(output: Endpoint, input: Endpoint, layout: Layout) -> Self {
        let (handle, channels) = AudioEngine::start(AudioConfig {
            output: output.clone(),
            input: input.clone(),
            layout,
            ..AudioConfig::default()
        });
        Self {
            output,
            input,
            layout,
            frames: handle.frame_sink(),
            handle,
            channels,
            output_state: None,
        }
    }

    /// Opens the output anew with another layout (mono or split-ear).
    fn relayout(&mut self, layout: Layout) {
        if layout != self.layout {
            *self = Self::start(self.output.clone(), self.input.clone(), layout);
        }
    }

    /// Between consoles: nothing plays, the microphone is closed.
    fn rest(&self) {
        self.handle.set_transmit(None);
        self.handle.arm_microphone(false);
        self.handle.set_tracks(Vec::new());
    }

    /// The engine's event as the console gets it (and remembered).
    fn note(&mut self, event: AudioEvent) -> DeviceEvent {
        let event = match event {
            AudioEvent::OutputReady { description } => DeviceEvent::OutputReady(description),
            AudioEvent::OutputFailed { endpoint, reason } => {
                DeviceEvent::OutputFailed(format!("{endpoint}: {reason}"))
            }
            AudioEvent::InputReady { description } => DeviceEvent::InputReady(description),
            AudioEvent::InputFailed { endpoint, reason } => {
                DeviceEvent::InputFailed(format!("{endpoint}: {reason}"))
            }
            AudioEvent::InputClosed => DeviceEvent::InputClosed,
        };
        if matches!(
            event,
            DeviceEvent::OutputReady(_) | DeviceEvent::OutputFailed(_)
        ) {
            self.output_state = Some(event.clone());
        }
        event
    }
}

/// One console's connection.
struct Session<'a> {
    listener: &'a Listener,
    engine: &'a mut Engine,
    status: &'a watch::Sender<Status>,
}

impl Session<'_> {
    /// Runs until the console goes or misbehaves; returns why it ended.
    async fn run(mut self, stream: Stream) -> String {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let (tx, mut from_console) = mpsc::channel(64);
        let read = tokio::spawn(async move {
            loop {
                let message = read_message(&mut reader).await;
                let end = message.is_err();
                if tx.send(message).await.is_err() || end {
                    break;
                }
            }
        });
        let reason = self.pump(&mut from_console, &mut writer).await;
        read.abort();
        refuse(&mut writer, &reason).await;
        reason
    }

    async fn pump(
        &mut self,
        from_console: &mut mpsc::Receiver<Result<Message, LinkError>>,
        writer: &mut tokio::io::WriteHalf<Stream>,
    ) -> String {
        // What happened while nobody was connected, then the output's state.
        while let Ok(event) = self.engine.channels.events.try_recv() {
            self.engine.note(event);
        }
        while self.engine.channels.upstream.try_recv().is_ok() {}
        if let Some(state) = self.engine.output_state.clone() {
            if let Err(e) = write_message(writer, &Message::Event(state)).await {
                return e.to_string();
            }
        }
        let mut levels = tokio::time::interval(LEVELS_EVERY);
        let mut microphone = false;
        loop {
            let outgoing = tokio::select! {
                message = from_console.recv() => match message {
                    Some(Ok(message)) => match self.apply(message, &mut microphone) {
                        Ok(()) => None,
                        Err(reason) => return reason,
                    },
                    Some(Err(LinkError::Closed)) | None => return "it closed the connection".into(),
                    Some(Err(e)) => return e.to_string(),
                },
                Some(frame) = self.engine.channels.upstream.recv() => Some(Message::Spoken(frame)),
                Some(event) = self.engine.channels.events.recv() => {
                    Some(Message::Event(self.engine.note(event)))
                }
                _ = levels.tick() => {
                    let meters = self.engine.handle.meters();
                    let all = [
                        meters.parties.customer,
                        meters.parties.agent,
                        meters.parties.others,
                        meters.microphone,
                    ];
                    self.status.send_modify(|s| s.levels = all);
                    Some(Message::Levels(all))
                }
                accepted = self.listener.accept() => {
                    if let Ok((mut other, _)) = accepted {
                        tokio::spawn(async move {
                            refuse(&mut other, "busy: another console is connected").await;
                        });
                    }
                    None
                }
            };
            if let Some(message) = outgoing {
                if let Err(e) = write_message(writer, &message).await {
                    return e.to_string();
                }
            }
        }
    }

    /// A console's message, applied to the engine.
    fn apply(&mut self, message: Message, microphone: &mut bool) -> Result<(), String> {
        let handle = &self.engine.handle;
        match message {
            Message::Layout(layout) => self.engine.relayout(layout),
            Message::Audio(frame) => {
                self.engine.frames.send(frame);
            }
            Message::Call(call) => self.status.send_modify(|s| s.call = call),
            Message::Tracks(tracks) => {
                handle.set_tracks(
                    tracks
                        .into_iter()
                        .map(|(track, role)| TrackSpec { track, role })
                        .collect(),
                );
            }
            Message::Gains(gains) => handle.set_gains(gains),
            Message::Microphone(on) => {
                *microphone = on;
                if !on {
                    handle.set_transmit(None);
                }
                handle.arm_microphone(on);
                self.status.send_modify(|s| {
                    s.microphone = on;
                    s.talking &= on;
                });
            }
            // Talking only with the microphone opened for whisper or barge.
            Message::Talk(track) => {
                let track = track.filter(|_| *microphone);
                handle.set_transmit(track);
                self.status.send_modify(|s| s.talking = track.is_some());
            }
            Message::Refused { reason } => return Err(format!("it refused: {reason}")),
            Message::Hello { .. }
            | Message::Challenge(_)
            | Message::Proof(_)
            | Message::Admitted
            | Message::Levels(_)
            | Message::Event(_)
            | Message::Spoken(_) => {
                return Err(
                    "it sent a message only a companion sends: not a floorwalk console".into(),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_loopback_tcp_is_accepted_and_anything_else_is_a_path() {
        assert_eq!(
            "tcp:127.0.0.1:0".parse(),
            Ok(Listen::Tcp("127.0.0.1:0".parse().unwrap()))
        );
        assert_eq!(
            "tcp:[::1]:4711".parse(),
            Ok(Listen::Tcp("[::1]:4711".parse().unwrap()))
        );
        assert_eq!(
            "/run/user/1000/c.sock".parse(),
            Ok(Listen::Unix("/run/user/1000/c.sock".into()))
        );
        for outside in ["tcp:0.0.0.0:4711", "tcp:192.168.1.5:4711", "tcp:[::]:4711"] {
            let error = outside.parse::<Listen>().unwrap_err();
            assert!(error.contains("loopback only"), "{error}");
        }
        let error = "tcp:localhost".parse::<Listen>().unwrap_err();
        assert!(error.contains("tcp:127.0.0.1:PORT"), "{error}");
    }

    #[tokio::test]
    async fn tcp_without_a_key_is_refused_before_listening() {
        let listen = "tcp:127.0.0.1:0".parse().unwrap();
        let error = Companion::listen(&listen, None, Endpoint::None, Endpoint::None)
            .await
            .unwrap_err();
        assert!(matches!(error, ServeError::NoKey(_)), "{error}");
    }
}
