#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::jitter::JitterConfig;
use crate::mix::{Gains, Layout};
use crate::playback::{Playback, TrackSpec};
use crate::signal::{best_correlation, sine};
use crate::test_support::{wire_frames, write_wav};
use floorwalk_protocol::Role;

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
    let frames = wire_frames(4, &tone);
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
fn a_stereo_16k_wav_becomes_48k_mono() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.wav");
    let step = std::f32::consts::TAU * 300.0 / 16_000.0;
    let tone: Vec<f32> = (0..16_000).map(|i| 0.5 * (step * i as f32).sin()).collect();
    write_wav(&path, 16_000, 2, &tone);
    let pcm = load_wav(&path).unwrap();
    assert!((pcm.len() as i64 - 48_000).abs() <= 3, "{}", pcm.len());
    let (_, c) = best_correlation(&sine(300.0, 0.5, 40_000), &pcm, 8);
    assert!(c > 0.999, "{c}");
}

#[test]
fn the_wav_microphone_is_paced_and_loops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.wav");
    let ramp: Vec<f32> = (0..1500).map(|i| i as f32 / 2000.0).collect();
    write_wav(&path, 48_000, 1, &ramp);
    let mut microphone = WavMicrophone::open(path).unwrap();
    let clock = ManualClock::default();
    let mut frame = vec![0.0; 960];
    assert!(microphone.read(clock.now(), &mut frame).unwrap());
    assert!(!microphone.read(clock.now(), &mut frame).unwrap());
    clock.advance(Duration::from_millis(40));
    assert!(microphone.read(clock.now(), &mut frame).unwrap());
    // The second frame wrapped around after 1500 samples.
    assert!((frame[539] - 1499.0 / 2000.0).abs() < 1e-3);
    assert!(frame[540].abs() < 1e-3);
    assert!(microphone.read(clock.now(), &mut frame).unwrap());
    assert!(!microphone.read(clock.now(), &mut frame).unwrap());
}

#[test]
fn bad_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.wav");
    let err = WavMicrophone::open(missing).unwrap_err().to_string();
    assert!(err.contains("missing.wav"), "{err}");
    let junk = dir.path().join("junk.wav");
    std::fs::write(&junk, b"not a wav file at all").unwrap();
    assert!(WavMicrophone::open(junk).is_err());
    let empty = dir.path().join("empty.wav");
    write_wav(&empty, 48_000, 1, &[]);
    assert!(matches!(
        WavMicrophone::open(empty),
        Err(InputError::EmptyWav(_))
    ));
    for rate in [1, 999, 384_001, 1_000_000_000] {
        let odd = dir.path().join(format!("{rate}.wav"));
        write_wav(&odd, rate, 1, &[0.5; 100]);
        let err = WavMicrophone::open(odd).unwrap_err();
        assert!(
            matches!(err, InputError::WavRate { rate: r, .. } if r == rate),
            "{err}"
        );
    }
}
