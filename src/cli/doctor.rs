//! `floorwalk doctor`: the token, the server, the audio output and input,
//! and a round trip through the server, each checked with a verdict.
//!
//! The round trip joins a call of the supervisor's teams in whisper, sends
//! one second of a 1 kHz tone on the leg, and leaves. Whether the agent
//! heard it can only be seen where the server records what each party
//! heard: the floorwalk simulator started with `--record-dir DIR` writes
//! `DIR/<call_id>-agent.wav` and `DIR/<call_id>-customer.wav` (48 kHz mono
//! 16-bit). With the same `--record-dir DIR` here, the tone is looked for
//! in the agent's file, and must be absent from the customer's.
//!
//! The exit code is 1 when a check failed: no token, no server, a refused
//! login, a round trip that went wrong. Audio that cannot be used is a
//! warning, as the console runs on without it.

use super::{AudioArgs, feed_options, runtime, server_label};
use clap::Args;
use floorwalk_audio::clock::{Clock, SystemClock};
use floorwalk_audio::codec::Encoder;
use floorwalk_audio::endpoint::{Endpoint, Sink};
use floorwalk_audio::open::{open_input, open_output};
use floorwalk_audio::signal::{Level, best_correlation, sine};
use floorwalk_audio::wav::load_wav;
use floorwalk_audio::{FRAME_DURATION, FRAME_SAMPLES, SAMPLE_RATE};
use floorwalk_console::config::Config;
use floorwalk_console::feed::{self, FeedEvent, FeedHandle, FeedOptions};
use floorwalk_protocol::{
    AudioFrame, ClientMessage, FLAG_SPURT_END, FLAG_SPURT_START, FrameHeader, Hello, Mode,
    MonitorResult,
};
use floorwalk_state::Floor;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The test tone: 1 kHz, half scale, one second of 20 ms frames.
const TONE_HZ: f32 = 1000.0;
const TONE_AMPLITUDE: f32 = 0.5;
const TONE_FRAMES: usize = 50;
/// How long the server may take to say hello.
const HELLO_WAIT: Duration = Duration::from_secs(8);
/// How long to wait for a call in the supervisor's teams to appear.
const CALL_WAIT: Duration = Duration::from_secs(10);
/// The longest wait for a reply (the feed times commands out before this).
const REPLY_WAIT: Duration = Duration::from_secs(15);
/// How long the recording may take to show the tone.
const RECORDING_WAIT: Duration = Duration::from_secs(10);
/// How long a device microphone is listened to.
const MIC_LISTEN: Duration = Duration::from_millis(400);

#[derive(Args)]
pub struct DoctorArgs {
    #[arg(long)]
    server: Option<String>,
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    audio: AudioArgs,
    /// The simulator's --record-dir: the round trip then checks that the
    /// agent heard the test tone and the customer did not.
    #[arg(long, value_name = "DIR")]
    record_dir: Option<PathBuf>,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok(String),
    Failed(String),
    /// Audio that cannot be used: the console runs on without it (plays to
    /// none, or cannot talk), so the exit code stays 0.
    Warning(String),
    /// Neither proven nor disproven; the text says why.
    Unverified(String),
}

impl Verdict {
    fn line(&self, what: &str) -> String {
        let (word, detail) = match self {
            Verdict::Ok(detail) => ("OK", detail),
            Verdict::Failed(detail) => ("FAILED", detail),
            Verdict::Warning(detail) => ("WARNING", detail),
            Verdict::Unverified(detail) => ("UNVERIFIED", detail),
        };
        format!("{what:<10} {word:<10} {detail}")
    }
}

/// Prints verdicts as they come and remembers whether any failed.
#[derive(Default)]
struct Report {
    failed: bool,
}

impl Report {
    fn say(&mut self, what: &str, verdict: Verdict) {
        self.failed |= matches!(verdict, Verdict::Failed(_));
        println!("{}", verdict.line(what));
    }
}

