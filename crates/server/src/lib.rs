//! The protocol-v1 server core: everything the contract promises, enforced
//! once, for every contact center behind it.
//!
//! A contact center plugs in as a [`Floor`] (see [`floor`] for what a new
//! floor must do): the simulator (`floorwalk sim`, `floorwalk demo`) is one,
//! a real PBX gateway another. [`serve`] binds a port (loopback for plain
//! `ws://`, any address with TLS) and returns at once with a
//! [`ServerHandle`]. Behind it:
//!
//! - `socket`: the sockets: TLS when configured ([`TlsFiles`]), upgrade checks (404 for another path, 401 for a
//!   bad token, before the upgrade), the `floorwalk.v1` subprotocol, frame
//!   limits (close 1009), heartbeats, rate limits, silence past the lease.
//! - `hub`: the one task that owns the floor and every supervisor's stream,
//!   fans events and audio out within each supervisor's teams, and lets go
//!   of legs when a lease runs out.
//! - `scope`: the core's own copy of the floor, and the team of every event.
//! - `legs`: the console legs and the checks every command passes before the
//!   floor sees it (`forbidden`, `not_your_leg`, `bad_confirmation`,
//!   `conflict`, `already_left`), and the microphone gate.
//! - `stream`: one event stream per supervisor, numbered by exactly 1, with
//!   a replay window so a console that reconnects gets just what it missed.
//! - [`accounts`]: the supervisors who may connect.
//! - [`records`]: the hook through which every supervisor presence is
//!   written down (a join is confirmed once its record is committed).
//! - [`impair`]: a seeded network impairment of the audio sent to consoles,
//!   for tests and demos of the console's jitter buffer.
//!
//! Choices the contract leaves open, made here:
//!
//! - A command's events are sent before its reply.
//! - Session ids are new for every server run; a supervisor's session lasts
//!   as long as the run, across any number of reconnects.
//! - Subscribes are rate-limited separately from commands; an excess
//!   subscribe is answered with a `notice` and ignored.
//! - `set_mode` to the mode a leg already has is answered at once.
//! - A command the floor has not finished within `command_timeout_ms` is
//!   answered `unavailable`; a join that finishes later is undone at once.
//! - With a [`RecordKeeper`], a join's `ok` waits for its record's commit;
//!   while the keeper cannot write, joins are answered `unavailable`.

pub mod accounts;
mod courier;
#[cfg(any(test, feature = "test-support"))]
pub mod fixture;
pub mod floor;
mod hub;
pub mod impair;
mod legs;
mod limits;
pub mod records;
mod scope;
mod socket;
mod stream;
mod tls;
mod wire;

pub use accounts::{Account, demo_accounts, load_accounts};
pub use floor::{
    Floor, FloorCommand, FloorError, FloorOutput, FloorState, Health, Joined, Outcome, Talk,
    TeamQueue, Ticket,
};
pub use impair::{Impairment, ImpairmentError};
pub use records::{CallRecord, Commit, EndReason, JoinRecord, RecordEvent, RecordKeeper};
pub use stream::Retention;
pub use tls::TlsFiles;

use anyhow::{Context as _, bail};
use floorwalk_protocol::{PATH, Snapshot};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// How to serve a floor.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where to listen (port 0 picks a free port): loopback only without
    /// TLS, anywhere with it.
    pub listen: SocketAddr,
    /// The certificate and key to serve `wss://` with; `None`: plain `ws://`.
    pub tls: Option<TlsFiles>,
    /// Who may connect.
    pub accounts: Vec<Account>,
    /// How long a supervisor's legs outlive their last console.
    pub lease_ms: u64,
    /// How often the server pings each console.
    pub heartbeat_ms: u64,
    /// What the network does to the audio sent to consoles (default: none);
    /// parses from `drop=0.05,reorder=0.02,jitter=30` (see [`Impairment`]).
    pub impair: Impairment,
    /// How much of each stream is kept for consoles that resume.
    pub retention: Retention,
    /// How long the floor may take to finish a command before the console
    /// is answered `unavailable` (a join that finishes later is undone).
    pub command_timeout_ms: u64,
    /// Where every supervisor presence is written (`None`: nowhere). A join
    /// is confirmed only once its record is committed.
    pub records: Option<Arc<dyn RecordKeeper>>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: None,
            accounts: demo_accounts(),
            lease_ms: 15_000,
            heartbeat_ms: 5_000,
            impair: Impairment::default(),
            retention: Retention::default(),
            command_timeout_ms: 10_000,
            records: None,
        }
    }
}

