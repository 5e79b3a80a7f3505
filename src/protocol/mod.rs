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
pub fn parse_server(text: &str) -> Result<Parsed<ServerMessage>, ParseError> {
    parse_tagged(text)
}

/// Parses a text frame from a console.
pub fn parse_client(text: &str) -> Result<Parsed<ClientMessage>, ParseError> {
    parse_tagged(text)
}

fn parse_tagged<T: serde::de::DeserializeOwned>(text: &str) -> Result<Parsed<T>, ParseError> {
    if text.len() > MAX_TEXT_FRAME {
        return Err(ParseError::TooLarge(text.len()));
    }
    match serde_json::from_str::<T>(text) {
        Ok(message) => Ok(Parsed::Known(message)),
        Err(err) => {
            // Tell an unknown `type` (fine, ignored) from a broken known one.
            #[derive(serde::Deserialize)]
            struct Tag {
                #[serde(rename = "type")]
                kind: Option<String>,
            }
            let tag: Tag =
                serde_json::from_str(text).map_err(|_| ParseError::Malformed(err.to_string()))?;
            let kind = tag.kind.ok_or(ParseError::MissingType)?;
            if serde_json::from_value::<T>(serde_json::json!({ "type": kind }))
                .is_err_and(|e| e.to_string().starts_with("unknown variant"))
            {
                Ok(Parsed::Unknown { kind })
            } else {
                Err(ParseError::Malformed(err.to_string()))
            }
        }
    }
}

/// Serialises a message to its text frame.
pub fn to_text<T: serde::Serialize>(message: &T) -> String {
    // Serialising these plain types cannot fail: no maps with non-string keys.
    serde_json::to_string(message).unwrap_or_default()
}

#[cfg(test)]
mod tests;
