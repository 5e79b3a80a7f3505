//! Hostile audio: binary frames of every length and header, Opus packets
//! that are corrupt, truncated or lie in their table-of-contents byte, and
//! frame timing that jumps, repeats, runs backwards and bursts.

use super::corpus;
use super::mutate::{ByteEdit, apply_byte_edit, byte_edit};
use floorwalk_audio::jitter::JitterConfig;
use floorwalk_audio::mix::{Gains, Layout};
use floorwalk_protocol::{AudioFrame, FrameHeader, MAX_OPUS_PACKET, Role};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use std::time::Duration;

fn real_packet() -> impl Strategy<Value = Vec<u8>> + Clone {
    any::<Index>().prop_map(|i| {
        let packets = corpus::opus_packets();
        packets[i.index(packets.len())].clone()
    })
}

fn damaged(edits: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> + Clone {
    (real_packet(), vec(byte_edit(), edits)).prop_map(|(mut packet, edits)| {
        for edit in &edits {
            apply_byte_edit(&mut packet, edit);
        }
        packet
    })
}

/// An Opus packet: real, damaged, random, or built around a table-of-contents
/// byte that claims any configuration, frame count and padding.
pub fn opus_packet() -> impl Strategy<Value = Vec<u8>> + Clone {
    prop_oneof![
        2 => real_packet(),
        4 => damaged(1..4),
        2 => vec(any::<u8>(), 0..1400),
        2 => (any::<u8>(), vec(any::<u8>(), 0..80)).prop_map(|(toc, body)| {
            let mut packet = vec![toc];
            packet.extend(body);
            packet
        }),
        // Code 3: a frame-count byte (VBR and padding flags in it too), then
        // padding lengths that may point past the end.
        1 => (0..32u8, any::<u8>(), vec(prop_oneof![Just(255u8), any::<u8>()], 0..40)).prop_map(
            |(config, count, rest)| {
                let mut packet = vec![(config << 3) | 3, count];
                packet.extend(rest);
                packet
            }
        ),
    ]
}

fn header() -> impl Strategy<Value = FrameHeader> + Clone {
    (any::<u16>(), any::<u32>(), any::<u32>(), any::<u32>()).prop_map(
        |(flags, track, seq, timestamp)| FrameHeader {
            flags,
            track,
            seq,
            timestamp,
        },
    )
}

/// A binary frame as a hostile peer might send it.
pub fn frame_bytes() -> impl Strategy<Value = Vec<u8>> + Clone {
    let valid = (header(), 1..=MAX_OPUS_PACKET, any::<u8>()).prop_map(|(header, len, fill)| {
        let opus = vec![fill; len];
        AudioFrame {
            header,
            opus: &opus,
        }
        .encode()
        .unwrap()
    });
    let edited = (valid.clone(), vec(byte_edit(), 1..4)).prop_map(|(mut bytes, edits)| {
        for edit in &edits {
            apply_byte_edit(&mut bytes, edit);
        }
        bytes
    });
    let at_the_limits = (
        prop::sample::select(&[0usize, 1, 15, 16, 17, 1290, 1291, 1292, 4096][..]),
        header(),
        any::<(u8, u8)>(),
    )
        .prop_map(|(len, header, (version, codec))| {
            let opus = [0u8; 1];
            let mut bytes = AudioFrame {
                header,
                opus: &opus,
            }
            .encode()
            .unwrap();
            bytes.resize(len, 0xab);
            if len > 1 {
                bytes[0] = version % 3;
                bytes[1] = codec % 3;
            }
            bytes
        });
    prop_oneof![
        2 => vec(any::<u8>(), 0..1400),
        3 => valid,
        3 => edited,
        2 => at_the_limits,
    ]
}

/// How a per-track counter (seq or timestamp) moves from one frame to the next.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    Next,
    Repeat,
    Back(u32),
    Skip(u32),
    Anywhere(u32),
}

fn step() -> impl Strategy<Value = Step> + Clone {
    prop_oneof![
        20 => Just(Step::Next),
        1 => Just(Step::Repeat),
        1 => (1..40u32).prop_map(Step::Back),
        2 => (2..40u32).prop_map(Step::Skip),
        1 => any::<u32>().prop_map(Step::Anywhere),
    ]
}

impl Step {
    /// Moves `value` on by this step, in units of `unit` (1 for seq, 960
    /// samples for timestamps), wrapping as the wire does.
    pub fn apply(self, value: &mut u32, unit: u32) {
        *value = match self {
            Step::Next => value.wrapping_add(unit),
            Step::Repeat => *value,
            Step::Back(n) => value.wrapping_sub(n.wrapping_mul(unit)),
            Step::Skip(n) => value.wrapping_add(n.wrapping_mul(unit)),
            Step::Anywhere(n) => n,
        };
    }
}

