//! The fuzz targets: each runs its generator through a proptest runner and
//! checks every case with `prop_assert!` (a panic fails the case too).

use super::audio::{
    JitterOp, PlaybackOp, TRACKS, Wire, frame_bytes, jitter_script, opus_packet, playback_script,
};
use super::corpus;
use super::events::{
    AppStep, BASE_MS, FIRST_MS, LAST_MS, app_step, seq_step, server_message, set_seq,
};
use super::mutate::{
    apply_json_edit, apply_line_edit, apply_text_edit, apply_toml_edit, json_edit, line_edit,
    text_edit, toml_edit,
};
use super::{Outcome, outcome};
use floorwalk_audio::FRAME_SAMPLES;
use floorwalk_audio::codec::Decoder;
use floorwalk_audio::jitter::{JitterBuffer, Playout, PushOutcome};
use floorwalk_audio::playback::{FrameRejected, Playback, TrackSpec};
use floorwalk_console::app::{App, AppSettings, Effect, Input, KeyMap};
use floorwalk_console::config::{Config, ConfigError, MAX_COMMAND_TIMEOUT_MS};
use floorwalk_console::feed::FeedEvent;
use floorwalk_protocol::{
    AudioFrame, ClientMessage, FrameError, FrameHeader, HEADER_LEN, MAX_BINARY_FRAME, Parsed,
    ServerMessage, Timestamp,
};
use floorwalk_state::{Applied, Floor, TRANSCRIPT_LINES};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{TestCaseError, TestRunner};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

const JSON_BRACKETS: &[(&str, &str)] = &[("[", "]"), ("{\"a\":", "}"), ("[{\"x\":[", "]}]")];
const TOML_BRACKETS: &[(&str, &str)] = &[("[", "]"), ("{ a = ", " }"), ("a.", ""), ("[[", "]]")];

/// Text frames: arbitrary text, JSON-ish soup, or a valid message damaged
/// as a document (types swapped, fields dropped or added, `type` changed)
/// and then as text (truncated, bit-flipped, huge numbers, bad escapes,
/// deep nesting).
fn json_text(seeds: &'static [&'static str]) -> impl Strategy<Value = String> {
    let seed = any::<Index>().prop_map(move |i| seeds[i.index(seeds.len())]);
    let mutated = (
        seed,
        vec(json_edit(), 0..3),
        vec(text_edit(JSON_BRACKETS), 0..3),
    )
        .prop_map(|(seed, doc_edits, text_edits)| {
            let mut text = if doc_edits.is_empty() {
                seed.to_owned()
            } else {
                let mut doc: serde_json::Value = serde_json::from_str(seed).unwrap();
                for edit in &doc_edits {
                    apply_json_edit(&mut doc, edit);
                }
                doc.to_string()
            };
            for edit in &text_edits {
                apply_text_edit(&mut text, edit);
            }
            text
        });
    prop_oneof![
        1 => any::<String>(),
        1 => "[\\[\\]{}\":,0-9a-z\\\\ .eE+-]{0,64}",
        1 => ("[a-z_]{0,12}", "[^}]{0,40}").prop_map(|(kind, rest)| format!("{{\"type\":\"{kind}\"{rest}}}")),
        8 => mutated,
    ]
}

/// A parsed message must print back to text that parses to the same message
/// (floats to within an ulp or two: serde_json's fast float parsing does not
/// always round correctly, and opaque `result` values may carry any).
fn round_trips<T, E>(
    message: &T,
    parse: impl Fn(&str) -> Result<Parsed<T>, E>,
) -> Result<(), TestCaseError>
where
    T: serde::Serialize + std::fmt::Debug,
    E: std::fmt::Debug,
{
    let text = floorwalk_protocol::to_text(message);
    match parse(&text) {
        Ok(Parsed::Known(again)) => {
            let (before, after) = (serde_json::to_value(message), serde_json::to_value(&again));
            prop_assert!(
                matches!((&before, &after), (Ok(a), Ok(b)) if same_json(a, b)),
                "{:?} printed as {} reads as {:?}",
                message,
                text,
                again
            );
        }
        other => prop_assert!(
            false,
            "{:?} printed as {} reads as {:?}",
            message,
            text,
            other
        ),
    }
    Ok(())
}

/// Equal JSON, floats compared to a relative 1e-12.
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

