//! `wav:PATH` endpoints: the mix written to a WAV file in real time, and a
//! WAV file played in real time as the microphone.

use super::clock::Pacer;
use super::endpoint::{InputError, Microphone, OutputError, Sink};
use super::none::NullSink;
use super::resample::{downmix, resample_clip};
use super::{FRAME_SAMPLES, SAMPLE_RATE};
use std::fmt;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Update the WAV header this often, so the file is readable while written.
const WAV_HEADER_EVERY: u64 = 50;
/// The sample rates a WAV microphone may have: anything a recorder makes,
/// and nothing so far off that converting it would take unbounded memory.
const WAV_RATES: RangeInclusive<u32> = 1_000..=384_000;

/// f32 (-1..1) to i16 with clamping.
pub fn to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

/// Writes the mix to a WAV file in real time: one frame per 20 ms that
/// passed, so the file's length is the time that went by.
pub struct WavSink {
    path: PathBuf,
    writer: hound::WavWriter<std::io::BufWriter<std::fs::File>>,
    /// Keeps time, and the channel count, exactly as `none` does.
    pace: NullSink,
    written: u64,
}

impl fmt::Debug for WavSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WavSink").field("path", &self.path).finish()
    }
}

impl WavSink {
    pub fn create(path: PathBuf, channels: usize) -> Result<Self, OutputError> {
        let channels = channels.clamp(1, 2);
        let spec = hound::WavSpec {
            channels: u16::try_from(channels).unwrap_or(1),
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
            pace: NullSink::new(channels),
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

impl Sink for WavSink {
    fn due(&mut self, now: Duration) -> Result<u64, OutputError> {
        self.pace.due(now)
    }

    fn write(&mut self, frame: &[f32]) -> Result<(), OutputError> {
        debug_assert_eq!(frame.len(), FRAME_SAMPLES as usize * self.channels());
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
        self.pace.channels()
    }

    fn next_deadline(&self) -> Option<Duration> {
        self.pace.next_deadline()
    }

    fn describe(&self) -> String {
        format!("wav:{}", self.path.display())
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
    if !WAV_RATES.contains(&spec.sample_rate) {
        return Err(InputError::WavRate {
            path: path.to_owned(),
            rate: spec.sample_rate,
        });
    }
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
    let samples = resample_clip(&mono, spec.sample_rate, SAMPLE_RATE).map_err(|source| {
        InputError::WavResample {
            path: path.to_owned(),
            source,
        }
    })?;
    if samples.is_empty() {
        return Err(InputError::EmptyWav(path.to_owned()));
    }
    Ok(samples)
}

/// A WAV file as the microphone: 20 ms per 20 ms of real time, looping.
pub struct WavMicrophone {
    path: PathBuf,
    samples: Vec<f32>,
    pos: usize,
    pacer: Pacer,
    pending: u64,
}

impl fmt::Debug for WavMicrophone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WavMicrophone")
            .field("path", &self.path)
            .finish()
    }
}

impl WavMicrophone {
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

impl Microphone for WavMicrophone {
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

#[cfg(test)]
mod tests;
