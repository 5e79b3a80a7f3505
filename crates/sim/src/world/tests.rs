use super::*;
use floorwalk_protocol::ErrorCode;
use floorwalk_protocol::Supervisor;
use floorwalk_server::demo_accounts;
use std::collections::{BTreeSet, HashSet};

const START: Timestamp = Timestamp::from_millis(1_795_252_443_000);

fn library() -> Arc<Library> {
    Arc::new(Library::embedded().unwrap())
}

fn world(agents: usize, seed: u64, min_call_secs: u64) -> World {
    World::new(
        &WorldConfig {
            agents,
            seed,
            min_call_secs,
            speed: 1.0,
            teams: team_list([]),
            start: START,
        },
        library(),
    )
}

fn kind(message: &ServerMessage) -> &'static str {
    match message {
        ServerMessage::Agent(_) => "agent",
        ServerMessage::Queue(_) => "queue",
        ServerMessage::CallStarted(_) => "call_started",
        ServerMessage::CallUpdated(_) => "call_updated",
        ServerMessage::CallEnded(_) => "call_ended",
        ServerMessage::LegJoined(_) => "leg_joined",
        ServerMessage::LegChanged(_) => "leg_changed",
        ServerMessage::LegLeft(_) => "leg_left",
        ServerMessage::Transcript(_) => "transcript",
        ServerMessage::Hello(_) | ServerMessage::Snapshot(_) => "other",
        ServerMessage::Reply(_) | ServerMessage::Notice(_) | ServerMessage::FloorStatus(_) => {
            "other"
        }
    }
}

fn run(world: &mut World, ticks: usize) -> Vec<WorldEvent> {
    let mut events = Vec::new();
    for _ in 0..ticks {
        world.step();
        events.extend(world.take_events());
    }
    events
}

fn dana() -> Supervisor {
    demo_accounts()[0].supervisor()
}

/// A live call in one of `who`'s teams.
fn call_for(world: &World, who: &Supervisor) -> String {
    let state = world.state();
    let team_of = |agent: &str| {
        state
            .agents
            .iter()
            .find(|a| a.id == agent)
            .map(|a| a.team.clone())
    };
    state
        .calls
        .iter()
        .find(|c| team_of(&c.agent_id).is_some_and(|t| who.teams.contains(&t)))
        .expect("a live call")
        .id
        .clone()
}

#[test]
fn same_seed_same_floor_and_story() {
    let mut a = world(200, 42, 20);
    let mut b = world(200, 42, 20);
    assert_eq!(a.state(), b.state());
    let (ea, eb) = (run(&mut a, 600), run(&mut b, 600));
    assert!(ea.len() > 100, "only {} events in a minute", ea.len());
    assert_eq!(ea, eb);

    let c = world(200, 43, 20);
    let names = |w: &World| {
        w.state()
            .agents
            .into_iter()
            .map(|a| a.name)
            .collect::<Vec<_>>()
    };
    assert_ne!(names(&a), names(&c));
}

#[test]
fn commands_do_not_change_the_story() {
    let mut quiet = world(100, 9, 20);
    let mut busy = world(100, 9, 20);
    let who = dana();
    let mut story_quiet = Vec::new();
    let mut story_busy = Vec::new();
    for _ in 0..30 {
        story_quiet.extend(run(&mut quiet, 20).into_iter().map(|e| e.message));
        let call = call_for(&busy, &who);
        let leg = busy.join(&who, &call, Mode::Silent).unwrap().leg_id;
        busy.set_mode(&leg, Mode::Whisper).unwrap();
        busy.leave(&leg, LegLeftReason::Disconnected).unwrap();
        // Our own legs' events aside, the world tells the same story.
        busy.take_events();
        story_busy.extend(run(&mut busy, 20).into_iter().map(|e| e.message));
    }
    assert_eq!(story_quiet, story_busy);
}

