//! `floorwalk gateway` against a real Asterisk 22 on this machine: the
//! delay the gateway adds to a party's audio, its CPU per silently
//! monitored call, and how many monitored calls it carries before a frame
//! comes late. Asserts nothing about speed; prints a table whose figures go
//! in docs/performance.md ("The Asterisk gateway").
//!
//! `FLOORWALK_ASTERISK=PREFIX cargo bench --bench gateway`
//! (`FLOORWALK_BENCH_QUICK=1` for a short run while developing.)
//!
//! The delay. The customer's phone says tone bursts (the rig's `BURSTS`:
//! 100 ms every 500 ms). The gateway listens to the customer's channel
//! through its spying snoop, bridged with its WebSocket media channel; the
//! bench monitors the call through the gateway with a protocol client and
//! puts its own media channel in that same bridge
//! (`Asterisk::listen_to_bridge`), so that Asterisk hands each frame to the
//! gateway and to the bench at the same moment. For each burst, the delay
//! is when the Opus frame holding its onset reached the client minus when
//! the slin16 frame holding it reached the bench's own media channel.
//! (A second snoop would not do: each snoop reads on its own 20 ms timer,
//! and its queue holds a whole number of frames that grows when its thread
//! misses a tick, so two snoops of one channel hand the same audio on up to
//! a frame or more apart.)
//!
//! CPU and capacity. One client monitors N calls (one leg each) for a span;
//! CPU from /proc/<pid>/stat (utime + stime) of the gateway and of
//! Asterisk. For N = 1, 5 and 10 a span with the same calls up and none
//! monitored comes just before, and is subtracted. The calls are 8 kHz
//! (`slin`), a telephone call's rate. A frame is late when a monitored
//! track's gap between arrivals exceeds 60 ms or a seq is missing; N grows
//! until a late frame or the ceiling. The first call's customer says the
//! bursts, and the bench's media channel sits in the gateway's listening
//! bridge of it as above: that gives the gateway-added delay under load,
//! and Asterisk's own delivery without the gateway. A span with late
//! frames in which that delivery stalled as long (a stall of Asterisk or
//! of the machine, not the gateway's) is measured again, up to twice; the
//! table shows every span. The machine is shared: each span starts once
//! the rest of it is quiet (or after a minute), and the table says how
//! much it used meanwhile ("other load", with hypervisor steal).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/ari_proxy.rs"]
mod ari_proxy;
#[path = "../tests/support/asterisk.rs"]
mod asterisk;
#[path = "../tests/support/gateway.rs"]
mod gateway;
#[path = "../tests/support/sim_client.rs"]
mod sim_client;

use asterisk::{
    Asterisk, BURST_EVERY_MS, BURST_HZ, BURSTS, CallAudio, Events, Listener, PARTY_LEVEL,
};
use floorwalk_audio::codec::Decoder;
use floorwalk_audio::signal::tone_amplitude;
use floorwalk_protocol::{AudioFrame, ErrorCode, Role};
use futures_util::StreamExt as _;
use gateway::{APP, Gateway, all_gone, call_of};
use serde_json::json;
use sim_client::{Client, DANA};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What a run measures: the full run is what docs/performance.md reports.
struct Plan {
    quick: bool,
    /// Bursts timed for the delay.
    bursts: u32,
    /// Each CPU and capacity span.
    span: Duration,
    /// Monitored calls, in order; capacity stops at the first late frame.
    steps: &'static [usize],
    /// The calls' format (`FLOORWALK_BENCH_FORMAT`, default `slin`: 8 kHz
    /// like a telephone call; the rig's own default is slin192).
    format: String,
}

impl Plan {
    fn from_env() -> Plan {
        let quick = std::env::var_os("FLOORWALK_BENCH_QUICK").is_some_and(|v| v != "0");
        let format = std::env::var("FLOORWALK_BENCH_FORMAT").unwrap_or_else(|_| "slin".to_owned());
        if quick {
            Plan {
                quick,
                bursts: 20,
                span: Duration::from_secs(5),
                steps: &[1, 5, 10, 20],
                format,
            }
        } else {
            Plan {
                quick,
                bursts: 120,
                span: Duration::from_secs(20),
                steps: &[1, 5, 10, 15, 20, 25, 30, 40, 50, 60],
                format,
            }
        }
    }
}

