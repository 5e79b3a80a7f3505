//! The console's audio wiring end to end, without a terminal: the real
//! WebSocket client and audio engine (through `console::Core`) against a
//! small scripted server on loopback that sends Opus frames for the legs of
//! the call. What the console played goes to a WAV file; what it said goes
//! to the server. Checks: the call's tracks are played (and a track of
//! another call is not), the meters move, the microphone goes up only while
//! push-to-talk is on and only on my leg, and not one frame follows the
//! disconnect command.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "feed_support/mod.rs"]
mod feed_support;

mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use feed_support::{FakeServer, PATIENCE, accept_join, call_snapshot, expect_connected, options};
use floorwalk_audio::capture::TransmitGate;
use floorwalk_audio::codec::{Decoder, Encoder};
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::ptt::PttSetting;
use floorwalk_audio::signal::{best_correlation, sine};
use floorwalk_audio::{FRAME_DURATION, FRAME_SAMPLES};
use floorwalk_protocol::{AudioFrame, ClientMessage, FrameHeader, Mode, Parsed};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::console::{drive, wav_console};
use support::wav::write_mono;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

const CUSTOMER_TRACK: u32 = 11;
const AGENT_TRACK: u32 = 12;
const MY_TRACK: u32 = 31;
/// A track of a call I am not on: the server would not send it, and if it
/// did, the console must not play it.
const STRAY_TRACK: u32 = 99;
/// Frames the server sends per track (3 s).
const FRAMES: usize = 150;

