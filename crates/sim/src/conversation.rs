//! What is said on a call: the customer and the agent taking turns, each
//! line one of the embedded speech clips ([`floorwalk_audio::assets`]).
//!
//! A call's conversation is a pure function of the simulator's seed and the
//! call's number, laid out in 20 ms frames from the moment the call started.
//! So the media engine can start playing a call at any point (a console
//! joins four minutes in) and the world can send transcript lines that match
//! what is being said, both without sharing any state.

use floorwalk_audio::assets::{self, AssetError};
use floorwalk_protocol::Role;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The length of one frame, the unit of a conversation's timeline.
pub const FRAME_MS: i64 = 20;
/// Quiet before the agent's first line.
const OPENING_FRAMES: i64 = 20;
/// The pause between two lines, in frames (0.3 to 1.2 seconds).
const PAUSE_FRAMES: std::ops::Range<i64> = 15..60;

/// One clip, ready to stream: a 20 ms Opus packet per frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spoken {
    pub role: Role,
    pub voice: &'static str,
    pub text: &'static str,
    pub packets: Vec<Vec<u8>>,
}

impl Spoken {
    /// How many frames the clip lasts.
    pub fn frames(&self) -> u32 {
        u32::try_from(self.packets.len()).unwrap_or(u32::MAX)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("speech clip {text:?}: {source}")]
    Asset {
        text: &'static str,
        source: AssetError,
    },
    #[error("no {0:?} speech clips: a conversation needs both parties")]
    Missing(Role),
    #[error("speech clip {0:?} has no audio")]
    Empty(&'static str),
}

/// The clips a conversation draws from, grouped by role and voice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    clips: Vec<Spoken>,
    /// Per party (agent, customer): per voice, the clips in that voice.
    parts: [Vec<Vec<usize>>; 2],
    /// The monitoring notice's packets (none in a library of given clips).
    notice: Vec<Vec<u8>>,
}

impl Library {
    /// The embedded clips, parsed once per simulator.
    pub fn embedded() -> Result<Self, LibraryError> {
        let clips = assets::CLIPS
            .iter()
            .filter(|clip| matches!(clip.role, Role::Agent | Role::Customer))
            .map(|clip| {
                let stream = clip.packets().map_err(|source| LibraryError::Asset {
                    text: clip.text,
                    source,
                })?;
                Ok(Spoken {
                    role: clip.role,
                    voice: clip.voice,
                    text: clip.text,
                    packets: stream.packets,
                })
            })
            .collect::<Result<Vec<_>, LibraryError>>()?;
        let notice = &assets::MONITORING_NOTICE;
        let notice = notice.packets().map_err(|source| LibraryError::Asset {
            text: notice.text,
            source,
        })?;
        Ok(Self {
            notice: notice.packets,
            ..Self::new(clips)?
        })
    }

