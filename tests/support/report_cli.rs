//! `floorwalk report … --format json` run as a process, read back.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;

/// Runs `floorwalk report ARGS --format json` (with `env`, and no config
/// file), and returns each JSON document it printed: the report, then the
/// comparison with a journal if one was asked for.
pub fn report_json(args: &[&str], env: &[(&str, &str)]) -> Vec<Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_floorwalk"))
        .arg("report")
        .args(args)
        .args(["--format", "json"])
        .envs(env.iter().copied())
        .env("XDG_CONFIG_HOME", "/nonexistent-floorwalk-config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "floorwalk report {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect()
}