fn wire_frames(track: u32, pcm: &[f32]) -> Vec<Vec<u8>> {
    let mut encoder = Encoder::voip().unwrap();
    (0u32..)
        .zip(pcm.chunks_exact(FRAME_SAMPLES as usize))
        .map(|(seq, chunk)| {
            let header = FrameHeader {
                flags: 0,
                track,
                seq,
                timestamp: seq * FRAME_SAMPLES,
            };
            let opus = encoder.encode(chunk).unwrap();
            AudioFrame { header, opus }.encode().unwrap()
        })
        .collect()
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

/// What the server saw from the console.
#[derive(Default)]
struct Heard {
    /// Upstream frames before the disconnect command.
    upstream: Vec<Vec<u8>>,
    /// Binary frames after it: there must be none.
    after_disconnect: usize,
    disconnected: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_audio_plays_and_the_microphone_follows_push_to_talk_and_the_leave() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("heard.wav");
    let mic = dir.path().join("mic.wav");
    write_mono(&mic, &sine(250.0, 0.4, 48_000));
    let server = FakeServer::start().await;
    let output = Endpoint::Wav(out.clone());
    let mut core = wav_console(options(&server.url), output, &mic, PttSetting::Toggle);

    // Connect, see the call, join it in whisper.
    let (mut conn, _) = server.connect("s-1").await;
    conn.send(call_snapshot(CUSTOMER_TRACK, AGENT_TRACK)).await;
    drive(&mut core, "the call", |core| {
        core.app().pane_call().is_some_and(|c| c.id == "c-1")
    })
    .await;
    core.key(key('w'));
    let (call_id, mode) = accept_join(&mut conn, MY_TRACK).await;
    assert_eq!((call_id.as_str(), mode), ("c-1", Mode::Whisper));
    drive(&mut core, "my leg", |core| {
        core.app().audio_plan().tracks.len() == 2
    })
    .await;

    // The server plays the call: a tone from the customer, and a stray
    // track of another call that must not be heard.
    let customer = sine(440.0, 0.4, FRAMES * FRAME_SAMPLES as usize);
    let stray = sine(1000.0, 0.4, FRAMES * FRAME_SAMPLES as usize);
    let mut outgoing: Vec<(Vec<u8>, Vec<u8>)> = wire_frames(CUSTOMER_TRACK, &customer)
        .into_iter()
        .zip(wire_frames(STRAY_TRACK, &stray))
        .collect();
    outgoing.reverse();
    let upstream_count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&upstream_count);
    let played_count = Arc::new(AtomicUsize::new(0));
    let played_counter = Arc::clone(&played_count);
    let server_side = tokio::spawn(async move {
        let mut heard = Heard::default();
        let mut pace = tokio::time::interval(FRAME_DURATION);
        let mut quiet_until: Option<Instant> = None;
        loop {
            let quiet = quiet_until.unwrap_or_else(|| Instant::now() + PATIENCE);
            tokio::select! {
                _ = pace.tick(), if !outgoing.is_empty() => {
                    if let Some((ours, stray)) = outgoing.pop() {
                        conn.send_binary(ours).await;
                        conn.send_binary(stray).await;
                        played_counter.fetch_add(1, Ordering::SeqCst);
                    }
                }
                message = conn.recv() => match message {
                    Message::Binary(bytes) if heard.disconnected => {
                        let _ = bytes;
                        heard.after_disconnect += 1;
                    }
                    Message::Binary(bytes) => {
                        heard.upstream.push(bytes.to_vec());
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    Message::Text(text) => {
                        if let Ok(Parsed::Known(ClientMessage::Disconnect { req, leg_id })) =
                            floorwalk_protocol::parse_client(text.as_str())
                        {
                            assert_eq!(leg_id, "l-31");
                            heard.disconnected = true;
                            // Listen on for a while: nothing may follow.
                            quiet_until = Some(Instant::now() + 4 * FRAME_DURATION * 10);
                            conn.send(json!({"type": "reply", "req": req, "ok": true, "result": {}})).await;
                            conn.send(json!({"type": "leg_left", "seq": 3, "call_id": "c-1",
                                             "leg_id": "l-31", "at": "2026-11-21T09:14:05.000Z",
                                             "reason": "disconnected"})).await;
                        }
                    }
                    _ => {}
                },
                _ = tokio::time::sleep_until(quiet), if quiet_until.is_some() => return heard,
            }
        }
    });

    // The customer is heard: the meters move. The call plays on a while.
    drive(&mut core, "the customer's meter", |core| {
        core.app().meters().customer > 3
    })
    .await;
    drive(&mut core, "the call to play on", |_| {
        played_count.load(Ordering::SeqCst) >= 75
    })
    .await;
    assert_eq!(
        upstream_count.load(Ordering::SeqCst),
        0,
        "nothing up before the key"
    );
    // Push-to-talk (toggle): the microphone goes up on my leg, until the
    // Disconnect key, which is pressed while talking.
    core.key(key(' '));
    assert_eq!(core.app().transmit_track(), Some(MY_TRACK));
    drive(&mut core, "upstream audio", |_| {
        upstream_count.load(Ordering::SeqCst) >= 25
    })
    .await;
    assert!(core.app().talking());
    core.key(key('d'));
    assert_eq!(core.app().transmit_track(), None);
    drive(&mut core, "the leave to be confirmed", |core| {
        core.app().leaves_settled()
    })
    .await;
    let heard = tokio::time::timeout(PATIENCE, server_side)
        .await
        .expect("the server did not finish")
        .unwrap();
    let stats = core.audio_stats();
    core.shutdown().await;

    // Nothing after the disconnect command; everything before it on my leg,
    // carrying the microphone.
    assert!(heard.disconnected);
    assert_eq!(heard.after_disconnect, 0, "audio followed the disconnect");
    let mut decoder = Decoder::new().unwrap();
    let mut pcm = Vec::new();
    for bytes in &heard.upstream {
        let frame = AudioFrame::decode(bytes).unwrap();
        assert_eq!(frame.header.track, MY_TRACK);
        let mut out = vec![0.0; FRAME_SAMPLES as usize];
        decoder.decode(frame.opus, &mut out).unwrap();
        pcm.extend(out);
    }
    let (_, c) = best_correlation(
        &sine(250.0, 0.4, 10 * FRAME_SAMPLES as usize),
        &pcm[5 * FRAME_SAMPLES as usize..],
        FRAME_SAMPLES as usize,
    );
    assert!(c > 0.9, "upstream carries the microphone: {c}");
    assert!(stats.frames_rejected > 0, "the stray track was refused");

    // What was played: the customer's tone, clean (a stray 1 kHz mixed in
    // would pull the match down).
    let played: Vec<f32> = hound::WavReader::open(&out)
        .unwrap()
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    let onset = played
        .iter()
        .position(|s| s.abs() > 0.05)
        .expect("nothing was played");
    // 100 ms windows (the jitter buffer may shift the phase between them).
    let window = 5 * FRAME_SAMPLES as usize;
    let tone = sine(440.0, 0.4, window);
    let matches: Vec<f32> = (onset..played.len().saturating_sub(2 * window))
        .step_by(window)
        .map(|at| best_correlation(&tone, &played[at..], FRAME_SAMPLES as usize).1)
        .collect();
    // (The adaptive jitter buffer may conceal a frame while it settles.)
    let clean = matches.iter().filter(|&&c| c > 0.95).count();
    assert!(
        clean >= 10,
        "the output holds the customer's audio, clean: {matches:?}"
    );
}

/// The feed's writer checks the transmit gate right before each upstream
/// frame: frames queued while the gate was open do not leave once it is
/// closed. (A current-thread runtime holds the writer back until the test
/// awaits, so the frames are surely still queued when the gate closes.)
#[tokio::test(flavor = "current_thread")]
async fn queued_upstream_frames_do_not_leave_after_the_gate_closes() {
    let server = FakeServer::start().await;
    let gate = TransmitGate::default();
    let mut feed_options = options(&server.url);
    feed_options.audio_gate = Some(gate.clone());
    let (feed, mut events) = floorwalk_console::feed::spawn(feed_options).unwrap();
    let (mut conn, _) = server.connect("s-1").await;
    expect_connected(&mut events).await;
    let frames = wire_frames(MY_TRACK, &sine(250.0, 0.4, 4 * FRAME_SAMPLES as usize));

    gate.set(Some(MY_TRACK));
    for frame in &frames[..3] {
        feed.send_audio(frame.clone());
    }
    gate.set(None);
    // The writer runs now, with the gate closed.
    tokio::time::sleep(FRAME_DURATION).await;

    // Open again: a frame on another track does not go, one on my leg does,
    // and it is the first to arrive.
    gate.set(Some(MY_TRACK));
    feed.send_audio(wire_frames(STRAY_TRACK, &sine(250.0, 0.4, 960)).remove(0));
    feed.send_audio(frames[3].clone());
    match conn.recv().await {
        Message::Binary(bytes) => assert!(
            bytes == frames[3],
            "a frame queued before the gate closed went out"
        ),
        other => panic!("expected my frame, got {other:?}"),
    }
    feed.shutdown();
}
