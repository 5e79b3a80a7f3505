//! The simulator's audio over a real loopback WebSocket: who hears what
//! (safety invariant 3), proved on the record-dir recordings of what the
//! customer and the agent heard, and on the frames each console receives.
//!
//! A console's "speech" is a tone, one frequency per phase of a test, well
//! above where the simulated voices carry energy; each recording is then
//! searched for each tone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/sim_client.rs"]
mod sim_client;

use floorwalk_audio::codec::Encoder;
use floorwalk_audio::signal::{Level, sine, tone_amplitude};
use floorwalk_protocol::{AudioFrame, FrameHeader, Role};
use floorwalk_server::Impairment;
use floorwalk_sim::SimOptions;
use serde_json::json;
use sim_client::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tokio::time::Instant;

const FRAME: usize = 960;
/// Samples in one analysis window (100 ms).
const WINDOW: usize = 4800;
/// One tone per phase; the simulated speech stays below 0.03 at each.
const SILENT_HZ: f32 = 1700.0;
const WHISPER_HZ: f32 = 2100.0;
const BARGE_HZ: f32 = 2500.0;
const FOREIGN_HZ: f32 = 2900.0;
const AFTER_LEAVING_HZ: f32 = 3300.0;
const TONE: f32 = 0.3;
/// Frames per phase.
const PHASE: usize = 40;

/// A console's microphone: tones encoded as on the wire, on one track.
struct Voice {
    encoder: Encoder,
    track: u32,
    seq: u32,
    timestamp: u32,
}

impl Voice {
    fn new(track: u32) -> Self {
        Self {
            encoder: Encoder::voip().unwrap(),
            track,
            seq: 0,
            timestamp: 0,
        }
    }

    fn tone(&mut self, hz: f32, frames: usize) -> Vec<Vec<u8>> {
        let pcm = sine(hz, TONE, FRAME * frames);
        pcm.chunks(FRAME)
            .map(|chunk| {
                let opus = self.encoder.encode(chunk).unwrap().to_vec();
                let header = FrameHeader {
                    flags: 0,
                    track: self.track,
                    seq: self.seq,
                    timestamp: self.timestamp,
                };
                self.seq = self.seq.wrapping_add(1);
                self.timestamp = self.timestamp.wrapping_add(FRAME as u32);
                AudioFrame {
                    header,
                    opus: &opus,
                }
                .encode()
                .unwrap()
            })
            .collect()
    }
}

/// Sends the frames in real time, one tick's worth every 20 ms, reading
/// the console's socket in between.
async fn talk(client: &mut Client, ticks: Vec<Vec<Vec<u8>>>) {
    let start = Instant::now();
    for (n, frames) in ticks.into_iter().enumerate() {
        for frame in frames {
            client.send_audio(frame).await;
        }
        client
            .pump_until(start + Duration::from_millis(20 * (n as u64 + 1)))
            .await;
    }
}

fn alone(frames: Vec<Vec<u8>>) -> Vec<Vec<Vec<u8>>> {
    frames.into_iter().map(|f| vec![f]).collect()
}

/// Joins a call; returns the leg id and its track.
async fn monitor(client: &mut Client, call: &str, mode: &str) -> (String, u32) {
    let reply = client
        .command(json!({"type": "monitor", "call_id": call, "mode": mode}))
        .await;
    let result = reply.outcome().unwrap();
    (
        result["leg_id"].as_str().unwrap().to_string(),
        u32::try_from(result["track"].as_u64().unwrap()).unwrap(),
    )
}

async fn set_mode(client: &mut Client, leg: &str, mode: &str) {
    let reply = client
        .command(json!({"type": "set_mode", "leg_id": leg, "mode": mode}))
        .await;
    assert!(reply.ok, "{reply:?}");
}

/// Leaves; returns how many text messages were read up to the reply.
async fn disconnect(client: &mut Client, leg: &str) -> usize {
    let reply = client
        .command(json!({"type": "disconnect", "leg_id": leg}))
        .await;
    assert!(reply.ok, "{reply:?}");
    client.texts
}

fn track_of(client: &Client, call: &str, role: Role) -> u32 {
    client.floor.calls[call].leg_with_role(role).unwrap().track
}

fn headers(client: &Client) -> Vec<(usize, FrameHeader, Vec<u8>)> {
    client
        .audio
        .iter()
        .map(|heard| {
            let frame = AudioFrame::decode(&heard.bytes).unwrap();
            (heard.after, frame.header, frame.opus.to_vec())
        })
        .collect()
}

fn read_wav(path: &Path) -> Vec<f32> {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (48_000, 1, 16)
    );
    reader
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect()
}

/// How many 100 ms windows of a recording carry the tone.
fn windows_with(samples: &[f32], hz: f32) -> usize {
    samples
        .chunks_exact(WINDOW)
        .filter(|w| tone_amplitude(w, hz, 48_000) > TONE / 3.0)
        .count()
}

