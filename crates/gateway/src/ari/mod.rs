//! A thin ARI client of the gateway's own: the REST requests it makes, the
//! events socket, and the objects both speak of (see docs/asterisk.md for
//! why not an ARI crate).

pub mod events;
pub mod rest;
pub mod socket;

pub use events::{Bridge, Channel, Event};
pub use rest::{AriAccess, AriError, Rest};
pub use socket::{EventSocket, Heard};
