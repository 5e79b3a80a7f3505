//! Loading order (defaults, file, environment), token resolution, warnings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use floorwalk_audio::endpoint::Endpoint;
use floorwalk_console::config::{Config, ConfigError, Env, Secret};
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

fn load(path: &Path, env: &Env) -> Result<Config, ConfigError> {
    Config::load_with(Some(path), None, env)
}

#[test]
fn defaults_without_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing_default = dir.path().join("config.toml");
    let config = Config::load_with(None, Some(&missing_default), &Env::default()).unwrap();
    assert_eq!(config.server, None);
    assert!(!config.allow_insecure_remote);
    assert!(!config.reveal_customer_numbers);
    assert_eq!(config.command_timeout_ms, 5000);
    assert_eq!(config.command_timeout(), std::time::Duration::from_secs(5));
    assert!(config.keys.is_empty());
    assert_eq!(config.audio.output, Endpoint::Default);
    assert_eq!(config.source(), None);
    assert!(config.warnings().is_empty());
}

#[test]
fn the_default_path_is_read_when_it_exists() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "config.toml",
        "reveal_customer_numbers = true\n",
    );
    let config = Config::load_with(None, Some(&path), &Env::default()).unwrap();
    assert!(config.reveal_customer_numbers);
    assert_eq!(config.source(), Some(path.as_path()));
}

#[test]
fn an_explicit_path_that_is_missing_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let err = Config::load_with(Some(&path), None, &Env::default()).unwrap_err();
    assert!(matches!(err, ConfigError::NotFound(_)));
    assert!(
        err.to_string().contains("nope.toml does not exist"),
        "{err}"
    );
}

#[test]
fn a_directory_instead_of_a_file_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = load(dir.path(), &Env::default()).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("cannot read config file"),
        "{err}"
    );
}

#[test]
fn the_environment_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "c.toml",
        "server = \"wss://file.example/v1/supervisor\"\ncommand_timeout_ms = 750\n",
    );
    let from_file = load(&path, &Env::default()).unwrap();
    assert_eq!(
        from_file.server.as_deref(),
        Some("wss://file.example/v1/supervisor")
    );
    assert_eq!(from_file.command_timeout_ms, 750);

    let env = Env {
        server: Some("ws://127.0.0.1:9/v1/supervisor".into()),
        token: None,
    };
    let config = load(&path, &env).unwrap();
    assert_eq!(
        config.server.as_deref(),
        Some("ws://127.0.0.1:9/v1/supervisor")
    );
    assert_eq!(config.command_timeout_ms, 750);
}

#[test]
fn keys_take_one_string_or_a_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "c.toml",
        "[keys]\nquit = \"q\"\nup = [\"Up\", \"k\"]\nhelp = []\n",
    );
    let config = load(&path, &Env::default()).unwrap();
    assert_eq!(config.keys["quit"], ["q"]);
    assert_eq!(config.keys["up"], ["Up", "k"]);
    assert!(config.keys["help"].is_empty());
}

#[test]
fn paths_in_the_file_are_relative_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "c.toml",
        "token_file = \"tok\"\nca_file = \"/etc/ca.pem\"\naudit_dir = \"audit\"\n\
         [audio]\noutput = \"wav:out.wav\"\ninput = \"none\"\n",
    );
    let config = load(&path, &Env::default()).unwrap();
    assert_eq!(config.token_file, Some(dir.path().join("tok")));
    assert_eq!(config.ca_file, Some(PathBuf::from("/etc/ca.pem")));
    assert_eq!(config.audit_dir, Some(dir.path().join("audit")));
    assert_eq!(
        config.audio.output,
        Endpoint::Wav(dir.path().join("out.wav"))
    );
    assert_eq!(config.audio.input, Endpoint::None);
}

#[test]
fn token_order_is_env_then_file_then_command() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tok", "  from-file\n");
    let path = write(
        dir.path(),
        "c.toml",
        "token_file = \"tok\"\ntoken_command = \"echo from-command\"\n",
    );
    let env = Env {
        server: None,
        token: Some(Secret::new("from-env")),
    };
    assert_eq!(
        load(&path, &env).unwrap().resolve_token().unwrap().expose(),
        "from-env"
    );
    let config = load(&path, &Env::default()).unwrap();
    assert_eq!(config.resolve_token().unwrap().expose(), "from-file");
    assert!(
        config
            .warnings()
            .iter()
            .any(|w| w.contains("token_file is used")),
        "{:?}",
        config.warnings()
    );

    let path = write(
        dir.path(),
        "d.toml",
        "token_command = \"printf '  from-command \\\\n'\"\n",
    );
    let config = load(&path, &Env::default()).unwrap();
    assert_eq!(config.resolve_token().unwrap().expose(), "from-command");
}

#[test]
fn no_token_source_names_all_three_ways() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "c.toml", "");
    let err = load(&path, &Env::default())
        .unwrap()
        .resolve_token()
        .unwrap_err();
    let message = err.to_string();
    for way in ["FLOORWALK_TOKEN", "token_file", "token_command", "c.toml"] {
        assert!(message.contains(way), "{message}");
    }
}

#[test]
fn token_file_problems_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "empty", " \n");
    let path = write(dir.path(), "c.toml", "token_file = \"empty\"\n");
    let err = load(&path, &Env::default())
        .unwrap()
        .resolve_token()
        .unwrap_err();
    assert!(err.to_string().contains("the file is empty"), "{err}");

    let path = write(dir.path(), "d.toml", "token_file = \"missing\"\n");
    let err = load(&path, &Env::default())
        .unwrap()
        .resolve_token()
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("cannot read the token from token_file"),
        "{message}"
    );
    assert!(message.contains("missing"), "{message}");
}

#[test]
fn token_command_failures_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "echo vault locked >&2; exit 3",
            &["exit status 3", "vault locked"][..],
        ),
        ("true", &["printed nothing"][..]),
        ("kill -9 $$", &["killed by a signal"][..]),
    ];
    for (command, expected) in cases {
        let text = format!("token_command = {}\n", toml_string(command));
        let path = write(dir.path(), "c.toml", &text);
        let err = load(&path, &Env::default())
            .unwrap()
            .resolve_token()
            .unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, ConfigError::TokenCommand { .. }), "{message}");
        assert!(message.contains(command), "{message}");
        for want in expected {
            assert!(message.contains(want), "{message}\n  does not say {want}");
        }
    }
}

#[test]
fn the_token_is_never_in_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env {
        server: None,
        token: Some(Secret::new("tok-DO-NOT-PRINT")),
    };
    let path = write(dir.path(), "c.toml", "");
    let config = load(&path, &env).unwrap();
    assert!(!format!("{config:?} {env:?}").contains("tok-DO-NOT-PRINT"));
    assert!(!format!("{:?}", config.resolve_token()).contains("tok-DO-NOT-PRINT"));
}

#[cfg(unix)]
#[test]
fn files_others_can_read_are_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let token = write(dir.path(), "tok", "t\n");
    let path = write(dir.path(), "c.toml", "token_file = \"tok\"\n");
    assert!(load(&path, &Env::default()).unwrap().warnings().is_empty());

    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = load(&path, &Env::default()).unwrap();
    let warnings = config.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("config file") && warnings[0].contains("mode 644"));
    assert!(warnings[1].starts_with("token file") && warnings[1].contains("chmod 600"));
}

/// A TOML basic string holding `text`.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
