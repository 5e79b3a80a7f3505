//! `floorwalk companion` through a real OpenSSH tunnel: the companion runs
//! on the "laptop" with WAV endpoints, `ssh -N -R` forwards its socket to
//! the "jump host" (a throwaway sshd on 127.0.0.1), and the console runs in
//! a pseudo-terminal inside `ssh -tt` against the simulator, with
//! `--audio-out companion:PATH --audio-in companion:PATH`.
//!
//! What the companion played is checked against what the simulator's
//! parties said (their recordings); what the parties heard of the
//! companion's microphone (a tone) phase by phase: nobody in silent, the
//! agent only in whisper, both in barge, nobody after `d`. The tunnel is
//! killed and restored in between. Another Unix user cannot open either
//! socket, and a client that is not a console is refused through the
//! tunnel.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use floorwalk_audio::signal::{Level, sine};
use floorwalk_companion::wire::{Message, frame_length};
use floorwalk_sim::SimOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::pty::PtyApp;
use support::sshd::{Reaped, Sshd};
use support::wav::{read_wav, windows_with_tone, write_mono};

const START: Duration = Duration::from_secs(30);
const STEP: Duration = Duration::from_secs(10);
/// Longer than the simulator's recording header updates (every second)
/// plus the microphone's trip through the tunnel: a recording's length
/// read this long into a phase is inside it.
const SETTLE: Duration = Duration::from_millis(1500);
/// The companion's microphone: a tone the simulated voices barely carry.
const TONE_HZ: f32 = 2100.0;
const TONE: f32 = 0.3;
const WINDOW: usize = 960;
const RATE: f64 = 48_000.0;

/// RMS per 20 ms.
fn envelope(samples: &[f32]) -> Vec<f32> {
    samples
        .chunks_exact(WINDOW)
        .map(|w| Level::of(w).rms)
        .collect()
}

/// Pearson correlation of two equally long series.
fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len()) as f32;
    let (ma, mb) = (a.iter().sum::<f32>() / n, b.iter().sum::<f32>() / n);
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        ab += (x - ma) * (y - mb);
        aa += (x - ma) * (x - ma);
        bb += (y - mb) * (y - mb);
    }
    ab / (aa.sqrt() * bb.sqrt()).max(1e-9)
}

/// Samples a recording holds so far (its header, brought up to date by the
/// simulator every second).
fn recorded(record_dir: &Path, ear: &str) -> usize {
    ear_file(record_dir, ear)
        .and_then(|path| hound::WavReader::open(path).ok())
        .map_or(0, |wav| wav.duration() as usize)
}

fn ear_file(record_dir: &Path, ear: &str) -> Option<PathBuf> {
    std::fs::read_dir(record_dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(&format!("-{ear}.wav")))
}

/// Reads the companion's output lines as they come.
fn collect_lines(child: &mut Child) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = BufReader::new(child.stdout.take().unwrap());
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in out.lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

