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
fn the_contact_center_going_away_and_back_is_told_and_a_reconnect_asks_again() {
    const WHY: &str = "Asterisk at 127.0.0.1:8088 is not answering";
    let status = |status, reason: Option<&str>| {
        ServerMessage::FloorStatus(FloorStatus {
            status,
            reason: reason.map(str::to_owned),
            since: ago(5),
        })
    };
    let (mut app, _) = live_app(false);
    assert_eq!(app.floor_down(), None);
    message(&mut app, status(Reachability::Down, Some(WHY)));
    assert_eq!(app.floor_down(), Some(WHY));
    assert_eq!(app.notice(NOW).unwrap().severity, Severity::Warn);
    assert_notice(
        &app,
        "The contact center is unreachable: only leaving works",
    );
    // Commands still go out: the server answers them with its reason.
    select(&mut app, "a-01");
    assert_eq!(sends(&press(&mut app, [key('m')])).len(), 1);
    // Told once.
    app.update(code(KeyCode::Esc), NOW);
    message(&mut app, status(Reachability::Down, Some(WHY)));
    assert_eq!(app.notice(NOW), None);

    message(&mut app, status(Reachability::Up, None));
    assert_eq!(app.floor_down(), None);
    assert_eq!(notice_text(&app), "The contact center is reachable again.");

    // Down, then the server itself is lost: stale news is not shown, and a
    // new connection starts without it (the server says so again if need be).
    message(&mut app, status(Reachability::Down, Some(WHY)));
    app.update(connecting(2, Duration::from_secs(1), "reset"), NOW);
    assert_eq!(app.floor_down(), None);
    app.update(
        Input::Feed(FeedEvent::Connected {
            hello: fixture::hello(fixture::me()),
            resumed: true,
        }),
        NOW,
    );
    assert_eq!(app.floor_down(), None);
}

#[test]
fn round_trips_are_shown_in_steps_that_ignore_jitter() {
    use std::time::Duration;
    let shown = |ms| rtt_shown(Duration::from_millis(ms));
    assert_eq!((shown(0), shown(7), shown(9)), (0, 7, 9));
    assert_eq!((shown(12), shown(14), shown(15)), (10, 10, 15));
    assert_eq!((shown(499), shown(512), shown(549)), (495, 500, 500));
}