pub fn parse_server(runner: &mut TestRunner) -> Outcome {
    let seeds = corpus::server_messages();
    outcome(runner.run(&json_text(seeds), |text| {
        match floorwalk_protocol::parse_server(&text) {
            Ok(Parsed::Known(message)) => round_trips(&message, floorwalk_protocol::parse_server)?,
            Ok(Parsed::Unknown { kind }) => prop_assert!(
                !["hello", "snapshot", "agent", "reply", "leg_left"].contains(&kind.as_str()),
                "known type {} read as unknown",
                kind
            ),
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
        Ok(())
    }))
}

pub fn parse_client(runner: &mut TestRunner) -> Outcome {
    outcome(runner.run(&json_text(corpus::CLIENT_MESSAGES), |text| {
        match floorwalk_protocol::parse_client(&text) {
            Ok(Parsed::Known(message)) => round_trips(&message, floorwalk_protocol::parse_client)?,
            Ok(Parsed::Unknown { kind }) => prop_assert!(
                !["subscribe", "monitor", "set_mode", "disconnect", "end_call"]
                    .contains(&kind.as_str()),
                "known type {} read as unknown",
                kind
            ),
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
        Ok(())
    }))
}

pub fn audio_frame(runner: &mut TestRunner) -> Outcome {
    outcome(runner.run(&frame_bytes(), |bytes| {
        let len = bytes.len();
        match AudioFrame::decode(&bytes) {
            Ok(frame) => {
                prop_assert!((HEADER_LEN + 1..=MAX_BINARY_FRAME).contains(&len));
                prop_assert_eq!(
                    frame.encode().unwrap(),
                    bytes.clone(),
                    "re-encoded differently"
                );
            }
            Err(FrameError::TooShort(n)) => prop_assert!(n == len && len <= HEADER_LEN),
            Err(FrameError::TooLong(n)) => prop_assert!(n == len && len > MAX_BINARY_FRAME),
            Err(FrameError::BadVersion(v)) => prop_assert!(v == bytes[0] && v != 1),
            Err(FrameError::BadCodec(c)) => prop_assert!(c == bytes[1] && c != 1),
        }
        Ok(())
    }))
}

pub fn opus_decode(runner: &mut TestRunner) -> Outcome {
    let out_len = prop_oneof![
        8 => Just(FRAME_SAMPLES as usize),
        1 => prop::sample::select(&[0usize, 1, 959, 961, 1920, 5760][..]),
    ];
    let case = (vec((opus_packet(), any::<bool>()), 1..4), out_len);
    outcome(runner.run(&case, |(packets, out_len)| {
        let mut decoder = Decoder::new().unwrap();
        let mut out = vec![0.5f32; out_len];
        for (packet, conceal) in &packets {
            match decoder.decode(packet, &mut out) {
                Ok(()) => {
                    prop_assert_eq!(out.len(), FRAME_SAMPLES as usize);
                    prop_assert!(
                        out.iter().all(|s| s.is_finite()),
                        "decoded to non-finite samples"
                    );
                }
                Err(_) => prop_assert!(out.iter().all(|&s| s == 0.0), "a failed decode left noise"),
            }
            if *conceal && decoder.conceal(&mut out).is_ok() {
                prop_assert!(
                    out.iter().all(|s| s.is_finite()),
                    "concealed with non-finite samples"
                );
            }
        }
        Ok(())
    }))
}

pub fn jitter(runner: &mut TestRunner) -> Outcome {
    outcome(runner.run(&jitter_script(), |(config, ops)| {
        let frame = Duration::from_millis(20);
        let cap_frames = (config.max_delay.as_micros() / frame.as_micros()).clamp(1, 16) as u32;
        let mut buffer = JitterBuffer::new(config);
        let mut clock = Duration::ZERO;
        let (mut seq, mut timestamp) = (0u32, 0u32);
        let mut payload = Vec::new();
        for op in &ops {
            match op {
                JitterOp::Push {
                    gap_us,
                    seq: seq_step,
                    timestamp: ts_step,
                    flags,
                    len,
                } => {
                    clock += Duration::from_micros(*gap_us);
                    seq_step.apply(&mut seq, 1);
                    ts_step.apply(&mut timestamp, FRAME_SAMPLES);
                    // The payload names its seq, so playout can be checked.
                    payload.clear();
                    payload.extend(seq.to_be_bytes());
                    payload.resize(*len, 0x5a);
                    let pushed = buffer.push(seq, timestamp, *flags, clock, &payload);
                    if *len == 0 {
                        prop_assert_eq!(pushed, PushOutcome::Empty);
                    }
                }
                JitterOp::Pop { gap_us } => {
                    clock += Duration::from_micros(*gap_us);
                    match buffer.pop(clock) {
                        Playout::Packet { seq, opus, .. } => {
                            prop_assert!(!opus.is_empty());
                            if opus.len() >= 4 {
                                prop_assert_eq!(
                                    &opus[..4],
                                    &seq.to_be_bytes()[..],
                                    "played another frame's data"
                                );
                            }
                        }
                        Playout::Conceal { fade_from, fade_to } => {
                            for gain in [fade_from, fade_to] {
                                prop_assert!((0.0..=1.0).contains(&gain), "fade gain {}", gain);
                            }
                        }
                        Playout::Silence => {}
                    }
                    let stats = buffer.stats();
                    prop_assert!(
                        stats.buffered <= frame * cap_frames,
                        "{:?} buffered, more than the cap of {} frames",
                        stats.buffered,
                        cap_frames
                    );
                }
            }
        }
        Ok(())
    }))
}

pub fn playback(runner: &mut TestRunner) -> Outcome {
    outcome(runner.run(&playback_script(), |(layout, tracks, ops)| {
        let specs = |tracks: &[(Index, floorwalk_protocol::Role)]| -> Vec<TrackSpec> {
            tracks
                .iter()
                .map(|(i, role)| TrackSpec {
                    track: TRACKS[i.index(TRACKS.len() - 1)],
                    role: *role,
                })
                .collect()
        };
        let mut playback = Playback::new(layout, Default::default(), Default::default());
        let mut playing = specs(&tracks);
        playback.set_tracks(&playing).unwrap();
        let mut clock = Duration::ZERO;
        let mut counters = [(0u32, 0u32); TRACKS.len()];
        for op in &ops {
            match op {
                PlaybackOp::Push {
                    gap_us,
                    track,
                    seq,
                    timestamp,
                    flags,
                    wire,
                } => {
                    clock += Duration::from_micros(*gap_us);
                    let n = track.index(TRACKS.len());
                    let (s, t) = &mut counters[n];
                    seq.apply(s, 1);
                    timestamp.apply(t, FRAME_SAMPLES);
                    let header = FrameHeader {
                        flags: *flags,
                        track: TRACKS[n],
                        seq: *s,
                        timestamp: *t,
                    };
                    let framed = |opus: &[u8]| AudioFrame { header, opus }.encode();
                    let bytes = match wire {
                        Wire::Packet(opus) => framed(opus).unwrap_or_else(|_| opus.clone()),
                        Wire::Damaged(opus, edits) => {
                            let mut bytes = framed(opus).unwrap_or_else(|_| opus.clone());
                            for edit in edits {
                                super::mutate::apply_byte_edit(&mut bytes, edit);
                            }
                            bytes
                        }
                        Wire::Raw(bytes) => bytes.clone(),
                    };
                    match (AudioFrame::decode(&bytes), playback.push(&bytes, clock)) {
                        (Err(e), pushed) => {
                            prop_assert_eq!(pushed, Err(FrameRejected::Malformed(e)))
                        }
                        (Ok(frame), Err(FrameRejected::UnknownTrack(t))) => {
                            prop_assert_eq!(t, frame.header.track);
                            prop_assert!(
                                !playing.iter().any(|s| s.track == t),
                                "a played track refused"
                            );
                        }
                        (Ok(frame), pushed) => {
                            prop_assert!(pushed.is_ok(), "{:?}", pushed);
                            prop_assert!(playing.iter().any(|s| s.track == frame.header.track));
                        }
                    }
                }
                PlaybackOp::Render { gap_us } => {
                    clock += Duration::from_micros(*gap_us);
                    let channels = playback.channels();
                    let out = playback.render(clock);
                    prop_assert_eq!(out.len(), FRAME_SAMPLES as usize * channels);
                    prop_assert!(
                        out.iter().all(|s| s.is_finite() && s.abs() <= 1.0),
                        "the mix is not finite and limited"
                    );
                    let levels = playback.levels();
                    for level in [levels.customer, levels.agent, levels.others] {
                        prop_assert!(level.peak.is_finite() && level.rms.is_finite());
                    }
                }
                PlaybackOp::SetTracks(tracks) => {
                    playing = specs(tracks);
                    playback.set_tracks(&playing).unwrap();
                }
                PlaybackOp::SetGains(gains) => playback.set_gains(*gains),
            }
        }
        let stats = playback.stats();
        prop_assert_eq!(stats.len(), {
            let mut distinct: Vec<u32> = playing.iter().map(|s| s.track).collect();
            distinct.sort_unstable();
            distinct.dedup();
            distinct.len()
        });
        Ok(())
    }))
}

/// TOML: arbitrary text, TOML-ish soup, or a valid file damaged as a
/// document (values of the wrong type, keys dropped or invented), by lines,
/// and as text.
fn toml_text(
    seeds: &'static [&'static str],
    keys: &'static [&'static str],
) -> impl Strategy<Value = String> {
    let seed = any::<Index>().prop_map(move |i| seeds[i.index(seeds.len())]);
    let mutated = (
        seed,
        vec(toml_edit(keys), 0..3),
        vec(line_edit(), 0..2),
        vec(text_edit(TOML_BRACKETS), 0..3),
    )
        .prop_map(|(seed, doc_edits, line_edits, text_edits)| {
            let mut text = seed.to_owned();
            if !doc_edits.is_empty() {
                let mut doc = toml::Value::Table(toml::from_str(seed).unwrap());
                for edit in &doc_edits {
                    apply_toml_edit(&mut doc, edit);
                }
                if let Ok(printed) = toml::to_string(&doc) {
                    text = printed;
                }
            }
            for edit in &line_edits {
                apply_line_edit(&mut text, edit);
            }
            for edit in &text_edits {
                apply_text_edit(&mut text, edit);
            }
            text
        });
    prop_oneof![
        1 => any::<String>(),
        1 => "[\\[\\]{}\"'=,.#a-z0-9_ \n-]{0,80}",
        8 => mutated,
    ]
}