pub fn doctor(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    let mut report = Report::default();
    for warning in config.warnings() {
        report.say("config", Verdict::Warning(warning.clone()));
    }
    let server = args.server.clone().or_else(|| config.server.clone());
    let token = match config.resolve_token() {
        Ok(token) => {
            report.say("token", Verdict::Ok("found (not shown)".into()));
            Some(token)
        }
        Err(err) => {
            report.say("token", Verdict::Failed(err.to_string()));
            None
        }
    };
    let connection = match (&server, token) {
        (None, _) => {
            report.say(
                "server",
                Verdict::Failed(
                    "no server: pass --server URL or set `server` in the config".into(),
                ),
            );
            None
        }
        (Some(_), None) => {
            report.say(
                "server",
                Verdict::Unverified("not tried without a token".into()),
            );
            None
        }
        (Some(url), Some(token)) => Some(feed_options(&config, url.clone(), token)),
    };
    let (output, input) = args.audio.endpoints(&config);
    let runtime = runtime()?;
    runtime.block_on(async {
        let feed = match connection {
            Some(options) => connect(options, &mut report).await,
            None => None,
        };
        report.say("output", check_output(&output));
        report.say("input", check_input(&input));
        let verdict = match feed {
            Some((handle, mut events, hello)) => {
                let verdict =
                    round_trip(&handle, &mut events, &hello, args.record_dir.as_deref()).await;
                handle.shutdown();
                verdict
            }
            None => Verdict::Unverified("no connection to the server".into()),
        };
        report.say("round trip", verdict);
    });
    Ok(if report.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

type Connection = (FeedHandle, mpsc::Receiver<FeedEvent>, Hello);

/// Connects and says how it went ("server" and "login").
async fn connect(options: FeedOptions, report: &mut Report) -> Option<Connection> {
    let label = server_label(&options.url);
    let (handle, mut events) = match feed::spawn(options) {
        Ok(feed) => feed,
        Err(err) => {
            report.say("server", Verdict::Failed(format!("{label}: {err}")));
            return None;
        }
    };
    let deadline = tokio::time::sleep(HELLO_WAIT);
    tokio::pin!(deadline);
    let outcome = loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(FeedEvent::Connected { hello, .. }) => break Ok(hello),
                Some(FeedEvent::Fatal(text)) => break Err(text),
                Some(FeedEvent::Connecting { attempt, last_error: Some(err), .. }) if attempt >= 2 => {
                    break Err(err)
                }
                Some(_) => {}
                None => break Err("the connection stopped".into()),
            },
            _ = &mut deadline => break Err(format!("no answer within {} s", HELLO_WAIT.as_secs())),
        }
    };
    match outcome {
        Ok(hello) => {
            report.say(
                "server",
                Verdict::Ok(format!("{label} answers: {}", hello.server)),
            );
            let me = &hello.supervisor;
            let teams = me.teams.join(", ");
            report.say("login", Verdict::Ok(format!("{} ({teams})", me.name)));
            Some((handle, events, hello))
        }
        Err(err) => {
            report.say("server", Verdict::Failed(format!("{label}: {err}")));
            handle.shutdown();
            None
        }
    }
}

/// Opens the output briefly (devices), or checks where a WAV would go.
fn check_output(endpoint: &Endpoint) -> Verdict {
    match endpoint {
        Endpoint::None => {
            Verdict::Ok("none: calls are not played (the console runs without sound)".into())
        }
        Endpoint::Wav(path) => wav_target(path),
        Endpoint::Default | Endpoint::Device(_) => match open_output(endpoint, 1) {
            Ok(mut sink) => {
                let held = match device_delay(sink.as_mut()) {
                    Some(delay) => format!(
                        "; it plays sound {:.0} ms after floorwalk hands it over",
                        delay.as_secs_f64() * 1e3
                    ),
                    None => "; it did not say how long it holds sound".to_owned(),
                };
                Verdict::Ok(format!("{endpoint}: opened {}{held}", sink.describe()))
            }
            Err(err) => Verdict::Warning(format!(
                "{endpoint}: {}. The console would play to none (see `floorwalk devices`, \
                 or use --audio-out none or wav:PATH)",
                sentence(&err.to_string())
            )),
        },
    }
}

