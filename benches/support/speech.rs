//! Speech for the audio benchmarks: the committed clips as wire frames.

use floorwalk_audio::FRAME_SAMPLES;
use floorwalk_audio::assets::clips;
use floorwalk_audio::playback::TrackSpec;
use floorwalk_protocol::{AudioFrame, FrameHeader, Role};

/// A party's speech as Opus packets: all of its clips back to back.
pub fn speech(role: Role) -> Vec<Vec<u8>> {
    clips(role)
        .flat_map(|clip| clip.packets().expect("assets parse").packets)
        .collect()
}

/// A binary frame of `track`, numbered `seq`, timestamped to match.
pub fn wire(track: u32, seq: u32, opus: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        flags: 0,
        track,
        seq,
        timestamp: seq.wrapping_mul(FRAME_SAMPLES),
    };
    AudioFrame { header, opus }.encode().expect("valid frame")
}

/// A call's customer and agent tracks, as the engine plays them.
pub fn call_tracks(customer: u32, agent: u32) -> Vec<TrackSpec> {
    vec![
        TrackSpec {
            track: customer,
            role: Role::Customer,
        },
        TrackSpec {
            track: agent,
            role: Role::Agent,
        },
    ]
}
