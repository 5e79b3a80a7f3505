//! `floorwalk calibrate`: joins calls of the supervisor's teams in each
//! mode, leaves each, and measures what a quality team checks of a voice
//! vendor: how fast the server answers, how long after the disconnect key
//! the leg is gone (`leg_left`) and its audio stops, that no microphone
//! frame leaves after the key, that recording stays on and the call goes
//! on, and the server's clock against ours. It prints a table and a
//! verdict per check (as `doctor` does), or JSON, and keeps what it
//! measured as the server's calibration file, which `floorwalk report
//! --calibration` uses (docs/audit.md).
//!
//! The microphone goes through the console's own path: the [`Capture`]
//! encoder behind a [`TransmitGate`] that the key closes, and the feed,
//! which checks the gate again before each frame goes on the socket.

mod measure;

use super::doctor::verdict::{Report, Verdict};
use super::doctor::{server, token};
use super::{ServerArgs, runtime};
use anyhow::Context as _;
use clap::Args;
use floorwalk_audio::capture::{Capture, TransmitGate};
use floorwalk_audio::{FRAME_DURATION, FRAME_SAMPLES, signal::sine};
use floorwalk_console::audit::{Calibration, calibration_file, default_calibration_dir};
use floorwalk_console::feed::{FeedEvent, FeedHandle};
use floorwalk_protocol::{
    CallEndReason, ClientMessage, Mode, MonitorResult, ServerMessage, Timestamp,
};
use floorwalk_state::Floor;
use measure::{Aftermath, ClockReading, Sample, Stats};
use serde::Serialize;
use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long to wait for a call of my teams to join.
const CALL_WAIT: Duration = Duration::from_secs(15);
/// How long to wait for a reply, or for our `leg_left`.
const ANSWER_WAIT: Duration = Duration::from_secs(15);
/// How long to stay on a call before the key (talking in whisper and barge).
const HOLD: Duration = Duration::from_millis(1200);
/// How long to keep listening after `leg_left` for audio that should not come.
const AFTER_LEFT: Duration = Duration::from_millis(300);
/// Downstream frames waiting for the measurement.
const AUDIO_QUEUE: usize = 4096;
/// The microphone's tone in whisper and barge: above where voices carry
/// energy, so a recording of what the agent heard shows each frame of it.
const MIC_TONE_HZ: f32 = 2300.0;

#[derive(Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// How many calls to join in each mode.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    calls: u32,
    /// The modes to join in, in order.
    #[arg(long, value_delimiter = ',', default_value = "silent,whisper,barge", value_parser = parse_mode)]
    modes: Vec<Mode>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// A table of the measures and a verdict line per check
    Table,
    /// One object with the measures, the checks and every join
    Json,
}

fn parse_mode(text: &str) -> Result<Mode, String> {
    Mode::ALL
        .into_iter()
        .find(|m| m.as_str() == text.trim())
        .ok_or_else(|| format!("`{text}` is not a mode: silent, whisper or barge"))
}

