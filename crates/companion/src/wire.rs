//! The companion's wire format, pure: length-prefixed binary frames with a
//! hard size cap, each one typed message.
//!
//! ```text
//! frame   = length:u32be kind:u8 body        (length = 1 + body, ≤ MAX_FRAME)
//! hello   = "FWCOMPANION" version:u16be name:utf8        (first, both ways)
//! then      companion: challenge(nonce)  console: proof(mac | none)
//!           companion: admitted | refused(reason)
//! ```
//!
//! The console sends the call's protocol-v1 binary frames verbatim
//! ([`Message::Audio`]) and the controls; the companion sends levels, its
//! devices' events and the microphone's frames ([`Message::Microphone`],
//! protocol-v1 binary frames too). A peer that does not start with a hello
//! of this version is refused with a reason ([`Message::Refused`]). Version 2
//! added the challenge (see [`crate::key`]) and the call's id.

use crate::key::{KEY_LEN, Nonce};
use floorwalk_audio::mix::{Gains, Layout};
use floorwalk_audio::signal::Level;
use floorwalk_protocol::{MAX_BINARY_FRAME, Role};

/// The version of this wire format; both ends must speak the same.
pub const VERSION: u16 = 2;
/// What every hello starts with, so that anything else is told apart.
pub const MAGIC: &[u8; 11] = b"FWCOMPANION";
/// The largest frame (kind and body) either end accepts: an audio frame
/// with room to spare; nothing legitimate comes close.
pub const MAX_FRAME: usize = 4096;
/// The longest text in a message (names, descriptions, reasons).
pub const MAX_TEXT: usize = 512;
/// The most tracks a call is played with (a call has a handful of legs).
pub const MAX_TRACKS: usize = 64;

/// One message of the companion protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// The first message each way: the version and who is speaking
    /// (`user@host` of the console; the companion's machine name).
    Hello {
        version: u16,
        name: String,
    },
    /// The other end is refused (wrong version, busy, not allowed); the
    /// connection closes after it.
    Refused {
        reason: String,
    },
    /// The companion's nonce, after the hellos.
    Challenge(Nonce),
    /// The console's answer: HMAC of the nonce with the key, or none when
    /// it has no key.
    Proof(Option<[u8; KEY_LEN]>),
    /// The companion let the console in.
    Admitted,
    // Console to companion.
    /// The call being played (its protocol-v1 id), for the status line.
    Call(Option<String>),
    /// The mix layout (mono or split-ear).
    Layout(Layout),
    /// Play exactly these tracks (the joined call's legs, not my own).
    Tracks(Vec<(u32, Role)>),
    Gains(Gains),
    /// Open (whisper, barge) or close the microphone.
    Microphone(bool),
    /// Push-to-talk: encode the microphone on this track, or stop.
    Talk(Option<u32>),
    /// A downstream protocol-v1 binary frame, as it came from the server.
    Audio(Vec<u8>),
    // Companion to console.
    /// The meters: customer, agent, others, microphone.
    Levels([Level; 4]),
    /// The companion's output or microphone changed.
    Event(DeviceEvent),
    /// An upstream protocol-v1 binary frame from the microphone.
    Spoken(Vec<u8>),
}

/// What the companion's devices did, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    OutputReady(String),
    OutputFailed(String),
    InputReady(String),
    InputFailed(String),
    InputClosed,
}

/// Why bytes are not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error(
        "a frame of {0} bytes is over the limit of {MAX_FRAME}: not a floorwalk companion peer"
    )]
    TooLong(usize),
    #[error("an empty frame")]
    Empty,
    #[error("a frame ends early (message kind {0:#04x})")]
    Truncated(u8),
    #[error("unknown message kind {0:#04x} (a different floorwalk version?)")]
    UnknownKind(u8),
    #[error("message kind {kind:#04x}: {what}")]
    Invalid { kind: u8, what: &'static str },
    #[error("not a floorwalk companion hello")]
    NotHello,
}

const HELLO: u8 = 0x01;
const REFUSED: u8 = 0x02;
const CHALLENGE: u8 = 0x03;
const PROOF: u8 = 0x04;
const ADMITTED: u8 = 0x05;
const LAYOUT: u8 = 0x10;
const TRACKS: u8 = 0x11;
const GAINS: u8 = 0x12;
const MICROPHONE: u8 = 0x13;
const TALK: u8 = 0x14;
const AUDIO: u8 = 0x15;
const CALL: u8 = 0x16;
const LEVELS: u8 = 0x20;
const EVENT: u8 = 0x21;
const SPOKEN: u8 = 0x22;

