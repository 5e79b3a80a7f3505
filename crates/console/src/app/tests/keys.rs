use super::*;

#[test]
fn end_call_then_disconnect_twice_never_ends_the_call() {
    let mut app = live_with(true, "a-01");
    let mut all = press(&mut app, [key('E')]);
    assert!(matches!(
        app.dialog(),
        Some(Dialog::EndCall {
            focus: Button::Cancel,
            ..
        })
    ));
    all.extend(press(&mut app, [key('d')]));
    assert_eq!(app.dialog(), None, "disconnect cancels the dialog");
    assert!(all.is_empty(), "and does nothing else: {all:?}");
    all.extend(press(&mut app, [key('d'), key('d')]));
    assert!(!all.iter().any(is_end_call), "{all:?}");
    assert_eq!(sends(&all).len(), 1, "one disconnect");

    // Even with the focus moved to END CALL, disconnect cancels.
    let mut app = live_with(true, "a-01");
    let effects = press(&mut app, [key('E'), code(KeyCode::Tab), key('d'), key('d')]);
    assert!(!effects.iter().any(is_end_call), "{effects:?}");
}

#[test]
fn end_call_needs_a_deliberate_confirmation() {
    let mut app = live_with(false, "a-02");
    // Enter on the default focus cancels; E again does nothing.
    let effects = press(&mut app, [key('E'), key('E'), code(KeyCode::Enter)]);
    assert!(effects.is_empty());
    assert_eq!(app.dialog(), None);
    // A held key repeating cannot confirm.
    press(&mut app, [key('E')]);
    let mut held = KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE);
    held.kind = crossterm::event::KeyEventKind::Repeat;
    assert!(press(&mut app, [Input::Key(held, Duration::ZERO)]).is_empty());
    // Tab to END CALL, then Enter.
    let effects = press(&mut app, [code(KeyCode::Tab), code(KeyCode::Enter)]);
    assert_eq!(kinds(&effects), [RecordKind::EndCallRequested]);
    assert_eq!(
        effects[1],
        Effect::Send {
            message: ClientMessage::EndCall {
                req: "r-1".into(),
                call_id: "c-10".into(),
                confirm: "c-10".into()
            },
            unrecorded: Unrecorded::Refuse,
        }
    );
    // A refusal is audited and explained.
    let effects = reply(&mut app, "r-1", refused(ErrorCode::BadConfirmation), 10);
    assert_eq!(kinds(&effects), [RecordKind::EndCallFailed]);
    assert_notice(&app, "nothing was ended");
    // Typing y also confirms.
    let effects = press(&mut app, [key('E'), key('y')]);
    assert!(effects.iter().any(is_end_call));
}

#[test]
fn end_call_is_refused_without_permission_and_offers_no_dialog() {
    let supervisor = Supervisor {
        can_end_calls: false,
        ..fixture::me()
    };
    let (mut app, _) = fixture::connect(fixture::settings(), supervisor, false, (80, 24));
    select(&mut app, "a-01");
    assert!(press(&mut app, [key('E'), key('y'), code(KeyCode::Enter)]).is_empty());
    assert_eq!(app.dialog(), None);
    assert_notice(&app, "not allowed to end calls");
}

#[test]
fn the_end_call_dialog_names_the_call() {
    let mut app = live_with(false, "a-01");
    press(&mut app, [key('E')]);
    let Some(Dialog::EndCall {
        call_id,
        agent_name,
        customer,
        ..
    }) = app.dialog()
    else {
        panic!("no dialog")
    };
    assert_eq!((call_id.as_str(), agent_name.as_str()), ("c-9", "Alex Kim"));
    assert_eq!(customer, "+1 555 201 0134");
    // The call ends meanwhile: the dialog closes and says so.
    call_ended(&mut app, "c-9", NOW, CallEndReason::CustomerHangup);
    assert_eq!(app.dialog(), None);
    assert_notice(&app, "already ended");
    assert!(press(&mut app, [key('y')]).is_empty());
}

#[test]
fn quit_asks_first_when_on_a_call_and_leaves_before_quitting() {
    let (mut app, _) = live_app(false);
    assert!(press(&mut app, [key('q')]).is_empty());
    assert!(app.quitting(), "nothing to leave: quits at once");

    let (mut app, _) = live_app(true);
    assert!(press(&mut app, [key('q')]).is_empty());
    assert!(matches!(app.dialog(), Some(Dialog::Quit { calls, .. }) if calls == &["c-9"]));
    assert!(press(&mut app, [code(KeyCode::Esc)]).is_empty());
    assert!(!app.quitting());
    let effects = press(&mut app, [key('q'), key('y')]);
    assert_eq!(kinds(&effects), [RecordKind::DisconnectRequested]);
    assert!(
        matches!(&effects[1], Effect::Send { message: ClientMessage::Disconnect { leg_id, .. }, .. } if leg_id == "l-31")
    );
    assert_eq!(effects.len(), 2);
    assert!(app.quitting() && app.awaiting_leave());
}

#[test]
fn ctrl_c_quits_like_a_confirmed_quit() {
    let (mut app, _) = live_app(true);
    let effects = press(&mut app, [ctrl_c()]);
    assert_eq!(kinds(&effects), [RecordKind::DisconnectRequested]);
    assert_eq!(sends(&effects).len(), 1);
    assert!(app.quitting());
    // Even from inside a dialog.
    let (mut app, _) = live_app(false);
    assert!(press(&mut app, [key('?'), ctrl_c()]).is_empty());
    assert!(app.quitting());
    assert_eq!(app.dialog(), None);
}

#[test]
fn the_end_call_key_pressed_twice_never_confirms_whatever_it_is() {
    for keys in [["y"], ["enter"]] {
        let overrides = [("end_call".to_string(), keys.map(String::from).to_vec())];
        let settings = AppSettings {
            keymap: KeyMap::with_overrides(&overrides.into_iter().collect()).unwrap(),
            ..fixture::settings()
        };
        let (mut app, _) = fixture::connect(settings, fixture::me(), true, (80, 24));
        select(&mut app, "a-01");
        let twice = match keys[0] {
            "y" => [key('y'), key('y')],
            _ => [code(KeyCode::Enter), code(KeyCode::Enter)],
        };
        let effects = press(&mut app, twice);
        assert!(effects.is_empty(), "{keys:?}: {effects:?}");
        assert!(
            matches!(app.dialog(), Some(Dialog::EndCall { .. })),
            "{keys:?}"
        );
    }
}
