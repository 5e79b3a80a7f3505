//! The simulator: a protocol-v1 server that behaves like a busy contact
//! center, for `floorwalk demo`, `floorwalk sim` and the end-to-end tests.
//!
//! [`start`] binds a port (loopback, unless it serves TLS) and returns at
//! once with a [`ServerHandle`].
//! Behind it:
//!
//! - [`world`]: the floor itself, pure and deterministic for a seed, moved on
//!   in fixed ticks of 100 ms. Agents in several teams take inbound calls
//!   from their team's queue, dial out, hold, wrap up, take breaks and log
//!   off; most calls are recorded, some carry a transcript bot, and
//!   simulated supervisors drop in and out. Customers' numbers are masked by
//!   the server (`+1 ••• ••• 0134`).
//! - `floor`: the world and its audio as a [`floorwalk_server::Floor`]; the
//!   server core does everything a console sees of the protocol (tokens,
//!   team scope, streams and resume, leases, rate limits, the invariants).
//!
//! Choices the contract leaves open, made here:
//!
//! - When a call ends, each supervisor leg on it first leaves with reason
//!   `call_ended`, then `call_ended` removes the call with its other legs.
//! - Console supervisor legs get track numbers from 2^30 up, apart from the
//!   world's own legs.
//!
//! Audio (`media`, driven by the floor): every call a console is on plays
//! its conversation (`conversation`: the embedded speech clips, the customer
//! and the agent taking turns, deterministic per call) as Opus frames on the
//! parties' leg tracks; the core sends them to the consoles on that call
//! only. Consoles' own frames reach the parties by safety invariant 3
//! (whisper: the agent; barge: the agent and the customer; the core drops
//! silent ones and carries whispers and barges to the other supervisors).
//! With [`SimOptions::record_dir`], each such call's customer and agent ears
//! are written as WAV files. [`SimOptions::impair`] makes the downstream
//! audio lossy, late and out of order, reproducibly. [`SimOptions::vendor_delay`]
//! makes the carrier slow to release a leg after a disconnect, and a join
//! with `announce` plays the monitoring notice to the customer (into the
//! customer's recording).

pub mod conversation;
mod floor;
mod media;
/// Believable names and masked numbers, also for benchmarks that want a real-looking floor.
pub mod names;
mod vendor;
pub mod world;

pub use floor::SimFloor;
pub use vendor::VendorDelay;

use anyhow::{Context as _, bail};
use floorwalk_protocol::Timestamp;
use floorwalk_server::{Account, Impairment, RecordKeeper, ServerHandle, ServerOptions, TlsFiles};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// The most agents one simulator staffs.
pub const MAX_AGENTS: usize = 100_000;

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Where to listen (port 0 picks a free port): loopback only without
    /// TLS, anywhere with it.
    pub listen: SocketAddr,
    /// The certificate and key to serve `wss://` with; `None`: plain `ws://`.
    pub tls: Option<TlsFiles>,
    pub agents: usize,
    /// One seed, one floor: same names, teams and story.
    pub seed: u64,
    /// Who may connect.
    pub accounts: Vec<Account>,
    /// How long a supervisor's legs outlive their last console.
    pub lease_ms: u64,
    /// How often the server pings each console.
    pub heartbeat_ms: u64,
    /// Where to write, for every call a console joined, what its customer
    /// and its agent heard: `<call_id>-customer.wav` and
    /// `<call_id>-agent.wav` (created if missing).
    pub record_dir: Option<PathBuf>,
    /// The shortest call, in seconds (calls run a few minutes beyond it).
    pub min_call_secs: u64,
    /// What the network does to the audio sent to consoles (default: none);
    /// parses from `drop=0.05,reorder=0.02,jitter=30` (see [`Impairment`]).
    pub impair: Impairment,
    /// How many times faster than a real floor things happen (calls, waits,
    /// breaks, arrivals), for load tests; the clock stays real. 1 by default.
    pub speed: f64,
    /// How long the carrier takes to release a leg after a disconnect
    /// (none by default): see [`VendorDelay`].
    pub vendor_delay: VendorDelay,
    /// Where the server core writes every supervisor presence (`None`:
    /// nowhere).
    pub records: Option<Arc<dyn RecordKeeper>>,
}

