//! Audio between Asterisk's WebSocket media channels and protocol-v1 frames.
//!
//! Asterisk speaks slin16 (16 kHz, 16-bit little-endian, 640 bytes per
//! 20 ms) on `/media/<connection id>` with subprotocol `media`; consoles
//! speak Opus. An *ear* reads one party's audio from its media channel and
//! sends it on as Opus frames on that party's track; a *mouth* takes a
//! supervisor's Opus frames, decodes them and writes them to the media
//! channel bridged with the whisper snoops. Opus runs at 16 kHz here: the
//! packets are the same to a 48 kHz decoder, and nothing is resampled.

use crate::ari::AriAccess;
use floorwalk_protocol::{AudioFrame, FLAG_SPURT_START, FrameHeader, MAX_OPUS_PACKET};
use floorwalk_server::FloorOutput;
use futures_util::{SinkExt as _, StreamExt as _};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// slin16: 16 kHz.
pub const RATE: u32 = 16_000;
/// One 20 ms frame of slin16, in bytes.
pub const FRAME_BYTES: usize = 640;
/// One 20 ms frame in the protocol's 48 kHz clock.
const FRAME_TICKS: u32 = 960;
/// How long a media channel may take to connect and say MEDIA_START.
pub const OPEN_DEADLINE: Duration = Duration::from_secs(5);
/// Speech bitrate toward consoles.
const BITRATE: i32 = 24_000;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A connected media channel (MEDIA_START seen).
pub struct MediaSocket {
    ws: Socket,
}

/// Connects to a media channel and waits for Asterisk's MEDIA_START.
pub async fn open(access: &AriAccess, connection_id: &str) -> Result<MediaSocket, String> {
    let url = access.ws_url(&format!("media/{connection_id}"));
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("bad media URL: {e}"))?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", http_value("media"));
    let opening = async {
        let (mut ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| format!("the media WebSocket did not open: {e}"))?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) if text.starts_with("MEDIA_START") => {
                    return Ok(MediaSocket { ws });
                }
                Some(Ok(Message::Text(text))) if text.contains("\"MEDIA_START\"") => {
                    return Ok(MediaSocket { ws });
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("the media WebSocket failed: {e}")),
                None => return Err("the media WebSocket closed before MEDIA_START".to_owned()),
            }
        }
    };
    tokio::time::timeout(OPEN_DEADLINE, opening)
        .await
        .map_err(|_| format!("the media WebSocket did not start within {OPEN_DEADLINE:?}"))?
}

fn http_value(text: &'static str) -> tokio_tungstenite::tungstenite::http::HeaderValue {
    tokio_tungstenite::tungstenite::http::HeaderValue::from_static(text)
}

/// A running pump; dropping it stops it.
#[derive(Debug)]
pub struct Pump(JoinHandle<()>);

