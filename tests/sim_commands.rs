//! Commands and leases against the simulator: joining, switching, leaving
//! only one's own leg, ending calls, and legs outliving a console only for
//! the lease.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/sim_client.rs"]
mod sim_client;

use floorwalk_protocol::{
    CallEndReason, ErrorCode, LegLeftReason, Mode, Reply, Role, ServerMessage, Snapshot,
};
use floorwalk_sim::SimOptions;
use serde_json::json;
use sim_client::*;
use std::time::{Duration, Instant};

fn leg_of(reply: &Reply) -> (String, u64) {
    let result = reply.outcome().unwrap();
    (
        result["leg_id"].as_str().unwrap().to_string(),
        result["track"].as_u64().unwrap(),
    )
}

fn call_in<'a>(snapshot: &'a Snapshot, call: &str) -> Option<&'a floorwalk_protocol::Call> {
    snapshot.calls.iter().find(|c| c.id == call)
}

async fn monitor(client: &mut Client, call: &str, mode: &str) -> Reply {
    client
        .command(json!({"type": "monitor", "call_id": call, "mode": mode}))
        .await
}

#[tokio::test]
async fn monitor_whisper_barge_and_leave_while_the_call_goes_on() {
    let sim = start(quiet_options()).await;
    let mut dana = Client::subscribed(&sim, DANA).await;
    let call = dana.a_call();

    let reply = monitor(&mut dana, &call, "silent").await;
    let (leg_id, track) = leg_of(&reply);
    // The event came before the reply: the floor already shows the leg.
    let leg = dana.floor.calls[&call].leg(&leg_id).unwrap().clone();
    assert_eq!(leg.track as u64, track);
    assert_eq!(leg.role, Role::Supervisor);
    assert_eq!(leg.user_id.as_deref(), Some("sup-1"));
    assert_eq!(leg.mode, Some(Mode::Silent));
    let tracks: Vec<u32> = dana.floor.calls[&call]
        .legs
        .iter()
        .map(|l| l.track)
        .collect();
    assert_eq!(
        tracks.iter().filter(|t| **t == leg.track).count(),
        1,
        "a fresh track"
    );

    let again = monitor(&mut dana, &call, "barge").await;
    assert_eq!(again.outcome().unwrap_err().code, ErrorCode::Conflict);

    for mode in [Mode::Whisper, Mode::Barge] {
        let reply = dana
            .command(json!({"type": "set_mode", "leg_id": leg_id, "mode": mode}))
            .await;
        assert!(reply.ok, "{reply:?}");
        assert!(
            matches!(dana.events.last(), Some(ServerMessage::LegChanged(c)) if c.leg_id == leg_id && c.mode == mode)
        );
        assert_eq!(
            dana.floor.calls[&call].leg(&leg_id).unwrap().mode,
            Some(mode)
        );
    }

    let reply = dana
        .command(json!({"type": "disconnect", "leg_id": leg_id}))
        .await;
    assert_eq!(reply.outcome().unwrap()["already_left"], json!(false));
    assert!(matches!(dana.events.last(), Some(ServerMessage::LegLeft(l))
        if l.leg_id == leg_id && l.reason == LegLeftReason::Disconnected && l.call_id == call));

    // The call goes on with its customer and its agent, on the console...
    let live = &dana.floor.calls[&call];
    assert!(live.leg(&leg_id).is_none());
    assert!(live.leg_with_role(Role::Customer).is_some());
    assert!(live.leg_with_role(Role::Agent).is_some());
    // ...in the simulator itself...
    let world = world(&sim).await;
    let live = call_in(&world, &call).expect("the call is still live");
    assert!(live.leg_with_role(Role::Customer).is_some());
    assert!(live.leg_with_role(Role::Agent).is_some());
    assert!(live.leg(&leg_id).is_none());
    // ...and keeps going: no call_ended for it while the floor moves on.
    dana.pump(Duration::from_millis(500)).await;
    assert!(
        !dana
            .events
            .iter()
            .any(|e| matches!(e, ServerMessage::CallEnded(c) if c.call_id == call))
    );
    assert!(dana.floor.calls.contains_key(&call));

    // Leaving again is harmless.
    let reply = dana
        .command(json!({"type": "disconnect", "leg_id": leg_id}))
        .await;
    assert_eq!(reply.outcome().unwrap()["already_left"], json!(true));
    sim.shutdown().await;
}