/// Whether someone speaks in the recording from sample `from` on.
fn speech_from(samples: &[f32], from: usize) -> bool {
    samples
        .get(from..)
        .unwrap_or_default()
        .chunks_exact(WINDOW)
        .any(|w| Level::of(w).rms > 0.02)
}

#[tokio::test]
async fn whisper_reaches_the_agent_barge_both_silent_and_a_left_leg_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start(SimOptions {
        record_dir: Some(dir.path().join("heard")),
        ..quiet_options()
    })
    .await;
    let mut dana = Client::subscribed(&sim, DANA).await;
    let call = dana.a_call();
    let agent_track = track_of(&dana, &call, Role::Agent);
    let customer_track = track_of(&dana, &call, Role::Customer);
    let (leg, track) = monitor(&mut dana, &call, "silent").await;
    let joined = Instant::now();
    let mut me = Voice::new(track);
    // Someone else's track: the agent's leg.
    let mut impostor = Voice::new(agent_track);

    talk(&mut dana, alone(me.tone(SILENT_HZ, PHASE))).await;
    set_mode(&mut dana, &leg, "whisper").await;
    talk(&mut dana, alone(me.tone(WHISPER_HZ, PHASE))).await;
    set_mode(&mut dana, &leg, "barge").await;
    let both = me
        .tone(BARGE_HZ, PHASE)
        .into_iter()
        .zip(impostor.tone(FOREIGN_HZ, PHASE))
        .map(|(mine, theirs)| vec![mine, theirs])
        .collect();
    talk(&mut dana, both).await;
    let left_after = disconnect(&mut dana, &leg).await;
    let left = Instant::now();
    talk(&mut dana, alone(me.tone(AFTER_LEAVING_HZ, PHASE))).await;

    // The customer and the agent go on talking after the console left: the
    // recordings (readable while written) show both of them later on.
    let [customer_wav, agent_wav] =
        ["customer", "agent"].map(|ear| dir.path().join(format!("heard/{call}-{ear}.wav")));
    let from = ((left - joined).as_secs_f64() * 48_000.0) as usize + 24_000;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (customer, agent) = (read_wav(&customer_wav), read_wav(&agent_wav));
        if speech_from(&customer, from) && speech_from(&agent, from) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the call fell silent after the leave"
        );
        dana.pump(Duration::from_millis(300)).await;
    }
    sim.shutdown().await;

    let (customer, agent) = (read_wav(&customer_wav), read_wav(&agent_wav));
    assert_eq!(customer.len(), agent.len());
    assert_eq!(customer.len() % FRAME, 0);
    let found = |ear: &[f32], hz| windows_with(ear, hz);
    // The phases last 0.8 s: about 8 windows each where the tone is heard.
    for (hz, to_customer, to_agent) in [
        (SILENT_HZ, false, false),
        (WHISPER_HZ, false, true),
        (BARGE_HZ, true, true),
        (FOREIGN_HZ, false, false),
        (AFTER_LEAVING_HZ, false, false),
    ] {
        for (ear, samples, expected) in [
            ("customer", &customer, to_customer),
            ("agent", &agent, to_agent),
        ] {
            let windows = found(samples, hz);
            if expected {
                assert!(
                    windows >= 5,
                    "{hz} Hz: only {windows} windows in the {ear}'s ear"
                );
            } else {
                assert_eq!(windows, 0, "{hz} Hz reached the {ear}");
            }
        }
    }

    // Listening never gapped through the mode switches: every frame of
    // either party's track up to the leave, numbered one after the other.
    let mut last: BTreeMap<u32, u32> = BTreeMap::new();
    for (after, header, _) in headers(&dana) {
        assert!(after <= left_after, "audio after the leave reply");
        assert!(
            [agent_track, customer_track].contains(&header.track),
            "track {} is not a party of {call}",
            header.track
        );
        if let Some(previous) = last.insert(header.track, header.seq) {
            assert_eq!(
                header.seq,
                previous.wrapping_add(1),
                "track {}",
                header.track
            );
        }
    }
    assert_eq!(last.len(), 2, "both parties were heard");
}