    /// A library of the given clips; both parties need at least one.
    pub fn new(clips: Vec<Spoken>) -> Result<Self, LibraryError> {
        let mut parts: [Vec<(&'static str, Vec<usize>)>; 2] = [Vec::new(), Vec::new()];
        for (n, clip) in clips.iter().enumerate() {
            if clip.packets.is_empty() {
                return Err(LibraryError::Empty(clip.text));
            }
            let Some(part) = party(clip.role) else {
                continue;
            };
            let voices = &mut parts[part];
            match voices.iter_mut().find(|(voice, _)| *voice == clip.voice) {
                Some((_, lines)) => lines.push(n),
                None => voices.push((clip.voice, vec![n])),
            }
        }
        for (part, role) in [(0, Role::Agent), (1, Role::Customer)] {
            if parts[part].is_empty() {
                return Err(LibraryError::Missing(role));
            }
        }
        let parts = parts.map(|voices| voices.into_iter().map(|(_, lines)| lines).collect());
        Ok(Self {
            clips,
            parts,
            notice: Vec::new(),
        })
    }

    pub fn clip(&self, n: usize) -> Option<&Spoken> {
        self.clips.get(n)
    }

    /// The `n`-th 20 ms packet of the monitoring notice; `None` past its end.
    pub fn notice(&self, n: usize) -> Option<&[u8]> {
        self.notice.get(n).map(Vec::as_slice)
    }
}

/// The index of a speaking party: 0 the agent, 1 the customer.
pub fn party(role: Role) -> Option<usize> {
    match role {
        Role::Agent => Some(0),
        Role::Customer => Some(1),
        Role::Supervisor | Role::Bot | Role::Unknown => None,
    }
}

/// One line of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// `Agent` or `Customer`.
    pub role: Role,
    /// The clip, in the library.
    pub clip: usize,
    /// The first frame, counted from the call's start.
    pub start: i64,
    pub frames: u32,
    /// Frames this party spoke before this line (for per-track numbering).
    pub spoken_before: u64,
}

impl Line {
    /// The frame after the last one.
    pub fn end(&self) -> i64 {
        self.start + i64::from(self.frames)
    }
}

/// A call's conversation, read forwards: the agent greets, then the customer
/// and the agent take turns, in one voice each for the whole call, with
/// short pauses, never saying the same line twice in a row.
#[derive(Debug, Clone)]
pub struct Conversation {
    rng: SmallRng,
    /// Per party, the clips of its voice.
    voices: [usize; 2],
    line: Line,
    spoken: [u64; 2],
    /// Per party, its last line's clip.
    last: [Option<usize>; 2],
}

impl Conversation {
    /// The conversation of call number `call` in a simulator seeded `seed`.
    pub fn new(library: &Library, seed: u64, call: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(floorwalk_server::splitmix(
            seed ^ floorwalk_server::splitmix(call),
        ));
        let voices = [
            rng.random_range(0..library.parts[0].len()),
            rng.random_range(0..library.parts[1].len()),
        ];
        // The agent's first clip is the greeting.
        let clip = library.parts[0][voices[0]][0];
        let line = Line {
            role: Role::Agent,
            clip,
            start: OPENING_FRAMES,
            frames: library.clips[clip].frames(),
            spoken_before: 0,
        };
        Self {
            rng,
            voices,
            line,
            spoken: [0, 0],
            last: [Some(clip), None],
        }
    }

    /// The current line (which may not have started yet).
    pub fn line(&self) -> Line {
        self.line
    }

    /// Moves on to the next line: the other party speaks after a pause.
    pub fn advance(&mut self, library: &Library) -> Line {
        let previous = self.line;
        let (part, role) = match previous.role {
            Role::Agent => (1, Role::Customer),
            _ => (0, Role::Agent),
        };
        if let Some(done) = party(previous.role) {
            self.spoken[done] += u64::from(previous.frames);
        }
        let lines = &library.parts[part][self.voices[part]];
        // Not the same line as this party's last one (when there is a choice).
        let mut pick = self.rng.random_range(0..lines.len());
        if lines.len() > 1 && Some(lines[pick]) == self.last[part] {
            pick = (pick + 1) % lines.len();
        }
        let clip = lines[pick];
        self.last[part] = Some(clip);
        let pause = self.rng.random_range(PAUSE_FRAMES);
        self.line = Line {
            role,
            clip,
            start: previous.end() + pause,
            frames: library.clips[clip].frames(),
            spoken_before: self.spoken[part],
        };
        self.line
    }

    /// What is being said at `frame` (from the call's start): the line and
    /// the frame's index in it, or `None` in a pause. Lines that ended
    /// before `frame` are passed for good, so `frame` must not go back.
    pub fn at(&mut self, library: &Library, frame: i64) -> Option<(Line, u32)> {
        while self.line.end() <= frame {
            self.advance(library);
        }
        let index = frame - self.line.start;
        (index >= 0).then(|| (self.line, u32::try_from(index).unwrap_or(0)))
    }
}

/// What an interim transcript shows while a line is still being spoken:
/// its first half, word by word.
pub fn interim(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    words[..words.len().div_ceil(2)].join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spoken(role: Role, voice: &'static str, text: &'static str, frames: usize) -> Spoken {
        Spoken {
            role,
            voice,
            text,
            packets: vec![vec![0xf8]; frames],
        }
    }

    fn small() -> Library {
        Library::new(vec![
            spoken(Role::Agent, "a1", "hello, how can I help", 50),
            spoken(Role::Agent, "a1", "one moment", 30),
            spoken(Role::Agent, "a1", "anything else", 40),
            spoken(Role::Customer, "c1", "my bill is wrong", 60),
            spoken(Role::Customer, "c1", "thanks", 20),
            spoken(Role::Customer, "c2", "hi", 25),
        ])
        .unwrap()
    }

    fn lines(library: &Library, seed: u64, call: u64, count: usize) -> Vec<Line> {
        let mut talk = Conversation::new(library, seed, call);
        let mut out = vec![talk.line()];
        out.extend((1..count).map(|_| talk.advance(library)));
        out
    }

    #[test]
    fn the_agent_greets_then_the_parties_take_turns_with_pauses() {
        let library = small();
        let lines = lines(&library, 1, 7, 40);
        assert_eq!(lines[0].role, Role::Agent);
        assert_eq!(
            library.clip(lines[0].clip).unwrap().text,
            "hello, how can I help"
        );
        assert_eq!(lines[0].start, OPENING_FRAMES);
        for pair in lines.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            assert_ne!(a.role, b.role, "turns alternate");
            let pause = b.start - a.end();
            assert!(PAUSE_FRAMES.contains(&pause), "pause {pause}");
            assert_eq!(b.frames, library.clip(b.clip).unwrap().frames());
            assert_eq!(library.clip(b.clip).unwrap().role, b.role);
        }
        // One voice per party for the whole call.
        let voices = |role| {
            lines
                .iter()
                .filter(|l| l.role == role)
                .map(|l| library.clip(l.clip).unwrap().voice)
                .collect::<std::collections::BTreeSet<_>>()
        };
        assert_eq!(voices(Role::Agent).len(), 1);
        assert_eq!(voices(Role::Customer).len(), 1);
        // A party never repeats its previous line (each has a choice here,
        // except the one-line voice c2).
        let agent: Vec<usize> = lines
            .iter()
            .filter(|l| l.role == Role::Agent)
            .map(|l| l.clip)
            .collect();
        assert!(agent.windows(2).all(|w| w[0] != w[1]), "{agent:?}");
    }

