//! The long fuzz run: at least a million generated cases for every reader of
//! untrusted input (the test suite runs a few hundred of each). Proptest
//! generates the cases; see `tests/fuzz_support` for the targets.
//!
//! ```text
//! cargo bench --profile fuzz --bench fuzz                      # 1,000,000 cases per target
//! FUZZ_CASES=5000000 cargo bench --profile fuzz --bench fuzz   # more
//! cargo bench --profile fuzz --bench fuzz -- jitter app        # only these targets
//! FUZZ_SEED=1234 cargo bench --profile fuzz --bench fuzz       # replay a run
//! ```
//!
//! The `fuzz` profile is the release build with overflow checks and debug
//! assertions on, so an integer overflow fails a case as it does in the
//! tests; under the plain bench profile it would pass unnoticed.
//!
//! Prints the cases per second of each target and any failure with its
//! smallest input, and exits non-zero when a target failed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/fuzz_support/mod.rs"]
mod fuzz_support;

use std::process::ExitCode;
use std::time::Instant;

const DEFAULT_CASES: u32 = 1_000_000;

fn main() -> ExitCode {
    let cases = match std::env::var("FUZZ_CASES") {
        Ok(text) => match text.trim().replace('_', "").parse::<u32>() {
            Ok(cases) if cases > 0 => cases,
            _ => {
                eprintln!("FUZZ_CASES must be a whole number above 0, not {text:?}");
                return ExitCode::FAILURE;
            }
        },
        Err(_) => DEFAULT_CASES,
    };
    // `cargo bench` passes `--bench`; other arguments name targets.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    if let Some(unknown) = wanted
        .iter()
        .find(|w| !fuzz_support::TARGETS.iter().any(|t| &t.name == w))
    {
        let known: Vec<&str> = fuzz_support::TARGETS.iter().map(|t| t.name).collect();
        eprintln!(
            "no fuzz target {unknown:?}; the targets are {}",
            known.join(", ")
        );
        return ExitCode::FAILURE;
    }
    let seed = fuzz_support::seed();
    println!("fuzz: {cases} cases per target, FUZZ_SEED={seed}");
    if !cfg!(debug_assertions) {
        println!(
            "fuzz: warning: built without debug assertions and overflow checks; use --profile fuzz"
        );
    }
    let started = Instant::now();
    let mut failed = Vec::new();
    for target in fuzz_support::TARGETS
        .iter()
        .filter(|t| wanted.is_empty() || wanted.iter().any(|w| w == t.name))
    {
        let begun = Instant::now();
        let result = fuzz_support::run(target, cases, seed);
        let secs = begun.elapsed().as_secs_f64();
        let verdict = if result.is_ok() { "ok" } else { "FAILED" };
        println!(
            "{:<13} {verdict:<6} {cases} cases in {secs:>7.1} s  {:>9.0} cases/s  ({})",
            target.name,
            f64::from(cases) / secs,
            target.what
        );
        if let Err(failure) = result {
            println!("  {}", failure.replace('\n', "\n  "));
            failed.push(target.name);
        }
    }
    println!("fuzz: done in {:.1} s", started.elapsed().as_secs_f64());
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!(
            "fuzz: FAILED: {} (replay with FUZZ_SEED={seed})",
            failed.join(", ")
        );
        ExitCode::FAILURE
    }
}
