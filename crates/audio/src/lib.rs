//! Audio: per-track jitter buffers, Opus, the mixer, outputs and inputs,
//! push-to-talk, and the engine threads that tie them together.
//!
//! Pure parts (`jitter`, `mix`, `ptt`, `codec`) take time and data as
//! arguments. The I/O: `endpoint` names the outputs and microphones and
//! their traits, `none`, `wav` and `device` implement them, `open` opens
//! the one an endpoint names, and `engine` runs them.

pub mod assets;
pub mod capture;
pub mod clock;
pub mod codec;
#[cfg(feature = "audio-device")]
pub mod device;
pub mod endpoint;
pub mod engine;
pub mod jitter;
pub mod latency;
pub mod mix;
pub mod none;
pub mod open;
pub mod playback;
pub mod ptt;
pub mod resample;
pub mod signal;
#[cfg(test)]
mod test_support;
pub mod wav;

use std::time::Duration;

/// The one sample rate floorwalk uses end to end.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms mono frame at 48 kHz.
pub const FRAME_SAMPLES: u32 = 960;
/// The frame duration.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// One audio device, as `floorwalk devices` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// What `device:NAME` takes (for ALSA the PCM name, e.g. `default`).
    pub name: String,
    pub description: String,
    pub output: bool,
    pub input: bool,
    pub default_output: bool,
    pub default_input: bool,
}

/// The devices found, and why there are none when there are none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceList {
    pub devices: Vec<DeviceInfo>,
    pub note: Option<String>,
}

/// Lists the audio devices (outputs and inputs). Never fails: without an
/// audio system the list is empty and `note` says why.
pub fn list_devices() -> DeviceList {
    #[cfg(feature = "audio-device")]
    {
        device::list_devices()
    }
    #[cfg(not(feature = "audio-device"))]
    {
        DeviceList {
            devices: Vec::new(),
            note: Some(
                "this floorwalk was built without audio device support (feature audio-device)"
                    .to_owned(),
            ),
        }
    }
}