/// The steps whose CPU per monitored call is reported.
const PER_CALL_STEPS: [usize; 3] = [1, 5, 10];
/// A gap between two frames of a track longer than this is a late frame.
const LATE_GAP_MS: f64 = 60.0;
/// How many times a span with late frames is measured again when
/// Asterisk's own delivery (to the bench's media channel) stalled as long
/// in it: a stall of Asterisk or of the machine, not the gateway's.
const STALL_RETRIES: usize = 2;
/// How long after joining calls before a span starts.
const SETTLE: Duration = Duration::from_secs(2);
/// A span starts once the rest of the machine used under this (% of a
/// core) for a second, or after `QUIET_PATIENCE`.
const QUIET_OTHERS: f64 = 15.0;
const QUIET_PATIENCE: Duration = Duration::from_secs(60);
/// How long after placing the first calls before the idle span starts.
const SETTLE_IDLE: Duration = Duration::from_secs(5);
/// A frame holds a burst when its `BURST_HZ` amplitude is above this.
const BURST_THRESHOLD: f32 = PARTY_LEVEL / 4.0;
/// Frames without the burst before an onset (200 ms; the gap is 400).
const QUIET_BEFORE_ONSET: usize = 10;

fn main() {
    let plan = Plan::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let delay = runtime.block_on(delay(&plan));
    let load = runtime.block_on(load(&plan));
    report(&plan, &delay, &load);
}

// ---------------------------------------------------------------- delay

/// What the bursts of one monitored call show over a span.
struct Bursts {
    /// Gateway-added delay of each burst onset, in ms, sorted.
    delays: Vec<f64>,
    /// Onsets the bench's own media channel heard.
    heard: usize,
    /// Where the onset lies in its frame, ms from the frame's start
    /// (median): at the bench's media channel and, decoded, at the client.
    place: (f64, f64),
    /// The longest gap between two frames at the bench's own media
    /// channel: Asterisk's delivery, without the gateway.
    listener_gap_ms: f64,
    /// The longest gap between two frames of the same track at the client.
    client_gap_ms: f64,
    /// Messages from Asterisk to the bench's media channel that were not
    /// one 20 ms frame (320 samples).
    odd_sized: usize,
}

impl Bursts {
    /// Compares what `listener` (the bench's media channel in the
    /// gateway's listening bridge of a customer saying `BURSTS`) and
    /// `client` (on `track`, that customer's) read since `from`.
    fn since(listener: &Listener, client: &Client, track: u32, from: Instant) -> Bursts {
        let frames: Vec<(Instant, Vec<f32>)> = listener
            .frames()
            .into_iter()
            .filter(|(at, _)| *at >= from)
            .collect();
        let odd_sized = frames.iter().filter(|(_, f)| f.len() != 320).count();
        let longest_gap = |times: Vec<Instant>| {
            times
                .windows(2)
                .map(|w| ms_between(w[0], w[1]))
                .fold(0.0, f64::max)
        };
        let listener_gap_ms = longest_gap(frames.iter().map(|(at, _)| *at).collect());
        let levels: Vec<Level> = frames
            .iter()
            .map(|(at, samples)| Level::of(*at, samples, 16_000))
            .collect();
        let mut decoder = Decoder::new().unwrap();
        let mut pcm = vec![0.0; 960];
        let decoded: Vec<Level> = client
            .audio
            .iter()
            .filter(|h| h.at >= from)
            .map(|h| (h.at, AudioFrame::decode(&h.bytes).unwrap()))
            .filter(|(_, f)| f.header.track == track)
            .map(|(at, f)| {
                decoder.decode(f.opus, &mut pcm).unwrap();
                Level::of(at, &pcm, 48_000)
            })
            .collect();
        let client_gap_ms = longest_gap(decoded.iter().map(|l| l.at).collect());
        let at_listener = onsets(&levels);
        let at_client = onsets(&decoded);
        let half_period = f64::from(BURST_EVERY_MS) / 2.0;
        let mut delays: Vec<f64> = at_listener
            .iter()
            .filter_map(|heard| {
                at_client
                    .iter()
                    .map(|got| ms_between(heard.at, got.at))
                    .find(|ms| ms.abs() < half_period)
            })
            .collect();
        delays.sort_by(f64::total_cmp);
        Bursts {
            delays,
            heard: at_listener.len(),
            place: (onset_place(&at_listener), onset_place(&at_client)),
            listener_gap_ms,
            client_gap_ms,
            odd_sized,
        }
    }