#[test]
fn the_floor_looks_like_a_contact_center() {
    let mut w = world(300, 1, 20);
    let start = w.state();
    let teams: BTreeSet<&str> = start.agents.iter().map(|a| a.team.as_str()).collect();
    assert_eq!(teams, DEFAULT_TEAMS.into_iter().collect());
    let names: HashSet<&str> = start.agents.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names.len(), 300, "agent names are distinct");
    let on_call = start
        .agents
        .iter()
        .filter(|a| a.state == AgentState::OnCall)
        .count();
    assert!((150..280).contains(&on_call), "{on_call} of 300 on call");
    assert_eq!(start.queues.len(), 5);
    for call in &start.calls {
        assert!(
            call.customer.contains('•'),
            "customer shown masked: {}",
            call.customer
        );
        assert!(call.leg_with_role(Role::Customer).is_some());
        assert!(call.leg_with_role(Role::Agent).is_some());
        assert!(call.started_at <= w.now());
    }
    assert!(start.calls.iter().any(|c| c.recording));
    assert!(
        start
            .calls
            .iter()
            .any(|c| c.leg_with_role(Role::Bot).is_some())
    );

    // Ten minutes of floor life show every kind of event.
    let events = run(&mut w, 6000);
    let kinds: BTreeSet<&str> = events.iter().map(|e| kind(&e.message)).collect();
    for expected in [
        "agent",
        "queue",
        "call_started",
        "call_updated",
        "call_ended",
        "leg_joined",
        "leg_changed",
        "leg_left",
        "transcript",
    ] {
        assert!(kinds.contains(expected), "no {expected} in {kinds:?}");
    }
    let states: HashSet<AgentState> = events
        .iter()
        .filter_map(|e| match &e.message {
            ServerMessage::Agent(a) => Some(a.agent.state),
            _ => None,
        })
        .collect();
    for state in [
        AgentState::Available,
        AgentState::OnCall,
        AgentState::WrapUp,
        AgentState::Away,
        AgentState::Offline,
    ] {
        assert!(states.contains(&state), "nobody went {state:?}");
    }
    let reasons: HashSet<CallEndReason> = events
        .iter()
        .filter_map(|e| match &e.message {
            ServerMessage::CallEnded(c) => Some(c.reason),
            _ => None,
        })
        .collect();
    assert!(reasons.contains(&CallEndReason::CustomerHangup));
    assert!(reasons.contains(&CallEndReason::AgentHangup));
    assert!(events.iter().any(|e| matches!(&e.message,
        ServerMessage::CallStarted(c) if c.call.direction == Direction::Outbound && c.call.queue.is_none())));
    assert!(events.iter().any(|e| matches!(&e.message,
        ServerMessage::Transcript(t) if t.is_final && t.text.split_whitespace().count() > 3)));
}

#[test]
fn calls_last_at_least_the_minimum() {
    let mut w = world(100, 5, 30);
    let mut started = std::collections::HashMap::new();
    for _ in 0..6000 {
        w.step();
        for event in w.take_events() {
            match event.message {
                ServerMessage::CallStarted(c) => {
                    started.insert(c.call.id, c.call.started_at);
                }
                ServerMessage::CallEnded(c) => {
                    if let Some(at) = started.get(&c.call_id) {
                        let secs = c.at.millis_since(*at) / 1000;
                        assert!(
                            (30..=30 + 400).contains(&secs),
                            "{} lasted {secs} s",
                            c.call_id
                        );
                    }
                }
                _ => {}
            }
        }
    }
}

#[test]
fn speed_runs_the_story_faster_on_the_same_clock() {
    let ended = |speed: f64| {
        let mut w = World::new(
            &WorldConfig {
                agents: 200,
                seed: 3,
                min_call_secs: 2,
                speed,
                teams: team_list([]),
                start: START,
            },
            library(),
        );
        let events = run(&mut w, 600);
        assert_eq!(w.now(), START.plus_millis(60_000), "the clock stays real");
        let mut started = std::collections::HashMap::new();
        let mut ended = 0;
        for event in events {
            match event.message {
                ServerMessage::CallStarted(c) => {
                    started.insert(c.call.id, c.call.started_at);
                }
                ServerMessage::CallEnded(c) => {
                    ended += 1;
                    if let Some(at) = started.get(&c.call_id) {
                        assert!(c.at.millis_since(*at) >= 2000, "min_call_secs holds");
                    }
                }
                _ => {}
            }
        }
        ended
    };
    let (real, fast) = (ended(1.0), ended(10.0));
    assert!(fast > 4 * real, "10x speed ended {fast} calls, 1x {real}");
}