impl Default for SimOptions {
    /// The server core's defaults for the transport, and a small floor.
    fn default() -> Self {
        let server = ServerOptions::default();
        Self {
            listen: server.listen,
            tls: server.tls,
            accounts: server.accounts,
            lease_ms: server.lease_ms,
            heartbeat_ms: server.heartbeat_ms,
            impair: server.impair,
            records: server.records,
            agents: 60,
            seed: 1,
            record_dir: None,
            min_call_secs: 20,
            speed: 1.0,
            vendor_delay: VendorDelay::default(),
        }
    }
}

/// The range of [`SimOptions::speed`].
pub const SPEEDS: std::ops::RangeInclusive<f64> = 0.1..=1000.0;

impl SimOptions {
    /// What the server core is given.
    pub fn server(&self) -> ServerOptions {
        ServerOptions {
            listen: self.listen,
            tls: self.tls.clone(),
            accounts: self.accounts.clone(),
            lease_ms: self.lease_ms,
            heartbeat_ms: self.heartbeat_ms,
            impair: self.impair,
            records: self.records.clone(),
            ..ServerOptions::default()
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.agents > MAX_AGENTS {
            bail!("at most {MAX_AGENTS} agents, not {}", self.agents);
        }
        if !SPEEDS.contains(&self.speed) {
            bail!(
                "speed must be between {} and {}, not {}",
                SPEEDS.start(),
                SPEEDS.end(),
                self.speed
            );
        }
        self.server().check()
    }
}

/// Builds the simulated floor, then serves it with the server core; returns
/// at once.
pub async fn start(opts: SimOptions) -> anyhow::Result<ServerHandle> {
    let server = floorwalk_server::serve(floor(&opts)?, opts.server()).await?;
    tracing::info!(addr = %server.addr, agents = opts.agents, seed = opts.seed, "simulator listening");
    Ok(server)
}

/// The simulated floor the options describe, to serve (within a Tokio
/// runtime: its ticks start now).
pub fn floor(opts: &SimOptions) -> anyhow::Result<SimFloor> {
    opts.check()?;
    let library = Arc::new(
        conversation::Library::embedded().context("cannot load the simulator's speech clips")?,
    );
    let recorder = match &opts.record_dir {
        Some(dir) => Some(
            media::record::Recorder::start(dir.clone())
                .with_context(|| format!("cannot record into {}", dir.display()))?,
        ),
        None => None,
    };
    let media = media::Media::new(Arc::clone(&library), opts.seed, recorder);
    let teams = world::team_list(
        opts.accounts
            .iter()
            .flat_map(|a| a.teams.iter().map(String::as_str)),
    );
    let world = world::World::new(
        &world::WorldConfig {
            agents: opts.agents,
            seed: opts.seed,
            min_call_secs: opts.min_call_secs,
            speed: opts.speed,
            teams,
            start: Timestamp::now(),
        },
        library,
    );
    Ok(SimFloor::new(world, media, opts.vendor_delay, opts.seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        SimOptions::default().check().unwrap();
    }

    #[test]
    fn bad_options_are_refused_with_a_reason() {
        let refusal = |spoil: fn(&mut SimOptions)| {
            let mut opts = SimOptions::default();
            spoil(&mut opts);
            opts.check().unwrap_err().to_string()
        };
        assert!(refusal(|o| o.agents = MAX_AGENTS + 1).contains("at most"));
        assert!(refusal(|o| o.speed = 0.0).contains("speed must be between"));
        assert!(refusal(|o| o.speed = f64::NAN).contains("speed must be between"));
        // The server's own checks apply too.
        assert!(refusal(|o| o.listen = "0.0.0.0:0".parse().unwrap()).contains("loopback only"));
        assert!(refusal(|o| o.lease_ms = 10).contains("lease_ms must be at least"));
    }
}
