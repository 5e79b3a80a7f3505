#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::draw;
use crate::app::fixture::{self, NOW, ago, live_app, space};
use crate::app::{App, AppSettings, Input};
use crate::feed::{CommandFailure, FeedEvent};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use floorwalk_audio::engine::{AudioEvent, Meters};
use floorwalk_audio::playback::PartyLevels;
use floorwalk_audio::ptt::{PttConfig, PttSetting};
use floorwalk_audio::signal::Level;
use floorwalk_protocol::{FloorStatus, Reachability, ServerMessage, Transcript};
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
        let key = KeyEvent::new(KeyCode::Char(c), modifiers);
        app.update(Input::Key(key, Duration::ZERO), NOW);
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

/// At each size: the fixture, with or without my leg, made ready by
/// `prepare`, matches the snapshot `{name}_{w}x{h}`.
fn assert_screens(name: &str, with_my_leg: bool, prepare: impl Fn(&mut App)) {
    for (w, h) in SIZES {
        let mut app = app_at(with_my_leg, w, h);
        prepare(&mut app);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), text(&render(&app, w, h)));
    }
}

#[test]
fn dashboard() {
    assert_screens("dashboard", false, |_| {});
}

#[test]
fn call_pane_with_my_leg() {
    assert_screens("my_call", true, with_transcript);
}

#[test]
fn end_call_dialog() {
    assert_screens("end_call", true, |app| press(app, "E"));
}

#[test]
fn help_overlay() {
    assert_screens("help", true, |app| press(app, "?"));
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
fn an_unreachable_contact_center_is_in_the_header() {
    let down = |app: &mut App| {
        let status = FloorStatus {
            status: Reachability::Down,
            reason: Some("Asterisk at 127.0.0.1:8088 is not answering".into()),
            since: ago(5),
        };
        let message = ServerMessage::FloorStatus(status);
        app.update(Input::Feed(FeedEvent::Message(message)), NOW);
    };
    assert_screens("floor_down", true, down);
    let mut app = app_at(true, 80, 24);
    down(&mut app);
    let terminal = render(&app, 80, 24);
    let buffer = terminal.backend().buffer();
    assert!(line(buffer, 0).contains("! contact center unreachable"));
    assert!(
        line(buffer, 1)
            .contains("! CONTACT CENTER UNREACHABLE: Asterisk at 127.0.0.1:8088 is not answering")
    );
    assert_eq!(buffer[(3, 1)].fg, Color::Yellow, "a warning's colour");
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
                        Input::Key(
                            KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
                            Duration::ZERO,
                        ),
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
            Input::Key(
                KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
                Duration::ZERO,
            ),
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

/// On my whisper call, talking, with the parties and my microphone heard.
fn on_air_app(width: u16, height: u16) -> App {
    let mut app = app_at(true, width, height);
    with_transcript(&mut app);
    let level = |rms: f32| Level { peak: rms, rms };
    app.update(
        Input::Meters(Meters {
            parties: PartyLevels {
                customer: level(0.1),
                agent: level(0.01),
                others: Level::default(),
            },
            microphone: level(0.3),
        }),
        NOW,
    );
    app.update(Input::Key(space(KeyEventKind::Press), Duration::ZERO), NOW);
    app
}

#[test]
fn on_air_with_meters() {
    for (w, h) in SIZES {
        let app = on_air_app(w, h);
        let screen = text(&render(&app, w, h));
        assert!(screen.contains("● ON AIR · AGENT ONLY"), "{screen}");
        insta::assert_snapshot!(format!("on_air_{w}x{h}"), screen);
    }
}

#[test]
fn barge_is_on_air_to_both_and_the_banner_stands_out_without_colour() {
    let settings = AppSettings {
        color: false,
        ..fixture::settings()
    };
    let (mut app, _) = fixture::connect(settings, fixture::me(), true, (80, 24));
    press(&mut app, "b");
    app.update(Input::Key(space(KeyEventKind::Press), Duration::ZERO), NOW);
    let terminal = render(&app, 80, 24);
    let top = line(terminal.backend().buffer(), 0);
    assert!(top.starts_with(" ● ON AIR · AGENT + CUSTOMER "), "{top}");
    let buffer = terminal.backend().buffer();
    assert!(buffer[(3, 0)].modifier.contains(Modifier::REVERSED));
    // Let go: the banner goes.
    app.update(
        Input::Key(space(KeyEventKind::Release), Duration::from_millis(900)),
        NOW,
    );
    let top = line(render(&app, 80, 24).backend().buffer(), 0);
    assert!(!top.contains("ON AIR"), "{top}");
}

#[test]
fn meters_show_only_for_the_call_i_listen_to() {
    let mut app = on_air_app(80, 24);
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("+1 ••• ••• 0134     ▮▮▮▮▮▮▯▯"), "{screen}");
    // Another agent's call in the pane: no meters there.
    press(&mut app, "j");
    while app.pane_call().is_none_or(|c| c.id == "c-9") {
        press(&mut app, "j");
    }
    let screen = text(&render(&app, 80, 24));
    assert!(!screen.contains('▮'), "{screen}");
    assert!(screen.contains("ON AIR"), "the banner stays in the header");
}

#[test]
fn the_status_line_shows_how_the_talk_key_is_read() {
    let (mut app, _) = live_app(false);
    app.update(
        Input::Key(
            KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
            Duration::ZERO,
        ),
        NOW,
    );
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("push-to-talk: hold (repeat)"), "{screen}");
    let settings = AppSettings {
        ptt: PttConfig {
            setting: PttSetting::Toggle,
            ..PttConfig::default()
        },
        ..fixture::settings()
    };
    let (app, _) = fixture::connect(settings, fixture::me(), false, (80, 24));
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("push-to-talk: toggle"), "{screen}");
}

