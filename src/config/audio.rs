//! The `[audio]` table: where sound goes out and comes in.

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// An audio output or input: nothing, the system's default device, or a WAV
/// file. Written `none`, `default` or `wav:PATH` in the config and on the
/// command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AudioEndpoint {
    None,
    #[default]
    Default,
    Wav(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected `none`, `default` or `wav:PATH`, found `{0}`")]
pub struct AudioEndpointError(String);

impl FromStr for AudioEndpoint {
    type Err = AudioEndpointError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "none" => Ok(AudioEndpoint::None),
            "default" => Ok(AudioEndpoint::Default),
            _ => match text.strip_prefix("wav:") {
                Some(path) if !path.is_empty() => Ok(AudioEndpoint::Wav(PathBuf::from(path))),
                _ => Err(AudioEndpointError(text.to_owned())),
            },
        }
    }
}

impl fmt::Display for AudioEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AudioEndpoint::None => f.write_str("none"),
            AudioEndpoint::Default => f.write_str("default"),
            AudioEndpoint::Wav(path) => write!(f, "wav:{}", path.display()),
        }
    }
}

impl<'de> Deserialize<'de> for AudioEndpoint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The `[audio]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AudioConfig {
    /// Where the monitored call is played.
    pub output: AudioEndpoint,
    /// Where push-to-talk speech is captured.
    pub input: AudioEndpoint,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_and_print_back() {
        for text in ["none", "default", "wav:/tmp/out.wav", "wav:rel/x.wav"] {
            let endpoint: AudioEndpoint = text.parse().unwrap();
            assert_eq!(endpoint.to_string(), text);
        }
        assert_eq!(
            "wav:a b.wav".parse::<AudioEndpoint>().unwrap(),
            AudioEndpoint::Wav(PathBuf::from("a b.wav"))
        );
    }

    #[test]
    fn bad_endpoints_are_refused() {
        for text in ["", "wav:", "Default", "pulse", "file:/x.wav"] {
            let err = text.parse::<AudioEndpoint>().unwrap_err();
            assert!(err.to_string().contains("`none`, `default` or `wav:PATH`"));
        }
    }
}
