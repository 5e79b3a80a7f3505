//! What the app needs from the configuration and the command line.

use super::{KeyMap, RotationSettings};
use crate::config::ComplianceSection;
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::ptt::PttConfig;

/// What the app needs from the configuration and the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSettings {
    pub keymap: KeyMap,
    /// Show customer numbers in full instead of only the last four digits.
    pub reveal_customer_numbers: bool,
    /// `false` under NO_COLOR: no colours, only bold, reverse and symbols.
    pub color: bool,
    /// The server URL without secrets, for the header and help.
    pub server_label: String,
    /// The configured audio output, for the header.
    pub audio_output: Endpoint,
    /// The configured microphone (`none`: push-to-talk says it cannot).
    pub audio_input: Endpoint,
    /// How the talk key is read (with whether the terminal reports releases).
    pub ptt: PttConfig,
    /// How `r` rotates through the calls.
    pub rotation: RotationSettings,
    /// When rejoining a call needs the monitoring notice.
    pub compliance: ComplianceSection,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            keymap: KeyMap::default(),
            reveal_customer_numbers: false,
            color: true,
            server_label: String::new(),
            audio_output: Endpoint::None,
            audio_input: Endpoint::None,
            ptt: PttConfig::default(),
            rotation: RotationSettings::default(),
            compliance: ComplianceSection::default(),
        }
    }
}
