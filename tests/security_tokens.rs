//! The token never leaks. A whole session of the real binary in a pty (join
//! a call, open the help, leave, quit) against a `floorwalk sim` process
//! that knows a freshly made token, with every log turned up to `trace`;
//! then every output is searched for the token, and for any 12-character
//! piece of it: the console's argv and environment (read while it runs),
//! every screen, the raw byte stream of the terminal (which carries stderr
//! too), the log file, the audit journal, `floorwalk doctor`'s output and
//! the simulator's own logs. The token comes from `FLOORWALK_TOKEN`, from a
//! `token_file` and from a `token_command`, one session each; a wrong token
//! must not leak either. Config and token files that others can read get a
//! visible warning.
//!
//! Not covered: a panic message, since nothing triggers a panic safely; the
//! token is only ever held in `Secret`, whose `Debug` and `Display` redact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::pty::PtyApp;
use support::sim_process::listening_url;

const START: Duration = Duration::from_secs(30);
const STEP: Duration = Duration::from_secs(10);
/// A leak of any piece this long counts.
const PIECE: usize = 12;
/// As verbose as the logs go, the transport crates explicitly included.
const LOUDEST: &str = "trace,tungstenite=trace,tokio_tungstenite=trace,tungstenite::handshake=trace,tungstenite::handshake::client=trace,tungstenite::handshake::server=trace,tungstenite::protocol=trace,rustls=trace";

/// A token nobody else could have written: 32 letters and digits from the
/// clock, the process and a counter.
fn fresh_token(salt: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut x = nanos ^ (u64::from(std::process::id()) << 32) ^ salt.wrapping_mul(0x9E37_79B9);
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut token = String::from("fwT");
    for _ in 0..29 {
        // splitmix64: each step a new, well-mixed value.
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        token.push(char::from(ALPHABET[(z % ALPHABET.len() as u64) as usize]));
    }
    token
}

/// The first piece of `secret` found in `haystack`, if any.
fn leaked_piece(haystack: &[u8], secret: &str) -> Option<String> {
    let secret = secret.as_bytes();
    secret
        .windows(PIECE.min(secret.len()))
        .find(|piece| haystack.windows(piece.len()).any(|w| w == *piece))
        .map(|piece| String::from_utf8_lossy(piece).into_owned())
}

/// Everything one session left behind, by where it came from.
#[derive(Default)]
struct Outputs(Vec<(String, Vec<u8>)>);

impl Outputs {
    fn add(&mut self, what: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.0.push((what.into(), bytes.into()));
    }

    fn assert_free_of(&self, secret: &str) {
        assert!(!self.0.is_empty());
        for (what, bytes) in &self.0 {
            if let Some(piece) = leaked_piece(bytes, secret) {
                panic!(
                    "the secret leaked into {what} (piece {piece:?}):\n{}",
                    String::from_utf8_lossy(bytes)
                );
            }
        }
    }

    fn text(&self, what: &str) -> String {
        self.0
            .iter()
            .filter(|(w, _)| w.starts_with(what))
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .collect()
    }
}

