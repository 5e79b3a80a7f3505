//! Finding the simulator's monitoring notice in a `--record-dir` WAV.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use floorwalk_audio::FRAME_SAMPLES;
use floorwalk_audio::assets::MONITORING_NOTICE;
use floorwalk_audio::codec::Decoder;
use std::path::Path;

/// The notice as the simulator mixes it: its packets decoded one per frame
/// from a fresh decoder, pre-skip included, so it lines up with 20 ms frames.
fn template() -> Vec<f32> {
    let stream = MONITORING_NOTICE.packets().unwrap();
    let mut decoder = Decoder::new().unwrap();
    let frame = FRAME_SAMPLES as usize;
    let mut pcm = vec![0.0; stream.packets.len() * frame];
    for (packet, out) in stream.packets.iter().zip(pcm.chunks_mut(frame)) {
        decoder.decode(packet, out).unwrap();
    }
    pcm
}

/// A recording, 48 kHz mono 16-bit, as far as it was written.
pub fn read_wav(path: &Path) -> Vec<f32> {
    let reader = hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert_eq!(reader.spec().sample_rate, 48_000);
    reader
        .into_samples::<i16>()
        .map_while(Result::ok)
        .map(|s| f32::from(s) / 32768.0)
        .collect()
}

/// The best normalized correlation of the notice with the recording at any
/// frame-aligned start (1: the notice alone, as it was mixed).
pub fn notice_match(samples: &[f32]) -> f32 {
    let notice = template();
    let energy = |s: &[f32]| s.iter().map(|x| x * x).sum::<f32>();
    let notice_energy = energy(&notice);
    let frame = FRAME_SAMPLES as usize;
    let mut best = 0.0f32;
    let mut start = 0;
    while start + notice.len() <= samples.len() {
        let window = &samples[start..start + notice.len()];
        let window_energy = energy(window);
        if window_energy > 0.0 {
            let dot: f32 = window.iter().zip(&notice).map(|(a, b)| a * b).sum();
            best = best.max(dot / (window_energy * notice_energy).sqrt());
        }
        start += frame;
    }
    best
}
