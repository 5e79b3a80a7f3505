//! For the crash tests: the simulator inside the test (on its own tokio
//! runtime, so `floor_snapshot` can be asked any time), the real console
//! binary in a pty against it with a private home, signals, and the
//! console's journal.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::pty::PtyApp;
use floorwalk_console::audit::{self, Loaded};
use floorwalk_protocol::{Leg, Role, Snapshot};
use floorwalk_server::ServerHandle;
use floorwalk_sim::SimOptions;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The demo supervisor the console signs in as (Dana Ruiz, billing and
/// retention).
pub const TOKEN: &str = "demo-dana";
pub const ME: &str = "sup-1";
/// A hang guard for one wait, not a speed check.
pub const STEP: Duration = Duration::from_secs(10);
pub const COLS: u16 = 120;
pub const ROWS: u16 = 40;

pub struct Server {
    pub runtime: tokio::runtime::Runtime,
    sim: Option<ServerHandle>,
}

impl Server {
    /// A small floor (every agent of the supervisor fits on the screen)
    /// whose calls outlast the test.
    pub fn start(seed: u64, lease_ms: u64, heartbeat_ms: u64) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sim = runtime
            .block_on(floorwalk_sim::start(SimOptions {
                agents: 20,
                seed,
                min_call_secs: 3600,
                lease_ms,
                heartbeat_ms,
                ..SimOptions::default()
            }))
            .unwrap();
        Server {
            runtime,
            sim: Some(sim),
        }
    }

    pub fn sim(&self) -> &ServerHandle {
        self.sim.as_ref().unwrap()
    }

    pub fn url(&self) -> String {
        self.sim().url()
    }

    pub fn world(&self) -> Snapshot {
        self.runtime.block_on(self.sim().floor_snapshot()).unwrap()
    }

    /// The supervisor legs of `user` on the server: (call id, leg).
    pub fn legs_of(&self, user: &str) -> Vec<(String, Leg)> {
        self.world()
            .calls
            .into_iter()
            .flat_map(|call| {
                let id = call.id.clone();
                call.legs.into_iter().map(move |leg| (id.clone(), leg))
            })
            .filter(|(_, leg)| leg.role == Role::Supervisor && leg.user_id.as_deref() == Some(user))
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(sim) = self.sim.take() {
            self.runtime.block_on(sim.shutdown());
        }
    }
}

/// A private home: config, log and journal in a temporary directory.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let home = Home { dir };
        std::fs::write(
            home.config(),
            // Toggle push-to-talk: the terminal is not asked whether it
            // reports key releases (the test's terminal emulator would not
            // answer, and the console would wait 2 s for it at each start).
            format!(
                "log_file = \"{}\"\naudit_dir = \"{}\"\n[ptt]\nmode = \"toggle\"\n",
                home.dir.path().join("console.log").display(),
                home.audit().display()
            ),
        )
        .unwrap();
        // Private, or the console warns about it on the message line.
        let private = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600);
        std::fs::set_permissions(home.config(), private).unwrap();
        home
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn audit(&self) -> PathBuf {
        self.dir.path().join("audit")
    }

    pub fn journal(&self) -> Loaded {
        audit::read_dir(&self.audit(), None, None).unwrap()
    }

    /// Starts `floorwalk console` against `url`, signed in as [`TOKEN`],
    /// without audio devices (a jump host's console; no device probing).
    pub fn console(&self, url: &str) -> PtyApp {
        let config = self.config();
        PtyApp::spawn_with_env(
            &[
                "console",
                "--server",
                url,
                "--config",
                config.to_str().unwrap(),
                "--audio-out",
                "none",
                "--audio-in",
                "none",
            ],
            self.dir.path(),
            COLS,
            ROWS,
            &[("FLOORWALK_TOKEN", TOKEN)],
        )
    }
}

/// Sends a signal by name (`KILL`, `HUP`) to the console.
pub fn signal(app: &PtyApp, name: &str) {
    let pid = app.pid().expect("pid").to_string();
    let sent = std::process::Command::new("kill")
        .args([format!("-{name}"), pid])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{name}");
}

/// A SIGKILL made ready in advance: a shell waiting on its input with the
/// console's pid, so firing it costs one write, not a process start, and
/// the kill lands within a fraction of a millisecond of the moment chosen.
pub struct Killer {
    shell: std::process::Child,
}

impl Killer {
    pub fn arm(app: &PtyApp) -> Killer {
        let pid = app.pid().expect("pid").to_string();
        let shell = std::process::Command::new("sh")
            .args(["-c", "read _ && kill -KILL \"$1\"", "sh", &pid])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        Killer { shell }
    }

    pub fn fire(mut self) {
        use std::io::Write as _;
        let mut stdin = self.shell.stdin.take().unwrap();
        stdin.write_all(b"\n").unwrap();
        drop(stdin);
        assert!(self.shell.wait().unwrap().success(), "kill -KILL failed");
    }
}

/// Whether the screen shows a presence of mine in the table.
pub fn on_screen_on_call(screen: &str) -> bool {
    screen.contains("you:")
}

/// Live, with a call selected in the call pane (`n` until one is).
pub fn select_a_call(app: &mut PtyApp) {
    app.wait_for_text("● live", STEP);
    let start = Instant::now();
    loop {
        app.send("n");
        if wait_briefly(app, |s| s.contains("Call c-"), Duration::from_millis(500)) {
            return;
        }
        assert!(
            start.elapsed() < STEP,
            "no call to select:\n{}",
            app.screen_text()
        );
    }
}

/// Polls the screen every millisecond for up to `limit`.
pub fn wait_briefly(app: &PtyApp, check: impl Fn(&str) -> bool, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check(&app.screen_text()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}
