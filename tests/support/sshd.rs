//! A throwaway OpenSSH server on 127.0.0.1 for the companion tests: its own
//! host key, user key, authorized keys and config in a temp dir, started
//! with an absolute path and `-f` (no system config is read or touched,
//! except that sshd needs its privilege-separation directory, /run/sshd,
//! which is created when missing, as the openssh-server package would).
//! A missing sshd fails the test with a message saying how to get it.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
    user: String,
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .unwrap_or_else(|e| panic!("ssh-keygen (openssh-client) is needed: {e}"));
    assert!(status.success(), "ssh-keygen failed");
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// This process's user name (`id -un`).
pub fn user_name() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

impl Sshd {
    pub fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: the companion tests need a real OpenSSH server \
             (apt-get install openssh-server; .ci/run installs it)"
        );
        if !Path::new("/run/sshd").exists() {
            std::fs::create_dir_all("/run/sshd").unwrap_or_else(|e| {
                panic!("sshd needs /run/sshd (its privilege separation directory): {e}")
            });
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("user_key"));
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        let port = free_port();
        let config = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {host}\nAuthorizedKeysFile {auth}\n\
             PidFile {pid}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nAllowStreamLocalForwarding yes\n\
             StreamLocalBindUnlink yes\nPrintMotd no\nLogLevel VERBOSE\n",
            host = d.join("host_key").display(),
            auth = d.join("authorized_keys").display(),
            pid = d.join("sshd.pid").display(),
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let log = std::fs::File::create(d.join("sshd.log")).unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {SSHD}: {e}"));
        let sshd = Sshd {
            dir,
            port,
            child,
            user: user_name(),
        };
        let start = Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "sshd did not listen within 10 s:\n{}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sshd
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// `ssh` options that reach this server as this user, with nothing
    /// from the user's own ssh config or known hosts.
    pub fn ssh_args(&self) -> Vec<String> {
        let d = self.dir.path();
        vec![
            "-F".into(),
            "/dev/null".into(),
            "-i".into(),
            d.join("user_key").display().to_string(),
            "-o".into(),
            format!("UserKnownHostsFile={}", d.join("known_hosts").display()),
            "-o".into(),
            "StrictHostKeyChecking=no".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "LogLevel=ERROR".into(),
            "-p".into(),
            self.port.to_string(),
        ]
    }

    pub fn destination(&self) -> String {
        format!("{}@127.0.0.1", self.user)
    }

    /// `ssh -tt -R remote:local` with a session that only waits: a tunnel
    /// on an interactive connection, as the companion's printed command
    /// opens (with a terminal, OpenSSH turns Nagle's algorithm off on both
    /// ends, so small audio frames are not held back; `-N` would not).
    pub fn tunnel(&self, remote: &Path, local: &Path) -> Child {
        Command::new("ssh")
            .args(self.ssh_args())
            .args(["-tt", "-o", "ExitOnForwardFailure=yes", "-R"])
            .arg(format!("{}:{}", remote.display(), local.display()))
            .arg(self.destination())
            .arg("exec sleep 86400")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start ssh")
    }

    /// The listening sshd's process id (its connections are its children).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

/// A child process killed when the test ends, passed or not (a `Child`
/// alone outlives a failed test and keeps its pipes open).
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
