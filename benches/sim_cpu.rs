//! The standalone simulator's CPU with 20 monitored calls streaming audio to
//! a console, against the same simulator with none; once as it is and once
//! recording every call to WAV (`--record-dir`). Then a floor of 10,000
//! agents: CPU with no console and with two consoles that see every team,
//! how long an all-teams snapshot takes to arrive, and the resident memory.
//! Prints the shares of a core (from `/proc`, Linux); asserts nothing about
//! speed. The figures go in docs/performance.md.
//!
//! `cargo bench --bench sim_cpu`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/sim_client.rs"]
mod sim_client;

use serde_json::json;
use sim_client::{AMARA, Client};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

/// How long each figure is measured.
const SPAN: Duration = Duration::from_secs(20);
/// Calls the console monitors at once.
const CALLS: usize = 20;

/// CPU time (user + system) of a process so far, in seconds (Linux).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (in parentheses): utime and stime are
    // the 12th and 13th.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // In clock ticks: USER_HZ, 100 a second on Linux.
    ticks / 100.0
}

/// The share of a core the process used while `client` read for `SPAN`.
async fn share_of_a_core(pid: u32, client: &mut Client) -> f64 {
    let before = cpu_seconds(pid);
    client.pump(SPAN).await;
    (cpu_seconds(pid) - before) / SPAN.as_secs_f64()
}

/// Resident memory of a process, in MiB (Linux).
fn resident_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024.0
}

/// Starts `floorwalk sim` with `args`, its data (the records) under `data`;
/// its pid and address.
async fn simulator(
    data: &std::path::Path,
    args: &[&str],
) -> (tokio::process::Child, u32, std::net::SocketAddr) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_floorwalk"));
    command
        .args(["sim", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("XDG_DATA_HOME", data);
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    let addr: std::net::SocketAddr = first
        .trim_start_matches("listening on ws://")
        .trim_end_matches(floorwalk_protocol::PATH)
        .parse()
        .unwrap();
    (child, pid, addr)
}

async fn measure(record: bool) {
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().to_str().unwrap();
    let mut args = vec!["--min-call-secs", "3600"];
    if record {
        args.extend(["--record-dir", recording]);
    }
    let data = tempfile::tempdir().unwrap();
    let (mut child, pid, addr) = simulator(data.path(), &args).await;
    let mut amara = Client::subscribed_at(addr, AMARA).await;
    let idle = share_of_a_core(pid, &mut amara).await;

    let mut calls: Vec<String> = amara.floor.calls.keys().cloned().collect();
    calls.sort_by_key(|id| (id.len(), id.clone()));
    for call in calls.iter().take(CALLS) {
        let reply = amara
            .command(json!({"type": "monitor", "call_id": call, "mode": "silent"}))
            .await;
        assert!(reply.ok, "{reply:?}");
    }
    let frames = amara.audio.len();
    let busy = share_of_a_core(pid, &mut amara).await;
    let per_sec = (amara.audio.len() - frames) as f64 / SPAN.as_secs_f64();
    println!(
        "record-dir {record}: idle {:.2}% of a core; {CALLS} monitored calls {:.2}% \
         ({per_sec:.0} frames/s to the console)",
        idle * 100.0,
        busy * 100.0
    );
    child.kill().await.ok();
}

/// A large floor: 10,000 agents, alone and with two all-teams consoles.
async fn large_floor() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, pid, addr) = simulator(data.path(), &["--agents", "10000"]).await;
    // Let the opening burst settle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = cpu_seconds(pid);
    tokio::time::sleep(SPAN).await;
    let alone = (cpu_seconds(pid) - before) / SPAN.as_secs_f64();

    let asked = std::time::Instant::now();
    let mut first = Client::subscribed_at(addr, AMARA).await;
    let snapshot = asked.elapsed();
    let mut second = Client::subscribed_at(addr, AMARA).await;
    let (events, before) = (first.events.len(), cpu_seconds(pid));
    tokio::join!(first.pump(SPAN), second.pump(SPAN));
    let watched = (cpu_seconds(pid) - before) / SPAN.as_secs_f64();
    let per_sec = (first.events.len() - events) as f64 / SPAN.as_secs_f64();
    println!(
        "10,000 agents: {:.2}% of a core alone; {:.2}% with two all-teams consoles \
         ({per_sec:.0} events/s each); connected to all-teams snapshot applied in {} ms; {:.0} MiB resident",
        alone * 100.0,
        watched * 100.0,
        snapshot.as_millis(),
        resident_mib(pid)
    );
    child.kill().await.ok();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for record in [false, true] {
        runtime.block_on(measure(record));
    }
    runtime.block_on(large_floor());
}
