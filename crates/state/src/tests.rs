use super::*;
use floorwalk_protocol::*;
use proptest::prelude::*;

fn replay(text: &str) -> (Floor, Vec<Applied>) {
    let mut floor = Floor::default();
    let mut outcomes = Vec::new();
    for line in text.lines() {
        if let Ok(Parsed::Known(message)) = parse_server(line) {
            outcomes.push(floor.apply(message));
        }
    }
    (floor, outcomes)
}

const FIXTURE: &str = include_str!("../../../tests/fixtures/floor-stream.jsonl");

#[test]
fn fixture_replay_builds_the_expected_floor() {
    let (floor, outcomes) = replay(FIXTURE);
    assert!(
        outcomes.iter().all(|o| matches!(o, Applied::Changed(_))),
        "{outcomes:?}"
    );
    assert_eq!(floor.last_seq, Some(112));
    let c9 = floor.call_of_agent("a-1").expect("a-1 on c-9");
    assert_eq!(c9.id, "c-9");
    // My leg joined, switched to whisper and left: the call keeps its parties.
    assert!(c9.supervisor_legs().next().is_none());
    assert_eq!(c9.legs.len(), 2);
    assert!(!floor.calls.contains_key("c-7"), "c-7 ended");
    assert!(floor.call_of_agent("a-2").is_none());
    assert_eq!(floor.agents["a-2"].state, AgentState::WrapUp);
    assert_eq!(floor.queues["billing"].waiting, 2);
    let lines = &floor.transcripts["c-9"];
    assert_eq!(lines.len(), 1, "the final line replaced the interim one");
    assert!(lines[0].is_final);
}

#[test]
fn fixture_records_the_changes_for_row_highlights() {
    let (_, outcomes) = replay(FIXTURE);
    assert_eq!(outcomes[0], Applied::Changed(Change::Everything));
    assert_eq!(
        outcomes[1],
        Applied::Changed(Change::CallStarted {
            agent_id: "a-1".into()
        })
    );
    assert!(outcomes.contains(&Applied::Changed(Change::CallEnded {
        agent_id: "a-2".into(),
        reason: CallEndReason::CustomerHangup
    })));
}

#[test]
fn gaps_and_duplicates_are_reported_not_applied() {
    let messages: Vec<ServerMessage> = FIXTURE
        .lines()
        .filter_map(|l| match parse_server(l) {
            Ok(Parsed::Known(m)) => Some(m),
            _ => None,
        })
        .collect();
    let mut floor = Floor::default();
    assert_eq!(floor.apply(messages[1].clone()), Applied::NoBase);
    floor.apply(messages[0].clone());
    floor.apply(messages[1].clone());
    let before = floor.clone();
    assert_eq!(floor.apply(messages[1].clone()), Applied::Duplicate);
    assert_eq!(
        floor.apply(messages[4].clone()),
        Applied::Gap {
            last_seq: 101,
            got: 104
        }
    );
    assert_eq!(
        floor, before,
        "neither a duplicate nor a gap changes anything"
    );
}

#[test]
fn my_legs_are_found_by_user_id() {
    let (mut floor, _) = replay(&FIXTURE.lines().take(5).collect::<Vec<_>>().join("\n"));
    let mine: Vec<_> = floor
        .legs_of("sup-1")
        .map(|(c, l)| (c.id.clone(), l.id.clone()))
        .collect();
    assert_eq!(mine, vec![("c-9".to_string(), "l-31".to_string())]);
    assert!(floor.find_leg("l-31").is_some());
    floor.apply_event(ServerMessage::CallEnded(CallEnded {
        seq: 0,
        call_id: "c-9".into(),
        at: Timestamp(0),
        reason: CallEndReason::AgentHangup,
    }));
    assert_eq!(floor.legs_of("sup-1").count(), 0);
}

// ---- property tests: a random but valid event stream --------------------

