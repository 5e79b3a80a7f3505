//! What the feed tells the app, and what the app asks of the feed.

use floorwalk_protocol::{Hello, ReplyError, ServerMessage};
use std::time::Duration;

/// Something the feed reports to the app.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedEvent {
    /// Not connected; the next attempt starts after `retry_in`.
    /// `attempt` counts from 1 since the last good connection.
    Connecting {
        attempt: u32,
        retry_in: Duration,
        last_error: Option<String>,
    },
    /// The server said hello and the feed subscribed (fresh or resuming).
    Connected { hello: Hello, resumed: bool },
    /// A snapshot, a state event (contiguous by `seq`: the feed resumes over
    /// gaps itself) or a notice.
    Message(ServerMessage),
    /// The reply to a command sent with [`FeedHandle`](super::FeedHandle), matched by `req`.
    Reply {
        req: String,
        outcome: Result<serde_json::Value, CommandFailure>,
        latency: Duration,
    },
    /// Round-trip time measured by WebSocket ping/pong.
    Rtt(Duration),
    /// A frame the feed could not understand; the connection carries on.
    ProtocolError(String),
    /// The server refused us for good (bad token, wrong protocol): the feed
    /// stops retrying. The text is meant for the supervisor.
    Fatal(String),
}

/// Why a command did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandFailure {
    #[error("{0}")]
    Refused(ReplyError),
    #[error("no reply from the server within {0:?}")]
    Timeout(Duration),
    #[error("not connected to the server")]
    Offline,
    /// Never sent: the audit journal could not record it first.
    #[error("not sent, because the audit journal cannot record it: {0}")]
    NotRecorded(String),
}