impl ServerOptions {
    /// Refuses options the contract or the machine cannot honour (before
    /// any socket is opened; the TLS files are read by [`serve`]).
    pub fn check(&self) -> anyhow::Result<()> {
        if self.tls.is_none() && !self.listen.ip().is_loopback() {
            bail!(
                "plain ws:// is served on loopback only, not {}: give a TLS certificate and key to serve wss:// there",
                self.listen
            );
        }
        if self.lease_ms < 100 {
            bail!("lease_ms must be at least 100, not {}", self.lease_ms);
        }
        if self.heartbeat_ms < 10 {
            bail!(
                "heartbeat_ms must be at least 10, not {}",
                self.heartbeat_ms
            );
        }
        if self.heartbeat_ms >= self.lease_ms {
            bail!(
                "heartbeat_ms ({}) must be shorter than lease_ms ({}): consoles that only answer pings would lose their legs",
                self.heartbeat_ms,
                self.lease_ms
            );
        }
        if self.command_timeout_ms < 100 {
            bail!(
                "command_timeout_ms must be at least 100, not {}",
                self.command_timeout_ms
            );
        }
        self.impair.check()?;
        accounts::validate_accounts(&self.accounts)
    }
}

/// A running server.
pub struct ServerHandle {
    /// The address it listens on.
    pub addr: SocketAddr,
    tls: bool,
    hub: mpsc::Sender<hub::Request>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// The console's server URL, e.g. `ws://127.0.0.1:40123/v1/supervisor`,
    /// or `wss://…` with TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{PATH}", self.addr)
    }

    /// The whole floor as the core knows it, every team (`seq` 0).
    pub async fn floor_snapshot(&self) -> anyhow::Result<Snapshot> {
        let (reply, answer) = oneshot::channel();
        self.hub
            .send(hub::Request::FloorSnapshot { reply })
            .await
            .context("the server has stopped")?;
        answer.await.context("the server has stopped")
    }

    /// Stops accepting, closes every console (code 1001), lets the floor go
    /// and waits for the tasks to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks.drain(..) {
            // A task that panicked has nothing left to clean up.
            let _ = task.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        // Dropping the handle stops the server too (the tasks watch this).
        let _ = self.shutdown.send(true);
    }
}

/// Reads the TLS files, binds, spawns the server's tasks around `floor` and
/// returns at once.
pub async fn serve<F: Floor>(floor: F, opts: ServerOptions) -> anyhow::Result<ServerHandle> {
    opts.check()?;
    let tls = opts.tls.as_ref().map(tls::acceptor).transpose()?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let timing = hub::Timing {
        heartbeat: Duration::from_millis(opts.heartbeat_ms),
        lease: Duration::from_millis(opts.lease_ms),
        command: Duration::from_millis(opts.command_timeout_ms),
    };
    let mut hub = hub::Hub::new(
        floor,
        &opts.accounts,
        timing,
        opts.retention,
        courier::Courier::new(opts.impair),
    );
    if let Some(keeper) = opts.records.clone() {
        hub = hub.with_records(keeper);
    }
    let (requests, inbox) = mpsc::channel(1024);
    let (shutdown, watching) = watch::channel(false);
    let ctx = Arc::new(socket::Context {
        tls,
        accounts: opts.accounts,
        hub: requests.clone(),
        heartbeat: timing.heartbeat,
        lease: timing.lease,
    });
    let tasks = vec![
        tokio::spawn(hub.run(inbox, watching.clone())),
        tokio::spawn(socket::accept_loop(listener, ctx, watching)),
    ];
    tracing::info!(%addr, tls = opts.tls.is_some(), impair = %opts.impair, "server listening");
    Ok(ServerHandle {
        addr,
        tls: opts.tls.is_some(),
        hub: requests,
        shutdown,
        tasks,
    })
}

/// A 64-bit mixer (SplitMix64): turns seeds and counters into unrelated
/// seeds.
pub fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        ServerOptions::default().check().unwrap();
    }

    #[test]
    fn with_tls_any_address_will_do() {
        let opts = ServerOptions {
            listen: "0.0.0.0:0".parse().unwrap(),
            tls: Some(TlsFiles {
                cert_chain: "cert.pem".into(),
                private_key: "key.pem".into(),
            }),
            ..ServerOptions::default()
        };
        opts.check().unwrap();
    }

    #[test]
    fn bad_options_are_refused_with_a_reason() {
        type Spoil = fn(&mut ServerOptions);
        let cases: [(Spoil, &str); 8] = [
            (|o| o.listen = "0.0.0.0:0".parse().unwrap(), "loopback only"),
            (
                |o| o.listen = "[::]:0".parse().unwrap(),
                "give a TLS certificate",
            ),
            (|o| o.lease_ms = 10, "lease_ms must be at least"),
            (|o| o.heartbeat_ms = 0, "heartbeat_ms must be at least"),
            (|o| o.heartbeat_ms = o.lease_ms, "shorter than lease_ms"),
            (
                |o| o.command_timeout_ms = 99,
                "command_timeout_ms must be at least 100",
            ),
            (|o| o.accounts.clear(), "no supervisors"),
            (|o| o.impair.drop = 2.0, "between 0 and 1"),
        ];
        for (spoil, expected) in cases {
            let mut opts = ServerOptions::default();
            spoil(&mut opts);
            let err = opts.check().unwrap_err().to_string();
            assert!(err.contains(expected), "{err:?} lacks {expected:?}");
        }
    }
}
