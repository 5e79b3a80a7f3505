//! Rendering the dashboard over 10,000 agents into a 200x50 TestBackend
//! (target: under 2 ms a frame), and the update step's costs at that size.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use floorwalk_console::app::{App, AppSettings, Input};
use floorwalk_console::feed::FeedEvent;
use floorwalk_protocol::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;
use std::time::Duration;

const AGENTS: usize = 10_000;
const NOW: Timestamp = Timestamp(1_795_252_443_250);

const FIRST: [&str; 10] = [
    "Alex", "Priya", "Sam", "Maria", "Tom", "Lena", "Omar", "Yuki", "Chris", "Ines",
];
const LAST: [&str; 10] = [
    "Kim", "Nair", "Lee", "Gonzalez", "Becker", "Fischer", "Haddad", "Tanaka", "Doyle", "Duarte",
];
const TEAMS: [&str; 4] = ["billing", "retention", "sales", "support"];

fn leg(
    id: String,
    role: Role,
    user: Option<&str>,
    name: &str,
    mode: Option<Mode>,
    track: u32,
) -> Leg {
    Leg {
        id,
        role,
        user_id: user.map(Into::into),
        name: name.into(),
        mode,
        track,
        joined_at: NOW.plus_millis(-60_000),
    }
}

/// A floor of 10,000 agents, 60% on a call, some calls with supervisors.
fn snapshot() -> Snapshot {
    let mut agents = Vec::with_capacity(AGENTS);
    let mut calls = Vec::new();
    for i in 0..AGENTS {
        let id = format!("a-{i:05}");
        let name = format!("{} {} {i}", FIRST[i % 10], LAST[(i / 10) % 10]);
        let team = TEAMS[i % TEAMS.len()];
        let on_call = i % 5 < 3;
        let call_id = on_call.then(|| format!("c-{i:05}"));
        if let Some(call_id) = &call_id {
            let track = u32::try_from(i).unwrap_or(0) * 4;
            let mut legs = vec![
                leg(
                    format!("l-{i}c"),
                    Role::Customer,
                    None,
                    "customer",
                    None,
                    track,
                ),
                leg(
                    format!("l-{i}a"),
                    Role::Agent,
                    Some(&id),
                    &name,
                    None,
                    track + 1,
                ),
            ];
            if i % 7 == 0 {
                legs.push(leg(
                    format!("l-{i}s"),
                    Role::Supervisor,
                    Some("sup-2"),
                    "Jorge Ortiz",
                    Some(Mode::Silent),
                    track + 2,
                ));
            }
            calls.push(Call {
                id: call_id.clone(),
                agent_id: id.clone(),
                queue: Some(format!("q-{team}")),
                direction: Direction::Inbound,
                customer: format!("+1 555 {:03} {:04}", i % 1000, i % 10_000),
                started_at: NOW.plus_millis(-1000 * i64::try_from(i % 4000).unwrap_or(0)),
                recording: i % 2 == 0,
                on_hold: i % 11 == 0,
                legs,
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
    let queues = TEAMS
        .iter()
        .map(|team| Queue {
            id: format!("q-{team}"),
            name: (*team).into(),
            waiting: 4,
            longest_wait_s: 42,
            sla_percent: 91.0,
            agents_available: 100,
        })
        .collect();
    Snapshot {
        seq: 1,
        agents,
        calls,
        queues,
    }
}

fn live_app() -> App {
    let mut app = App::new(AppSettings::default());
    let hello = Hello {
        protocol: 1,
        server: "bench".into(),
        session: "s-1".into(),
        now: NOW,
        heartbeat_ms: 5000,
        lease_ms: 15000,
        supervisor: Supervisor {
            id: "sup-1".into(),
            name: "Dana Ruiz".into(),
            teams: TEAMS.iter().map(|t| (*t).to_string()).collect(),
            can_end_calls: true,
        },
    };
    for input in [
        Input::Resize(200, 50),
        Input::Feed(FeedEvent::Connected {
            hello,
            resumed: false,
        }),
        Input::Feed(FeedEvent::Message(ServerMessage::Snapshot(snapshot()))),
        Input::Feed(FeedEvent::Rtt(Duration::from_millis(12))),
    ] {
        app.update(input, NOW);
    }
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