pub fn config(runner: &mut TestRunner) -> Outcome {
    const SEEDS: &[&str] = &[corpus::CONFIG_EXAMPLE, corpus::CONFIG_SMALL, ""];
    let path = Path::new("/fuzz/floorwalk/config.toml");
    outcome(
        runner.run(&toml_text(SEEDS, corpus::config_keys()), |text| {
            match Config::parse(&text, path) {
                Ok(config) => {
                    prop_assert!((1..=MAX_COMMAND_TIMEOUT_MS).contains(&config.command_timeout_ms));
                    if let Some(server) = &config.server {
                        prop_assert!(server.starts_with("ws://") || server.starts_with("wss://"));
                    }
                    // What the console does next with the file's keys.
                    if let Err(error) = KeyMap::with_overrides(&config.keys) {
                        prop_assert!(!error.to_string().is_empty());
                    }
                }
                Err(error) => {
                    prop_assert!(!error.to_string().is_empty());
                    if let ConfigError::Invalid {
                        line: Some(line),
                        column: Some(column),
                        ..
                    } = error
                    {
                        let lines = text.split('\n').count();
                        prop_assert!(
                            line >= 1 && line <= lines && column >= 1,
                            "at {}:{} of {} lines",
                            line,
                            column,
                            lines
                        );
                    }
                }
            }
            Ok(())
        }),
    )
}