#[test]
fn events_stay_in_the_event_team() {
    let mut w = world(100, 3, 20);
    for event in run(&mut w, 3000) {
        let team = &w.teams[event.team].id;
        match &event.message {
            ServerMessage::Agent(a) => assert_eq!(&a.agent.team, team),
            ServerMessage::Queue(q) => assert_eq!(&q.queue.id, team),
            ServerMessage::CallStarted(c) => {
                let agent = &w.floor.agents[&c.call.agent_id];
                assert_eq!(&agent.team, team);
            }
            _ => {}
        }
    }
}

#[test]
fn join_switch_and_leave_keep_the_call_going() {
    let mut w = world(60, 1, 3600);
    let who = dana();
    let call = call_for(&w, &who);
    let joined = w.join(&who, &call, Mode::Silent).unwrap();
    assert!(joined.track >= CONSOLE_TRACK_BASE);
    let events = w.take_events();
    assert!(
        matches!(&events[..], [WorldEvent { message: ServerMessage::LegJoined(j), .. }]
        if j.leg.id == joined.leg_id && j.leg.mode == Some(Mode::Silent) && j.leg.user_id.as_deref() == Some("sup-1"))
    );

    w.set_mode(&joined.leg_id, Mode::Whisper).unwrap();
    w.set_mode(&joined.leg_id, Mode::Barge).unwrap();
    let modes: Vec<Mode> = w
        .take_events()
        .into_iter()
        .filter_map(|e| match e.message {
            ServerMessage::LegChanged(c) => Some(c.mode),
            _ => None,
        })
        .collect();
    assert_eq!(modes, [Mode::Whisper, Mode::Barge]);

    w.leave(&joined.leg_id, LegLeftReason::Disconnected)
        .unwrap();
    let events = w.take_events();
    assert!(
        matches!(&events[..], [WorldEvent { message: ServerMessage::LegLeft(l), .. }]
        if l.reason == LegLeftReason::Disconnected)
    );
    let live = &w.floor.calls[&call];
    assert!(live.leg_with_role(Role::Customer).is_some());
    assert!(live.leg_with_role(Role::Agent).is_some());
    assert!(live.leg(&joined.leg_id).is_none());

    // A leg that is gone is not found again, and nothing changes.
    assert_eq!(
        w.leave(&joined.leg_id, LegLeftReason::Disconnected)
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    assert_eq!(
        w.set_mode(&joined.leg_id, Mode::Silent).unwrap_err().code,
        ErrorCode::NotFound
    );
    assert!(w.take_events().is_empty());
}

#[test]
fn only_console_legs_can_be_left_and_unknown_calls_joined() {
    let mut w = world(60, 1, 3600);
    let call = call_for(&w, &dana());
    let before = w.state();
    let parties: Vec<String> = before
        .calls
        .iter()
        .find(|c| c.id == call)
        .unwrap()
        .legs
        .iter()
        .map(|l| l.id.clone())
        .collect();
    for leg in &parties {
        let refused = w.leave(leg, LegLeftReason::Disconnected).unwrap_err();
        assert_eq!(refused.code, ErrorCode::NotFound, "{leg}");
    }
    for unknown in ["c-999999", "c-01"] {
        let refused = w.join(&dana(), unknown, Mode::Silent).unwrap_err();
        assert_eq!(refused.code, ErrorCode::NotFound);
    }
    assert!(w.take_events().is_empty());
    assert_eq!(w.state(), before);
}

#[test]
fn ending_a_call_lets_its_supervisors_go_first() {
    let mut w = world(60, 1, 3600);
    let call = call_for(&w, &dana());
    let leg = w.join(&dana(), &call, Mode::Barge).unwrap().leg_id;
    w.take_events();
    w.end_call(&call).unwrap();
    let events: Vec<ServerMessage> = w.take_events().into_iter().map(|e| e.message).collect();
    assert!(
        matches!(&events[0], ServerMessage::LegLeft(l) if l.leg_id == leg && l.reason == LegLeftReason::CallEnded)
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ServerMessage::CallEnded(c)
        if c.call_id == call && c.reason == CallEndReason::EndedBySupervisor))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ServerMessage::Agent(a) if a.agent.state == AgentState::WrapUp))
    );
    assert!(!w.floor.calls.contains_key(&call));
    assert_eq!(w.end_call(&call).unwrap_err().code, ErrorCode::NotFound);
}

