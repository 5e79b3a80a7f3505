use super::*;

#[test]
fn the_filter_matches_name_team_queue_and_state() {
    let (mut app, _) = live_app(false);
    let mut filter = |text: &str| -> Vec<String> {
        let mut inputs = vec![key('/')];
        inputs.extend(text.chars().map(key));
        inputs.push(code(KeyCode::Enter));
        press(&mut app, inputs);
        let rows = app.rows().to_vec();
        press(&mut app, [code(KeyCode::Esc)]);
        assert!(app.filter().is_empty());
        rows
    };
    assert_eq!(filter("PRIYA"), ["a-02"]);
    assert_eq!(filter("wrap"), ["a-05"]);
    assert_eq!(filter("available"), ["a-09", "a-11", "a-03"]);
    assert_eq!(filter("on_call").len(), 6);
    assert_eq!(filter("retention").len(), 6);
    assert!(filter("zzz").is_empty());
    // Typing in the filter never triggers actions.
    let effects = press(&mut app, [key('/'), key('d'), key('q'), key('E')]);
    assert!(effects.is_empty());
    assert_eq!(app.filter(), "dqE");
    assert_eq!(app.dialog(), None);
    // Esc clears it.
    press(&mut app, [code(KeyCode::Esc)]);
    assert_eq!(app.rows().len(), 12);
}

#[test]
fn sort_cycles_and_the_selection_stays_on_its_agent() {
    let (mut app, _) = live_app(false);
    assert_eq!(app.rows()[0], "a-01", "by agent name first (Alex Kim)");
    select(&mut app, "a-05");
    let index_by_name = app.selected_index();
    press(&mut app, [key('s')]);
    assert_eq!(app.sort(), SortKey::Team);
    press(&mut app, [key('s')]);
    assert_eq!(app.sort(), SortKey::State);
    assert_eq!(app.selected_agent(), Some("a-05"));
    assert_ne!(app.selected_index(), index_by_name);
    assert_eq!(app.rows()[app.selected_index().unwrap()], "a-05");
    press(&mut app, [key('s')]);
    assert_eq!(app.sort(), SortKey::LongestCall);
    assert_eq!(&app.rows()[..3], ["a-10", "a-04", "a-01"]);
    press(&mut app, [key('s')]);
    assert_eq!(app.sort(), SortKey::Queue);
    press(&mut app, [key('s')]);
    assert_eq!(app.sort(), SortKey::Agent);
    assert_eq!(app.selected_agent(), Some("a-05"));
}

#[test]
fn events_keep_the_cached_order_equal_to_a_full_rebuild() {
    let (mut app, _) = live_app(false);
    press(&mut app, [key('s'), key('s')]); // by state
    select(&mut app, "a-09");
    // Agents change state, calls start and end: the order is kept up to
    // date one row at a time.
    let states = [
        AgentState::Away,
        AgentState::OnCall,
        AgentState::Available,
        AgentState::WrapUp,
    ];
    for round in 0..24usize {
        let id = format!("a-{:02}", round % 12 + 1);
        let mut agent = app.floor().agents[&id].clone();
        agent.state = states[round % states.len()];
        agent.name = format!("{} {round}", agent.name.split(' ').next().unwrap());
        let seq = next_seq(&app);
        message(&mut app, ServerMessage::Agent(AgentEvent { seq, agent }));
    }
    call_ended(&mut app, "c-13", NOW, CallEndReason::AgentHangup);
    let incremental = app.rows().to_vec();
    let mut fresh = View::new();
    fresh.set_sort(app.floor(), SortKey::State);
    assert_eq!(incremental, fresh.ids());
    for sort in [
        SortKey::LongestCall,
        SortKey::Queue,
        SortKey::Agent,
        SortKey::Team,
    ] {
        press(&mut app, [key('s')]);
        let mut fresh = View::new();
        fresh.set_sort(app.floor(), sort);
        assert_eq!(app.rows(), fresh.ids(), "{sort:?}");
    }
    assert_eq!(app.selected_agent(), Some("a-09"));
}

#[test]
fn next_and_previous_jump_between_active_calls() {
    let (mut app, _) = live_app(false);
    // By name: Alex(c) Chris Ines(c) Lena Maria(c) Omar(c) Priya(c) Ravi Sam Tom Yuki Zoe(c)
    select(&mut app, "a-09");
    press(&mut app, [key('n')]);
    assert_eq!(app.selected_agent(), Some("a-10"));
    press(&mut app, [key('n')]);
    assert_eq!(app.selected_agent(), Some("a-04"));
    press(&mut app, [key('p'), key('p')]);
    assert_eq!(app.selected_agent(), Some("a-01"));
    press(&mut app, [key('p')]);
    assert_eq!(app.selected_agent(), Some("a-12"), "wraps around");
}

#[test]
fn navigation_keys_and_the_mouse_move_the_selection() {
    let (mut app, _) = live_app(false);
    assert_eq!(app.selected_index(), Some(0));
    press(&mut app, [code(KeyCode::PageDown)]);
    assert_eq!(app.selected_index(), Some(9));
    assert_eq!(app.scroll(), 1);
    press(&mut app, [key('G')]);
    assert_eq!(app.selected_index(), Some(11));
    press(&mut app, [code(KeyCode::Home)]);
    assert_eq!(app.selected_index(), Some(0));
    press(&mut app, [code(KeyCode::Down), key('j'), key('k')]);
    assert_eq!(app.selected_index(), Some(1));
    let mouse = |kind, column, row| {
        Input::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    // Row 4 is the first agent row at 80x24 (header, queues, border, titles).
    press(
        &mut app,
        [mouse(MouseEventKind::Down(MouseButton::Left), 10, 7)],
    );
    assert_eq!(app.selected_index(), Some(3));
    press(&mut app, [mouse(MouseEventKind::ScrollDown, 10, 7)]);
    assert_eq!(app.scroll(), 3);
    assert_eq!(app.selected_index(), Some(3));
    press(
        &mut app,
        [mouse(MouseEventKind::Down(MouseButton::Left), 10, 0)],
    );
    assert_eq!(
        app.selected_index(),
        Some(3),
        "a click outside the table selects nothing"
    );
}
