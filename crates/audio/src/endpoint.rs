//! What the engine plays to and records from, as types: the endpoint a
//! supervisor names, the [`Sink`] that takes the mix, the [`Microphone`]
//! that yields frames, and their errors. The implementations live in `none`,
//! `wav` and `device`; `open` picks one for an endpoint.

use super::latency::Measured;
use super::resample::ResampleError;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// An audio endpoint as the supervisor names it (`--audio-out`,
/// `--audio-in`): `none`, `default`, `device:NAME`, `wav:PATH` or
/// `companion[:PATH]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Endpoint {
    /// No sound (no microphone); the engine still runs, so meters move.
    #[default]
    None,
    /// The system's default device.
    Default,
    /// A device by name (as `floorwalk devices` lists it).
    Device(String),
    /// Output: a 16-bit 48 kHz WAV file written in real time, silence
    /// included. Input: a WAV file (any channels, any rate from 1 to
    /// 384 kHz) played in real time, looping.
    Wav(PathBuf),
    /// The supervisor's own machine, through `floorwalk companion` and an
    /// SSH-forwarded Unix socket at this path (on a jump host). Not opened
    /// here: the console drives the companion in place of the engine.
    /// `companion` alone is [`default_companion_path`].
    Companion(PathBuf),
}

/// Where the forwarded companion socket is unless a path is given: the
/// same on both ends, as the companion's printed `ssh -R` line names it
/// with OpenSSH's `%r` (the remote user name) and the console with `$USER`.
pub const COMPANION_PATH_PREFIX: &str = "/tmp/floorwalk-companion-";
pub const COMPANION_PATH_SUFFIX: &str = ".sock";

/// The user's login name, as sshd sets it: `$USER`, else `$LOGNAME`.
pub fn login_name() -> Option<String> {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

/// The default companion socket for this user.
pub fn default_companion_path() -> Result<PathBuf, String> {
    let user = login_name()
        .ok_or("no USER or LOGNAME to name the default companion socket: give companion:PATH")?;
    if user.contains('/') {
        return Err(format!(
            "the user name {user:?} cannot name a socket: give companion:PATH"
        ));
    }
    Ok(PathBuf::from(format!(
        "{COMPANION_PATH_PREFIX}{user}{COMPANION_PATH_SUFFIX}"
    )))
}

impl FromStr for Endpoint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let endpoint = match text.split_once(':') {
            None if text == "none" => Self::None,
            None if text == "default" => Self::Default,
            Some(("device", name)) if !name.is_empty() => Self::Device(name.to_owned()),
            Some(("wav", path)) if !path.is_empty() => Self::Wav(PathBuf::from(path)),
            None if text == "companion" => Self::Companion(default_companion_path()?),
            Some(("companion", path)) if !path.is_empty() => Self::Companion(PathBuf::from(path)),
            _ => {
                return Err(format!(
                    "unknown audio endpoint {text:?}: expected none, default, device:NAME, \
                     wav:PATH or companion[:PATH]"
                ));
            }
        };
        Ok(endpoint)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::Default => f.write_str("default"),
            Self::Device(name) => write!(f, "device:{name}"),
            Self::Wav(path) => write!(f, "wav:{}", path.display()),
            Self::Companion(path) => write!(f, "companion:{}", path.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("WAV output {path}: {source}")]
    Wav { path: PathBuf, source: hound::Error },
    #[error("audio device: {0}")]
    Device(String),
    #[error("this floorwalk was built without audio device support (feature audio-device)")]
    NoDeviceSupport,
    #[error("{0} is played by the console through the companion, not opened as a device")]
    Companion(String),
}

/// Something that takes the mix, 20 ms at a time, at its own pace.
pub trait Sink: Send {
    /// How many frames it wants at `now`. An error means the sink is gone.
    fn due(&mut self, now: Duration) -> Result<u64, OutputError>;
    /// One frame of `channels()` interleaved samples per 48 kHz tick.
    fn write(&mut self, frame: &[f32]) -> Result<(), OutputError>;
    fn channels(&self) -> usize;
    /// When to look again at the latest (the engine also wakes on input).
    fn next_deadline(&self) -> Option<Duration>;
    /// A short description for the status line.
    fn describe(&self) -> String;
    /// Samples the device wanted but did not get in time (underruns).
    fn starved_samples(&self) -> u64 {
        0
    }
    /// The frame written last carries a packet that arrived `age` ago.
    /// Returns its listening delay when the sink plays the frame as it
    /// takes it; a device measures it later (see [`Sink::measured`]).
    fn tag(&mut self, age: Duration) -> Option<Measured> {
        Some(Measured::at_once(age))
    }
    /// Listening delays measured since the last call, for sinks that learn
    /// them after the write.
    fn measured(&mut self, _record: &mut dyn FnMut(Measured)) {}
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("WAV input {path}: {source}")]
    Wav { path: PathBuf, source: hound::Error },
    #[error("WAV input {0}: holds no audio")]
    EmptyWav(PathBuf),
    #[error("WAV input {path}: {rate} Hz is not a sample rate floorwalk takes (1 to 384 kHz)")]
    WavRate { path: PathBuf, rate: u32 },
    #[error("WAV input {path}: {source}")]
    WavResample {
        path: PathBuf,
        source: ResampleError,
    },
    #[error("audio device: {0}")]
    Device(String),
    #[error("this floorwalk was built without audio device support (feature audio-device)")]
    NoDeviceSupport,
    #[error("{0} is captured by the console through the companion, not opened as a device")]
    Companion(String),
}

/// The supervisor's microphone: yields 20 ms frames of 48 kHz mono at its
/// own pace.
pub trait Microphone: Send {
    /// Fills `frame` (960 samples) with the next frame if one is ready at
    /// `now`. An error means the microphone is gone.
    fn read(&mut self, now: Duration, frame: &mut [f32]) -> Result<bool, InputError>;
    /// When to look again at the latest.
    fn next_deadline(&self) -> Option<Duration>;
    fn describe(&self) -> String;
    /// Samples lost because they were not read in time (overruns).
    fn dropped_samples(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn endpoints_parse_and_print() {
        for text in [
            "none",
            "default",
            "device:hw:CARD=0,DEV=0",
            "wav:/tmp/out.wav",
            "companion:/tmp/c.sock",
        ] {
            assert_eq!(text.parse::<Endpoint>().unwrap().to_string(), text);
        }
        assert_eq!(
            "wav:a.wav".parse::<Endpoint>(),
            Ok(Endpoint::Wav("a.wav".into()))
        );
        let err = "speakers".parse::<Endpoint>().unwrap_err();
        assert!(
            err.contains("none, default, device:NAME, wav:PATH or companion[:PATH]"),
            "{err}"
        );
        for bad in [
            "wav:",
            "device:",
            "none:",
            "default:x",
            "mic:x",
            "",
            "companion:",
        ] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad:?}");
        }
    }
}