#[test]
fn the_header_says_when_the_audio_device_failed() {
    let (mut app, _) = live_app(false);
    app.update(Input::Resize(120, 30), NOW);
    app.update(
        Input::Audio(AudioEvent::OutputFailed {
            endpoint: "default".into(),
            reason: "no default device".into(),
        }),
        NOW,
    );
    let terminal = render(&app, 120, 30);
    let top = line(terminal.backend().buffer(), 0);
    assert!(top.contains("audio: default failed ▸ none"), "{top}");
    let screen = text(&terminal);
    assert!(screen.contains("no default device"), "{screen}");
    // The help tells why.
    press(&mut app, "?");
    let screen = text(&render(&app, 120, 30));
    assert!(screen.contains("(no default device)"), "{screen}");
}

#[test]
fn the_audit_pane_lists_my_legs_with_server_times_and_the_call_history() {
    let open = |app: &mut App| {
        press(app, "a");
        app.update(Input::JournalRead(Ok(fixture::journal())), NOW);
    };
    assert_screens("audit_pane", false, open);
    // The leg on c-9: its join, mode change and confirmed leave, at the
    // server's times (40 ms before the console wrote them).
    let mut app = app_at(false, 80, 24);
    open(&mut app);
    press(&mut app, "k");
    let screen = text(&render(&app, 80, 24));
    for said in [
        "▶ 08:59:03  09:04:03  0:05:00 c-9     Alex Kim    confirmed     silent→whisper",
        "History of c-9 (6 records)",
        "08:59:03  joined",
        "by sup-2",
    ] {
        assert!(screen.contains(said), "{said:?} is not in:\n{screen}");
    }
    // Any size, any state: nothing panics.
    for (w, h) in [(40, 12), (41, 13), (60, 15), (79, 23), (250, 70)] {
        app.update(Input::Resize(w, h), NOW);
        render(&app, w, h);
    }
    app.update(Input::JournalRead(Err("gone".into())), NOW);
    let screen = text(&render(&app, 250, 70));
    assert!(
        screen.contains("Cannot read the audit journal: gone"),
        "{screen}"
    );
}

#[test]
fn the_header_shows_the_rotation_and_its_countdown() {
    let land = |app: &mut App| {
        let leg = fixture::leg(
            "l-31",
            floorwalk_protocol::Role::Supervisor,
            Some("sup-1"),
            "Dana Ruiz",
            Some(floorwalk_protocol::Mode::Silent),
            31,
            NOW,
        );
        let seq = app.floor().last_seq.unwrap() + 1;
        let joined = ServerMessage::LegJoined(floorwalk_protocol::LegJoined {
            seq,
            call_id: "c-9".into(),
            leg,
        });
        app.update(Input::Feed(FeedEvent::Message(joined)), NOW);
    };
    assert_screens("rotation", false, |app| {
        press(app, "r");
        land(app);
    });
    let mut app = app_at(false, 80, 24);
    press(&mut app, "r");
    let top = line(render(&app, 80, 24).backend().buffer(), 0);
    assert!(top.contains("⟳ ROTATION → c-9 (Alex Kim)…"), "{top}");
    land(&mut app);
    let top = line(render(&app, 80, 24).backend().buffer(), 0);
    assert!(
        top.contains("⟳ ROTATION c-9 (Alex Kim) · next 45 s"),
        "{top}"
    );
}
