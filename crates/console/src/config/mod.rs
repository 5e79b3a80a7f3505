//! Configuration: defaults, then the TOML file, then the environment.
//!
//! Unknown keys are errors (typos are caught), and every error names the
//! file, line and column. The token is never read from the file itself: it
//! comes from `FLOORWALK_TOKEN`, a token file, or a token command.

mod audio;
mod compliance;
mod de;
mod gateway;
mod records;
mod rotation;
mod secret;
mod token;

pub use audio::{AudioSection, PushToTalk};
pub use compliance::{ComplianceSection, RejoinAnnouncement, RejoinRule, RejoinRuleOverride};
pub use gateway::{ChannelVariables, ENV_ARI_PASSWORD, GatewaySection};
pub use records::{DEFAULT_RETENTION_DAYS, RecordsSection};
pub use rotation::RotationSection;
pub use secret::Secret;

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Overrides `server` from the file.
pub const ENV_SERVER: &str = "FLOORWALK_SERVER";
/// The token; wins over `token_file` and `token_command`.
pub const ENV_TOKEN: &str = "FLOORWALK_TOKEN";
/// How long a command waits for its reply unless configured.
pub const DEFAULT_COMMAND_TIMEOUT_MS: u64 = 5_000;
/// The longest `command_timeout_ms` accepted (ten minutes).
pub const MAX_COMMAND_TIMEOUT_MS: u64 = 600_000;

/// Everything the config file can say. Paths from the file are resolved
/// (`~/` is the home directory, relative paths are relative to the file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The server's WebSocket URL (`ws://` on loopback, `wss://` elsewhere).
    #[serde(deserialize_with = "de::server")]
    pub server: Option<String>,
    /// A file holding the token (should be readable by its owner only).
    pub token_file: Option<PathBuf>,
    /// A shell command (run with `sh -c`) that prints the token.
    pub token_command: Option<String>,
    /// A PEM file of extra certificate authorities to trust for `wss://`.
    pub ca_file: Option<PathBuf>,
    /// Allow `ws://` (unencrypted) to a server that is not on loopback.
    pub allow_insecure_remote: bool,
    /// Where the audit journal goes; `None` means the data directory.
    pub audit_dir: Option<PathBuf>,
    /// Where logs go; `None` means the default log file.
    pub log_file: Option<PathBuf>,
    /// Show customer numbers in full instead of masked.
    pub reveal_customer_numbers: bool,
    /// How long a command waits for the server's reply, in milliseconds.
    #[serde(deserialize_with = "de::command_timeout_ms")]
    pub command_timeout_ms: u64,
    /// Key bindings: action name to key strings, raw (the app validates).
    #[serde(deserialize_with = "de::keys")]
    pub keys: BTreeMap<String, Vec<String>>,
    pub audio: AudioSection,
    /// How the push-to-talk key is read.
    pub ptt: PushToTalk,
    /// `floorwalk gateway`'s settings (the console ignores them).
    pub gateway: GatewaySection,
    /// How `r` rotates through the calls.
    pub rotation: RotationSection,
    /// When rejoining a call needs the monitoring notice.
    pub compliance: ComplianceSection,
    /// Where `sim` and `gateway` write supervisor presence (the console
    /// ignores it).
    pub records: RecordsSection,
    /// `FLOORWALK_TOKEN`, taken when the config was loaded.
    #[serde(skip)]
    env_token: Option<Secret>,
    /// The file this came from, if any.
    #[serde(skip)]
    source: Option<PathBuf>,
    #[serde(skip)]
    warnings: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: None,
            token_file: None,
            token_command: None,
            ca_file: None,
            allow_insecure_remote: false,
            audit_dir: None,
            log_file: None,
            reveal_customer_numbers: false,
            command_timeout_ms: DEFAULT_COMMAND_TIMEOUT_MS,
            keys: BTreeMap::new(),
            audio: AudioSection::default(),
            ptt: PushToTalk::default(),
            gateway: GatewaySection::default(),
            rotation: RotationSection::default(),
            compliance: ComplianceSection::default(),
            records: RecordsSection::default(),
            env_token: None,
            source: None,
            warnings: Vec::new(),
        }
    }
}

/// The environment variables the config reads, taken once.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub server: Option<String>,
    pub token: Option<Secret>,
}

impl Env {
    /// Reads `FLOORWALK_SERVER` and `FLOORWALK_TOKEN`; empty values count as unset.
    pub fn from_process() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            server: var(ENV_SERVER).map(|v| v.trim().to_owned()),
            token: var(ENV_TOKEN).map(|v| Secret::new(v.trim())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {} does not exist", .0.display())]
    NotFound(PathBuf),
    #[error("cannot read config file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid TOML or says something wrong; `line` and
    /// `column` count from 1.
    #[error("{}{}: {message}", .path.display(), location(*.line, *.column))]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    #[error(
        "no token: set the {ENV_TOKEN} environment variable, or `token_file` \
         or `token_command` in the config file{}",
        .0.as_ref().map(|p| format!(" ({})", p.display())).unwrap_or_default()
    )]
    NoToken(Option<PathBuf>),
    #[error("cannot read the token from token_file {}: {reason}", .path.display())]
    TokenFile { path: PathBuf, reason: String },
    #[error("token_command `{command}` gave no token: {reason}")]
    TokenCommand { command: String, reason: String },
    #[error(
        "no ARI password: set the {ENV_ARI_PASSWORD} environment variable, or \
         `ari_password_file` or `ari_password_command` in [gateway]"
    )]
    NoAriPassword,
    #[error("cannot read the ARI password from ari_password_file {}: {reason}", .path.display())]
    AriPasswordFile { path: PathBuf, reason: String },
    #[error("ari_password_command `{command}` gave no password: {reason}")]
    AriPasswordCommand { command: String, reason: String },
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(":{line}:{column}"),
        _ => String::new(),
    }
}