pub fn calibrate(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    let config = args.server.load_config()?;
    let json = args.format == Format::Json;
    let mut report = if json {
        Report::quiet()
    } else {
        Report::default()
    };
    let (verdict, token) = token::check_token(&config);
    report.say("token", verdict);
    let url = args.server.url(&config);
    let options = match server::options(&config, url.clone(), token) {
        Ok(options) => options,
        Err(verdict) => {
            report.say("server", verdict);
            return finish(&report, json);
        }
    };
    let url = options.url.clone();
    let (audio_tx, audio) = mpsc::channel(AUDIO_QUEUE);
    let gate = TransmitGate::default();
    let options = floorwalk_console::feed::FeedOptions {
        audio_in: Some(audio_tx),
        audio_gate: Some(gate.clone()),
        ..options
    };
    let (samples, clock, hello_server) = runtime()?
        .block_on(async {
            let (feed, events, hello) = server::connect(options, &mut report).await?;
            let mut run = Run {
                feed,
                events,
                audio,
                gate,
                floor: Floor::default(),
                readings: vec![ClockReading {
                    server: hello.now,
                    ours: Timestamp::now(),
                }],
                me: hello.supervisor.id.clone(),
                teams: hello.supervisor.teams.clone(),
                used: HashSet::new(),
                next_req: 0,
            };
            let mut samples = Vec::new();
            'modes: for &mode in &args.modes {
                for _ in 0..args.calls {
                    match run.sample(mode).await {
                        Ok(sample) => samples.push(sample),
                        Err(why) => {
                            report.say("calls", Verdict::Unverified(why));
                            break 'modes;
                        }
                    }
                }
            }
            run.feed.shutdown();
            Some((samples, measure::Clock::of(&run.readings), hello.server))
        })
        .map_or((Vec::new(), None, None), |(s, c, h)| (s, c, Some(h)));
    let Some(server_name) = hello_server else {
        return finish(&report, json);
    };
    let measures = measure::measures(&samples, clock.as_ref());
    if !json {
        print_table(&url, &server_name, &samples, &measures);
    }
    for (name, verdict) in measure::checks(&samples, clock.as_ref()) {
        report.say(name, verdict);
    }
    let median = |name: &str| {
        measures
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, s)| s.map(|s| s.median))
    };
    let saved = match (&clock, samples.iter().any(|s| s.failure.is_none())) {
        (Some(clock), true) => {
            let calibration = Calibration {
                server: url.clone(),
                measured_at: Timestamp::now(),
                calls: samples.iter().filter(|s| s.failure.is_none()).count() as u64,
                clock_offset_ms: clock.offset_ms,
                drift_ppm: clock.drift_ppm.unwrap_or(0.0),
                release_ms: median("key to leg_left ms"),
                last_audio_ms: median("key to last audio ms"),
            };
            let written = default_calibration_dir()
                .context("cannot find the platform data directory for the calibration")
                .map(|dir| calibration_file(&dir, &url))
                .and_then(|path| calibration.save(&path).map(|()| path));
            match written {
                Ok(path) => {
                    report.say(
                        "calibration",
                        Verdict::Ok(format!("written to {}", path.display())),
                    );
                    Some(path)
                }
                Err(e) => {
                    report.say("calibration", Verdict::Failed(format!("{e:#}")));
                    None
                }
            }
        }
        _ => {
            let why = "nothing measured: no calibration written".to_owned();
            report.say("calibration", Verdict::Unverified(why));
            None
        }
    };
    if json {
        let out = JsonOut {
            server: &url,
            server_name: &server_name,
            measures: measures
                .iter()
                .map(|(name, stats)| JsonMeasure {
                    name,
                    stats: *stats,
                })
                .collect(),
            clock: clock.as_ref(),
            checks: report.said(),
            calibration_file: saved.as_ref().map(|p| p.display().to_string()),
            samples: &samples,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(exit_code(&report))
}

/// Ends a run that could not measure: JSON still says why.
fn finish(report: &Report, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        let out = serde_json::json!({ "checks": report.said() });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(exit_code(report))
}

fn exit_code(report: &Report) -> ExitCode {
    if report.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn print_table(url: &str, server: &str, samples: &[Sample], measures: &[(&str, Option<Stats>)]) {
    let modes: Vec<String> = {
        let mut seen = Vec::new();
        for s in samples {
            if !seen.contains(&s.mode) {
                seen.push(s.mode);
            }
        }
        seen.iter().map(ToString::to_string).collect()
    };
    println!(
        "calibrate  {url} ({server}): {} joins ({})",
        samples.len(),
        modes.join(", ")
    );
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>4}",
        "MEASURE", "MEDIAN", "P95", "MAX", "N"
    );
    for (name, stats) in measures {
        match stats {
            Some(s) => println!(
                "{name:<22} {:>9.1} {:>9.1} {:>9.1} {:>4}",
                s.median, s.p95, s.max, s.n
            ),
            None => println!("{name:<22} {:>9} {:>9} {:>9} {:>4}", "-", "-", "-", 0),
        }
    }
    println!();
}

#[derive(Serialize)]
struct JsonOut<'a> {
    server: &'a str,
    server_name: &'a str,
    measures: Vec<JsonMeasure<'a>>,
    clock: Option<&'a measure::Clock>,
    checks: Vec<serde_json::Value>,
    calibration_file: Option<String>,
    samples: &'a [Sample],
}

#[derive(Serialize)]
struct JsonMeasure<'a> {
    name: &'a str,
    #[serde(flatten)]
    stats: Option<Stats>,
}

/// Something that arrived, and when.
enum Arrival {
    Event(FeedEvent),
    Audio,
}

/// One calibration run on an open feed.
struct Run {
    feed: FeedHandle,
    events: mpsc::Receiver<FeedEvent>,
    audio: mpsc::Receiver<Vec<u8>>,
    gate: TransmitGate,
    floor: Floor,
    readings: Vec<ClockReading>,
    me: String,
    teams: Vec<String>,
    /// Calls joined so far: each join takes a new one while there are.
    used: HashSet<String>,
    next_req: u64,
}

