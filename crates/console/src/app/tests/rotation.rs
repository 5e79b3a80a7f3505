use super::*;

/// A silent leg of mine on a call.
fn silent(leg_id: &str, track: u32) -> Leg {
    fixture::leg(
        leg_id,
        Role::Supervisor,
        Some("sup-1"),
        "Dana Ruiz",
        Some(Mode::Silent),
        track,
        NOW,
    )
}

/// The calls the effects join (each silently, as a rotation must).
fn joins(effects: &[Effect]) -> Vec<&str> {
    sends(effects)
        .into_iter()
        .filter_map(|message| match message {
            ClientMessage::Monitor { call_id, mode, .. } => {
                assert_eq!(*mode, Mode::Silent, "a hop never opens a microphone");
                Some(call_id.as_str())
            }
            _ => None,
        })
        .collect()
}

fn leaves(effects: &[Effect]) -> Vec<&str> {
    sends(effects)
        .into_iter()
        .filter_map(|message| match message {
            ClientMessage::Disconnect { leg_id, .. } => Some(leg_id.as_str()),
            _ => None,
        })
        .collect()
}

fn tick(app: &mut App, after_secs: i64) -> Vec<Effect> {
    app.update(Input::Tick, NOW.plus_millis(after_secs * 1000))
}

fn hop_to(app: &App) -> Option<&str> {
    app.rotation().and_then(Rotation::hopping_to)
}

fn on(app: &App) -> Option<&str> {
    app.rotation().and_then(Rotation::call)
}

/// A live app at 80x24, Alex Kim (c-9, the first row) selected, with the
/// rotation rules given.
fn rotating_app(rules: RotationSettings) -> App {
    let settings = AppSettings {
        rotation: rules,
        ..fixture::settings()
    };
    let (mut app, _) = fixture::connect(settings, fixture::me(), false, (80, 24));
    select(&mut app, "a-01");
    app
}

/// Started on Alex Kim's c-9 and landed there (my leg l-31).
fn landed_on_c9(rules: RotationSettings) -> App {
    let mut app = rotating_app(rules);
    let effects = press(&mut app, [key('r')]);
    assert_eq!(kinds(&effects), [RecordKind::JoinRequested]);
    assert_eq!(joins(&effects), ["c-9"], "from the selected row");
    let effects = leg_joined(&mut app, "c-9", silent("l-31", 31));
    assert_eq!(kinds(&effects), [RecordKind::Joined]);
    assert_eq!(audits(&effects)[0].reason.as_deref(), Some("rotation"));
    assert!(leaves(&effects).is_empty(), "no previous leg");
    assert_eq!(on(&app), Some("c-9"));
    app
}

#[test]
fn each_hop_joins_the_next_call_before_it_leaves_the_last() {
    let mut app = landed_on_c9(RotationSettings::default());
    let rotation = app.rotation().unwrap();
    assert_eq!(rotation.next_in_secs(NOW), Some(45));
    assert_eq!(rotation.next_in_secs(NOW.plus_millis(44_001)), Some(1));

    assert!(tick(&mut app, 44).is_empty(), "not before the dwell");
    // Next in the table after Alex Kim with a call: Ines Duarte's c-13.
    let effects = tick(&mut app, 45);
    assert_eq!(joins(&effects), ["c-13"]);
    assert!(leaves(&effects).is_empty(), "make before break");
    assert_eq!(hop_to(&app), Some("c-13"));
    assert!(tick(&mut app, 46).is_empty(), "one hop at a time");
    assert_eq!(app.my_legs().count(), 1);

    // The new leg is up: now the old one is left, in the same step.
    let effects = leg_joined(&mut app, "c-13", silent("l-32", 32));
    assert_eq!(
        kinds(&effects),
        [RecordKind::Joined, RecordKind::DisconnectRequested]
    );
    assert_eq!(leaves(&effects), ["l-31"]);
    assert_eq!(app.my_legs().count(), 2, "two legs only for the hop");
    assert_eq!(on(&app), Some("c-13"));
    assert_eq!(app.selected_agent(), Some("a-10"), "the pane shows it");
    assert_eq!(app.listening_call(), Some("c-13"), "the new call plays");
    assert!(!app.audio_plan().microphone);
    leg_left(&mut app, "c-9", "l-31", LegLeftReason::Disconnected);
    assert_eq!(app.my_legs().count(), 1);
}