/// floorwalk's directory in the user's data directory (e.g.
/// `~/.local/share/floorwalk` on Linux), if there is a home: the journal,
/// calibrations, the log, the server's records.
pub fn data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "floorwalk").map(|dirs| dirs.data_dir().to_path_buf())
}

/// `config.toml` in the user's config directory (e.g.
/// `~/.config/floorwalk/config.toml` on Linux), if there is a home.
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "floorwalk")
        .map(|dirs| dirs.config_dir().join("config.toml"))
}

impl Config {
    /// Loads the config: `path` if given (it must exist), else the default
    /// path if that file exists, else defaults; then the environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with(path, default_config_path().as_deref(), &Env::from_process())
    }

    /// [`Config::load`] with the default path and the environment given.
    pub fn load_with(
        explicit: Option<&Path>,
        default_path: Option<&Path>,
        env: &Env,
    ) -> Result<Config, ConfigError> {
        let mut config = match (explicit, default_path) {
            (Some(path), _) => {
                Self::from_file(path)?.ok_or_else(|| ConfigError::NotFound(path.into()))?
            }
            (None, Some(path)) => Self::from_file(path)?.unwrap_or_default(),
            (None, None) => Config::default(),
        };
        if let Some(server) = &env.server {
            config.server = Some(server.clone());
        }
        config.env_token = env.token.clone();
        Ok(config)
    }

    /// Parses config text; `path` names it in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|err| {
            let (line, column) = err
                .span()
                .map(|span| line_and_column(text, span.start))
                .unzip();
            ConfigError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message: err.message().trim_end().to_owned(),
            }
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        config.resolve_paths(base);
        config.source = Some(path.to_owned());
        if config.token_file.is_some() && config.token_command.is_some() {
            config.warnings.push(format!(
                "{}: both token_file and token_command are set; token_file is used",
                path.display()
            ));
        }
        Ok(config)
    }

    /// `Ok(None)` when the file does not exist.
    fn from_file(path: &Path) -> Result<Option<Config>, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let mut config = Self::parse(&text, path)?;
        let mut warnings = Vec::new();
        warnings.extend(exposure_warning(path, "config file"));
        if let Some(token_file) = &config.token_file {
            warnings.extend(exposure_warning(token_file, "token file"));
        }
        if let Some(password_file) = &config.gateway.ari_password_file {
            warnings.extend(exposure_warning(password_file, "ARI password file"));
        }
        if let Some(password_file) = &config.records.password_file {
            warnings.extend(exposure_warning(password_file, "records password file"));
        }
        config.warnings.extend(warnings);
        Ok(Some(config))
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |path: &mut PathBuf| *path = resolve_path(path, base);
        for path in [
            &mut self.token_file,
            &mut self.ca_file,
            &mut self.audit_dir,
            &mut self.log_file,
            &mut self.gateway.ari_password_file,
            &mut self.gateway.tokens,
            &mut self.gateway.roster,
            &mut self.gateway.tls_cert,
            &mut self.gateway.tls_key,
            &mut self.records.password_file,
        ]
        .into_iter()
        .flatten()
        {
            resolve(path);
        }
        for endpoint in [&mut self.audio.output, &mut self.audio.input] {
            if let floorwalk_audio::endpoint::Endpoint::Wav(path) = endpoint {
                resolve(path);
            }
        }
    }

    /// The token: `FLOORWALK_TOKEN`, else `token_file`, else the output of
    /// `token_command`.
    pub fn resolve_token(&self) -> Result<Secret, ConfigError> {
        if let Some(token) = &self.env_token {
            return Ok(token.clone());
        }
        if let Some(path) = &self.token_file {
            return token::from_file(path, |reason| ConfigError::TokenFile {
                path: path.clone(),
                reason,
            });
        }
        if let Some(command) = &self.token_command {
            return token::from_command(command, |reason| ConfigError::TokenCommand {
                command: command.clone(),
                reason,
            });
        }
        Err(ConfigError::NoToken(
            self.source.clone().or_else(default_config_path),
        ))
    }

    /// The ARI password for `floorwalk gateway`: `FLOORWALK_ARI_PASSWORD`,
    /// else `[gateway] ari_password_file`, else `ari_password_command`.
    pub fn resolve_ari_password(&self, env: Option<Secret>) -> Result<Secret, ConfigError> {
        if let Some(password) = env {
            return Ok(password);
        }
        if let Some(path) = &self.gateway.ari_password_file {
            return token::from_file(path, |reason| ConfigError::AriPasswordFile {
                path: path.clone(),
                reason,
            });
        }
        if let Some(command) = &self.gateway.ari_password_command {
            return token::from_command(command, |reason| ConfigError::AriPasswordCommand {
                command: command.clone(),
                reason,
            });
        }
        Err(ConfigError::NoAriPassword)
    }

    /// Things the user should hear about (a token file others can read, …).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The file the config came from, if one was read.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    pub fn command_timeout(&self) -> Duration {
        Duration::from_millis(self.command_timeout_ms)
    }
}

/// Line and column (from 1, column in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// `~/x` under the home directory; a relative path under `base`.
fn resolve_path(path: &Path, base: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(dirs) = directories::BaseDirs::new()
    {
        return dirs.home_dir().join(rest);
    }
    if path.is_relative() {
        base.join(path)
    } else {
        path.to_owned()
    }
}

/// A warning when a file that may hold secrets is readable by group or others.
#[cfg(unix)]
fn exposure_warning(path: &Path, what: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "{what} {} can be read by other users (mode {:o}); run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )
    })
}

#[cfg(not(unix))]
fn exposure_warning(_path: &Path, _what: &str) -> Option<String> {
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