impl Run {
    /// The next event or audio frame before `deadline`; the floor and the
    /// clock readings follow every message.
    async fn next(&mut self, deadline: Instant) -> Result<Option<(Arrival, Instant)>, String> {
        // Audio first: a frame the socket carried before an event is read
        // before that event (each channel keeps the socket's order).
        let arrival = tokio::select! {
            biased;
            Some(_) = self.audio.recv() => Arrival::Audio,
            event = self.events.recv() => match event {
                Some(event) => Arrival::Event(event),
                None => return Err("the connection stopped".into()),
            },
            () = tokio::time::sleep_until(deadline) => return Ok(None),
        };
        let at = Instant::now();
        if let Arrival::Event(FeedEvent::Message(message)) = &arrival {
            if let Some(server) = server_time(message, &self.me) {
                self.readings.push(ClockReading {
                    server,
                    ours: Timestamp::now(),
                });
            }
            self.floor.apply(message.clone());
        }
        if let Arrival::Event(FeedEvent::Fatal(why)) = &arrival {
            return Err(why.clone());
        }
        Ok(Some((arrival, at)))
    }

    /// The newest call of my teams that I have not joined yet (or any call
    /// of my teams when all have been), waiting for one.
    async fn pick_call(&mut self) -> Result<String, String> {
        let deadline = Instant::now() + CALL_WAIT;
        loop {
            if self.floor.last_seq.is_some() {
                let mine = |call: &&floorwalk_protocol::Call| {
                    self.floor
                        .agents
                        .get(&call.agent_id)
                        .is_some_and(|a| self.teams.contains(&a.team))
                };
                let calls: Vec<_> = self.floor.calls.values().filter(mine).collect();
                let fresh = calls.iter().filter(|c| !self.used.contains(&c.id));
                let newest = fresh
                    .max_by_key(|c| (c.started_at, c.id.clone()))
                    .or_else(|| calls.iter().max_by_key(|c| (c.started_at, c.id.clone())));
                if let Some(call) = newest {
                    return Ok(call.id.clone());
                }
            }
            if self.next(deadline).await?.is_none() {
                return Err(format!(
                    "no call in your teams ({}) within {} s",
                    self.teams.join(", "),
                    CALL_WAIT.as_secs()
                ));
            }
        }
    }

    fn req(&mut self, what: &str) -> String {
        self.next_req += 1;
        format!("calibrate-{what}-{}", self.next_req)
    }

    /// Waits for the reply to `req`: its outcome and latency in ms.
    async fn reply(&mut self, req: &str) -> Result<(serde_json::Value, f64), String> {
        let deadline = Instant::now() + ANSWER_WAIT;
        loop {
            match self.next(deadline).await? {
                Some((
                    Arrival::Event(FeedEvent::Reply {
                        req: got,
                        outcome,
                        latency,
                    }),
                    _,
                )) if got == req => {
                    let ms = latency.as_secs_f64() * 1000.0;
                    return outcome.map(|v| (v, ms)).map_err(|e| e.to_string());
                }
                Some(_) => {}
                None => return Err(format!("no reply within {} s", ANSWER_WAIT.as_secs())),
            }
        }
    }