/// Plays up to a second of silence and returns the median delay the device
/// reported between taking a frame and playing it (its own buffering, which
/// comes on top of floorwalk's: a Bluetooth headset may add 200 ms).
fn device_delay(sink: &mut dyn Sink) -> Option<Duration> {
    const FRAMES: usize = 10;
    let silence = vec![0.0; FRAME_SAMPLES as usize * sink.channels()];
    let start = Instant::now();
    let mut delays = Vec::new();
    while delays.len() < FRAMES && start.elapsed() < Duration::from_secs(1) {
        let due = sink.due(start.elapsed()).ok()?;
        for _ in 0..due.min(FRAMES as u64) {
            sink.write(&silence).ok()?;
            sink.tag(Duration::ZERO);
        }
        sink.measured(&mut |m| delays.push(m.played.saturating_sub(m.handed)));
        std::thread::sleep(Duration::from_millis(1));
    }
    delays.sort_unstable();
    delays.get(delays.len() / 2).copied()
}

/// A WAV output needs a directory it can write in; an existing file would
/// be overwritten, so it is not touched here.
fn wav_target(path: &Path) -> Verdict {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Verdict::Warning(format!(
            "wav:{}: the directory {} does not exist",
            path.display(),
            dir.display()
        ));
    }
    let probe = dir.join(format!(".floorwalk-doctor-{}", std::process::id()));
    let writable = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map(|_| std::fs::remove_file(&probe));
    match writable {
        Ok(_) if path.exists() => Verdict::Ok(format!(
            "wav:{} (it exists: the console will overwrite it)",
            path.display()
        )),
        Ok(_) => Verdict::Ok(format!("wav:{} can be written", path.display())),
        Err(err) => Verdict::Warning(format!(
            "wav:{}: cannot write in {}: {err}",
            path.display(),
            dir.display()
        )),
    }
}

/// An error's text without its final full stop, to go on after it.
fn sentence(text: &str) -> &str {
    text.trim_end().trim_end_matches('.')
}

/// Opens the microphone and listens briefly (devices), or reads the WAV.
fn check_input(endpoint: &Endpoint) -> Verdict {
    if let Endpoint::Wav(path) = endpoint {
        return match load_wav(path) {
            Ok(samples) => Verdict::Ok(format!(
                "wav:{}: {:.1} s of audio, played in a loop",
                path.display(),
                samples.len() as f64 / f64::from(SAMPLE_RATE)
            )),
            Err(err) => Verdict::Warning(err.to_string()),
        };
    }
    let mut source = match open_input(endpoint) {
        Ok(Some(source)) => source,
        Ok(None) => {
            return Verdict::Ok("none: push-to-talk cannot send anything".into());
        }
        Err(err) => {
            return Verdict::Warning(format!(
                "{endpoint}: {}. See `floorwalk devices`, or use --audio-in none or wav:PATH",
                sentence(&err.to_string())
            ));
        }
    };
    let clock = SystemClock::default();
    let mut frame = vec![0.0; FRAME_SAMPLES as usize];
    let mut level = Level::default();
    let mut frames = 0;
    while clock.now() < MIC_LISTEN {
        match source.read(clock.now(), &mut frame) {
            Ok(true) => {
                frames += 1;
                level = level.max(Level::of(&frame));
            }
            Ok(false) => std::thread::sleep(FRAME_DURATION / 4),
            Err(err) => return Verdict::Warning(format!("{endpoint}: {err}")),
        }
    }
    if frames == 0 {
        return Verdict::Warning(format!(
            "{endpoint}: opened {}, but no sound came in {} ms",
            source.describe(),
            MIC_LISTEN.as_millis()
        ));
    }
    Verdict::Ok(format!(
        "{endpoint}: {}, level {:.0} dBFS",
        source.describe(),
        level.rms_dbfs()
    ))
}