#[test]
fn the_state_places_each_queue_in_its_team() {
    let w = world(60, 1, 20);
    let state = w.state();
    assert!(!state.agents.is_empty());
    let queues: Vec<(&str, &str)> = state
        .queues
        .iter()
        .map(|q| (q.team.as_str(), q.queue.id.as_str()))
        .collect();
    assert_eq!(queues.len(), DEFAULT_TEAMS.len());
    assert!(queues.iter().all(|(team, queue)| team == queue));
    let agent_ids: HashSet<&str> = state.agents.iter().map(|a| a.id.as_str()).collect();
    assert!(
        state
            .calls
            .iter()
            .all(|c| agent_ids.contains(c.agent_id.as_str()))
    );
}

#[test]
fn extra_teams_from_accounts_are_staffed() {
    let teams = team_list(["billing", "collections", "collections"]);
    assert_eq!(teams.len(), 6);
    assert_eq!(teams[5], "collections");
    let w = World::new(
        &WorldConfig {
            agents: 12,
            seed: 1,
            min_call_secs: 20,
            speed: 1.0,
            teams,
            start: START,
        },
        library(),
    );
    assert_eq!(
        w.state()
            .agents
            .iter()
            .filter(|a| a.team == "collections")
            .count(),
        2
    );
}

#[test]
fn poisson_mean_is_about_right() {
    let mut rng = SmallRng::seed_from_u64(1);
    for mean in [0.05, 1.0, 45.0] {
        let n = 20_000;
        let total: u32 = (0..n).map(|_| poisson(&mut rng, mean)).sum();
        let got = f64::from(total) / f64::from(n);
        assert!(
            (got - mean).abs() < mean * 0.1 + 0.01,
            "mean {mean}: got {got}"
        );
    }
}

#[test]
fn an_empty_floor_still_ticks() {
    let mut w = world(0, 1, 20);
    run(&mut w, 100);
    assert!(w.state().agents.is_empty());
}

#[test]
fn on_call_agents_are_on_call_since_their_call_started() {
    let mut w = world(300, 5, 20);
    for round in 0..3 {
        let snapshot = w.state();
        let mut checked = 0;
        for agent in &snapshot.agents {
            if agent.state != AgentState::OnCall {
                continue;
            }
            let call = snapshot
                .calls
                .iter()
                .find(|c| Some(&c.id) == agent.call_id.as_ref())
                .expect("an on-call agent's call is live");
            assert_eq!(
                agent.state_since, call.started_at,
                "round {round}: {agent:?}"
            );
            checked += 1;
        }
        assert!(checked > 50, "only {checked} agents on calls");
        run(&mut w, 600);
    }
}

#[test]
fn transcripts_say_the_lines_of_the_calls_conversation_as_they_end() {
    let mut w = world(200, 11, 600);
    let library = library();
    let start_tick = w.tick;
    let events = run(&mut w, 900);
    let mut checked = 0;
    for event in &events {
        let ServerMessage::CallStarted(started) = &event.message else {
            continue;
        };
        let call = &started.call;
        if call.leg_with_role(Role::Bot).is_none() {
            continue;
        }
        let n: u64 = call.id.strip_prefix("c-").unwrap().parse().unwrap();
        let leg = |role| call.leg_with_role(role).unwrap().id.clone();
        let said: Vec<&Transcript> = events
            .iter()
            .filter_map(|e| match &e.message {
                ServerMessage::Transcript(t) if t.call_id == call.id => Some(t),
                _ => None,
            })
            .collect();
        let mut talk = Conversation::new(&library, 11, n);
        let started_tick = (call.started_at.millis_since(START) / TICK_MS) - start_tick;
        let mut finals = said.iter().filter(|t| t.is_final).peekable();
        assert!(finals.peek().is_some(), "{} said nothing", call.id);
        for t in finals {
            let line = talk.line();
            let clip = library.clip(line.clip).unwrap();
            assert_eq!(t.text, clip.text);
            assert_eq!(t.leg_id, leg(line.role));
            let end_ms = (started_tick * TICK_MS) + line.end() * FRAME_MS;
            let at = t.at.millis_since(START);
            assert!(
                at >= end_ms && at < end_ms + TICK_MS,
                "{} ends at {end_ms}, sent at {at}",
                clip.text
            );
            talk.advance(&library);
        }
        // Interim lines are the start of the final one that follows.
        for pair in said.windows(2) {
            if !pair[0].is_final {
                assert!(pair[1].is_final && pair[1].text.starts_with(&pair[0].text));
            }
        }
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} transcribed calls started");
}
