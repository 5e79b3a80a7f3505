//! Where the microphone audio comes from: a WAV file played in real time,
//! or a device (see `device`). Frames are 20 ms of 48 kHz mono.

use super::FRAME_SAMPLES;
use super::clock::Pacer;
use super::output::Endpoint;
use super::resample::{Resampler, downmix};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("WAV input {path}: {source}")]
    Wav { path: PathBuf, source: hound::Error },
    #[error("WAV input {0}: holds no audio")]
    EmptyWav(PathBuf),
    #[error("audio device: {0}")]
    Device(String),
    #[error("this floorwalk was built without audio device support (feature audio-device)")]
    NoDeviceSupport,
}

/// Something that yields microphone frames at its own pace.
pub trait Source: Send {
    /// Fills `frame` (960 samples) with the next frame if one is ready at
    /// `now`. An error means the source is gone.
    fn read(&mut self, now: Duration, frame: &mut [f32]) -> Result<bool, InputError>;
    /// When to look again at the latest.
    fn next_deadline(&self) -> Option<Duration>;
    fn describe(&self) -> String;
    /// Samples lost because they were not read in time (overruns).
    fn dropped_samples(&self) -> u64 {
        0
    }
}

/// Reads a whole WAV file as 48 kHz mono f32 samples, converting the sample
/// format, averaging the channels and resampling as needed.
pub fn load_wav(path: &Path) -> Result<Vec<f32>, InputError> {
    let wav_error = |source| InputError::Wav {
        path: path.to_owned(),
        source,
    };
    let mut reader = hound::WavReader::open(path).map_err(wav_error)?;
    let spec = reader.spec();
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().collect::<Result<_, _>>(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|s| s as f32 * scale))
                .collect::<Result<_, _>>()
        }
    }
    .map_err(wav_error)?;
    let mut mono = Vec::with_capacity(interleaved.len() / usize::from(spec.channels.max(1)));
    downmix(&interleaved, usize::from(spec.channels), &mut mono);
    let mut resampler = Resampler::new(spec.sample_rate, super::SAMPLE_RATE);
    let mut out = Vec::with_capacity(mono.len() * 2);
    resampler.process(&mono, &mut out);
    if out.is_empty() {
        return Err(InputError::EmptyWav(path.to_owned()));
    }
    Ok(out)
}

/// A WAV file as a microphone: 20 ms per 20 ms of real time, looping.
pub struct WavSource {
    path: PathBuf,
    samples: Vec<f32>,
    pos: usize,
    pacer: Pacer,
    pending: u64,
}

impl fmt::Debug for WavSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WavSource")
            .field("path", &self.path)
            .finish()
    }
}

impl WavSource {
    pub fn open(path: PathBuf) -> Result<Self, InputError> {
        let samples = load_wav(&path)?;
        Ok(Self {
            path,
            samples,
            pos: 0,
            pacer: Pacer::default(),
            pending: 0,
        })
    }
}

impl Source for WavSource {
    fn read(&mut self, now: Duration, frame: &mut [f32]) -> Result<bool, InputError> {
        self.pending += self.pacer.due(now);
        if self.pending == 0 {
            return Ok(false);
        }
        self.pending -= 1;
        for sample in frame.iter_mut().take(FRAME_SAMPLES as usize) {
            *sample = self.samples[self.pos];
            self.pos = (self.pos + 1) % self.samples.len();
        }
        Ok(true)
    }

    fn next_deadline(&self) -> Option<Duration> {
        if self.pending > 0 {
            return Some(Duration::ZERO);
        }
        self.pacer.next_deadline()
    }

    fn describe(&self) -> String {
        format!("wav:{}", self.path.display())
    }
}

/// Opens a microphone; `None` for [`Endpoint::None`].
pub fn open_input(endpoint: &Endpoint) -> Result<Option<Box<dyn Source>>, InputError> {
    match endpoint {
        Endpoint::None => Ok(None),
        Endpoint::Wav(path) => Ok(Some(Box::new(WavSource::open(path.clone())?))),
        #[cfg(feature = "audio-device")]
        Endpoint::Default => Ok(Some(Box::new(super::device::DeviceSource::open(None)?))),
        #[cfg(feature = "audio-device")]
        Endpoint::Device(name) => Ok(Some(Box::new(super::device::DeviceSource::open(Some(
            name,
        ))?))),
        #[cfg(not(feature = "audio-device"))]
        Endpoint::Default | Endpoint::Device(_) => Err(InputError::NoDeviceSupport),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::signal::{best_correlation, sine};

    fn write_wav(path: &Path, rate: u32, channels: u16, samples: &[f32]) {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for s in samples {
            for _ in 0..channels {
                w.write_sample((s * 32767.0) as i16).unwrap();
            }
        }
        w.finalize().unwrap();
    }

    #[test]
    fn a_stereo_16k_wav_becomes_48k_mono() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.wav");
        let step = std::f32::consts::TAU * 300.0 / 16_000.0;
        let tone: Vec<f32> = (0..16_000).map(|i| 0.5 * (step * i as f32).sin()).collect();
        write_wav(&path, 16_000, 2, &tone);
        let pcm = load_wav(&path).unwrap();
        assert!((pcm.len() as i64 - 48_000).abs() <= 3, "{}", pcm.len());
        let (_, c) = best_correlation(&sine(300.0, 0.5, 40_000), &pcm, 8);
        assert!(c > 0.999, "{c}");
    }

    #[test]
    fn the_wav_source_is_paced_and_loops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.wav");
        let ramp: Vec<f32> = (0..1500).map(|i| i as f32 / 2000.0).collect();
        write_wav(&path, 48_000, 1, &ramp);
        let mut source = WavSource::open(path).unwrap();
        let clock = ManualClock::default();
        let mut frame = vec![0.0; 960];
        assert!(source.read(clock.now(), &mut frame).unwrap());
        assert!(!source.read(clock.now(), &mut frame).unwrap());
        clock.advance(Duration::from_millis(40));
        assert!(source.read(clock.now(), &mut frame).unwrap());
        // The second frame wrapped around after 1500 samples.
        assert!((frame[539] - 1499.0 / 2000.0).abs() < 1e-3);
        assert!(frame[540].abs() < 1e-3);
        assert!(source.read(clock.now(), &mut frame).unwrap());
        assert!(!source.read(clock.now(), &mut frame).unwrap());
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.wav");
        let err = WavSource::open(missing).unwrap_err().to_string();
        assert!(err.contains("missing.wav"), "{err}");
        let junk = dir.path().join("junk.wav");
        std::fs::write(&junk, b"not a wav file at all").unwrap();
        assert!(WavSource::open(junk).is_err());
        let empty = dir.path().join("empty.wav");
        write_wav(&empty, 48_000, 1, &[]);
        assert!(matches!(
            WavSource::open(empty),
            Err(InputError::EmptyWav(_))
        ));
    }
}