pub fn accounts(runner: &mut TestRunner) -> Outcome {
    const SEEDS: &[&str] = &[corpus::ACCOUNTS];
    outcome(runner.run(&toml_text(SEEDS, corpus::ACCOUNT_KEYS), |text| {
        match floorwalk_server::accounts::parse_accounts(&text) {
            Ok(accounts) => {
                prop_assert!(!accounts.is_empty());
                prop_assert!(floorwalk_server::accounts::validate_accounts(&accounts).is_ok());
            }
            Err(error) => {
                let text = format!("{error:#}");
                prop_assert!(!text.is_empty());
            }
        }
        Ok(())
    }))
}

/// What must hold of any floor, whatever it was fed.
fn floor_is_consistent(floor: &Floor) -> Result<(), TestCaseError> {
    for (agent, call_id) in &floor.call_by_agent {
        let call = floor.calls.get(call_id);
        prop_assert!(
            call.is_some_and(|c| &c.agent_id == agent),
            "call_by_agent says {} is on {}, which is {:?}",
            agent,
            call_id,
            call.map(|c| &c.agent_id)
        );
    }
    for (id, call) in &floor.calls {
        prop_assert_eq!(id, &call.id);
    }
    for (id, agent) in &floor.agents {
        prop_assert_eq!(id, &agent.id);
    }
    for (call_id, lines) in &floor.transcripts {
        prop_assert!(
            floor.calls.contains_key(call_id),
            "transcript of a call that is gone"
        );
        prop_assert!(lines.len() <= TRANSCRIPT_LINES);
    }
    Ok(())
}

