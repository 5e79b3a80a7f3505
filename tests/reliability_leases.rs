#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Promise 2: leases. The real console binary in a pty against a simulator
//! with a short lease:
//!
//! - killed with SIGKILL, the console cannot leave: its leg stays on the
//!   server for the lease, and a console started again within it finds the
//!   leg and shows it; killed again and not back, the leg goes at lease
//!   expiry with `lease_expired`, and the customer-agent call goes on;
//! - the next start marks the leg the journal still had open as closed
//!   after a crash;
//! - on SIGHUP (an SSH session hanging up) the console leaves its leg
//!   itself before exiting.

mod support;

#[path = "support/crash.rs"]
mod crash;
#[path = "support/sim_client.rs"]
mod sim_client;

use crash::{Home, ME, STEP, Server, signal};
use floorwalk_console::audit::{self, Filter, RecordKind, STILL_LIVE, UNKNOWN_AFTER_CRASH};
use floorwalk_protocol::{AgentState, LegLeftReason, Role, ServerMessage};
use futures_util::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const LEASE_MS: u64 = 4000;
const HEARTBEAT_MS: u64 = 400;

/// Every `leg_left` another supervisor (Amara, who sees every team) hears:
/// the server's own account of why each leg went.
fn watch_leg_lefts(server: &Server) -> Arc<Mutex<Vec<(String, LegLeftReason)>>> {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let out = heard.clone();
    let mut client = server.runtime.block_on(sim_client::Client::subscribed(
        server.sim(),
        sim_client::AMARA,
    ));
    server.runtime.spawn(async move {
        // Reading also answers the server's pings, so the watcher stays.
        while let Some(Ok(frame)) = client.ws.next().await {
            if let Message::Text(text) = frame
                && let ServerMessage::LegLeft(left) = sim_client::parse(&text)
            {
                out.lock().unwrap().push((left.leg_id, left.reason));
            }
        }
    });
    heard
}