fn agent(i: u8, state: AgentState, call: Option<u8>) -> Agent {
    Agent {
        id: format!("a-{i}"),
        name: format!("Agent {i}"),
        team: "t".into(),
        state,
        state_since: Timestamp(i64::from(i)),
        call_id: call.map(|c| format!("c-{c}")),
    }
}

fn leg(id: u8, role: Role, mode: Option<Mode>) -> Leg {
    Leg {
        id: format!("l-{id}"),
        role,
        user_id: Some(format!("u-{id}")),
        name: String::new(),
        mode,
        track: u32::from(id),
        joined_at: Timestamp(0),
    }
}

fn call(c: u8, agent: u8, hold: bool) -> Call {
    Call {
        id: format!("c-{c}"),
        agent_id: format!("a-{agent}"),
        queue: None,
        direction: Direction::Inbound,
        customer: "x".into(),
        started_at: Timestamp(0),
        recording: true,
        on_hold: hold,
        legs: vec![
            leg(c * 10, Role::Customer, None),
            leg(c * 10 + 1, Role::Agent, None),
        ],
    }
}

/// One step of a random stream, before `seq` numbers are assigned.
#[derive(Debug, Clone)]
enum Op {
    Agent(u8, u8),
    Queue(u8, u32),
    Start(u8, u8),
    Update(u8, u8, bool),
    End(u8),
    Join(u8, u8, u8),
    Change(u8, u8, u8),
    Leave(u8, u8),
    Say(u8, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..4u8, 0..5u8).prop_map(|(a, s)| Op::Agent(a, s)),
        (0..2u8, 0..20u32).prop_map(|(q, w)| Op::Queue(q, w)),
        (0..4u8, 0..4u8).prop_map(|(c, a)| Op::Start(c, a)),
        (0..4u8, 0..4u8, any::<bool>()).prop_map(|(c, a, h)| Op::Update(c, a, h)),
        (0..4u8).prop_map(Op::End),
        (0..4u8, 2..6u8, 0..3u8).prop_map(|(c, l, m)| Op::Join(c, l, m)),
        (0..4u8, 2..6u8, 0..3u8).prop_map(|(c, l, m)| Op::Change(c, l, m)),
        (0..4u8, 0..6u8).prop_map(|(c, l)| Op::Leave(c, l)),
        (0..4u8, any::<bool>()).prop_map(|(c, f)| Op::Say(c, f)),
    ]
}

fn to_message(op: &Op, seq: u64) -> ServerMessage {
    let states = [
        AgentState::Available,
        AgentState::OnCall,
        AgentState::WrapUp,
        AgentState::Away,
        AgentState::Offline,
    ];
    let at = Timestamp(seq as i64);
    let call_id = |c: &u8| format!("c-{c}");
    match op {
        Op::Agent(a, s) => ServerMessage::Agent(AgentEvent {
            seq,
            agent: agent(*a, states[*s as usize], None),
        }),
        Op::Queue(q, w) => ServerMessage::Queue(QueueEvent {
            seq,
            queue: Queue {
                id: format!("q-{q}"),
                name: "q".into(),
                waiting: *w,
                longest_wait_s: 1,
                sla_percent: 90.0,
                agents_available: 1,
            },
        }),
        Op::Start(c, a) => ServerMessage::CallStarted(CallEvent {
            seq,
            call: call(*c, *a, false),
        }),
        Op::Update(c, a, h) => ServerMessage::CallUpdated(CallEvent {
            seq,
            call: call(*c, *a, *h),
        }),
        Op::End(c) => ServerMessage::CallEnded(CallEnded {
            seq,
            call_id: call_id(c),
            at,
            reason: CallEndReason::CustomerHangup,
        }),
        Op::Join(c, l, m) => ServerMessage::LegJoined(LegJoined {
            seq,
            call_id: call_id(c),
            leg: leg(c * 10 + l, Role::Supervisor, Some(Mode::ALL[*m as usize])),
        }),
        Op::Change(c, l, m) => ServerMessage::LegChanged(LegChanged {
            seq,
            call_id: call_id(c),
            leg_id: format!("l-{}", c * 10 + l),
            mode: Mode::ALL[*m as usize],
            at,
        }),
        Op::Leave(c, l) => ServerMessage::LegLeft(LegLeft {
            seq,
            call_id: call_id(c),
            leg_id: format!("l-{}", c * 10 + l),
            at,
            reason: LegLeftReason::Disconnected,
        }),
        Op::Say(c, f) => ServerMessage::Transcript(Transcript {
            seq,
            call_id: call_id(c),
            leg_id: format!("l-{}", c * 10),
            at,
            text: format!("word {seq}"),
            is_final: *f,
        }),
    }
}

