//! The `[audio]` table (where sound goes out and comes in) and the `[ptt]`
//! table (how the push-to-talk key is read).
//!
//! Endpoints are the audio engine's own [`Endpoint`] (`none`, `default`,
//! `device:NAME`, `wav:PATH`): one type from the config file to the device.

use super::de::WholeNumber;
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::ptt::PttSetting;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use std::path::PathBuf;
use std::time::Duration;

/// The longest `max_talk_secs` accepted (an hour).
const MAX_TALK_SECS_LIMIT: u64 = 3600;
/// How long one push-to-talk transmission may last unless configured.
const DEFAULT_MAX_TALK_SECS: u64 = 120;

/// The `[audio]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AudioSection {
    /// Where the monitored call is played.
    #[serde(deserialize_with = "endpoint")]
    pub output: Endpoint,
    /// Where push-to-talk speech is captured.
    #[serde(deserialize_with = "endpoint")]
    pub input: Endpoint,
    /// The companion's key (default: `companion.key` next to the config
    /// file); read at every connection to the companion.
    pub companion_key_file: Option<PathBuf>,
}

impl Default for AudioSection {
    /// The system's default devices: a console without a sound card says so
    /// and plays to `none`.
    fn default() -> Self {
        Self {
            output: Endpoint::Default,
            input: Endpoint::Default,
            companion_key_file: None,
        }
    }
}

fn endpoint<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Endpoint, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(de::Error::custom)
}

/// The `[ptt]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PushToTalk {
    /// `auto`, `hold`, `repeat` or `toggle`.
    #[serde(deserialize_with = "ptt_mode")]
    pub mode: PttSetting,
    /// A transmission stops after this many seconds, whatever the key does.
    #[serde(deserialize_with = "max_talk_secs")]
    pub max_talk_secs: u64,
}

impl Default for PushToTalk {
    fn default() -> Self {
        Self {
            mode: PttSetting::Auto,
            max_talk_secs: DEFAULT_MAX_TALK_SECS,
        }
    }
}

impl PushToTalk {
    pub fn max_talk(&self) -> Duration {
        Duration::from_secs(self.max_talk_secs)
    }
}

/// The words of the config file: `hold` is the engine's native
/// key-release reading.
fn parse_ptt_mode(text: &str) -> Result<PttSetting, String> {
    match text {
        "auto" => Ok(PttSetting::Auto),
        "hold" => Ok(PttSetting::Native),
        "repeat" => Ok(PttSetting::Repeat),
        "toggle" => Ok(PttSetting::Toggle),
        other => Err(format!(
            "unknown push-to-talk mode `{other}`: expected auto, hold, repeat or toggle"
        )),
    }
}

fn ptt_mode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PttSetting, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_ptt_mode(&text).map_err(de::Error::custom)
}

fn max_talk_secs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    WholeNumber {
        key: "max_talk_secs",
        unit: "seconds",
        example: DEFAULT_MAX_TALK_SECS,
        max: MAX_TALK_SECS_LIMIT,
    }
    .deserialize(deserializer)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Doc {
        #[serde(default)]
        audio: AudioSection,
        #[serde(default)]
        ptt: PushToTalk,
    }

    fn parse(text: &str) -> Result<Doc, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn endpoints_parse_into_the_engines_type() {
        let doc =
            parse("[audio]\noutput = \"device:hw:1,0\"\ninput = \"wav:/tmp/in.wav\"\n").unwrap();
        assert_eq!(doc.audio.output, Endpoint::Device("hw:1,0".into()));
        assert_eq!(doc.audio.input, Endpoint::Wav(PathBuf::from("/tmp/in.wav")));
        assert_eq!(doc.audio.companion_key_file, None);
        let doc = parse("[audio]\ncompanion_key_file = \"/secure/companion.key\"\n").unwrap();
        assert_eq!(
            doc.audio.companion_key_file,
            Some(PathBuf::from("/secure/companion.key"))
        );
        let doc = parse("").unwrap();
        assert_eq!(doc.audio, AudioSection::default());
        assert_eq!(doc.audio.output, Endpoint::Default);
    }

    #[test]
    fn bad_endpoints_are_refused_with_the_choices() {
        for text in ["", "wav:", "Default", "pulse", "file:/x.wav", "device:"] {
            let err = parse(&format!("[audio]\noutput = \"{text}\"\n")).unwrap_err();
            assert!(
                err.contains("expected none, default, device:NAME, wav:PATH or companion[:PATH]"),
                "{err}"
            );
        }
    }

    #[test]
    fn ptt_modes_and_limits() {
        let doc = parse("[ptt]\nmode = \"toggle\"\nmax_talk_secs = 30\n").unwrap();
        assert_eq!(doc.ptt.mode, PttSetting::Toggle);
        assert_eq!(doc.ptt.max_talk(), Duration::from_secs(30));
        for (word, setting) in [
            ("auto", PttSetting::Auto),
            ("hold", PttSetting::Native),
            ("repeat", PttSetting::Repeat),
        ] {
            let doc = parse(&format!("[ptt]\nmode = \"{word}\"\n")).unwrap();
            assert_eq!(doc.ptt.mode, setting);
            assert_eq!(doc.ptt.max_talk_secs, DEFAULT_MAX_TALK_SECS);
        }
        let err = parse("[ptt]\nmode = \"native\"\n").unwrap_err();
        assert!(
            err.contains("expected auto, hold, repeat or toggle"),
            "{err}"
        );
        for bad in ["0", "3601", "-5", "1.5", "\"60\""] {
            let err = parse(&format!("[ptt]\nmax_talk_secs = {bad}\n")).unwrap_err();
            assert!(err.contains("max_talk_secs must be"), "{bad}: {err}");
        }
        let err = parse("[ptt]\nmood = \"toggle\"\n").unwrap_err();
        assert!(err.contains("unknown field `mood`"), "{err}");
    }
}