#[test]
fn skips_occupied_young_and_recently_left_calls() {
    let rules = RotationSettings {
        min_call_age: Duration::from_secs(30),
        ..RotationSettings::default()
    };
    let mut app = landed_on_c9(rules);
    // Back from Alex Kim: Zoe Martin's c-14 is 12 s old (too young), Priya
    // Nair's c-10 has Jorge Ortiz on it; Omar Haddad's c-12 (a bot is no
    // supervisor) is next.
    let effects = press(&mut app, [key('p')]);
    assert_eq!(joins(&effects), ["c-12"]);
    leg_joined(&mut app, "c-12", silent("l-32", 32));
    leg_left(&mut app, "c-9", "l-31", LegLeftReason::Disconnected);
    // Ahead again: c-9 was left just now, so Ines Duarte's c-13.
    let effects = press(&mut app, [key('n'), key('n')]);
    assert_eq!(joins(&effects), ["c-13"], "{effects:?}");
    assert_notice(&app, "already moving to c-13");
}

#[test]
fn with_every_call_skipped_it_stays_and_says_why() {
    let rules = RotationSettings {
        min_call_age: Duration::from_secs(100_000),
        ..RotationSettings::default()
    };
    let mut app = rotating_app(rules);
    let effects = press(&mut app, [key('r')]);
    assert!(effects.is_empty(), "{effects:?}");
    assert_notice(
        &app,
        "no other call to move to (1 with another supervisor, 5 too young skipped)",
    );
    assert_eq!(app.rotation().unwrap().next_in_secs(NOW), Some(45));
}

#[test]
fn a_failed_hop_stays_put_and_the_next_tries_the_call_after() {
    let mut app = landed_on_c9(RotationSettings::default());
    let effects = tick(&mut app, 45);
    assert_eq!(joins(&effects), ["c-13"]);
    let req = match sends(&effects)[0] {
        ClientMessage::Monitor { req, .. } => req.clone(),
        other => panic!("{other:?}"),
    };
    let effects = reply(&mut app, &req, refused(ErrorCode::Forbidden), 20);
    assert_eq!(kinds(&effects), [RecordKind::JoinFailed]);
    assert!(leaves(&effects).is_empty(), "still on c-9");
    assert_eq!(on(&app), Some("c-9"));
    assert_eq!(hop_to(&app), None);
    assert_eq!(app.my_legs().count(), 1);
    // The next hop comes a dwell after the failure, to the call after c-13.
    assert_eq!(app.rotation().unwrap().next_in_secs(NOW), Some(45));
    assert_eq!(joins(&tick(&mut app, 45)), ["c-11"]);
}

#[test]
fn stop_keys_end_the_rotation_where_i_am() {
    // r again: stays on the call, nothing sent.
    let mut app = landed_on_c9(RotationSettings::default());
    let effects = press(&mut app, [key('r')]);
    assert!(effects.is_empty());
    assert!(app.rotation().is_none());
    assert_eq!(app.my_legs().count(), 1);
    assert!(tick(&mut app, 100).is_empty(), "no more hops");

    // A mode key: stops, and acts on the call I am on.
    let mut app = landed_on_c9(RotationSettings::default());
    press(&mut app, [key('j'), key('j')]);
    let effects = press(&mut app, [key('w')]);
    assert!(app.rotation().is_none());
    assert!(
        matches!(sends(&effects)[..], [ClientMessage::SetMode { leg_id, mode: Mode::Whisper, .. }] if leg_id == "l-31"),
        "{effects:?}"
    );

    // Push-to-talk (silent: it only says why not) stops it too.
    let mut app = landed_on_c9(RotationSettings::default());
    press(&mut app, [key(' ')]);
    assert!(app.rotation().is_none());

    // d: stops and leaves.
    let mut app = landed_on_c9(RotationSettings::default());
    let effects = press(&mut app, [key('d')]);
    assert!(app.rotation().is_none());
    assert_eq!(leaves(&effects), ["l-31"]);
}

#[test]
fn stopping_mid_hop_leaves_the_new_leg_as_soon_as_it_is_up() {
    let mut app = landed_on_c9(RotationSettings::default());
    tick(&mut app, 45);
    assert_eq!(hop_to(&app), Some("c-13"));
    press(&mut app, [key('r')]);
    assert_notice(&app, "you stay on c-9");
    let effects = leg_joined(&mut app, "c-13", silent("l-32", 32));
    assert_eq!(leaves(&effects), ["l-32"], "the hop's leg, not mine on c-9");
    assert_eq!(app.my_leg_on("c-9").map(|l| l.status), Some(LegStatus::On));
}

#[test]
fn starts_from_a_silent_leg_and_refuses_from_whisper() {
    let (mut app, _) = live_app(true);
    let effects = press(&mut app, [key('r')]);
    assert!(effects.is_empty());
    assert!(app.rotation().is_none());
    assert_notice(&app, "listens silently");

    let mut app = landed_on_c9(RotationSettings::default());
    press(&mut app, [key('r')]);
    let effects = press(&mut app, [key('r')]);
    assert!(effects.is_empty(), "adopts the silent leg: {effects:?}");
    assert_eq!(on(&app), Some("c-9"));
    assert_eq!(joins(&tick(&mut app, 45)), ["c-13"]);
}

