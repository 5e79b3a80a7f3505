use super::*;
use crate::ari::events::CallerId;
use crate::model::{AgentView, QueueView};
use floorwalk_protocol::{AgentState, Direction};
use std::collections::HashSet;

/// `secs` seconds into the test.
fn at(secs: i64) -> Timestamp {
    Timestamp::from_millis(1_796_298_738_942 + secs * 1000)
}

/// Call `n`: bridge `br-n` between a customer's channel and `agent`'s.
fn party(n: u32, agent: &str) -> PartyCall {
    PartyCall {
        id: format!("br-{n}"),
        customer: format!("1764762738.{}", 10 * n),
        agent: format!("1764762738.{}", 10 * n + 1),
        agent_id: agent.into(),
        team: "billing".into(),
        queue: Some("support".into()),
        direction: Direction::Inbound,
        caller: CallerId {
            name: "Pat Doe".into(),
            number: "+15551230134".into(),
        },
        started_at: at(0),
        recording: false,
        on_hold: false,
    }
}

fn queue(waiting: u32) -> QueueView {
    QueueView {
        id: "support".into(),
        name: "Support".into(),
        team: "billing".into(),
        waiting,
        longest_wait_s: u64::from(waiting) * 7,
        sla_percent: 92.5,
        agents_available: 1,
    }
}

/// A floor of ana and ben with these calls, each agent on theirs (if any)
/// and available otherwise, and nobody waiting in the support queue.
fn floor(calls: &[PartyCall]) -> View {
    let agents = ["ana", "ben"].map(|id| {
        let call = calls.iter().find(|c| c.agent_id == id);
        AgentView {
            id: id.into(),
            name: format!("Agent {id}"),
            team: "billing".into(),
            state: match call {
                Some(_) => AgentState::OnCall,
                None => AgentState::Available,
            },
            call_id: call.map(|c| c.id.clone()),
        }
    });
    View {
        calls: calls.to_vec(),
        agents: agents.into(),
        queues: vec![queue(0)],
    }
}

/// Syncs at `secs`; calls that are gone ended with the customer's hangup.
fn sync(board: &mut Board, view: &View, secs: i64) -> Vec<FloorOutput> {
    board.sync(view, at(secs), &|_| CallEndReason::CustomerHangup)
}

/// A board that has published `floor(calls)`.
fn board_with(calls: &[PartyCall]) -> Board {
    let mut board = Board::default();
    sync(&mut board, &floor(calls), 0);
    board
}

/// Each output in a line, e.g. `agent ana OnCall`, `started br-1`.
fn told(outputs: &[FloorOutput]) -> Vec<String> {
    outputs
        .iter()
        .map(|output| match output {
            FloorOutput::Event(message) => said(message),
            FloorOutput::Queue(q) => format!("queue {} {} {}", q.queue.id, q.team, q.queue.waiting),
            other => format!("{other:?}"),
        })
        .collect()
}

fn said(message: &ServerMessage) -> String {
    match message {
        ServerMessage::Agent(e) => format!("agent {} {:?}", e.agent.id, e.agent.state),
        ServerMessage::CallStarted(e) => format!("started {}", e.call.id),
        ServerMessage::CallUpdated(e) => format!("updated {}", e.call.id),
        ServerMessage::CallEnded(e) => format!("ended {} {:?}", e.call_id, e.reason),
        ServerMessage::LegJoined(e) => format!("joined {} {}", e.call_id, e.leg.id),
        ServerMessage::LegChanged(e) => format!("changed {} {} {}", e.call_id, e.leg_id, e.mode),
        ServerMessage::LegLeft(e) => format!("left {} {} {:?}", e.call_id, e.leg_id, e.reason),
        other => format!("{other:?}"),
    }
}

