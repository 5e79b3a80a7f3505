//! The terminal, owned by a guard that restores it on every exit path:
//! normal return, error, panic and signals.

use super::CompactWriter;
use crossterm::{
    cursor, event,
    terminal::{self, EnterAlternateScreen, LeaveAlternateScreen},
};
use ratatui::{Terminal, backend::CrosstermBackend};
use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Once};

pub type Tui = Terminal<CrosstermBackend<CompactWriter<Stdout>>>;

/// Puts the terminal in raw mode on the alternate screen with mouse capture,
/// and puts it back when dropped.
pub struct TerminalGuard {
    terminal: Tui,
    width: Arc<AtomicU16>,
}

impl TerminalGuard {
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        terminal::enable_raw_mode()?;
        let mut stdout = io::stdout();
        if let Err(err) = crossterm::execute!(
            stdout,
            EnterAlternateScreen,
            event::EnableMouseCapture,
            cursor::Hide
        ) {
            restore();
            return Err(err);
        }
        let writer = CompactWriter::new(stdout);
        if let Ok((width, _)) = terminal::size() {
            writer.set_width(width);
        }
        let width = writer.width_handle();
        match Terminal::new(CrosstermBackend::new(writer)) {
            Ok(terminal) => Ok(Self { terminal, width }),
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
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Undoes everything `enter` did. Safe to call more than once, and ignores
/// errors: after an SSH hang-up there may be no terminal left to write to.
pub fn restore() {
    let mut stdout = io::stdout();
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
