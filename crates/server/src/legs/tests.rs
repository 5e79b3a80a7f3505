use super::*;
use crate::fixture::{agent, call, party};
use crate::floor::FloorState;
use floorwalk_protocol::{
    CallEndReason, CallEnded, Leg, LegChanged, LegJoined, LegLeft, Role, Timestamp,
};

const DANA: usize = 0;
const JORGE: usize = 1;

fn supervisor(id: &str, teams: &[&str], can_end_calls: bool) -> Supervisor {
    Supervisor {
        id: id.into(),
        name: id.into(),
        teams: teams.iter().map(|t| (*t).to_string()).collect(),
        can_end_calls,
    }
}

struct Desk {
    dana: Supervisor,
    jorge: Supervisor,
    scope: Scope,
    legs: Legs,
}

/// Dana sees billing and may end calls; Jorge sees billing and sales.
/// c-1 is billing's, c-2 sales'.
fn desk() -> Desk {
    Desk {
        dana: supervisor("sup-1", &["billing"], true),
        jorge: supervisor("sup-2", &["billing", "sales"], false),
        scope: Scope::new(FloorState {
            agents: vec![agent("a-1", "billing"), agent("a-2", "sales")],
            calls: vec![call("c-1", "a-1", 1), call("c-2", "a-2", 3)],
            queues: Vec::new(),
        }),
        legs: Legs::default(),
    }
}

impl Desk {
    fn ask(&mut self, desk: usize, command: ClientMessage) -> Result<Decision, Refusal> {
        let supervisor = if desk == DANA {
            &self.dana
        } else {
            &self.jorge
        };
        let caller = Caller { desk, supervisor };
        let (req, decision) = self.legs.gate(caller, command, &self.scope).unwrap();
        assert_eq!(req, "r");
        decision
    }

    fn code(&mut self, desk: usize, command: ClientMessage) -> ErrorCode {
        self.ask(desk, command).unwrap_err().code
    }

    /// Asks for a join and carries it out the way a floor would.
    fn join(&mut self, desk: usize, call_id: &str, mode: Mode, track: u32) -> String {
        let decision = self.ask(desk, monitor(call_id, mode)).unwrap();
        assert!(matches!(
            decision,
            Decision::Ask(FloorCommand::Join { .. }, _)
        ));
        let supervisor = if desk == DANA {
            &self.dana
        } else {
            &self.jorge
        };
        let leg_id = format!("l-{track}");
        let joined = LegJoined {
            seq: 0,
            call_id: call_id.into(),
            leg: Leg {
                user_id: Some(supervisor.id.clone()),
                mode: Some(mode),
                ..party(&leg_id, Role::Supervisor, track)
            },
        };
        self.scope.apply(ServerMessage::LegJoined(joined)).unwrap();
        self.legs
            .joined(
                (desk, call_id, mode),
                supervisor,
                &leg_id,
                track,
                &self.scope,
            )
            .unwrap();
        leg_id
    }

    fn leg_left(&mut self, call_id: &str, leg_id: &str) {
        let left = ServerMessage::LegLeft(LegLeft {
            seq: 0,
            call_id: call_id.into(),
            leg_id: leg_id.into(),
            at: Timestamp::from_millis(1),
            reason: LegLeftReason::Disconnected,
        });
        self.scope.apply(left.clone()).unwrap();
        self.legs.follow(&left);
    }
}

fn monitor(call_id: &str, mode: Mode) -> ClientMessage {
    ClientMessage::Monitor {
        req: "r".into(),
        call_id: call_id.into(),
        mode,
        announce: false,
    }
}

fn disconnect(leg_id: &str) -> ClientMessage {
    ClientMessage::Disconnect {
        req: "r".into(),
        leg_id: leg_id.into(),
    }
}

fn set_mode(leg_id: &str, mode: Mode) -> ClientMessage {
    ClientMessage::SetMode {
        req: "r".into(),
        leg_id: leg_id.into(),
        mode,
    }
}

