//! The jump host side: what the console drives in place of its audio
//! engine when its endpoints are `companion:PATH`.
//!
//! The call's frames go to the companion as they came (no decoding here),
//! with the controls; levels, device events and microphone frames come
//! back. The push-to-talk gate stays here: a microphone frame is handed to
//! the feed only while the gate admits it, and the feed checks once more
//! before it writes, so after `d` no frame leaves, as with a local engine.
//!
//! The link keeps trying: while the tunnel is down the output is reported
//! failed (`companion lost`), frames are dropped, and the controls are
//! kept, to be sent again the moment the companion is back.

use crate::key::{Key, default_key_path};
use crate::link::{LinkError, answer, hello, read_sized};
use crate::machine_name;
use crate::private::{PrivacyError, check_forwarded_socket, my_uid};
use crate::wire::{DeviceEvent, Message};
use floorwalk_audio::capture::TransmitGate;
use floorwalk_audio::endpoint::login_name;
use floorwalk_audio::engine::{AudioChannels, AudioEvent, EngineStats, Meters};
use floorwalk_audio::mix::{Gains, Layout};
use floorwalk_audio::playback::{PartyLevels, TrackSpec};
use floorwalk_protocol::Role;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::UnixStream;
use tokio::sync::mpsc;

/// How long the link waits before trying the companion again.
pub const RETRY_EVERY: Duration = Duration::from_millis(500);
/// Downstream frames queued for the companion (one second of four tracks).
const DOWNSTREAM_QUEUE: usize = 200;
/// Microphone frames queued for the feed (one second).
const UPSTREAM_QUEUE: usize = 50;

/// How the link to the companion starts.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// The forwarded socket.
    pub path: PathBuf,
    pub layout: Layout,
    pub gains: Gains,
    /// Whether the microphone goes through the companion too.
    pub microphone: bool,
    /// The companion's key, read at every connection (so that it can be
    /// copied while the console runs); no file: no key.
    pub key_file: Option<PathBuf>,
}

impl LinkConfig {
    /// A mono mix at unit gains and the key at its default path, as the
    /// console starts.
    pub fn new(path: PathBuf, microphone: bool) -> Self {
        Self {
            path,
            layout: Layout::Mono,
            gains: Gains::default(),
            microphone,
            key_file: default_key_path(),
        }
    }

    /// The key at `key_file` (the config's), else at its default path.
    #[must_use]
    pub fn key_from(mut self, key_file: Option<PathBuf>) -> Self {
        if key_file.is_some() {
            self.key_file = key_file;
        }
        self
    }
}

/// The controls the companion must be following (sent again on reconnect).
#[derive(Debug, Clone, Default, PartialEq)]
struct Wanted {
    call: Option<String>,
    tracks: Vec<(u32, Role)>,
    gains: Option<Gains>,
    microphone: bool,
    talk: Option<u32>,
}

impl Wanted {
    fn note(&mut self, message: &Message) {
        match message {
            Message::Call(call) => self.call.clone_from(call),
            Message::Tracks(tracks) => self.tracks.clone_from(tracks),
            Message::Gains(gains) => self.gains = Some(*gains),
            Message::Microphone(on) => self.microphone = *on,
            Message::Talk(track) => self.talk = *track,
            _ => {}
        }
    }

    /// What a new connection is told first.
    fn replay(&self, layout: Layout) -> Vec<Message> {
        let mut messages = vec![Message::Layout(layout)];
        messages.extend(self.gains.map(Message::Gains));
        messages.push(Message::Call(self.call.clone()));
        messages.push(Message::Tracks(self.tracks.clone()));
        messages.push(Message::Microphone(self.microphone));
        messages.push(Message::Talk(self.talk.filter(|_| self.microphone)));
        messages
    }
}

#[derive(Debug, Default)]
struct Shared {
    meters: Mutex<Meters>,
    description: Mutex<String>,
    frames_in: AtomicU64,
    frames_sent: AtomicU64,
    upstream_dropped: AtomicU64,
    bytes_out: AtomicU64,
    bytes_in: AtomicU64,
}

/// Bytes over the tunnel, both ways, since the start (for benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TunnelBytes {
    pub to_companion: u64,
    pub from_companion: u64,
}

/// Where the feed puts downstream frames for the companion. Cheap to clone;
/// sending never blocks.
#[derive(Debug, Clone)]
pub struct CompanionFrames {
    tx: mpsc::Sender<Vec<u8>>,
}

