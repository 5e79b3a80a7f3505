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

/// The monitoring notice a customer hears when a supervisor joins under an
/// announcement rule (`announce: true`; made by `scripts/make-notice.sh`).
pub static MONITORING_NOTICE: Clip = Clip {
    role: Role::Bot,
    voice: "en-us",
    text: "This call is being monitored.",
    ogg: include_bytes!("../../../assets/notice/monitoring.opus"),
};

/// The clips spoken in `role`'s part (customer or agent).
pub fn clips(role: Role) -> impl Iterator<Item = &'static Clip> {
    CLIPS.iter().filter(move |clip| clip.role == role)
}

#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error("not a valid Ogg stream: {0}")]
    Ogg(#[from] ogg::OggReadError),
    #[error("not a mono Opus stream: {0}")]
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

/// Splits an Ogg Opus file into its audio packets (the Ogg layer, page
/// checksums included, is the `ogg` crate's), checking that it is one mono
/// Opus stream of 20 ms packets and reading its pre-skip.
pub fn parse_ogg_opus(bytes: &[u8]) -> Result<OpusStream, AssetError> {
    let mut reader = ogg::PacketReader::new(std::io::Cursor::new(bytes));
    let head = reader.read_packet()?.ok_or(AssetError::Opus("no header"))?;
    let serial = head.stream_serial();
    let head = head.data;
    // OpusHead: magic, version, channel count, pre-skip (RFC 7845, 5.1).
    if head.len() < 19 || &head[..8] != b"OpusHead" {
        return Err(AssetError::Opus("no OpusHead"));
    }
    if head[9] != 1 {
        return Err(AssetError::Opus("not mono"));
    }
    let pre_skip = usize::from(u16::from_le_bytes([head[10], head[11]]));
    let tags = reader.read_packet()?.ok_or(AssetError::Opus("no tags"))?;
    if !tags.data.starts_with(b"OpusTags") {
        return Err(AssetError::Opus("no OpusTags"));
    }
    let mut packets = Vec::new();
    while let Some(packet) = reader.read_packet()? {
        if packet.stream_serial() != serial {
            return Err(AssetError::Opus("more than one stream"));
        }
        let samples = opus::packet::get_nb_samples(&packet.data, super::SAMPLE_RATE)
            .map_err(|e| AssetError::Codec(e.into()))?;
        if samples != FRAME_SAMPLES as usize {
            return Err(AssetError::FrameSize {
                index: packets.len(),
                samples,
            });
        }
        packets.push(packet.data);
    }
    Ok(OpusStream { pre_skip, packets })
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
        for clip in CLIPS.iter().chain([&MONITORING_NOTICE]) {
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
    fn the_header_gives_the_pre_skip() {
        for clip in CLIPS {
            // opusenc's encoder delay at 48 kHz.
            assert_eq!(clip.packets().unwrap().pre_skip, 312, "{}", clip.text);
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
            Err(AssetError::Ogg(ogg::OggReadError::HashMismatch(..)))
        ));
        for not_ogg in [&b"RIFF0000WAVE"[..], &[]] {
            assert!(matches!(
                parse_ogg_opus(not_ogg),
                Err(AssetError::Ogg(ogg::OggReadError::NoCapturePatternFound))
            ));
        }
    }

    /// CLIPS[0] written again as Ogg, its packets changed by `edit` (the
    /// header is packet 0, the tags packet 1).
    fn remuxed(edit: impl Fn(usize, &mut Vec<u8>)) -> Vec<u8> {
        let original = CLIPS[0].packets().unwrap();
        let first = CLIPS[0].ogg;
        let mut reader = ogg::PacketReader::new(std::io::Cursor::new(first));
        let head = reader.read_packet().unwrap().unwrap().data;
        let tags = reader.read_packet().unwrap().unwrap().data;
        let mut writer = ogg::PacketWriter::new(Vec::new());
        let all: Vec<Vec<u8>> = [head, tags].into_iter().chain(original.packets).collect();
        let last = all.len() - 1;
        for (index, mut packet) in all.into_iter().enumerate() {
            edit(index, &mut packet);
            let end = if index == last {
                ogg::PacketWriteEndInfo::EndStream
            } else {
                ogg::PacketWriteEndInfo::NormalPacket
            };
            writer.write_packet(packet, 7, end, 0).unwrap();
        }
        writer.into_inner()
    }

    #[test]
    fn only_mono_opus_in_20_ms_packets_is_taken() {
        // Unchanged, it parses as the original does.
        let same = parse_ogg_opus(&remuxed(|_, _| {})).unwrap();
        assert_eq!(same, CLIPS[0].packets().unwrap());
        let stereo = remuxed(|index, packet| {
            if index == 0 {
                packet[9] = 2;
            }
        });
        assert!(matches!(
            parse_ogg_opus(&stereo),
            Err(AssetError::Opus("not mono"))
        ));
        let vorbis = remuxed(|index, packet| {
            if index == 0 {
                packet[..8].copy_from_slice(b"OpusHeaD");
            }
        });
        assert!(matches!(
            parse_ogg_opus(&vorbis),
            Err(AssetError::Opus("no OpusHead"))
        ));
        // Packet 5 (audio packet 3) made two frames long: 40 ms.
        let long = remuxed(|index, packet| {
            if index == 5 {
                packet[0] = (packet[0] & !0b11) | 0b01;
            }
        });
        assert!(matches!(
            parse_ogg_opus(&long),
            Err(AssetError::FrameSize {
                index: 3,
                samples: 1920
            })
        ));
    }
}
