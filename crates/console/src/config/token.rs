//! Reading a secret (the token, the ARI password) from a file or from a
//! command's output.

use super::{ConfigError, Secret};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a `token_command` may run (a password manager may prompt).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of a failing command's stderr is quoted back.
const STDERR_QUOTE: usize = 300;

/// The secret in a file, trimmed of surrounding whitespace; `failure`
/// says which secret could not be read.
pub(super) fn from_file(
    path: &Path,
    failure: impl Fn(String) -> ConfigError,
) -> Result<Secret, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| failure(err.to_string()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(failure("the file is empty".into()));
    }
    Ok(Secret::new(token))
}

/// The secret printed by `sh -c command`, trimmed of surrounding whitespace.
pub(super) fn from_command(
    command: &str,
    failure: impl Fn(String) -> ConfigError,
) -> Result<Secret, ConfigError> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| failure(format!("could not start `sh`: {err}")))?;
    // Read both pipes on threads so a chatty command cannot fill a pipe and
    // stall while we wait for it to exit.
    let stdout = read_on_thread(child.stdout.take());
    let stderr = read_on_thread(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= COMMAND_TIMEOUT => {
                // Best effort: the error below is what matters.
                let _ = child.kill();
                let _ = child.wait();
                return Err(failure(format!(
                    "it did not finish within {} s",
                    COMMAND_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(err) => return Err(failure(err.to_string())),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        let said = String::from_utf8_lossy(&stderr);
        let said = said.trim();
        let said: String = said.chars().take(STDERR_QUOTE).collect();
        let exit = status.code().map_or_else(
            || "it was killed by a signal".to_owned(),
            |c| format!("exit status {c}"),
        );
        return Err(failure(if said.is_empty() {
            format!("it failed ({exit})")
        } else {
            format!("it failed ({exit}): {said}")
        }));
    }
    let text =
        String::from_utf8(stdout).map_err(|_| failure("its output is not valid UTF-8".into()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(failure("it printed nothing".into()));
    }
    Ok(Secret::new(token))
}

fn read_on_thread<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error leaves what was read; the exit status tells the rest.
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}