/// Joins a call in whisper, sends the test tone, leaves, and looks for the
/// tone in what the agent heard.
async fn round_trip(
    feed: &FeedHandle,
    events: &mut mpsc::Receiver<FeedEvent>,
    hello: &Hello,
    record_dir: Option<&Path>,
) -> Verdict {
    let mut floor = Floor::default();
    let Some(call_id) = wait_for_call(events, &mut floor, &hello.supervisor.teams).await else {
        return Verdict::Unverified(format!(
            "no call in your teams ({}) within {} s to test on",
            hello.supervisor.teams.join(", "),
            CALL_WAIT.as_secs()
        ));
    };
    feed.send(ClientMessage::Monitor {
        req: "doctor-join".into(),
        call_id: call_id.clone(),
        mode: Mode::Whisper,
    });
    let leg = match wait_for_reply(events, &mut floor, "doctor-join").await {
        Ok(result) => match serde_json::from_value::<MonitorResult>(result) {
            Ok(leg) => leg,
            Err(err) => {
                return Verdict::Failed(format!(
                    "the server's answer to joining is unclear: {err}"
                ));
            }
        },
        Err(why) => return Verdict::Failed(format!("could not join {call_id} in whisper: {why}")),
    };
    let sent = match tone_frames(leg.track) {
        Ok(frames) => send_paced(feed, frames).await,
        Err(why) => Err(why),
    };
    feed.send(ClientMessage::Disconnect {
        req: "doctor-leave".into(),
        leg_id: leg.leg_id.clone(),
    });
    if let Err(why) = wait_for_reply(events, &mut floor, "doctor-leave").await {
        return Verdict::Failed(format!(
            "COULD NOT LEAVE {call_id} (leg {}): {why}; the server drops it when its lease ends",
            leg.leg_id
        ));
    }
    let sent = match sent {
        Ok(sent) => sent,
        Err(why) => return Verdict::Failed(format!("could not send the test tone: {why}")),
    };
    let what = format!(
        "sent {sent} frames of a {TONE_HZ:.0} Hz tone in whisper on {call_id} (leg {}, track {}) and left",
        leg.leg_id, leg.track
    );
    match record_dir {
        None => Verdict::Unverified(format!(
            "{what}; whether the agent heard it needs --record-dir DIR (the simulator's)"
        )),
        Some(dir) => check_recordings(dir, &call_id, &what).await,
    }
}

/// The call to test on: the newest call of an agent in my teams.
fn pick_call(floor: &Floor, teams: &[String]) -> Option<String> {
    floor
        .calls
        .values()
        .filter(|call| {
            floor
                .agents
                .get(&call.agent_id)
                .is_some_and(|agent| teams.contains(&agent.team))
        })
        .max_by_key(|call| (call.started_at, call.id.clone()))
        .map(|call| call.id.clone())
}

/// Applies the feed's messages until a call in my teams is there.
async fn wait_for_call(
    events: &mut mpsc::Receiver<FeedEvent>,
    floor: &mut Floor,
    teams: &[String],
) -> Option<String> {
    let deadline = tokio::time::Instant::now() + CALL_WAIT;
    loop {
        if floor.last_seq.is_some()
            && let Some(call) = pick_call(floor, teams)
        {
            return Some(call);
        }
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(FeedEvent::Message(message))) => {
                floor.apply(message);
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}

/// Waits for the reply to `req`, keeping the floor up to date meanwhile.
async fn wait_for_reply(
    events: &mut mpsc::Receiver<FeedEvent>,
    floor: &mut Floor,
    req: &str,
) -> Result<serde_json::Value, String> {
    let deadline = tokio::time::Instant::now() + REPLY_WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(FeedEvent::Reply {
                req: got, outcome, ..
            })) if got == req => return outcome.map_err(|failure| failure.to_string()),
            Ok(Some(FeedEvent::Message(message))) => {
                floor.apply(message);
            }
            Ok(Some(_)) => {}
            Ok(None) => return Err("the connection stopped".into()),
            Err(_) => return Err(format!("no reply within {} s", REPLY_WAIT.as_secs())),
        }
    }
}