#[tokio::test]
async fn leaving_a_leg_that_is_not_mine_is_refused_and_changes_nothing() {
    let sim = start(quiet_options()).await;
    let mut dana = Client::subscribed(&sim, DANA).await;
    let mut amara = Client::subscribed(&sim, AMARA).await;
    let call = dana.a_call();
    let (amaras_leg, _) = leg_of(&monitor(&mut amara, &call, "whisper").await);
    let (danas_leg, _) = leg_of(&monitor(&mut dana, &call, "silent").await);
    let before = call_in(&world(&sim).await, &call).unwrap().clone();

    let others: Vec<String> = before
        .legs
        .iter()
        .filter(|l| l.id != danas_leg)
        .map(|l| l.id.clone())
        .collect();
    assert!(others.contains(&amaras_leg));
    assert!(others.len() >= 3, "customer, agent and Amara");
    for leg in &others {
        let reply = dana
            .command(json!({"type": "disconnect", "leg_id": leg}))
            .await;
        assert_eq!(
            reply.outcome().unwrap_err().code,
            ErrorCode::NotYourLeg,
            "{leg}"
        );
        let reply = dana
            .command(json!({"type": "set_mode", "leg_id": leg, "mode": "barge"}))
            .await;
        assert_eq!(
            reply.outcome().unwrap_err().code,
            ErrorCode::NotYourLeg,
            "{leg}"
        );
    }
    let after = call_in(&world(&sim).await, &call).unwrap().clone();
    assert_eq!(after, before);
    assert!(!dana.events.iter().any(|e| matches!(e,
        ServerMessage::LegLeft(l) if l.call_id == call)));
    assert!(!dana.events.iter().any(|e| matches!(e,
        ServerMessage::CallEnded(c) if c.call_id == call)));
    sim.shutdown().await;
}