    #[test]
    fn frames_spoken_before_count_per_party() {
        let library = small();
        let lines = lines(&library, 3, 1, 30);
        for role in [Role::Agent, Role::Customer] {
            let mut total = 0;
            for line in lines.iter().filter(|l| l.role == role) {
                assert_eq!(line.spoken_before, total);
                total += u64::from(line.frames);
            }
        }
    }

    #[test]
    fn a_call_is_the_same_conversation_whenever_it_is_read() {
        let library = small();
        assert_eq!(lines(&library, 5, 9, 50), lines(&library, 5, 9, 50));
        assert_ne!(lines(&library, 5, 9, 50), lines(&library, 5, 10, 50));
        assert_ne!(lines(&library, 6, 9, 50), lines(&library, 5, 9, 50));

        // Reading from the start and jumping in later agree frame by frame.
        let mut whole = Conversation::new(&library, 5, 9);
        let mut late = Conversation::new(&library, 5, 9);
        let said: Vec<_> = (0..3000).map(|f| whole.at(&library, f)).collect();
        for (f, expected) in said.iter().enumerate().skip(1234) {
            assert_eq!(late.at(&library, f as i64), *expected, "frame {f}");
        }
        // The greeting starts after the opening pause; pauses are silent.
        assert_eq!(said[0], None);
        assert_eq!(said[OPENING_FRAMES as usize].map(|(_, i)| i), Some(0));
        // Short clips here, so pauses are about half the time.
        let silent = said.iter().filter(|s| s.is_none()).count();
        assert!(silent > 600 && silent < 2100, "{silent} silent frames");
    }

    #[test]
    fn libraries_need_both_parties_and_audio() {
        let agent_only = vec![spoken(Role::Agent, "a", "hi", 5)];
        assert!(matches!(
            Library::new(agent_only),
            Err(LibraryError::Missing(Role::Customer))
        ));
        let empty = vec![
            spoken(Role::Agent, "a", "hi", 5),
            spoken(Role::Customer, "c", "", 0),
        ];
        assert!(matches!(Library::new(empty), Err(LibraryError::Empty(_))));
    }

    #[test]
    fn the_embedded_clips_make_a_library() {
        let library = Library::embedded().unwrap();
        assert_eq!(library.parts[0].len(), 2, "two agent voices");
        assert_eq!(library.parts[1].len(), 3, "three customer voices");
        assert!(
            library
                .parts
                .iter()
                .flatten()
                .all(|lines| lines.len() == 12)
        );
        let greeting = library.clip(library.parts[0][1][0]).unwrap();
        assert!(greeting.text.starts_with("Thank you for calling"));
    }

    #[test]
    fn interim_is_the_start_of_the_line() {
        assert_eq!(
            interim("the refund should show up soon"),
            "the refund should"
        );
        assert_eq!(interim("yes"), "yes");
        assert_eq!(interim(""), "");
    }
}
