//! The server's records in a real PostgreSQL (a cluster of the test's own,
//! see tests/support/postgres.rs): two servers writing to one database and
//! one report across both; the database stopped mid-run and started again
//! (joins refused meanwhile with a clear reason, every leave recorded once
//! it is back, nothing twice).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/sim_client.rs"]
mod sim_client;

use floorwalk_protocol::{ErrorCode, Reply};
use floorwalk_records::{Keeper, Records, Window};
use floorwalk_server::{RecordKeeper as _, ServerHandle};
use floorwalk_sim::SimOptions;
use serde_json::json;
use sim_client::{Client, DANA, PATIENCE};
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn sim_with(keeper: &Arc<Keeper>, seed: u64) -> ServerHandle {
    floorwalk_sim::start(SimOptions {
        agents: 40,
        seed,
        min_call_secs: 3600,
        records: Some(keeper.clone()),
        ..SimOptions::default()
    })
    .await
    .unwrap()
}

async fn monitor(client: &mut Client, call_id: &str) -> Reply {
    client
        .command(json!({"type": "monitor", "call_id": call_id, "mode": "silent"}))
        .await
}

fn leg_of(reply: &Reply) -> String {
    assert!(reply.ok, "{reply:?}");
    reply.result.as_ref().unwrap()["leg_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn leave(client: &mut Client, leg_id: &str) -> Reply {
    client
        .command(json!({"type": "disconnect", "leg_id": leg_id}))
        .await
}

/// Calls of this supervisor's floor, oldest first.
fn calls(client: &Client) -> Vec<String> {
    let mut calls: Vec<String> = client.floor.calls.keys().cloned().collect();
    calls.sort_by_key(|id| (id.len(), id.clone()));
    calls
}

fn report_json(cluster: &postgres::Cluster, extra: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_floorwalk"))
        .args(["report", "--records", &cluster.url(), "--format", "json"])
        .args(extra)
        .env("FLOORWALK_RECORDS_PASSWORD", postgres::PASSWORD)
        .env("XDG_CONFIG_HOME", "/nonexistent-floorwalk-config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_one_database_one_report_and_a_database_that_goes_away() {
    let mut cluster = postgres::Cluster::start();
    let spool = tempfile::tempdir().unwrap();

    // Two servers, one database: each joins and leaves once.
    let east = Keeper::open(cluster.target(), "east", spool.path()).unwrap();
    let west = Keeper::open(cluster.target(), "west", spool.path()).unwrap();
    for (keeper, seed) in [(&east, 3), (&west, 4)] {
        let sim = sim_with(keeper, seed).await;
        let mut client = Client::subscribed(&sim, DANA).await;
        let call = calls(&client).remove(0);
        let leg = leg_of(&monitor(&mut client, &call).await);
        client.pump(Duration::from_millis(300)).await;
        assert!(leave(&mut client, &leg).await.ok);
        client.close().await;
        sim.shutdown().await;
    }
    east.close();
    west.close();
    let report = report_json(&cluster, &["--supervisor", "sup-1"]);
    assert_eq!(report["journal"]["files"], 2, "both servers: {report}");
    assert_eq!(report["overall"]["sessions"], 2, "{report}");
    assert_eq!(report["overall"]["legs_ended"], 2, "{report}");
    assert_eq!(report["overall"]["disconnected_legs"], 2, "{report}");

    // The database goes away mid-run.
    let keeper = Keeper::open(cluster.target(), "east", spool.path()).unwrap();
    let sim = sim_with(&keeper, 5).await;
    let mut client = Client::subscribed(&sim, DANA).await;
    let floor_calls = calls(&client);
    let before = leg_of(&monitor(&mut client, &floor_calls[0]).await);
    cluster.stop();
    // Joins are refused, saying why, until it is back (the first may be
    // refused only once its record failed: its leg is then taken away).
    let deadline = Instant::now() + PATIENCE;
    let refusal = loop {
        let reply = monitor(&mut client, &floor_calls[1]).await;
        if !reply.ok {
            break reply.error.unwrap();
        }
        assert!(Instant::now() < deadline, "joins kept being confirmed");
        assert!(leave(&mut client, &leg_of(&reply)).await.ok);
    };
    assert_eq!(refusal.code, ErrorCode::Unavailable);
    assert!(
        refusal.message.contains("record") && refusal.message.contains("records database"),
        "{}",
        refusal.message
    );
    let again = monitor(&mut client, &floor_calls[2]).await;
    assert!(!again.ok, "a join while the database is away: {again:?}");
    assert!(keeper.unavailable().is_some());
    // Leaving always works.
    assert!(leave(&mut client, &before).await.ok);
    client.pump(Duration::from_millis(300)).await;

    cluster.run();
    // Back: what was kept is written, joins work again.
    let deadline = Instant::now() + PATIENCE;
    while keeper.unavailable().is_some() {
        assert!(
            Instant::now() < deadline,
            "the keeper never saw the database back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = leg_of(&monitor(&mut client, &floor_calls[3]).await);
    assert!(leave(&mut client, &after).await.ok);
    client.close().await;
    sim.shutdown().await;
    keeper.close();

    let rows = Records::open(&cluster.target())
        .unwrap()
        .load(Window::default(), Some("sup-1"))
        .unwrap();
    let east_legs: Vec<_> = rows.legs.iter().filter(|l| l.server == "east").collect();
    let find = |leg_id: &str| {
        let found: Vec<_> = east_legs
            .iter()
            .filter(|l| {
                l.leg_id == leg_id && l.run == east_legs.iter().map(|l| l.run).max().unwrap()
            })
            .collect();
        assert_eq!(found.len(), 1, "{leg_id} recorded {} times", found.len());
        found[0]
    };
    let before_row = find(&before);
    assert_eq!(before_row.left_reason.as_deref(), Some("disconnected"));
    assert!(before_row.left_at.is_some());
    assert_eq!(find(&after).left_reason.as_deref(), Some("disconnected"));
    // Every leg of that run has its end: nothing lost, nothing open.
    for leg in &east_legs {
        assert!(leg.left_at.is_some(), "{leg:?} has no end");
    }
}
