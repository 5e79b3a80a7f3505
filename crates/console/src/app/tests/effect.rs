use super::*;

/// Each record with whether the next frame waits for it.
fn frame_holds(effects: &[Effect]) -> Vec<(RecordKind, bool)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Audit { record, hold_frame } => Some((record.kind, *hold_frame)),
            Effect::Send { .. } | Effect::ReadJournal => None,
        })
        .collect()
}

/// What becomes of each message if a record before it could not be written.
fn if_unrecorded(effects: &[Effect]) -> Vec<Unrecorded> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { unrecorded, .. } => Some(*unrecorded),
            Effect::Audit { .. } | Effect::ReadJournal => None,
        })
        .collect()
}

#[test]
fn frames_wait_for_the_records_of_my_own_doing_not_for_calls_seen() {
    let (mut app, effects) = live_app(true);
    let mut expected = vec![(RecordKind::CallSeen, false); 6];
    expected.push((RecordKind::Joined, true));
    assert_eq!(frame_holds(&effects), expected);
    let ended = call_ended(&mut app, "c-9", ago(1), CallEndReason::AgentHangup);
    assert_eq!(
        frame_holds(&ended),
        [(RecordKind::CallEnded, false), (RecordKind::Left, true)]
    );
    select(&mut app, "a-02");
    let join = press(&mut app, [key('m')]);
    assert_eq!(frame_holds(&join), [(RecordKind::JoinRequested, true)]);
    let failed = reply(&mut app, "r-1", refused(ErrorCode::Forbidden), 5);
    assert_eq!(frame_holds(&failed), [(RecordKind::JoinFailed, true)]);
}

#[test]
fn only_leaving_goes_out_when_the_journal_cannot_record_it() {
    use Unrecorded::{Refuse, SendAnyway};
    let mut app = live_with(true, "a-01");
    assert_eq!(if_unrecorded(&press(&mut app, [key('b')])), [Refuse]);
    assert_eq!(if_unrecorded(&press(&mut app, [key('d')])), [SendAnyway]);
    let (mut app, _) = live_app(true);
    assert_eq!(if_unrecorded(&press(&mut app, [ctrl_c()])), [SendAnyway]);

    let mut app = live_with(false, "a-01");
    assert_eq!(if_unrecorded(&press(&mut app, [key('w')])), [Refuse]);
    press(&mut app, [key('d')]);
    let arrived = leg_joined(&mut app, "c-9", fixture::my_leg());
    assert_eq!(if_unrecorded(&arrived), [SendAnyway], "left on arrival");
    select(&mut app, "a-02");
    let end = press(&mut app, [key('E'), key('y')]);
    assert_eq!(if_unrecorded(&end), [Refuse]);
}