impl Message {
    fn kind(&self) -> u8 {
        match self {
            Message::Hello { .. } => HELLO,
            Message::Refused { .. } => REFUSED,
            Message::Challenge(_) => CHALLENGE,
            Message::Proof(_) => PROOF,
            Message::Admitted => ADMITTED,
            Message::Call(_) => CALL,
            Message::Layout(_) => LAYOUT,
            Message::Tracks(_) => TRACKS,
            Message::Gains(_) => GAINS,
            Message::Microphone(_) => MICROPHONE,
            Message::Talk(_) => TALK,
            Message::Audio(_) => AUDIO,
            Message::Levels(_) => LEVELS,
            Message::Event(_) => EVENT,
            Message::Spoken(_) => SPOKEN,
        }
    }

    /// The message as one frame, length prefix included. Texts longer than
    /// [`MAX_TEXT`] are cut (at a character boundary).
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let kind = self.kind();
        let mut frame = vec![0, 0, 0, 0, kind];
        match self {
            Message::Hello { version, name } => {
                frame.extend_from_slice(MAGIC);
                frame.extend_from_slice(&version.to_be_bytes());
                put_text(&mut frame, name);
            }
            Message::Refused { reason } => put_text(&mut frame, reason),
            Message::Challenge(nonce) => frame.extend_from_slice(nonce),
            Message::Proof(proof) => frame.extend_from_slice(proof.as_ref().map_or(&[][..], |p| p)),
            Message::Admitted => {}
            Message::Call(call) => put_text(&mut frame, call.as_deref().unwrap_or_default()),
            Message::Layout(layout) => frame.push(match layout {
                Layout::Mono => 0,
                Layout::SplitEar => 1,
            }),
            Message::Tracks(tracks) => {
                if tracks.len() > MAX_TRACKS {
                    return Err(WireError::Invalid {
                        kind,
                        what: "too many tracks",
                    });
                }
                for (track, role) in tracks {
                    frame.extend_from_slice(&track.to_be_bytes());
                    frame.push(role_byte(*role));
                }
            }
            Message::Gains(gains) => {
                for gain in [gains.customer, gains.agent, gains.others] {
                    frame.extend_from_slice(&gain.to_be_bytes());
                }
            }
            Message::Microphone(on) => frame.push(u8::from(*on)),
            Message::Talk(track) => {
                if let Some(track) = track {
                    frame.extend_from_slice(&track.to_be_bytes());
                }
            }
            Message::Audio(audio) | Message::Spoken(audio) => {
                if audio.len() > MAX_BINARY_FRAME {
                    return Err(WireError::Invalid {
                        kind,
                        what: "an audio frame over the protocol's limit",
                    });
                }
                frame.extend_from_slice(audio);
            }
            Message::Levels(levels) => {
                for level in levels {
                    frame.extend_from_slice(&level.peak.to_be_bytes());
                    frame.extend_from_slice(&level.rms.to_be_bytes());
                }
            }
            Message::Event(event) => {
                let (code, text) = match event {
                    DeviceEvent::OutputReady(t) => (0, t.as_str()),
                    DeviceEvent::OutputFailed(t) => (1, t.as_str()),
                    DeviceEvent::InputReady(t) => (2, t.as_str()),
                    DeviceEvent::InputFailed(t) => (3, t.as_str()),
                    DeviceEvent::InputClosed => (4, ""),
                };
                frame.push(code);
                put_text(&mut frame, text);
            }
        }
        finish(frame)
    }

    /// Parses one frame's kind and body (the length prefix already taken
    /// off by [`frame_length`]).
    pub fn decode(frame: &[u8]) -> Result<Message, WireError> {
        let (&kind, body) = frame.split_first().ok_or(WireError::Empty)?;
        let invalid = |what| WireError::Invalid { kind, what };
        let message = match kind {
            HELLO => {
                let rest = body.strip_prefix(MAGIC).ok_or(WireError::NotHello)?;
                let (version, name) = rest.split_at_checked(2).ok_or(WireError::Truncated(kind))?;
                Message::Hello {
                    version: u16::from_be_bytes([version[0], version[1]]),
                    name: text(kind, name)?,
                }
            }
            REFUSED => Message::Refused {
                reason: text(kind, body)?,
            },
            CHALLENGE => Message::Challenge(
                body.try_into()
                    .map_err(|_| invalid("a nonce of the wrong length"))?,
            ),
            PROOF => Message::Proof(match body {
                [] => None,
                _ => Some(
                    body.try_into()
                        .map_err(|_| invalid("a proof of the wrong length"))?,
                ),
            }),
            ADMITTED if body.is_empty() => Message::Admitted,
            ADMITTED => return Err(invalid("a body after admitted")),
            CALL => {
                let call = text(kind, body)?;
                Message::Call((!call.is_empty()).then_some(call))
            }
            LAYOUT => Message::Layout(match body {
                [0] => Layout::Mono,
                [1] => Layout::SplitEar,
                [] => return Err(WireError::Truncated(kind)),
                _ => return Err(invalid("an unknown layout")),
            }),
            TRACKS => {
                if body.len() % 5 != 0 {
                    return Err(WireError::Truncated(kind));
                }
                if body.len() / 5 > MAX_TRACKS {
                    return Err(invalid("too many tracks"));
                }
                Message::Tracks(
                    body.chunks_exact(5)
                        .map(|c| (u32::from_be_bytes([c[0], c[1], c[2], c[3]]), role(c[4])))
                        .collect(),
                )
            }
            GAINS => {
                let [c, a, o] = floats::<3>(kind, body)?;
                if [c, a, o].iter().any(|g| !(0.0..=16.0).contains(g)) {
                    return Err(invalid("a gain outside 0 to 16"));
                }
                Message::Gains(Gains {
                    customer: c,
                    agent: a,
                    others: o,
                })
            }
            MICROPHONE => Message::Microphone(match body {
                [0] => false,
                [1] => true,
                [] => return Err(WireError::Truncated(kind)),
                _ => return Err(invalid("neither on nor off")),
            }),
            TALK => Message::Talk(match body {
                [] => None,
                [a, b, c, d] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
                _ => return Err(WireError::Truncated(kind)),
            }),
            AUDIO | SPOKEN => {
                if body.len() > MAX_BINARY_FRAME {
                    return Err(invalid("an audio frame over the protocol's limit"));
                }
                if kind == AUDIO {
                    Message::Audio(body.to_vec())
                } else {
                    Message::Spoken(body.to_vec())
                }
            }
            LEVELS => {
                let v = floats::<8>(kind, body)?;
                if v.iter().any(|x| !x.is_finite() || *x < 0.0) {
                    return Err(invalid("a level that is not a number"));
                }
                let level = |i: usize| Level {
                    peak: v[2 * i],
                    rms: v[2 * i + 1],
                };
                Message::Levels([level(0), level(1), level(2), level(3)])
            }
            EVENT => {
                let (&code, rest) = body.split_first().ok_or(WireError::Truncated(kind))?;
                let t = text(kind, rest)?;
                Message::Event(match code {
                    0 => DeviceEvent::OutputReady(t),
                    1 => DeviceEvent::OutputFailed(t),
                    2 => DeviceEvent::InputReady(t),
                    3 => DeviceEvent::InputFailed(t),
                    4 => DeviceEvent::InputClosed,
                    _ => return Err(invalid("an unknown device event")),
                })
            }
            other => return Err(WireError::UnknownKind(other)),
        };
        Ok(message)
    }
}

