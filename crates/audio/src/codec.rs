//! Opus at 48 kHz mono with 20 ms frames: the encoder for the microphone
//! (VOIP) and the decoder for each track, with loss concealment.

use super::FRAME_SAMPLES;
use floorwalk_protocol::MAX_OPUS_PACKET;

/// The bitrate of upstream speech: plenty for a voice at 48 kHz.
pub const VOICE_BITRATE: i32 = 24_000;
/// The longest packet a decoder accepts output room for (120 ms).
const MAX_DECODED: usize = 5760;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("opus: {0}")]
    Opus(#[from] opus::Error),
    #[error("a frame must be {FRAME_SAMPLES} samples, got {0}")]
    FrameSize(usize),
    #[error("packet decodes to {0} samples, not the 20 ms ({FRAME_SAMPLES}) floorwalk plays")]
    NotTwentyMs(usize),
    #[error("empty packet")]
    Empty,
}

/// Encodes 20 ms mono frames of f32 samples.
pub struct Encoder {
    inner: opus::Encoder,
    packet: Vec<u8>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Encoder")
    }
}

impl Encoder {
    /// A VOIP encoder (speech-tuned, with in-band FEC for a lossy path).
    pub fn voip() -> Result<Self, CodecError> {
        let mut inner = opus::Encoder::new(
            super::SAMPLE_RATE,
            opus::Channels::Mono,
            opus::Application::Voip,
        )?;
        inner.set_bitrate(opus::Bitrate::Bits(VOICE_BITRATE))?;
        // Half of the top complexity halves the encoding cost at no audible
        // loss for speech at this bitrate.
        inner.set_complexity(5)?;
        inner.set_inband_fec(true)?;
        inner.set_packet_loss_perc(5)?;
        Ok(Self {
            inner,
            packet: vec![0; MAX_OPUS_PACKET],
        })
    }

    /// Encodes one 20 ms frame; the packet borrows the encoder's buffer.
    pub fn encode(&mut self, frame: &[f32]) -> Result<&[u8], CodecError> {
        if frame.len() != FRAME_SAMPLES as usize {
            return Err(CodecError::FrameSize(frame.len()));
        }
        let len = self.inner.encode_float(frame, &mut self.packet)?;
        Ok(&self.packet[..len])
    }
}

/// Decodes one track's packets into 20 ms mono frames of f32 samples.
pub struct Decoder {
    inner: opus::Decoder,
    scratch: Vec<f32>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decoder")
    }
}

impl Decoder {
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            inner: opus::Decoder::new(super::SAMPLE_RATE, opus::Channels::Mono)?,
            scratch: vec![0.0; MAX_DECODED],
        })
    }

    /// Decodes a packet into `out` (960 samples). A corrupt packet, or one
    /// that is not 20 ms long, is an error and leaves `out` silent.
    pub fn decode(&mut self, packet: &[u8], out: &mut [f32]) -> Result<(), CodecError> {
        out.fill(0.0);
        if out.len() != FRAME_SAMPLES as usize {
            return Err(CodecError::FrameSize(out.len()));
        }
        if packet.is_empty() {
            // libopus reads an empty packet as a loss; callers say so instead.
            return Err(CodecError::Empty);
        }
        let n = self.inner.decode_float(packet, &mut self.scratch, false)?;
        if n != out.len() {
            return Err(CodecError::NotTwentyMs(n));
        }
        out.copy_from_slice(&self.scratch[..n]);
        Ok(())
    }

    /// Loss concealment: extrapolates the next 20 ms from what came before.
    pub fn conceal(&mut self, out: &mut [f32]) -> Result<(), CodecError> {
        out.fill(0.0);
        if out.len() != FRAME_SAMPLES as usize {
            return Err(CodecError::FrameSize(out.len()));
        }
        self.inner.decode_float(&[], out, false)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