/// The call of the first call_started or call_updated.
fn call_told(outputs: &[FloorOutput]) -> &Call {
    outputs
        .iter()
        .find_map(|output| match output {
            FloorOutput::Event(ServerMessage::CallStarted(e) | ServerMessage::CallUpdated(e)) => {
                Some(&e.call)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no call in {outputs:?}"))
}

fn supervisor_leg(board: &mut Board, id: &str) -> Leg {
    Leg {
        id: id.into(),
        role: Role::Supervisor,
        user_id: Some("sup-1".into()),
        name: "Dana Ruiz".into(),
        mode: Some(Mode::Silent),
        track: board.supervisor_track(),
        joined_at: at(2),
    }
}

fn join(board: &mut Board, call_id: &str, leg_id: &str) -> Option<ServerMessage> {
    let leg = supervisor_leg(board, leg_id);
    board.join(call_id, leg)
}

fn tracks(call: &Call) -> Vec<u32> {
    call.legs.iter().map(|l| l.track).collect()
}

#[test]
fn a_first_view_tells_the_agents_before_the_call_that_names_one() {
    let mut board = Board::default();
    let outputs = sync(&mut board, &floor(&[party(1, "ana")]), 0);
    assert_eq!(
        told(&outputs),
        [
            "agent ana OnCall",
            "agent ben Available",
            "started br-1",
            "queue support billing 0"
        ]
    );
    let call = call_told(&outputs);
    assert_eq!(
        (call.agent_id.as_str(), call.customer.as_str()),
        ("ana", "+1 ••• ••• 0134")
    );
    let legs: Vec<_> = call
        .legs
        .iter()
        .map(|l| {
            (
                l.id.as_str(),
                l.role,
                l.user_id.as_deref(),
                l.name.as_str(),
                l.mode,
            )
        })
        .collect();
    assert_eq!(
        legs,
        [
            ("1764762738.10", Role::Customer, None, "Customer", None),
            ("1764762738.11", Role::Agent, Some("ana"), "Agent ana", None),
        ]
    );
}

#[test]
fn a_call_put_on_hold_is_updated_whole() {
    let mut board = board_with(&[party(1, "ana")]);
    let before = board.call("br-1").unwrap().clone();
    let held = PartyCall {
        on_hold: true,
        ..party(1, "ana")
    };
    let outputs = sync(&mut board, &floor(&[held]), 1);
    assert_eq!(told(&outputs), ["updated br-1"]);
    let call = call_told(&outputs);
    assert_eq!(
        *call,
        Call {
            on_hold: true,
            ..before
        }
    );
}

#[test]
fn the_same_view_again_tells_nothing_even_later() {
    let view = floor(&[party(1, "ana")]);
    let mut board = board_with(&view.calls);
    assert_eq!(told(&sync(&mut board, &view, 30)), Vec::<String>::new());
}

#[test]
fn queue_figures_are_told_with_their_team_when_they_change() {
    let mut board = board_with(&[]);
    let view = View {
        queues: vec![queue(2)],
        ..floor(&[])
    };
    assert_eq!(
        told(&sync(&mut board, &view, 1)),
        ["queue support billing 2"]
    );
}

#[test]
fn a_call_that_is_gone_ends_after_its_supervisor_legs_leave() {
    let mut board = board_with(&[party(1, "ana")]);
    join(&mut board, "br-1", "l-1").unwrap();
    join(&mut board, "br-1", "l-2").unwrap();
    let outputs = board.sync(&floor(&[]), at(9), &|call: &PartyCall| {
        assert_eq!(*call, party(1, "ana"));
        CallEndReason::AgentHangup
    });
    assert_eq!(
        told(&outputs),
        [
            "agent ana Available",
            "left br-1 l-1 CallEnded",
            "left br-1 l-2 CallEnded",
            "ended br-1 AgentHangup",
        ]
    );
    assert!(board.call("br-1").is_none() && board.parties("br-1").is_none());
    assert_eq!(join(&mut board, "br-1", "l-3"), None);
}

#[test]
fn party_tracks_stay_across_syncs_and_differ_from_each_other() {
    let mut board = board_with(&[party(1, "ana"), party(2, "ben")]);
    let first = [1, 2].map(|n| tracks(board.call(&format!("br-{n}")).unwrap()));
    let all: HashSet<u32> = first.iter().flatten().copied().collect();
    assert_eq!(all.len(), 4, "{first:?}");
    assert!(all.iter().all(|t| (1..SUPERVISOR_TRACKS).contains(t)));
    // Held, and a supervisor on it: the parties keep their tracks.
    let held = PartyCall {
        on_hold: true,
        ..party(1, "ana")
    };
    join(&mut board, "br-1", "l-1").unwrap();
    sync(&mut board, &floor(&[held, party(2, "ben")]), 1);
    assert_eq!(tracks(board.call("br-1").unwrap())[..2], first[0]);
    assert_eq!(tracks(board.call("br-2").unwrap()), first[1]);
    // A new call beside br-2 gets tracks of its own.
    sync(&mut board, &floor(&[party(2, "ben"), party(3, "ana")]), 2);
    let third = tracks(board.call("br-3").unwrap());
    assert!(
        third.iter().all(|t| !first[1].contains(t) && *t != 0),
        "{third:?}"
    );
    assert_ne!(third[0], third[1]);
}

#[test]
fn supervisor_tracks_are_apart_from_the_parties_and_distinct() {
    let mut board = Board::default();
    let tracks: HashSet<u32> = (0..1000).map(|_| board.supervisor_track()).collect();
    assert_eq!(tracks.len(), 1000);
    assert!(tracks.iter().all(|t| *t >= 1 << 30), "{tracks:?}");
}

#[test]
fn join_change_and_leave_tell_what_they_did() {
    let mut board = board_with(&[party(1, "ana")]);
    let leg = supervisor_leg(&mut board, "l-1");
    let joined = board.join("br-1", leg.clone()).unwrap();
    assert_eq!(
        joined,
        ServerMessage::LegJoined(LegJoined {
            seq: 0,
            call_id: "br-1".into(),
            leg: leg.clone()
        })
    );
    let changed = board.change("br-1", "l-1", Mode::Whisper, at(3)).unwrap();
    assert_eq!(said(&changed), "changed br-1 l-1 whisper");
    assert_eq!(
        board.call("br-1").unwrap().leg("l-1").unwrap().mode,
        Some(Mode::Whisper)
    );
    let left = board.leave("br-1", "l-1", LegLeftReason::Removed, at(4));
    assert_eq!(
        left,
        Some(ServerMessage::LegLeft(LegLeft {
            seq: 0,
            call_id: "br-1".into(),
            leg_id: "l-1".into(),
            at: at(4),
            reason: LegLeftReason::Removed,
        }))
    );
    assert_eq!(board.call("br-1").unwrap().legs.len(), 2);
    assert_eq!(
        board.leave("br-1", "l-1", LegLeftReason::Removed, at(5)),
        None
    );
}

#[test]
fn unknown_calls_and_legs_and_the_parties_legs_are_none() {
    let mut board = board_with(&[party(1, "ana")]);
    join(&mut board, "br-1", "l-1").unwrap();
    let before = board.state();
    assert_eq!(join(&mut board, "br-9", "l-2"), None);
    for (call, leg) in [
        ("br-9", "l-1"),
        ("br-1", "l-9"),
        ("br-1", "1764762738.10"),
        ("br-1", "1764762738.11"),
    ] {
        assert_eq!(
            board.change(call, leg, Mode::Barge, at(3)),
            None,
            "{call} {leg}"
        );
        let left = board.leave(call, leg, LegLeftReason::Removed, at(3));
        assert_eq!(left, None, "{call} {leg}");
    }
    assert_eq!(board.state(), before);
}

fn call_mut<'a>(calls: &'a mut BTreeMap<String, Call>, id: &str) -> &'a mut Call {
    calls
        .get_mut(id)
        .unwrap_or_else(|| panic!("{id} told before it started"))
}

/// What a console would hold after applying everything it was told.
#[derive(Default)]
struct Mirror {
    agents: BTreeMap<String, Agent>,
    calls: BTreeMap<String, Call>,
    queues: BTreeMap<String, TeamQueue>,
}

impl Mirror {
    fn apply(&mut self, outputs: &[FloorOutput]) {
        for output in outputs {
            match output {
                FloorOutput::Event(message) => self.hear(message),
                FloorOutput::Queue(q) => {
                    self.queues.insert(q.queue.id.clone(), q.clone());
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn hear(&mut self, message: &ServerMessage) {
        match message {
            ServerMessage::Agent(e) => {
                self.agents.insert(e.agent.id.clone(), e.agent.clone());
            }
            ServerMessage::CallStarted(e) | ServerMessage::CallUpdated(e) => {
                self.calls.insert(e.call.id.clone(), e.call.clone());
            }
            ServerMessage::CallEnded(e) => {
                self.calls.remove(&e.call_id).unwrap();
            }
            ServerMessage::LegJoined(e) => call_mut(&mut self.calls, &e.call_id)
                .legs
                .push(e.leg.clone()),
            ServerMessage::LegChanged(e) => {
                let call = call_mut(&mut self.calls, &e.call_id);
                call.legs
                    .iter_mut()
                    .find(|l| l.id == e.leg_id)
                    .unwrap()
                    .mode = Some(e.mode);
            }
            ServerMessage::LegLeft(e) => {
                call_mut(&mut self.calls, &e.call_id)
                    .legs
                    .retain(|l| l.id != e.leg_id);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    fn state(&self) -> FloorState {
        FloorState {
            agents: self.agents.values().cloned().collect(),
            calls: self.calls.values().cloned().collect(),
            queues: self.queues.values().cloned().collect(),
        }
    }
}

#[test]
fn the_state_is_what_was_published() {
    let mut board = Board::default();
    let mut mirror = Mirror::default();
    mirror.apply(&sync(&mut board, &floor(&[party(1, "ana")]), 0));
    for leg in ["l-1", "l-2"] {
        mirror.hear(&join(&mut board, "br-1", leg).unwrap());
    }
    mirror.hear(&board.change("br-1", "l-2", Mode::Barge, at(2)).unwrap());
    mirror.hear(
        &board
            .leave("br-1", "l-1", LegLeftReason::Disconnected, at(3))
            .unwrap(),
    );
    assert_eq!(board.state(), mirror.state());
    let held = PartyCall {
        on_hold: true,
        ..party(1, "ana")
    };
    mirror.apply(&sync(&mut board, &floor(&[held, party(2, "ben")]), 4));
    assert_eq!(board.state(), mirror.state());
    let view = View {
        queues: vec![queue(3)],
        ..floor(&[party(2, "ben")])
    };
    mirror.apply(&sync(&mut board, &view, 5));
    assert_eq!(board.state(), mirror.state());
    assert_eq!(board.state().calls.len(), 1);
}
