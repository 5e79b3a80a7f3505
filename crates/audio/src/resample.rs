//! Sample-rate and channel conversion for devices and WAV files that are not
//! 48 kHz mono.
//!
//! The rate conversion is rubato's windowed-sinc resampler. Its filter cuts
//! everything above the lower rate's Nyquist frequency before the samples
//! are picked, so a sound the new rate cannot carry (a 6 kHz hiss going to a
//! 8 kHz headset) is removed instead of folding back into the voice band.

use rubato::audioadapter_buffers::{SizeError, direct::InterleavedSlice};
use rubato::{
    Async, FixedAsync, Resampler as _, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

/// Length of the sinc filter, in samples of the input. Its delay is half of
/// that (2.7 ms at 48 kHz); shorter filters roll off too early for an 8 kHz
/// headset (128 taps lose 4 dB at 3.4 kHz, where 256 lose under 1).
const SINC_LEN: usize = 256;
/// Frames per step when a whole clip is converted.
const CLIP_CHUNK: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("cannot convert {from} Hz to {to} Hz: {source}")]
    Setup {
        from: u32,
        to: u32,
        source: rubato::ResamplerConstructionError,
    },
    #[error("resampling: {0}")]
    Process(#[from] rubato::ResampleError),
    #[error("resampling: {0}")]
    Buffer(#[from] SizeError),
}

fn sinc_parameters() -> SincInterpolationParameters {
    SincInterpolationParameters {
        sinc_len: SINC_LEN,
        // The highest cutoff that keeps aliasing under the window's sidelobes.
        f_cutoff: None,
        oversampling_factor: 256,
        interpolation: SincInterpolationType::Linear,
        window: WindowFunction::BlackmanHarris2,
    }
}

fn sinc_resampler(
    from: u32,
    to: u32,
    channels: usize,
    chunk: usize,
    fixed: FixedAsync,
) -> Result<Async<f32>, ResampleError> {
    let ratio = f64::from(to) / f64::from(from.max(1));
    Async::new_sinc(ratio, 1.0, &sinc_parameters(), chunk, channels, fixed)
        .map_err(|source| ResampleError::Setup { from, to, source })
}

/// Which side of a [`Resampler`] call has a set number of frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixed {
    /// Each call takes this many frames and gives what they come to.
    Input(usize),
    /// Each call gives this many frames and takes what they need
    /// ([`Resampler::input_frames_next`]).
    Output(usize),
}

/// A streaming rate converter for interleaved f32 audio, one fixed-size
/// side per call. All its memory is taken when it is made, so converting
/// never allocates.
#[derive(Debug)]
pub struct Resampler {
    /// None when the rates are equal: the audio passes as it is.
    inner: Option<Async<f32>>,
    channels: usize,
    /// Frames a call takes (fixed input) or gives (fixed output).
    chunk: usize,
}

impl Resampler {
    /// Converts `channels` interleaved channels from `from` Hz to `to` Hz.
    pub fn new(from: u32, to: u32, channels: usize, fixed: Fixed) -> Result<Self, ResampleError> {
        let channels = channels.max(1);
        let (chunk, side) = match fixed {
            Fixed::Input(frames) => (frames.max(1), FixedAsync::Input),
            Fixed::Output(frames) => (frames.max(1), FixedAsync::Output),
        };
        let inner = (from != to)
            .then(|| sinc_resampler(from, to, channels, chunk, side))
            .transpose()?;
        Ok(Self {
            inner,
            channels,
            chunk,
        })
    }

    /// Frames the next [`Resampler::process`] takes.
    pub fn input_frames_next(&self) -> usize {
        self.inner
            .as_ref()
            .map_or(self.chunk, |inner| inner.input_frames_next())
    }

    /// The most frames one [`Resampler::process`] can give.
    pub fn output_frames_max(&self) -> usize {
        self.inner
            .as_ref()
            .map_or(self.chunk, |inner| inner.output_frames_max())
    }

    /// How many output frames a sound comes out later than it went in (the
    /// filter's delay).
    pub fn output_delay(&self) -> usize {
        self.inner.as_ref().map_or(0, |inner| inner.output_delay())
    }

    /// Converts the first [`Resampler::input_frames_next`] frames of `input`
    /// into the start of `output`, which needs room for
    /// [`Resampler::output_frames_max`]. Returns the frames taken and given.
    pub fn process(
        &mut self,
        input: &[f32],
        output: &mut [f32],
    ) -> Result<(usize, usize), ResampleError> {
        let frames_in = input.len() / self.channels;
        let frames_out = output.len() / self.channels;
        let Some(inner) = &mut self.inner else {
            if frames_in < self.chunk {
                return Err(rubato::ResampleError::InsufficientInputBufferSize {
                    expected: self.chunk,
                    actual: frames_in,
                }
                .into());
            }
            if frames_out < self.chunk {
                return Err(rubato::ResampleError::InsufficientOutputBufferSize {
                    expected: self.chunk,
                    actual: frames_out,
                }
                .into());
            }
            let samples = self.chunk * self.channels;
            output[..samples].copy_from_slice(&input[..samples]);
            return Ok((self.chunk, self.chunk));
        };
        let input = InterleavedSlice::new(input, self.channels, frames_in)?;
        let mut output = InterleavedSlice::new_mut(output, self.channels, frames_out)?;
        Ok(inner.process_into_buffer(&input, &mut output, None)?)
    }
}

/// A whole mono clip at `from` Hz, converted to `to` Hz: as long as the clip
/// (rounded up), its first sample where the clip's was (no filter delay).
pub fn resample_clip(mono: &[f32], from: u32, to: u32) -> Result<Vec<f32>, ResampleError> {
    if from == to || mono.is_empty() {
        return Ok(mono.to_vec());
    }
    let mut resampler = Resampler::new(from, to, 1, Fixed::Input(CLIP_CHUNK))?;
    let wanted = (mono.len() as u64 * u64::from(to)).div_ceil(u64::from(from.max(1))) as usize;
    let skip = resampler.output_delay();
    let mut out = Vec::with_capacity(skip + wanted + resampler.output_frames_max());
    let mut block = vec![0.0; resampler.output_frames_max()];
    let mut chunk = [0.0; CLIP_CHUNK];
    let mut rest = mono;
    // The clip, then silence until the filter has let all of it out.
    while out.len() < skip + wanted {
        let take = rest.len().min(CLIP_CHUNK);
        chunk[..take].copy_from_slice(&rest[..take]);
        chunk[take..].fill(0.0);
        rest = &rest[take..];
        let (_, given) = resampler.process(&chunk, &mut block)?;
        out.extend_from_slice(&block[..given]);
    }
    out.drain(..skip);
    out.truncate(wanted);
    Ok(out)
}

/// Averages interleaved channels into mono, appending to `out`.
pub fn downmix(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    let channels = channels.max(1);
    out.extend(
        interleaved
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() / channels as f32),
    );
}

#[cfg(test)]
mod tests;
