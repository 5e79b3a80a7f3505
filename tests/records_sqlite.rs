//! The server's records in SQLite, with the real `floorwalk sim` binary:
//! `kill -9` of the server, round after round, loses no row it confirmed
//! (a join's `ok` comes only once its row is committed), and the next start
//! closes the legs it lost (`server_restart`); a file that is not a
//! database, or that the server may not write, stops it at start with the
//! reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/sim_client.rs"]
mod sim_client;
#[path = "support/sim_process.rs"]
mod sim_process;

use floorwalk_records::{Records, Target, Window};
use serde_json::json;
use sim_client::{Client, DANA, PATIENCE};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROUNDS: usize = 4;

struct Dirs {
    tmp: tempfile::TempDir,
}

impl Dirs {
    fn new() -> Self {
        Self {
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn db(&self) -> std::path::PathBuf {
        self.tmp.path().join("records.sqlite")
    }

    fn url(&self) -> String {
        format!("sqlite:{}", self.db().display())
    }

    /// `floorwalk sim` writing to the records, with a private data dir.
    fn sim(&self, binary: &Path) -> Command {
        let mut command = Command::new(binary);
        command
            .args(["sim", "--listen", "127.0.0.1:0", "--agents", "30"])
            .args(["--min-call-secs", "3600", "--lease-ms", "60000"])
            .args(["--name", "sim", "--records", &self.url()])
            .env("XDG_DATA_HOME", self.tmp.path().join("data"))
            .env("XDG_CONFIG_HOME", self.tmp.path().join("config"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }
}

fn addr_of(url: &str) -> std::net::SocketAddr {
    url.trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn kill9(child: &mut Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

fn open_legs(dirs: &Dirs) -> usize {
    let rows = Records::open(&Target::parse(&dirs.url()).unwrap())
        .unwrap()
        .load(Window::default(), None)
        .unwrap();
    rows.legs.iter().filter(|l| l.left_at.is_none()).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_server_loses_no_confirmed_row_and_the_next_start_closes_what_it_lost() {
    let dirs = Dirs::new();
    let binary = Path::new(env!("CARGO_BIN_EXE_floorwalk"));
    // Per round: the legs confirmed, and of those the ones confirmed gone.
    let mut confirmed: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for round in 0..=ROUNDS {
        let mut sim = dirs.sim(binary).spawn().unwrap();
        let url = sim_process::listening_url(&mut sim);
        // Each start closes what the last run left open.
        let deadline = Instant::now() + PATIENCE;
        while open_legs(&dirs) > 0 {
            assert!(
                Instant::now() < deadline,
                "round {round}: open legs stay open after a restart"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if round == ROUNDS {
            kill9(&mut sim);
            break;
        }
        let mut client = Client::subscribed_at(addr_of(&url), DANA).await;
        let mut calls: Vec<String> = client.floor.calls.keys().cloned().collect();
        calls.sort();
        assert!(calls.len() >= 3, "too few calls on the floor: {calls:?}");
        let mut joined = Vec::new();
        let mut left = Vec::new();
        for (n, call) in calls.iter().take(3).enumerate() {
            let reply = client
                .command(json!({"type": "monitor", "call_id": call, "mode": "whisper"}))
                .await;
            assert!(reply.ok, "{reply:?}");
            let leg = reply.result.unwrap()["leg_id"].as_str().unwrap().to_owned();
            joined.push(leg.clone());
            if n == 1 {
                let reply = client
                    .command(json!({"type": "disconnect", "leg_id": leg}))
                    .await;
                assert!(reply.ok, "{reply:?}");
                left.push(leg);
            }
        }
        // The last join's ok is the last thing read: kill at once.
        kill9(&mut sim);
        confirmed.push((joined, left));
    }

    let rows = Records::open(&Target::parse(&dirs.url()).unwrap())
        .unwrap()
        .load(Window::default(), None)
        .unwrap();
    let mut runs: Vec<i64> = rows.legs.iter().map(|l| l.run).collect();
    runs.sort_unstable();
    runs.dedup();
    assert_eq!(runs.len(), ROUNDS, "one run per round with legs: {runs:?}");
    for (round, (run, (joined, left))) in runs.iter().zip(&confirmed).enumerate() {
        let legs: HashMap<&str, _> = (rows.legs.iter())
            .filter(|l| l.run == *run)
            .map(|l| (l.leg_id.as_str(), l))
            .collect();
        for leg_id in joined {
            let row = legs
                .get(leg_id.as_str())
                .unwrap_or_else(|| panic!("round {round}: confirmed join {leg_id} lost"));
            let expected = if left.contains(leg_id) {
                // Committed before the next join's row, which was
                // confirmed after it.
                "disconnected"
            } else {
                "server_restart"
            };
            assert_eq!(
                row.left_reason.as_deref(),
                Some(expected),
                "round {round}: {row:?}"
            );
            assert_eq!(row.segments.len(), 1, "{row:?}");
            assert!(row.segments[0].ended_at.is_some(), "{row:?}");
        }
        assert_eq!(
            legs.len(),
            joined.len(),
            "round {round}: legs nobody confirmed"
        );
    }
}

#[test]
fn a_file_that_is_not_a_database_stops_the_server_at_start_with_the_reason() {
    let dirs = Dirs::new();
    std::fs::write(dirs.db(), vec![0x42_u8; 16_384]).unwrap();
    let out = dirs
        .sim(Path::new(env!("CARGO_BIN_EXE_floorwalk")))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open the records at sqlite:") && err.contains("not a database"),
        "{err}"
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!said.contains("listening"), "it listened anyway: {said}");
}

/// As an unprivileged user (root writes any file), a database file it may
/// only read.
#[test]
fn a_read_only_database_stops_the_server_at_start_with_the_reason() {
    use std::os::unix::fs::PermissionsExt as _;
    let dirs = Dirs::new();
    Records::open(&Target::parse(&dirs.url()).unwrap()).unwrap();
    let tmp = dirs.tmp.path();
    std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(dirs.db(), std::fs::Permissions::from_mode(0o444)).unwrap();
    // The binary where the unprivileged user may run it.
    let binary = tmp.join("floorwalk");
    std::fs::copy(env!("CARGO_BIN_EXE_floorwalk"), &binary).unwrap();
    let sim = dirs.sim(&binary);
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(sim.get_program())
        .args(sim.get_args())
        .env("XDG_DATA_HOME", tmp.join("data"))
        .env("XDG_CONFIG_HOME", tmp.join("config"));
    let out = command
        .output()
        .expect("setpriv runs the server as nobody (util-linux)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot open the records at sqlite:") && err.contains("read"),
        "{err}"
    );
}
