//! Fewer bytes for the same screen. A filter between ratatui's crossterm
//! backend and the terminal that rewrites absolute cursor moves into the
//! cheapest equivalent (a line feed and a backspace are two bytes where
//! `ESC[12;40H` is eight), and drops style resets and cursor-hide commands
//! that change nothing. On an SSH link to a jump host with 1,000 ticking call
//! timers, that is most of what a frame costs.
//!
//! It tracks the cursor through everything that passes; whenever it cannot be
//! sure where the cursor is (an unknown sequence, a wide character, the last
//! column), the next move is sent as an absolute one.
//!
//! Each flush goes out in one write. A large one (a full redraw) is wrapped
//! in synchronized-output brackets so the terminal shows it at once; a small
//! one (a few timer digits) is not worth the 16 bytes.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use unicode_width::UnicodeWidthChar;

/// Output this large or larger is wrapped in synchronized-output brackets.
const SYNC_FROM_BYTES: usize = 1024;
const BEGIN_SYNC: &[u8] = b"\x1b[?2026h";
const END_SYNC: &[u8] = b"\x1b[?2026l";

/// Wraps a terminal writer. Bytes are rewritten as they pass and sent on
/// `flush`, which ratatui calls once per frame.
pub struct CompactWriter<W: Write> {
    inner: W,
    /// The terminal's width, set from outside on resize (0: unknown).
    width: Arc<AtomicU16>,
    tracker: Tracker,
    /// Bytes of a sequence or character split across two `write` calls.
    partial: Vec<u8>,
    out: Vec<u8>,
}

impl<W: Write> CompactWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            width: Arc::default(),
            tracker: Tracker::default(),
            partial: Vec::new(),
            out: Vec::new(),
        }
    }

    /// The terminal's width; relative moves are used only while it is known.
    pub fn set_width(&self, width: u16) {
        self.width.store(width, Ordering::Relaxed);
    }

    /// A handle to update the width after the writer moved into a backend.
    pub fn width_handle(&self) -> Arc<AtomicU16> {
        self.width.clone()
    }

    pub fn get_ref(&self) -> &W {
        &self.inner
    }
}

impl<W: Write> Write for CompactWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let width = Some(self.width.load(Ordering::Relaxed)).filter(|w| *w > 0);
        if width != self.tracker.width {
            self.tracker.width = width;
            self.tracker.at = None;
        }
        self.partial.extend_from_slice(buf);
        let used = self.tracker.rewrite(&self.partial, &mut self.out);
        self.partial.drain(..used);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tracker.finish(&mut self.out);
        if self.out.is_empty() {
            return self.inner.flush();
        }
        if self.out.len() >= SYNC_FROM_BYTES {
            self.out.splice(0..0, BEGIN_SYNC.iter().copied());
            self.out.extend_from_slice(END_SYNC);
        }
        self.inner.write_all(&self.out)?;
        self.out.clear();
        self.inner.flush()
    }
}

/// What the filter knows about the terminal's state.
#[derive(Debug, Default)]
struct Tracker {
    width: Option<u16>,
    /// The cursor (column, row), when known for sure.
    at: Option<(u16, u16)>,
    /// Whether any style other than the default may be in effect.
    styled: bool,
    /// Colour resets held back: a full reset right after makes them redundant.
    held_resets: Vec<u8>,
    cursor_visible: Option<bool>,
}

enum Token<'a> {
    /// `ESC [ params final`.
    Csi {
        params: &'a [u8],
        fin: u8,
        raw: &'a [u8],
    },
    /// Any other escape sequence, a control byte, or bytes we do not parse.
    Other(&'a [u8]),
    Text {
        ch: char,
        raw: &'a [u8],
    },
}

