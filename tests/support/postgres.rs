//! A PostgreSQL cluster of the test's own: `initdb` in a temporary
//! directory and `postgres` on a free loopback port (password required
//! there) and a Unix socket in that directory, both run as the unprivileged
//! `postgres` system user (PostgreSQL refuses to run as root). Never the
//! system's cluster. Missing binaries or user fail the test, saying how to
//! get them (`.ci/run` installs the `postgresql` package).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user the cluster runs as.
const USER: &str = "postgres";
/// The password the cluster's superuser has over TCP.
pub const PASSWORD: &str = "records-test-password";
/// How long the cluster may take to start or stop (a hang guard).
const PATIENCE: Duration = Duration::from_secs(60);

pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    server: Option<Child>,
}

/// The newest PostgreSQL's binaries: `FLOORWALK_PG_BIN`, else Debian's
/// `/usr/lib/postgresql/N/bin`.
fn binaries() -> PathBuf {
    if let Some(dir) = std::env::var_os("FLOORWALK_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed: no /usr/lib/postgresql/N/bin/initdb (and no FLOORWALK_PG_BIN). \
             `.ci/run` installs it (apt-get install postgresql); the records tests need it"
        ),
    }
}

/// `program args…` as the `postgres` user.
fn as_postgres(program: &Path) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args([
            &format!("--reuid={USER}"),
            &format!("--regid={USER}"),
            "--clear-groups",
            "--",
        ])
        .arg(program)
        .env("LC_ALL", "C");
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// A fresh cluster, started.
    pub fn start() -> Cluster {
        let bin = binaries();
        let ids = Command::new("id").args(["-u", USER]).output();
        assert!(
            ids.as_ref().is_ok_and(|o| o.status.success()),
            "no `{USER}` system user to run PostgreSQL as (it refuses to run as root): install the postgresql package"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o644)).unwrap();
        let data = dir.path().join("data");
        let out = as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                USER,
                "-E",
                "UTF8",
                "--locale=C",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .unwrap_or_else(|e| panic!("cannot run initdb as {USER} through setpriv: {e}"));
        assert!(
            out.status.success(),
            "initdb failed (as {USER}, through setpriv):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut cluster = Cluster {
            dir,
            bin,
            port: free_port(),
            server: None,
        };
        cluster.run();
        cluster
    }

    /// The URL over loopback TCP (the password goes in
    /// `FLOORWALK_RECORDS_PASSWORD`, see [`PASSWORD`]).
    pub fn url(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/postgres", self.port)
    }

    /// The records target with its password, for tests in this process.
    pub fn target(&self) -> floorwalk_records::Target {
        floorwalk_records::Target::parse(&self.url())
            .unwrap()
            .with_password(Some(PASSWORD.into()), None)
            .unwrap()
    }

    /// Starts the server and waits until it answers.
    pub fn run(&mut self) {
        assert!(self.server.is_none(), "already running");
        let log = std::fs::File::create(self.dir.path().join("postgres.log")).unwrap();
        std::fs::set_permissions(
            self.dir.path().join("postgres.log"),
            std::fs::Permissions::from_mode(0o666),
        )
        .unwrap();
        let child = as_postgres(&self.bin.join("postgres"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-k")
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start postgres through setpriv");
        self.server = Some(child);
        let deadline = Instant::now() + PATIENCE;
        let target = self.target();
        loop {
            if floorwalk_records::Records::open(&target).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not start; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server (fast shutdown: connections are cut) and waits.
    pub fn stop(&mut self) {
        let Some(mut child) = self.server.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + PATIENCE;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.wait();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}
