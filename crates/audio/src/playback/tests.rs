#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::signal::{best_correlation, sine};
use crate::test_support::wire_frames;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

#[test]
fn two_tracks_are_decoded_mixed_split_and_metered() {
    let mut playback = Playback::new(Layout::SplitEar, Gains::default(), JitterConfig::default());
    playback
        .set_tracks(&[
            TrackSpec {
                track: 1,
                role: Role::Customer,
            },
            TrackSpec {
                track: 2,
                role: Role::Agent,
            },
        ])
        .unwrap();
    let customer = sine(300.0, 0.4, 100 * 960);
    let customer_frames = wire_frames(1, &customer);
    let agent_frames = wire_frames(2, &vec![0.0; 100 * 960]);
    let mut left: Vec<f32> = Vec::new();
    let mut right: Vec<f32> = Vec::new();
    for k in 0..110u64 {
        let now = ms(k * 20);
        if let Some(f) = customer_frames.get(k as usize) {
            assert_eq!(playback.push(f, now + ms(1)), Ok(PushOutcome::Queued));
        }
        if let Some(f) = agent_frames.get(k as usize) {
            playback.push(f, now + ms(1)).unwrap();
        }
        let out = playback.render(now + ms(5));
        left.extend(out.iter().step_by(2).copied());
        right.extend(out.iter().skip(1).step_by(2).copied());
        if k == 50 {
            let levels = playback.levels();
            assert!(levels.customer.rms > 0.2, "{levels:?}");
            assert!(levels.agent.rms < 0.01, "{levels:?}");
        }
    }
    let (_, c) = best_correlation(&customer[..80_000], &left, 3000);
    assert!(c > 0.9, "left carries the customer: {c}");
    assert!(
        right.iter().all(|s| s.abs() < 0.01),
        "right carries the silent agent"
    );
    let stats = playback.stats();
    assert_eq!(stats.len(), 2);
    assert_eq!(stats[0].jitter.played, 100);
}

#[test]
fn bad_and_foreign_frames_are_rejected_and_corrupt_packets_concealed() {
    let mut playback = Playback::new(Layout::Mono, Gains::default(), JitterConfig::default());
    playback
        .set_tracks(&[TrackSpec {
            track: 7,
            role: Role::Agent,
        }])
        .unwrap();
    assert!(matches!(
        playback.push(&[1, 2, 3], ms(0)),
        Err(FrameRejected::Malformed(_))
    ));
    let foreign = wire_frames(8, &vec![0.0; 960]);
    assert_eq!(
        playback.push(&foreign[0], ms(0)),
        Err(FrameRejected::UnknownTrack(8))
    );
    // A frame whose Opus packet is garbage: decoding fails, the tick is
    // concealed, nothing panics.
    let mut corrupt = wire_frames(7, &vec![0.0; 960]).remove(0);
    corrupt.truncate(16);
    corrupt.extend_from_slice(&[0xfb]);
    playback.push(&corrupt, ms(0)).unwrap();
    for k in 0..3 {
        playback.render(ms(20 * k + 10));
    }
    assert_eq!(playback.stats()[0].decode_errors, 1);
}

#[test]
fn a_track_that_stays_keeps_its_buffer_when_the_set_changes() {
    let mut playback = Playback::new(Layout::Mono, Gains::default(), JitterConfig::default());
    let agent = TrackSpec {
        track: 2,
        role: Role::Agent,
    };
    playback.set_tracks(&[agent]).unwrap();
    for (i, f) in wire_frames(2, &sine(200.0, 0.3, 5 * 960))
        .iter()
        .enumerate()
    {
        playback.push(f, ms(i as u64 * 20)).unwrap();
    }
    playback
        .set_tracks(&[
            agent,
            TrackSpec {
                track: 3,
                role: Role::Supervisor,
            },
        ])
        .unwrap();
    assert_eq!(playback.stats()[0].jitter.received, 5);
    playback.set_tracks(&[]).unwrap();
    assert!(playback.stats().is_empty());
    assert_eq!(playback.render(ms(200)).len(), 960);
}
