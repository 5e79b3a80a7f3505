//! Rendering the dashboard over 10,000 agents into a 200x50 TestBackend
//! (target: under 2 ms a frame), and the update step's costs at that size.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use floorwalk_console::app::fixture::NOW;
use floorwalk_console::app::{App, AppSettings, Input};
use floorwalk_console::feed::FeedEvent;
use floorwalk_protocol::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;
use std::time::Duration;

#[path = "support/floor.rs"]
mod floor;

const AGENTS: usize = 10_000;

const FIRST: [&str; 10] = [
    "Alex", "Priya", "Sam", "Maria", "Tom", "Lena", "Omar", "Yuki", "Chris", "Ines",
];
const LAST: [&str; 10] = [
    "Kim", "Nair", "Lee", "Gonzalez", "Becker", "Fischer", "Haddad", "Tanaka", "Doyle", "Duarte",
];

/// Every team's queue.
const QUEUES: floor::QueueLook = floor::QueueLook {
    waiting: 4,
    sla_percent: 91.0,
    agents_available: 100,
};

/// A floor of 10,000 agents, 60% on a call, some calls with supervisors.
fn snapshot() -> Snapshot {
    let mut agents = Vec::with_capacity(AGENTS);
    let mut calls = Vec::new();
    for i in 0..AGENTS {
        let id = format!("a-{i:05}");
        let name = format!("{} {} {i}", FIRST[i % 10], LAST[(i / 10) % 10]);
        let team = floor::TEAMS[i % floor::TEAMS.len()];
        let on_call = i % 5 < 3;
        let call_id = on_call.then(|| format!("c-{i:05}"));
        if let Some(call_id) = &call_id {
            let track = u32::try_from(i).unwrap_or(0) * 4;
            let joined = NOW.plus_millis(-60_000);
            calls.push(Call {
                id: call_id.clone(),
                agent_id: id.clone(),
                queue: Some(format!("q-{team}")),
                direction: Direction::Inbound,
                customer: format!("+1 555 {:03} {:04}", i % 1000, i % 10_000),
                started_at: NOW.plus_millis(-1000 * i64::try_from(i % 4000).unwrap_or(0)),
                recording: i % 2 == 0,
                on_hold: i % 11 == 0,
                legs: floor::call_legs(i, &id, &name, track, joined),
            });
        }
        agents.push(Agent {
            id,
            name,
            team: team.into(),
            state: if on_call {
                AgentState::OnCall
            } else {
                AgentState::Available
            },
            state_since: NOW.plus_millis(-90_000),
            call_id,
        });
    }
    floor::floor(agents, calls, &QUEUES)
}

fn live_app() -> App {
    let mut app = floor::live_app(AppSettings::default(), snapshot(), (200, 50));
    // Somewhere in the middle of the table.
    app.update(
        Input::Key(
            KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE),
            Duration::ZERO,
        ),
        NOW,
    );
    app
}

fn bench(c: &mut Criterion) {
    let mut app = live_app();
    let Ok(mut terminal) = Terminal::new(TestBackend::new(200, 50));
    let mut tick = 0;
    c.bench_function("draw dashboard, 10k agents, 200x50", |b| {
        b.iter(|| {
            // A new second each frame, so the timers really change.
            tick += 1000;
            let now = NOW.plus_millis(tick);
            let _ = terminal.draw(|frame| floorwalk_console::ui::draw(frame, black_box(&app), now));
        });
    });

    let mut seq = 1;
    c.bench_function("update: one agent changes state, 10k agents", |b| {
        b.iter(|| {
            seq += 1;
            let i = usize::try_from(seq).unwrap_or(0) % AGENTS;
            let agent = Agent {
                id: format!("a-{i:05}"),
                name: format!("Agent {i}"),
                team: "sales".into(),
                state: if seq % 2 == 0 {
                    AgentState::Away
                } else {
                    AgentState::Available
                },
                state_since: NOW,
                call_id: None,
            };
            let message = ServerMessage::Agent(AgentEvent { seq, agent });
            black_box(app.update(Input::Feed(FeedEvent::Message(message)), NOW));
        });
    });

    c.bench_function("update: change the sort, 10k agents", |b| {
        b.iter_batched(
            || {
                let sort = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE);
                Input::Key(sort, Duration::ZERO)
            },
            |input| black_box(app.update(input, NOW)),
            BatchSize::SmallInput,
        );
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
