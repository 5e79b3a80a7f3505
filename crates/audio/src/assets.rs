//! Speech clips for the simulator: short contact-center lines spoken by
//! espeak-ng in several English voices (made by `scripts/make-assets.sh`),
//! embedded in the binary as Ogg Opus files.
//!
//! Every clip is 48 kHz mono with 20 ms packets, so a sender can stream the
//! packets as they are, one per frame; [`Clip::decode`] gives the PCM.

use super::FRAME_SAMPLES;
use super::codec::{CodecError, Decoder};
use floorwalk_protocol::Role;

/// One spoken line.
#[derive(Debug, Clone, Copy)]
pub struct Clip {
    pub role: Role,
    /// The espeak-ng voice that spoke it.
    pub voice: &'static str,
    /// What is said (for transcripts).
    pub text: &'static str,
    /// The Ogg Opus file.
    pub ogg: &'static [u8],
}

/// All clips, agents' lines first.
pub static CLIPS: &[Clip] = include!("../../../assets/speech/clips.rs");

/// The clips spoken in `role`'s part (customer or agent).
pub fn clips(role: Role) -> impl Iterator<Item = &'static Clip> {
    CLIPS.iter().filter(move |clip| clip.role == role)
}

#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error("not an Ogg stream: {0}")]
    Ogg(&'static str),
    #[error("Ogg page checksum mismatch at byte {0}")]
    Checksum(usize),
    #[error("not an Opus stream: {0}")]
    Opus(&'static str),
    #[error("packet {index} is {samples} samples, not a 20 ms frame")]
    FrameSize { index: usize, samples: usize },
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// The audio packets of an Ogg Opus file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusStream {
    /// Samples of decoder warm-up to discard at the start.
    pub pre_skip: usize,
    /// One 20 ms Opus packet per entry.
    pub packets: Vec<Vec<u8>>,
}

impl Clip {
    pub fn packets(&self) -> Result<OpusStream, AssetError> {
        parse_ogg_opus(self.ogg)
    }

    /// The clip as 48 kHz mono samples.
    pub fn decode(&self) -> Result<Vec<f32>, AssetError> {
        let stream = self.packets()?;
        let mut decoder = Decoder::new()?;
        let mut pcm = vec![0.0; stream.packets.len() * FRAME_SAMPLES as usize];
        for (packet, out) in stream
            .packets
            .iter()
            .zip(pcm.chunks_mut(FRAME_SAMPLES as usize))
        {
            decoder.decode(packet, out)?;
        }
        pcm.drain(..stream.pre_skip.min(pcm.len()));
        Ok(pcm)
    }
}

/// Splits an Ogg Opus file (one mono stream, 20 ms packets) into packets,
/// checking page checksums and the Opus header.
pub fn parse_ogg_opus(bytes: &[u8]) -> Result<OpusStream, AssetError> {
    let mut packets = Vec::new();
    let mut partial: Vec<u8> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let page = bytes.get(at..).ok_or(AssetError::Ogg("truncated"))?;
        if page.len() < 27 || &page[..4] != b"OggS" {
            return Err(AssetError::Ogg("missing page header"));
        }
        if page[4] != 0 {
            return Err(AssetError::Ogg("unknown version"));
        }
        let segments = usize::from(page[26]);
        let table = page
            .get(27..27 + segments)
            .ok_or(AssetError::Ogg("truncated"))?;
        let body_len: usize = table.iter().map(|&l| usize::from(l)).sum();
        let page_len = 27 + segments + body_len;
        let whole = page
            .get(..page_len)
            .ok_or(AssetError::Ogg("truncated page"))?;
        let stored = u32::from_le_bytes([page[22], page[23], page[24], page[25]]);
        if ogg_crc(whole) != stored {
            return Err(AssetError::Checksum(at));
        }
        let mut body = &whole[27 + segments..];
        for &lace in table {
            let (chunk, rest) = body.split_at(usize::from(lace));
            partial.extend_from_slice(chunk);
            body = rest;
            // A lacing value under 255 ends the packet; 255 continues it.
            if lace < 255 {
                packets.push(std::mem::take(&mut partial));
            }
        }
        at += page_len;
    }
    let mut packets = packets.into_iter();
    let head = packets.next().ok_or(AssetError::Opus("no header"))?;
    if head.len() < 19 || &head[..8] != b"OpusHead" {
        return Err(AssetError::Opus("no OpusHead"));
    }
    if head[9] != 1 {
        return Err(AssetError::Opus("not mono"));
    }
    let pre_skip = usize::from(u16::from_le_bytes([head[10], head[11]]));
    let tags = packets.next().ok_or(AssetError::Opus("no tags"))?;
    if !tags.starts_with(b"OpusTags") {
        return Err(AssetError::Opus("no OpusTags"));
    }
    let packets: Vec<Vec<u8>> = packets.collect();
    for (index, packet) in packets.iter().enumerate() {
        let samples = opus::packet::get_nb_samples(packet, super::SAMPLE_RATE)
            .map_err(|e| AssetError::Codec(e.into()))?;
        if samples != FRAME_SAMPLES as usize {
            return Err(AssetError::FrameSize { index, samples });
        }
    }
    Ok(OpusStream { pre_skip, packets })
}

/// Ogg's CRC-32 (polynomial 0x04c11db7, no reflection), with the checksum
/// field taken as zero.
fn ogg_crc(page: &[u8]) -> u32 {
    let mut crc = 0u32;
    for (i, &byte) in page.iter().enumerate() {
        let byte = if (22..26).contains(&i) { 0 } else { byte };
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::signal::Level;

    #[test]
    fn every_clip_parses_and_decodes_to_speech() {
        assert!(clips(Role::Agent).count() >= 12);
        assert!(clips(Role::Customer).count() >= 12);
        let voices: std::collections::BTreeSet<_> = CLIPS.iter().map(|c| c.voice).collect();
        assert!(voices.len() >= 4, "{voices:?}");
        for clip in CLIPS {
            let stream = clip.packets().unwrap();
            assert!(
                stream.packets.len() > 25,
                "{} is under half a second",
                clip.text
            );
            let pcm = clip.decode().unwrap();
            let level = Level::of(&pcm);
            assert!(
                level.peak > 0.2 && level.peak < 1.0,
                "{}: {level:?}",
                clip.text
            );
        }
    }

    #[test]
    fn damaged_files_are_errors() {
        let ogg = CLIPS[0].ogg;
        assert!(matches!(
            parse_ogg_opus(&ogg[..ogg.len() - 3]),
            Err(AssetError::Ogg(_))
        ));
        let mut flipped = ogg.to_vec();
        flipped[200] ^= 0x40;
        assert!(matches!(
            parse_ogg_opus(&flipped),
            Err(AssetError::Checksum(_))
        ));
        assert!(matches!(
            parse_ogg_opus(b"RIFF0000WAVE"),
            Err(AssetError::Ogg(_))
        ));
        assert!(parse_ogg_opus(&[]).is_err());
    }
}