/// Time between two operations, in microseconds: mostly a frame's worth
/// with jitter, sometimes a burst (0), sometimes a long stall.
fn gap_us() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![
        12 => 15_000..25_000u64,
        4 => Just(0u64),
        3 => 0..100_000u64,
        1 => 100_000..3_000_000u64,
        1 => Just(600_000_000u64),
    ]
}

/// One operation on a jitter buffer.
#[derive(Debug, Clone)]
pub enum JitterOp {
    Push {
        gap_us: u64,
        seq: Step,
        timestamp: Step,
        flags: u16,
        /// Payload length (0 is an empty packet).
        len: usize,
    },
    Pop {
        gap_us: u64,
    },
}

pub fn jitter_config() -> impl Strategy<Value = JitterConfig> + Clone {
    let custom = (0..300u64, 0..2_000u64, 0..1_000u64, 0..1_000usize).prop_map(
        |(min_ms, max_ms, conceal_ms, window)| JitterConfig {
            min_delay: Duration::from_millis(min_ms),
            max_delay: Duration::from_millis(max_ms),
            conceal_for: Duration::from_millis(conceal_ms),
            window,
        },
    );
    prop_oneof![2 => Just(JitterConfig::default()), 1 => custom]
}

pub fn jitter_script() -> impl Strategy<Value = (JitterConfig, Vec<JitterOp>)> + Clone {
    let flags = prop_oneof![4 => Just(0u16), 1 => 0..4u16, 1 => any::<u16>()];
    let op = prop_oneof![
        1 => (gap_us(), step(), step(), flags, prop_oneof![8 => 4..200usize, 1 => 0..4usize])
            .prop_map(|(gap_us, seq, timestamp, flags, len)| JitterOp::Push {
                gap_us,
                seq,
                timestamp,
                flags,
                len,
            }),
        1 => gap_us().prop_map(|gap_us| JitterOp::Pop { gap_us }),
    ];
    (jitter_config(), vec(op, 1..120))
}

/// What a pushed frame carries on the wire.
#[derive(Debug, Clone)]
pub enum Wire {
    /// A well-formed frame around this Opus packet.
    Packet(Vec<u8>),
    /// A well-formed frame, then damaged.
    Damaged(Vec<u8>, Vec<ByteEdit>),
    /// Anything at all.
    Raw(Vec<u8>),
}

/// One operation on the playback core.
#[derive(Debug, Clone)]
pub enum PlaybackOp {
    Push {
        gap_us: u64,
        /// Which of [`TRACKS`] the frame claims to be.
        track: Index,
        seq: Step,
        timestamp: Step,
        flags: u16,
        wire: Wire,
    },
    Render {
        gap_us: u64,
    },
    SetTracks(Vec<(Index, Role)>),
    SetGains(Gains),
}

/// Track numbers frames claim: the last is never played.
pub const TRACKS: [u32; 4] = [1, 2, u32::MAX, 77];

fn role() -> impl Strategy<Value = Role> + Clone {
    prop::sample::select(
        &[
            Role::Customer,
            Role::Agent,
            Role::Supervisor,
            Role::Bot,
            Role::Unknown,
        ][..],
    )
}

fn gains() -> impl Strategy<Value = Gains> + Clone {
    (0.0..4.0f32, 0.0..4.0f32, 0.0..4.0f32).prop_map(|(customer, agent, others)| Gains {
        customer,
        agent,
        others,
    })
}

pub fn playback_script()
-> impl Strategy<Value = (Layout, Vec<(Index, Role)>, Vec<PlaybackOp>)> + Clone {
    let layout = prop::sample::select(&[Layout::Mono, Layout::SplitEar][..]);
    let tracks = vec((any::<Index>(), role()), 0..4);
    let wire = prop_oneof![
        6 => opus_packet().prop_map(Wire::Packet),
        1 => (opus_packet(), vec(byte_edit(), 1..3)).prop_map(|(p, e)| Wire::Damaged(p, e)),
        1 => vec(any::<u8>(), 0..64).prop_map(Wire::Raw),
    ];
    let flags = prop_oneof![4 => Just(0u16), 1 => 0..4u16, 1 => any::<u16>()];
    let op = prop_oneof![
        10 => (gap_us(), any::<Index>(), step(), step(), flags, wire).prop_map(
            |(gap_us, track, seq, timestamp, flags, wire)| PlaybackOp::Push {
                gap_us,
                track,
                seq,
                timestamp,
                flags,
                wire,
            }
        ),
        8 => gap_us().prop_map(|gap_us| PlaybackOp::Render { gap_us }),
        1 => tracks.clone().prop_map(PlaybackOp::SetTracks),
        1 => gains().prop_map(PlaybackOp::SetGains),
    ];
    (layout, tracks, vec(op, 1..40))
}