fn write_private(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `floorwalk sim` as its own process, with logs at `trace` on stderr.
struct SimProcess {
    child: Child,
    url: String,
    log: PathBuf,
}

impl SimProcess {
    fn start(dir: &Path, token: &str) -> Self {
        let tokens = dir.join("tokens.toml");
        let accounts = format!(
            "[[supervisor]]\ntoken = \"{token}\"\nid = \"sup-9\"\nname = \"Tess Tokenova\"\n\
             teams = [\"billing\", \"retention\"]\ncan_end_calls = true\n\n\
             [[supervisor]]\ntoken = \"demo-other\"\nid = \"sup-8\"\nname = \"Other One\"\n\
             teams = [\"sales\"]\n"
        );
        write_private(&tokens, &accounts, 0o600);
        let log = dir.join("sim.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_floorwalk"))
            .args(["sim", "--listen", "127.0.0.1:0", "--agents", "40"])
            .args(["--min-call-secs", "600", "--tokens"])
            .arg(&tokens)
            .env("FLOORWALK_LOG", LOUDEST)
            .env("XDG_DATA_HOME", dir.join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let url = listening_url(&mut child);
        Self { child, url, log }
    }

    /// Stops the simulator and returns everything it logged.
    fn stop(mut self) -> Vec<u8> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        std::fs::read(&self.log).unwrap()
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Where the console finds its token in one session.
enum Source {
    Env,
    File,
    Command,
}

struct Setup {
    config: PathBuf,
    env: Vec<(String, String)>,
}

/// Writes the config (and the token file or command) for a session.
/// `exposed` makes the file holding the secret readable by others.
fn setup(home: &Path, token: &str, source: &Source, exposed: bool) -> Setup {
    let mode = if exposed { 0o644 } else { 0o600 };
    let log = home.join("console.log");
    let audit = home.join("audit");
    let mut config = format!(
        "log_file = \"{}\"\naudit_dir = \"{}\"\n",
        log.display(),
        audit.display()
    );
    let mut env = vec![("FLOORWALK_LOG".to_owned(), LOUDEST.to_owned())];
    let config_mode = match source {
        Source::Env => {
            env.push(("FLOORWALK_TOKEN".to_owned(), token.to_owned()));
            mode
        }
        Source::File => {
            let file = home.join("token");
            write_private(&file, &format!("{token}\n"), mode);
            config.push_str(&format!("token_file = \"{}\"\n", file.display()));
            0o600
        }
        Source::Command => {
            // Like a password manager: the secret lives elsewhere and the
            // command prints it.
            let vault = home.join("vault");
            write_private(&vault, token, 0o600);
            config.push_str(&format!("token_command = \"cat '{}'\"\n", vault.display()));
            mode
        }
    };
    let path = home.join("config.toml");
    write_private(&path, &config, config_mode);
    Setup { config: path, env }
}

/// Argv and environment of the console (and of any child it has right now),
/// checked on the spot: the argv never holds the token; the environment
/// only as the user's own `FLOORWALK_TOKEN`.
fn check_process(pid: u32, token: &str, outputs: &mut Outputs) {
    let mut pids = vec![pid];
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            pids.extend(
                children
                    .split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    for pid in pids {
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        outputs.add(format!("argv of {pid}"), cmdline);
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let allowed = format!("FLOORWALK_TOKEN={token}");
        let others: Vec<u8> = environ
            .split(|b| *b == 0)
            .filter(|entry| *entry != allowed.as_bytes())
            .flat_map(|entry| entry.iter().copied().chain([b'\n']))
            .collect();
        outputs.add(
            format!("environment of {pid} (but FLOORWALK_TOKEN)"),
            others,
        );
    }
}

/// Every file under `dir`, by path.
fn files_under(dir: &Path, outputs: &mut Outputs, what: &str) -> usize {
    let mut found = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found += files_under(&path, outputs, what);
        } else {
            outputs.add(
                format!("{what} {}", path.display()),
                std::fs::read(&path).unwrap(),
            );
            found += 1;
        }
    }
    found
}

/// A whole session: start, join a call, open the help, leave, quit.
fn session(url: &str, home: &Path, token: &str, setup: &Setup) -> Outputs {
    let mut outputs = Outputs::default();
    let config = setup.config.to_str().unwrap();
    let env: Vec<(&str, &str)> = setup
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut app = PtyApp::spawn_with_env(
        &["console", "--server", url, "--config", config],
        home,
        140,
        40,
        &env,
    );
    let pid = app.pid().unwrap();
    let mut screens = Vec::new();
    screens.push(app.wait_for_text("● live", START));
    check_process(pid, token, &mut outputs);
    app.send("n");
    screens.push(app.wait_for_text("Call c-", STEP));
    app.send("m");
    screens.push(app.wait_for_text("SILENT", STEP));
    check_process(pid, token, &mut outputs);
    app.send("?");
    screens.push(app.wait_for_text("any key closes", STEP));
    app.send("\x1b");
    screens.push(app.wait_for("the help to close", STEP, |s| !s.contains("any key closes")));
    app.send("d");
    screens.push(app.wait_for_text("not on this call", STEP));
    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);
    screens.push(app.screen_text());
    for (n, screen) in screens.into_iter().enumerate() {
        outputs.add(format!("screen {n}"), screen);
    }
    outputs.add("raw terminal output", app.raw_output());
    outputs.add("log file", std::fs::read(home.join("console.log")).unwrap());
    assert!(files_under(&home.join("audit"), &mut outputs, "journal") > 0);
    outputs
}

/// The checks every session shares; returns the outputs for more.
fn run_session(source: Source, exposed: bool) -> Outputs {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let token = fresh_token(source_salt(&source));
    let sim = SimProcess::start(dir.path(), &token);
    let setup = setup(&home, &token, &source, exposed);
    let outputs = session(&sim.url, &home, &token, &setup);
    let sim_log = sim.stop();

    // The outputs are real: verbose logs, a journal of the join and leave.
    let log = outputs.text("log file");
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "{log}");
    assert!(log.contains("connected"), "{log}");
    let journal = outputs.text("journal");
    assert!(
        journal.contains("\"joined\"") && journal.contains("\"left\""),
        "{journal}"
    );
    let sim_text = String::from_utf8_lossy(&sim_log);
    assert!(sim_text.contains("console connected"), "{sim_text}");

    outputs.assert_free_of(&token);
    let mut sim_outputs = Outputs::default();
    sim_outputs.add("the simulator's logs", sim_log);
    sim_outputs.assert_free_of(&token);
    outputs
}