/// The test tone as wire frames on `track`: one talk spurt.
fn tone_frames(track: u32) -> Result<Vec<Vec<u8>>, String> {
    let mut encoder = Encoder::voip().map_err(|e| e.to_string())?;
    let per_frame = FRAME_SAMPLES as usize;
    let tone = sine(TONE_HZ, TONE_AMPLITUDE, per_frame * TONE_FRAMES);
    let mut frames = Vec::with_capacity(TONE_FRAMES);
    for (seq, samples) in (0u32..).zip(tone.chunks(per_frame)) {
        let mut flags = 0;
        if seq == 0 {
            flags |= FLAG_SPURT_START;
        }
        if seq as usize + 1 == TONE_FRAMES {
            flags |= FLAG_SPURT_END;
        }
        let opus = encoder.encode(samples).map_err(|e| e.to_string())?;
        let header = FrameHeader {
            flags,
            track,
            seq,
            timestamp: seq * FRAME_SAMPLES,
        };
        let frame = AudioFrame { header, opus }
            .encode()
            .map_err(|e| e.to_string())?;
        frames.push(frame);
    }
    Ok(frames)
}

/// Sends frames one per 20 ms, as a microphone would.
async fn send_paced(feed: &FeedHandle, frames: Vec<Vec<u8>>) -> Result<usize, String> {
    let mut pace = tokio::time::interval(FRAME_DURATION);
    let mut sent = 0;
    for frame in frames {
        pace.tick().await;
        if !feed.is_online() {
            return Err("the connection was lost".into());
        }
        feed.send_audio(frame);
        sent += 1;
    }
    Ok(sent)
}

