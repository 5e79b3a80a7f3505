#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::jitter::JitterConfig;
use crate::mix::{Gains, Layout};
use crate::playback::{Playback, TrackSpec};
use crate::signal::{best_correlation, sine};
use floorwalk_protocol::Role;

#[test]
fn endpoints_parse_and_print() {
    for text in [
        "none",
        "default",
        "device:hw:CARD=0,DEV=0",
        "wav:/tmp/out.wav",
    ] {
        assert_eq!(text.parse::<Endpoint>().unwrap().to_string(), text);
    }
    assert_eq!(
        "wav:a.wav".parse::<Endpoint>(),
        Ok(Endpoint::Wav("a.wav".into()))
    );
    let err = "speakers".parse::<Endpoint>().unwrap_err();
    assert!(
        err.contains("none, default, device:NAME or wav:PATH"),
        "{err}"
    );
    assert!("wav:".parse::<Endpoint>().is_err());
}

/// Plays a tone through the playback core into a WAV sink, driven by a
/// manual clock with uneven steps, and reads the file back.
#[test]
fn the_wav_sink_writes_real_time_including_silence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.wav");
    let clock = ManualClock::default();
    let mut sink = WavSink::create(path.clone(), 1).unwrap();
    let mut playback = Playback::new(Layout::Mono, Gains::default(), JitterConfig::default());
    playback
        .set_tracks(&[TrackSpec {
            track: 4,
            role: Role::Customer,
        }])
        .unwrap();
    let tone = sine(440.0, 0.4, 50 * 960);
    let frames = crate::playback::tests::wire_frames(4, &tone);
    let mut next_frame = 0;
    // Three seconds in steps of 7 ms; the tone's frames arrive on time in
    // the first second, then nothing.
    for _ in 0..(3000 / 7) {
        clock.advance(Duration::from_millis(7));
        let now = clock.now();
        while next_frame < frames.len() && Duration::from_millis(20 * next_frame as u64) <= now {
            playback.push(&frames[next_frame], now).unwrap();
            next_frame += 1;
        }
        for _ in 0..sink.due(now).unwrap() {
            let mix = playback.render(now).to_vec();
            sink.write(&mix).unwrap();
        }
    }
    assert_eq!(sink.describe(), format!("wav:{}", path.display()));
    drop(sink);
    let mut reader = hound::WavReader::open(&path).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (48_000, 1, 16)
    );
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32767.0)
        .collect();
    // 2.996 s of time passed from the first 7 ms: 149 frames plus the first.
    assert_eq!(samples.len(), 150 * 960);
    let (lag, c) = best_correlation(&tone[..40 * 960], &samples, 4 * 960);
    assert!(c > 0.9, "the tone is in the file: {c} at lag {lag}");
    assert!(
        samples[80 * 960..].iter().all(|s| s.abs() < 1e-3),
        "then silence"
    );
}

#[test]
fn a_wav_sink_in_a_missing_directory_is_a_clear_error() {
    let err = WavSink::create("/nonexistent/dir/out.wav".into(), 2).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/dir/out.wav"),
        "{err}"
    );
}

#[test]
fn the_null_sink_keeps_time() {
    let clock = ManualClock::default();
    let mut sink = NullSink::new(2);
    assert_eq!(sink.due(clock.now()).unwrap(), 1);
    clock.advance(Duration::from_millis(100));
    assert_eq!(sink.due(clock.now()).unwrap(), 5);
    assert_eq!(sink.channels(), 2);
    assert_eq!(sink.next_deadline(), Some(Duration::from_millis(120)));
}