impl Drop for Pump {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A pump that stopped on its own (Asterisk closed the media channel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    /// The media channel's id.
    pub channel: String,
    pub why: String,
}

/// One party's audio, from slin16 to Opus frames on `track` of `call_id`.
pub fn ear(
    socket: MediaSocket,
    channel: String,
    call_id: String,
    track: u32,
    out: mpsc::Sender<FloorOutput>,
    lost: mpsc::UnboundedSender<Lost>,
) -> Result<Pump, String> {
    let mut encoder = Encoder::new()?;
    let task = async move {
        let mut ws = socket.ws;
        let mut pending: Vec<u8> = Vec::with_capacity(FRAME_BYTES * 2);
        let why = loop {
            match ws.next().await {
                Some(Ok(Message::Binary(data))) => {
                    pending.extend_from_slice(&data);
                    let whole = pending.len() / FRAME_BYTES * FRAME_BYTES;
                    for pcm in pending[..whole].chunks_exact(FRAME_BYTES) {
                        match encoder.frame(track, pcm) {
                            // Real time: a frame the core cannot take now is late already.
                            Ok(frame) => {
                                let _ = out.try_send(FloorOutput::Audio {
                                    call_id: call_id.clone(),
                                    frame,
                                });
                            }
                            Err(e) => tracing::warn!(%e, "cannot encode a frame"),
                        }
                    }
                    pending.drain(..whole);
                }
                Some(Ok(Message::Close(_))) | None => break "Asterisk closed it".to_owned(),
                Some(Ok(_)) => {}
                Some(Err(e)) => break e.to_string(),
            }
        };
        let _ = lost.send(Lost { channel, why });
    };
    Ok(Pump(tokio::spawn(task)))
}

/// A supervisor's voice: Opus frames from `talk` to slin16 on the media
/// channel.
pub fn mouth(
    socket: MediaSocket,
    channel: String,
    mut talk: mpsc::Receiver<Bytes>,
    lost: mpsc::UnboundedSender<Lost>,
) -> Result<Pump, String> {
    let mut decoder = opus::Decoder::new(RATE, opus::Channels::Mono)
        .map_err(|e| format!("cannot make an Opus decoder: {e}"))?;
    let task = async move {
        let mut ws = socket.ws;
        let mut pcm = vec![0i16; (RATE / 50) as usize * 6];
        let why = loop {
            tokio::select! {
                frame = talk.recv() => {
                    let Some(frame) = frame else { return };
                    let Ok(frame) = AudioFrame::decode(&frame) else { continue };
                    let samples = match decoder.decode(frame.opus, &mut pcm, false) {
                        Ok(n) => n,
                        Err(e) => {
                            tracing::debug!(%e, "a supervisor's packet does not decode");
                            continue;
                        }
                    };
                    let bytes: Vec<u8> = pcm[..samples].iter().flat_map(|s| s.to_le_bytes()).collect();
                    if let Err(e) = ws.send(Message::Binary(bytes.into())).await {
                        break e.to_string();
                    }
                }
                message = ws.next() => match message {
                    Some(Ok(Message::Close(_))) | None => break "Asterisk closed it".to_owned(),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break e.to_string(),
                },
            }
        };
        let _ = lost.send(Lost { channel, why });
    };
    Ok(Pump(tokio::spawn(task)))
}

/// slin16 frames to protocol frames of one track.
struct Encoder {
    opus: opus::Encoder,
    samples: Vec<i16>,
    packet: Vec<u8>,
    seq: u32,
    timestamp: u32,
    started: bool,
}

impl Encoder {
    fn new() -> Result<Self, String> {
        let setup = || -> Result<opus::Encoder, opus::Error> {
            let mut opus = opus::Encoder::new(RATE, opus::Channels::Mono, opus::Application::Voip)?;
            opus.set_bitrate(opus::Bitrate::Bits(BITRATE))?;
            opus.set_complexity(5)?;
            Ok(opus)
        };
        Ok(Self {
            opus: setup().map_err(|e| format!("cannot make an Opus encoder: {e}"))?,
            samples: Vec::with_capacity(FRAME_BYTES / 2),
            packet: vec![0; MAX_OPUS_PACKET],
            seq: 0,
            timestamp: 0,
            started: false,
        })
    }

    fn frame(&mut self, track: u32, pcm: &[u8]) -> Result<Bytes, String> {
        self.samples.clear();
        self.samples.extend(
            pcm.chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
        let len = self
            .opus
            .encode(&self.samples, &mut self.packet)
            .map_err(|e| e.to_string())?;
        let header = FrameHeader {
            flags: if self.started { 0 } else { FLAG_SPURT_START },
            track,
            seq: self.seq,
            timestamp: self.timestamp,
        };
        self.started = true;
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(FRAME_TICKS);
        let mut out = Vec::with_capacity(16 + len);
        AudioFrame {
            header,
            opus: &self.packet[..len],
        }
        .encode_into(&mut out)
        .map_err(|e| e.to_string())?;
        Ok(out.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slin16_becomes_numbered_opus_frames_that_decode_back() {
        let mut encoder = Encoder::new().unwrap();
        let tone: Vec<u8> = (0..320)
            .flat_map(|i| {
                let s = (f32::sin(i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 16_000.0)
                    * 8000.0) as i16;
                s.to_le_bytes()
            })
            .collect();
        let mut decoder = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
        for n in 0..3u32 {
            let bytes = encoder.frame(7, &tone).unwrap();
            let frame = AudioFrame::decode(&bytes).unwrap();
            assert_eq!(frame.header.track, 7);
            assert_eq!(frame.header.seq, n);
            assert_eq!(frame.header.timestamp, n * FRAME_TICKS);
            assert_eq!(frame.header.spurt_start(), n == 0);
            let mut pcm = vec![0f32; 5760];
            // A 48 kHz decoder reads it as 20 ms.
            assert_eq!(
                decoder.decode_float(frame.opus, &mut pcm, false).unwrap(),
                960
            );
        }
    }
}