    fn percentile(&self, p: f64) -> f64 {
        percentile(&self.delays, p)
    }
}

async fn delay(plan: &Plan) -> Bursts {
    let asterisk = Asterisk::start().await;
    let _events = drained(asterisk.events(APP).await);
    let gateway = Gateway::start(&asterisk, "lat", &[]);
    let mut dana = Client::subscribed_at(gateway.addr, DANA).await;
    let mut calls = Vec::new();
    place_calls(&asterisk, &plan.format, &mut dana, &mut calls, 1).await;
    monitor(&mut dana, &calls[0]).await;
    let (listener, track) = listen_to_customer(&asterisk, &dana, &calls[0], "lat").await;
    dana.pump(SETTLE).await;
    dana.audio.clear();
    let from = Instant::now();
    let span = Duration::from_millis(u64::from(plan.bursts * BURST_EVERY_MS) + 1_000);
    dana.pump(span).await;
    Bursts::since(&listener, &dana, track, from)
}

/// Monitors a call silently; the leg's id.
async fn monitor(client: &mut Client, call_id: &str) -> String {
    let joined = command(
        client,
        json!({"type": "monitor", "call_id": call_id, "mode": "silent"}),
    )
    .await;
    joined["leg_id"].as_str().unwrap().to_owned()
}

/// Puts the bench's own media channel in the listening bridge that the
/// gateway named `name` made for the customer of `call_id` (monitored).
/// The listener, and the customer's track.
async fn listen_to_customer(
    asterisk: &Asterisk,
    client: &Client,
    call_id: &str,
    name: &str,
) -> (Listener, u32) {
    let customer = client.floor.calls[call_id]
        .leg_with_role(Role::Customer)
        .unwrap();
    // The gateway's spy on that channel (Asterisk names a snoop after the
    // unique id of the channel it snoops on, which is its ARI id) is
    // `PREFIXspy-customer`; its bridge, `PREFIXcustomer`.
    let snoop_name = format!("Snoop/{}-", customer.id);
    let spy_suffix = "spy-customer";
    let channels = asterisk.get("/channels").await;
    let spy = channels
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["name"]
                .as_str()
                .is_some_and(|n| n.starts_with(&snoop_name))
        })
        .filter_map(|c| c["id"].as_str())
        .find(|id| id.starts_with(&format!("floorwalk-{name}-")) && id.ends_with(spy_suffix))
        .expect("the gateway's spy on the customer");
    let ear = format!("{}customer", spy.strip_suffix(spy_suffix).unwrap());
    (asterisk.listen_to_bridge(APP, &ear).await, customer.track)
}

/// The events socket of the bench's own ARI application (its media
/// channels need it), read and thrown away so that Asterisk never waits
/// on it.
fn drained(mut events: Events) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { while let Some(Ok(_)) = events.ws.next().await {} })
}

/// One frame as heard: when it arrived, how loud the burst is in it, and
/// where in it (ms from its start) the first loud sample is.
#[derive(Clone, Copy)]
struct Level {
    at: Instant,
    burst: f32,
    loud_from_ms: f64,
}

impl Level {
    fn of(at: Instant, samples: &[f32], rate: u32) -> Level {
        let first_loud = samples
            .iter()
            .position(|s| s.abs() > BURST_THRESHOLD)
            .unwrap_or(samples.len());
        Level {
            at,
            burst: tone_amplitude(samples, BURST_HZ, rate),
            loud_from_ms: first_loud as f64 * 1000.0 / f64::from(rate),
        }
    }
}

