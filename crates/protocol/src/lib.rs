//! Protocol v1: the wire types and the audio frame codec, nothing else.
//!
//! Text frames carry one JSON object with a `"type"`; unknown types and unknown
//! fields are ignored so the protocol can grow. Binary frames carry audio.

mod frame;
mod messages;
mod objects;
mod time;

pub use frame::*;
pub use messages::*;
pub use objects::*;
pub use time::{Timestamp, TimestampError};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// The WebSocket path of the supervisor endpoint.
pub const PATH: &str = "/v1/supervisor";
/// The WebSocket subprotocol both sides name.
pub const SUBPROTOCOL: &str = "floorwalk.v1";
/// The largest text frame a peer may send.
pub const MAX_TEXT_FRAME: usize = 16 * 1024 * 1024;
/// The close code for a frame over the limits.
pub const CLOSE_TOO_BIG: u16 = 1009;

/// A text frame that parsed: either a message this build knows, or one whose
/// `type` it does not know (to be logged and ignored).
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed<T> {
    Known(T),
    Unknown { kind: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("text frame of {0} bytes exceeds the 16 MiB limit")]
    TooLarge(usize),
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("message has no \"type\" field")]
    MissingType,
}

/// Parses a text frame from the server.
///
/// The `type` is read first and the body then parsed straight into its
/// struct: serde's internally tagged enums would buffer the whole message
/// first, which doubles the cost of a 10,000-call snapshot.
pub fn parse_server(text: &str) -> Result<Parsed<ServerMessage>, ParseError> {
    use ServerMessage as M;
    let kind = message_type(text)?;
    let message = match kind.as_str() {
        "hello" => M::Hello(body(text)?),
        "snapshot" => M::Snapshot(body(text)?),
        "agent" => M::Agent(body(text)?),
        "queue" => M::Queue(body(text)?),
        "call_started" => M::CallStarted(body(text)?),
        "call_updated" => M::CallUpdated(body(text)?),
        "call_ended" => M::CallEnded(body(text)?),
        "leg_joined" => M::LegJoined(body(text)?),
        "leg_changed" => M::LegChanged(body(text)?),
        "leg_left" => M::LegLeft(body(text)?),
        "transcript" => M::Transcript(body(text)?),
        "reply" => M::Reply(body(text)?),
        "notice" => M::Notice(body(text)?),
        "floor_status" => M::FloorStatus(body(text)?),
        _ => return unknown(text, kind),
    };
    Ok(Parsed::Known(message))
}

/// Parses a text frame from a console.
pub fn parse_client(text: &str) -> Result<Parsed<ClientMessage>, ParseError> {
    let kind = message_type(text)?;
    const KNOWN: [&str; 5] = ["subscribe", "monitor", "set_mode", "disconnect", "end_call"];
    if !KNOWN.contains(&kind.as_str()) {
        return unknown(text, kind);
    }
    body(text).map(Parsed::Known)
}

/// The `type` of a JSON object, checking the size limit first.
fn message_type(text: &str) -> Result<String, ParseError> {
    if text.len() > MAX_TEXT_FRAME {
        return Err(ParseError::TooLarge(text.len()));
    }
    // Fast path for the common layout where `type` is the first key.
    if let Some(rest) = text.trim_start().strip_prefix("{\"type\":\"")
        && let Some(end) = rest.find('"')
        && !rest[..end].contains('\\')
    {
        return Ok(rest[..end].to_owned());
    }
    #[derive(serde::Deserialize)]
    struct Tag {
        #[serde(rename = "type")]
        kind: Option<serde_json::Value>,
    }
    let tag: Tag = serde_json::from_str(text).map_err(|e| ParseError::Malformed(e.to_string()))?;
    match tag.kind {
        Some(serde_json::Value::String(kind)) => Ok(kind),
        Some(other) => Err(ParseError::Malformed(format!(
            "\"type\" must be a string, not {other}"
        ))),
        None => Err(ParseError::MissingType),
    }
}

/// A message of a type this build does not know, once it is known to be JSON.
fn unknown<T>(text: &str, kind: String) -> Result<Parsed<T>, ParseError> {
    body::<serde::de::IgnoredAny>(text)?;
    Ok(Parsed::Unknown { kind })
}

fn body<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ParseError> {
    serde_json::from_str(text).map_err(|e| ParseError::Malformed(e.to_string()))
}

/// Serialises a message to its text frame.
pub fn to_text<T: serde::Serialize>(message: &T) -> String {
    // Serialising these plain types cannot fail: no maps with non-string keys.
    serde_json::to_string(message).unwrap_or_default()
}

#[cfg(test)]
mod tests;
