//! The laptop side: `floorwalk companion` listens on a private Unix socket,
//! admits one console at a time (same user, right hello), and runs the
//! audio engine for it: jitter buffers, decoding, mix, limiter, meters and
//! playback of the call's frames, and the microphone encoded while the
//! console says whisper or barge.

use crate::link::{LinkError, hello, read_message, refuse, write_message};
use crate::private::{PrivacyError, close_socket, machine_name, my_uid, private_dir};
use crate::status::Status;
use crate::wire::{DeviceEvent, Message};
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::engine::{
    AudioChannels, AudioConfig, AudioEngine, AudioEvent, AudioHandle, FrameSink,
};
use floorwalk_audio::mix::Layout;
use floorwalk_audio::playback::TrackSpec;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};

/// How often the console gets the meters.
const LEVELS_EVERY: Duration = Duration::from_millis(100);

/// Why the companion cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
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
}

/// The companion, listening.
#[derive(Debug)]
pub struct Companion {
    listener: UnixListener,
    path: PathBuf,
    output: Endpoint,
    input: Endpoint,
}

impl Companion {
    /// Listens on `path` (its directory made private, a stale socket
    /// replaced, the new one 0600).
    pub fn listen(path: &Path, output: Endpoint, input: Endpoint) -> Result<Self, ServeError> {
        for endpoint in [&output, &input] {
            if matches!(endpoint, Endpoint::Companion(_)) {
                return Err(ServeError::CompanionEndpoint(endpoint.to_string()));
            }
        }
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
        Ok(Self {
            listener,
            path: path.to_owned(),
            output,
            input,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves consoles until the process ends, publishing what it does.
    pub async fn serve(self, status: watch::Sender<Status>) {
        let mut engine = Engine::start(self.output.clone(), self.input.clone(), Layout::Mono);
        loop {
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("companion accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            match admit(stream).await {
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

impl Drop for Companion {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Checks who connected (this user only) and exchanges hellos.
async fn admit(mut stream: UnixStream) -> Result<(UnixStream, String), String> {
    let me = my_uid();
    match stream.peer_cred() {
        Ok(cred) if cred.uid() == me => {}
        Ok(cred) => {
            let reason = format!("a process of user {} is not this user ({me})", cred.uid());
            refuse(&mut stream, &reason).await;
            return Err(reason);
        }
        Err(e) => return Err(format!("cannot tell who connected: {e}")),
    }
    match hello(&mut stream, &machine_name()).await {
        Ok(console) => Ok((stream, console)),
        Err(e) => Err(e.to_string()),
    }
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
    listener: &'a UnixListener,
    engine: &'a mut Engine,
    status: &'a watch::Sender<Status>,
}

impl Session<'_> {
    /// Runs until the console goes or misbehaves; returns why it ended.
    async fn run(mut self, stream: UnixStream) -> String {
        let (mut reader, mut writer) = stream.into_split();
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
        writer: &mut tokio::net::unix::OwnedWriteHalf,
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
            Message::Tracks(tracks) => {
                self.status.send_modify(|s| s.tracks = tracks.len());
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
            Message::Hello { .. } | Message::Levels(_) | Message::Event(_) | Message::Spoken(_) => {
                return Err(
                    "it sent a message only a companion sends: not a floorwalk console".into(),
                );
            }
        }
        Ok(())
    }
}
