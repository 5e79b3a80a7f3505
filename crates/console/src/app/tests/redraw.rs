use super::*;

#[test]
fn redraws_only_when_something_visible_changes() {
    let (mut app, _) = live_app(false);
    assert!(app.needs_redraw(NOW));
    app.mark_drawn(NOW);
    assert!(!app.needs_redraw(NOW));
    assert!(
        !app.needs_redraw(NOW.plus_millis(700)),
        "the second has not turned"
    );
    assert!(app.needs_redraw(NOW.plus_millis(800)), "call timers tick");
    app.update(Input::Tick, NOW.plus_millis(800));
    app.mark_drawn(NOW.plus_millis(800));
    assert!(!app.needs_redraw(NOW.plus_millis(900)));

    // An idle floor without calls needs no frames at all.
    let mut idle = App::new(fixture::settings());
    let mut empty = fixture::snapshot(false);
    empty.calls.clear();
    for agent in &mut empty.agents {
        agent.call_id = None;
    }
    for input in [
        Input::Feed(FeedEvent::Connected {
            hello: fixture::hello(fixture::me()),
            resumed: false,
        }),
        Input::Feed(FeedEvent::Message(ServerMessage::Snapshot(empty))),
    ] {
        idle.update(input, NOW);
    }
    idle.mark_drawn(NOW.plus_millis(60_000));
    assert!(!idle.needs_redraw(NOW.plus_millis(3_600_000)));
    idle.update(key('j'), NOW);
    assert!(idle.needs_redraw(NOW));
}

#[test]
fn the_wide_table_redraws_when_an_agents_minutes_in_state_turn() {
    let mut idle = fixture::snapshot(false);
    idle.calls.clear();
    let mut app = App::new(fixture::settings());
    for input in [
        Input::Resize(200, 50),
        Input::Feed(FeedEvent::Connected {
            hello: fixture::hello(fixture::me()),
            resumed: false,
        }),
        Input::Feed(FeedEvent::Message(ServerMessage::Snapshot(idle))),
    ] {
        app.update(input, NOW);
    }
    app.mark_drawn(NOW);
    // Ages turn over on whole seconds of the server clock; NOW is .250 into
    // a second. The agents whose state began a whole number of minutes ago
    // turn at the next whole second...
    assert!(!app.needs_redraw(NOW.plus_millis(749)));
    assert!(app.needs_redraw(NOW.plus_millis(750)));
    app.mark_drawn(NOW.plus_millis(750));
    // ...and Ravi Patel, available for 42 s, turns 1m on the second after 18 s.
    assert!(!app.needs_redraw(NOW.plus_millis(18_749)));
    assert!(app.needs_redraw(NOW.plus_millis(18_750)));
    // At 80 columns there is no age column, so nothing to redraw.
    app.update(Input::Resize(80, 24), NOW);
    app.mark_drawn(NOW);
    assert!(!app.needs_redraw(NOW.plus_millis(600_000)));
}

#[test]
fn ages_turn_over_with_what_is_shown_and_on_whole_seconds() {
    let since = Timestamp(1_000_000_000_000);
    let at = |ms: i64| age_minutes(since.plus_millis(ms), since);
    // Whole minutes below ten hours, on the second boundary of the clock.
    assert_eq!(at(59_999), 0);
    assert_eq!(at(60_000), 1);
    assert_eq!(at(9 * 3_600_000 + 59 * 60_000), 599);
    // From ten hours on only the hour shows, so only the hour counts.
    let eleven = 11 * 3_600_000;
    assert_eq!(at(eleven), 660);
    assert_eq!(at(eleven + 59 * 60_000), 660, "no change within the hour");
    assert_eq!(at(eleven + 60 * 60_000), 720);
    // An agent whose state began mid-second turns over on the next whole second.
    let odd = Timestamp(1_000_000_000_400);
    assert_eq!(age_minutes(odd.plus_millis(60_000), odd), 0);
    assert_eq!(age_minutes(odd.plus_millis(60_600), odd), 1);
}
