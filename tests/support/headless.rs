//! The console's own pieces without a terminal, wired as the runtime wires
//! them: a feed to a simulator on loopback, the app, and the journal.
#![allow(dead_code, clippy::unwrap_used)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use floorwalk_console::app::{App, Effect, Input};
use floorwalk_console::audit::Journal;
use floorwalk_console::config::Secret;
use floorwalk_console::feed::{FeedHandle, FeedOptions};
use floorwalk_protocol::Timestamp;
use std::time::Duration;

/// How the console reaches a server on loopback at `url` as `token`.
pub fn loopback_feed(url: String, token: &str) -> FeedOptions {
    FeedOptions {
        url,
        token: Secret::new(token),
        ca_file: None,
        allow_insecure_remote: false,
        command_timeout: Duration::from_secs(5),
        audio_in: None,
        audio_gate: None,
    }
}

/// Carries out the app's effects as the runtime does: the journal first,
/// then the send.
pub fn carry_out(effects: Vec<Effect>, journal: &mut Journal, feed: &FeedHandle) {
    for effect in effects {
        match effect {
            Effect::Audit { record, .. } => journal.append(&record).unwrap(),
            Effect::Send { message, .. } => feed.send(message),
            // The audit pane is not drawn here.
            Effect::ReadJournal => {}
        }
    }
}

/// The supervisor presses `c`; what it does is carried out.
pub fn press(app: &mut App, journal: &mut Journal, feed: &FeedHandle, c: char) {
    let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    let effects = app.update(Input::Key(key, Duration::ZERO), Timestamp::now());
    carry_out(effects, journal, feed);
}