fn wait_line(lines: &Mutex<Vec<String>>, what: &str, check: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        if let Some(line) = lines.lock().unwrap().iter().find(|l| check(l)) {
            return line.clone();
        }
        assert!(
            start.elapsed() < STEP,
            "the companion never said {what}; it said:\n{}",
            lines.lock().unwrap().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Connects to a Unix socket as another user (`nobody`), with nothing of
/// floorwalk in between: what the operating system allows.
fn connect_as_nobody(path: &Path) -> String {
    let probe = "use IO::Socket::UNIX; my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]); \
                 print $s ? \"connected\" : \"refused: $!\"";
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "perl",
            "-e",
            probe,
        ])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("setpriv (util-linux) is needed: {e}"));
    assert!(
        out.status.success(),
        "cannot become another Unix user (uid 65534) to try the sockets: this test must run \
         as root. setpriv said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > STEP {
            let _ = child.kill();
            panic!("the companion did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Switches mode with `key`, talks for 2.5 s, stops; returns the span of
/// the recordings (in samples) that lies inside the mode, talk included.
fn talk_in(
    app: &mut PtyApp,
    record_dir: &Path,
    key: &str,
    mode: &str,
    on_air: &str,
) -> (usize, usize) {
    app.send(key);
    app.wait_for_text(mode, STEP);
    std::thread::sleep(SETTLE);
    let start = recorded(record_dir, "agent");
    app.send(" ");
    app.wait_for_text(on_air, STEP);
    std::thread::sleep(Duration::from_millis(2500));
    app.send(" ");
    app.wait_for("the talk to stop", STEP, |s| !s.contains("ON AIR"));
    std::thread::sleep(SETTLE);
    (start, recorded(record_dir, "agent"))
}

/// `floorwalk companion` on the "laptop" (its config and data dirs
/// `LAPTOP-config` and `LAPTOP-data` under `h`), the microphone a WAV file;
/// it and the lines it prints, as they come.
fn start_companion(
    sshd: &Sshd,
    h: &Path,
    laptop: &str,
    listen: &str,
    output: &str,
    mic: &Path,
) -> (Reaped, Arc<Mutex<Vec<String>>>) {
    let mut companion = Command::new(env!("CARGO_BIN_EXE_floorwalk"))
        .args(["companion", "--listen", listen, "--audio-out", output])
        .arg("--audio-in")
        .arg(format!("wav:{}", mic.display()))
        .args(["--jump-host", &sshd.destination()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", h)
        .env("XDG_CONFIG_HOME", h.join(format!("{laptop}-config")))
        .env("XDG_DATA_HOME", h.join(format!("{laptop}-data")))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let said = collect_lines(&mut companion);
    (Reaped(companion), said)
}

/// `floorwalk doctor` as a console on the jump host, checking the
/// companion behind `endpoint` with the key (if any) in `config`.
fn doctor(endpoint: &str, jump_home: &Path, config: &Path) -> String {
    let doctor = Command::new(env!("CARGO_BIN_EXE_floorwalk"))
        .args(["doctor", "--server", "ws://127.0.0.1:1/v1/supervisor"])
        .args(["--audio-out", endpoint, "--audio-in", endpoint])
        .env_clear()
        .env("HOME", jump_home)
        .env("XDG_CONFIG_HOME", config)
        .env("XDG_DATA_HOME", config.join("data"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&doctor.stdout).into_owned()
}

fn doctor_line(text: &str, check: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(check))
        .unwrap_or_else(|| panic!("no {check} line:\n{text}"))
        .to_owned()
}

fn assert_doctor_plays_and_hears(text: &str) {
    let output = doctor_line(text, "output");
    assert!(
        output.contains(" OK ") && output.contains("played the test tone"),
        "{text}"
    );
    let input = doctor_line(text, "input");
    assert!(
        input.contains(" OK ") && input.contains("came back through the tunnel"),
        "{text}"
    );
}

/// The loopback TCP form (for laptops without Unix sockets) through the
/// same sshd: the jump host's end is still sshd's Unix socket; a console
/// without the companion's key is refused on both ends, one with it plays
/// and hears.
fn tcp_form_needs_the_key(sshd: &Sshd, h: &Path, jump: &Path, jump_home: &Path, mic: &Path) {
    let (mut companion, said) =
        start_companion(sshd, h, "tcp-laptop", "tcp:127.0.0.1:0", "none", mic);
    let listening = wait_line(&said, "where it listens", |l| {
        l.starts_with("floorwalk companion: listening on ")
    });
    let local = listening
        .trim_start_matches("floorwalk companion: listening on ")
        .to_owned();
    assert!(local.starts_with("127.0.0.1:"), "{listening}");
    let ssh_line = wait_line(&said, "the ssh line", |l| {
        l.trim_start().starts_with("ssh -o")
    });
    assert!(
        ssh_line.contains(&format!("-R /tmp/floorwalk-companion-%r.sock:{local} ")),
        "{ssh_line}"
    );
    // The key: private on the laptop, copied through standard input.
    let key_file = h.join("tcp-laptop-config/floorwalk/companion.key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let copy_line = wait_line(&said, "how to copy the key", |l| {
        l.contains("companion.key\" <")
    });
    assert!(!copy_line.contains(key.trim()), "the key is on screen");

    let jump_sock = jump.join("tcp-companion.sock");
    let _tunnel = Reaped(sshd.tunnel(&jump_sock, Path::new(&local)));
    let start = Instant::now();
    while !jump_sock.exists() {
        assert!(start.elapsed() < STEP, "the TCP tunnel never came up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let endpoint = format!("companion:{}", jump_sock.display());

    // Without the key: refused, and both ends say why.
    let keyless = h.join("keyless-config");
    let text = doctor(&endpoint, jump_home, &keyless);
    let output = doctor_line(&text, "output");
    assert!(
        !output.contains(" OK ") && output.contains("has none"),
        "{text}"
    );
    wait_line(&said, "the keyless refusal", |l| {
        l.contains("refused a client") && l.contains("has none")
    });

    // With the key in the console's config dir: it plays and hears.
    let keyed = h.join("keyed-config");
    std::fs::create_dir_all(keyed.join("floorwalk")).unwrap();
    let console_key = keyed.join("floorwalk/companion.key");
    std::fs::copy(&key_file, &console_key).unwrap();
    std::fs::set_permissions(&console_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_doctor_plays_and_hears(&doctor(&endpoint, jump_home, &keyed));
    terminate(&mut companion.0);
}

#[test]
fn a_console_on_a_jump_host_hears_and_talks_through_the_companion_over_ssh() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let record_dir = h.join("rec");
    std::fs::create_dir(&record_dir).unwrap();
    let simulator = runtime
        .block_on(floorwalk_sim::start(SimOptions {
            agents: 20,
            record_dir: Some(record_dir.clone()),
            min_call_secs: 120,
            ..SimOptions::default()
        }))
        .unwrap();
    let sshd = Sshd::start();

    // The laptop: the companion with a WAV "headset".
    let heard = h.join("heard.wav");
    let mic = h.join("mic.wav");
    write_mono(&mic, &sine(TONE_HZ, TONE, 48_000));
    let laptop_sock = h.join("laptop/companion.sock");
    let (mut companion, said) = start_companion(
        &sshd,
        h,
        "laptop",
        laptop_sock.to_str().unwrap(),
        &format!("wav:{}", heard.display()),
        &mic,
    );
    let companion_started = Instant::now();
    let ssh_line = wait_line(&said, "the ssh line", |l| {
        l.trim_start().starts_with("ssh ")
    });
    assert!(
        ssh_line.contains(&format!(
            "-R /tmp/floorwalk-companion-%r.sock:{} {}",
            laptop_sock.display(),
            sshd.destination()
        )),
        "{ssh_line}"
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(laptop_sock.parent().unwrap()), 0o700);
    assert_eq!(mode(&laptop_sock), 0o600);

    // The tunnel, to a directory anyone may enter: the socket's own mode
    // is what keeps others out.
    let jump = h.join("jump");
    std::fs::create_dir(&jump).unwrap();
    std::fs::set_permissions(&jump, std::fs::Permissions::from_mode(0o755)).unwrap();
    let jump_sock = jump.join("companion.sock");
    let mut tunnel = Reaped(sshd.tunnel(&jump_sock, &laptop_sock));

    // The jump host: the console inside `ssh -tt`.
    let jump_home = h.join("jump-home");
    std::fs::create_dir_all(jump_home.join("config/floorwalk")).unwrap();
    std::fs::write(jump_home.join("token"), "demo-dana\n").unwrap();
    std::fs::write(
        jump_home.join("config/floorwalk/config.toml"),
        format!(
            "token_file = \"{}\"\n[ptt]\nmode = \"toggle\"\n",
            jump_home.join("token").display()
        ),
    )
    .unwrap();
    let endpoint = format!("companion:{}", jump_sock.display());
    let remote = format!(
        "env HOME={j} XDG_CONFIG_HOME={j}/config XDG_DATA_HOME={j}/data {bin} console \
         --server {url} --audio-out {endpoint} --audio-in {endpoint}",
        j = jump_home.display(),
        bin = env!("CARGO_BIN_EXE_floorwalk"),
        url = simulator.url(),
    );
    let mut args = sshd.ssh_args();
    args.extend(["-tt".to_owned(), sshd.destination(), remote]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut app = PtyApp::spawn_program("ssh", &args, h, 120, 36, &[]);
    app.wait_for_text("● live", START);
    app.wait_for_text("companion ▸", STEP);
    wait_line(&said, "the console connected", |l| {
        l.starts_with("console ")
    });

    // Silent: the call plays on the laptop, the meters move, talking is refused.
    app.join_next_call("m", "SILENT", STEP);
    let joined = companion_started.elapsed();
    wait_line(&said, "the call on its status line", |l| {
        l.contains(" · call c-")
    });
    app.send(" ");
    app.wait_for_text("Silent monitoring: nobody hears you", STEP);
    app.wait_for("the meters to move", STEP, |s| s.contains('▮'));
    std::thread::sleep(Duration::from_secs(6));
    let silent_end = recorded(&record_dir, "agent");

    // Whisper, then barge: a moment of talking in each.
    let (whisper_start, whisper_end) = talk_in(
        &mut app,
        &record_dir,
        "w",
        "you:whisper",
        "ON AIR · AGENT ONLY",
    );
    let (barge_start, barge_end) = talk_in(
        &mut app,
        &record_dir,
        "b",
        "you:barge",
        "ON AIR · AGENT + CUSTOMER",
    );

    // The tunnel drops: the console says so and keeps its leg; it comes back.
    tunnel.0.kill().unwrap();
    tunnel.0.wait().unwrap();
    let screen = app.wait_for_text("companion lost ▸ none", STEP);
    assert!(screen.contains("you:barge"), "the leg went:\n{screen}");
    std::thread::sleep(Duration::from_secs(1));
    let _tunnel = Reaped(sshd.tunnel(&jump_sock, &laptop_sock));
    app.wait_for_text("Audio output back", STEP);
    let restored = companion_started.elapsed();
    let screen = app.wait_for_text("companion ▸", STEP);
    assert!(screen.contains("you:barge"), "{screen}");
    std::thread::sleep(Duration::from_secs(3));

    // Talking, then `d`: nothing of the microphone after it.
    app.send(" ");
    app.wait_for_text("ON AIR · AGENT + CUSTOMER", STEP);
    std::thread::sleep(Duration::from_secs(1));
    app.send("d");
    app.wait_for_text("not on this call", STEP);
    std::thread::sleep(SETTLE);
    let left = recorded(&record_dir, "agent");
    std::thread::sleep(Duration::from_secs(3));

    // Another user on the jump host or the laptop cannot open the sockets.
    let probe = connect_as_nobody(&jump_sock);
    assert!(probe.contains("Permission denied"), "{probe}");
    let probe = connect_as_nobody(&laptop_sock);
    assert!(probe.contains("Permission denied"), "{probe}");

    app.send("q");
    assert_eq!(app.wait_exit(STEP), 0);
    assert!(app.terminal_restored());

    // `doctor` checks the companion path with the test tone, both ways.
    let gone = |lines: &Mutex<Vec<String>>| {
        lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(" gone: "))
            .count()
    };
    let consoles_gone = gone(&said);
    assert_doctor_plays_and_hears(&doctor(&endpoint, &jump_home, &h.join("doctor-config")));
    // Until the companion has seen the doctor go, a new client is "busy".
    let start = Instant::now();
    while gone(&said) == consoles_gone {
        assert!(
            start.elapsed() < STEP,
            "the companion never saw the doctor go"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // A client that is not a console, through the tunnel: refused, with why.
    let mut stranger = std::os::unix::net::UnixStream::connect(&jump_sock).unwrap();
    stranger.set_read_timeout(Some(STEP)).unwrap();
    stranger.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut refusal = None;
    for _ in 0..2 {
        let mut prefix = [0u8; 4];
        stranger.read_exact(&mut prefix).unwrap();
        let mut body = vec![0; frame_length(prefix).unwrap()];
        stranger.read_exact(&mut body).unwrap();
        if let Message::Refused { reason } = Message::decode(&body).unwrap() {
            refusal = Some(reason);
        }
    }
    let refusal = refusal.expect("no refusal");
    assert!(
        refusal.contains("not a floorwalk companion peer"),
        "{refusal}"
    );
    wait_line(&said, "the refusal", |l| l.contains("refused a client"));

    tcp_form_needs_the_key(&sshd, h, &jump, &jump_home, &mic);

    terminate(&mut companion.0);
    runtime.block_on(simulator.shutdown());

    // What the parties heard of the companion's microphone, phase by phase.
    let agent = read_wav(&ear_file(&record_dir, "agent").unwrap());
    let customer = read_wav(&ear_file(&record_dir, "customer").unwrap());
    let tone = |ear: &[f32], from: usize, to: usize| {
        windows_with_tone(&ear[from..to.min(ear.len())], TONE_HZ, TONE)
    };
    assert_eq!(
        tone(&agent, 0, silent_end),
        0,
        "the agent heard me in silent"
    );
    assert_eq!(
        tone(&customer, 0, silent_end),
        0,
        "the customer heard me in silent"
    );
    let agent_whisper = tone(&agent, whisper_start, whisper_end);
    eprintln!(
        "tone windows: whisper agent {agent_whisper}, barge agent {} customer {}",
        tone(&agent, barge_start, barge_end),
        tone(&customer, barge_start, barge_end)
    );
    assert!(
        agent_whisper >= 50,
        "the agent heard {agent_whisper} windows of my whisper"
    );
    assert_eq!(
        tone(&customer, whisper_start, whisper_end),
        0,
        "the customer heard my whisper"
    );
    for (who, ear) in [("agent", &agent), ("customer", &customer)] {
        let heard = tone(ear, barge_start, barge_end);
        assert!(heard >= 50, "the {who} heard {heard} windows of my barge");
    }
    assert!(
        agent.len() >= left + 2 * 48_000,
        "the recording stopped at the leave"
    );
    assert_eq!(
        tone(&agent, left, agent.len()),
        0,
        "the agent heard me after d"
    );
    assert_eq!(
        tone(&customer, left, customer.len()),
        0,
        "the customer heard me after d"
    );

    // What the companion played: the call's two parties, as the simulator
    // sent them (each ear hears the other party), found at the best lag.
    let played = read_wav(&heard);
    let voices: Vec<f32> = agent[..silent_end]
        .iter()
        .zip(&customer[..silent_end])
        .map(|(a, c)| a + c)
        .collect();
    let expected_at = (joined.as_secs_f64() * RATE) as usize / WINDOW;
    let voices = envelope(&voices);
    let played_env = envelope(&played);
    let span = 150; // ±3 s around the join
    let (lag, best) = (expected_at.saturating_sub(span)..expected_at + span)
        .filter(|&lag| lag + voices.len() <= played_env.len())
        .map(|lag| {
            (
                lag,
                correlation(&played_env[lag..lag + voices.len()], &voices),
            )
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("the companion played less than the call lasted");
    eprintln!("the companion's output matches the call's voices at {best:.2}");
    assert!(
        best > 0.7,
        "what the companion played matches the call at {best:.2}"
    );
    // Each party alone, over the time its listener's ear held no tone: the
    // customer's ear (the agent's voice) until the barge, the agent's ear
    // (the customer's voice) until the whisper.
    for (who, ear, until) in [
        ("agent", &customer, barge_start),
        ("customer", &agent, whisper_start),
    ] {
        let voice = envelope(&ear[..until]);
        let spoke = voice.iter().filter(|&&rms| rms > 0.01).count();
        let r = correlation(&played_env[lag..lag + voice.len()], &voice);
        eprintln!("the {who} spoke in {spoke} windows; in the companion's output at {r:.2}");
        assert!(
            spoke >= 25,
            "the {who} spoke only {spoke} windows while I listened"
        );
        assert!(
            r > 0.3,
            "the {who}'s voice is in the companion's output at only {r:.2}"
        );
    }
    // After the tunnel came back, the call played again.
    let from = ((restored.as_secs_f64() + 0.5) * RATE) as usize;
    let to = from + 2 * 48_000;
    assert!(played.len() >= to, "the companion's output ends early");
    let loud = played[from..to]
        .chunks_exact(WINDOW)
        .filter(|w| Level::of(w).rms > 0.01)
        .count();
    eprintln!("{loud} windows of the call played in the 2 s after the tunnel came back");
    assert!(
        loud >= 10,
        "only {loud} windows of the call played after the tunnel came back"
    );
}
