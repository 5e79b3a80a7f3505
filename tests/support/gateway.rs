//! The real `floorwalk gateway` binary against the rig's Asterisk: started
//! with the ARI password in its environment only, the demo supervisors in a
//! tokens file, and its log (stderr) kept in a file for the test to read.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::ari_proxy::AriProxy;
use super::asterisk::{ARI_USER, Asterisk, Events};
use super::sim_client::{Client, DANA};
use floorwalk_protocol::Role;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The ARI application the tests' own events socket and snoops use.
pub const APP: &str = "floorwalk-test";

/// The demo supervisors (tokens `demo-dana`, `demo-jorge`, `demo-amara`).
const TOKENS: &str = r#"
[[supervisor]]
token = "demo-dana"
id = "sup-1"
name = "Dana Ruiz"
teams = ["billing", "retention"]
can_end_calls = true

[[supervisor]]
token = "demo-jorge"
id = "sup-2"
name = "Jorge Ortiz"
teams = ["sales", "support"]
can_end_calls = false

[[supervisor]]
token = "demo-amara"
id = "sup-3"
name = "Amara Okafor"
teams = ["billing", "retention", "sales", "support", "tech"]
can_end_calls = true
"#;

pub struct Gateway {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub url: String,
    log: PathBuf,
    dir: tempfile::TempDir,
}

impl Gateway {
    /// Starts a gateway named `name` with `extra` arguments and waits for
    /// its first line (`listening on ws://…`).
    pub fn start(asterisk: &Asterisk, name: &str, extra: &[&str]) -> Gateway {
        Gateway::start_at(asterisk, &asterisk.ari_url(), name, extra)
    }

    /// [`Gateway::start`] with ARI at `ari_url` (a proxy in front of it).
    pub fn start_at(asterisk: &Asterisk, ari_url: &str, name: &str, extra: &[&str]) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens.toml");
        std::fs::write(&tokens, TOKENS).unwrap();
        let log = dir.path().join("gateway.log");
        // An empty configuration: everything comes from the command line.
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "").unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_floorwalk"))
            .arg("gateway")
            .args(["--listen", "127.0.0.1:0"])
            .args(["--ari", ari_url])
            .args(["--ari-user", ARI_USER])
            .arg("--tokens")
            .arg(&tokens)
            .args(["--name", name])
            .arg("--config")
            .arg(&config)
            .args(extra)
            .env("FLOORWALK_ARI_PASSWORD", asterisk.password())
            .env("FLOORWALK_LOG", "info,floorwalk_gateway=debug")
            .env("HOME", dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the gateway did not start (first line {line:?}); its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        let addr = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        Gateway {
            child: Some(child),
            addr,
            url: url.to_owned(),
            log,
            dir,
        }
    }

    /// Everything the gateway logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        signal(child.id(), "TERM");
        wait(&mut child, Duration::from_secs(15))
    }

    /// SIGKILL: no clean-up at all.
    pub fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- the gateway's log ---\n{}", self.log());
        }
    }
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid} failed");
}