impl CompanionFrames {
    /// Hands a frame on, as it came (dropped when the queue is full or the
    /// tunnel is down: late audio is useless). False once the link stopped.
    pub fn send(&self, frame: Vec<u8>) -> bool {
        !matches!(
            self.tx.try_send(frame),
            Err(mpsc::error::TrySendError::Closed(_))
        )
    }
}

/// The console's handle on the companion: the same verbs as the engine's.
#[derive(Debug)]
pub struct CompanionAudio {
    controls: mpsc::UnboundedSender<Message>,
    frames: mpsc::Sender<Vec<u8>>,
    gate: TransmitGate,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl CompanionAudio {
    /// Starts the link (call inside a tokio runtime). Events and the
    /// microphone's frames come out as from the engine.
    pub fn start(config: LinkConfig) -> (Self, AudioChannels) {
        let (events_tx, events) = mpsc::unbounded_channel();
        let (upstream_tx, upstream) = mpsc::channel(UPSTREAM_QUEUE);
        let (controls, controls_rx) = mpsc::unbounded_channel();
        let (frames, frames_rx) = mpsc::channel(DOWNSTREAM_QUEUE);
        let gate = TransmitGate::default();
        let shared = Arc::new(Shared::default());
        let link = Link {
            config,
            controls: controls_rx,
            frames: frames_rx,
            events: events_tx,
            upstream: upstream_tx,
            gate: gate.clone(),
            shared: Arc::clone(&shared),
            wanted: Wanted::default(),
        };
        let task = tokio::spawn(link.run());
        let handle = Self {
            controls,
            frames,
            gate,
            shared,
            task,
        };
        (handle, AudioChannels { events, upstream })
    }

    /// Where the feed puts downstream binary frames.
    pub fn frame_sink(&self) -> CompanionFrames {
        CompanionFrames {
            tx: self.frames.clone(),
        }
    }

    pub fn set_tracks(&self, tracks: Vec<TrackSpec>) {
        let tracks = tracks.iter().map(|t| (t.track, t.role)).collect();
        let _ = self.controls.send(Message::Tracks(tracks));
    }

    /// The call being played, for the companion's status line.
    pub fn set_call(&self, call: Option<String>) {
        let _ = self.controls.send(Message::Call(call));
    }

    pub fn set_gains(&self, gains: Gains) {
        let _ = self.controls.send(Message::Gains(gains));
    }

    /// Opens (whisper, barge) or closes the laptop's microphone.
    pub fn arm_microphone(&self, on: bool) {
        let _ = self.controls.send(Message::Microphone(on));
    }

    /// Push-to-talk. Closing is synchronous here, in the console: after
    /// `set_transmit(None)` returns, no microphone frame is handed on,
    /// whatever the companion still sends.
    pub fn set_transmit(&self, track: Option<u32>) {
        self.gate.set(track);
        if track.is_some() {
            self.arm_microphone(true);
        }
        let _ = self.controls.send(Message::Talk(track));
    }

    pub fn transmit_gate(&self) -> TransmitGate {
        self.gate.clone()
    }

    /// The companion's latest levels (zero while it is away).
    pub fn meters(&self) -> Meters {
        *self
            .shared
            .meters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Frames to the companion and microphone frames handed to the feed.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            output: self
                .shared
                .description
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            frames_in: self.shared.frames_in.load(Ordering::Relaxed),
            frames_sent: self.shared.frames_sent.load(Ordering::Relaxed),
            upstream_dropped: self.shared.upstream_dropped.load(Ordering::Relaxed),
            ..EngineStats::default()
        }
    }

    pub fn tunnel_bytes(&self) -> TunnelBytes {
        TunnelBytes {
            to_companion: self.shared.bytes_out.load(Ordering::Relaxed),
            from_companion: self.shared.bytes_in.load(Ordering::Relaxed),
        }
    }

    /// Closes the gate and ends the link.
    pub fn shutdown(self) {
        self.gate.set(None);
        self.task.abort();
    }
}

impl Drop for CompanionAudio {
    fn drop(&mut self) {
        self.gate.set(None);
        self.task.abort();
    }
}