fn source_salt(source: &Source) -> u64 {
    match source {
        Source::Env => 1,
        Source::File => 2,
        Source::Command => 3,
    }
}

const EXPOSED: &str = "can be read by other users";

#[test]
fn a_token_from_the_environment_leaks_nowhere() {
    let outputs = run_session(Source::Env, false);
    // A private config draws no warning.
    assert!(!outputs.text("raw terminal output").contains(EXPOSED));
}

#[test]
fn a_token_from_a_token_file_leaks_nowhere_and_an_exposed_file_is_flagged() {
    let outputs = run_session(Source::File, true);
    // On stderr before the screen starts, and on the screen's message line.
    let raw = outputs.text("raw terminal output");
    assert!(raw.contains("warning: token file"), "{raw}");
    assert!(raw.contains(EXPOSED), "{raw}");
    let first_screen = outputs.text("screen 0");
    assert!(first_screen.contains("token file"), "{first_screen}");
}

#[test]
fn a_token_from_a_token_command_leaks_nowhere_and_an_exposed_config_is_flagged() {
    let outputs = run_session(Source::Command, true);
    let raw = outputs.text("raw terminal output");
    assert!(raw.contains("warning: config file"), "{raw}");
    assert!(raw.contains(EXPOSED), "{raw}");
    let first_screen = outputs.text("screen 0");
    assert!(first_screen.contains("config file"), "{first_screen}");
}

/// `floorwalk doctor`, stdout and stderr together.
fn doctor(url: &str, home: &Path, token: &str) -> (bool, Vec<u8>) {
    let config = home.join("doctor.toml");
    write_private(&config, "", 0o600);
    let output = Command::new(env!("CARGO_BIN_EXE_floorwalk"))
        .args(["doctor", "--server", url, "--config"])
        .arg(&config)
        .env_clear()
        .env("HOME", home)
        .env("FLOORWALK_TOKEN", token)
        .env("FLOORWALK_LOG", LOUDEST)
        .output()
        .unwrap();
    let mut bytes = output.stdout;
    bytes.extend(output.stderr);
    (output.status.success(), bytes)
}

#[test]
fn doctor_and_a_refused_token_leak_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let token = fresh_token(4);
    // A wrong token is often a typo of a real one: it must not leak either.
    let wrong = fresh_token(5);
    let sim = SimProcess::start(dir.path(), &token);
    let mut outputs = Outputs::default();

    let (ok, said) = doctor(&sim.url, dir.path(), &token);
    let text = String::from_utf8_lossy(&said).into_owned();
    assert!(ok && text.contains("Tess Tokenova"), "{text}");
    outputs.add("doctor with the right token", said);
    let (ok, said) = doctor(&sim.url, dir.path(), &wrong);
    let text = String::from_utf8_lossy(&said).into_owned();
    assert!(!ok && text.contains("401"), "{text}");
    outputs.add("doctor with a wrong token", said);

    // The console with the wrong token says so, and stops trying.
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let setup = setup(&home, &wrong, &Source::Env, false);
    let config = setup.config.to_str().unwrap();
    let env = [
        ("FLOORWALK_TOKEN", wrong.as_str()),
        ("FLOORWALK_LOG", LOUDEST),
    ];
    let mut app = PtyApp::spawn_with_env(
        &["console", "--server", &sim.url, "--config", config],
        &home,
        140,
        40,
        &env,
    );
    let screen = app.wait_for_text("refused the token", START);
    check_process(app.pid().unwrap(), &wrong, &mut outputs);
    outputs.add("screen of the refused console", screen);
    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);
    outputs.add("raw output of the refused console", app.raw_output());
    outputs.add(
        "log of the refused console",
        std::fs::read(home.join("console.log")).unwrap(),
    );

    let sim_log = sim.stop();
    assert!(String::from_utf8_lossy(&sim_log).contains("console connected"));
    outputs.add("the simulator's logs", sim_log);
    outputs.assert_free_of(&token);
    outputs.assert_free_of(&wrong);
}

#[test]
fn the_leak_check_finds_a_piece_of_the_token() {
    let token = fresh_token(6);
    assert_eq!(token.len(), 32);
    assert_ne!(token, fresh_token(7));
    let mut bytes = b"Authorization: Bearer ".to_vec();
    bytes.extend_from_slice(&token.as_bytes()[10..10 + PIECE]);
    assert!(leaked_piece(&bytes, &token).is_some());
    assert!(leaked_piece(&token.as_bytes()[..PIECE - 1], &token).is_none());
}
