//! The shipped example config parses and says what it claims.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/config_keys.rs"]
mod config_keys;

use floorwalk_audio::endpoint::Endpoint;
use floorwalk_console::app::Action;
use floorwalk_console::config::{Config, DEFAULT_COMMAND_TIMEOUT_MS, Env, Secret};
use std::path::Path;

fn example_path() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.config-example.toml"))
}

#[test]
fn example_parses_with_the_documented_values() {
    let config = Config::load_with(Some(example_path()), None, &Env::default()).unwrap();
    assert_eq!(
        config.server.as_deref(),
        Some("wss://cc.example.com/v1/supervisor")
    );
    assert_eq!(
        config.token_command.as_deref(),
        Some("pass show floorwalk/token")
    );
    assert_eq!(config.token_file, None);
    assert!(!config.allow_insecure_remote);
    assert!(!config.reveal_customer_numbers);
    assert_eq!(config.command_timeout_ms, DEFAULT_COMMAND_TIMEOUT_MS);
    assert_eq!(config.audio.output, Endpoint::Default);
    assert_eq!(config.audio.input, Endpoint::Default);
    assert_eq!(config.keys["up"], ["Up", "k"]);
    assert_eq!(config.keys["disconnect"], ["d"]);
    assert_eq!(config.keys["talk"], ["Space"]);
    assert_eq!(config.ptt, floorwalk_console::config::PushToTalk::default());
    assert_eq!(
        config.rotation,
        floorwalk_console::config::RotationSection::default()
    );
    assert_eq!(config.keys["end_call"], ["E"]);
    assert_ne!(config.keys["disconnect"], config.keys["end_call"]);
}

#[test]
fn example_binds_every_action() {
    let config = Config::load_with(Some(example_path()), None, &Env::default()).unwrap();
    let bound: Vec<&str> = config.keys.keys().map(String::as_str).collect();
    let mut actions = Action::ALL.map(Action::name).to_vec();
    actions.sort_unstable();
    assert_eq!(bound, actions);
}

#[test]
fn example_documents_every_option() {
    // Every key the config accepts appears, set or commented out
    // (`# name = …`), so the example stays complete as options are added.
    let text = std::fs::read_to_string(example_path()).unwrap();
    let mentioned = |option: &str| {
        text.lines().any(|line| {
            let line = line.strip_prefix("# ").unwrap_or(line);
            line.starts_with(&format!("{option} = ")) || line == format!("[{option}]")
        })
    };
    let keys = config_keys::config_keys();
    for option in ["server", "keys", "audio", "output", "ptt", "max_talk_secs"] {
        assert!(keys.contains(&option), "{option} is missing from {keys:?}");
    }
    for option in keys {
        assert!(mentioned(option), "the example does not show {option}");
    }
}

#[test]
fn the_environment_token_wins_so_the_example_command_is_not_run() {
    let env = Env {
        server: None,
        token: Some(Secret::new("from-env")),
    };
    let config = Config::load_with(Some(example_path()), None, &env).unwrap();
    assert_eq!(config.resolve_token().unwrap().expose(), "from-env");
}
