//! Audio: per-track jitter buffers, Opus, the mixer, outputs and inputs,
//! push-to-talk, and the engine threads that tie them together.
//!
//! Pure parts (`jitter`, `mix`, `ptt`, `codec`) take time and data as
//! arguments; the I/O lives in `output`, `input`, `device` and `engine`.

pub mod assets;
pub mod capture;
pub mod clock;
pub mod codec;
pub mod input;
pub mod jitter;
pub mod mix;
pub mod output;
pub mod playback;
pub mod ptt;
pub mod resample;
pub mod signal;

use std::time::Duration;

/// The one sample rate floorwalk uses end to end.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms mono frame at 48 kHz.
pub const FRAME_SAMPLES: u32 = 960;
/// The frame duration.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);
