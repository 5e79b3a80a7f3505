//! WAV files for tests: microphones to feed the console, sounds for Asterisk.

use floorwalk_audio::signal::{Level, best_correlation, sine};
use std::path::Path;

/// 20 ms at 48 kHz.
const WINDOW: usize = 960;

/// A 16-bit WAV file's samples (-1..1).
pub fn read_wav(path: &Path) -> Vec<f32> {
    hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect()
}

/// How many 20 ms windows hold a tone of `hz` sent at `amplitude` (loud
/// enough, and matching it closely at their best phase).
pub fn windows_with_tone(samples: &[f32], hz: f32, amplitude: f32) -> usize {
    let period = (48_000.0 / hz).ceil() as usize;
    let template = sine(hz, 1.0, WINDOW);
    samples
        .windows(WINDOW + period)
        .step_by(WINDOW)
        .filter(|w| Level::of(&w[..WINDOW]).rms > amplitude / 4.0)
        .filter(|w| best_correlation(&template, w, period).1 > 0.8)
        .count()
}

/// Writes `samples` (-1..1) as a 16-bit 48 kHz mono WAV file.
pub fn write_mono(path: &Path, samples: &[f32]) {
    write_mono_at(path, 48_000, samples);
}

/// Writes `samples` (-1..1) as a 16-bit mono WAV file at `sample_rate`.
pub fn write_mono_at(path: &Path, sample_rate: u32, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut wav = hound::WavWriter::create(path, spec).unwrap();
    for s in samples {
        wav.write_sample((s * 32767.0) as i16).unwrap();
    }
    wav.finalize().unwrap();
}
