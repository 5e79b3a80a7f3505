//! The binary audio frame: a 16-byte big-endian header, then one Opus packet.

/// Header length in bytes.
pub const HEADER_LEN: usize = 16;
/// The largest Opus packet a frame may carry.
pub const MAX_OPUS_PACKET: usize = 1275;
/// The largest binary frame a peer may send.
pub const MAX_BINARY_FRAME: usize = HEADER_LEN + MAX_OPUS_PACKET;
pub const FRAME_VERSION: u8 = 1;
pub const CODEC_OPUS: u8 = 1;
/// Flag bit 0: first frame of a talk spurt.
pub const FLAG_SPURT_START: u16 = 1;
/// Flag bit 1: last frame of a talk spurt.
pub const FLAG_SPURT_END: u16 = 2;

/// The header fields of an audio frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameHeader {
    pub flags: u16,
    /// The leg whose audio this is.
    pub track: u32,
    /// Per track, +1 per frame, wrapping.
    pub seq: u32,
    /// Per track, in 48 kHz samples, wrapping.
    pub timestamp: u32,
}

impl FrameHeader {
    pub fn spurt_start(&self) -> bool {
        self.flags & FLAG_SPURT_START != 0
    }

    pub fn spurt_end(&self) -> bool {
        self.flags & FLAG_SPURT_END != 0
    }
}

/// A decoded frame that borrows its Opus packet from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioFrame<'a> {
    pub header: FrameHeader,
    pub opus: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("audio frame of {0} bytes is shorter than the 16-byte header plus one byte")]
    TooShort(usize),
    #[error("audio frame of {0} bytes exceeds the limit of {MAX_BINARY_FRAME}")]
    TooLong(usize),
    #[error("audio frame version {0} is not supported (expected 1)")]
    BadVersion(u8),
    #[error("audio codec {0} is not supported (expected 1 = Opus)")]
    BadCodec(u8),
}

impl<'a> AudioFrame<'a> {
    /// Parses a binary WebSocket frame.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, FrameError> {
        if bytes.len() > MAX_BINARY_FRAME {
            return Err(FrameError::TooLong(bytes.len()));
        }
        let Some((head, opus)) = bytes.split_first_chunk::<HEADER_LEN>() else {
            return Err(FrameError::TooShort(bytes.len()));
        };
        if opus.is_empty() {
            return Err(FrameError::TooShort(bytes.len()));
        }
        if head[0] != FRAME_VERSION {
            return Err(FrameError::BadVersion(head[0]));
        }
        if head[1] != CODEC_OPUS {
            return Err(FrameError::BadCodec(head[1]));
        }
        let u32_at =
            |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let header = FrameHeader {
            flags: u16::from_be_bytes([head[2], head[3]]),
            track: u32_at(4),
            seq: u32_at(8),
            timestamp: u32_at(12),
        };
        Ok(Self { header, opus })
    }

    /// Appends the wire form of this frame to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), FrameError> {
        let total = HEADER_LEN + self.opus.len();
        if self.opus.is_empty() {
            return Err(FrameError::TooShort(total));
        }
        if total > MAX_BINARY_FRAME {
            return Err(FrameError::TooLong(total));
        }
        out.reserve(total);
        out.extend_from_slice(&[FRAME_VERSION, CODEC_OPUS]);
        out.extend_from_slice(&self.header.flags.to_be_bytes());
        out.extend_from_slice(&self.header.track.to_be_bytes());
        out.extend_from_slice(&self.header.seq.to_be_bytes());
        out.extend_from_slice(&self.header.timestamp.to_be_bytes());
        out.extend_from_slice(self.opus);
        Ok(())
    }

    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.opus.len());
        self.encode_into(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame as captured from the wire: track 31, seq 7, ts 960, spurt start,
    /// carrying a 3-byte Opus packet (a TOC byte for 20 ms SILK + 2 bytes).
    const CAPTURED: [u8; 19] = [
        0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x03,
        0xc0, 0x08, 0xab, 0xcd,
    ];

    #[test]
    fn decodes_a_captured_frame() {
        let frame = AudioFrame::decode(&CAPTURED).unwrap();
        assert_eq!(
            frame.header,
            FrameHeader {
                flags: 1,
                track: 31,
                seq: 7,
                timestamp: 960
            }
        );
        assert!(frame.header.spurt_start());
        assert!(!frame.header.spurt_end());
        assert_eq!(frame.opus, &[0x08, 0xab, 0xcd]);
        assert_eq!(frame.encode().unwrap(), CAPTURED);
    }

    #[test]
    fn round_trips_extreme_values() {
        let opus = vec![0x5a; MAX_OPUS_PACKET];
        let header = FrameHeader {
            flags: 3,
            track: u32::MAX,
            seq: u32::MAX,
            timestamp: u32::MAX,
        };
        let bytes = AudioFrame {
            header,
            opus: &opus,
        }
        .encode()
        .unwrap();
        assert_eq!(bytes.len(), MAX_BINARY_FRAME);
        let back = AudioFrame::decode(&bytes).unwrap();
        assert_eq!(back.header, header);
        assert_eq!(back.opus, &opus[..]);
    }

    #[test]
    fn bad_frames_are_errors() {
        assert_eq!(AudioFrame::decode(&[]), Err(FrameError::TooShort(0)));
        assert_eq!(
            AudioFrame::decode(&CAPTURED[..16]),
            Err(FrameError::TooShort(16))
        );
        assert_eq!(
            AudioFrame::decode(&CAPTURED[..9]),
            Err(FrameError::TooShort(9))
        );
        let mut v2 = CAPTURED;
        v2[0] = 2;
        assert_eq!(AudioFrame::decode(&v2), Err(FrameError::BadVersion(2)));
        let mut pcm = CAPTURED;
        pcm[1] = 0;
        assert_eq!(AudioFrame::decode(&pcm), Err(FrameError::BadCodec(0)));
        let huge = vec![1u8; MAX_BINARY_FRAME + 1];
        assert_eq!(
            AudioFrame::decode(&huge),
            Err(FrameError::TooLong(MAX_BINARY_FRAME + 1))
        );
        let big = vec![0u8; MAX_OPUS_PACKET + 1];
        let frame = AudioFrame {
            header: FrameHeader::default(),
            opus: &big,
        };
        assert!(matches!(frame.encode(), Err(FrameError::TooLong(_))));
        let empty = AudioFrame {
            header: FrameHeader::default(),
            opus: &[],
        };
        assert!(matches!(empty.encode(), Err(FrameError::TooShort(_))));
    }
}