fn end_call(call_id: &str, confirm: &str) -> ClientMessage {
    ClientMessage::EndCall {
        req: "r".into(),
        call_id: call_id.into(),
        confirm: confirm.into(),
    }
}

#[test]
fn joins_only_in_your_teams_and_once_per_call() {
    let mut desk = desk();
    assert_eq!(
        desk.code(DANA, monitor("c-9", Mode::Silent)),
        ErrorCode::NotFound
    );
    assert_eq!(
        desk.code(DANA, monitor("c-2", Mode::Silent)),
        ErrorCode::Forbidden
    );
    let decision = desk.ask(DANA, monitor("c-1", Mode::Silent)).unwrap();
    let Decision::Ask(
        FloorCommand::Join {
            ref call_id,
            ref supervisor,
            mode: Mode::Silent,
            announce: false,
        },
        asked,
    ) = decision
    else {
        panic!("{decision:?}");
    };
    assert!(call_id == "c-1" && supervisor.id == "sup-1");
    // Still joining, then joined: either way a second join is a conflict.
    assert_eq!(
        desk.code(DANA, monitor("c-1", Mode::Barge)),
        ErrorCode::Conflict
    );
    desk.legs.abandon(&asked);
    let mine = desk.join(DANA, "c-1", Mode::Silent, 100);
    assert_eq!(
        desk.code(DANA, monitor("c-1", Mode::Barge)),
        ErrorCode::Conflict
    );
    // Someone else may join the same call.
    desk.join(JORGE, "c-1", Mode::Silent, 101);
    assert_eq!(
        desk.legs.by_track(100).map(|(id, _)| id),
        Some(mine.as_str())
    );
}

#[test]
fn a_join_is_the_callers_only_if_the_floor_added_it_as_asked() {
    let mut desk = desk();
    desk.ask(DANA, monitor("c-1", Mode::Silent)).unwrap();
    let dana = desk.dana.clone();
    // The floor names a leg it never added, a party's leg, or another's.
    for (leg_id, track) in [("l-404", 404), ("l-1", 1), ("l-2", 2)] {
        let refused = desk
            .legs
            .joined(
                (DANA, "c-1", Mode::Silent),
                &dana,
                leg_id,
                track,
                &desk.scope,
            )
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::Unavailable, "{leg_id}");
    }
    assert!(desk.legs.by_track(1).is_none());
    assert_eq!(desk.code(DANA, disconnect("l-1")), ErrorCode::NotYourLeg);
}

#[test]
fn disconnect_touches_only_your_own_leg() {
    let mut desk = desk();
    let mine = desk.join(DANA, "c-1", Mode::Whisper, 100);
    let his = desk.join(JORGE, "c-1", Mode::Silent, 101);
    // The customer, the agent and Jorge's leg are not Dana's to drop.
    for other in ["l-1", "l-2", his.as_str()] {
        assert_eq!(
            desk.code(DANA, disconnect(other)),
            ErrorCode::NotYourLeg,
            "{other}"
        );
        assert_eq!(
            desk.code(DANA, set_mode(other, Mode::Barge)),
            ErrorCode::NotYourLeg
        );
    }
    assert_eq!(desk.code(DANA, disconnect("l-nope")), ErrorCode::NotFound);
    // Her own: a Leave of that leg and nothing else, and her voice stops now.
    assert!(desk.legs.by_track(100).unwrap().1.transmits());
    let asked = desk.ask(DANA, disconnect(&mine)).unwrap();
    assert_eq!(
        asked,
        Decision::Ask(
            FloorCommand::Leave {
                call_id: "c-1".into(),
                leg_id: mine.clone(),
                reason: LegLeftReason::Disconnected,
            },
            Asked::Leave {
                leg_id: mine.clone()
            }
        )
    );
    assert!(!desk.legs.by_track(100).unwrap().1.transmits());
    desk.leg_left("c-1", &mine);
    // Gone: answered at once for her, still not Jorge's to touch.
    assert_eq!(
        desk.ask(DANA, disconnect(&mine)).unwrap(),
        Decision::Answer(left_result(true))
    );
    assert_eq!(desk.code(JORGE, disconnect(&mine)), ErrorCode::NotYourLeg);
    assert_eq!(
        desk.code(DANA, set_mode(&mine, Mode::Barge)),
        ErrorCode::NotFound
    );
}

