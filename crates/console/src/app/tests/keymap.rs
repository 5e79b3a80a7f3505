use super::*;

fn overrides(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(a, ks)| (a.to_string(), ks.iter().map(|k| k.to_string()).collect()))
        .collect()
}

fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

#[test]
fn parses_key_names() {
    let cases: &[(&str, KeyCode, KeyModifiers)] = &[
        ("d", KeyCode::Char('d'), KeyModifiers::NONE),
        ("E", KeyCode::Char('E'), KeyModifiers::NONE),
        ("space", KeyCode::Char(' '), KeyModifiers::NONE),
        ("Enter", KeyCode::Enter, KeyModifiers::NONE),
        ("esc", KeyCode::Esc, KeyModifiers::NONE),
        ("tab", KeyCode::Tab, KeyModifiers::NONE),
        ("up", KeyCode::Up, KeyModifiers::NONE),
        ("pgdn", KeyCode::PageDown, KeyModifiers::NONE),
        ("f2", KeyCode::F(2), KeyModifiers::NONE),
        ("ctrl-c", KeyCode::Char('c'), KeyModifiers::CONTROL),
        ("alt-x", KeyCode::Char('x'), KeyModifiers::ALT),
        ("-", KeyCode::Char('-'), KeyModifiers::NONE),
        ("ctrl--", KeyCode::Char('-'), KeyModifiers::CONTROL),
    ];
    for (name, code, mods) in cases {
        assert_eq!(Key::parse(name), Ok(Key::new(*code, *mods)), "{name}");
    }
    assert_eq!(Key::parse("shift-e"), Key::parse("E"));
    assert_eq!(Key::parse("shift-tab"), Ok(Key::plain(KeyCode::BackTab)));
}

#[test]
fn unparseable_keys_are_errors() {
    for bad in ["", "  ", "f0", "f99", "hyper-x", "ctrl-", "enterr"] {
        assert!(Key::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn shifted_letters_match_as_crossterm_reports_them() {
    let map = KeyMap::default();
    let shifted = press(KeyCode::Char('E'), KeyModifiers::SHIFT);
    assert_eq!(map.action_for(&shifted), Some(Action::EndCall));
    // Some terminals report the lower-case letter with SHIFT.
    let lower_shift = press(KeyCode::Char('e'), KeyModifiers::SHIFT);
    assert_eq!(map.action_for(&lower_shift), Some(Action::EndCall));
    let bare_upper = press(KeyCode::Char('E'), KeyModifiers::NONE);
    assert_eq!(map.action_for(&bare_upper), Some(Action::EndCall));
    assert_eq!(
        map.action_for(&press(KeyCode::Char('e'), KeyModifiers::NONE)),
        None
    );
    assert_eq!(
        map.action_for(&press(KeyCode::Char('G'), KeyModifiers::SHIFT)),
        Some(Action::Bottom)
    );
    assert_eq!(
        map.action_for(&press(KeyCode::Char('?'), KeyModifiers::SHIFT)),
        Some(Action::Help)
    );
    assert_eq!(
        map.action_for(&press(KeyCode::Char('d'), KeyModifiers::NONE)),
        Some(Action::Disconnect)
    );
    assert_eq!(
        map.action_for(&press(KeyCode::Char('d'), KeyModifiers::CONTROL)),
        None
    );
}

#[test]
fn overrides_replace_an_actions_keys() {
    let map = KeyMap::with_overrides(&overrides(&[("disconnect", &["x", "f9"])])).unwrap();
    assert_eq!(map.label(Action::Disconnect).as_deref(), Some("x"));
    assert_eq!(
        map.action_for(&press(KeyCode::F(9), KeyModifiers::NONE)),
        Some(Action::Disconnect)
    );
    assert_eq!(
        map.action_for(&press(KeyCode::Char('d'), KeyModifiers::NONE)),
        None
    );
}

#[test]
fn disconnect_and_end_call_may_never_share_a_key() {
    let err = KeyMap::with_overrides(&overrides(&[("end_call", &["d"])])).unwrap_err();
    assert_eq!(
        err,
        KeyMapError::DisconnectSharesEndCall { key: "d".into() }
    );
    let err = KeyMap::with_overrides(&overrides(&[("disconnect", &["x", "E"])])).unwrap_err();
    assert_eq!(
        err,
        KeyMapError::DisconnectSharesEndCall { key: "E".into() }
    );
    let err = KeyMap::with_overrides(&overrides(&[
        ("disconnect", &["shift-x"]),
        ("end_call", &["X"]),
    ]))
    .unwrap_err();
    assert!(matches!(err, KeyMapError::DisconnectSharesEndCall { .. }));
    assert!(err.to_string().contains("disconnect and end_call"));
}

#[test]
fn any_shared_key_is_refused() {
    let err = KeyMap::with_overrides(&overrides(&[("sort", &["m"])])).unwrap_err();
    assert!(matches!(err, KeyMapError::KeyBoundTwice { .. }), "{err}");
}

#[test]
fn unknown_actions_bad_keys_and_reserved_keys_are_clear_errors() {
    let err = KeyMap::with_overrides(&overrides(&[("hangup", &["h"])])).unwrap_err();
    assert!(
        err.to_string().contains("unknown action \"hangup\""),
        "{err}"
    );
    let err = KeyMap::with_overrides(&overrides(&[("monitor", &["ctrl-"])])).unwrap_err();
    assert!(err.to_string().contains("monitor"), "{err}");
    let err = KeyMap::with_overrides(&overrides(&[("help", &["ctrl-c"])])).unwrap_err();
    assert!(matches!(err, KeyMapError::Reserved { .. }), "{err}");
    let err = KeyMap::with_overrides(&overrides(&[("disconnect", &[])])).unwrap_err();
    assert_eq!(
        err,
        KeyMapError::NoKeys {
            action: "disconnect"
        }
    );
}

#[test]
fn labels_round_trip_through_the_parser() {
    let map = KeyMap::default();
    for action in Action::ALL {
        for key in map.keys(action) {
            assert_eq!(Key::parse(&key.to_string()), Ok(*key));
        }
    }
    assert!(
        Action::ALL
            .iter()
            .filter(|a| a.dangerous())
            .eq([&Action::EndCall])
    );
}
