//! The WebSocket client: connect, subscribe, resume, heartbeats, and commands
//! with replies. It runs on its own tokio task and talks to the app through
//! channels; the app never touches the socket.

mod events;
pub use events::*;
