//! A short soak (about 20 s; `benches/soak.rs` runs for minutes and reports
//! figures): a 2,000-agent simulator at ten times a real floor's pace, the
//! real console attached. Nothing crashes, the console's memory does not
//! grow past a generous bound, and keys are still answered at the end. No
//! speed is asserted: the machine may be busy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/soak.rs"]
mod soak;
mod support;

use soak::{SoakConfig, run, summary, table};
use std::time::Duration;

#[test]
fn a_busy_floor_for_twenty_seconds() {
    let home = tempfile::tempdir().unwrap();
    let config = SoakConfig {
        agents: 2000,
        speed: 10.0,
        min_call_secs: 5,
        duration: Duration::from_secs(20),
        every: Duration::from_secs(2),
    };
    let report = run(&config, home.path());
    println!("{}\n{}", table(&report), summary(&report));

    assert_eq!(report.console_exit, 0, "the console quit cleanly");
    assert!(
        report.total_events > 1000,
        "a busy floor: {} events",
        report.total_events
    );
    let samples = &report.samples;
    assert!(samples.len() >= 5, "{} samples", samples.len());
    // Memory: the last sample within 1.5x of the one about 5 s in (the
    // first seconds still fill the floor and the allocator's pools).
    let early = samples
        .iter()
        .find(|s| s.at >= Duration::from_secs(5))
        .unwrap();
    let last = samples.last().unwrap();
    assert!(
        last.console.rss_kib * 2 <= early.console.rss_kib * 3,
        "console memory grew from {} KiB to {} KiB",
        early.console.rss_kib,
        last.console.rss_kib
    );
    // Responsive to the end: the last probes were answered.
    assert!(last.key_ms.is_some(), "the last key went unanswered");
    assert!(
        samples.iter().rev().take(3).any(|s| s.join_ms.is_some()),
        "no join shown lately"
    );
}
