//! Where the mix goes: nowhere (`none`), a WAV file written in real time, or
//! an audio device (see `device`, behind the `audio-device` feature).

use super::clock::Pacer;
use super::latency::Measured;
use super::{FRAME_SAMPLES, SAMPLE_RATE};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// An audio endpoint as the supervisor names it (`--audio-out`,
/// `--audio-in`): `none`, `default`, `device:NAME` or `wav:PATH`.
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
    /// included. Input: a WAV file (any rate or channels) played in real
    /// time, looping.
    Wav(PathBuf),
}

impl FromStr for Endpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Self::None),
            "default" => Ok(Self::Default),
            _ => {
                if let Some(path) = s.strip_prefix("wav:").filter(|p| !p.is_empty()) {
                    Ok(Self::Wav(PathBuf::from(path)))
                } else if let Some(name) = s.strip_prefix("device:").filter(|n| !n.is_empty()) {
                    Ok(Self::Device(name.to_owned()))
                } else {
                    Err(format!(
                        "unknown audio endpoint {s:?}: expected none, default, device:NAME or wav:PATH"
                    ))
                }
            }
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::Default => f.write_str("default"),
            Self::Device(name) => write!(f, "device:{name}"),
            Self::Wav(path) => write!(f, "wav:{}", path.display()),
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

/// Plays nothing, in real time.
#[derive(Debug, Clone, Default)]
pub struct NullSink {
    pacer: Pacer,
    channels: usize,
}

impl NullSink {
    pub fn new(channels: usize) -> Self {
        Self {
            pacer: Pacer::default(),
            channels,
        }
    }
}

impl Sink for NullSink {
    fn due(&mut self, now: Duration) -> Result<u64, OutputError> {
        Ok(self.pacer.due(now))
    }

    fn write(&mut self, _frame: &[f32]) -> Result<(), OutputError> {
        Ok(())
    }

    fn channels(&self) -> usize {
        self.channels
    }

    fn next_deadline(&self) -> Option<Duration> {
        self.pacer.next_deadline()
    }

    fn describe(&self) -> String {
        "none".to_owned()
    }
}

/// Update the WAV header this often, so the file is readable while written.
const WAV_HEADER_EVERY: u64 = 50;

/// Writes the mix to a WAV file in real time: one frame per 20 ms that
/// passed, so the file's length is the time that went by.
pub struct WavSink {
    path: PathBuf,
    writer: hound::WavWriter<std::io::BufWriter<std::fs::File>>,
    pacer: Pacer,
    channels: usize,
    written: u64,
}

impl fmt::Debug for WavSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WavSink").field("path", &self.path).finish()
    }
}

impl WavSink {
    pub fn create(path: PathBuf, channels: usize) -> Result<Self, OutputError> {
        let spec = hound::WavSpec {
            channels: u16::try_from(channels.clamp(1, 2)).unwrap_or(1),
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(&path, spec).map_err(|source| OutputError::Wav {
            path: path.clone(),
            source,
        })?;
        Ok(Self {
            path,
            writer,
            pacer: Pacer::default(),
            channels: channels.clamp(1, 2),
            written: 0,
        })
    }

    fn wav_error(&self, source: hound::Error) -> OutputError {
        OutputError::Wav {
            path: self.path.clone(),
            source,
        }
    }
}

/// f32 (-1..1) to i16 with clamping.
pub fn to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

impl Sink for WavSink {
    fn due(&mut self, now: Duration) -> Result<u64, OutputError> {
        Ok(self.pacer.due(now))
    }

    fn write(&mut self, frame: &[f32]) -> Result<(), OutputError> {
        debug_assert_eq!(frame.len(), FRAME_SAMPLES as usize * self.channels);
        for &sample in frame {
            if let Err(e) = self.writer.write_sample(to_i16(sample)) {
                return Err(self.wav_error(e));
            }
        }
        self.written += 1;
        if self.written % WAV_HEADER_EVERY == 0
            && let Err(e) = self.writer.flush()
        {
            return Err(self.wav_error(e));
        }
        Ok(())
    }

    fn channels(&self) -> usize {
        self.channels
    }

    fn next_deadline(&self) -> Option<Duration> {
        self.pacer.next_deadline()
    }

    fn describe(&self) -> String {
        format!("wav:{}", self.path.display())
    }
}

/// Opens an output for a mix of `channels` channels.
pub fn open_output(endpoint: &Endpoint, channels: usize) -> Result<Box<dyn Sink>, OutputError> {
    match endpoint {
        Endpoint::None => Ok(Box::new(NullSink::new(channels))),
        Endpoint::Wav(path) => Ok(Box::new(WavSink::create(path.clone(), channels)?)),
        #[cfg(feature = "audio-device")]
        Endpoint::Default => Ok(Box::new(super::device::DeviceSink::open(None, channels)?)),
        #[cfg(feature = "audio-device")]
        Endpoint::Device(name) => Ok(Box::new(super::device::DeviceSink::open(
            Some(name),
            channels,
        )?)),
        #[cfg(not(feature = "audio-device"))]
        Endpoint::Default | Endpoint::Device(_) => Err(OutputError::NoDeviceSupport),
    }
}

#[cfg(test)]
mod tests;
