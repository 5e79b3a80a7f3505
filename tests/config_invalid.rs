//! Every file under tests/fixtures/config/invalid/ is refused with a clear
//! error: the file, the line and column, and what is wrong. Each fixture
//! states what it expects in `# expect: TEXT` and `# line: N` comments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use floorwalk_console::config::{Config, ConfigError, Env};
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_invalid_config_gets_a_clear_located_error() {
    let files = fixtures();
    assert!(files.len() >= 15, "the corpus went missing: {files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let expects: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        let line: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("# line: "))
            .unwrap_or_else(|| panic!("{} has no `# line:`", path.display()))
            .parse()
            .unwrap();
        assert!(!expects.is_empty(), "{} has no `# expect:`", path.display());

        let err = Config::load_with(Some(&path), None, &Env::default())
            .expect_err(&format!("{} was accepted", path.display()));
        let message = err.to_string();
        match &err {
            ConfigError::Invalid {
                line: got, column, ..
            } => {
                assert_eq!(*got, Some(line), "{message}");
                assert!(column.is_some(), "{message}");
            }
            other => panic!("{}: wrong kind of error {other:?}", path.display()),
        }
        assert!(
            message.starts_with(&format!("{}:{line}:", path.display())),
            "the error does not start with file:line: {message}"
        );
        for expect in expects {
            assert!(
                message.contains(expect),
                "{message}\n  does not say: {expect}"
            );
        }
    }
}

#[test]
fn errors_never_echo_a_token_written_into_the_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config/invalid/token_in_file.toml");
    let err = Config::load_with(Some(&path), None, &Env::default()).unwrap_err();
    assert!(!err.to_string().contains("s3cret"), "{err}");
}
