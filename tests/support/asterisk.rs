//! A real Asterisk 22 for tests, on loopback, with the project's own
//! configuration (tests/fixtures/asterisk/*.conf).
//!
//! `Asterisk::start()` takes the install from `FLOORWALK_ASTERISK` (a prefix
//! with `sbin/asterisk`) or builds one with `shared/asterisk/install.sh`
//! beside the repository, writes the configuration into a temporary
//! directory (which also holds every file Asterisk writes), starts it in the
//! foreground on a free loopback port and waits until ARI answers and the
//! boot is complete. Dropping it stops Asterisk and reaps the process, on a
//! panic too (and then keeps the directory with the logs); a watchdog kills
//! it should the test process itself be killed.
//!
//! The ARI password is fresh for each run and lives only in the
//! configuration file (readable by its owner only) and in this process: it is
//! never on a command line nor printed.
//!
//! The calls: `place_call` originates one through the dialplan of
//! extensions.conf (whose header shows its channels): a bridge holding a
//! customer channel and an agent channel, marked by the channel variables
//! FW_ROLE, FW_AGENT, FW_TEAM and FW_QUEUE that ARI shows as `channelvars`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "wav.rs"]
mod wav;

use base64::Engine as _;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::fmt;
use std::fs::{self, File};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The ARI user of ari.conf.
pub const ARI_USER: &str = "floorwalk";
/// The dialplan context of the rig's calls (extensions.conf).
pub const CALLS_CONTEXT: &str = "calls";
/// What the customer's phone says, in a loop: a tone of this pitch.
pub const CUSTOMER_HZ: f32 = 400.0;
/// What the agent's phone says, in a loop: a tone of this pitch.
pub const AGENT_HZ: f32 = 900.0;
/// The amplitude of both (full scale 1.0).
pub const PARTY_LEVEL: f32 = 0.25;
/// A sound the customer's phone can say instead of its tone
/// ([`CallAudio::customer_says`]): bursts of a `BURST_HZ` tone at
/// `PARTY_LEVEL`, `BURST_MS` long, one starting every `BURST_EVERY_MS`
/// (from the first sample), silence between; a listener can time each
/// onset.
pub const BURSTS: &str = "floorwalk-bursts";
pub const BURST_HZ: f32 = 1_000.0;
pub const BURST_MS: u32 = 100;
pub const BURST_EVERY_MS: u32 = 500;
/// The sound the gateway plays as the monitoring notice by default, in
/// the rig a `NOTICE_HZ` tone at `PARTY_LEVEL` lasting `NOTICE_MS` (so a
/// listener can tell it from the parties).
pub const NOTICE_SOUND: &str = "floorwalk-monitoring-notice";
pub const NOTICE_HZ: f32 = 1_400.0;
pub const NOTICE_MS: u32 = 1_500;
/// How long `BURSTS` lasts before the dialplan plays it again.
const BURSTS_SECS: u32 = 60;

/// How long Asterisk may take to boot until ARI answers.
const BOOT_PATIENCE: Duration = Duration::from_secs(30);
/// How long one CLI command, one ARI request or one wait for an event may
/// take before the test fails (a hang guard, not a speed check).
pub const PATIENCE: Duration = Duration::from_secs(10);
/// How long Asterisk may take to stop before it is killed.
const STOP_PATIENCE: Duration = Duration::from_secs(10);

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/asterisk");
const INSTALL_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/asterisk/install.sh");
/// install.sh's default prefix under `$HOME`, and the stamp of a finished build.
const DEFAULT_PREFIX: &str = ".cache/floorwalk/asterisk-22.10.1";
const INSTALLED_STAMP: &str = ".floorwalk-installed-22.10.1";
/// Serialises the install script across test binaries that start at once.
const INSTALL_LOCK: &str = "/tmp/floorwalk-asterisk-install.lock";

/// The caller id of every placed call's customer.
pub const CUSTOMER_NUMBER: &str = "+15551230134";

