#![allow(clippy::unwrap_used)]

use super::*;
use crate::signal::{Level, best_correlation, sine};

/// A sine tone at any rate.
fn tone_at(rate: u32, hz: f32, amplitude: f32, samples: usize) -> Vec<f32> {
    let step = std::f64::consts::TAU * f64::from(hz) / f64::from(rate);
    (0..samples)
        .map(|i| amplitude * (step * i as f64).sin() as f32)
        .collect()
}

/// Streams mono `signal` through a fixed-input resampler, 20 ms a call, as
/// the device output does.
fn stream(from: u32, to: u32, signal: &[f32]) -> (Vec<f32>, usize) {
    let chunk = from as usize / 50;
    let mut resampler = Resampler::new(from, to, 1, Fixed::Input(chunk)).unwrap();
    let mut out = Vec::new();
    let mut block = vec![0.0; resampler.output_frames_max()];
    for input in signal.chunks_exact(chunk) {
        let (taken, given) = resampler.process(input, &mut block).unwrap();
        assert_eq!(taken, chunk);
        out.extend_from_slice(&block[..given]);
    }
    (out, resampler.output_delay())
}

/// The level of what came out, relative to a full-level copy of the input
/// tone, in dB; the filter's first 20 ms are left out.
fn gain_db(from: u32, to: u32, hz: f32) -> f32 {
    let input = tone_at(from, hz, 0.5, from as usize);
    let (out, _) = stream(from, to, &input);
    let settled = &out[to as usize / 50..];
    20.0 * (Level::of(settled).rms / Level::of(&input).rms).log10()
}

#[test]
fn tones_the_new_rate_cannot_carry_are_filtered_out_not_folded_back() {
    // A linear interpolator passes these at full level, as aliases at 4 kHz
    // and 3 kHz.
    for (hz, to) in [(20_000.0, 16_000), (20_000.0, 8_000), (5_000.0, 8_000)] {
        let gain = gain_db(48_000, to, hz);
        assert!(
            gain < -60.0,
            "{hz} Hz into {to} Hz came out at {gain:.1} dB"
        );
    }
}

#[test]
fn tones_in_the_voice_band_pass_at_full_level() {
    for (from, to) in [
        (48_000, 16_000),
        (48_000, 8_000),
        (48_000, 44_100),
        (16_000, 48_000),
    ] {
        let gain = gain_db(from, to, 1_000.0);
        assert!(
            gain.abs() < 0.2,
            "1 kHz from {from} into {to} Hz: {gain:.2} dB"
        );
    }
    // The top of the telephone band, just under an 8 kHz device's limit.
    let gain = gain_db(48_000, 8_000, 3_400.0);
    assert!(gain > -1.0, "3.4 kHz into 8 kHz: {gain:.2} dB");
}

#[test]
fn a_clip_keeps_its_length_ratio_its_shape_and_its_start() {
    let input = tone_at(44_100, 440.0, 0.5, 44_100);
    let out = resample_clip(&input, 44_100, 48_000).unwrap();
    assert_eq!(out.len(), 48_000);
    assert_eq!(
        resample_clip(&input[..100], 44_100, 48_000).unwrap().len(),
        109
    );
    // The same tone at 48 kHz, from the first sample.
    let (lag, c) = best_correlation(&sine(440.0, 0.5, 47_000), &out, 4);
    assert!(c > 0.999 && lag == 0, "{c} at {lag}");
    let third = resample_clip(&out, 48_000, 16_000).unwrap();
    assert_eq!(third.len(), 16_000);
    assert_eq!(
        resample_clip(&[], 8_000, 48_000).unwrap(),
        Vec::<f32>::new()
    );
}

#[test]
fn a_stream_is_the_clip_delayed_by_the_filter() {
    let input = tone_at(44_100, 440.0, 0.5, 44_100);
    let (out, delay) = stream(44_100, 48_000, &input);
    assert!(delay > 0 && delay < 192, "a delay of {delay} frames");
    // All of it but the few frames the filter still holds.
    assert!((48_000 - 8..=48_000).contains(&out.len()), "{}", out.len());
    let (lag, c) = best_correlation(&sine(440.0, 0.5, 46_000), &out[delay..], 4);
    assert!(c > 0.999 && lag <= 1, "{c} at {lag}");
}

#[test]
fn fixed_output_gives_whole_frames_from_what_the_device_sends() {
    let input = tone_at(44_100, 300.0, 0.5, 44_100);
    let mut resampler = Resampler::new(44_100, 48_000, 1, Fixed::Output(960)).unwrap();
    let mut frame = vec![0.0; resampler.output_frames_max()];
    assert_eq!(frame.len(), 960);
    let (mut at, mut out) = (0, Vec::new());
    while at + resampler.input_frames_next() <= input.len() {
        let need = resampler.input_frames_next();
        assert!((870..=900).contains(&need), "20 ms at 44.1 kHz, not {need}");
        let (taken, given) = resampler.process(&input[at..], &mut frame).unwrap();
        assert_eq!((taken, given), (need, 960));
        at += taken;
        out.extend_from_slice(&frame);
    }
    let delay = resampler.output_delay();
    let (lag, c) = best_correlation(&sine(300.0, 0.5, 40_000), &out[delay..], 4);
    assert!(c > 0.999 && lag <= 1, "{c} at {lag}");
}

#[test]
fn channels_stay_apart() {
    // Left: a tone; right: silence.
    let left = sine(300.0, 0.5, 4_800);
    let stereo: Vec<f32> = left.iter().flat_map(|&s| [s, 0.0]).collect();
    let mut resampler = Resampler::new(48_000, 44_100, 2, Fixed::Input(960)).unwrap();
    let mut out = vec![0.0; 2 * resampler.output_frames_max()];
    let (mut l, mut r) = (Vec::new(), Vec::new());
    for chunk in stereo.chunks_exact(2 * 960) {
        let (_, given) = resampler.process(chunk, &mut out).unwrap();
        for frame in out[..2 * given].chunks_exact(2) {
            l.push(frame[0]);
            r.push(frame[1]);
        }
    }
    assert!(Level::of(&l).rms > 0.3, "{:?}", Level::of(&l));
    assert_eq!(Level::of(&r).peak, 0.0);
}

#[test]
fn equal_rates_pass_the_audio_as_it_is() {
    let mut resampler = Resampler::new(48_000, 48_000, 2, Fixed::Input(2)).unwrap();
    assert_eq!(resampler.output_delay(), 0);
    let mut out = [0.0; 4];
    let taken = resampler.process(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], &mut out);
    assert_eq!(taken.unwrap(), (2, 2));
    assert_eq!(out, [0.1, 0.2, 0.3, 0.4]);
    // Too little in or too little room is an error, as for any rate.
    assert!(resampler.process(&[0.1, 0.2], &mut out).is_err());
    assert!(resampler.process(&[0.0; 4], &mut [0.0; 2]).is_err());
    let mut other = Resampler::new(48_000, 16_000, 1, Fixed::Input(960)).unwrap();
    assert!(other.process(&[0.0; 10], &mut [0.0; 960]).is_err());
}

#[test]
fn downmix_averages_the_channels() {
    let mut mono = Vec::new();
    downmix(&[0.2, 0.4, 1.0, 0.0], 2, &mut mono);
    assert_eq!(mono, vec![0.3, 0.5]);
}