#[tokio::test]
async fn end_call_needs_the_confirmation_and_the_permission() {
    let sim = start(quiet_options()).await;
    let mut dana = Client::subscribed(&sim, DANA).await;
    let mut jorge = Client::subscribed(&sim, JORGE).await;

    let call = dana.a_call();
    let reply = dana
        .command(json!({"type": "end_call", "call_id": call, "confirm": "yes"}))
        .await;
    assert_eq!(
        reply.outcome().unwrap_err().code,
        ErrorCode::BadConfirmation
    );
    let jorges = jorge.a_call();
    let reply = jorge
        .command(json!({"type": "end_call", "call_id": jorges, "confirm": jorges}))
        .await;
    assert_eq!(reply.outcome().unwrap_err().code, ErrorCode::Forbidden);
    let reply = dana
        .command(json!({"type": "end_call", "call_id": jorges, "confirm": jorges}))
        .await;
    assert_eq!(
        reply.outcome().unwrap_err().code,
        ErrorCode::Forbidden,
        "outside Dana's teams"
    );
    let world_now = world(&sim).await;
    assert!(call_in(&world_now, &call).is_some());
    assert!(call_in(&world_now, &jorges).is_some());

    let (leg_id, _) = leg_of(&monitor(&mut dana, &call, "barge").await);
    let reply = dana
        .command(json!({"type": "end_call", "call_id": call, "confirm": call}))
        .await;
    assert!(reply.ok, "{reply:?}");
    let n = dana.events.len();
    assert!(matches!(&dana.events[n - 3..], [
        ServerMessage::LegLeft(l),
        ServerMessage::CallEnded(c),
        ServerMessage::Agent(_),
    ] if l.leg_id == leg_id && l.reason == LegLeftReason::CallEnded
        && c.call_id == call && c.reason == CallEndReason::EndedBySupervisor));
    assert!(!dana.floor.calls.contains_key(&call));
    assert!(call_in(&world(&sim).await, &call).is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn monitor_outside_my_teams_or_of_no_call_is_refused() {
    let sim = start(quiet_options()).await;
    let mut dana = Client::subscribed(&sim, DANA).await;
    let jorge = Client::subscribed(&sim, JORGE).await;
    let sales_call = jorge.a_call();
    assert!(
        !dana.floor.calls.contains_key(&sales_call),
        "Dana cannot see it"
    );
    let reply = monitor(&mut dana, &sales_call, "silent").await;
    assert_eq!(reply.outcome().unwrap_err().code, ErrorCode::Forbidden);
    let reply = monitor(&mut dana, "c-0", "silent").await;
    assert_eq!(reply.outcome().unwrap_err().code, ErrorCode::NotFound);
    let world = world(&sim).await;
    assert!(
        call_in(&world, &sales_call)
            .unwrap()
            .supervisor_legs()
            .all(|l| l.user_id.as_deref() != Some("sup-1"))
    );
    sim.shutdown().await;
}

const LEASE_MS: u64 = 1200;

fn lease_options() -> SimOptions {
    SimOptions {
        lease_ms: LEASE_MS,
        heartbeat_ms: 200,
        ..quiet_options()
    }
}

#[tokio::test]
async fn a_console_gone_without_leaving_loses_its_leg_after_the_lease() {
    let sim = start(lease_options()).await;
    let mut amara = Client::subscribed(&sim, AMARA).await;
    let mut dana = Client::subscribed(&sim, DANA).await;
    let call = dana.a_call();
    let (leg_id, _) = leg_of(&monitor(&mut dana, &call, "whisper").await);

    let closed = Instant::now();
    drop(dana); // the socket just goes away, without a close frame
    let still_there = call_in(&world(&sim).await, &call)
        .unwrap()
        .leg(&leg_id)
        .is_some();
    // Never removed before the lease has run.
    assert!(still_there || closed.elapsed() >= Duration::from_millis(LEASE_MS));

    let left = amara
        .until(|m| matches!(m, ServerMessage::LegLeft(l) if l.leg_id == leg_id))
        .await;
    let ServerMessage::LegLeft(left) = left else {
        unreachable!()
    };
    assert_eq!(left.reason, LegLeftReason::LeaseExpired);
    assert!(closed.elapsed() >= Duration::from_millis(LEASE_MS));
    // Only the supervisor leg went: the call goes on.
    let world = world(&sim).await;
    let live = call_in(&world, &call).expect("the call goes on");
    assert!(live.leg(&leg_id).is_none());
    assert!(live.leg_with_role(Role::Customer).is_some());
    assert!(live.leg_with_role(Role::Agent).is_some());
    sim.shutdown().await;
}

#[tokio::test]
async fn reconnecting_within_the_lease_keeps_the_leg() {
    let sim = start(lease_options()).await;
    let mut dana = Client::subscribed(&sim, DANA).await;
    let call = dana.a_call();
    let (leg_id, _) = leg_of(&monitor(&mut dana, &call, "barge").await);
    dana.close().await;

    let mut dana = Client::subscribed(&sim, DANA).await;
    assert_eq!(
        dana.floor.calls[&call].leg(&leg_id).unwrap().mode,
        Some(Mode::Barge)
    );
    // Well past the lease, the leg is still there: this console is alive.
    dana.pump(Duration::from_millis(LEASE_MS * 2)).await;
    assert!(
        !dana
            .events
            .iter()
            .any(|e| matches!(e, ServerMessage::LegLeft(l) if l.leg_id == leg_id))
    );
    assert!(
        call_in(&world(&sim).await, &call)
            .unwrap()
            .leg(&leg_id)
            .is_some()
    );
    // And it is still Dana's to leave.
    let reply = dana
        .command(json!({"type": "disconnect", "leg_id": leg_id}))
        .await;
    assert_eq!(reply.outcome().unwrap()["already_left"], json!(false));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_silent_console_is_dropped_and_loses_its_leg() {
    let sim = start(lease_options()).await;
    let mut amara = Client::subscribed(&sim, AMARA).await;
    let mut dana = Client::subscribed(&sim, DANA).await;
    let call = dana.a_call();
    let (leg_id, _) = leg_of(&monitor(&mut dana, &call, "silent").await);
    // Dana's console stops reading (so it stops answering pings) but keeps
    // the socket open.
    let left = amara
        .until(|m| matches!(m, ServerMessage::LegLeft(l) if l.leg_id == leg_id))
        .await;
    let ServerMessage::LegLeft(left) = left else {
        unreachable!()
    };
    assert_eq!(left.reason, LegLeftReason::LeaseExpired);
    let close = close_frame(&mut dana.ws).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1001);
    sim.shutdown().await;
}