#[test]
fn the_call_ending_under_the_rotation_moves_it_on_now() {
    let mut app = landed_on_c9(RotationSettings::default());
    call_ended(&mut app, "c-9", ago(0), CallEndReason::CustomerHangup);
    assert_eq!(on(&app), None);
    let effects = tick(&mut app, 1);
    assert_eq!(joins(&effects), ["c-13"]);
}

#[test]
fn a_configured_list_of_agents_sets_the_order() {
    let rules = RotationSettings {
        agents: vec!["maria gonzalez".into(), "a-01".into(), "nobody".into()],
        ..RotationSettings::default()
    };
    let mut app = rotating_app(rules);
    select(&mut app, "a-03");
    let effects = press(&mut app, [key('r')]);
    assert_eq!(joins(&effects), ["c-11"], "the list's first, by name");
    assert_notice(&app, "Not on the floor: nobody.");
    leg_joined(&mut app, "c-11", silent("l-32", 32));
    assert_eq!(joins(&tick(&mut app, 45)), ["c-9"]);
}

#[test]
fn offline_it_does_not_start() {
    let (mut app, _) = live_app(false);
    app.update(connecting(1, Duration::from_secs(1), "refused"), NOW);
    let effects = press(&mut app, [key('r')]);
    assert!(effects.is_empty());
    assert!(app.rotation().is_none());
}

#[test]
fn no_hop_while_a_dialog_about_my_call_waits_for_an_answer() {
    let mut app = landed_on_c9(RotationSettings::default());
    press(&mut app, [key('q')]);
    assert!(matches!(app.dialog(), Some(Dialog::Quit { .. })));
    assert!(tick(&mut app, 45).is_empty());
    press(&mut app, [code(KeyCode::Esc)]);
    assert_eq!(joins(&tick(&mut app, 46)), ["c-13"]);
}

#[test]
fn it_goes_through_the_calls_of_the_filter_in_the_tables_order() {
    let mut app = rotating_app(RotationSettings::default());
    let mut filter = vec![key('/')];
    filter.extend("retention".chars().map(key));
    filter.push(code(KeyCode::Enter));
    press(&mut app, filter);
    // Ines Duarte's c-13 first (the selected row), then Maria Gonzalez's
    // c-11, never a billing call.
    assert_eq!(joins(&press(&mut app, [key('r')])), ["c-13"]);
    leg_joined(&mut app, "c-13", silent("l-32", 32));
    assert_eq!(joins(&tick(&mut app, 45)), ["c-11"]);
}

#[test]
fn a_hop_never_makes_a_rejoin_that_needs_the_notice_and_journals_the_others() {
    use crate::config::{ComplianceSection, RejoinAnnouncement};
    let rules = RotationSettings {
        skip_left_within: Duration::ZERO,
        ..RotationSettings::default()
    };
    let rotating = |rejoin_announcement| {
        let settings = AppSettings {
            rotation: rules.clone(),
            compliance: ComplianceSection {
                rejoin_announcement,
                ..ComplianceSection::default()
            },
            ..fixture::settings()
        };
        let (mut app, _) = fixture::connect(settings, fixture::me(), false, (80, 24));
        select(&mut app, "a-01");
        assert_eq!(joins(&press(&mut app, [key('r')])), ["c-9"]);
        leg_joined(&mut app, "c-9", silent("l-31", 31));
        assert_eq!(joins(&tick(&mut app, 45)), ["c-13"]);
        leg_joined(&mut app, "c-13", silent("l-32", 32));
        leg_left(&mut app, "c-9", "l-31", LegLeftReason::Disconnected);
        app
    };

    // Every rejoin announced: back from c-13, c-9 is passed over.
    let mut app = rotating(RejoinAnnouncement::Always);
    let back = press(&mut app, [key('p')]);
    assert!(!joins(&back).contains(&"c-9"), "{back:?}");

    // Only barge announced: a silent hop back to c-9 is a plain rejoin,
    // journaled as one, never announced.
    let mut app = rotating(RejoinAnnouncement::Barge);
    let back = press(&mut app, [key('p')]);
    assert_eq!(joins(&back), ["c-9"]);
    let announce = sends(&back)
        .iter()
        .any(|message| matches!(message, ClientMessage::Monitor { announce: true, .. }));
    assert!(!announce);
    leg_joined(&mut app, "c-9", silent("l-33", 33));
    let req = match sends(&back)[..] {
        [ClientMessage::Monitor { req, .. }] => req.clone(),
        _ => panic!("{back:?}"),
    };
    let effects = reply(&mut app, &req, joined_reply(), 20);
    let rejoins: Vec<_> = audits(&effects)
        .into_iter()
        .filter(|record| record.kind == RecordKind::Rejoin)
        .map(|record| record.announced)
        .collect();
    assert_eq!(rejoins, [Some(false)]);
}
