#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::FRAME_DURATION;
use crate::codec::Decoder;
use crate::signal::{best_correlation, sine};
use crate::test_support::{wire_frames, write_wav};
use floorwalk_protocol::{AudioFrame, Role};
use std::time::Instant;

/// Waits (generously: this is about correctness, not speed) for `f`.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn frames_play_to_a_wav_and_the_microphone_goes_upstream_only_while_transmitting() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("heard.wav");
    let mic = dir.path().join("mic.wav");
    let voice = sine(250.0, 0.4, 48_000);
    write_wav(&mic, 48_000, 1, &voice);
    let (audio, mut channels) = AudioEngine::start(AudioConfig {
        output: Endpoint::Wav(out.clone()),
        input: Endpoint::Wav(mic),
        ..AudioConfig::default()
    });
    let ready = eventually("output", || channels.events.try_recv().ok());
    assert!(matches!(ready, AudioEvent::OutputReady { .. }), "{ready:?}");

    // Downstream: a customer's tone, paced like a network would.
    audio.set_tracks(vec![TrackSpec {
        track: 5,
        role: Role::Customer,
    }]);
    let tone = sine(440.0, 0.4, 25 * 960);
    let frames = wire_frames(5, &tone);
    let sink = audio.frame_sink();
    let start = Instant::now();
    for (i, frame) in frames.into_iter().enumerate() {
        while start.elapsed() < FRAME_DURATION * i as u32 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(sink.send(frame));
    }
    eventually("meters", || {
        (audio.meters().parties.customer.peak > 0.1).then_some(())
    });

    // Upstream: nothing before push-to-talk, then frames on track 31.
    audio.arm_microphone(true);
    let opened = eventually("input", || channels.events.try_recv().ok());
    assert!(
        matches!(opened, AudioEvent::InputReady { .. }),
        "{opened:?}"
    );
    eventually("microphone level", || {
        (audio.meters().microphone.peak > 0.1).then_some(())
    });
    assert!(
        channels.upstream.try_recv().is_err(),
        "nothing leaves before push-to-talk"
    );
    audio.set_transmit(Some(31));
    let mut sent = Vec::new();
    while sent.len() < 20 {
        sent.push(eventually("upstream", || channels.upstream.try_recv().ok()));
    }
    audio.set_transmit(None);
    // Whatever was queued before the key is still there; after it, nothing.
    while channels.upstream.try_recv().is_ok() {}
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        channels.upstream.try_recv().is_err(),
        "a frame left after set_transmit(None)"
    );

    let headers: Vec<_> = sent
        .iter()
        .map(|b| AudioFrame::decode(b).unwrap().header)
        .collect();
    assert!(headers.iter().all(|h| h.track == 31));
    assert!(headers[0].spurt_start());
    assert!(
        headers
            .windows(2)
            .all(|w| w[1].seq == w[0].seq.wrapping_add(1))
    );
    let mut decoder = Decoder::new().unwrap();
    let mut pcm = vec![0.0; 20 * 960];
    for (bytes, chunk) in sent.iter().zip(pcm.chunks_mut(960)) {
        decoder
            .decode(AudioFrame::decode(bytes).unwrap().opus, chunk)
            .unwrap();
    }
    let (_, c) = best_correlation(&sine(250.0, 0.4, 15 * 960), &pcm[2 * 960..], 960);
    assert!(c > 0.9, "upstream carries the microphone: {c}");

    // Every packet played has its listening delay measured: a WAV output
    // takes each frame at its due time, so the delay is the jitter
    // buffer's wait, which its 200 ms cap bounds. On a loaded machine the
    // paced sender can fall behind and the buffer may drop a frame as
    // late, so wait for every packet to be accounted for, not for 25
    // played.
    let stats = eventually("all 25 packets played or dropped, and measured", || {
        let stats = audio.stats();
        let jitter = &stats.tracks.first()?.jitter;
        let accounted = jitter.played + jitter.late_drops + jitter.dropped + jitter.overflow_drops;
        (accounted == 25
            && jitter.buffered.is_zero()
            && stats.listening_delay.played.count() == jitter.played)
            .then_some(stats)
    });
    assert!(
        stats.tracks[0].jitter.played >= 20,
        "most of the call was played: {:?}",
        stats.tracks[0].jitter
    );
    let delay = &stats.listening_delay;
    assert_eq!(delay.handed, delay.played, "a file plays what it takes");
    assert!(
        delay.played.percentile(50).unwrap() < Duration::from_millis(200),
        "{delay:?}"
    );
    assert_eq!(stats.frames_in, 25);
    assert!(stats.frames_sent >= 20);
    audio.shutdown();

    let heard: Vec<f32> = hound::WavReader::open(&out)
        .unwrap()
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32767.0)
        .collect();
    // Search around where the tone starts: a search over the whole file is
    // quadratic and takes seconds in a debug build.
    let onset = heard.iter().position(|s| s.abs() > 0.05).unwrap();
    let from = onset.saturating_sub(960);
    let (_, c) = best_correlation(&tone[..20 * 960], &heard[from..], 2 * 960);
    assert!(c > 0.9, "the WAV holds what was played: {c}");
}

#[test]
fn an_output_that_cannot_open_is_reported_and_the_engine_plays_on() {
    let (audio, mut channels) = AudioEngine::start(AudioConfig {
        output: Endpoint::Wav("/nonexistent/dir/out.wav".into()),
        ..AudioConfig::default()
    });
    let event = eventually("event", || channels.events.try_recv().ok());
    match event {
        AudioEvent::OutputFailed { endpoint, reason } => {
            assert_eq!(endpoint, "wav:/nonexistent/dir/out.wav");
            assert!(reason.contains("/nonexistent/dir/out.wav"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    audio.set_tracks(vec![TrackSpec {
        track: 1,
        role: Role::Agent,
    }]);
    let frame = wire_frames(1, &sine(300.0, 0.5, 960)).remove(0);
    assert!(audio.frame_sink().send(frame));
    eventually("stats", || (audio.stats().frames_in == 1).then_some(()));
    assert_eq!(audio.stats().output, "none");
}

#[test]
fn a_missing_microphone_is_reported_and_nothing_is_sent() {
    let (audio, mut channels) = AudioEngine::start(AudioConfig {
        input: Endpoint::Wav("/nonexistent/mic.wav".into()),
        ..AudioConfig::default()
    });
    assert!(matches!(
        eventually("output", || channels.events.try_recv().ok()),
        AudioEvent::OutputReady { .. }
    ));
    audio.set_transmit(Some(3));
    let event = eventually("input event", || channels.events.try_recv().ok());
    assert!(matches!(event, AudioEvent::InputFailed { .. }), "{event:?}");
    assert!(channels.upstream.try_recv().is_err());
    audio.arm_microphone(false);
    assert_eq!(
        eventually("closed", || channels.events.try_recv().ok()),
        AudioEvent::InputClosed
    );
}
