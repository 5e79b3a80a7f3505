//! The simulator: a protocol-v1 server that behaves like a busy contact
//! center, for `floorwalk demo`, `floorwalk sim` and the end-to-end tests.
//!
//! [`start`] binds a loopback port and returns at once with a [`SimHandle`].
//! Behind it:
//!
//! - [`world`]: the floor itself, pure and deterministic for a seed, moved on
//!   in fixed ticks of 100 ms. Agents in several teams take inbound calls
//!   from their team's queue, dial out, hold, wrap up, take breaks and log
//!   off; most calls are recorded, some carry a transcript bot, and
//!   simulated supervisors drop in and out. Customers' numbers are masked by
//!   the server (`+1 ••• ••• 0134`).
//! - `stream`: one event stream per supervisor account (only that
//!   supervisor's teams), numbered by exactly 1, with a replay window so a
//!   console that reconnects gets just what it missed.
//! - `hub`: the one task that owns the world and the streams, runs commands
//!   and enforces leases.
//! - `server`: the sockets: upgrade checks (404 for another path, 401 for a
//!   bad token, before the upgrade), the `floorwalk.v1` subprotocol, frame
//!   limits (close 1009), heartbeats, rate limits.
//! - [`accounts`]: the supervisors who may connect (see [`demo_accounts`]
//!   for the built-in ones).
//!
//! Choices the contract leaves open, made here:
//!
//! - When a call ends, each supervisor leg on it first leaves with reason
//!   `call_ended`, then `call_ended` removes the call with its other legs.
//! - A command's events are sent before its reply.
//! - Session ids are new for every simulator run; a supervisor's session
//!   lasts as long as the run, across any number of reconnects.
//! - Console supervisor legs get track numbers from 2^30 up, apart from the
//!   world's own legs.
//! - Subscribes are rate-limited separately from commands; an excess
//!   subscribe is answered with a `notice` and ignored.
//!
//! Audio (`media`, driven by the hub): every call a console is on plays its
//! conversation (`conversation`: the embedded speech clips, the customer and
//! the agent taking turns, deterministic per call) as Opus frames on the
//! parties' leg tracks, to the consoles on that call only. Consoles' own
//! frames are routed by safety invariant 3 (silent: nobody; whisper: the
//! agent; barge: the agent and the customer; whisper and barge also the
//! other supervisors on the call) and dropped unless sent on the sender's
//! own leg. With [`SimOptions::record_dir`], each such call's customer and
//! agent ears are written as WAV files. [`SimOptions::impair`] makes the
//! downstream audio lossy, late and out of order, reproducibly.

pub mod accounts;
pub mod conversation;
mod hub;
pub mod impair;
mod limits;
mod media;
/// Believable names and masked numbers, also for benchmarks that want a real-looking floor.
pub mod names;
mod server;
mod stream;
mod wire;
pub mod world;

pub use accounts::{Account, demo_accounts, load_accounts};
pub use impair::{Impairment, ImpairmentError};

use anyhow::{Context as _, bail};
use floorwalk_protocol::{PATH, Snapshot, Timestamp};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// The most agents one simulator staffs.
pub const MAX_AGENTS: usize = 100_000;

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Where to listen; loopback only (port 0 picks a free port).
    pub listen: SocketAddr,
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
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            agents: 60,
            seed: 1,
            accounts: demo_accounts(),
            lease_ms: 15_000,
            heartbeat_ms: 5_000,
            record_dir: None,
            min_call_secs: 20,
            impair: Impairment::default(),
            speed: 1.0,
        }
    }
}

/// The range of [`SimOptions::speed`].
pub const SPEEDS: std::ops::RangeInclusive<f64> = 0.1..=1000.0;

impl SimOptions {
    fn check(&self) -> anyhow::Result<()> {
        if !self.listen.ip().is_loopback() {
            bail!(
                "the simulator serves plain ws:// and listens on loopback only, not {}",
                self.listen
            );
        }
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
        self.impair.check()?;
        accounts::validate_accounts(&self.accounts)
    }
}

/// A running simulator.
pub struct SimHandle {
    /// The address it listens on.
    pub addr: SocketAddr,
    hub: mpsc::Sender<hub::Request>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// The console's server URL, e.g. `ws://127.0.0.1:40123/v1/supervisor`.
    pub fn url(&self) -> String {
        format!("ws://{}{PATH}", self.addr)
    }

    /// The whole floor as the simulator holds it, every team (`seq` 0).
    pub async fn world_snapshot(&self) -> anyhow::Result<Snapshot> {
        let (reply, answer) = oneshot::channel();
        self.hub
            .send(hub::Request::WorldSnapshot { reply })
            .await
            .context("the simulator has stopped")?;
        answer.await.context("the simulator has stopped")
    }

    /// Stops accepting, closes every console (code 1001) and waits for the
    /// tasks to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks.drain(..) {
            // A task that panicked has nothing left to clean up.
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        // Dropping the handle stops the simulator too (the tasks watch this).
        let _ = self.shutdown.send(true);
    }
}

/// Binds, spawns the simulator's tasks and returns at once.
pub async fn start(opts: SimOptions) -> anyhow::Result<SimHandle> {
    opts.check()?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
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
    let timing = hub::Timing {
        heartbeat: Duration::from_millis(opts.heartbeat_ms),
        lease: Duration::from_millis(opts.lease_ms),
    };
    let hub = hub::Hub::new(
        world,
        &opts.accounts,
        timing,
        stream::Retention::default(),
        hub::Audio {
            media,
            impairment: opts.impair,
        },
    );
    let (requests, inbox) = mpsc::channel(1024);
    let (shutdown, watching) = watch::channel(false);
    let ctx = Arc::new(server::Context {
        accounts: opts.accounts,
        hub: requests.clone(),
        heartbeat: timing.heartbeat,
        lease: timing.lease,
    });
    let tasks = vec![
        tokio::spawn(hub.run(inbox, watching.clone())),
        tokio::spawn(server::accept_loop(listener, ctx, watching)),
    ];
    tracing::info!(%addr, agents = opts.agents, seed = opts.seed, impair = %opts.impair, "simulator listening");
    Ok(SimHandle {
        addr,
        hub: requests,
        shutdown,
        tasks,
    })
}

/// A 64-bit mixer (SplitMix64): turns seeds and counters into unrelated
/// seeds.
fn splitmix(x: u64) -> u64 {
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
        SimOptions::default().check().unwrap();
    }

    #[test]
    fn bad_options_are_refused_with_a_reason() {
        type Spoil = fn(&mut SimOptions);
        let cases: [(Spoil, &str); 9] = [
            (|o| o.listen = "0.0.0.0:0".parse().unwrap(), "loopback only"),
            (|o| o.agents = MAX_AGENTS + 1, "at most"),
            (|o| o.speed = 0.0, "speed must be between"),
            (|o| o.speed = f64::NAN, "speed must be between"),
            (|o| o.lease_ms = 10, "lease_ms must be at least"),
            (|o| o.heartbeat_ms = 0, "heartbeat_ms must be at least"),
            (|o| o.heartbeat_ms = o.lease_ms, "shorter than lease_ms"),
            (|o| o.accounts.clear(), "no supervisors"),
            (|o| o.impair.drop = 2.0, "between 0 and 1"),
        ];
        for (spoil, expected) in cases {
            let mut opts = SimOptions::default();
            spoil(&mut opts);
            let err = opts.check().unwrap_err().to_string();
            assert!(err.contains(expected), "{err:?} lacks {expected:?}");
        }
    }
}
