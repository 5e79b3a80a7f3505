//! Audio devices through cpal (feature `audio-device`).
//!
//! The device callbacks run on cpal's thread and never allocate, lock or
//! log: they only move samples through a lock-free SPSC ring (rtrb) and bump
//! atomic counters. The engine thread fills or drains the ring, resamples
//! when the device does not take 48 kHz, and watches for a device that
//! failed or stopped taking audio.
//!
//! - `list`: finding devices by name, and listing them.
//! - `stream`: opening a stream (the configurations to try, the sample
//!   formats), and what it shares with its callback.
//! - `output`, `input`: the speaker's and the microphone's streams.
//! - `tag`: measuring each played frame's listening delay in the callback.
//! - `alsa_log`: alsa-lib's messages, kept off the terminal.

mod alsa_log;
mod input;
mod list;
mod output;
mod stream;
mod tag;

pub(crate) use alsa_log::{flush_alsa_log, quiet_alsa};
pub use input::DeviceMicrophone;
pub use list::list_devices;
pub use output::DeviceSink;
