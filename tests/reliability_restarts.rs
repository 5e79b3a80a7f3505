#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Promise 1: server restarts and network drops. The console's own pieces
//! (feed, app, journal; no terminal) against the simulator over loopback,
//! through a small proxy that can cut connections or go silent:
//!
//! - the simulator is shut down and started again on the same port twenty
//!   times; each time the console shows it is reconnecting, with delays that
//!   grow with jitter up to the cap, reconnects by itself, and ends with the
//!   server's floor (agents, calls, legs);
//! - commands pressed while offline are refused with a clear message and
//!   never reach the server later;
//! - a connection that goes silent (no close, no reset) is found dead by the
//!   heartbeat within a bound, and resumed by `seq` once the network is back.

#[path = "support/headless.rs"]
mod headless;
#[path = "support/proxy.rs"]
mod proxy;

use floorwalk_console::app::{App, AppSettings, Input, Link};
use floorwalk_console::audit::{self, Journal};
use floorwalk_console::feed::{self, FeedEvent, FeedHandle, Reconnect};
use floorwalk_protocol::{Call, Mode, Role, Snapshot, Timestamp};
use floorwalk_server::ServerHandle;
use floorwalk_sim::SimOptions;
use floorwalk_state::Floor;
use headless::{carry_out, loopback_feed, press};
use proxy::Proxy;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::Receiver;

/// A hang guard for any one wait, not a speed check.
const WAIT: Duration = Duration::from_secs(15);
const OFFLINE: &str = "Not connected: nothing was sent.";

/// What the feed said about the connection, in order.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Connecting { attempt: u32, retry_in: Duration },
    Connected { resumed: bool },
}

struct Console {
    app: App,
    feed: FeedHandle,
    events: Receiver<FeedEvent>,
    journal: Journal,
    seen: Vec<(Instant, Seen)>,
}

impl Console {
    fn start(url: String, journal_dir: &std::path::Path, reconnect: Reconnect) -> Self {
        let (feed, events) = feed::spawn_with(loopback_feed(url, "demo-dana"), reconnect).unwrap();
        Self {
            app: App::new(AppSettings::default()),
            feed,
            events,
            journal: Journal::open(journal_dir).unwrap(),
            seen: Vec::new(),
        }
    }

    fn key(&mut self, c: char) {
        press(&mut self.app, &mut self.journal, &self.feed, c);
    }

    fn handle(&mut self, event: FeedEvent) {
        let now = Timestamp::now();
        let seen = match &event {
            FeedEvent::Connecting {
                attempt, retry_in, ..
            } => Some(Seen::Connecting {
                attempt: *attempt,
                retry_in: *retry_in,
            }),
            FeedEvent::Connected { resumed, .. } => Some(Seen::Connected { resumed: *resumed }),
            _ => None,
        };
        let effects = self.app.update(Input::Feed(event), now);
        carry_out(effects, &mut self.journal, &self.feed);
        if let Some(Seen::Connecting { attempt, retry_in }) = &seen {
            // The supervisor sees it: the attempt and when the next one is.
            let Link::Connecting {
                attempt: shown,
                retry_at,
                ..
            } = self.app.link()
            else {
                panic!("not shown as connecting: {:?}", self.app.link());
            };
            assert_eq!(shown, attempt);
            assert_eq!(
                retry_at.millis_since(now),
                i64::try_from(retry_in.as_millis()).unwrap()
            );
        }
        if let Some(seen) = seen {
            self.seen.push((Instant::now(), seen));
        }
    }

    async fn pump_until(&mut self, what: &str, done: impl Fn(&Console) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(self) {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
                .expect("feed stopped");
            self.handle(event);
        }
    }

    /// Pumps until the feed says it is connected again, after `seen[from]`.
    async fn pump_until_reconnected(&mut self, from: usize) {
        self.pump_until("the reconnect", |c| {
            c.seen[from..]
                .iter()
                .any(|(_, s)| matches!(s, Seen::Connected { .. }))
        })
        .await;
    }

    /// Handles whatever arrives within `time`.
    async fn pump_for(&mut self, time: Duration) {
        let until = tokio::time::Instant::now() + time;
        while let Ok(Some(event)) = tokio::time::timeout_at(until, self.events.recv()).await {
            self.handle(event);
        }
    }

    fn live(&self) -> bool {
        matches!(self.app.link(), Link::Live { .. })
    }

    fn notice(&self) -> String {
        self.app
            .notice(Timestamp::now())
            .map(|n| n.text.clone())
            .unwrap_or_default()
    }

