//! `floorwalk gateway` when things go wrong, against a real Asterisk: the
//! gateway killed (the
//! next one removes what it left), Asterisk restarted (consoles are told,
//! commands refused meanwhile, the floor rebuilt and lost legs reported
//! left), and Asterisk refusing part of a join (rolled back, a clear error).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/ari_proxy.rs"]
mod ari_proxy;
#[path = "support/asterisk.rs"]
mod asterisk;
#[path = "support/gateway.rs"]
mod gateway;
#[path = "support/sim_client.rs"]
mod sim_client;

use floorwalk_protocol::{LegLeftReason, Reachability, ServerMessage};
use gateway::{APP, Gateway, Rig, all_gone, bridged, call_of, command, objects, rig};
use serde_json::json;
use sim_client::{Client, DANA};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_gateway_removes_what_a_killed_one_left() {
    let Rig {
        proxy: _proxy,
        asterisk,
        events: _events,
        mut gateway,
        mut dana,
        call,
    } = rig("orphans").await;
    // Another gateway on the same Asterisk: its objects are not the
    // orphans' successor's to remove.
    let other = Gateway::start(&asterisk, "bystander", &[]);
    let mut jo = Client::subscribed_at(other.addr, DANA).await;
    let call_id = call_of(&mut jo, "ag-1").await;
    command(
        &mut jo,
        json!({"type": "monitor", "call_id": call_id, "mode": "silent"}),
    )
    .await;
    let theirs = objects(&asterisk, "floorwalk-bystander-").await;
    command(
        &mut dana,
        json!({"type": "monitor", "call_id": call.id, "mode": "barge"}),
    )
    .await;
    let left = objects(&asterisk, "floorwalk-orphans-").await;
    assert!(left.len() >= 9, "{left:?}");
    gateway.kill();
    drop(dana);
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Asterisk hangs up a media channel whose WebSocket closed; the
    // snoops and bridges stay, listening and whispering into the call.
    let orphans = objects(&asterisk, "floorwalk-orphans-").await;
    assert!(orphans.is_subset(&left));
    for kept in [
        "e1-spy-agent",
        "e1-spy-customer",
        "l1-whisper-agent",
        "l1-whisper-customer",
        "l1-voice",
    ] {
        assert!(
            orphans.iter().any(|o| o.ends_with(kept)),
            "{kept}: {orphans:?}"
        );
    }
    let _next = Gateway::start(&asterisk, "orphans", &[]);
    all_gone(&asterisk, "floorwalk-orphans-").await;
    assert_eq!(objects(&asterisk, "floorwalk-bystander-").await, theirs);
    gateway::parties_up(&asterisk, &call).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asterisk_restart_is_told_refused_meanwhile_and_the_floor_rebuilt() {
    let Rig {
        proxy: _proxy,
        mut asterisk,
        events,
        gateway: _gateway,
        mut dana,
        call,
    } = rig("restart").await;
    let joined = command(
        &mut dana,
        json!({"type": "monitor", "call_id": call.id, "mode": "silent"}),
    )
    .await;
    let leg = joined["leg_id"].as_str().unwrap().to_owned();
    drop(events);
    asterisk.restart().await;
    // Asterisk came back empty: the call ended, its leg left with it.
    let status = dana
        .until(|m| matches!(m, ServerMessage::FloorStatus(s) if s.status == Reachability::Down))
        .await;
    let ServerMessage::FloorStatus(down) = status else {
        unreachable!()
    };
    assert!(
        down.reason.as_deref().is_some_and(|r| r.contains("ARI")),
        "{down:?}"
    );
    dana.until(|m| matches!(m, ServerMessage::FloorStatus(s) if s.status == Reachability::Up))
        .await;
    assert!(dana.floor.calls.is_empty(), "{:?}", dana.floor.calls);
    let left = dana.events.iter().find_map(|e| match e {
        ServerMessage::LegLeft(l) if l.leg_id == leg => Some(l.reason),
        _ => None,
    });
    assert_eq!(left, Some(LegLeftReason::CallEnded));
    // The rebuilt floor follows Asterisk again.
    let mut events = asterisk.events(APP).await;
    asterisk.place_call("ag-7", "billing", "support").await;
    bridged(&mut events, 1).await;
    let call_id = call_of(&mut dana, "ag-7").await;
    command(
        &mut dana,
        json!({"type": "monitor", "call_id": call_id, "mode": "silent"}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_refused_while_asterisk_is_away_and_legs_lost_in_a_crash_leave() {
    let Rig {
        proxy: _proxy,
        mut asterisk,
        events,
        gateway: _gateway,
        mut dana,
        call,
    } = rig("away").await;
    let joined = command(
        &mut dana,
        json!({"type": "monitor", "call_id": call.id, "mode": "silent"}),
    )
    .await;
    let leg = joined["leg_id"].as_str().unwrap().to_owned();
    drop(events);
    asterisk.crash();
    dana.until(|m| matches!(m, ServerMessage::FloorStatus(s) if s.status == Reachability::Down))
        .await;
    // A crash tells nothing: the call is still on the floor, but nothing
    // can be done on it until Asterisk is back.
    let reply = dana
        .command(json!({"type": "set_mode", "leg_id": leg, "mode": "whisper"}))
        .await;
    let error = reply
        .error
        .expect("a switch while Asterisk is away was accepted");
    assert_eq!(error.code, floorwalk_protocol::ErrorCode::Unavailable);
    assert!(error.message.contains("unreachable"), "{}", error.message);
    asterisk.start_again().await;
    dana.until(|m| matches!(m, ServerMessage::FloorStatus(s) if s.status == Reachability::Up))
        .await;
    // Asterisk came back without the call: it ended, the leg with it.
    assert!(dana.floor.calls.is_empty(), "{:?}", dana.floor.calls);
    assert!(dana.floor.find_leg(&leg).is_none());
    all_gone(&asterisk, "floorwalk-away-").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_asterisk_half_refuses_is_rolled_back_with_a_clear_error() {
    let Rig {
        proxy: _proxy,
        asterisk,
        events: _events,
        gateway: _gateway,
        mut dana,
        call,
    } = rig("refused").await;
    // Without the WebSocket media channel driver, the snoops can be made
    // but their media channels cannot.
    let said = asterisk.cli("module unload chan_websocket.so");
    assert!(said.contains("nload"), "{said}");
    let reply = dana
        .command(json!({"type": "monitor", "call_id": call.id, "mode": "silent"}))
        .await;
    let error = reply
        .error
        .expect("a join without media channels was accepted");
    assert_eq!(error.code, floorwalk_protocol::ErrorCode::Unavailable);
    assert!(error.message.contains("media channel"), "{}", error.message);
    all_gone(&asterisk, "floorwalk-refused-").await;
    assert!(
        dana.floor.calls[&call.id]
            .supervisor_legs()
            .next()
            .is_none()
    );
    // Back: the same join works.
    asterisk.cli("module load chan_websocket.so");
    command(
        &mut dana,
        json!({"type": "monitor", "call_id": call.id, "mode": "silent"}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_removes_everything_and_odd_events_change_nothing() {
    let Rig {
        proxy: _proxy,
        asterisk,
        events: _events,
        mut gateway,
        mut dana,
        call,
    } = rig("term").await;
    let joined = command(
        &mut dana,
        json!({"type": "monitor", "call_id": call.id, "mode": "whisper"}),
    )
    .await;
    let leg = joined["leg_id"].as_str().unwrap().to_owned();
    // Events the gateway does not know, sent to its own application, with
    // odd payloads: skipped, nothing else happens.
    let events = format!(
        "/events/user/FloorwalkTest?application={}",
        gateway::application(&asterisk, "term").await
    );
    for body in [
        json!({}),
        json!({"variables": {"channel": 7, "bridge": [1, 2]}}),
    ] {
        asterisk.post(&events, &body).await;
    }
    dana.pump(Duration::from_millis(300)).await;
    command(
        &mut dana,
        json!({"type": "set_mode", "leg_id": leg, "mode": "barge"}),
    )
    .await;
    assert!(dana.floor.calls.contains_key(&call.id));
    let status = gateway.terminate();
    assert!(status.success(), "{status:?}");
    all_gone(&asterisk, "floorwalk-term-").await;
    gateway::parties_up(&asterisk, &call).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_media_socket_that_never_opens_or_an_ari_error_rolls_the_join_back() {
    let Rig {
        proxy,
        asterisk,
        events: _events,
        gateway: _gateway,
        mut dana,
        call,
    } = rig("spoilt").await;
    let monitor = json!({"type": "monitor", "call_id": call.id, "mode": "silent"});

    proxy.hold_media(true);
    let reply = dana.command(monitor.clone()).await;
    let error = reply
        .error
        .expect("a join whose media never opened was accepted");
    assert_eq!(error.code, floorwalk_protocol::ErrorCode::Unavailable);
    assert!(
        error.message.contains("did not start within"),
        "{}",
        error.message
    );
    all_gone(&asterisk, "floorwalk-spoilt-").await;
    proxy.hold_media(false);

    proxy.fail(Some(("POST /ari/bridges/", 500)));
    let reply = dana.command(monitor.clone()).await;
    let error = reply.error.expect("a join ARI refused was accepted");
    assert!(
        error.message.contains("HTTP 500") && error.message.contains("injected"),
        "{}",
        error.message
    );
    proxy.fail(None);
    all_gone(&asterisk, "floorwalk-spoilt-").await;
    assert!(
        dana.floor.calls[&call.id]
            .supervisor_legs()
            .next()
            .is_none()
    );
    gateway::parties_up(&asterisk, &call).await;

    command(&mut dana, monitor).await;
}
