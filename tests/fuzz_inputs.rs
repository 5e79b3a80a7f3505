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

// The smallest inputs the fuzzing found, kept as plain tests.

/// A jitter buffer whose minimum delay exceeds its maximum: `stats` used
/// `clamp`, which panics on such bounds.
#[test]
fn regression_jitter_stats_with_inverted_delays() {
    use floorwalk_audio::jitter::{JitterBuffer, JitterConfig};
    use std::time::Duration;
    let mut buffer = JitterBuffer::new(JitterConfig {
        min_delay: Duration::from_millis(157),
        max_delay: Duration::ZERO,
        conceal_for: Duration::ZERO,
        window: 0,
    });
    for n in 0..2u32 {
        let at = Duration::from_millis(u64::from(n) * 32);
        buffer.push(n, n * 960, 0, at, &[1, 2, 3, 4]);
        buffer.pop(at + Duration::from_millis(2));
    }
    assert_eq!(buffer.stats().target_delay, Duration::ZERO);
}

/// A reconnect delay too long to count down in milliseconds, shown near the
/// start of the epoch: the header's rounding overflowed.
#[test]
fn regression_header_with_an_endless_reconnect_delay() {
    use floorwalk_console::app::{App, AppSettings, Input};
    use floorwalk_console::feed::FeedEvent;
    use floorwalk_protocol::Timestamp;
    use ratatui::{Terminal, backend::TestBackend};
    let mut app = App::new(AppSettings::default());
    let connecting = FeedEvent::Connecting {
        attempt: 0,
        retry_in: std::time::Duration::MAX,
        last_error: None,
    };
    let now = Timestamp(98);
    app.update(Input::Feed(connecting), now);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|frame| floorwalk_console::ui::draw(frame, &app, now))
        .unwrap();
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|cell| cell.symbol())
        .collect();
    assert!(screen.contains("connecting"), "{screen}");
}
