//! `[gateway]`: how `floorwalk gateway` reaches Asterisk and serves
//! consoles. Every key has a command-line twin that wins over it.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The ARI password; wins over `ari_password_file` and `ari_password_command`.
pub const ENV_ARI_PASSWORD: &str = "FLOORWALK_ARI_PASSWORD";

/// Unset keys take the gateway's defaults (docs/asterisk.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewaySection {
    /// Where consoles connect (loopback unless TLS is set).
    pub listen: Option<SocketAddr>,
    /// ARI's base URL, e.g. `http://127.0.0.1:8088/ari`.
    pub ari: Option<String>,
    pub ari_user: Option<String>,
    pub ari_password_file: Option<PathBuf>,
    pub ari_password_command: Option<String>,
    /// Names this gateway on Asterisk (letters and digits): its ARI
    /// application is `floorwalk-NAME` and every object it makes starts
    /// with `floorwalk-NAME-`.
    pub name: Option<String>,
    /// Supervisors: the TOML tokens file (`[[supervisor]]` tables).
    pub tokens: Option<PathBuf>,
    /// Agents and queues: the roster file.
    pub roster: Option<PathBuf>,
    pub lease_ms: Option<u64>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The team of agents no variable or roster places.
    pub default_team: Option<String>,
    /// A queued caller answered within this many seconds meets the service level.
    pub sla_secs: Option<u64>,
    /// The Asterisk sound (a name in its sounds directory, no extension)
    /// played to the customer when a supervisor joins with `announce`.
    pub notice_sound: Option<String>,
    pub variables: ChannelVariables,
}

/// The channel variables that mark calls; ari.conf's `channelvars` must
/// list each (and MEMBERNAME, QUEUENAME for app_queue's fallbacks).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelVariables {
    pub role: Option<String>,
    pub agent: Option<String>,
    pub team: Option<String>,
    pub queue: Option<String>,
    pub recording: Option<String>,
}
