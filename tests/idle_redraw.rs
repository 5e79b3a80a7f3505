//! An idle console (agents, no calls, nothing highlighted) asks for no
//! redraw however long the clock runs: `needs_redraw` stays false through ten
//! minutes of ticks, and a frame drawn anyway would be the same as the last.
//! An event, a call start or a key press makes it ask again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use floorwalk_console::app::fixture::{self, NOW};
use floorwalk_console::app::{App, AppSettings, Input};
use floorwalk_console::feed::FeedEvent;
use floorwalk_protocol::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use std::time::Duration;

/// The console's tick.
const TICK_MS: i64 = 250;
const TEN_MINUTES_MS: i64 = 10 * 60 * 1000;
/// The snapshot's sequence number; events follow it.
const SEQ: u64 = 100;

/// Twelve agents, none on a call, in states entered from minutes to hours
/// ago (so the wide table's ages roll over at different moments).
fn agent(i: u16) -> Agent {
    let state = match i % 4 {
        0 => AgentState::Available,
        1 => AgentState::Away,
        2 => AgentState::WrapUp,
        _ => AgentState::Offline,
    };
    Agent {
        id: format!("a-{i:02}"),
        name: format!("Agent {i}"),
        team: if i % 2 == 0 { "billing" } else { "retention" }.into(),
        state,
        state_since: NOW.plus_millis(-i64::from(i) * 2_233_300),
        call_id: None,
    }
}

fn idle_app(width: u16, height: u16) -> App {
    let queue = |name: &str| Queue {
        id: format!("q-{name}"),
        name: name.into(),
        waiting: 0,
        longest_wait_s: 0,
        sla_percent: 100.0,
        agents_available: 3,
    };
    let snapshot = Snapshot {
        seq: SEQ,
        agents: (1..=12).map(agent).collect(),
        calls: Vec::new(),
        queues: vec![queue("billing"), queue("retention")],
    };
    let settings = AppSettings::default();
    let (app, effects) = fixture::connect_over(settings, fixture::me(), snapshot, (width, height));
    assert!(effects.is_empty(), "{effects:?}");
    app
}

/// Draws like the console does: a frame, then `mark_drawn`.
fn draw(terminal: &mut Terminal<TestBackend>, app: &mut App, now: Timestamp) -> Buffer {
    terminal
        .draw(|frame| floorwalk_console::ui::draw(frame, app, now))
        .unwrap();
    app.mark_drawn(now);
    terminal.backend().buffer().clone()
}

/// Ten minutes of ticks from `start`; returns how many times a redraw was
/// asked for. Each step also draws a frame and checks the app's answer
/// against it: no redraw asked means the frame did not change, and a redraw
/// asked means it did.
fn run_idle(
    terminal: &mut Terminal<TestBackend>,
    app: &mut App,
    start: Timestamp,
) -> (usize, Timestamp) {
    let mut shown = draw(terminal, app, start);
    let mut redraws = 0;
    let mut now = start;
    for _ in 0..TEN_MINUTES_MS / TICK_MS {
        now = now.plus_millis(TICK_MS);
        assert!(app.update(Input::Tick, now).is_empty());
        let asked = app.needs_redraw(now);
        let frame = draw(terminal, app, now);
        assert_eq!(
            asked,
            frame != shown,
            "at +{} ms the app {} a redraw",
            now.millis_since(start),
            if asked {
                "asked for"
            } else {
                "did not ask for"
            },
        );
        redraws += usize::from(asked);
        shown = frame;
    }
    (redraws, now)
}

/// Ten idle minutes at this size after the first frame: how many redraws
/// were asked for.
fn idle_redraws(width: u16, height: u16) -> usize {
    let mut app = idle_app(width, height);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    assert!(app.needs_redraw(NOW), "the first frame is always drawn");
    run_idle(&mut terminal, &mut app, NOW).0
}

#[test]
fn ten_idle_minutes_at_80x24_ask_for_no_redraw() {
    assert_eq!(idle_redraws(80, 24), 0);
}

/// The wide table shows each agent's minutes in its state: those change
/// once a minute per agent, and only those frames are redrawn.
#[test]
fn ten_idle_minutes_at_160x40_redraw_only_when_an_age_rolls_over() {
    // Twelve rows, each rolling over ten times: ages turn over on the
    // clock's whole seconds, so those 120 rollovers share 100 frames.
    assert_eq!(idle_redraws(160, 40), 100);
}

#[test]
fn a_call_start_an_event_or_a_key_asks_for_a_redraw_again() {
    let mut app = idle_app(80, 24);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let (_, mut now) = run_idle(&mut terminal, &mut app, NOW);

    // The same round trip as shown (in 5 ms steps) changes nothing; a new one does.
    app.update(Input::Feed(FeedEvent::Rtt(Duration::from_millis(12))), now);
    assert!(!app.needs_redraw(now));
    app.update(Input::Feed(FeedEvent::Rtt(Duration::from_millis(14))), now);
    assert!(!app.needs_redraw(now), "12 and 14 ms both show as 10 ms");
    app.update(Input::Feed(FeedEvent::Rtt(Duration::from_millis(16))), now);
    assert!(app.needs_redraw(now));
    draw(&mut terminal, &mut app, now);

    // An agent changes state.
    let mut away = agent(1);
    away.state = AgentState::Available;
    away.state_since = now;
    let event = ServerMessage::Agent(AgentEvent {
        seq: SEQ + 1,
        agent: away,
    });
    app.update(Input::Feed(FeedEvent::Message(event)), now);
    assert!(app.needs_redraw(now));
    draw(&mut terminal, &mut app, now);

    // A key press.
    app.update(
        Input::Key(
            KeyEvent::new(KeyCode::Down, KeyModifiers::NONE),
            Duration::ZERO,
        ),
        now,
    );
    assert!(app.needs_redraw(now));
    draw(&mut terminal, &mut app, now);
    assert!(!app.needs_redraw(now));

    // A call starts: redrawn at once, then its timer asks for a frame every
    // second (and not between the seconds).
    let started = ServerMessage::CallStarted(CallEvent {
        seq: SEQ + 2,
        call: Call {
            id: "c-1".into(),
            agent_id: "a-02".into(),
            queue: Some("q-billing".into()),
            direction: Direction::Inbound,
            customer: "+1 555 201 0134".into(),
            started_at: now,
            recording: true,
            on_hold: false,
            legs: Vec::new(),
        },
    });
    app.update(Input::Feed(FeedEvent::Message(started)), now);
    assert!(app.needs_redraw(now));
    draw(&mut terminal, &mut app, now);
    let mut seconds = 0;
    for _ in 0..40 {
        now = now.plus_millis(TICK_MS);
        app.update(Input::Tick, now);
        if app.needs_redraw(now) {
            seconds += 1;
            draw(&mut terminal, &mut app, now);
        }
    }
    // Ten seconds went by, and the new call's highlight faded once.
    assert_eq!(seconds, 10 + 1);
}
