//! Sample-rate and channel conversion for devices and WAV files that are not
//! 48 kHz mono. Linear interpolation: plenty for speech on a headset.

/// A streaming linear resampler for mono f32 audio.
#[derive(Debug, Clone)]
pub struct Resampler {
    /// Input samples per output sample.
    step: f64,
    /// Position of the next output sample, in input samples, relative to
    /// the first sample of the next input block (may be negative: between
    /// `last` and that sample).
    pos: f64,
    last: f32,
}

impl Resampler {
    pub fn new(from_rate: u32, to_rate: u32) -> Self {
        Self {
            step: f64::from(from_rate.max(1)) / f64::from(to_rate.max(1)),
            pos: 0.0,
            last: 0.0,
        }
    }

    pub fn is_identity(&self) -> bool {
        self.step == 1.0
    }

    /// Converts `input`, appending to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        if self.is_identity() {
            out.extend_from_slice(input);
            return;
        }
        let n = input.len() as f64;
        // Positions in the last interval wait for the next block's first sample.
        while self.pos < n - 1.0 {
            let (a, b, frac) = if self.pos < 0.0 {
                (self.last, input[0], self.pos + 1.0)
            } else {
                let i = self.pos.floor() as usize;
                (input[i], input[i + 1], self.pos - i as f64)
            };
            out.push(a + (b - a) * frac as f32);
            self.pos += self.step;
        }
        if let Some(&tail) = input.last() {
            self.last = tail;
            self.pos -= n;
        }
    }
}

/// Averages interleaved channels into mono, appending to `out`.
pub fn downmix(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    let channels = channels.max(1);
    out.extend(
        interleaved
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() / channels as f32),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::{best_correlation, sine};

    #[test]
    fn resampling_keeps_the_length_ratio_and_the_shape() {
        let step = std::f32::consts::TAU * 440.0 / 44_100.0;
        let input: Vec<f32> = (0..44_100).map(|i| 0.5 * (step * i as f32).sin()).collect();
        let mut r = Resampler::new(44_100, 48_000);
        let mut out = Vec::new();
        for chunk in input.chunks(441) {
            r.process(chunk, &mut out);
        }
        assert!((out.len() as i64 - 48_000).abs() <= 2, "{}", out.len());
        // The same tone at 48 kHz.
        let (_, c) = best_correlation(&sine(440.0, 0.5, 47_000), &out, 4);
        assert!(c > 0.999, "{c}");
        let mut down = Resampler::new(48_000, 16_000);
        let mut third = Vec::new();
        down.process(&out, &mut third);
        assert!((third.len() as i64 - 16_000).abs() <= 2);
    }

    #[test]
    fn identity_and_downmix() {
        let mut r = Resampler::new(48_000, 48_000);
        let mut out = Vec::new();
        r.process(&[0.1, 0.2], &mut out);
        assert_eq!(out, vec![0.1, 0.2]);
        let mut mono = Vec::new();
        downmix(&[0.2, 0.4, 1.0, 0.0], 2, &mut mono);
        assert_eq!(mono, vec![0.3, 0.5]);
    }
}