#[tokio::test]
async fn a_console_gets_its_calls_tracks_in_order_and_nothing_after_leaving() {
    let sim = start(quiet_options()).await;
    let mut dana = Client::subscribed(&sim, DANA).await;
    dana.pump(Duration::from_millis(300)).await;
    assert!(dana.audio.is_empty(), "audio before joining any call");

    let call = dana.a_call();
    let parties = [
        track_of(&dana, &call, Role::Agent),
        track_of(&dana, &call, Role::Customer),
    ];
    let (leg, _) = monitor(&mut dana, &call, "silent").await;
    // Until both parties have said something.
    let deadline = Instant::now() + PATIENCE;
    while parties.iter().any(|t| {
        headers(&dana)
            .iter()
            .filter(|(_, h, _)| h.track == *t)
            .count()
            < 30
    }) {
        assert!(Instant::now() < deadline, "the parties did not both speak");
        dana.pump(Duration::from_millis(200)).await;
    }
    let left_after = disconnect(&mut dana, &leg).await;
    dana.pump(Duration::from_millis(500)).await;

    let heard = headers(&dana);
    assert!(
        heard.iter().all(|(after, _, _)| *after <= left_after),
        "audio arrived after the leave reply"
    );
    for track in parties {
        let frames: Vec<&FrameHeader> = heard
            .iter()
            .filter(|(_, h, _)| h.track == track)
            .map(|(_, h, _)| h)
            .collect();
        for pair in frames.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            assert_eq!(b.seq, a.seq.wrapping_add(1), "track {track}: seq");
            let step = b.timestamp.wrapping_sub(a.timestamp);
            if a.spurt_end() {
                // A pause: the clock went on without frames.
                assert!(
                    b.spurt_start(),
                    "track {track}: a spurt starts after one ended"
                );
                assert!(step > 960 && step % 960 == 0, "track {track}: step {step}");
            } else {
                assert_eq!(step, 960, "track {track}: within a spurt");
                assert!(!b.spurt_start(), "track {track}: a spurt started twice");
            }
        }
    }
    assert!(
        heard.iter().all(|(_, h, _)| parties.contains(&h.track)),
        "tracks of other calls arrived"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn another_supervisor_hears_my_whisper_and_barge_on_my_track_i_do_not() {
    let sim = start(quiet_options()).await;
    let mut dana = Client::subscribed(&sim, DANA).await;
    let mut amara = Client::subscribed(&sim, AMARA).await;
    let call = dana.a_call();
    let (_, amaras) = monitor(&mut amara, &call, "barge").await;
    let (leg, mine) = monitor(&mut dana, &call, "silent").await;
    let mut me = Voice::new(mine);
    // Dana also forges frames on Amara's barge leg: they must go nowhere.
    let mut forger = Voice::new(amaras);

    talk(&mut dana, alone(me.tone(SILENT_HZ, PHASE / 2))).await;
    set_mode(&mut dana, &leg, "whisper").await;
    let whispered = me.tone(WHISPER_HZ, PHASE);
    let with_forgeries = whispered
        .iter()
        .cloned()
        .zip(forger.tone(FOREIGN_HZ, PHASE))
        .map(|(mine, forged)| vec![mine, forged])
        .collect();
    talk(&mut dana, with_forgeries).await;
    set_mode(&mut dana, &leg, "barge").await;
    let barged = me.tone(BARGE_HZ, PHASE / 2);
    talk(&mut dana, alone(barged.clone())).await;
    set_mode(&mut dana, &leg, "silent").await;
    talk(&mut dana, alone(me.tone(SILENT_HZ, PHASE / 2))).await;
    amara.pump(Duration::from_millis(500)).await;

    // Amara got exactly the whispered and barged frames, as sent.
    let on_my_track: Vec<Vec<u8>> = amara
        .audio
        .iter()
        .filter(|heard| AudioFrame::decode(&heard.bytes).unwrap().header.track == mine)
        .map(|heard| heard.bytes.clone())
        .collect();
    let sent: Vec<Vec<u8>> = whispered.into_iter().chain(barged).collect();
    assert_eq!(on_my_track.len(), sent.len());
    assert_eq!(on_my_track, sent);
    // Nobody hears themselves, and the forgeries went nowhere.
    assert!(headers(&dana).iter().all(|(_, h, _)| h.track != mine));
    assert!(headers(&amara).iter().all(|(_, h, _)| h.track != amaras));
    assert!(headers(&dana).iter().all(|(_, h, _)| h.track != amaras));
    sim.shutdown().await;
}

#[tokio::test]
async fn an_impaired_network_loses_and_reorders_frames() {
    let impair: Impairment = "drop=0.2,reorder=0.1,jitter=10,seed=3".parse().unwrap();
    let sim = start(SimOptions {
        impair,
        ..quiet_options()
    })
    .await;
    let mut dana = Client::subscribed(&sim, DANA).await;
    let call = dana.a_call();
    monitor(&mut dana, &call, "silent").await;
    let deadline = Instant::now() + PATIENCE;
    while dana.audio.len() < 80 {
        assert!(Instant::now() < deadline, "the parties said too little");
        dana.pump(Duration::from_millis(200)).await;
    }
    // Per track, relative to the first frame read (which may itself have
    // been late): how many frames never came, and how many came after a
    // later one.
    let mut seqs: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (_, header, _) in headers(&dana) {
        seqs.entry(header.track).or_default().push(header.seq);
    }
    let (mut span, mut got, mut late) = (0, 0, 0);
    for seqs in seqs.values() {
        let offsets: Vec<i64> = seqs
            .iter()
            .map(|s| i64::from(s.wrapping_sub(seqs[0]) as i32))
            .collect();
        span += offsets.iter().max().unwrap() - offsets.iter().min().unwrap() + 1;
        got += offsets.len() as i64;
        late += offsets.windows(2).filter(|w| w[1] < w[0]).count();
    }
    let lost = (span - got) as f64 / span as f64;
    assert!(lost > 0.05 && lost < 0.4, "lost {lost}");
    assert!(late > 0, "nothing came out of order");
    sim.shutdown().await;
}