    /// Joins a call in `mode`, stays, leaves, and measures it all. An
    /// `Err` ends the run (no call, a lost connection); a join the server
    /// refused is a sample with its failure.
    async fn sample(&mut self, mode: Mode) -> Result<Sample, String> {
        let call_id = self.pick_call().await?;
        self.used.insert(call_id.clone());
        let mut sample = Sample::new(mode, &call_id);
        let req = self.req("join");
        self.feed.send(ClientMessage::Monitor {
            req: req.clone(),
            call_id: call_id.clone(),
            mode,
            announce: false,
        });
        let joined = match self.reply(&req).await {
            Ok((result, ms)) => {
                sample.join_reply_ms = Some(ms);
                serde_json::from_value::<MonitorResult>(result).map_err(|e| e.to_string())
            }
            Err(why) => Err(why),
        };
        let leg = match joined {
            Ok(leg) => leg,
            Err(why) => {
                sample.failure = Some(format!("cannot join: {why}"));
                return Ok(sample);
            }
        };
        sample.leg_id = Some(leg.leg_id.clone());
        let recording_before = self.floor.calls.get(&call_id).map(|c| c.recording);

        // Stay, talking in whisper and barge through the console's own
        // microphone path.
        let handed: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let talking = mode.transmits().then(|| {
            self.gate.set(Some(leg.track));
            tokio::spawn(microphone(
                self.feed.clone(),
                self.gate.clone(),
                Arc::clone(&handed),
            ))
        });
        let hold_until = Instant::now() + HOLD;
        while self.next(hold_until).await?.is_some() {}

        // The key: the gate closes first, as the console's does.
        self.gate.set(None);
        let key = Instant::now();
        let req = self.req("leave");
        self.feed.send(ClientMessage::Disconnect {
            req: req.clone(),
            leg_id: leg.leg_id.clone(),
        });
        let deadline = key + ANSWER_WAIT;
        let mut left_at: Option<Instant> = None;
        let mut ended: Option<CallEndReason> = None;
        let mut last_audio: Option<Instant> = None;
        let mut replied = false;
        loop {
            // Once answered and gone, listen a little longer for audio
            // that should not come.
            let until = match left_at {
                Some(at) if replied => at + AFTER_LEFT,
                _ => deadline,
            };
            let Some((arrival, at)) = self.next(until).await? else {
                break;
            };
            match arrival {
                Arrival::Audio => match left_at {
                    Some(_) => sample.audio_after_left += 1,
                    None => last_audio = Some(at),
                },
                Arrival::Event(FeedEvent::Reply {
                    req: got,
                    outcome,
                    latency,
                }) if got == req => {
                    replied = true;
                    match outcome {
                        Ok(_) => sample.leave_reply_ms = Some(latency.as_secs_f64() * 1000.0),
                        Err(e) => sample.failure = Some(format!("cannot leave: {e}")),
                    }
                }
                Arrival::Event(FeedEvent::Message(ServerMessage::LegLeft(left)))
                    if left.leg_id == leg.leg_id =>
                {
                    left_at = Some(at);
                }
                Arrival::Event(FeedEvent::Message(ServerMessage::CallEnded(end)))
                    if end.call_id == call_id =>
                {
                    ended = Some(end.reason);
                    // Its legs have left with it.
                    left_at.get_or_insert(at);
                }
                Arrival::Event(_) => {}
            }
        }
        if let Some(task) = talking {
            task.abort();
        }
        let handed = handed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        sample.mic_before_key = handed.iter().filter(|t| **t <= key).count() as u64;
        sample.mic_after_key = handed.iter().filter(|t| **t > key).count() as u64;
        let ms = |t: Instant| t.saturating_duration_since(key).as_secs_f64() * 1000.0;
        sample.release_ms = left_at.filter(|_| ended.is_none()).map(ms);
        sample.last_audio_ms = last_audio.map(ms);
        sample.aftermath = Some(match (ended, self.floor.calls.get(&call_id)) {
            (Some(CallEndReason::EndedBySupervisor), _) => Aftermath::EndedWithLeave,
            (Some(_), _) | (None, None) => Aftermath::EndedOnItsOwn,
            (None, Some(call)) if Some(call.recording) == recording_before => Aftermath::WentOn,
            (None, Some(_)) => Aftermath::RecordingChanged,
        });
        if left_at.is_none() && sample.failure.is_none() {
            sample.failure = Some(format!(
                "no leg_left for {} within {} s",
                leg.leg_id,
                ANSWER_WAIT.as_secs()
            ));
        }
        Ok(sample)
    }
}

/// A microphone talking a tone, one frame per 20 ms, through the encoder
/// and gate the console uses; notes when each frame was handed on.
async fn microphone(feed: FeedHandle, gate: TransmitGate, handed: Arc<Mutex<Vec<Instant>>>) {
    let Ok(mut capture) = Capture::new() else {
        return;
    };
    let tone = sine(MIC_TONE_HZ, 0.3, FRAME_SAMPLES as usize);
    let mut pace = tokio::time::interval(FRAME_DURATION);
    loop {
        pace.tick().await;
        let sent = capture.process(&tone, &gate, |frame| {
            feed.send_audio(frame);
            // Under the gate's lock: after a closed gate, never.
            handed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Instant::now());
        });
        if sent.is_err() {
            return;
        }
    }
}

/// The server's time a message tells of "now": hello's, and the times of
/// leg and call changes (which the server stamps as it sends them).
fn server_time(message: &ServerMessage, me: &str) -> Option<Timestamp> {
    match message {
        ServerMessage::LegJoined(joined) if joined.leg.user_id.as_deref() == Some(me) => {
            Some(joined.leg.joined_at)
        }
        ServerMessage::LegChanged(changed) => Some(changed.at),
        ServerMessage::LegLeft(left) => Some(left.at),
        ServerMessage::CallEnded(ended) => Some(ended.at),
        _ => None,
    }
}
