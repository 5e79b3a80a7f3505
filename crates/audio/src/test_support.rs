//! Helpers shared by the crate's unit tests.
#![allow(clippy::unwrap_used)]

use super::FRAME_SAMPLES;
use super::codec::Encoder;
use floorwalk_protocol::{AudioFrame, FrameHeader};
use std::path::Path;

/// Writes `samples` as a 16-bit WAV file, each sample on every channel.
pub(crate) fn write_wav(path: &Path, rate: u32, channels: u16, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in samples {
        for _ in 0..channels {
            w.write_sample((s * 32767.0) as i16).unwrap();
        }
    }
    w.finalize().unwrap();
}

/// Encodes `pcm` as wire frames of `track`.
pub(crate) fn wire_frames(track: u32, pcm: &[f32]) -> Vec<Vec<u8>> {
    let mut enc = Encoder::voip().unwrap();
    pcm.chunks_exact(FRAME_SAMPLES as usize)
        .enumerate()
        .map(|(i, chunk)| {
            let header = FrameHeader {
                flags: 0,
                track,
                seq: i as u32,
                timestamp: i as u32 * FRAME_SAMPLES,
            };
            AudioFrame {
                header,
                opus: enc.encode(chunk).unwrap(),
            }
            .encode()
            .unwrap()
        })
        .collect()
}