/// The task that keeps the companion connected.
struct Link {
    config: LinkConfig,
    controls: mpsc::UnboundedReceiver<Message>,
    frames: mpsc::Receiver<Vec<u8>>,
    events: mpsc::UnboundedSender<AudioEvent>,
    upstream: mpsc::Sender<Vec<u8>>,
    gate: TransmitGate,
    shared: Arc<Shared>,
    wanted: Wanted,
}

/// Why the link is down.
#[derive(Debug, thiserror::Error)]
enum Down {
    #[error(transparent)]
    Private(#[from] PrivacyError),
    #[error("no companion at {0} (is the ssh -R tunnel up?)")]
    Missing(String),
    #[error("{0}")]
    Link(#[from] LinkError),
    #[error("the companion's key: {0}")]
    Key(#[from] crate::key::KeyError),
    /// The console is stopping.
    #[error("stopped")]
    Stopped,
}

impl Link {
    async fn run(mut self) {
        let endpoint = format!("companion:{}", self.config.path.display());
        let mut last_reason: Option<String> = None;
        loop {
            let outcome = match self.connect().await {
                Ok((stream, machine)) => {
                    last_reason = None;
                    self.up(&machine);
                    self.session(stream).await
                }
                Err(down) => down,
            };
            if matches!(outcome, Down::Stopped) {
                return;
            }
            let reason = outcome.to_string();
            // Said once per outage, not on every retry.
            if last_reason.is_none() {
                tracing::warn!("{endpoint}: {reason}");
                self.down(&endpoint, &reason);
            }
            last_reason = Some(reason);
            if !self.wait(RETRY_EVERY).await {
                return;
            }
        }
    }

    fn up(&self, machine: &str) {
        let description = format!("{machine} 48k");
        tracing::info!("companion on {machine} connected");
        *self
            .shared
            .description
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = description.clone();
        let _ = self.events.send(AudioEvent::OutputReady { description });
    }

    fn down(&self, endpoint: &str, reason: &str) {
        *self
            .shared
            .meters
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Meters::default();
        let _ = self.events.send(AudioEvent::OutputFailed {
            endpoint: endpoint.to_owned(),
            reason: format!("companion lost ({reason}); reconnecting"),
        });
        if self.config.microphone && self.wanted.microphone {
            let _ = self.events.send(AudioEvent::InputFailed {
                endpoint: endpoint.to_owned(),
                reason: "the companion is not connected".to_owned(),
            });
        }
    }

    /// Waits before the next try, keeping the controls and dropping
    /// frames; false when the console stopped.
    async fn wait(&mut self, pause: Duration) -> bool {
        let sleep = tokio::time::sleep(pause);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return true,
                control = self.controls.recv() => match control {
                    Some(message) => self.wanted.note(&message),
                    None => return false,
                },
                frame = self.frames.recv() => if frame.is_none() {
                    return false;
                },
            }
        }
    }

    async fn connect(&self) -> Result<(UnixStream, String), Down> {
        let path = &self.config.path;
        if !path.exists() {
            return Err(Down::Missing(path.display().to_string()));
        }
        check_forwarded_socket(path)?;
        let mut stream = match UnixStream::connect(path).await {
            Ok(stream) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                // Nobody listens: a tunnel that ended left it. Removing it
                // (it is ours, checked above) lets the next `ssh -R` bind.
                let _ = std::fs::remove_file(path);
                return Err(Down::Missing(path.display().to_string()));
            }
            Err(e) => return Err(LinkError::Io(e).into()),
        };
        let user = login_name().unwrap_or_else(|| format!("uid {}", my_uid()));
        let me = format!("{user}@{}", machine_name());
        let machine = hello(&mut stream, &me).await?;
        let key = match &self.config.key_file {
            Some(path) => Key::load(path)?,
            None => None,
        };
        answer(&mut stream, key.as_ref()).await?;
        Ok((stream, machine))
    }

    async fn session(&mut self, stream: UnixStream) -> Down {
        let (mut reader, mut writer) = stream.into_split();
        let (tx, mut from_companion) = mpsc::channel(64);
        let shared = Arc::clone(&self.shared);
        let read = tokio::spawn(async move {
            loop {
                let message = read_sized(&mut reader).await.map(|(message, size)| {
                    shared.bytes_in.fetch_add(size as u64, Ordering::Relaxed);
                    message
                });
                let end = message.is_err();
                if tx.send(message).await.is_err() || end {
                    break;
                }
            }
        });
        let down = self.pump(&mut from_companion, &mut writer).await;
        read.abort();
        down
    }

