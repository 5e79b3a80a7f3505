use super::*;
use crate::audit::LegEnd;
use fixture::journal;

fn open_with(app: &mut App, records: Vec<Record>) {
    assert_eq!(press(app, [key('a')]), [Effect::ReadJournal]);
    assert_eq!(
        app.audit_pane().map(AuditPane::content),
        Some(&AuditContent::Loading)
    );
    app.update(Input::JournalRead(Ok(records)), NOW);
}

#[test]
fn a_opens_my_day_from_the_journal_and_esc_closes_it() {
    let (mut app, _) = live_app(false);
    open_with(&mut app, journal());
    let pane = app.audit_pane().unwrap();
    let AuditContent::Ready { legs, .. } = pane.content() else {
        panic!("{pane:?}");
    };
    assert_eq!(legs.len(), 2, "mine only: {legs:?}");
    assert_eq!(legs[0].end, LegEnd::Confirmed);
    assert_eq!(legs[1].end, LegEnd::Open);
    assert_eq!(pane.selected(), Some(1), "the newest first");
    assert_eq!(pane.call_history().len(), 1, "c-13's one record");

    // Up selects the leg on c-9, and its call's whole history.
    press(&mut app, [key('k')]);
    let pane = app.audit_pane().unwrap();
    assert_eq!(pane.selected_leg().unwrap().call_id, "c-9");
    assert_eq!(pane.call_history().len(), 6);
    // Keys for the table do nothing behind it; a mode key neither.
    assert!(press(&mut app, [key('j'), key('m'), key('s')]).is_empty());
    assert_eq!(app.sort(), SortKey::Agent);
    press(&mut app, [code(KeyCode::Esc)]);
    assert!(app.audit_pane().is_none());
    // `a` again opens and closes it.
    press(&mut app, [key('a'), key('a')]);
    assert!(app.audit_pane().is_none());
}

#[test]
fn it_reads_again_when_my_legs_change_and_leaving_still_works() {
    let (mut app, _) = live_app(true);
    open_with(&mut app, Vec::new());
    assert!(matches!(
        app.audit_pane().unwrap().content(),
        AuditContent::Ready { legs, .. } if legs.is_empty()
    ));
    // d leaves through the pane: the record, the command, then a new read
    // (the executor does it after the record is on disk).
    let effects = press(&mut app, [key('d')]);
    assert_eq!(kinds(&effects), [RecordKind::DisconnectRequested]);
    assert_eq!(effects.last(), Some(&Effect::ReadJournal));
    assert!(app.audit_pane().is_some());
    // Floor news that is not mine does not read again.
    let effects = tick_at(&mut app);
    assert!(!effects.contains(&Effect::ReadJournal));
}

#[test]
fn a_journal_that_cannot_be_read_says_why() {
    let (mut app, _) = live_app(false);
    press(&mut app, [key('a')]);
    app.update(Input::JournalRead(Err("permission denied".into())), NOW);
    assert_eq!(
        app.audit_pane().unwrap().content(),
        &AuditContent::Failed("permission denied".into())
    );
}

fn tick_at(app: &mut App) -> Vec<Effect> {
    app.update(Input::Tick, NOW)
}