#[test]
fn sigkill_leaves_the_leg_to_the_lease_and_a_console_back_within_it_shows_it() {
    let server = Server::start(21, LEASE_MS, HEARTBEAT_MS);
    let left = watch_leg_lefts(&server);
    let home = Home::new();

    // Join silently, then die without a word.
    let mut first = home.console(&server.url());
    crash::select_a_call(&mut first);
    first.send("m");
    first.wait_for_text("you:silent", STEP);
    let [(call_id, leg)] = &server.legs_of(ME)[..] else {
        panic!("{:?}", server.legs_of(ME))
    };
    let (call_id, leg) = (call_id.clone(), leg.clone());
    signal(&first, "KILL");
    first.wait_exit(STEP);
    let killed_at = Instant::now();
    assert_eq!(
        server.legs_of(ME).len(),
        1,
        "the server keeps the leg of a console that may come back"
    );

    // Back within the lease: the leg is found and shown on its call's row,
    // and the supervisor is told.
    let restarted_at = Instant::now();
    let mut second = home.console(&server.url());
    let screen = second.wait_for("my leg on screen again", STEP, crash::on_screen_on_call);
    let shown_after = restarted_at.elapsed();
    assert!(
        killed_at.elapsed() < Duration::from_millis(LEASE_MS),
        "the console came back too late for this test to mean anything"
    );
    assert!(screen.contains("you:silent"), "{screen}");
    let row = screen
        .lines()
        .find(|line| line.contains("you:silent"))
        .unwrap();
    let agent = server
        .world()
        .agents
        .into_iter()
        .find(|a| a.call_id.as_deref() == Some(call_id.as_str()))
        .unwrap();
    assert!(row.contains(&agent.name), "{row}");
    second.wait_for_text("Still on", STEP);
    let screen = second.wait_for_text("[d] leave call", STEP);
    assert!(
        screen.contains(&format!("Call {call_id} · {}", agent.name)),
        "the call pane shows my call:\n{screen}"
    );
    assert_eq!(server.legs_of(ME)[0].1.id, leg.id, "the same leg");

    // Killed again and not back: the lease runs out.
    signal(&second, "KILL");
    second.wait_exit(STEP);
    let killed_at = Instant::now();
    let deadline = killed_at + Duration::from_millis(LEASE_MS) + STEP;
    while !server.legs_of(ME).is_empty() {
        assert!(Instant::now() < deadline, "the lease never expired");
        std::thread::sleep(Duration::from_millis(20));
    }
    let gone_after = killed_at.elapsed();
    eprintln!(
        "restarted console showed the leg {shown_after:?} after its start; the leg went \
         {gone_after:?} after the second kill (lease {LEASE_MS} ms)"
    );
    let deadline = Instant::now() + STEP;
    while !left.lock().unwrap().iter().any(|(id, _)| *id == leg.id) {
        assert!(Instant::now() < deadline, "no leg_left for {}", leg.id);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        left.lock()
            .unwrap()
            .contains(&(leg.id.clone(), LegLeftReason::LeaseExpired)),
        "{:?}",
        left.lock().unwrap()
    );
    // The customer and the agent never noticed.
    let world = server.world();
    let call = world
        .calls
        .iter()
        .find(|c| c.id == call_id)
        .expect("the call goes on");
    assert!(call.legs.iter().any(|l| l.role == Role::Customer));
    assert!(call.legs.iter().any(|l| l.role == Role::Agent));
    let agent = world.agents.iter().find(|a| a.id == call.agent_id).unwrap();
    assert_eq!(agent.state, AgentState::OnCall);
    assert_eq!(agent.call_id.as_deref(), Some(call_id.as_str()));

    // The next start closes the leg the journal still had open, as such.
    let mut third = home.console(&server.url());
    third.wait_for_text("ended while the console was down", STEP);
    let screen = third.screen_text();
    assert!(!crash::on_screen_on_call(&screen), "{screen}");
    third.send("q");
    assert_eq!(third.wait_exit(STEP), 0);

    let journal = home.journal();
    assert!(journal.problems.is_empty(), "{:?}", journal.problems);
    let reconciled: Vec<(&str, &str)> = journal
        .records
        .iter()
        .filter(|r| r.kind == RecordKind::Reconciled)
        .map(|r| {
            (
                r.leg_id.as_deref().unwrap_or(""),
                r.reason.as_deref().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        reconciled,
        [
            (leg.id.as_str(), STILL_LIVE),
            (leg.id.as_str(), UNKNOWN_AFTER_CRASH)
        ]
    );
    let report = audit::build_report(&journal.records, &journal.problems, &Filter::default());
    let all = report.overall;
    assert_eq!(all.sessions, 1, "one leg, however many consoles: {all:?}");
    assert_eq!(all.closed_after_crash, 1, "{all:?}");
    assert_eq!(all.legs_without_end, 0, "{all:?}");
    assert_eq!(all.back_to_back_joins, 0, "{all:?}");
    assert_eq!(all.unmatched_records, 0, "{all:?}");
}

#[test]
fn sighup_leaves_the_leg_before_exiting() {
    let server = Server::start(22, LEASE_MS, HEARTBEAT_MS);
    let home = Home::new();
    let mut console = home.console(&server.url());
    crash::select_a_call(&mut console);
    console.send("w");
    console.wait_for_text("you:whisper", STEP);
    let [(call_id, _)] = &server.legs_of(ME)[..] else {
        panic!("{:?}", server.legs_of(ME))
    };
    let call_id = call_id.clone();
    signal(&console, "HUP");
    console.wait_exit(STEP);
    let exited_at = Instant::now();
    // Gone at once, not at lease expiry.
    let legs = server.legs_of(ME);
    assert!(
        exited_at.elapsed() < Duration::from_millis(LEASE_MS),
        "too slow for the check below to tell a leave from a lease expiry"
    );
    assert!(legs.is_empty(), "still on the server: {legs:?}");
    assert!(server.world().calls.iter().any(|c| c.id == call_id));
    let journal = home.journal();
    let left = journal
        .records
        .iter()
        .find(|r| r.kind == RecordKind::Left)
        .expect("the leave is journaled");
    assert_eq!(left.reason.as_deref(), Some("disconnected"));
}