/// The frames where a burst starts.
fn onsets(levels: &[Level]) -> Vec<Level> {
    levels
        .windows(QUIET_BEFORE_ONSET + 1)
        .filter(|w| {
            let (before, now) = w.split_at(QUIET_BEFORE_ONSET);
            now[0].burst > BURST_THRESHOLD && before.iter().all(|l| l.burst < BURST_THRESHOLD)
        })
        .map(|w| w[QUIET_BEFORE_ONSET])
        .collect()
}

/// The median place of the onsets in their frames (ms from the start).
fn onset_place(onsets: &[Level]) -> f64 {
    let mut places: Vec<f64> = onsets.iter().map(|l| l.loud_from_ms).collect();
    places.sort_by(f64::total_cmp);
    percentile(&places, 0.5)
}

/// `to − from` in ms (negative when `to` is earlier).
fn ms_between(from: Instant, to: Instant) -> f64 {
    if to >= from {
        to.duration_since(from).as_secs_f64() * 1000.0
    } else {
        -(from.duration_since(to).as_secs_f64() * 1000.0)
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Sends a command and returns its result, waiting out the command rate
/// limit; panics when it is refused otherwise.
async fn command(client: &mut Client, command: serde_json::Value) -> serde_json::Value {
    loop {
        let reply = client.command(command.clone()).await;
        match &reply.error {
            None if reply.ok => return reply.result.unwrap_or_default(),
            Some(e) if e.code == ErrorCode::RateLimited => {
                client.pump(Duration::from_millis(200)).await;
            }
            _ => panic!("{command} refused: {reply:?}"),
        }
    }
}

// ------------------------------------------------------ CPU and capacity

/// CPU shares over one span, in % of one core.
#[derive(Clone, Copy)]
struct Cpu {
    gateway: f64,
    asterisk: f64,
    bench: f64,
    /// The whole machine: every core, every process, and the time the
    /// hypervisor gave our cores to others (steal); 200 % is both cores.
    machine: f64,
}

impl Cpu {
    /// What the rest of the machine used (other processes and steal).
    fn others(&self) -> f64 {
        (self.machine - self.gateway - self.asterisk - self.bench).max(0.0)
    }
}

/// One span with `monitored` calls.
struct Step {
    monitored: usize,
    /// Measured again: the span before had late frames while Asterisk's
    /// own delivery stalled.
    again: bool,
    cpu: Cpu,
    /// For the per-call steps: a span just before, with the same calls
    /// up and none monitored.
    idle: Option<Cpu>,
    frames_per_sec: f64,
    /// Late frames: gaps over `LATE_GAP` plus missing seqs, and tracks
    /// that sent nothing.
    late: usize,
    worst_gap_ms: f64,
    /// The first call's bursts over the span.
    bursts: Bursts,
}

struct Load {
    clk_tck: f64,
    steps: Vec<Step>,
}

async fn load(plan: &Plan) -> Load {
    let clk_tck = clk_tck();
    let asterisk = Asterisk::start().await;
    let _events = drained(asterisk.events(APP).await);
    let gateway = Gateway::start(&asterisk, "cpu", &[]);
    let mut dana = Client::subscribed_at(gateway.addr, DANA).await;
    let pids = Pids {
        gateway: gateway.pid(),
        asterisk: asterisk.pid(),
        bench: std::process::id(),
        clk_tck,
    };
    let mut calls: Vec<String> = Vec::new();
    let per_call_calls = PER_CALL_STEPS[PER_CALL_STEPS.len() - 1];
    place_calls(
        &asterisk,
        &plan.format,
        &mut dana,
        &mut calls,
        per_call_calls,
    )
    .await;
    dana.pump(SETTLE_IDLE).await;

    let mut legs: Vec<String> = Vec::new();
    let mut ears = None;
    let mut steps: Vec<Step> = Vec::new();
    for &n in plan.steps {
        let idle = if PER_CALL_STEPS.contains(&n) {
            for leg in legs.drain(..) {
                command(&mut dana, json!({"type": "disconnect", "leg_id": leg})).await;
            }
            ears = None;
            all_gone(&asterisk, "floorwalk-cpu-").await;
            dana.pump(SETTLE).await;
            pids.quiet(&mut dana).await;
            Some(pids.measure(&mut dana, plan.span).await)
        } else {
            None
        };
        place_calls(&asterisk, &plan.format, &mut dana, &mut calls, n).await;
        for call in &calls[legs.len()..n] {
            legs.push(monitor(&mut dana, call).await);
        }
        if ears.is_none() {
            ears = Some(listen_to_customer(&asterisk, &dana, &calls[0], "cpu").await);
        }
        let (listener, track) = ears.as_ref().unwrap();
        dana.pump(SETTLE).await;
        for again in 0..=STALL_RETRIES {
            pids.quiet(&mut dana).await;
            dana.audio.clear();
            let from = Instant::now();
            let cpu = pids.measure(&mut dana, plan.span).await;
            let tracks = party_tracks(&dana, &calls[..n]);
            let (late, worst_gap_ms) = lateness(&dana, &tracks, from);
            let frames_per_sec = dana.audio.len() as f64 / plan.span.as_secs_f64();
            let bursts = Bursts::since(listener, &dana, *track, from);
            eprintln!(
                "{n} monitored: gateway {:.1} %, Asterisk {:.1} %, other load {:.0} %, {late} late, longest gap {worst_gap_ms:.0} ms (first call's customer: client {:.0} ms, Asterisk → bench {:.0} ms, {} odd-sized); gateway-added delay median {:.1} ms, max {:.1} ms{}",
                cpu.gateway,
                cpu.asterisk,
                cpu.others(),
                bursts.client_gap_ms,
                bursts.listener_gap_ms,
                bursts.odd_sized,
                bursts.percentile(0.5),
                bursts.percentile(1.0),
                idle.map(|i| format!(
                    "; idle just before: gateway {:.1} %, Asterisk {:.1} %",
                    i.gateway, i.asterisk
                ))
                .unwrap_or_default()
            );
            let stalled = late > 0 && bursts.listener_gap_ms > LATE_GAP_MS;
            steps.push(Step {
                monitored: n,
                again: again > 0,
                cpu,
                idle: idle.filter(|_| again == 0),
                frames_per_sec,
                late,
                worst_gap_ms,
                bursts,
            });
            if !stalled {
                break;
            }
        }
        // Capacity stops at the first late frame, once the per-call
        // steps are done.
        if steps.last().is_some_and(|s| s.late > 0) && n >= per_call_calls {
            break;
        }
    }
    drop(gateway);
    Load { clk_tck, steps }
}

/// Places calls (agents ag-1…, team billing) until there are `n`, each
/// waited for on the client's floor; the first one's customer says
/// `BURSTS`.
async fn place_calls(
    asterisk: &Asterisk,
    format: &str,
    client: &mut Client,
    calls: &mut Vec<String>,
    n: usize,
) {
    while calls.len() < n {
        let agent = format!("ag-{}", calls.len() + 1);
        let audio = CallAudio {
            customer_says: calls.is_empty().then_some(BURSTS),
            format: Some(format),
        };
        asterisk
            .place_call_with(&agent, "billing", "support", audio)
            .await;
        calls.push(call_of(client, &agent).await);
    }
}

/// The customer and agent tracks of `calls`.
fn party_tracks(client: &Client, calls: &[String]) -> Vec<u32> {
    calls
        .iter()
        .flat_map(|id| {
            let call = &client.floor.calls[id];
            [Role::Customer, Role::Agent].map(|role| call.leg_with_role(role).unwrap().track)
        })
        .collect()
}

/// Late frames on `tracks` among the frames read since `from`, and the
/// longest gap between two frames of a track (ms).
fn lateness(client: &Client, tracks: &[u32], from: Instant) -> (usize, f64) {
    let mut by_track: BTreeMap<u32, Vec<(Instant, u32)>> =
        tracks.iter().map(|t| (*t, Vec::new())).collect();
    for heard in client.audio.iter().filter(|h| h.at >= from) {
        let header = AudioFrame::decode(&heard.bytes).unwrap().header;
        if let Some(frames) = by_track.get_mut(&header.track) {
            frames.push((heard.at, header.seq));
        }
    }
    let mut late = 0;
    let mut worst = 0.0_f64;
    for frames in by_track.values() {
        if frames.is_empty() {
            late += 1;
        }
        for pair in frames.windows(2) {
            let ((a, seq_a), (b, seq_b)) = (pair[0], pair[1]);
            let gap = ms_between(a, b);
            worst = worst.max(gap);
            if gap > LATE_GAP_MS {
                late += 1;
            }
            // A missing (or repeated) seq: every frame it skipped is late.
            let step = seq_b.wrapping_sub(seq_a);
            if step != 1 {
                late += step.saturating_sub(1).max(1) as usize;
            }
        }
    }
    (late, worst)
}

struct Pids {
    gateway: u32,
    asterisk: u32,
    bench: u32,
    clk_tck: f64,
}

impl Pids {
    /// Waits (reading) until the rest of the machine has used under
    /// `QUIET_OTHERS` for a second, or `QUIET_PATIENCE` has passed: the
    /// machine is shared, and others' work slows ours.
    async fn quiet(&self, client: &mut Client) {
        let deadline = Instant::now() + QUIET_PATIENCE;
        while self.measure(client, Duration::from_secs(1)).await.others() > QUIET_OTHERS
            && Instant::now() < deadline
        {}
    }

    /// CPU over `span` while `client` reads.
    async fn measure(&self, client: &mut Client, span: Duration) -> Cpu {
        let before = (
            process_ticks(self.gateway),
            process_ticks(self.asterisk),
            process_ticks(self.bench),
            machine_ticks(),
        );
        let started = Instant::now();
        client.pump(span).await;
        let seconds = started.elapsed().as_secs_f64();
        let share = |from: u64, to: u64| (to - from) as f64 / self.clk_tck / seconds * 100.0;
        let busy = machine_ticks();
        Cpu {
            gateway: share(before.0, process_ticks(self.gateway)),
            asterisk: share(before.1, process_ticks(self.asterisk)),
            bench: share(before.2, process_ticks(self.bench)),
            machine: share(before.3, busy),
        }
    }
}

/// utime + stime of a process so far, in clock ticks (Linux).
fn process_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the command name (in parentheses): utime and stime are the
    // 12th and 13th fields.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Busy ticks of the whole machine so far (the `cpu` line of /proc/stat:
/// all but idle and iowait).
fn machine_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let line = stat.lines().next().unwrap();
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    values.iter().take(8).sum::<u64>() - values[3] - values[4]
}

/// `getconf CLK_TCK`: the unit of /proc's CPU times.
fn clk_tck() -> f64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

// ---------------------------------------------------------------- report

fn report(plan: &Plan, delay: &Bursts, load: &Load) {
    let cpus = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpus
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']))
        .unwrap_or("?");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "floorwalk gateway against Asterisk 22 ({}; calls in {}; {cores} cores, {model}; CLK_TCK {})",
        if plan.quick {
            "QUICK run: not for the record"
        } else {
            "full run"
        },
        plan.format,
        load.clk_tck
    );
    println!();
    println!("| delay | figure | target |");
    println!("|---|---|---|");
    let target_met = |ok: bool| if ok { "✔" } else { "✘ missed" };
    let p95 = delay.percentile(0.95);
    println!(
        "| gateway-added delay, one monitored call, {} burst onsets ({} heard by the bench) | median {:.1} ms, p95 {:.1} ms, max {:.1} ms (min {:.1}) | ≤ 25 ms p95 {} |",
        delay.delays.len(),
        delay.heard,
        delay.percentile(0.5),
        p95,
        delay.percentile(1.0),
        delay.percentile(0.0),
        target_met(p95 <= 25.0)
    );
    println!(
        "| where the onset lies in its frame (median, from the frame's start) | bench's media channel {:.1} ms; client, decoded {:.1} ms | |",
        delay.place.0, delay.place.1
    );
    println!(
        "| longest gap between frames: at the client, at the bench's media channel (Asterisk's delivery) | {:.0} ms, {:.0} ms | |",
        delay.client_gap_ms, delay.listener_gap_ms
    );
    println!();
    println!(
        "| monitored calls | gateway: idle → monitoring | per call | Asterisk: idle → monitoring | per call | other load: idle, monitoring | target |"
    );
    println!("|---|---|---|---|---|---|---|");
    for step in &load.steps {
        let Some(idle) = step.idle else { continue };
        let n = step.monitored as f64;
        let per_call = (step.cpu.gateway - idle.gateway) / n;
        println!(
            "| {} | {:.1} % → {:.1} % | **{:.2} %** | {:.1} % → {:.1} % | {:.2} % | {:.0} %, {:.0} % | ≤ 2 % per call {} |",
            step.monitored,
            idle.gateway,
            step.cpu.gateway,
            per_call,
            idle.asterisk,
            step.cpu.asterisk,
            (step.cpu.asterisk - idle.asterisk) / n,
            idle.others(),
            step.cpu.others(),
            target_met(per_call <= 2.0)
        );
    }
    println!();
    println!(
        "| monitored calls | frames/s to the client | gateway | Asterisk | bench | other load | late frames | longest gap, any track | first call's customer, longest gap: client, Asterisk → bench | gateway-added delay, first call: median, p95, max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for step in &load.steps {
        let bursts = &step.bursts;
        println!(
            "| {}{} | {:.0} | {:.1} % | {:.1} % | {:.1} % | {:.0} % | {} | {:.0} ms | {:.0} ms, {:.0} ms | {:.1}, {:.1}, {:.1} ms ({} onsets) |",
            step.monitored,
            if step.again { " (again)" } else { "" },
            step.frames_per_sec,
            step.cpu.gateway,
            step.cpu.asterisk,
            step.cpu.bench,
            step.cpu.others(),
            step.late,
            step.worst_gap_ms,
            bursts.client_gap_ms,
            bursts.listener_gap_ms,
            bursts.percentile(0.5),
            bursts.percentile(0.95),
            bursts.percentile(1.0),
            bursts.delays.len()
        );
    }
    for step in load.steps.iter().filter(|s| s.bursts.odd_sized > 0) {
        println!(
            "({} monitored: {} messages from Asterisk to the bench's media channel were not one 20 ms frame)",
            step.monitored, step.bursts.odd_sized
        );
    }
    println!();
    // Each N's last span decides.
    let last_spans: Vec<&Step> = load
        .steps
        .iter()
        .enumerate()
        .filter(|(i, _)| load.steps.get(i + 1).is_none_or(|next| !next.again))
        .map(|(_, s)| s)
        .collect();
    let first_late = last_spans.iter().position(|s| s.late > 0);
    let clean = &last_spans[..first_late.unwrap_or(last_spans.len())];
    match (clean.last(), first_late) {
        (Some(step), Some(late)) => println!(
            "capacity: {} monitored calls with no late frame (a late frame at {}); there the gateway used {:.1} % and Asterisk {:.1} % of a core",
            step.monitored, last_spans[late].monitored, step.cpu.gateway, step.cpu.asterisk
        ),
        (Some(step), None) => println!(
            "capacity: no late frame up to the ceiling, {} monitored calls; there the gateway used {:.1} % and Asterisk {:.1} % of a core",
            step.monitored, step.cpu.gateway, step.cpu.asterisk
        ),
        (None, _) => println!("capacity: a late frame already at {}", plan.steps[0]),
    }
    println!();
    println!(
        "command: FLOORWALK_ASTERISK={} cargo bench --bench gateway{}",
        std::env::var("FLOORWALK_ASTERISK").unwrap_or_else(|_| "PREFIX".to_owned()),
        if plan.quick {
            " (with FLOORWALK_BENCH_QUICK=1)"
        } else {
            ""
        }
    );
}
