//! The standalone simulator's CPU with 20 monitored calls streaming audio to
//! a console, against the same simulator with none; once as it is and once
//! recording every call to WAV (`--record-dir`). Prints the shares of a
//! core (from `/proc`, Linux); asserts nothing about speed. The figures go
//! in docs/performance.md.
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

async fn measure(record: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_floorwalk"));
    command.args(["sim", "--listen", "127.0.0.1:0", "--min-call-secs", "3600"]);
    if record {
        command.arg("--record-dir").arg(dir.path());
    }
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

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for record in [false, true] {
        runtime.block_on(measure(record));
    }
}