fn wait(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the gateway did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running rig: Asterisk with one call, a gateway, and Dana's client.
pub struct Rig {
    pub asterisk: Asterisk,
    /// Between the gateway and ARI: records and spoils requests.
    pub proxy: AriProxy,
    pub events: Events,
    pub gateway: Gateway,
    pub dana: Client,
    pub call: Placed,
}

/// One call of the rig as ARI and the floor show it.
pub struct Placed {
    pub id: String,
    pub customer: String,
    pub agent: String,
    /// The far halves of the Local pairs: what they read is what that
    /// party hears.
    pub customer_phone: String,
    pub agent_phone: String,
    pub customer_track: u32,
    pub agent_track: u32,
}

pub async fn rig(name: &str) -> Rig {
    rig_with(name, &[]).await
}

/// [`rig`] with extra arguments for the gateway.
pub async fn rig_with(name: &str, extra: &[&str]) -> Rig {
    let asterisk = Asterisk::start().await;
    let mut events = asterisk.events(APP).await;
    asterisk.place_call("ag-1", "billing", "support").await;
    bridged(&mut events, 1).await;
    let proxy = AriProxy::start(asterisk.port()).await;
    let gateway = Gateway::start_at(&asterisk, &proxy.ari_url(), name, extra);
    let mut dana = Client::subscribed_at(gateway.addr, DANA).await;
    let call = placed(&asterisk, &mut dana, "ag-1").await;
    Rig {
        asterisk,
        proxy,
        events,
        gateway,
        dana,
        call,
    }
}

/// Waits for the `n`-th bridge of two channels.
pub async fn bridged(events: &mut Events, n: usize) {
    let mut seen = BTreeSet::new();
    events
        .wait_for("a call bridged", |e| {
            if e["type"] == "ChannelEnteredBridge"
                && e["bridge"]["channels"]
                    .as_array()
                    .is_some_and(|c| c.len() == 2)
            {
                seen.insert(e["bridge"]["id"].as_str().unwrap_or_default().to_owned());
            }
            seen.len() >= n
        })
        .await;
}

pub async fn placed(asterisk: &Asterisk, client: &mut Client, agent: &str) -> Placed {
    let id = call_of(client, agent).await;
    let call = client.floor.calls[&id].clone();
    let customer = call.leg_with_role(Role::Customer).unwrap();
    let agent = call.leg_with_role(Role::Agent).unwrap();
    let channels = asterisk.get("/channels").await;
    let name_of = |id: &str| {
        channels
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let phone = |id: &str| {
        let name = name_of(id).replace(";1", ";2");
        channels
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name.as_str())
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no phone {name}"))
    };
    Placed {
        customer_phone: phone(&customer.id),
        agent_phone: phone(&agent.id),
        customer: customer.id.clone(),
        agent: agent.id.clone(),
        customer_track: customer.track,
        agent_track: agent.track,
        id,
    }
}

/// Waits until the client's floor has a call of `agent`, and returns its id.
pub async fn call_of(client: &mut Client, agent: &str) -> String {
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
        client.pump(Duration::from_millis(50)).await;
    }
}

/// Ids of objects (channels or bridges) whose id starts with `prefix`.
pub fn with_prefix(objects: &Value, prefix: &str) -> BTreeSet<String> {
    objects
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["id"].as_str())
        .filter(|id| id.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

pub async fn objects(asterisk: &Asterisk, prefix: &str) -> BTreeSet<String> {
    let mut all = with_prefix(&asterisk.get("/channels").await, prefix);
    all.extend(with_prefix(&asterisk.get("/bridges").await, prefix));
    all
}

/// Waits (up to 10 s: the gateway sweeps every 5 s) until none of the
/// gateway's objects is left.
/// The ARI application of the gateway named `name` (`floorwalk-NAME-RUN`).
pub async fn application(asterisk: &Asterisk, name: &str) -> String {
    let prefix = format!("floorwalk-{name}-");
    let apps = asterisk.get("/applications").await;
    let names = apps.as_array().into_iter().flatten();
    let mut found = names.filter_map(|app| app["name"].as_str().map(str::to_owned));
    found
        .find(|app| app.starts_with(&prefix))
        .unwrap_or_else(|| asterisk.fail(&format!("no application {prefix}…: {apps}")))
}

pub async fn all_gone(asterisk: &Asterisk, prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = objects(asterisk, prefix).await;
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "left behind: {left:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn command(client: &mut Client, command: Value) -> Value {
    let reply = client.command(command.clone()).await;
    assert!(reply.ok, "{command} refused: {reply:?}");
    reply.result.unwrap_or(Value::Null)
}

/// Asserts that both parties' channels of `call` are still up.
pub async fn parties_up(asterisk: &Asterisk, call: &Placed) {
    let channels = with_prefix(&asterisk.get("/channels").await, "");
    assert!(
        channels.contains(&call.customer) && channels.contains(&call.agent),
        "the call's channels are gone: {channels:?}"
    );
}

/// Waits (up to 10 s) until both parties' channels of `call` are gone.
pub async fn hung_up(asterisk: &Asterisk, call: &Placed) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let channels = with_prefix(&asterisk.get("/channels").await, "");
        if !channels.contains(&call.customer) && !channels.contains(&call.agent) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the call's channels are still up: {channels:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