/// The length a frame's 4-byte prefix announces, checked against the cap
/// before anything is read or allocated.
pub fn frame_length(prefix: [u8; 4]) -> Result<usize, WireError> {
    let length = u32::from_be_bytes(prefix) as usize;
    match length {
        0 => Err(WireError::Empty),
        n if n > MAX_FRAME => Err(WireError::TooLong(n)),
        n => Ok(n),
    }
}

fn finish(mut frame: Vec<u8>) -> Result<Vec<u8>, WireError> {
    let length = frame.len() - 4;
    if length > MAX_FRAME {
        return Err(WireError::TooLong(length));
    }
    frame[..4].copy_from_slice(&(length as u32).to_be_bytes());
    Ok(frame)
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    out.extend_from_slice(&text.as_bytes()[..end]);
}

fn text(kind: u8, bytes: &[u8]) -> Result<String, WireError> {
    if bytes.len() > MAX_TEXT {
        return Err(WireError::Invalid {
            kind,
            what: "a text over the limit",
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| WireError::Invalid {
        kind,
        what: "text that is not UTF-8",
    })?;
    // Shown on screens: no control characters from the other end.
    Ok(text.chars().filter(|c| !c.is_control()).collect())
}

fn floats<const N: usize>(kind: u8, body: &[u8]) -> Result<[f32; N], WireError> {
    if body.len() != 4 * N {
        return Err(WireError::Truncated(kind));
    }
    let mut out = [0.0; N];
    for (slot, chunk) in out.iter_mut().zip(body.chunks_exact(4)) {
        *slot = f32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    Ok(out)
}

fn role_byte(role: Role) -> u8 {
    match role {
        Role::Customer => 0,
        Role::Agent => 1,
        Role::Supervisor => 2,
        Role::Bot => 3,
        Role::Unknown => 255,
    }
}

fn role(byte: u8) -> Role {
    match byte {
        0 => Role::Customer,
        1 => Role::Agent,
        2 => Role::Supervisor,
        3 => Role::Bot,
        _ => Role::Unknown,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn round_trip(message: Message) {
        let bytes = message.encode().unwrap();
        let length = frame_length(bytes[..4].try_into().unwrap()).unwrap();
        assert_eq!(length, bytes.len() - 4);
        assert_eq!(Message::decode(&bytes[4..]).unwrap(), message);
    }

    #[test]
    fn every_message_survives_the_wire() {
        let level = |x: f32| Level {
            peak: x,
            rms: x / 2.0,
        };
        for message in [
            Message::Hello {
                version: VERSION,
                name: "dana@jump1".into(),
            },
            Message::Refused {
                reason: "busy".into(),
            },
            Message::Layout(Layout::SplitEar),
            Message::Tracks(vec![
                (11, Role::Customer),
                (12, Role::Agent),
                (13, Role::Bot),
            ]),
            Message::Tracks(Vec::new()),
            Message::Gains(Gains {
                customer: 0.5,
                agent: 1.0,
                others: 2.0,
            }),
            Message::Microphone(true),
            Message::Talk(Some(31)),
            Message::Talk(None),
            Message::Audio(vec![1; MAX_BINARY_FRAME]),
            Message::Spoken(vec![2; 40]),
            Message::Levels([level(0.1), level(0.2), level(0.0), level(1.0)]),
            Message::Event(DeviceEvent::OutputReady("default (48000 Hz)".into())),
            Message::Event(DeviceEvent::InputClosed),
            Message::Challenge([7; KEY_LEN]),
            Message::Proof(Some([9; KEY_LEN])),
            Message::Proof(None),
            Message::Admitted,
            Message::Call(Some("c-1042".into())),
            Message::Call(None),
        ] {
            round_trip(message);
        }
    }

    #[test]
    fn garbage_truncation_and_oversize_are_named() {
        // An HTTP request or an SSH banner: its first bytes as a length.
        assert!(matches!(frame_length(*b"GET "), Err(WireError::TooLong(_))));
        assert_eq!(frame_length([0; 4]), Err(WireError::Empty));
        assert_eq!(Message::decode(&[0x7f]), Err(WireError::UnknownKind(0x7f)));
        assert_eq!(Message::decode(&[HELLO, b'x']), Err(WireError::NotHello));
        let mut hello = vec![HELLO];
        hello.extend_from_slice(MAGIC);
        hello.push(0);
        assert_eq!(Message::decode(&hello), Err(WireError::Truncated(HELLO)));
        assert_eq!(
            Message::decode(&[TRACKS, 0, 0, 0, 11]),
            Err(WireError::Truncated(TRACKS))
        );
        assert_eq!(
            Message::decode(&[TALK, 0, 1]),
            Err(WireError::Truncated(TALK))
        );
        assert!(matches!(
            Message::decode(&[PROOF, 1, 2, 3]),
            Err(WireError::Invalid { .. })
        ));
        assert!(matches!(
            Message::decode(&[CHALLENGE]),
            Err(WireError::Invalid { .. })
        ));
        assert!(matches!(
            Message::decode(&[MICROPHONE, 7]),
            Err(WireError::Invalid { .. })
        ));
        let nan = f32::NAN.to_be_bytes();
        let mut levels = vec![LEVELS];
        for _ in 0..8 {
            levels.extend_from_slice(&nan);
        }
        assert!(matches!(
            Message::decode(&levels),
            Err(WireError::Invalid { .. })
        ));
        let mut audio = vec![AUDIO];
        audio.resize(MAX_BINARY_FRAME + 2, 0);
        assert!(matches!(
            Message::decode(&audio),
            Err(WireError::Invalid { .. })
        ));
        assert!(
            Message::Audio(vec![0; MAX_BINARY_FRAME + 1])
                .encode()
                .is_err()
        );
    }

    #[test]
    fn texts_are_capped_and_cleaned() {
        let long = "é".repeat(MAX_TEXT);
        let bytes = Message::Refused { reason: long }.encode().unwrap();
        let Message::Refused { reason } = Message::decode(&bytes[4..]).unwrap() else {
            unreachable!()
        };
        assert!(reason.len() <= MAX_TEXT && reason.chars().all(|c| c == 'é'));
        let mut hostile = vec![REFUSED];
        hostile.extend_from_slice(b"no\x1b[2Jpe");
        assert_eq!(
            Message::decode(&hostile),
            Ok(Message::Refused {
                reason: "no[2Jpe".into()
            })
        );
    }
}