/// The ARI events socket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Asterisk {
    /// Configuration, sounds, database, control socket and logs.
    dir: tempfile::TempDir,
    prefix: PathBuf,
    /// Asterisk itself; `None` once stopped.
    process: Option<Child>,
    /// Kills Asterisk when its standard input closes, i.e. when this test
    /// process dies without running `Drop`.
    watchdog: Option<Child>,
    port: u16,
    password: String,
    http: reqwest::Client,
}

impl fmt::Debug for Asterisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Asterisk")
            .field("dir", &self.dir.path())
            .field("prefix", &self.prefix)
            .field("port", &self.port)
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Asterisk {
    /// Starts a private Asterisk and waits until ARI answers and the boot
    /// is complete (every module loaded). Panics, with the last lines of its
    /// log, when it exits early or does not answer in time; panics with how
    /// to get one when there is no Asterisk to run.
    pub async fn start() -> Asterisk {
        let prefix = tokio::task::spawn_blocking(|| install_prefix().to_owned())
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let dir = tempfile::Builder::new()
            .prefix("floorwalk-asterisk-")
            .tempdir()
            .unwrap();
        let port = free_port();
        let password = random_hex(16);
        write_tree(dir.path(), &prefix, port, &password);

        // From here on `Drop` stops Asterisk whatever happens.
        let mut asterisk = Asterisk {
            dir,
            prefix,
            process: None,
            watchdog: None,
            port,
            password,
            http: reqwest::Client::builder()
                .timeout(PATIENCE)
                .no_proxy()
                .build()
                .unwrap(),
        };
        asterisk.boot().await;
        asterisk
    }

    /// Sends Asterisk a signal (`STOP` freezes it, `CONT` thaws it).
    pub fn signal(&self, name: &str) {
        let pid = self.pid();
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} {pid}");
    }

    /// Kills Asterisk (SIGKILL, a crash: no hang-up reaches anyone) until
    /// [`Asterisk::restart`].
    pub fn crash(&mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Stops Asterisk and starts it again with the same configuration and
    /// port: every channel and bridge is gone, as after a crash.
    pub async fn restart(&mut self) {
        self.stop();
        self.boot().await;
    }

    /// Starts Asterisk again after [`Asterisk::crash`].
    pub async fn start_again(&mut self) {
        self.boot().await;
    }

    /// Runs Asterisk and its watchdog, and waits until it is fully booted.
    async fn boot(&mut self) {
        let out = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("log/stdout-stderr.log"))
            .unwrap();
        let process = Command::new(self.prefix.join("sbin/asterisk"))
            // -f: foreground, -n: no colours, -C: the private configuration.
            .arg("-f")
            .arg("-n")
            .arg("-C")
            .arg(self.dir.path().join("etc/asterisk.conf"))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {}: {e}",
                    self.prefix.join("sbin/asterisk").display()
                )
            });
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(r#"read -r _; kill -KILL "$1" 2>/dev/null"#)
            .arg("floorwalk-asterisk-watchdog")
            .arg(process.id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        self.process = Some(process);
        match watchdog {
            Ok(watchdog) => self.watchdog = Some(watchdog),
            Err(e) => self.fail(&format!("cannot start the watchdog: {e}")),
        }
        self.wait_for_ari().await;
        self.cli("core waitfullybooted");
    }

    async fn wait_for_ari(&mut self) {
        let deadline = Instant::now() + BOOT_PATIENCE;
        let url = format!("{}/asterisk/info", self.ari_url());
        loop {
            if let Some(status) = self.process.as_mut().unwrap().try_wait().unwrap() {
                self.fail(&format!("Asterisk exited while booting ({status})"));
            }
            let last = match self
                .http
                .get(&url)
                .basic_auth(ARI_USER, Some(&self.password))
                .send()
                .await
            {
                Ok(reply) if reply.status().is_success() => return,
                Ok(reply) => format!("HTTP {}", reply.status()),
                Err(e) => with_causes(&e),
            };
            if Instant::now() > deadline {
                self.fail(&format!(
                    "ARI did not answer at {url} within {BOOT_PATIENCE:?} (last: {last})"
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:PORT/ari`
    pub fn ari_url(&self) -> String {
        format!("http://127.0.0.1:{}/ari", self.port)
    }

    /// The events socket of ARI application `app`, subscribed to every
    /// channel, bridge and endpoint.
    pub fn events_url(&self, app: &str) -> String {
        format!(
            "ws://127.0.0.1:{}/ari/events?app={app}&subscribeAll=true",
            self.port
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn user(&self) -> &str {
        ARI_USER
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// The value of an `Authorization` header for ARI (HTTP Basic).
    pub fn authorization(&self) -> String {
        let pair = format!("{ARI_USER}:{}", self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    /// The process id of Asterisk (until it is stopped).
    pub fn pid(&self) -> u32 {
        self.process.as_ref().unwrap().id()
    }

    /// The temporary directory that holds everything of this run.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The install prefix the binary and modules come from.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// Where `Playback(NAME)` finds `NAME.wav`.
    pub fn sounds_dir(&self) -> PathBuf {
        self.dir.path().join("lib/sounds")
    }

    /// Asterisk's log (logger.conf): notices, warnings, errors, and the
    /// dialplan steps.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("log/messages.log")
    }

    /// The last `lines` lines of Asterisk's log and of its standard output
    /// and error, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut tail = String::new();
        for path in [
            self.dir.path().join("log/stdout-stderr.log"),
            self.log_path(),
        ] {
            let text = fs::read_to_string(&path).unwrap_or_else(|e| format!("({e})"));
            let all: Vec<&str> = text.lines().collect();
            let from = all.len().saturating_sub(lines);
            tail.push_str(&format!("--- last lines of {} ---\n", path.display()));
            for line in &all[from..] {
                tail.push_str(line);
                tail.push('\n');
            }
        }
        tail
    }

    /// Panics with `what` and the last lines of the log (`Drop` then stops
    /// Asterisk).
    pub fn fail(&self, what: &str) -> ! {
        panic!("{what}\n{}", self.log_tail(40))
    }

    /// Runs one CLI command (`asterisk -rx COMMAND` over the control
    /// socket) and returns what it printed. Panics when it fails or hangs.
    pub fn cli(&self, command: &str) -> String {
        match self.try_cli(command) {
            Ok(out) => out,
            Err(e) => self.fail(&format!("CLI {command:?}: {e}")),
        }
    }

    fn try_cli(&self, command: &str) -> Result<String, String> {
        let mut out = tempfile::tempfile_in(self.dir.path()).map_err(|e| e.to_string())?;
        let mut child = Command::new(self.prefix.join("sbin/asterisk"))
            .arg("-C")
            .arg(self.dir.path().join("etc/asterisk.conf"))
            .arg("-rx")
            .arg(command)
            .stdin(Stdio::null())
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out.try_clone().map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| e.to_string())?;
        let status = wait_or_kill(&mut child, PATIENCE);
        let mut text = String::new();
        out.rewind().map_err(|e| e.to_string())?;
        out.read_to_string(&mut text).map_err(|e| e.to_string())?;
        match status {
            Some(s) if s.success() => Ok(text),
            Some(s) => Err(format!("{s}: {text}")),
            None => Err(format!("no answer within {PATIENCE:?}: {text}")),
        }
    }

    /// GET `path` (below /ari) and its JSON. Panics unless it succeeds.
    pub async fn get(&self, path: &str) -> Value {
        let request = self.http.get(format!("{}{path}", self.ari_url()));
        self.send(&format!("GET {path}"), request).await
    }

    /// POST `path` (below /ari) with a JSON body, and the JSON answer
    /// (`Null` for none). Panics unless it succeeds.
    pub async fn post(&self, path: &str, body: &Value) -> Value {
        let request = self
            .http
            .post(format!("{}{path}", self.ari_url()))
            .json(body);
        self.send(&format!("POST {path}"), request).await
    }

    /// PUT `path` (below /ari). Panics unless it succeeds.
    pub async fn put(&self, path: &str) -> Value {
        let request = self.http.put(format!("{}{path}", self.ari_url()));
        self.send(&format!("PUT {path}"), request).await
    }

    /// DELETE `path` (below /ari). Panics unless it succeeds.
    pub async fn delete(&self, path: &str) -> Value {
        let request = self.http.delete(format!("{}{path}", self.ari_url()));
        self.send(&format!("DELETE {path}"), request).await
    }

    async fn send(&self, what: &str, request: reqwest::RequestBuilder) -> Value {
        let reply = match request
            .basic_auth(ARI_USER, Some(&self.password))
            .send()
            .await
        {
            Ok(reply) => reply,
            Err(e) => self.fail(&format!("{what}: {}", with_causes(&e))),
        };
        let status = reply.status();
        let body = reply.text().await.unwrap_or_else(|e| format!("({e})"));
        if !status.is_success() {
            self.fail(&format!("{what}: HTTP {status}: {body}"));
        }
        if body.is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&body)
            .unwrap_or_else(|e| self.fail(&format!("{what}: not JSON ({e}): {body}")))
    }

    /// Connects to the events socket of ARI application `app` (subscribed
    /// to everything), authenticated by the `Authorization` header.
    /// Asterisk registers the application before it answers the upgrade, so
    /// no event after this returns is missed.
    pub async fn events(&self, app: &str) -> Events {
        let mut request = self.events_url(app).into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Authorization", self.authorization().parse().unwrap());
        let ws =
            match tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(request)).await {
                Ok(Ok((ws, _))) => ws,
                Ok(Err(e)) => self.fail(&format!("events socket of {app}: {e}")),
                Err(_) => self.fail(&format!(
                    "events socket of {app}: no upgrade within {PATIENCE:?}"
                )),
            };
        Events {
            ws,
            seen: Vec::new(),
            log: self.log_path(),
        }
    }

    /// Places a contact-center call through the `calls` dialplan: a
    /// customer, answered by agent `agent` of team `team` from queue
    /// `queue`. Returns the customer's channel (its id is `["id"]`); the
    /// agent's channel joins the customer's in a bridge moments later.
    pub async fn place_call(&self, agent: &str, team: &str, queue: &str) -> Value {
        self.place_call_with(agent, team, queue, CallAudio::default())
            .await
    }

    /// [`Asterisk::place_call`] with other audio than the rig's default.
    pub async fn place_call_with(
        &self,
        agent: &str,
        team: &str,
        queue: &str,
        audio: CallAudio<'_>,
    ) -> Value {
        let mut call = json!({
            "endpoint": format!("Local/customer@{CALLS_CONTEXT}/n"),
            "callerId": format!("\"Customer\" <{CUSTOMER_NUMBER}>"),
            "context": CALLS_CONTEXT,
            "extension": "inbound",
            "priority": 1,
            "variables": {
                "CALL_AGENT": agent,
                "CALL_TEAM": team,
                "CALL_QUEUE": queue,
            },
        });
        if let Some(sound) = audio.customer_says {
            call["variables"]["CALL_SOUND"] = json!(sound);
        }
        if let Some(format) = audio.format {
            call["formats"] = json!(format);
        }
        self.post("/channels", &call).await
    }

    /// Places a caller into queue `sales` (queues.conf), whose one member,
    /// ag-9, is paused until `queue unpause member`. Returns the customer's
    /// channel.
    pub async fn place_queued_call(&self) -> Value {
        self.post(
            "/channels",
            &json!({
                "endpoint": format!("Local/customer@{CALLS_CONTEXT}/n"),
                "context": CALLS_CONTEXT,
                "extension": "queued",
                "priority": 1,
                "callerId": format!("\"Customer\" <{CUSTOMER_NUMBER}>"),
            }),
        )
        .await
    }

    /// Stops Asterisk (`core stop now`, then a kill if it lingers) and
    /// reaps it. Idempotent.
    fn stop(&mut self) {
        // The watchdog first: once Asterisk is reaped its pid may be reused.
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        let Some(mut process) = self.process.take() else {
            return;
        };
        if process.try_wait().ok().flatten().is_none() {
            // Best effort: whatever the CLI says, the wait below decides.
            let _ = self.try_cli("core stop now");
        }
        if wait_or_kill(&mut process, STOP_PATIENCE).is_none() {
            eprintln!(
                "Asterisk (pid {}) did not stop within {STOP_PATIENCE:?}: killed",
                process.id()
            );
        }
    }
}

impl Drop for Asterisk {
    /// Stops Asterisk; after a failed test it keeps the directory, whose
    /// logs the panic message named.
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            self.dir.disable_cleanup(true);
            eprintln!("Asterisk's files are kept in {}", self.dir.path().display());
        }
    }
}

/// A placed call's audio where it differs from the rig's default.
#[derive(Debug, Default, Clone, Copy)]
pub struct CallAudio<'a> {
    /// What the customer's phone says, in a loop, instead of its tone: a
    /// file in [`Asterisk::sounds_dir`], e.g. [`BURSTS`].
    pub customer_says: Option<&'a str>,
    /// The call's channels' format (ARI's `formats`, e.g. `slin`: 8 kHz,
    /// a telephone call's). By default Asterisk gives Local channels its
    /// best, slin192, and resamples every frame the phones play to it.
    pub format: Option<&'a str>,
}

/// The ARI events socket, keeping every event it has read.
pub struct Events {
    pub ws: Ws,
    /// Every event read so far, in order.
    pub seen: Vec<Value>,
    log: PathBuf,
}

impl Events {
    /// The first event, among those read so far or those that come, that
    /// satisfies `want`. Panics after `PATIENCE` without one, naming `what`
    /// and the events read.
    pub async fn wait_for(&mut self, what: &str, mut want: impl FnMut(&Value) -> bool) -> Value {
        if let Some(event) = self.seen.iter().find(|e| want(e)) {
            return event.clone();
        }
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(message))) => message,
                Ok(Some(Err(e))) => self.fail(&format!("waiting for {what}: events socket: {e}")),
                Ok(None) => self.fail(&format!("waiting for {what}: the events socket closed")),
                Err(_) => self.fail(&format!("no {what} within {PATIENCE:?}")),
            };
            let Message::Text(text) = message else {
                continue;
            };
            let event: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| self.fail(&format!("an event that is not JSON ({e}): {text}")));
            self.seen.push(event);
            if want(self.seen.last().unwrap()) {
                return self.seen.last().unwrap().clone();
            }
        }
    }

    /// The types of the events read so far, in order.
    pub fn types(&self) -> Vec<&str> {
        self.seen
            .iter()
            .map(|e| e["type"].as_str().unwrap_or("?"))
            .collect()
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\nevents read: {:?}\n(Asterisk's log: {})",
            self.types(),
            self.log.display()
        )
    }
}

/// The install prefix: `FLOORWALK_ASTERISK` when it holds `sbin/asterisk`,
/// else what `shared/asterisk/install.sh` builds (once per test binary,
/// under a lock shared with other test binaries).
fn install_prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let from_env = std::env::var_os("FLOORWALK_ASTERISK").map(PathBuf::from);
        if let Some(prefix) = &from_env {
            if prefix.join("sbin/asterisk").is_file() {
                return prefix.clone();
            }
        }
        let script = Path::new(INSTALL_SCRIPT);
        // Where install.sh puts it by default: a clone elsewhere on a machine
        // that built it once finds it there.
        if from_env.is_none()
            && !script.is_file()
            && let Some(home) = std::env::var_os("HOME")
        {
            let built = Path::new(&home).join(DEFAULT_PREFIX);
            if built.join(INSTALLED_STAMP).is_file() && built.join("sbin/asterisk").is_file() {
                return built;
            }
        }
        if !script.is_file() {
            let env = match &from_env {
                Some(p) => format!("FLOORWALK_ASTERISK={} has no sbin/asterisk", p.display()),
                None => "FLOORWALK_ASTERISK is not set".to_owned(),
            };
            panic!(
                "no Asterisk to test against: {env}, and there is no {}.\n\
                 Set FLOORWALK_ASTERISK=PREFIX to an Asterisk 22 install (PREFIX/sbin/asterisk), \
                 or build one with shared/asterisk/install.sh [PREFIX] (shared/ beside this repository; it prints the prefix).",
                script.display()
            );
        }
        eprintln!(
            "building or finding Asterisk with {} (minutes the first time)",
            script.display()
        );
        let out = Command::new("flock")
            .arg(INSTALL_LOCK)
            .arg("bash")
            .arg(script)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run flock {INSTALL_LOCK} bash {}: {e}",
                    script.display()
                )
            });
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            panic!(
                "{} failed ({}):\n{stderr}\n\
                 Set FLOORWALK_ASTERISK=PREFIX to an Asterisk 22 install instead.",
                script.display(),
                out.status
            );
        }
        let prefix = PathBuf::from(stdout.lines().last().unwrap_or("").trim());
        if !prefix.join("sbin/asterisk").is_file() {
            panic!(
                "{} printed {:?} as its last line, which has no sbin/asterisk\n{stderr}",
                script.display(),
                prefix
            );
        }
        prefix
    })
}

/// Lays out the private tree: the directories asterisk.conf names, the
/// configuration from the fixtures with its placeholders filled in, the XML
/// documentation Stasis needs, and the tone the calls play.
fn write_tree(dir: &Path, prefix: &Path, port: u16, password: &str) {
    for sub in [
        "etc",
        "lib",
        "lib/sounds",
        "log",
        "run",
        "spool",
        "cache",
        "agi-bin",
    ] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let mut written = 0;
    for entry in fs::read_dir(FIXTURES).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "conf") {
            continue;
        }
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace("@DIR@", &dir.display().to_string())
            .replace("@PREFIX@", &prefix.display().to_string())
            .replace("@HTTP_PORT@", &port.to_string())
            .replace("@ARI_PASSWORD@", password);
        if let Some(name) = unfilled_placeholder(&text) {
            panic!(
                "{}: @{name}@ is no placeholder the rig fills",
                path.display()
            );
        }
        fs::write(dir.join("etc").join(path.file_name().unwrap()), text).unwrap();
        written += 1;
    }
    assert!(written > 0, "no *.conf in {FIXTURES}");
    let docs = prefix.join("var/lib/asterisk/documentation");
    assert!(
        docs.is_dir(),
        "{} is missing: Stasis will not start without it",
        docs.display()
    );
    std::os::unix::fs::symlink(&docs, dir.join("lib/documentation")).unwrap();
    // Ten seconds of each party's tone at 8 kHz, what Asterisk plays
    // without resampling; the dialplan loops them.
    let rate = 8_000;
    let tone =
        |hz: f32, i: u32| PARTY_LEVEL * (std::f32::consts::TAU * hz * i as f32 / rate as f32).sin();
    let sounds = dir.join("lib/sounds");
    for (name, hz) in [("customer", CUSTOMER_HZ), ("agent", AGENT_HZ)] {
        let samples: Vec<f32> = (0..10 * rate).map(|i| tone(hz, i)).collect();
        wav::write_mono_at(
            &sounds.join(format!("floorwalk-{name}.wav")),
            rate,
            &samples,
        );
    }
    // The bursts: each onset on a 20 ms frame's edge (500 ms is 4,000
    // samples, a multiple of 160) and at phase 0.
    let (on, every) = (BURST_MS * rate / 1000, BURST_EVERY_MS * rate / 1000);
    let bursts: Vec<f32> = (0..BURSTS_SECS * rate)
        .map(|i| {
            if i % every < on {
                tone(BURST_HZ, i % every)
            } else {
                0.0
            }
        })
        .collect();
    wav::write_mono_at(&sounds.join(format!("{BURSTS}.wav")), rate, &bursts);
    let notice: Vec<f32> = (0..NOTICE_MS * rate / 1000)
        .map(|i| tone(NOTICE_HZ, i))
        .collect();
    wav::write_mono_at(&sounds.join(format!("{NOTICE_SOUND}.wav")), rate, &notice);
}

/// A `@NAME@` left in `text` (NAME in capitals and underscores).
fn unfilled_placeholder(text: &str) -> Option<&str> {
    let parts: Vec<&str> = text.split('@').collect();
    let between = parts.get(1..parts.len().saturating_sub(1)).unwrap_or(&[]);
    between
        .iter()
        .find(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .copied()
}

/// An error and what caused it (reqwest's own message names neither the
/// refused connection nor the timeout).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// `bytes` random bytes from the kernel, as hex.
fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0; bytes];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .unwrap();
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Waits for `child` up to `patience`; kills and reaps it after that.
/// `None` when it had to be killed.
fn wait_or_kill(child: &mut Child, patience: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + patience;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Frames of slin16 samples with their arrival times, shared with the
/// task that reads them.
type Frames = std::sync::Arc<std::sync::Mutex<Vec<(Instant, Vec<f32>)>>>;

/// What one channel hears, recorded by the test's own snoop (`spy=in`)
/// and WebSocket media channel: slin16 samples with their arrival times.
pub struct Listener {
    heard: Frames,
    task: tokio::task::JoinHandle<()>,
}

impl Asterisk {
    /// Starts listening to what `channel` reads (for the far half of a
    /// Local pair: what that party hears), through application `app`,
    /// whose events socket must be open. Object ids start with `test-`.
    pub async fn listen(&self, app: &str, channel: &str) -> Listener {
        let tag = random_hex(4);
        let snoop = format!("test-{tag}-spy");
        let bridge = format!("test-{tag}-bridge");
        self.post(
            &format!("/channels/{channel}/snoop?app={app}&spy=in&snoopId={snoop}"),
            &json!({}),
        )
        .await;
        self.post(
            &format!("/bridges?type=mixing&bridgeId={bridge}"),
            &json!({}),
        )
        .await;
        self.ear(app, &tag, &bridge, Some(&snoop)).await
    }

    /// Starts listening to what an existing bridge `bridge` (another
    /// application's, e.g. a gateway's listening bridge) mixes, with the
    /// test's own media channel in it: it reads each frame when the
    /// bridge's other media channels do. Its id starts with `test-`.
    pub async fn listen_to_bridge(&self, app: &str, bridge: &str) -> Listener {
        self.ear(app, &random_hex(4), bridge, None).await
    }

    /// A media channel `test-TAG-ear` reading slin16, joined to `bridge`
    /// (with `snoop`, when there is one) once both are in Stasis.
    async fn ear(&self, app: &str, tag: &str, bridge: &str, snoop: Option<&str>) -> Listener {
        let media = format!("test-{tag}-ear");
        let made = self
            .post(
                &format!(
                    "/channels/externalMedia?app={app}&channelId={media}&external_host=INCOMING\
                     &transport=websocket&encapsulation=none&connection_type=server\
                     &format=slin16&direction=in"
                ),
                &json!({}),
            )
            .await;
        let connection = made["channelvars"]["MEDIA_WEBSOCKET_CONNECTION_ID"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut request = format!("ws://127.0.0.1:{}/media/{connection}", self.port)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "media".parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let deadline = Instant::now() + PATIENCE;
        let channels = match snoop {
            Some(snoop) => format!("{snoop},{media}"),
            None => media,
        };
        let add = format!(
            "{}/bridges/{bridge}/addChannel?channel={channels}",
            self.ari_url()
        );
        loop {
            let reply = self
                .http
                .post(&add)
                .basic_auth(ARI_USER, Some(&self.password))
                .send()
                .await
                .unwrap();
            if reply.status().is_success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "cannot bridge the test's listener: {}",
                reply.status()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let heard = Frames::default();
        let sink = heard.clone();
        let task = tokio::spawn(async move {
            while let Some(Ok(message)) = ws.next().await {
                if let Message::Binary(bytes) = message {
                    let samples = bytes
                        .chunks_exact(2)
                        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
                        .collect();
                    sink.lock().unwrap().push((Instant::now(), samples));
                }
            }
        });
        Listener { heard, task }
    }
}

impl Listener {
    /// The samples that arrived between `from` and `to`.
    pub fn between(&self, from: Instant, to: Instant) -> Vec<f32> {
        self.heard
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .flat_map(|(_, samples)| samples.iter().copied())
            .collect()
    }

    /// Every frame so far (slin16 samples), with when it arrived.
    pub fn frames(&self) -> Vec<(Instant, Vec<f32>)> {
        self.heard.lock().unwrap().clone()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}
