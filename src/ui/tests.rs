#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::draw;
use crate::app::fixture::{self, NOW, ago, live_app};
use crate::app::{App, AppSettings, Input};
use crate::feed::{CommandFailure, FeedEvent};
use crate::protocol::{ServerMessage, Transcript};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use std::time::Duration;

fn render(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw(frame, app, NOW)).unwrap();
    terminal
}

fn text(terminal: &Terminal<TestBackend>) -> String {
    terminal.backend().to_string()
}

fn line(buffer: &Buffer, y: u16) -> String {
    (0..buffer.area.width)
        .map(|x| buffer[(x, y)].symbol())
        .collect()
}

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        let modifiers = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        app.update(Input::Key(KeyEvent::new(KeyCode::Char(c), modifiers)), NOW);
    }
}

/// The fixture at a size, with the first row (Alex Kim on c-9) selected.
fn app_at(with_my_leg: bool, width: u16, height: u16) -> App {
    let (mut app, _) = live_app(with_my_leg);
    app.update(Input::Resize(width, height), NOW);
    app
}

/// Two transcript lines on c-9.
fn with_transcript(app: &mut App) {
    let lines = [
        ("l-1c", 20, "so when will I get the money back?"),
        (
            "l-1a",
            8,
            "and the refund should show up in three to five days",
        ),
    ];
    for (leg, secs, said) in lines {
        let seq = app.floor().last_seq.unwrap() + 1;
        let message = ServerMessage::Transcript(Transcript {
            seq,
            call_id: "c-9".into(),
            leg_id: leg.into(),
            at: ago(secs),
            text: said.into(),
            is_final: true,
        });
        app.update(Input::Feed(FeedEvent::Message(message)), NOW);
    }
}

const SIZES: [(u16, u16); 2] = [(80, 24), (200, 50)];

#[test]
fn dashboard() {
    for (w, h) in SIZES {
        let app = app_at(false, w, h);
        insta::assert_snapshot!(format!("dashboard_{w}x{h}"), text(&render(&app, w, h)));
    }
}

#[test]
fn call_pane_with_my_leg() {
    for (w, h) in SIZES {
        let mut app = app_at(true, w, h);
        with_transcript(&mut app);
        insta::assert_snapshot!(format!("my_call_{w}x{h}"), text(&render(&app, w, h)));
    }
}

#[test]
fn end_call_dialog() {
    for (w, h) in SIZES {
        let mut app = app_at(true, w, h);
        press(&mut app, "E");
        insta::assert_snapshot!(format!("end_call_{w}x{h}"), text(&render(&app, w, h)));
    }
}

#[test]
fn help_overlay() {
    for (w, h) in SIZES {
        let mut app = app_at(true, w, h);
        press(&mut app, "?");
        insta::assert_snapshot!(format!("help_{w}x{h}"), text(&render(&app, w, h)));
    }
}

#[test]
fn the_selected_row_is_reversed_and_my_presence_stands_out_without_colour() {
    let settings = AppSettings {
        color: false,
        ..fixture::settings()
    };
    let (app, _) = fixture::connect(settings, fixture::me(), true, (80, 24));
    let terminal = render(&app, 80, 24);
    let buffer = terminal.backend().buffer();
    // Row 4 is Alex Kim, selected.
    assert!(line(buffer, 4).contains("Alex Kim"));
    assert!(buffer[(3, 4)].modifier.contains(Modifier::REVERSED));
    assert!(!buffer[(3, 5)].modifier.contains(Modifier::REVERSED));
    let row = line(buffer, 4);
    let you = row.find("you:whisper").unwrap();
    let x = u16::try_from(row[..you].chars().count()).unwrap();
    assert!(buffer[(x, 4)].modifier.contains(Modifier::BOLD));
    for y in 0..24 {
        for x in 0..80 {
            let cell = &buffer[(x, y)];
            assert_eq!(cell.fg, Color::Reset, "colour at {x},{y}");
            assert_eq!(cell.bg, Color::Reset, "colour at {x},{y}");
        }
    }
}

#[test]
fn tiny_and_odd_sizes_never_panic() {
    let (mut app, _) = live_app(true);
    with_transcript(&mut app);
    let mut sizes: Vec<(u16, u16)> = vec![(0, 0), (1, 1), (20, 5), (39, 11), (40, 12), (79, 23)];
    for w in (20..=200).step_by(9) {
        for h in (5..=60).step_by(5) {
            sizes.push((w, h));
        }
    }
    for (w, h) in sizes {
        app.update(Input::Resize(w, h), NOW);
        for keys in ["", "E", "\u{1b}", "?", "x", "q"] {
            match keys {
                "\u{1b}" => {
                    app.update(
                        Input::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
                        NOW,
                    );
                }
                other => press(&mut app, other),
            }
            let terminal = render(&app, w, h);
            // (TestBackend cannot print a zero-width buffer.)
            if w > 0 && (w < 40 || h < 12) {
                let screen = text(&terminal);
                let first: String = screen.lines().next().unwrap_or_default().to_owned();
                assert!(w < 9 || first.contains("floorwalk"), "{w}x{h}: {first}");
            }
        }
        // Close whatever is open for the next size.
        app.update(
            Input::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
            NOW,
        );
    }
    assert!(!app.quitting());
}

#[test]
fn too_small_says_so() {
    let app = app_at(true, 20, 5);
    let screen = text(&render(&app, 20, 5));
    assert!(screen.contains("floorwalk: terminal"), "{screen}");
    assert!(screen.contains("too small (20x5"), "{screen}");
}

#[test]
fn a_failed_leave_is_loud_and_the_leg_stays() {
    let (mut app, _) = live_app(true);
    press(&mut app, "d");
    insta::assert_snapshot!("leaving_80x24", text(&render(&app, 80, 24)));
    let timeout = Duration::from_secs(5);
    app.update(
        Input::Feed(FeedEvent::Reply {
            req: "r-1".into(),
            outcome: Err(CommandFailure::Timeout(timeout)),
            latency: timeout,
        }),
        NOW,
    );
    let terminal = render(&app, 80, 24);
    insta::assert_snapshot!("leave_failed_80x24", text(&terminal));
    // The error takes two full-width lines.
    let buffer = terminal.backend().buffer();
    assert_eq!(buffer[(79, 21)].bg, Color::Red);
    assert_eq!(buffer[(79, 22)].bg, Color::Red);
}
