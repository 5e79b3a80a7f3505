//! The soak: a `floorwalk sim` with 2,000 agents at ten times a real floor's
//! pace, the real console attached in a pty for three minutes, sampled every
//! five seconds: both processes' memory and CPU, the event rate, how long a
//! key and a join take to show, the link. Prints a table and a summary
//! (median, p95, max); the figures go in docs/reliability.md.
//!
//! `cargo bench --bench soak`; `SOAK_SECS`, `SOAK_AGENTS`, `SOAK_SPEED`,
//! `SOAK_MIN_CALL_SECS` and `SOAK_EVERY_SECS` change the defaults.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/soak.rs"]
mod soak;
#[path = "../tests/support/mod.rs"]
mod support;

use soak::{SoakConfig, run, summary, table};
use std::time::Duration;

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a valid value")),
        Err(_) => default,
    }
}

fn main() {
    let config = SoakConfig {
        agents: setting("SOAK_AGENTS", 2000),
        speed: setting("SOAK_SPEED", 10.0),
        min_call_secs: setting("SOAK_MIN_CALL_SECS", 5),
        duration: Duration::from_secs(setting("SOAK_SECS", 180)),
        every: Duration::from_secs(setting("SOAK_EVERY_SECS", 5)),
    };
    println!("soak: {config:?}");
    let home = tempfile::tempdir().unwrap();
    let report = run(&config, home.path());
    println!("{}", table(&report));
    println!("{}", summary(&report));
    println!("console exit code: {}", report.console_exit);
}
