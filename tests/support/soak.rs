//! The soak harness shared by `tests/soak.rs` (short, asserting) and
//! `benches/soak.rs` (minutes, reporting): a `floorwalk sim` process with a
//! large, fast floor; the real console attached in a pty as a supervisor of
//! every team; a plain client on the same stream counting the events; and a
//! sampler that reads, every few seconds, both processes' memory and CPU from
//! `/proc`, the console's link state from its screen, and how long the
//! console takes to answer a key (`?` until the help shows) and to show a
//! join (`m` until `SILENT` shows, which waits behind every event already
//! queued for it).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::pty::PtyApp;
use crate::support::sim_process::listening_url;
use futures_util::StreamExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The demo supervisor who sees all five teams.
const TOKEN: &str = "demo-amara";
/// How long one probe (a key, a join) may take before it counts as missed.
const PROBE_LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct SoakConfig {
    pub agents: usize,
    /// `floorwalk sim --speed`.
    pub speed: f64,
    pub min_call_secs: u64,
    pub duration: Duration,
    pub every: Duration,
}

/// One look at both processes: what the supervisor sees, then what it
/// costs, then the load.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Since the console showed the floor.
    pub at: Duration,
    /// Whether the status bar said `live` (not reconnecting).
    pub live: bool,
    /// The round trip the console shows in its status bar.
    pub rtt_ms: Option<u64>,
    /// From `?` to the help on screen; `None` if it did not come in time.
    pub key_ms: Option<f64>,
    /// From `m` to `SILENT` on screen; `None` if the call ended first or
    /// nothing came in time.
    pub join_ms: Option<f64>,
    pub console: Usage,
    pub sim: Usage,
    /// State events the supervisor's stream carried per second, over the
    /// last interval.
    pub events_per_sec: f64,
}

/// What one process takes.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub rss_kib: u64,
    /// Share of one core over the last interval, in percent.
    pub cpu: f64,
}

#[derive(Debug)]
pub struct Report {
    pub samples: Vec<Sample>,
    pub total_events: u64,
    pub console_exit: u32,
}

/// `floorwalk sim` as its own process, so its memory is its own.
struct Sim {
    child: Child,
    url: String,
    /// Its data directory (the records), removed with it.
    _data: tempfile::TempDir,
}

