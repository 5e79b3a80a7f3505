//! Small signal helpers: levels for the meters, a test tone, and a
//! similarity measure (for `doctor`, tests and benchmarks).

use super::SAMPLE_RATE;

/// The peak and RMS of a stretch of samples, both linear (1.0 = full scale).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Level {
    pub peak: f32,
    pub rms: f32,
}

impl Level {
    pub fn of(samples: &[f32]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        let (peak, sum) = samples.iter().fold((0.0f32, 0.0f64), |(peak, sum), s| {
            (peak.max(s.abs()), sum + f64::from(s * s))
        });
        Self {
            peak,
            rms: (sum / samples.len() as f64).sqrt() as f32,
        }
    }

    /// The louder of two levels, per measure.
    pub fn max(self, other: Self) -> Self {
        Self {
            peak: self.peak.max(other.peak),
            rms: self.rms.max(other.rms),
        }
    }

    /// RMS in dBFS, floored at -96.
    pub fn rms_dbfs(&self) -> f32 {
        (20.0 * self.rms.max(1e-5).log10()).max(-96.0)
    }
}

/// A sine tone at 48 kHz.
pub fn sine(hz: f32, amplitude: f32, samples: usize) -> Vec<f32> {
    let step = std::f32::consts::TAU * hz / SAMPLE_RATE as f32;
    (0..samples)
        .map(|i| amplitude * (step * i as f32).sin())
        .collect()
}

/// The amplitude of a `hz` sine in `samples` taken at `rate` (a
/// single-bin DFT): how strongly one tone is there, whatever else is.
pub fn tone_amplitude(samples: &[f32], hz: f32, rate: u32) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let step = std::f32::consts::TAU * hz / rate as f32;
    let (mut re, mut im) = (0.0f32, 0.0f32);
    for (i, s) in samples.iter().enumerate() {
        let phase = step * i as f32;
        re += s * phase.cos();
        im += s * phase.sin();
    }
    2.0 * (re * re + im * im).sqrt() / samples.len() as f32
}

/// Normalised correlation of two equally long signals (1.0 = same shape).
pub fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a[..n].iter().zip(&b[..n]) {
        ab += f64::from(x * y);
        aa += f64::from(x * x);
        bb += f64::from(y * y);
    }
    if aa == 0.0 || bb == 0.0 {
        return 0.0;
    }
    (ab / (aa * bb).sqrt()) as f32
}

/// Where `a` best matches inside `b`, over lags `0..max_lag` (b later):
/// the lag and the correlation there.
pub fn best_correlation(a: &[f32], b: &[f32], max_lag: usize) -> (usize, f32) {
    let n = a.len().min(b.len().saturating_sub(max_lag));
    (0..max_lag)
        .map(|lag| (lag, correlation(&a[..n], &b[lag..lag + n])))
        .fold((0, f32::MIN), |best, c| if c.1 > best.1 { c } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_of_a_full_scale_sine() {
        let level = Level::of(&sine(1000.0, 1.0, 4800));
        assert!((level.peak - 1.0).abs() < 1e-3);
        assert!((level.rms - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-3);
        assert!((level.rms_dbfs() + 3.01).abs() < 0.05);
        assert_eq!(Level::of(&[]).rms_dbfs(), -96.0);
    }

    #[test]
    fn correlation_finds_a_delayed_copy() {
        let a = sine(220.0, 0.5, 4800);
        let mut b = vec![0.0; 100];
        b.extend_from_slice(&a);
        let (lag, c) = best_correlation(&a, &b, 200);
        assert_eq!(lag, 100);
        assert!(c > 0.999);
        assert_eq!(correlation(&a, &vec![0.0; 4800]), 0.0);
    }
}
