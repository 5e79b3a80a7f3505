//! Fuzzing with proptest: generators of hostile input and the targets that
//! must survive it. Shared by the quick runs in `tests/fuzz_inputs.rs` (a
//! few hundred cases per target) and the long runs of `benches/fuzz.rs`
//! (a million and more per target).
//!
//! Every target feeds one kind of untrusted input to the code that reads it
//! and checks that nothing panics (libopus and the TOML parser would abort
//! the process instead, which fails the run just as loudly), and that what
//! comes out still makes sense: a decoded frame encodes back to its bytes,
//! a floor stays consistent, audio stays finite and limited.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

pub mod audio;
#[path = "../support/config_keys.rs"]
pub mod config_keys;
pub mod corpus;
pub mod events;
pub mod mutate;
pub mod targets;
pub mod tree;

use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
use std::fmt::Debug;

/// The result of running one target: `Err` describes the smallest failing
/// input proptest found.
pub type Outcome = Result<(), String>;

/// One fuzz target.
pub struct Target {
    pub name: &'static str,
    /// What is fed to what, for the bench's report.
    pub what: &'static str,
    pub run: fn(&mut TestRunner) -> Outcome,
    /// The stack of the thread this code runs on in floorwalk: the target
    /// runs on one of that size, so a recursion that would overflow there
    /// fails here too.
    pub stack: usize,
}

/// Tokio's worker threads (the feed, the simulator's connections) and plain
/// `std::thread`s (the audio engine) get 2 MiB.
const WORKER: usize = 2 * 1024 * 1024;
/// The main thread (configuration, and the console's app task, which runs
/// in `block_on`) gets 8 MiB on Linux.
const MAIN: usize = 8 * 1024 * 1024;

/// Every target, in the order the bench runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "parse_server",
        what: "hostile text frames into protocol::parse_server",
        run: targets::parse_server,
        stack: WORKER,
    },
    Target {
        name: "parse_client",
        what: "hostile text frames into protocol::parse_client",
        run: targets::parse_client,
        stack: WORKER,
    },
    Target {
        name: "audio_frame",
        what: "hostile binary frames into protocol::AudioFrame::decode",
        run: targets::audio_frame,
        stack: WORKER,
    },
    Target {
        name: "opus_decode",
        what: "corrupt Opus packets into audio::codec::Decoder",
        run: targets::opus_decode,
        stack: WORKER,
    },
    Target {
        name: "jitter",
        what: "hostile frame timing into audio::jitter::JitterBuffer",
        run: targets::jitter,
        stack: WORKER,
    },
    Target {
        name: "playback",
        what: "hostile frames through audio::playback::Playback (jitter, decode, mix)",
        run: targets::playback,
        stack: WORKER,
    },
    Target {
        name: "config",
        what: "hostile TOML into config::Config::parse and the key map",
        run: targets::config,
        stack: MAIN,
    },
    Target {
        name: "accounts",
        what: "hostile TOML into sim::accounts::parse_accounts",
        run: targets::accounts,
        stack: MAIN,
    },
    Target {
        name: "floor",
        what: "hostile event sequences into state::Floor::apply",
        run: targets::floor,
        stack: MAIN,
    },
    Target {
        name: "app",
        what: "hostile keys, mouse, resizes and feed events into app::App, then ui::draw",
        run: targets::app,
        stack: MAIN,
    },
];

pub fn target(name: &str) -> &'static Target {
    TARGETS
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"))
}

/// A runner for `cases` cases. With a seed the run is reproducible; without
/// one proptest picks a fresh seed (and `PROPTEST_RNG_SEED` still applies).
pub fn runner(cases: u32, seed: Option<u64>) -> TestRunner {
    let config = Config {
        cases,
        // Regressions are reported with their input; nothing is written to
        // the source tree.
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    };
    match seed {
        Some(seed) => {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&seed.to_le_bytes());
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
        }
        None => TestRunner::new(config),
    }
}

/// The seed of a run: `FUZZ_SEED` from the environment (to replay a
/// failure), else a fresh one.
pub fn seed() -> u64 {
    match std::env::var("FUZZ_SEED") {
        Ok(seed) => seed
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("FUZZ_SEED must be a number, not {seed:?}")),
        Err(_) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            now.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)
        }
    }
}

/// Runs a target's quick pass for the test suite and fails with the minimal
/// input, and the seed that replays it, when any case fails.
pub fn quick(name: &str, cases: u32) {
    let target = target(name);
    let seed = seed();
    if let Err(failure) = run(target, cases, seed) {
        panic!("fuzz target {name} failed (replay with FUZZ_SEED={seed}): {failure}");
    }
}

/// Runs `cases` cases of a target on a thread with its stack.
pub fn run(target: &'static Target, cases: u32, seed: u64) -> Outcome {
    let run = std::thread::Builder::new()
        .name(target.name.into())
        .stack_size(target.stack)
        .spawn(move || (target.run)(&mut runner(cases, Some(seed))))
        .unwrap();
    run.join()
        .unwrap_or_else(|_| Err("the run itself panicked".into()))
}

/// Turns proptest's verdict into an [`Outcome`], keeping the report short
/// enough to read (a minimal input may still be large).
pub fn outcome<T: Debug>(result: Result<(), TestError<T>>) -> Outcome {
    const SHOWN: usize = 4000;
    result.map_err(|error| {
        let text = match error {
            TestError::Abort(why) => format!("aborted: {why}"),
            TestError::Fail(why, input) => format!("{why}\nminimal input: {input:?}"),
        };
        if text.len() > SHOWN {
            let cut = (0..=SHOWN)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            format!("{}… ({} bytes in all)", &text[..cut], text.len())
        } else {
            text
        }
    })
}
