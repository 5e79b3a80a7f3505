//! The real binary's `--help`: options shared by several commands are
//! described, and described alike, in each.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::Command;

fn help(command: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_floorwalk"))
        .args([command, "--help"])
        .env_remove("FLOORWALK_SERVER")
        .output()
        .unwrap();
    assert!(output.status.success(), "{command} --help failed");
    String::from_utf8(output.stdout).unwrap()
}

/// The description clap gives `option`: the rest of its line and the lines
/// under it, up to the next option, with whitespace collapsed.
fn description(help: &str, option: &str) -> String {
    let mut lines = help
        .lines()
        .skip_while(|line| line.split_whitespace().next() != Some(option));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("{option} is not in the help:\n{help}"));
    // The option's own line: `--server <SERVER>  description`, if on one line.
    let mut words: Vec<&str> = first.split_whitespace().skip(2).collect();
    for line in lines.take_while(|line| !line.trim_start().starts_with('-')) {
        words.extend(line.split_whitespace());
    }
    words.join(" ")
}

#[test]
fn doctor_describes_server_and_config_as_console_does() {
    let expected = [
        (
            "--server",
            "The server, e.g. wss://cc.example.com/v1/supervisor (or `server` in the config)",
        ),
        (
            "--config",
            "The configuration file (default: the platform config dir's floorwalk/config.toml)",
        ),
    ];
    let doctor = help("doctor");
    let console = help("console");
    for (option, text) in expected {
        assert_eq!(
            description(&doctor, option),
            text,
            "doctor --help:\n{doctor}"
        );
        assert_eq!(
            description(&console, option),
            text,
            "console --help:\n{console}"
        );
    }
}

#[test]
fn companion_refuses_a_listen_address_off_loopback_before_opening_anything() {
    let output = Command::new(env!("CARGO_BIN_EXE_floorwalk"))
        .args(["companion", "--listen", "tcp:0.0.0.0:4711"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("loopback only"), "{stderr}");
    assert!(output.stdout.is_empty(), "it started: {stderr}");
    let help = help("companion");
    assert!(
        description(&help, "--listen").contains("tcp:127.0.0.1:PORT"),
        "{help}"
    );
}

#[test]
fn a_command_that_fails_says_why_on_stderr_and_writes_nothing_to_stdout() {
    // A report piped into a file must not get the console's terminal codes
    // when it fails: only a process that took the terminal restores it.
    let output = Command::new(env!("CARGO_BIN_EXE_floorwalk"))
        .args([
            "report",
            "--records",
            "postgres://qa:hunter2@127.0.0.1/floor",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("holds a password"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(output.stdout.is_empty(), "{:?}", output.stdout);
}
