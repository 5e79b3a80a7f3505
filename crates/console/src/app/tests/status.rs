use super::*;

#[test]
fn a_reconnect_countdown_and_an_audit_failure_show() {
    let (mut app, _) = live_app(false);
    app.update(connecting(3, Duration::from_millis(2000), "refused"), NOW);
    app.mark_drawn(NOW);
    assert!(
        app.needs_redraw(NOW.plus_millis(150)),
        "the countdown moves"
    );
    assert_notice(&app, "Connection lost: refused");

    let (mut app, _) = live_app(false);
    app.update(Input::AuditFailed("disk full".into()), NOW);
    assert_eq!(app.audit_failure(), Some("disk full"));
    assert_eq!(app.notice(NOW).unwrap().severity, Severity::Error);
    select(&mut app, "a-01");
    // A join still tries the journal first: the executor sends the command
    // only once its record is on disk, and refuses it otherwise.
    let effects = press(&mut app, [key('m')]);
    assert_eq!(kinds(&effects), [RecordKind::JoinRequested]);
    assert!(
        matches!(effects.first(), Some(Effect::Audit { .. })),
        "{effects:?}"
    );
    assert_eq!(sends(&effects).len(), 1);

    // The disk has room again: a record was written.
    app.update(Input::AuditRecovered, NOW);
    assert_eq!(app.audit_failure(), None);
    assert_eq!(
        notice_text(&app),
        "The audit journal is writing again: joining is allowed."
    );
}

#[test]
fn round_trips_are_shown_in_steps_that_ignore_jitter() {
    use std::time::Duration;
    let shown = |ms| rtt_shown(Duration::from_millis(ms));
    assert_eq!((shown(0), shown(7), shown(9)), (0, 7, 9));
    assert_eq!((shown(12), shown(14), shown(15)), (10, 10, 15));
    assert_eq!((shown(499), shown(512), shown(549)), (495, 500, 500));
}