/// Looks for the tone in what the agent heard, and for its absence in what
/// the customer heard.
async fn check_recordings(dir: &Path, call_id: &str, what: &str) -> Verdict {
    let agent = dir.join(format!("{call_id}-agent.wav"));
    let customer = dir.join(format!("{call_id}-customer.wav"));
    let deadline = Instant::now() + RECORDING_WAIT;
    let heard = loop {
        let heard = read_recording(&agent).map(|samples| contains_tone(&samples, TONE_HZ));
        if heard == Ok(true) || Instant::now() >= deadline {
            break heard;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    match heard {
        Ok(true) => {}
        Ok(false) => {
            return Verdict::Failed(format!(
                "{what}, but the agent's recording {} does not contain it",
                agent.display()
            ));
        }
        Err(_) if !agent.exists() => {
            return Verdict::Unverified(format!(
                "{what}, but {} did not appear: is the server a floorwalk simulator \
                 started with --record-dir {}?",
                agent.display(),
                dir.display()
            ));
        }
        Err(why) => return Verdict::Failed(format!("{what}, but {why}")),
    }
    let customer_heard = read_recording(&customer).is_ok_and(|s| contains_tone(&s, TONE_HZ));
    if customer_heard {
        return Verdict::Failed(format!(
            "{what}: the agent heard it, AND SO DID THE CUSTOMER ({}): whisper is not private",
            customer.display()
        ));
    }
    Verdict::Ok(format!(
        "{what}: the agent heard it, the customer did not ({})",
        dir.display()
    ))
}

/// Reads a 48 kHz mono 16-bit WAV that may still be being written: a data
/// chunk whose size is not filled in yet runs to the end of the file.
fn read_recording(path: &Path) -> Result<Vec<f32>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let bad = |why: &str| format!("{} is not a 48 kHz mono 16-bit WAV: {why}", path.display());
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(bad("no RIFF/WAVE header"));
    }
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut at = 12;
    let mut format_ok = false;
    while let (Some(id), Some(size)) = (bytes.get(at..at + 4), u32_at(at + 4)) {
        let body = at + 8;
        match id {
            b"fmt " => {
                let pcm = u16_at(body) == Some(1);
                let mono = u16_at(body + 2) == Some(1);
                let rate = u32_at(body + 4) == Some(SAMPLE_RATE);
                let bits = u16_at(body + 14) == Some(16);
                if !(pcm && mono && rate && bits) {
                    return Err(bad("another format"));
                }
                format_ok = true;
            }
            b"data" => {
                if !format_ok {
                    return Err(bad("data before format"));
                }
                let available = bytes.len() - body;
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                let len = if size == 0 || size > available {
                    available
                } else {
                    size
                };
                return Ok(bytes[body..body + len]
                    .chunks_exact(2)
                    .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
                    .collect());
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        at = body
            + usize::try_from(size)
                .unwrap_or(usize::MAX)
                .saturating_add(1)
                / 2
                * 2;
    }
    Err(bad("no data chunk"))
}

/// Whether a stretch of at least 0.2 s of the tone is in the samples: 20 ms
/// windows that match a sine of `hz` closely at their best phase.
fn contains_tone(samples: &[f32], hz: f32) -> bool {
    const MIN_WINDOWS: usize = 10;
    const MATCH: f32 = 0.8;
    let window = FRAME_SAMPLES as usize;
    let period = (SAMPLE_RATE as f32 / hz).ceil() as usize;
    let template = sine(hz, 1.0, window);
    samples
        .windows(window + period)
        .step_by(window)
        .filter(|stretch| best_correlation(&template, stretch, period).1 >= MATCH)
        .nth(MIN_WINDOWS - 1)
        .is_some()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use floorwalk_audio::codec::Decoder;
    use floorwalk_protocol::{Agent, AgentState, Call, Direction, Timestamp};
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    fn noise(seed: u64, amplitude: f32, len: usize) -> Vec<f32> {
        let mut rng = SmallRng::seed_from_u64(seed);
        (0..len)
            .map(|_| amplitude * (rng.random::<f32>() * 2.0 - 1.0))
            .collect()
    }

    #[test]
    fn the_tone_is_found_alone_and_under_speech_level_noise() {
        let second = SAMPLE_RATE as usize;
        let mut heard = vec![0.0; second / 2];
        heard.extend(sine(TONE_HZ, TONE_AMPLITUDE, second));
        heard.extend(vec![0.0; second / 2]);
        assert!(contains_tone(&heard, TONE_HZ));
        let noisy: Vec<f32> = heard
            .iter()
            .zip(noise(7, 0.1, heard.len()))
            .map(|(a, b)| a + b)
            .collect();
        assert!(contains_tone(&noisy, TONE_HZ));
    }

    #[test]
    fn no_tone_in_silence_noise_other_pitches_or_a_blip() {
        let second = SAMPLE_RATE as usize;
        assert!(!contains_tone(&vec![0.0; second], TONE_HZ));
        assert!(!contains_tone(&noise(3, 0.5, second), TONE_HZ));
        assert!(!contains_tone(&sine(440.0, 0.5, second), TONE_HZ));
        assert!(!contains_tone(&sine(TONE_HZ, 0.5, second / 10), TONE_HZ));
        assert!(!contains_tone(&[], TONE_HZ));
    }

    #[test]
    fn the_tone_frames_are_one_spurt_on_the_leg_and_decode_to_the_tone() {
        let frames = tone_frames(31).unwrap();
        assert_eq!(frames.len(), TONE_FRAMES);
        let mut decoder = Decoder::new().unwrap();
        let mut pcm = Vec::new();
        for (i, bytes) in frames.iter().enumerate() {
            let frame = AudioFrame::decode(bytes).unwrap();
            assert_eq!(frame.header.track, 31);
            assert_eq!(frame.header.seq as usize, i);
            assert_eq!(frame.header.timestamp, i as u32 * FRAME_SAMPLES);
            assert_eq!(frame.header.spurt_start(), i == 0);
            assert_eq!(frame.header.spurt_end(), i + 1 == TONE_FRAMES);
            let mut out = vec![0.0; FRAME_SAMPLES as usize];
            decoder.decode(frame.opus, &mut out).unwrap();
            pcm.extend(out);
        }
        assert!(contains_tone(&pcm, TONE_HZ));
    }

    fn wav_bytes(samples: &[i16], data_size: Option<u32>) -> Vec<u8> {
        let data_len = u32::try_from(samples.len() * 2).unwrap();
        let mut b = Vec::new();
        b.extend(b"RIFF");
        b.extend((36 + data_len).to_le_bytes());
        b.extend(b"WAVE");
        b.extend(b"fmt ");
        b.extend(16u32.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(SAMPLE_RATE.to_le_bytes());
        b.extend((SAMPLE_RATE * 2).to_le_bytes());
        b.extend(2u16.to_le_bytes());
        b.extend(16u16.to_le_bytes());
        b.extend(b"data");
        b.extend(data_size.unwrap_or(data_len).to_le_bytes());
        for s in samples {
            b.extend(s.to_le_bytes());
        }
        b
    }

    #[test]
    fn recordings_are_read_even_while_still_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-1-agent.wav");
        let samples = [0i16, 16384, -16384, 32767];
        std::fs::write(&path, wav_bytes(&samples, None)).unwrap();
        assert_eq!(
            read_recording(&path).unwrap(),
            [0.0, 0.5, -0.5, 32767.0 / 32768.0]
        );
        // A header not yet updated: the data runs to the end of the file.
        std::fs::write(&path, wav_bytes(&samples, Some(0))).unwrap();
        assert_eq!(read_recording(&path).unwrap().len(), 4);
        std::fs::write(&path, wav_bytes(&samples, Some(u32::MAX))).unwrap();
        assert_eq!(read_recording(&path).unwrap().len(), 4);
        // A hound-written file reads the same.
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&path, spec).unwrap();
        for s in samples {
            writer.write_sample(s).unwrap();
        }
        writer.finalize().unwrap();
        assert_eq!(read_recording(&path).unwrap().len(), 4);
    }

    #[test]
    fn odd_recordings_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wav");
        assert!(read_recording(&path).unwrap_err().contains("cannot read"));
        std::fs::write(&path, b"not a wav").unwrap();
        assert!(read_recording(&path).unwrap_err().contains("no RIFF"));
        let mut stereo = wav_bytes(&[0, 0], None);
        stereo[22] = 2;
        std::fs::write(&path, stereo).unwrap();
        assert!(
            read_recording(&path)
                .unwrap_err()
                .contains("another format")
        );
    }

    #[test]
    fn the_newest_call_in_my_teams_is_picked() {
        let agent = |id: &str, team: &str| Agent {
            id: id.into(),
            name: id.into(),
            team: team.into(),
            state: AgentState::OnCall,
            state_since: Timestamp(0),
            call_id: None,
        };
        let call = |id: &str, agent: &str, started: i64| Call {
            id: id.into(),
            agent_id: agent.into(),
            queue: None,
            direction: Direction::Inbound,
            customer: "+1".into(),
            started_at: Timestamp(started),
            recording: false,
            on_hold: false,
            legs: Vec::new(),
        };
        let mut floor = Floor::default();
        for a in [
            agent("a-1", "billing"),
            agent("a-2", "sales"),
            agent("a-3", "billing"),
        ] {
            floor.agents.insert(a.id.clone(), a);
        }
        for c in [
            call("c-1", "a-1", 100),
            call("c-2", "a-2", 300),
            call("c-3", "a-3", 200),
        ] {
            floor.calls.insert(c.id.clone(), c);
        }
        let teams = vec!["billing".to_owned()];
        assert_eq!(pick_call(&floor, &teams).as_deref(), Some("c-3"));
        assert_eq!(pick_call(&floor, &["support".to_owned()]), None);
    }

    #[test]
    fn verdict_lines_line_up() {
        assert_eq!(
            Verdict::Ok("fine".into()).line("output"),
            "output     OK         fine"
        );
        assert_eq!(
            Verdict::Unverified("why".into()).line("round trip"),
            "round trip UNVERIFIED why"
        );
    }

    #[test]
    fn wav_outputs_need_a_writable_directory() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("out.wav");
        assert!(matches!(wav_target(&new), Verdict::Ok(_)));
        std::fs::write(&new, b"x").unwrap();
        let Verdict::Ok(text) = wav_target(&new) else {
            panic!("an existing file is fine");
        };
        assert!(text.contains("overwrite"), "{text}");
        assert_eq!(std::fs::read(&new).unwrap(), b"x");
        let missing = dir.path().join("nope/out.wav");
        assert!(matches!(wav_target(&missing), Verdict::Warning(_)));
        assert!(matches!(check_output(&Endpoint::None), Verdict::Ok(_)));
        assert!(matches!(check_input(&Endpoint::None), Verdict::Ok(_)));
        assert!(matches!(
            check_input(&Endpoint::Wav(dir.path().join("missing.wav"))),
            Verdict::Warning(_)
        ));
    }
}
