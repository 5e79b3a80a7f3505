use super::*;
use crate::app::ledger::{Ledger, Op, Outstanding};

fn enter(ledger: &mut Ledger, op: Op, call_id: &str) -> String {
    ledger.open(Outstanding::new(op, call_id, "a-01", "Alex Kim", NOW))
}

fn disconnect(leg_id: &str) -> Op {
    Op::Disconnect {
        leg_id: leg_id.into(),
        mode: Mode::Whisper,
    }
}

#[test]
fn requests_are_numbered_once_and_closed_once() {
    let mut ledger = Ledger::default();
    let join = enter(
        &mut ledger,
        Op::Join {
            mode: Mode::Barge,
            rejoin: None,
        },
        "c-9",
    );
    let end = enter(&mut ledger, Op::EndCall, "c-10");
    assert_eq!((join.as_str(), end.as_str()), ("r-1", "r-2"));
    assert_eq!(ledger.get("r-2").map(|e| e.call_id.as_str()), Some("c-10"));
    assert!(ledger.close("r-2").is_some());
    assert!(ledger.close("r-2").is_none());
    assert_eq!(enter(&mut ledger, Op::EndCall, "c-10"), "r-3");
}

#[test]
fn each_state_event_finds_the_command_it_confirms() {
    let mut ledger = Ledger::default();
    let join = enter(
        &mut ledger,
        Op::Join {
            mode: Mode::Barge,
            rejoin: None,
        },
        "c-9",
    );
    let switch = Op::SetMode {
        leg_id: "l-40".into(),
        mode: Mode::Silent,
    };
    let switch = enter(&mut ledger, switch, "c-10");
    let leave = enter(&mut ledger, disconnect("l-41"), "c-11");
    assert_eq!(ledger.joining("c-9"), Some(Mode::Barge));
    assert_eq!(ledger.joining("c-10"), None);
    assert_eq!(ledger.any_join().map(|e| e.call_id.as_str()), Some("c-9"));
    assert_eq!(ledger.join_on("c-9"), Some(join));
    assert_eq!(ledger.join_on("c-10"), None);
    assert_eq!(ledger.switch_of("l-40", Mode::Silent), Some(switch));
    assert_eq!(ledger.switch_of("l-40", Mode::Barge), None, "another mode");
    assert_eq!(ledger.disconnect_of("l-41"), Some(leave));
    assert_eq!(ledger.disconnect_of("l-40"), None);
    // A leg that is gone drops its switches, and only those.
    ledger.drop_switches_of("l-40");
    assert_eq!(ledger.switch_of("l-40", Mode::Silent), None);
    assert!(ledger.disconnect_of("l-41").is_some());
}

#[test]
fn the_latency_is_the_replys_when_it_came_first_else_from_the_key() {
    let mut ledger = Ledger::default();
    let req = enter(
        &mut ledger,
        Op::Join {
            mode: Mode::Silent,
            rejoin: None,
        },
        "c-9",
    );
    let entry = ledger.get(&req).unwrap();
    assert_eq!(entry.latency_at(NOW.plus_millis(40)), 40);
    assert_eq!(entry.latency_at(NOW.plus_millis(-5)), 0, "a clock set back");
    let answered = ledger.answered(&req, 25).unwrap();
    assert_eq!(answered.latency_at(NOW.plus_millis(40)), 25);
    assert!(ledger.answered("r-9", 25).is_none());
}

#[test]
fn a_leave_is_awaited_until_answered_and_unrecorded_until_closed() {
    let mut ledger = Ledger::default();
    assert!(!ledger.awaiting_leave() && !ledger.leave_unrecorded());
    let req = enter(&mut ledger, disconnect("l-31"), "c-9");
    assert!(ledger.awaiting_leave() && ledger.leave_unrecorded());
    ledger.answered(&req, 10);
    assert!(!ledger.awaiting_leave(), "the server confirmed");
    assert!(ledger.leave_unrecorded(), "its leg_left is still to come");
    ledger.close(&req);
    assert!(!ledger.leave_unrecorded());
}

#[test]
fn joins_in_flight_can_be_left_on_arrival_or_failed_when_their_call_is_gone() {
    let mut ledger = Ledger::default();
    assert!(!ledger.leave_joins_on_arrival(), "no join to leave");
    enter(&mut ledger, Op::EndCall, "c-10");
    let join = enter(
        &mut ledger,
        Op::Join {
            mode: Mode::Silent,
            rejoin: None,
        },
        "c-9",
    );
    enter(
        &mut ledger,
        Op::Join {
            mode: Mode::Silent,
            rejoin: None,
        },
        "c-11",
    );
    assert!(!ledger.awaiting_leave());
    assert!(ledger.leave_joins_on_arrival());
    assert!(ledger.get(&join).unwrap().then_leave);
    assert!(ledger.awaiting_leave() && ledger.leave_unrecorded());
    let failed = ledger.close_joins_on(|call_id| call_id != "c-11");
    assert_eq!(failed.len(), 1, "the end call is no join: {failed:?}");
    assert_eq!(failed[0].call_id, "c-9");
    assert_eq!(ledger.joining("c-9"), None);
    assert_eq!(ledger.joining("c-11"), Some(Mode::Silent));
}
