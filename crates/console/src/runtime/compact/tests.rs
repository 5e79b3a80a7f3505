use super::*;
use proptest::prelude::*;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::{Terminal, TerminalOptions, Viewport};

const W: u16 = 40;
const H: u16 = 12;

fn compact(input: &[u8]) -> Vec<u8> {
    let mut writer = CompactWriter::new(Vec::new());
    writer.set_width(W);
    writer.write_all(input).unwrap();
    writer.flush().unwrap();
    writer.inner
}

#[test]
fn a_digit_per_row_costs_a_line_feed_and_a_backspace() {
    let out = compact(b"\x1b[3;10H7\x1b[4;10H8\x1b[5;10H9");
    assert_eq!(out, b"\x1b[3;10H7\n\x088\n\x089");
}

#[test]
fn moves_to_column_one_use_carriage_return() {
    let out = compact(b"\x1b[2;5Hab\x1b[3;1Hc");
    assert_eq!(out, b"\x1b[2;5Hab\r\nc");
}

#[test]
fn resets_that_change_nothing_are_dropped_and_needed_ones_kept() {
    // Nothing styled yet: the end-of-frame resets are no-ops.
    assert_eq!(
        compact(b"\x1b[1;1Hx\x1b[39m\x1b[49m\x1b[59m\x1b[0m"),
        b"\x1b[1Hx"
    );
    // After a colour, a full reset is kept and the colour resets before it go.
    assert_eq!(
        compact(b"\x1b[31mx\x1b[39m\x1b[49m\x1b[59m\x1b[0m"),
        b"\x1b[31mx\x1b[0m"
    );
    // A colour reset followed by text is kept.
    assert_eq!(compact(b"\x1b[31mx\x1b[39my"), b"\x1b[31mx\x1b[39my");
}

#[test]
fn only_large_output_is_wrapped_in_synchronized_brackets() {
    assert_eq!(compact(b"\x1b[2;3Hx"), b"\x1b[2;3Hx");
    let full = format!("\x1b[1H{}", "x".repeat(2000));
    let out = compact(full.as_bytes());
    assert!(out.starts_with(b"\x1b[?2026h\x1b[1Hxxx"));
    assert!(out.ends_with(b"xxx\x1b[?2026l"));
}

#[test]
fn cursor_hiding_is_sent_once() {
    assert_eq!(
        compact(b"\x1b[?25l\x1b[?25l\x1b[?25h\x1b[?25h"),
        b"\x1b[?25l\x1b[?25h"
    );
}

#[test]
fn the_last_column_and_wide_characters_make_the_next_move_absolute() {
    let at_edge = format!("\x1b[1;{W}Hx\x1b[2;{W}Hy");
    assert_eq!(compact(at_edge.as_bytes()), at_edge.as_bytes());
    let wide = "\x1b[1H表\x1b[1;5Hx";
    assert_eq!(compact(wide.as_bytes()), wide.as_bytes());
}

#[test]
fn sequences_split_across_writes_are_kept_whole() {
    let mut writer = CompactWriter::new(Vec::new());
    writer.set_width(W);
    for chunk in [
        &b"\x1b[3;"[..],
        b"10H",
        b"\xe2",
        b"\x80\xa2",
        b"\x1b[4;10H",
        b"z",
    ] {
        writer.write_all(chunk).unwrap();
    }
    writer.flush().unwrap();
    assert_eq!(writer.get_ref().as_slice(), "\x1b[3;10H•\n\x08z".as_bytes());
}

/// One frame: text at places, some styled.
fn frame() -> impl Strategy<Value = Vec<(u16, u16, String, u8)>> {
    prop::collection::vec((0..W, 0..H, "[a-z0-9 •▮:─│]{1,6}", 0..4u8), 0..25)
}

fn draw_frames(frames: &[Vec<(u16, u16, String, u8)>], squeeze: bool) -> Vec<u8> {
    let viewport = Viewport::Fixed(Rect::new(0, 0, W, H));
    let mut writer = CompactWriter::new(Vec::new());
    writer.set_width(W);
    let mut plain = Vec::new();
    {
        let run = |terminal: &mut Terminal<CrosstermBackend<&mut dyn Write>>| {
            for texts in frames {
                terminal
                    .draw(|f| {
                        for (x, y, text, style) in texts {
                            let style = match style {
                                0 => Style::default(),
                                1 => Style::default().fg(Color::Red),
                                2 => Style::default().add_modifier(Modifier::BOLD),
                                _ => Style::default().bg(Color::Blue).fg(Color::White),
                            };
                            f.buffer_mut().set_string(*x, *y, text, style);
                        }
                    })
                    .unwrap();
            }
        };
        let sink: &mut dyn Write = if squeeze { &mut writer } else { &mut plain };
        let options = TerminalOptions {
            viewport: viewport.clone(),
        };
        let mut terminal = Terminal::with_options(CrosstermBackend::new(sink), options).unwrap();
        run(&mut terminal);
    }
    if squeeze { writer.inner } else { plain }
}

fn screen(bytes: &[u8]) -> Vec<u8> {
    let mut parser = vt100::Parser::new(H, W, 0);
    parser.process(bytes);
    parser.screen().contents_formatted()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever ratatui draws, the terminal ends up showing the same screen.
    #[test]
    fn the_screen_is_the_same_with_fewer_bytes(frames in prop::collection::vec(frame(), 1..6)) {
        let plain = draw_frames(&frames, false);
        let squeezed = draw_frames(&frames, true);
        prop_assert_eq!(screen(&squeezed), screen(&plain));
        prop_assert!(squeezed.len() <= plain.len());
    }
}
