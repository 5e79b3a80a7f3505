//! Reducer speed: events applied per second, and a 10,000-call snapshot
//! parsed and applied. Results go in docs/performance.md.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use floorwalk_protocol::*;
use floorwalk_state::Floor;
use std::hint::black_box;

fn leg(id: String, role: Role, mode: Option<Mode>, track: u32) -> Leg {
    Leg {
        id,
        role,
        user_id: None,
        name: "Party".into(),
        mode,
        track,
        joined_at: Timestamp(0),
    }
}

fn call(i: usize) -> Call {
    Call {
        id: format!("c-{i}"),
        agent_id: format!("a-{i}"),
        queue: Some("billing".into()),
        direction: Direction::Inbound,
        customer: "+1 ••• ••• 0134".into(),
        started_at: Timestamp(1_795_252_443_250),
        recording: true,
        on_hold: false,
        legs: vec![
            leg(format!("l-{i}-c"), Role::Customer, None, 2 * i as u32),
            leg(format!("l-{i}-a"), Role::Agent, None, 2 * i as u32 + 1),
        ],
    }
}

fn agent(i: usize) -> Agent {
    Agent {
        id: format!("a-{i}"),
        name: format!("Agent Number {i}"),
        team: "billing".into(),
        state: AgentState::OnCall,
        state_since: Timestamp(1_795_252_443_250),
        call_id: Some(format!("c-{i}")),
    }
}

fn snapshot(n: usize) -> Snapshot {
    Snapshot {
        seq: 0,
        agents: (0..n).map(agent).collect(),
        calls: (0..n).map(call).collect(),
        queues: vec![],
    }
}

/// A realistic mix over 1,000 busy agents: agent changes, call updates,
/// supervisor legs joining, switching and leaving.
fn events(count: usize) -> Vec<ServerMessage> {
    let at = Timestamp(1_795_252_443_250);
    (0..count)
        .map(|k| {
            let seq = k as u64 + 1;
            let i = k % 1000;
            match k % 5 {
                0 => ServerMessage::Agent(AgentEvent {
                    seq,
                    agent: agent(i),
                }),
                1 => ServerMessage::CallUpdated(CallEvent { seq, call: call(i) }),
                2 => ServerMessage::LegJoined(LegJoined {
                    seq,
                    call_id: format!("c-{i}"),
                    leg: leg(format!("l-{i}-s"), Role::Supervisor, Some(Mode::Silent), 9),
                }),
                3 => ServerMessage::LegChanged(LegChanged {
                    seq,
                    call_id: format!("c-{i}"),
                    leg_id: format!("l-{i}-s"),
                    mode: Mode::Whisper,
                    at,
                }),
                _ => ServerMessage::LegLeft(LegLeft {
                    seq,
                    call_id: format!("c-{i}"),
                    leg_id: format!("l-{i}-s"),
                    at,
                    reason: LegLeftReason::Disconnected,
                }),
            }
        })
        .collect()
}

fn bench_events(c: &mut Criterion) {
    let base = snapshot(1000);
    let stream = events(10_000);
    let texts: Vec<String> = stream.iter().map(to_text).collect();
    let mut group = c.benchmark_group("events");
    group.throughput(Throughput::Elements(stream.len() as u64));
    group.bench_function("apply_10k", |b| {
        b.iter_batched(
            || {
                let mut floor = Floor::default();
                floor.replace(base.clone());
                (floor, stream.clone())
            },
            |(mut floor, stream)| {
                for event in stream {
                    black_box(floor.apply(event));
                }
                floor
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("parse_and_apply_10k", |b| {
        b.iter_batched(
            || {
                let mut floor = Floor::default();
                floor.replace(base.clone());
                floor
            },
            |mut floor| {
                for text in &texts {
                    if let Ok(Parsed::Known(event)) = parse_server(text) {
                        black_box(floor.apply(event));
                    }
                }
                floor
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn bench_snapshot(c: &mut Criterion) {
    let text = to_text(&ServerMessage::Snapshot(snapshot(10_000)));
    let mut group = c.benchmark_group("snapshot");
    group.sample_size(20);
    group.bench_function("parse_only_10k_calls", |b| {
        b.iter(|| parse_server(black_box(&text)))
    });
    group.bench_function("parse_and_apply_10k_calls", |b| {
        b.iter(|| {
            let mut floor = Floor::default();
            if let Ok(Parsed::Known(message)) = parse_server(black_box(&text)) {
                floor.apply(message);
            }
            floor
        })
    });
    group.finish();
}

criterion_group!(benches, bench_events, bench_snapshot);
criterion_main!(benches);