#[test]
fn the_voice_follows_the_mode_asked_for_not_the_floors_word() {
    let mut desk = desk();
    let mine = desk.join(DANA, "c-1", Mode::Silent, 100);
    assert!(!desk.legs.by_track(100).unwrap().1.transmits());
    // A floor that flips the leg to barge on its own opens nothing.
    let flipped = ServerMessage::LegChanged(LegChanged {
        seq: 0,
        call_id: "c-1".into(),
        leg_id: mine.clone(),
        mode: Mode::Barge,
        at: Timestamp::from_millis(1),
    });
    desk.scope.apply(flipped.clone()).unwrap();
    desk.legs.follow(&flipped);
    assert!(!desk.legs.by_track(100).unwrap().1.transmits());
    // Asked and confirmed, it opens.
    assert!(matches!(
        desk.ask(DANA, set_mode(&mine, Mode::Whisper)).unwrap(),
        Decision::Ask(
            FloorCommand::SetMode {
                mode: Mode::Whisper,
                ..
            },
            _
        )
    ));
    desk.legs.mode_set(&mine, Mode::Whisper);
    assert!(desk.legs.by_track(100).unwrap().1.transmits());
    // The same mode again needs no floor.
    assert_eq!(
        desk.ask(DANA, set_mode(&mine, Mode::Whisper)).unwrap(),
        Decision::Answer(mode_result(&mine, Mode::Whisper))
    );
}

#[test]
fn end_call_needs_the_team_the_permission_and_the_call_id() {
    let mut desk = desk();
    assert_eq!(
        desk.code(JORGE, end_call("c-1", "c-1")),
        ErrorCode::Forbidden
    );
    assert_eq!(
        desk.code(DANA, end_call("c-2", "c-2")),
        ErrorCode::Forbidden
    );
    assert_eq!(
        desk.code(DANA, end_call("c-1", "c-2")),
        ErrorCode::BadConfirmation
    );
    assert_eq!(
        desk.code(DANA, end_call("c-1", "")),
        ErrorCode::BadConfirmation
    );
    assert_eq!(desk.code(DANA, end_call("c-9", "c-9")), ErrorCode::NotFound);
    assert!(matches!(
        desk.ask(DANA, end_call("c-1", "c-1")).unwrap(),
        Decision::Ask(FloorCommand::EndCall { ref call_id }, _) if call_id == "c-1"
    ));
}

#[test]
fn an_ended_call_takes_its_console_legs_with_it() {
    let mut desk = desk();
    let mine = desk.join(DANA, "c-1", Mode::Barge, 100);
    assert_eq!(desk.legs.held_by(DANA), [(mine.clone(), "c-1".to_string())]);
    let ended = ServerMessage::CallEnded(CallEnded {
        seq: 0,
        call_id: "c-1".into(),
        at: Timestamp::from_millis(2),
        reason: CallEndReason::CustomerHangup,
    });
    desk.legs.follow(&ended);
    desk.scope.apply(ended).unwrap();
    assert!(desk.legs.held_by(DANA).is_empty());
    assert!(desk.legs.by_track(100).is_none());
    assert_eq!(desk.legs.on_call("c-1").count(), 0);
    assert_eq!(
        desk.ask(DANA, disconnect(&mine)).unwrap(),
        Decision::Answer(left_result(true))
    );
}
