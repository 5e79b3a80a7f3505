//! WAV files for tests: microphones to feed the console, sounds for Asterisk.

use std::path::Path;

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