impl Tracker {
    /// Rewrites complete tokens of `input` into `out`; returns how many bytes
    /// were used (the rest is an incomplete token, kept for the next call).
    fn rewrite(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        let mut used = 0;
        while used < input.len() {
            let Some((token, len)) = next_token(&input[used..]) else {
                break;
            };
            self.apply(token, out);
            used += len;
        }
        used
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.held_resets);
    }

    fn apply(&mut self, token: Token<'_>, out: &mut Vec<u8>) {
        match token {
            Token::Csi {
                params,
                fin: b'm',
                raw,
            } => self.style(params, raw, out),
            Token::Csi {
                params,
                fin: b'H',
                raw,
            } => {
                out.append(&mut self.held_resets);
                match parse_position(params) {
                    Some(target) => self.move_to(target, out),
                    None => {
                        out.extend_from_slice(raw);
                        self.at = None;
                    }
                }
            }
            Token::Csi {
                params: b"?25",
                fin: b'l',
                ..
            } => self.cursor(false, out),
            Token::Csi {
                params: b"?25",
                fin: b'h',
                ..
            } => self.cursor(true, out),
            // Synchronized output brackets move nothing.
            Token::Csi {
                params: b"?2026",
                fin: b'h' | b'l',
                raw,
            } => out.extend_from_slice(raw),
            Token::Csi { raw, .. } | Token::Other(raw) => {
                out.append(&mut self.held_resets);
                out.extend_from_slice(raw);
                self.at = None;
            }
            Token::Text { ch, raw } => {
                out.append(&mut self.held_resets);
                out.extend_from_slice(raw);
                self.advance(ch);
            }
        }
    }

    fn style(&mut self, params: &[u8], raw: &[u8], out: &mut Vec<u8>) {
        let full_reset = params.is_empty() || params == b"0";
        let colour_reset = matches!(params, b"39" | b"49" | b"59");
        if (full_reset || colour_reset) && !self.styled {
            return; // Already the default: nothing to reset.
        }
        if full_reset {
            self.held_resets.clear();
            out.extend_from_slice(raw);
            self.styled = false;
        } else if colour_reset {
            self.held_resets.extend_from_slice(raw);
        } else {
            out.append(&mut self.held_resets);
            out.extend_from_slice(raw);
            self.styled = true;
        }
    }

    fn cursor(&mut self, visible: bool, out: &mut Vec<u8>) {
        if self.cursor_visible != Some(visible) {
            out.extend_from_slice(if visible { b"\x1b[?25h" } else { b"\x1b[?25l" });
            self.cursor_visible = Some(visible);
        }
    }

    fn advance(&mut self, ch: char) {
        let (Some((x, y)), Some(width)) = (self.at, self.width) else {
            return;
        };
        // Wide and zero-width characters are where terminals disagree.
        if ch.width() != Some(1) {
            self.at = None;
            return;
        }
        // Past the last column the cursor waits to wrap: position unsure.
        self.at = (x + 1 < width).then_some((x + 1, y));
    }

    /// Moves to `(x, y)` with the fewest bytes.
    fn move_to(&mut self, (x, y): (u16, u16), out: &mut Vec<u8>) {
        let absolute = absolute_move(x, y);
        let relative = self.at.map(|from| relative_move(from, (x, y)));
        match relative {
            Some(moves) if moves.len() < absolute.len() => out.extend_from_slice(&moves),
            _ => out.extend_from_slice(&absolute),
        }
        self.at = self.width.is_some().then_some((x, y));
    }
}

fn absolute_move(x: u16, y: u16) -> Vec<u8> {
    if x == 0 {
        format!("\x1b[{}H", u32::from(y) + 1).into_bytes()
    } else {
        format!("\x1b[{};{}H", u32::from(y) + 1, u32::from(x) + 1).into_bytes()
    }
}

/// A relative move in raw mode, where a line feed moves straight down.
fn relative_move((fx, fy): (u16, u16), (tx, ty): (u16, u16)) -> Vec<u8> {
    let mut out = Vec::new();
    let mut x = fx;
    if tx == 0 && fx != 0 {
        out.push(b'\r');
        x = 0;
    }
    match ty.cmp(&fy) {
        std::cmp::Ordering::Greater => {
            let down = ty - fy;
            if down <= 3 {
                out.extend(std::iter::repeat_n(b'\n', usize::from(down)));
            } else {
                out.extend_from_slice(format!("\x1b[{down}B").as_bytes());
            }
        }
        std::cmp::Ordering::Less => out.extend_from_slice(csi_count(fy - ty, b'A').as_slice()),
        std::cmp::Ordering::Equal => {}
    }
    match tx.cmp(&x) {
        std::cmp::Ordering::Greater => out.extend_from_slice(&csi_count(tx - x, b'C')),
        std::cmp::Ordering::Less if x - tx <= 3 => {
            out.extend(std::iter::repeat_n(b'\x08', usize::from(x - tx)));
        }
        std::cmp::Ordering::Less => out.extend_from_slice(&csi_count(x - tx, b'D')),
        std::cmp::Ordering::Equal => {}
    }
    out
}

fn csi_count(n: u16, fin: u8) -> Vec<u8> {
    let mut out = if n == 1 {
        b"\x1b[".to_vec()
    } else {
        format!("\x1b[{n}").into_bytes()
    };
    out.push(fin);
    out
}

/// `row;col` (1-based, either may be missing) as a 0-based (x, y).
fn parse_position(params: &[u8]) -> Option<(u16, u16)> {
    let text = std::str::from_utf8(params).ok()?;
    let (row, col) = text.split_once(';').unwrap_or((text, ""));
    let number = |s: &str| -> Option<u16> {
        if s.is_empty() {
            Some(1)
        } else {
            s.parse::<u16>().ok().filter(|n| *n > 0)
        }
    };
    Some((number(col)? - 1, number(row)? - 1))
}

/// The next complete token and its length; `None` when `input` ends inside
/// one.
fn next_token(input: &[u8]) -> Option<(Token<'_>, usize)> {
    let first = *input.first()?;
    if first == 0x1b {
        let second = *input.get(1)?;
        if second != b'[' {
            return Some((Token::Other(&input[..2]), 2));
        }
        let end = input[2..].iter().position(|b| (0x40..=0x7e).contains(b))? + 2;
        let token = Token::Csi {
            params: &input[2..end],
            fin: input[end],
            raw: &input[..=end],
        };
        return Some((token, end + 1));
    }
    if first < 0x20 || first == 0x7f {
        return Some((Token::Other(&input[..1]), 1));
    }
    let len = match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return Some((Token::Other(&input[..1]), 1)),
    };
    let raw = input.get(..len)?;
    match std::str::from_utf8(raw).ok().and_then(|s| s.chars().next()) {
        Some(ch) => Some((Token::Text { ch, raw }, len)),
        None => Some((Token::Other(&input[..1]), 1)),
    }
}

#[cfg(test)]
mod tests;