impl Sim {
    fn start(config: &SoakConfig) -> Sim {
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_floorwalk"))
            .args(["sim", "--listen", "127.0.0.1:0"])
            .args(["--agents", &config.agents.to_string()])
            .args(["--speed", &config.speed.to_string()])
            .args(["--min-call-secs", &config.min_call_secs.to_string()])
            .env("FLOORWALK_LOG", "warn")
            .env("XDG_DATA_HOME", data.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let url = listening_url(&mut child);
        Sim {
            child,
            url,
            _data: data,
        }
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Counts the state events of the supervisor's stream, as a second console
/// of the same supervisor would receive them.
fn count_events(url: String, count: Arc<AtomicU64>) -> tokio::runtime::Runtime {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.spawn(async move {
        let mut request = url.into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("Authorization", format!("Bearer {TOKEN}").parse().unwrap());
        headers.insert("Sec-WebSocket-Protocol", "floorwalk.v1".parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let subscribe = r#"{"type":"subscribe","session":null,"last_seq":null}"#;
        futures_util::SinkExt::send(&mut ws, Message::text(subscribe))
            .await
            .unwrap();
        while let Some(Ok(message)) = ws.next().await {
            // Every state event carries "seq"; hello, replies and notices
            // do not, and the snapshot is counted as one.
            if let Message::Text(text) = message
                && text.as_str().contains("\"seq\":")
            {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    runtime
}

/// Memory and CPU time of a process, from `/proc`.
#[derive(Debug, Clone, Copy)]
struct ProcStat {
    rss_kib: u64,
    cpu_ticks: u64,
}

fn proc_stat(pid: u32) -> Option<ProcStat> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3:
    // utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let cpu_ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ProcStat { rss_kib, cpu_ticks })
}

fn clock_ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Time from now until the screen satisfies `check`, or `None` after the limit.
fn time_until(app: &PtyApp, check: impl Fn(&str) -> bool) -> Option<f64> {
    let start = Instant::now();
    while start.elapsed() < PROBE_LIMIT {
        if check(&app.screen_text()) {
            return Some(start.elapsed().as_secs_f64() * 1000.0);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

/// `?` until the help shows, then closes it.
fn probe_key(app: &mut PtyApp) -> Option<f64> {
    app.send("?");
    let took = time_until(app, |s| s.contains("any key closes"));
    app.send("\x1b");
    time_until(app, |s| !s.contains("any key closes"));
    took
}

/// The next active call, `m` until the join shows, then `d`. A call that
/// ends between the keys makes the join fail (or leaves no call selected):
/// that counts as missed, without waiting out the limit.
fn probe_join(app: &mut PtyApp) -> Option<f64> {
    app.send("n");
    time_until(app, |s| s.contains("[m] listen"))?;
    app.send("m");
    let took = time_until(app, |s| {
        s.contains("SILENT") || s.contains("Could not join") || s.contains("is not on a call")
    });
    let joined = app.screen_text().contains("SILENT");
    app.send("d");
    time_until(app, |s| !s.contains("SILENT"));
    took.filter(|_| joined)
}

/// The status bar: live with its round trip, or not live.
fn link(screen: &str) -> (bool, Option<u64>) {
    let Some(at) = screen.find("● live") else {
        return (false, None);
    };
    let rtt = screen[at + "● live".len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok());
    (true, rtt)
}

/// Runs a soak: `home` keeps the console's journal and log.
pub fn run(config: &SoakConfig, home: &Path) -> Report {
    let mut sim = Sim::start(config);
    let count = Arc::new(AtomicU64::new(0));
    let _counter = count_events(sim.url.clone(), Arc::clone(&count));
    let ticks = clock_ticks_per_sec();

    let mut app = PtyApp::spawn_with_env(
        &["console", "--server", &sim.url],
        home,
        160,
        48,
        &[("FLOORWALK_TOKEN", TOKEN), ("FLOORWALK_LOG", "info")],
    );
    let console = app.pid().unwrap();
    app.wait_for_text("● live", Duration::from_secs(60));
    let started = Instant::now();
    let mut last = (
        started,
        proc_stat(console).unwrap(),
        proc_stat(sim.child.id()).unwrap(),
        count.load(Ordering::Relaxed),
    );
    let mut samples = Vec::new();
    while started.elapsed() < config.duration {
        std::thread::sleep(config.every.saturating_sub(last.0.elapsed()));
        assert!(sim.alive(), "the simulator died");
        let now = Instant::now();
        let console_now = proc_stat(console)
            .unwrap_or_else(|| panic!("the console died:\n{}", app.screen_text()));
        let sim_now = proc_stat(sim.child.id()).unwrap();
        let events = count.load(Ordering::Relaxed);
        let secs = now.duration_since(last.0).as_secs_f64();
        let usage = |before: ProcStat, after: ProcStat| Usage {
            rss_kib: after.rss_kib,
            cpu: (after.cpu_ticks - before.cpu_ticks) as f64 / ticks / secs * 100.0,
        };
        let (live, rtt_ms) = link(&app.screen_text());
        let key_ms = probe_key(&mut app);
        let join_ms = probe_join(&mut app);
        samples.push(Sample {
            at: now.duration_since(started),
            live,
            rtt_ms,
            key_ms,
            join_ms,
            console: usage(last.1, console_now),
            sim: usage(last.2, sim_now),
            events_per_sec: (events - last.3) as f64 / secs,
        });
        // The probes took time too: the next interval starts after them.
        last = (
            Instant::now(),
            proc_stat(console).unwrap_or(console_now),
            proc_stat(sim.child.id()).unwrap_or(sim_now),
            count.load(Ordering::Relaxed),
        );
    }
    app.send("q");
    let console_exit = app.wait_exit(Duration::from_secs(20));
    Report {
        samples,
        total_events: count.load(Ordering::Relaxed),
        console_exit,
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn cell(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v:.0}"))
}

/// One row per sample.
pub fn table(report: &Report) -> String {
    let mut out = String::from(
        "    t s | console MiB  CPU % | sim MiB  CPU % | events/s | key ms | join ms | rtt ms | link\n",
    );
    for s in &report.samples {
        out.push_str(&format!(
            "{:>9.0} | {:>11.1} {:>6.1} | {:>7.1} {:>6.1} | {:>8.0} | {:>6} | {:>7} | {:>6} | {}\n",
            s.at.as_secs_f64(),
            mib(s.console.rss_kib),
            s.console.cpu,
            mib(s.sim.rss_kib),
            s.sim.cpu,
            s.events_per_sec,
            cell(s.key_ms),
            cell(s.join_ms),
            s.rtt_ms.map_or_else(|| "—".to_owned(), |r| r.to_string()),
            if s.live { "live" } else { "NOT LIVE" },
        ));
    }
    out
}

/// Median, 95th percentile and maximum of some values.
pub fn spread(mut values: Vec<f64>) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Some((at(0.5), at(0.95), at(1.0)))
}

/// Median, p95 and max of each measure, and what was missed.
pub fn summary(report: &Report) -> String {
    let s = &report.samples;
    let rows: [(&str, Vec<f64>); 8] = [
        (
            "console RSS MiB",
            s.iter().map(|x| mib(x.console.rss_kib)).collect(),
        ),
        ("console CPU %", s.iter().map(|x| x.console.cpu).collect()),
        (
            "sim RSS MiB",
            s.iter().map(|x| mib(x.sim.rss_kib)).collect(),
        ),
        ("sim CPU %", s.iter().map(|x| x.sim.cpu).collect()),
        ("events/s", s.iter().map(|x| x.events_per_sec).collect()),
        (
            "key ms (? to help)",
            s.iter().filter_map(|x| x.key_ms).collect(),
        ),
        (
            "join ms (m to SILENT)",
            s.iter().filter_map(|x| x.join_ms).collect(),
        ),
        (
            "rtt ms (status bar)",
            s.iter()
                .filter_map(|x| x.rtt_ms.map(|r| r as f64))
                .collect(),
        ),
    ];
    let mut out = format!("{:<22} {:>9} {:>9} {:>9}\n", "", "median", "p95", "max");
    for (name, values) in rows {
        if let Some((median, p95, max)) = spread(values) {
            out.push_str(&format!("{name:<22} {median:>9.1} {p95:>9.1} {max:>9.1}\n"));
        }
    }
    let missed_keys = s.iter().filter(|x| x.key_ms.is_none()).count();
    let missed_joins = s.iter().filter(|x| x.join_ms.is_none()).count();
    let not_live = s.iter().filter(|x| !x.live).count();
    out.push_str(&format!(
        "{} samples; {} events in all; keys unanswered: {missed_keys}; joins missed: {missed_joins}; samples not live: {not_live}\n",
        s.len(),
        report.total_events
    ));
    if let (Some(first), Some(last)) = (s.first(), s.last()) {
        out.push_str(&format!(
            "console RSS first {:.1} MiB, last {:.1} MiB; sim RSS first {:.1} MiB, last {:.1} MiB\n",
            mib(first.console.rss_kib),
            mib(last.console.rss_kib),
            mib(first.sim.rss_kib),
            mib(last.sim.rss_kib)
        ));
    }
    out
}
