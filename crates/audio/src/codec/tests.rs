#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::signal::{best_correlation, sine};

#[test]
fn a_sine_survives_the_round_trip() {
    let input = sine(440.0, 0.3, 50 * FRAME_SAMPLES as usize);
    let mut enc = Encoder::voip().unwrap();
    let mut dec = Decoder::new().unwrap();
    let mut output = Vec::new();
    let mut frame = vec![0.0; FRAME_SAMPLES as usize];
    for chunk in input.chunks(FRAME_SAMPLES as usize) {
        let packet = enc.encode(chunk).unwrap().to_vec();
        assert!(!packet.is_empty() && packet.len() <= MAX_OPUS_PACKET);
        dec.decode(&packet, &mut frame).unwrap();
        output.extend_from_slice(&frame);
    }
    // Opus delays by its look-ahead; find the best lag within 10 ms.
    let (_, best) = best_correlation(&input, &output, 480);
    assert!(best > 0.95, "correlation {best}");
}

#[test]
fn concealment_continues_the_signal_then_fades() {
    let input = sine(300.0, 0.5, 20 * FRAME_SAMPLES as usize);
    let mut enc = Encoder::voip().unwrap();
    let mut dec = Decoder::new().unwrap();
    let mut frame = vec![0.0; FRAME_SAMPLES as usize];
    for chunk in input.chunks(FRAME_SAMPLES as usize) {
        let packet = enc.encode(chunk).unwrap().to_vec();
        dec.decode(&packet, &mut frame).unwrap();
    }
    dec.conceal(&mut frame).unwrap();
    let energy = |f: &[f32]| f.iter().map(|s| s * s).sum::<f32>();
    let first = energy(&frame);
    assert!(first > 1.0, "concealment is not silent: {first}");
    for _ in 0..10 {
        dec.conceal(&mut frame).unwrap();
    }
    assert!(energy(&frame) < first / 4.0, "concealment fades");
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let mut dec = Decoder::new().unwrap();
    let mut frame = vec![1.0; FRAME_SAMPLES as usize];
    assert!(matches!(
        dec.decode(&[], &mut frame),
        Err(CodecError::Empty)
    ));
    // A TOC byte for code 3 (arbitrary frame count) with a missing count byte.
    assert!(dec.decode(&[0xfb], &mut frame).is_err());
    assert!(frame.iter().all(|s| *s == 0.0));
    // Garbage of every length never panics.
    let mut state = 0x1234_5678u32;
    for len in 1..400 {
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        let _ = dec.decode(&junk, &mut frame);
    }
    // A 40 ms packet is refused: floorwalk schedules 20 ms frames.
    let mut enc =
        opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
    let long = enc.encode_vec_float(&vec![0.1; 1920], 400).unwrap();
    assert!(matches!(
        dec.decode(&long, &mut frame),
        Err(CodecError::NotTwentyMs(1920))
    ));
    let mut short = vec![0.0; 100];
    assert!(matches!(
        dec.decode(&long, &mut short),
        Err(CodecError::FrameSize(100))
    ));
    let mut enc = Encoder::voip().unwrap();
    assert!(matches!(
        enc.encode(&[0.0; 10]),
        Err(CodecError::FrameSize(10))
    ));
}