    /// The screen as the supervisor would see it now, as text.
    fn screen(&self) -> String {
        let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
        terminal
            .draw(|frame| floorwalk_console::ui::draw(frame, &self.app, Timestamp::now()))
            .unwrap();
        let buffer = terminal.backend().buffer();
        let width = usize::from(buffer.area.width);
        let cells: Vec<&str> = buffer.content().iter().map(|c| c.symbol()).collect();
        cells
            .chunks(width)
            .map(|row| row.concat())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn my_id(&self) -> String {
        self.app.me().expect("signed in").id.clone()
    }

    /// Pumps until the app's floor is the server's (seen through `dana`'s
    /// teams) and my legs are the server's legs of mine. The world moves on
    /// in 100 ms ticks, so this compares again after every quiet moment.
    async fn converge(&mut self, sim: &ServerHandle) {
        let deadline = Instant::now() + WAIT;
        loop {
            self.pump_for(Duration::from_millis(40)).await;
            let world = sim.floor_snapshot().await.unwrap();
            let diff = self.diff(&world);
            if diff.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the console never caught up with the server:\n{}",
                diff.join("\n")
            );
        }
    }

    /// What differs between the app and the server, in words.
    fn diff(&self, world: &Snapshot) -> Vec<String> {
        let me = self.app.me().expect("signed in");
        let floor = self.app.floor();
        let mut diff = floor_diff(floor, world, &me.teams);
        let mine_on_server: Vec<(String, Mode)> = world
            .calls
            .iter()
            .flat_map(|c| c.supervisor_legs())
            .filter(|l| l.user_id.as_deref() == Some(me.id.as_str()))
            .map(|l| (l.id.clone(), l.mode.unwrap_or(Mode::Silent)))
            .collect();
        let mut mine_shown: Vec<(String, Mode)> = self
            .app
            .my_legs()
            .map(|l| (l.leg_id.clone(), l.mode))
            .collect();
        mine_shown.sort();
        if mine_shown != mine_on_server {
            diff.push(format!(
                "my legs: shown {mine_shown:?}, server {mine_on_server:?}"
            ));
        }
        diff
    }
}

/// Agents and calls of the supervisor's teams, whole, legs in id order.
fn floor_diff(floor: &Floor, world: &Snapshot, teams: &[String]) -> Vec<String> {
    let agents: BTreeMap<&str, _> = world
        .agents
        .iter()
        .filter(|a| teams.contains(&a.team))
        .map(|a| (a.id.as_str(), a))
        .collect();
    let calls: BTreeMap<&str, Call> = world
        .calls
        .iter()
        .filter(|c| agents.contains_key(c.agent_id.as_str()))
        .map(|c| (c.id.as_str(), sorted(c)))
        .collect();
    let mut diff = Vec::new();
    if floor.agents.len() != agents.len() {
        diff.push(format!(
            "{} agents shown, {} on the server",
            floor.agents.len(),
            agents.len()
        ));
    }
    for (id, agent) in &agents {
        if floor.agents.get(*id) != Some(*agent) {
            diff.push(format!(
                "agent {id}: shown {:?}, server {agent:?}",
                floor.agents.get(*id)
            ));
        }
    }
    for id in floor.calls.keys() {
        if !calls.contains_key(id.as_str()) {
            diff.push(format!("call {id} shown, gone from the server"));
        }
    }
    for (id, call) in &calls {
        match floor.calls.get(*id).map(sorted) {
            Some(shown) if &shown == call => {}
            shown => diff.push(format!("call {id}: shown {shown:?}, server {call:?}")),
        }
    }
    diff
}

fn sorted(call: &Call) -> Call {
    let mut call = call.clone();
    call.legs.sort_by(|a, b| a.id.cmp(&b.id));
    call
}

/// Starts the simulator on `listen`, again and again on the same port: the
/// old one's sockets may take a moment to let go.
async fn start_sim(opts: &SimOptions) -> ServerHandle {
    let deadline = Instant::now() + WAIT;
    loop {
        match floorwalk_sim::start(opts.clone()).await {
            Ok(sim) => return sim,
            Err(err) if Instant::now() < deadline => {
                eprintln!("restart: {err:#}; again");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("cannot restart the simulator: {err:#}"),
        }
    }
}

fn sim_options(listen: SocketAddr, seed: u64) -> SimOptions {
    SimOptions {
        listen,
        agents: 40,
        seed,
        min_call_secs: 3600,
        ..SimOptions::default()
    }
}

/// A free loopback port for a simulator that restarts on it.
fn free_port() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap()
}