    async fn send(
        &self,
        writer: &mut tokio::net::unix::OwnedWriteHalf,
        message: &Message,
    ) -> Result<(), Down> {
        let bytes = message.encode().map_err(LinkError::from)?;
        tokio::io::AsyncWriteExt::write_all(writer, &bytes)
            .await
            .map_err(LinkError::from)?;
        self.shared
            .bytes_out
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    async fn pump(
        &mut self,
        from_companion: &mut mpsc::Receiver<Result<Message, LinkError>>,
        writer: &mut tokio::net::unix::OwnedWriteHalf,
    ) -> Down {
        for message in self.wanted.replay(self.config.layout) {
            if let Err(down) = self.send(writer, &message).await {
                return down;
            }
        }
        loop {
            let outgoing = tokio::select! {
                control = self.controls.recv() => match control {
                    Some(message) => {
                        self.wanted.note(&message);
                        message
                    }
                    None => return Down::Stopped,
                },
                frame = self.frames.recv() => match frame {
                    Some(frame) => {
                        self.shared.frames_in.fetch_add(1, Ordering::Relaxed);
                        Message::Audio(frame)
                    }
                    None => return Down::Stopped,
                },
                message = from_companion.recv() => match message {
                    Some(Ok(message)) => {
                        if let Err(down) = self.take(message) {
                            return down;
                        }
                        continue;
                    }
                    Some(Err(e)) => return e.into(),
                    None => return LinkError::Closed.into(),
                },
            };
            if let Err(down) = self.send(writer, &outgoing).await {
                return down;
            }
        }
    }

    /// A message from the companion.
    fn take(&self, message: Message) -> Result<(), Down> {
        let endpoint = || format!("companion:{}", self.config.path.display());
        match message {
            Message::Spoken(frame) => {
                // The gate is the console's: only what it admits goes on.
                if self.gate.admits(&frame) {
                    if self.upstream.try_send(frame).is_ok() {
                        self.shared.frames_sent.fetch_add(1, Ordering::Relaxed);
                    } else {
                        self.shared.upstream_dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Message::Levels([customer, agent, others, microphone]) => {
                *self
                    .shared
                    .meters
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Meters {
                    parties: PartyLevels {
                        customer,
                        agent,
                        others,
                    },
                    microphone,
                };
            }
            Message::Event(event) => {
                let event = match event {
                    DeviceEvent::OutputReady(_) => return Ok(()),
                    DeviceEvent::OutputFailed(reason) => AudioEvent::OutputFailed {
                        endpoint: endpoint(),
                        reason: format!("the companion's output failed: {reason}"),
                    },
                    DeviceEvent::InputReady(description) => AudioEvent::InputReady { description },
                    DeviceEvent::InputFailed(reason) => AudioEvent::InputFailed {
                        endpoint: endpoint(),
                        reason,
                    },
                    DeviceEvent::InputClosed => AudioEvent::InputClosed,
                };
                let _ = self.events.send(event);
            }
            Message::Refused { reason } => return Err(LinkError::Refused(reason).into()),
            Message::Hello { .. }
            | Message::Challenge(_)
            | Message::Proof(_)
            | Message::Admitted
            | Message::Call(_)
            | Message::Layout(_)
            | Message::Tracks(_)
            | Message::Gains(_)
            | Message::Microphone(_)
            | Message::Talk(_)
            | Message::Audio(_) => {
                return Err(Down::Link(LinkError::Unexpected(
                    "the companion sent a console's message: not a floorwalk companion",
                )));
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
    fn a_new_connection_is_told_the_controls_talk_only_with_the_microphone() {
        let mut wanted = Wanted::default();
        wanted.note(&Message::Call(Some("c-7".into())));
        wanted.note(&Message::Tracks(vec![(11, Role::Customer)]));
        wanted.note(&Message::Talk(Some(31)));
        let replay = wanted.replay(Layout::Mono);
        assert_eq!(
            replay,
            [
                Message::Layout(Layout::Mono),
                Message::Call(Some("c-7".into())),
                Message::Tracks(vec![(11, Role::Customer)]),
                Message::Microphone(false),
                Message::Talk(None),
            ]
        );
        wanted.note(&Message::Microphone(true));
        assert_eq!(
            wanted.replay(Layout::Mono).last(),
            Some(&Message::Talk(Some(31)))
        );
    }
}