fn stream(ops: &[Op]) -> Vec<ServerMessage> {
    let base = ServerMessage::Snapshot(Snapshot {
        seq: 0,
        agents: vec![agent(0, AgentState::Available, None)],
        calls: vec![call(0, 0, false)],
        queues: vec![],
    });
    std::iter::once(base)
        .chain(
            ops.iter()
                .enumerate()
                .map(|(i, op)| to_message(op, i as u64 + 1)),
        )
        .collect()
}

fn apply_all<'a>(messages: impl IntoIterator<Item = &'a ServerMessage>) -> Floor {
    let mut floor = Floor::default();
    for m in messages {
        floor.apply(m.clone());
    }
    floor
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn duplicated_events_give_the_clean_state(ops in prop::collection::vec(op(), 0..60), dups in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..20)) {
        let clean = stream(&ops);
        let want = apply_all(&clean);
        // Re-deliver earlier events (not the snapshot) at random later points.
        let mut noisy = clean.clone();
        for (what, where_) in dups.into_iter().filter(|_| clean.len() > 1) {
            let what = 1 + what.index(clean.len() - 1);
            let at = what + 1 + where_.index(noisy.len() - what);
            noisy.insert(at.min(noisy.len()), clean[what].clone());
        }
        prop_assert_eq!(apply_all(&noisy), want);
    }

    #[test]
    fn resumed_streams_give_the_clean_state(ops in prop::collection::vec(op(), 1..60), cut in any::<prop::sample::Index>(), overlap in 0..5usize) {
        let clean = stream(&ops);
        let want = apply_all(&clean);
        let cut = 1 + cut.index(clean.len() - 1);
        // Connection drops after `cut`, the next message is lost (a gap), then
        // the server replays from an earlier point, overlapping what was applied.
        let mut floor = apply_all(&clean[..cut]);
        if let Some(next) = clean.get(cut + 1) {
            let gap = matches!(floor.apply(next.clone()), Applied::Gap { .. });
            prop_assert!(gap);
        }
        for m in &clean[cut.saturating_sub(overlap)..] {
            floor.apply(m.clone());
        }
        prop_assert_eq!(&floor, &want);
        // A fresh snapshot of the floor at `cut`, then the rest, also agrees.
        let snap = ServerMessage::Snapshot(apply_all(&clean[..cut]).snapshot());
        let mut from_snapshot = Floor::default();
        from_snapshot.apply(snap);
        for m in &clean[cut..] {
            from_snapshot.apply(m.clone());
        }
        prop_assert_eq!(from_snapshot.calls, want.calls);
        prop_assert_eq!(from_snapshot.agents, want.agents);
    }

    #[test]
    fn applying_an_event_twice_is_harmless(ops in prop::collection::vec(op(), 1..40)) {
        let clean = stream(&ops);
        let mut once = Floor::default();
        let mut twice = Floor::default();
        for m in &clean {
            once.apply_event(m.clone());
            twice.apply_event(m.clone());
            twice.apply_event(m.clone());
        }
        prop_assert_eq!(once.calls, twice.calls);
        prop_assert_eq!(once.agents, twice.agents);
        prop_assert_eq!(once.queues, twice.queues);
        prop_assert_eq!(once.transcripts, twice.transcripts);
    }
}
