//! Session start, subscribe, resume and determinism of the simulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/sim_client.rs"]
mod sim_client;

use floorwalk_protocol::{Mode, ServerMessage};
use floorwalk_sim::SimOptions;
use serde_json::json;
use sim_client::*;
use std::collections::BTreeSet;

fn kind(message: &ServerMessage) -> String {
    serde_json::to_value(message).unwrap()["type"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn hello_then_a_snapshot_of_my_teams_only() {
    let opts = SimOptions {
        agents: 400,
        lease_ms: 4321,
        heartbeat_ms: 1234,
        ..quiet_options()
    };
    let sim = start(opts).await;
    let mut client = Client::connect(&sim, DANA).await;
    let hello = &client.hello;
    assert_eq!(hello.protocol, 1);
    assert!(
        hello.server.starts_with("floorwalk-sim/"),
        "{}",
        hello.server
    );
    assert!(!hello.session.is_empty());
    assert_eq!((hello.heartbeat_ms, hello.lease_ms), (1234, 4321));
    assert_eq!(hello.supervisor.id, "sup-1");
    assert_eq!(hello.supervisor.name, "Dana Ruiz");
    assert_eq!(hello.supervisor.teams, ["billing", "retention"]);
    assert!(hello.supervisor.can_end_calls);

    client.subscribe(None, None).await;
    let ServerMessage::Snapshot(snapshot) = client.next().await else {
        panic!("expected a snapshot");
    };
    let teams: BTreeSet<&str> = snapshot.agents.iter().map(|a| a.team.as_str()).collect();
    assert_eq!(teams, BTreeSet::from(["billing", "retention"]));
    let queues: Vec<&str> = snapshot.queues.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(queues, ["billing", "retention"]);
    assert!(!snapshot.calls.is_empty());
    for call in &snapshot.calls {
        assert!(snapshot.agents.iter().any(|a| a.id == call.agent_id));
        assert!(call.customer.contains('•'), "{}", call.customer);
    }

    // Events that follow are of my teams too, and numbered by exactly 1.
    let mut last = snapshot.seq;
    for _ in 0..10 {
        let message = client.next().await;
        let Some(seq) = message.seq() else { continue };
        assert_eq!(seq, last + 1);
        last = seq;
        match &message {
            ServerMessage::Agent(a) => assert!(teams.contains(a.agent.team.as_str())),
            ServerMessage::Queue(q) => assert!(teams.contains(q.queue.id.as_str())),
            ServerMessage::CallStarted(c) => {
                let agent = &client.floor.agents[&c.call.agent_id];
                assert!(teams.contains(agent.team.as_str()));
            }
            _ => {}
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn resuming_within_the_window_gets_only_the_missed_events() {
    let sim = start(quiet_options()).await;
    let mut dana = Client::subscribed(&sim, DANA).await;
    dana.pump(std::time::Duration::from_millis(300)).await;
    let session = dana.hello.session.clone();
    let call = dana.a_call();
    let floor = dana.floor.clone();
    let last_seq = floor.last_seq.unwrap();
    dana.close().await;

    // Something surely happens on Dana's floor while she is away.
    let mut amara = Client::subscribed(&sim, AMARA).await;
    let reply = amara
        .command(json!({"type": "monitor", "call_id": call, "mode": "silent"}))
        .await;
    let leg_id = reply.outcome().unwrap()["leg_id"]
        .as_str()
        .unwrap()
        .to_string();

    let mut dana = Client::connect(&sim, DANA).await;
    assert_eq!(
        dana.hello.session, session,
        "the session survives reconnects"
    );
    dana.floor = floor;
    dana.subscribe(Some(&session), Some(last_seq)).await;
    // No snapshot: the replay continues right after last_seq (the client
    // fails on any gap or duplicate).
    let first = dana.next().await;
    assert_eq!(first.seq(), Some(last_seq + 1), "{first:?}");
    while dana.floor.calls[&call].leg(&leg_id).is_none() {
        let message = dana.next().await;
        assert!(
            !matches!(message, ServerMessage::Snapshot(_)),
            "resume sent a snapshot"
        );
    }
    assert_eq!(
        dana.floor.calls[&call].leg(&leg_id).unwrap().name,
        "Amara Okafor"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_stale_or_impossible_position_gets_a_snapshot() {
    let sim = start(quiet_options()).await;
    let session = Client::connect(&sim, DANA).await.hello.session;
    let attempts = [
        (Some("s-from-another-run".to_string()), Some(3)),
        (Some(session.clone()), Some(u64::MAX / 2)),
        (Some(session), None),
        (None, Some(3)),
    ];
    for (session, last_seq) in attempts {
        // A fresh socket each time, so the answer is the first message.
        let mut dana = Client::connect(&sim, DANA).await;
        dana.subscribe(session.as_deref(), last_seq).await;
        let message = dana.next().await;
        assert!(
            matches!(message, ServerMessage::Snapshot(_)),
            "{session:?}/{last_seq:?}: {}",
            kind(&message)
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn resubscribing_on_the_same_socket_starts_over_from_a_snapshot() {
    let sim = start(SimOptions {
        agents: 400,
        ..quiet_options()
    })
    .await;
    let mut dana = Client::subscribed(&sim, DANA).await;
    let call = dana.a_call();
    let reply = dana
        .command(json!({"type": "monitor", "call_id": call, "mode": "whisper"}))
        .await;
    let leg_id = reply.outcome().unwrap()["leg_id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = dana.floor.last_seq.unwrap();

    dana.subscribe(None, None).await;
    let snapshot = dana
        .until(|m| matches!(m, ServerMessage::Snapshot(_)))
        .await;
    assert!(snapshot.seq().unwrap() >= before);
    let leg = dana.floor.calls[&call].leg(&leg_id).unwrap();
    assert_eq!(leg.mode, Some(Mode::Whisper));
    // Events go on from the snapshot's seq, by exactly 1.
    for _ in 0..5 {
        dana.until(|m| m.is_state_event()).await;
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn sessions_are_per_supervisor_and_per_run() {
    let a = start(quiet_options()).await;
    let b = start(quiet_options()).await;
    let dana_a = Client::connect(&a, DANA).await;
    let jorge_a = Client::connect(&a, JORGE).await;
    let dana_b = Client::connect(&b, DANA).await;
    assert_ne!(dana_a.hello.session, jorge_a.hello.session);
    assert_ne!(dana_a.hello.session, dana_b.hello.session);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn the_same_seed_gives_the_same_floor_and_story() {
    let opts = || SimOptions {
        agents: 600,
        seed: 77,
        ..SimOptions::default()
    };
    let (a, b) = (start(opts()).await, start(opts()).await);
    let people = |snapshot: &floorwalk_protocol::Snapshot| {
        snapshot
            .agents
            .iter()
            .map(|agent| (agent.id.clone(), agent.name.clone(), agent.team.clone()))
            .collect::<Vec<_>>()
    };
    let (world_a, world_b) = (world(&a).await, world(&b).await);
    assert_eq!(world_a.agents.len(), 600);
    assert_eq!(people(&world_a), people(&world_b));

    // Every stream starts with its world: replaying from seq 0 tells the
    // story from the first tick on.
    let story = |sim| async move {
        let mut client = Client::connect(sim, AMARA).await;
        let session = client.hello.session.clone();
        client.subscribe(Some(&session), Some(0)).await;
        let mut kinds = Vec::new();
        while kinds.len() < 80 {
            let message = read(&mut client.ws).await;
            assert!(!matches!(message, ServerMessage::Snapshot(_)));
            if let Some(seq) = message.seq() {
                assert_eq!(seq, kinds.len() as u64 + 1);
                let mut value = serde_json::to_value(&message).unwrap();
                // Times differ between runs; what happens, to whom, does not.
                strip_times(&mut value);
                kinds.push(value);
            }
        }
        kinds
    };
    let (story_a, story_b) = (story(&a).await, story(&b).await);
    assert_eq!(story_a, story_b);
    let kinds: BTreeSet<String> = story_a
        .iter()
        .map(|v| v["type"].as_str().unwrap().to_string())
        .collect();
    assert!(kinds.len() >= 3, "{kinds:?}");
    a.shutdown().await;
    b.shutdown().await;
}

fn strip_times(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for key in ["at", "state_since", "started_at", "joined_at"] {
                map.remove(key);
            }
            map.values_mut().for_each(strip_times);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_times),
        _ => {}
    }
}
