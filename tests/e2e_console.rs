#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End to end without a terminal: the console's own pieces (feed, app,
//! journal) against the simulator over a real WebSocket on loopback, driven
//! by the supervisor's keys. Then the journal it wrote feeds the report.

use floorwalk_console::app::{App, AppSettings, Input, Link};
use floorwalk_console::audit::{self, Filter, Journal};
use floorwalk_console::feed::{self, FeedEvent, FeedHandle};
use floorwalk_protocol::{Mode, Role, Timestamp};
use floorwalk_server::ServerHandle;
use floorwalk_sim::SimOptions;
use headless::{carry_out, loopback_feed, press};
use std::time::Duration;
use tokio::sync::mpsc::Receiver;

#[path = "support/headless.rs"]
mod headless;

const WAIT: Duration = Duration::from_secs(10);

struct Console {
    app: App,
    feed: FeedHandle,
    events: Receiver<FeedEvent>,
    journal: Journal,
}

impl Console {
    async fn start(sim: &ServerHandle, token: &str, journal_dir: &std::path::Path) -> Self {
        let (feed, events) = feed::spawn(loopback_feed(sim.url(), token)).unwrap();
        let journal = Journal::open(journal_dir).unwrap();
        let mut console = Self {
            app: App::new(AppSettings::default()),
            feed,
            events,
            journal,
        };
        console
            .pump_until("a live connection with calls", |app| {
                matches!(app.link(), Link::Live { .. }) && !app.floor().calls.is_empty()
            })
            .await;
        console
    }

    fn key(&mut self, c: char) {
        press(&mut self.app, &mut self.journal, &self.feed, c);
    }

    async fn pump_until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(&self.app) {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
                .expect("feed stopped");
            let effects = self.app.update(Input::Feed(event), Timestamp::now());
            carry_out(effects, &mut self.journal, &self.feed);
        }
    }

    fn my_mode(&self) -> Option<Mode> {
        self.app.my_legs().next().map(|leg| leg.mode)
    }
}

fn sim_options() -> SimOptions {
    SimOptions {
        agents: 40,
        seed: 7,
        min_call_secs: 600,
        ..SimOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_whisper_barge_leave_and_the_call_goes_on_then_the_report_counts_it() {
    let sim = floorwalk_sim::start(sim_options()).await.unwrap();
    let journal_dir = tempfile::tempdir().unwrap();
    let mut console = Console::start(&sim, "demo-dana", journal_dir.path()).await;

    console.key('n');
    console.key('m');
    console
        .pump_until("my silent leg", |app| app.my_legs().next().is_some())
        .await;
    assert_eq!(console.my_mode(), Some(Mode::Silent));
    let leg = console.app.my_legs().next().unwrap().clone();

    tokio::time::sleep(Duration::from_millis(200)).await;
    console.key('w');
    console
        .pump_until("whisper", |app| {
            app.my_legs().any(|l| l.mode == Mode::Whisper)
        })
        .await;
    assert_eq!(
        console.app.my_legs().count(),
        1,
        "switching mode did not leave"
    );
    assert_eq!(
        console.app.my_legs().next().unwrap().leg_id,
        leg.leg_id,
        "same leg"
    );

    tokio::time::sleep(Duration::from_millis(200)).await;
    console.key('b');
    console
        .pump_until("barge", |app| app.my_legs().any(|l| l.mode == Mode::Barge))
        .await;

    tokio::time::sleep(Duration::from_millis(200)).await;
    console.key('d');
    console
        .pump_until("my leg to go", |app| {
            !app.is_on_call() && !app.awaiting_leave()
        })
        .await;

    // The simulator agrees: the call goes on with its customer and agent.
    let world = sim.floor_snapshot().await.unwrap();
    let call = world
        .calls
        .iter()
        .find(|c| c.id == leg.call_id)
        .expect("the call goes on");
    assert!(call.legs.iter().any(|l| l.role == Role::Customer));
    assert!(call.legs.iter().any(|l| l.role == Role::Agent));
    assert!(
        call.legs.iter().all(|l| l.id != leg.leg_id),
        "my leg is gone"
    );

    // The journal it wrote gives the expected report.
    let loaded = audit::read_dir(journal_dir.path(), None, None).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let report = audit::build_report(&loaded.records, &loaded.problems, &Filter::default());
    let overall = &report.overall;
    assert_eq!(overall.sessions, 1);
    assert_eq!(overall.legs_ended, 1);
    assert_eq!(
        overall.disconnected_legs, 1,
        "I left while the call went on"
    );
    assert_eq!(overall.disconnect_rate(), Some(1.0));
    assert_eq!(overall.lease_expired_legs, 0);
    assert_eq!(overall.legs_without_end, 0);
    assert_eq!(overall.back_to_back_joins, 0);
    assert!(
        overall.whisper_ms >= 150,
        "whisper lasted ~200 ms: {overall:?}"
    );
    assert!(overall.barge_ms >= 150, "barge lasted ~200 ms: {overall:?}");
    assert!(overall.present_ms >= overall.whisper_ms + overall.barge_ms + 150);
    let agent = report
        .agents
        .iter()
        .find(|a| a.agent_id.as_deref() == Some(leg.agent_id.as_str()))
        .expect("the agent I coached");
    assert_eq!(agent.figures.sessions, 1);
    assert_eq!(agent.figures.coverage(), Some(1.0), "{agent:?}");
    assert!(overall.calls_seen >= 1 && overall.calls_covered == 1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_call_needs_the_dialog_and_ends_the_call_for_everyone() {
    let sim = floorwalk_sim::start(sim_options()).await.unwrap();
    let journal_dir = tempfile::tempdir().unwrap();
    let mut console = Console::start(&sim, "demo-dana", journal_dir.path()).await;
    console.key('n');
    let call_id = console
        .app
        .pane_call()
        .expect("a call is selected")
        .id
        .clone();

    // Disconnect pressed twice with the dialog open never ends the call.
    console.key('E');
    assert!(console.app.dialog().is_some());
    console.key('d');
    console.key('d');
    let world = sim.floor_snapshot().await.unwrap();
    assert!(
        world.calls.iter().any(|c| c.id == call_id),
        "d never ends a call"
    );

    console.key('E');
    console.key('y');
    console
        .pump_until("the call to end", |app| {
            !app.floor().calls.contains_key(&call_id)
        })
        .await;
    let world = sim.floor_snapshot().await.unwrap();
    assert!(world.calls.iter().all(|c| c.id != call_id));
    sim.shutdown().await;
}