pub fn floor(runner: &mut TestRunner) -> Outcome {
    let case = vec((server_message(), seq_step()), 1..40);
    outcome(runner.run(&case, |steps| {
        let mut floor = Floor::default();
        let mut seq = 0u64;
        for (mut message, step) in steps {
            let n = step.next(&mut seq);
            set_seq(&mut message, n);
            let before = floor.clone();
            let snapshot = matches!(message, ServerMessage::Snapshot(_));
            let state = message.seq().is_some();
            match floor.apply(message) {
                Applied::Changed(_) => {
                    prop_assert_eq!(floor.last_seq, Some(n));
                    if !snapshot {
                        prop_assert_eq!(
                            before.last_seq.map(|s| s + 1),
                            Some(n),
                            "applied out of order"
                        );
                    }
                }
                verdict => {
                    prop_assert_eq!(&floor, &before, "{:?} changed the floor", verdict);
                    let expected = match before.last_seq {
                        _ if !state => Applied::NotState,
                        None => Applied::NoBase,
                        Some(last) if n <= last => Applied::Duplicate,
                        Some(last) => Applied::Gap {
                            last_seq: last,
                            got: n,
                        },
                    };
                    prop_assert_eq!(verdict, expected);
                }
            }
            floor_is_consistent(&floor)?;
        }
        Ok(())
    }))
}

/// Draws the app into an off-screen terminal of `size`.
fn draw(app: &App, size: (u16, u16), now: Timestamp) -> Result<(), TestCaseError> {
    let backend = ratatui::backend::TestBackend::new(size.0, size.1);
    let mut terminal = ratatui::Terminal::new(backend).unwrap();
    terminal
        .draw(|frame| floorwalk_console::ui::draw(frame, app, now))
        .map_err(|e| TestCaseError::fail(format!("draw failed: {e}")))?;
    Ok(())
}

/// Sizes worth drawing (the generator also sends 65535x65535 resizes, which
/// the app must take but no test backend can hold).
fn drawable(size: (u16, u16)) -> bool {
    u32::from(size.0) * u32::from(size.1) <= 300 * 120
}

pub fn app(runner: &mut TestRunner) -> Outcome {
    let start = (super::events::hello(), server_message());
    let case = (start, any::<(bool, bool, bool)>(), vec(app_step(), 1..40));
    outcome(runner.run(
        &case,
        |((hello, mut snapshot), (connect, color, reveal), steps)| {
            let mut app = App::new(AppSettings {
                color,
                reveal_customer_numbers: reveal,
                ..AppSettings::default()
            });
            let mut now = Timestamp(BASE_MS);
            let mut size = (80u16, 24u16);
            let mut seq = 0u64;
            let mut reqs = HashSet::new();
            let mut inputs = vec![Input::Resize(size.0, size.1)];
            if connect {
                // Most sessions start the usual way: hello, then a snapshot.
                set_seq(&mut snapshot, seq);
                inputs.push(Input::Feed(FeedEvent::Connected {
                    hello,
                    resumed: false,
                }));
                inputs.push(Input::Feed(FeedEvent::Message(snapshot)));
            }
            let steps = inputs.into_iter().map(AppStep::Input).chain(steps);
            for step in steps {
                let input = match step {
                    AppStep::Clock(ms) => {
                        now = Timestamp(now.millis().saturating_add(ms).clamp(FIRST_MS, LAST_MS));
                        continue;
                    }
                    AppStep::Message(mut message, step) => {
                        set_seq(&mut message, step.next(&mut seq));
                        Input::Feed(FeedEvent::Message(message))
                    }
                    AppStep::Input(input) => input,
                };
                let resized = match input {
                    Input::Resize(w, h) => Some((w, h)),
                    _ => None,
                };
                for effect in app.update(input, now) {
                    if let Effect::Send {
                        message: command, ..
                    } = effect
                    {
                        let req = command.req().map(str::to_owned);
                        prop_assert!(
                            req.as_ref().is_some_and(|r| reqs.insert(r.clone())),
                            "{:?}: no req, or one used before",
                            command
                        );
                        if let ClientMessage::EndCall {
                            call_id, confirm, ..
                        } = &command
                        {
                            prop_assert_eq!(call_id, confirm);
                        }
                        prop_assert!(
                            !matches!(command, ClientMessage::Subscribe { .. }),
                            "the app subscribed by itself"
                        );
                    }
                }
                if let Some(leg) = app.talk_leg() {
                    prop_assert!(
                        leg.mode.transmits(),
                        "the microphone may open on a silent leg"
                    );
                }
                if let Some(index) = app.selected_index() {
                    prop_assert!(
                        index < app.rows().len(),
                        "selection {} past {} rows",
                        index,
                        app.rows().len()
                    );
                }
                if let Some(resized) = resized {
                    size = resized;
                    if drawable(size) {
                        draw(&app, size, now)?;
                    }
                }
                if app.quitting() {
                    break;
                }
            }
            if drawable(size) {
                draw(&app, size, now)?;
            }
            Ok(())
        },
    ))
}