/// Short delays so twenty restarts fit in seconds; `stable` is long, so
/// the delays keep growing from one restart to the next up to the cap, as
/// they do for a server that keeps dropping the console.
const FAST: Reconnect = Reconnect {
    base: Duration::from_millis(10),
    cap: Duration::from_millis(160),
    stable: Duration::from_secs(600),
};

const ROUNDS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_simulator_restarts_under_a_running_console() {
    let addr = free_port();
    let opts = sim_options(addr, 11);
    let mut sim = start_sim(&opts).await;
    let proxy = Proxy::start(addr).await;
    let journal_dir = tempfile::tempdir().unwrap();
    let mut console = Console::start(proxy.url(), journal_dir.path(), FAST);
    console
        .pump_until("a live connection with calls", |c| {
            c.live() && !c.app.floor().calls.is_empty()
        })
        .await;
    let me = console.my_id();
    // Offline joins whose call the restarted server also had: a replay
    // would have put a leg of mine on it.
    let mut replayable_offline_joins = 0;
    // From the new simulator listening to the console live, then in step.
    let mut back_after = Vec::new();
    let mut in_step_after = Vec::new();

    for round in 0..ROUNDS {
        console.converge(&sim).await;
        if round % 4 == 1 {
            // On a call when the server goes: the leg must not outlive it
            // on screen either.
            console.key('n');
            console.key('m');
            console
                .pump_until("my leg", |c| c.app.my_legs().next().is_some())
                .await;
            console.converge(&sim).await;
        }
        let on_call = console.app.is_on_call();

        // Kill: a polite close (code 1001) on even rounds; on odd rounds the
        // TCP connection just ends, the close frame lost in a silent network.
        let lost_from = console.seen.len();
        if round % 2 == 0 {
            sim.shutdown().await;
        } else {
            proxy.stall();
            sim.shutdown().await;
            proxy.cut();
            proxy.resume();
        }
        // Down until the console has failed at least once and says so.
        console
            .pump_until("a second attempt", |c| {
                c.seen[lost_from..]
                    .iter()
                    .any(|(_, s)| matches!(s, Seen::Connecting { attempt: 2.., .. }))
            })
            .await;
        assert!(!console.live());
        let screen = console.screen();
        assert!(
            screen.contains("◌ reconnecting (attempt "),
            "round {round}:\n{screen}"
        );

        // Keys while offline are refused at once, with the reason.
        let mut offline_join = None;
        if on_call {
            console.key('w');
            console
                .pump_until("the switch to be refused", |c| c.notice().contains(OFFLINE))
                .await;
            assert!(console.app.my_legs().all(|l| l.mode == Mode::Silent));
        } else if round % 2 == 1 {
            console.key('n');
            let call = console.app.pane_call().map(|c| c.id.clone());
            console.key('m');
            assert!(
                console.notice().contains(OFFLINE),
                "round {round}: {}",
                console.notice()
            );
            assert_eq!(console.app.joining(call.as_deref().unwrap_or("")), None);
            offline_join = call;
        }

        sim = start_sim(&opts).await;
        let up_at = Instant::now();
        console.pump_until_reconnected(lost_from).await;
        // A new simulator is a new session: the floor comes as a snapshot.
        let connected: Vec<&Seen> = console.seen[lost_from..]
            .iter()
            .map(|(_, s)| s)
            .filter(|s| matches!(s, Seen::Connected { .. }))
            .collect();
        assert_eq!(connected, [&Seen::Connected { resumed: false }]);
        back_after.push(up_at.elapsed());
        console.converge(&sim).await;
        in_step_after.push(up_at.elapsed());
        if let Some(call_id) = offline_join {
            // Give a replayed command every chance to arrive.
            console.pump_for(Duration::from_millis(300)).await;
            let world = sim.floor_snapshot().await.unwrap();
            if world.calls.iter().any(|c| c.id == call_id) {
                replayable_offline_joins += 1;
            }
            let mine: Vec<_> = world
                .calls
                .iter()
                .flat_map(|c| c.legs.iter())
                .filter(|l| l.role == Role::Supervisor && l.user_id.as_deref() == Some(&me))
                .collect();
            assert!(
                mine.is_empty(),
                "a command pressed offline reached the server: {mine:?}"
            );
        }
        assert!(!console.app.is_on_call(), "the old server's leg is gone");
    }
    assert!(
        replayable_offline_joins > 0,
        "no offline join could have been replayed: the test proves nothing"
    );

    // The delays the console showed: jittered, growing, never above the cap.
    let delays: Vec<Duration> = console
        .seen
        .iter()
        .filter_map(|(_, s)| match s {
            Seen::Connecting { retry_in, .. } if !retry_in.is_zero() => Some(*retry_in),
            _ => None,
        })
        .collect();
    eprintln!("reconnect delays: {delays:?}");
    back_after.sort();
    in_step_after.sort();
    eprintln!("live again after {back_after:?}; in step after {in_step_after:?}");
    assert!(delays.len() >= 2 * ROUNDS, "{delays:?}");
    assert!(delays.iter().all(|d| *d <= FAST.cap), "{delays:?}");
    for pair in delays.windows(2) {
        // Below half the cap the doubling shows through the jitter.
        if pair[1] < FAST.cap / 2 {
            assert!(pair[1] >= pair[0], "delays went down: {delays:?}");
        }
    }
    assert!(delays[0] <= FAST.base, "{delays:?}");
    assert!(
        delays.iter().any(|d| *d > FAST.cap / 2),
        "never reached the cap: {delays:?}"
    );
    let capped: Vec<_> = delays.iter().filter(|d| **d > FAST.cap / 2).collect();
    assert!(
        capped.windows(2).any(|w| w[0] != w[1]),
        "no jitter: {delays:?}"
    );

    // What the journal made of it parses whole.
    let loaded = audit::read_dir(journal_dir.path(), None, None).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    console.feed.shutdown();
    sim.shutdown().await;
}

