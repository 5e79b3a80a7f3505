//! Everything the app reacts to.

use crate::audit::Record;
use crate::feed::FeedEvent;
use crossterm::event::{KeyEvent, MouseEvent};
use floorwalk_audio::engine::{AudioEvent, Meters};
use std::time::Duration;

/// Everything the app reacts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A key from the terminal at a monotonic time: the talk key goes to
    /// push-to-talk (which reads a held key from the times of its events),
    /// other presses to the key map.
    Key(KeyEvent, Duration),
    Mouse(MouseEvent),
    /// The terminal's new size (columns, rows). Send one at start-up too.
    Resize(u16, u16),
    Feed(FeedEvent),
    /// Time passed: expires highlights and notices.
    Tick,
    /// Monotonic time passing for push-to-talk (release inference, the
    /// time limit); the runtime sends it often while talking.
    TalkTick(Duration),
    /// Something the audio engine reported.
    Audio(AudioEvent),
    /// The latest levels (the runtime polls them while on a call).
    Meters(Meters),
    /// Writing the audit journal failed; the text says why.
    AuditFailed(String),
    /// A write to the audit journal worked again after a failure.
    AuditRecovered,
    /// Today's journal records, read for the audit pane (or why not).
    JournalRead(Result<Vec<Record>, String>),
}
