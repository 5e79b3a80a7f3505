//! The test tone of the round trip: made into wire frames to send, and
//! looked for in what a party heard.

use floorwalk_audio::codec::Encoder;
use floorwalk_audio::signal::{best_correlation, sine};
use floorwalk_audio::{FRAME_SAMPLES, SAMPLE_RATE};
use floorwalk_protocol::{AudioFrame, FLAG_SPURT_END, FLAG_SPURT_START, FrameHeader};

/// The test tone: 1 kHz, half scale, one second of 20 ms frames.
pub const TONE_HZ: f32 = 1000.0;
const TONE_AMPLITUDE: f32 = 0.5;
const TONE_FRAMES: usize = 50;

/// The test tone as wire frames on `track`: one talk spurt.
pub fn tone_frames(track: u32) -> Result<Vec<Vec<u8>>, String> {
    let mut encoder = Encoder::voip().map_err(|e| e.to_string())?;
    let per_frame = FRAME_SAMPLES as usize;
    let tone = sine(TONE_HZ, TONE_AMPLITUDE, per_frame * TONE_FRAMES);
    let mut frames = Vec::with_capacity(TONE_FRAMES);
    for (seq, samples) in (0u32..).zip(tone.chunks(per_frame)) {
        let mut flags = 0;
        if seq == 0 {
            flags |= FLAG_SPURT_START;
        }
        if seq as usize + 1 == TONE_FRAMES {
            flags |= FLAG_SPURT_END;
        }
        let opus = encoder.encode(samples).map_err(|e| e.to_string())?;
        let header = FrameHeader {
            flags,
            track,
            seq,
            timestamp: seq * FRAME_SAMPLES,
        };
        let frame = AudioFrame { header, opus }
            .encode()
            .map_err(|e| e.to_string())?;
        frames.push(frame);
    }
    Ok(frames)
}

/// Whether a stretch of at least 0.2 s of the tone is in the samples: 20 ms
/// windows that match a sine of `hz` closely at their best phase.
pub fn contains_tone(samples: &[f32], hz: f32) -> bool {
    const MIN_WINDOWS: usize = 10;
    const MATCH: f32 = 0.8;
    let window = FRAME_SAMPLES as usize;
    let period = (SAMPLE_RATE as f32 / hz).ceil() as usize;
    let template = sine(hz, 1.0, window);
    samples
        .windows(window + period)
        .step_by(window)
        .filter(|stretch| best_correlation(&template, stretch, period).1 >= MATCH)
        .nth(MIN_WINDOWS - 1)
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwalk_audio::codec::Decoder;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    fn noise(seed: u64, amplitude: f32, len: usize) -> Vec<f32> {
        let mut rng = SmallRng::seed_from_u64(seed);
        (0..len)
            .map(|_| amplitude * (rng.random::<f32>() * 2.0 - 1.0))
            .collect()
    }

    #[test]
    fn the_tone_is_found_alone_and_under_speech_level_noise() {
        let second = SAMPLE_RATE as usize;
        let mut heard = vec![0.0; second / 2];
        heard.extend(sine(TONE_HZ, TONE_AMPLITUDE, second));
        heard.extend(vec![0.0; second / 2]);
        assert!(contains_tone(&heard, TONE_HZ));
        let noisy: Vec<f32> = heard
            .iter()
            .zip(noise(7, 0.1, heard.len()))
            .map(|(a, b)| a + b)
            .collect();
        assert!(contains_tone(&noisy, TONE_HZ));
    }

    #[test]
    fn no_tone_in_silence_noise_other_pitches_or_a_blip() {
        let second = SAMPLE_RATE as usize;
        assert!(!contains_tone(&vec![0.0; second], TONE_HZ));
        assert!(!contains_tone(&noise(3, 0.5, second), TONE_HZ));
        assert!(!contains_tone(&sine(440.0, 0.5, second), TONE_HZ));
        assert!(!contains_tone(&sine(TONE_HZ, 0.5, second / 10), TONE_HZ));
        assert!(!contains_tone(&[], TONE_HZ));
    }

    #[test]
    fn the_tone_frames_are_one_spurt_on_the_leg_and_decode_to_the_tone() {
        let frames = tone_frames(31).unwrap();
        assert_eq!(frames.len(), TONE_FRAMES);
        let mut decoder = Decoder::new().unwrap();
        let mut pcm = Vec::new();
        for (i, bytes) in frames.iter().enumerate() {
            let frame = AudioFrame::decode(bytes).unwrap();
            assert_eq!(frame.header.track, 31);
            assert_eq!(frame.header.seq as usize, i);
            assert_eq!(frame.header.timestamp, i as u32 * FRAME_SAMPLES);
            assert_eq!(frame.header.spurt_start(), i == 0);
            assert_eq!(frame.header.spurt_end(), i + 1 == TONE_FRAMES);
            let mut out = vec![0.0; FRAME_SAMPLES as usize];
            decoder.decode(frame.opus, &mut out).unwrap();
            pcm.extend(out);
        }
        assert!(contains_tone(&pcm, TONE_HZ));
    }
}
