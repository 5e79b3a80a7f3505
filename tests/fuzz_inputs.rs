//! Bad input never crashes anything: a quick fuzz pass over every reader of
//! untrusted input (the bench `benches/fuzz.rs` runs a million cases and
//! more per target). A failure names the smallest input that broke it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fuzz_support;

/// Cases per target in the test suite: enough to catch a regression on
/// every run, few enough to stay quick.
const CASES: u32 = 256;

#[test]
fn server_text_frames() {
    fuzz_support::quick("parse_server", CASES);
}

#[test]
fn client_text_frames() {
    fuzz_support::quick("parse_client", CASES);
}

#[test]
fn binary_audio_frames() {
    fuzz_support::quick("audio_frame", CASES);
}

#[test]
fn corrupt_opus_packets() {
    fuzz_support::quick("opus_decode", CASES);
}

#[test]
fn jitter_buffer_timing() {
    fuzz_support::quick("jitter", CASES);
}

#[test]
fn playback_of_hostile_frames() {
    fuzz_support::quick("playback", CASES);
}

#[test]
fn config_files() {
    fuzz_support::quick("config", CASES);
}

#[test]
fn simulator_tokens_files() {
    fuzz_support::quick("accounts", CASES);
}

#[test]
fn floor_event_sequences() {
    fuzz_support::quick("floor", CASES);
}

#[test]
fn app_inputs_and_drawing() {
    fuzz_support::quick("app", CASES);
}

#[test]
fn every_target_has_a_test() {
    let names: Vec<&str> = fuzz_support::TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "parse_server",
            "parse_client",
            "audio_frame",
            "opus_decode",
            "jitter",
            "playback",
            "config",
            "accounts",
            "floor",
            "app"
        ]
    );
}
