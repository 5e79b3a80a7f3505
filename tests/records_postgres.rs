//! The server's records in a real PostgreSQL (a cluster of the test's own,
//! see tests/support/postgres.rs): two servers writing to one database and
//! one report across both; the database stopped mid-run and started again
//! (joins refused meanwhile with a clear reason, every leave recorded once
//! it is back, nothing twice).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/report_cli.rs"]
mod report_cli;
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

/// The database's clients are synchronous (on threads of their own): the
/// test keeps them out of its async runtime, which only drives the
/// simulators and the client.
#[test]
fn two_servers_one_database_one_report_and_a_database_that_goes_away() {
    let mut cluster = postgres::Cluster::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let spool = tempfile::tempdir().unwrap();

    // Two servers, one database: each joins and leaves once.
    let east = Keeper::open(cluster.target(), "east", spool.path()).unwrap();
    let west = Keeper::open(cluster.target(), "west", spool.path()).unwrap();
    for (keeper, seed) in [(&east, 3), (&west, 4)] {
        rt.block_on(async {
            let sim = sim_with(keeper, seed).await;
            let mut client = Client::subscribed(&sim, DANA).await;
            let call = calls(&client).remove(0);
            let leg = leg_of(&monitor(&mut client, &call).await);
            client.pump(Duration::from_millis(300)).await;
            assert!(leave(&mut client, &leg).await.ok);
            client.close().await;
            sim.shutdown().await;
        });
    }
    east.close();
    west.close();
    let report = report_cli::report_json(
        &["--records", &cluster.url(), "--supervisor", "sup-1"],
        &[("FLOORWALK_RECORDS_PASSWORD", postgres::PASSWORD)],
    )
    .remove(0);
    assert_eq!(report["journal"]["files"], 2, "both servers: {report}");
    assert_eq!(report["overall"]["sessions"], 2, "{report}");
    assert_eq!(report["overall"]["legs_ended"], 2, "{report}");
    assert_eq!(report["overall"]["disconnected_legs"], 2, "{report}");

    // The database goes away mid-run.
    let keeper = Keeper::open(cluster.target(), "east", spool.path()).unwrap();
    let sim = rt.block_on(sim_with(&keeper, 5));
    let mut client = rt.block_on(Client::subscribed(&sim, DANA));
    let floor_calls = calls(&client);
    assert!(floor_calls.len() >= 4, "too few calls: {floor_calls:?}");
    let before = leg_of(&rt.block_on(monitor(&mut client, &floor_calls[0])));
    cluster.stop();
    rt.block_on(async {
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
    });

    cluster.run();
    // Back: what was kept is written, joins work again.
    let deadline = Instant::now() + PATIENCE;
    while keeper.unavailable().is_some() {
        assert!(
            Instant::now() < deadline,
            "the keeper never saw the database back"
        );
        rt.block_on(client.pump(Duration::from_millis(100)));
    }
    rt.block_on(async {
        let after = leg_of(&monitor(&mut client, &floor_calls[3]).await);
        assert!(leave(&mut client, &after).await.ok);
        client.close().await;
        sim.shutdown().await;
    });
    keeper.close();

    let rows = Records::open(&cluster.target())
        .unwrap()
        .load(Window::default(), Some("sup-1"))
        .unwrap();
    let last_run = (rows.legs.iter())
        .filter(|l| &*l.server == "east")
        .map(|l| l.run)
        .max()
        .unwrap();
    let legs: Vec<_> = (rows.legs.iter())
        .filter(|l| &*l.server == "east" && l.run == last_run)
        .collect();
    let ended_once = |leg_id: &str| {
        let found: Vec<_> = legs.iter().filter(|l| l.leg_id == leg_id).collect();
        assert_eq!(found.len(), 1, "{leg_id} recorded {} times", found.len());
        assert_eq!(
            found[0].left_reason.as_deref(),
            Some("disconnected"),
            "{:?}",
            found[0]
        );
    };
    ended_once(&before);
    // Every leg of that run has its end: nothing lost, nothing left open.
    for leg in &legs {
        assert!(leg.left_at.is_some(), "{leg:?} has no end");
        ended_once(&leg.leg_id);
    }
    assert!(legs.len() >= 2, "{legs:?}");
}
