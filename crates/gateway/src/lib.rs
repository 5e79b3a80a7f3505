//! The Asterisk gateway: a protocol-v1 floor from a real Asterisk, through
//! ARI, served by the floorwalk server core (`floorwalk gateway`).
//!
//! - [`ari`]: a thin client of ARI (REST, the events socket, the objects).
//! - [`model`]: the mirror of Asterisk and the floor it reads from it
//!   (which bridges are calls, who is customer and agent, agents, queues);
//!   [`board`]: that floor as protocol events. Both pure.
//! - `work`: what a join, a mode switch, a leave and an end-call ask of
//!   Asterisk; `media`: slin16 ↔ Opus on WebSocket media channels.
//! - `driver`: the task that owns it all; [`AsteriskFloor`]: the
//!   [`floorwalk_server::Floor`] in front of it.
//!
//! docs/asterisk.md says how to set Asterisk up and what the gateway does
//! on it.

pub mod ari;
pub mod board;
mod driver;
mod floor;
mod media;
pub mod model;
pub mod roster;
mod work;

pub use driver::Identity;
pub use floor::AsteriskFloor;

use floorwalk_server::{ServerHandle, ServerOptions};

/// How to run a gateway.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    pub ari: ari::AriAccess,
    pub identity: Identity,
    pub marks: model::Marks,
    pub roster: roster::Roster,
    pub server: ServerOptions,
}

/// The sound a gateway plays as the monitoring notice unless told
/// otherwise (`[gateway] notice_sound`): docs/asterisk.md says how to
/// install it.
pub const DEFAULT_NOTICE_SOUND: &str = "floorwalk-monitoring-notice";

impl GatewayOptions {
    /// The gateway's identity on Asterisk for a gateway named `name`, with
    /// the default monitoring notice.
    pub fn identity(name: &str) -> Identity {
        Identity {
            app: format!("floorwalk-{name}"),
            prefix: format!("floorwalk-{name}-"),
            notice_sound: DEFAULT_NOTICE_SOUND.to_owned(),
        }
    }
}

/// Connects to Asterisk and serves its floor over protocol v1.
pub async fn start(options: GatewayOptions) -> anyhow::Result<ServerHandle> {
    options.server.check()?;
    let rest = ari::Rest::new(options.ari)?;
    let floor = AsteriskFloor::start(rest, options.identity, options.marks, options.roster).await?;
    floorwalk_server::serve(floor, options.server).await
}