/// The heartbeat bound: the feed calls a connection dead after twice the
/// server's heartbeat, and never sooner than 3 s; twice that again, plus a
/// second, is generous on a busy machine and still far from "never".
const DETECT_LIMIT: Duration = Duration::from_secs(7);
const CUTS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_network_is_detected_by_heartbeats_and_resumed_by_seq() {
    let opts = SimOptions {
        heartbeat_ms: 400,
        lease_ms: 30_000,
        ..sim_options(free_port(), 5)
    };
    let sim = floorwalk_sim::start(opts).await.unwrap();
    let proxy = Proxy::start(sim.addr).await;
    let journal_dir = tempfile::tempdir().unwrap();
    let mut console = Console::start(proxy.url(), journal_dir.path(), Reconnect::default());
    console
        .pump_until("a live connection with calls", |c| {
            c.live() && !c.app.floor().calls.is_empty()
        })
        .await;
    console.key('n');
    console.key('m');
    console
        .pump_until("my leg", |c| c.app.my_legs().next().is_some())
        .await;
    let leg = console.app.my_legs().next().unwrap().leg_id.clone();
    console.converge(&sim).await;

    let mut detections = Vec::new();
    let mut reconnects = Vec::new();
    for _ in 0..CUTS {
        let lost_from = console.seen.len();
        let silent_at = Instant::now();
        proxy.stall();
        console
            .pump_until("the silence to be noticed", |c| !c.live())
            .await;
        let detected = silent_at.elapsed();
        detections.push(detected);
        assert!(
            detected <= DETECT_LIMIT,
            "a silent connection took {detected:?} to notice"
        );
        let Link::Connecting {
            last_error: Some(why),
            ..
        } = console.app.link()
        else {
            panic!("{:?}", console.app.link());
        };
        assert!(why.contains("no sign of life"), "{why}");

        // Offline: switching and leaving are refused, not kept for later.
        console.key('w');
        console
            .pump_until("the switch to be refused", |c| c.notice().contains(OFFLINE))
            .await;
        console.key('d');
        assert!(console.notice().contains(OFFLINE), "{}", console.notice());

        let back_at = Instant::now();
        proxy.resume();
        console.pump_until_reconnected(lost_from).await;
        reconnects.push(back_at.elapsed());
        // The same server kept the stream: the console resumed by seq.
        assert!(
            console.seen[lost_from..]
                .iter()
                .any(|(_, s)| *s == Seen::Connected { resumed: true }),
            "{:?}",
            &console.seen[lost_from..]
        );
        console.converge(&sim).await;
        // Neither the refused switch nor the refused leave happened later.
        console.pump_for(Duration::from_millis(300)).await;
        console.converge(&sim).await;
        let shown = console.app.my_legs().next().expect("still on the call");
        assert_eq!(
            (shown.leg_id.as_str(), shown.mode),
            (leg.as_str(), Mode::Silent)
        );
    }
    eprintln!(
        "silence noticed after {detections:?}; reconnected {reconnects:?} after the network came back"
    );

    console.key('d');
    console
        .pump_until("my leg to go", |c| !c.app.is_on_call())
        .await;
    console.converge(&sim).await;
    console.feed.shutdown();
    sim.shutdown().await;
}
