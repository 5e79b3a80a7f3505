//! The terminal, owned by a guard that restores it on every exit path:
//! normal return, error, panic and signals.

use super::CompactWriter;
use crossterm::{
    cursor,
    event::{self, KeyboardEnhancementFlags, PopKeyboardEnhancementFlags},
    terminal::{self, EnterAlternateScreen, LeaveAlternateScreen},
};
use ratatui::{Terminal, backend::CrosstermBackend};
use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Once};

/// Whether keyboard enhancement flags were pushed (and must be popped).
static ENHANCED: AtomicBool = AtomicBool::new(false);

/// Whether this process took the terminal (and has not given it back): a
/// command that never drew the console (`report`, `sim`, …) must not write
/// escape codes into its output when it fails.
static ENTERED: AtomicBool = AtomicBool::new(false);

/// The kitty keyboard protocol flags for push-to-talk: releases and
/// repeats (event types) of every key, text keys like Space included (all
/// keys as escape codes), with the shifted key reported so that `?` and
/// `E` still read as themselves (alternate keys).
fn push_to_talk_flags() -> KeyboardEnhancementFlags {
    KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES
        | KeyboardEnhancementFlags::REPORT_EVENT_TYPES
        | KeyboardEnhancementFlags::REPORT_ALL_KEYS_AS_ESCAPE_CODES
        | KeyboardEnhancementFlags::REPORT_ALTERNATE_KEYS
}

pub type Tui = Terminal<CrosstermBackend<CompactWriter<Stdout>>>;

/// Puts the terminal in raw mode on the alternate screen with mouse capture,
/// and puts it back when dropped.
pub struct TerminalGuard {
    terminal: Tui,
    width: Arc<AtomicU16>,
    releases: bool,
}

impl TerminalGuard {
    /// With `key_releases`, asks the terminal whether it speaks the kitty
    /// keyboard protocol and, if so, turns on key release events.
    pub fn enter(key_releases: bool) -> io::Result<Self> {
        install_panic_hook();
        ENTERED.store(true, Ordering::SeqCst);
        terminal::enable_raw_mode().inspect_err(|_| ENTERED.store(false, Ordering::SeqCst))?;
        if let Err(err) = crossterm::execute!(
            io::stdout(),
            EnterAlternateScreen,
            event::EnableMouseCapture,
            cursor::Hide
        ) {
            restore();
            return Err(err);
        }
        // Each screen keeps its own flags: push them on the alternate one.
        let releases = key_releases && enhance_keyboard();
        let writer = CompactWriter::new(io::stdout());
        if let Ok((width, _)) = terminal::size() {
            writer.set_width(width);
        }
        let width = writer.width_handle();
        match Terminal::new(CrosstermBackend::new(writer)) {
            Ok(terminal) => Ok(Self {
                terminal,
                width,
                releases,
            }),
            Err(err) => {
                restore();
                Err(err)
            }
        }
    }

    pub fn terminal(&mut self) -> &mut Tui {
        &mut self.terminal
    }

    /// Tells the byte-saving writer the new width after a resize.
    pub fn resized(&mut self, width: u16) {
        self.width.store(width, Ordering::Relaxed);
    }

    /// Whether the terminal reports key releases (hold-to-talk can work).
    pub fn reports_releases(&self) -> bool {
        self.releases
    }
}

/// Pushes the push-to-talk flags if the terminal supports them. The query
/// waits for the terminal's answer (at most two seconds for one that
/// answers nothing at all).
fn enhance_keyboard() -> bool {
    let supported = match terminal::supports_keyboard_enhancement() {
        Ok(supported) => supported,
        Err(err) => {
            tracing::info!("keyboard enhancement unknown: {err}");
            false
        }
    };
    if !supported {
        return false;
    }
    let pushed = crossterm::execute!(
        io::stdout(),
        event::PushKeyboardEnhancementFlags(push_to_talk_flags())
    );
    match pushed {
        Ok(()) => {
            ENHANCED.store(true, Ordering::SeqCst);
            true
        }
        Err(err) => {
            tracing::warn!("cannot turn on key release events: {err}");
            false
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Undoes everything `enter` did; nothing when the terminal was not taken.
/// Safe to call more than once, and ignores errors: after an SSH hang-up
/// there may be no terminal left to write to.
pub fn restore() {
    if !ENTERED.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut stdout = io::stdout();
    if ENHANCED.swap(false, Ordering::SeqCst) {
        let _ = crossterm::execute!(stdout, PopKeyboardEnhancementFlags);
    }
    let _ = crossterm::execute!(
        stdout,
        event::DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = terminal::disable_raw_mode();
    let _ = stdout.flush();
}

/// Restores the terminal before the default hook prints the panic, so the
/// message is readable and the shell is usable afterwards.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
