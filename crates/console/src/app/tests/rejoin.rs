//! The rejoin rule (`[compliance]`): a call I left, joined again.

use super::*;
use crate::config::{ComplianceSection, RejoinAnnouncement, RejoinRuleOverride};

/// Live, on c-9 (Alex Kim, billing) and then off it again, under `rule`.
fn left_c9(compliance: ComplianceSection) -> App {
    let settings = AppSettings {
        compliance,
        ..fixture::settings()
    };
    let (mut app, _) = fixture::connect(settings, fixture::me(), true, (80, 24));
    select(&mut app, "a-01");
    leg_left(&mut app, "c-9", "l-31", LegLeftReason::Disconnected);
    assert!(!app.is_on_call());
    app
}

fn announcing(rule: RejoinAnnouncement) -> ComplianceSection {
    ComplianceSection {
        rejoin_announcement: rule,
        ..ComplianceSection::default()
    }
}

fn monitor(effects: &[Effect]) -> (Mode, bool) {
    match sends(effects)[..] {
        [ClientMessage::Monitor { mode, announce, .. }] => (*mode, *announce),
        _ => panic!("no join sent: {effects:?}"),
    }
}

#[test]
fn a_rejoin_the_rule_covers_asks_first_and_then_asks_the_server_to_announce() {
    let mut app = left_c9(announcing(RejoinAnnouncement::Always));
    let effects = press(&mut app, [key('m')]);
    assert!(
        effects.is_empty(),
        "nothing goes out before the answer: {effects:?}"
    );
    let Some(Dialog::Rejoin {
        call_id,
        mode,
        focus,
        ..
    }) = app.dialog()
    else {
        panic!("no rejoin dialog: {:?}", app.dialog())
    };
    assert_eq!(
        (call_id.as_str(), *mode, *focus),
        ("c-9", Mode::Silent, Button::Cancel)
    );
    // Enter on Cancel, `n`, Esc and the leave key cancel; nothing is sent.
    for cancel in [code(KeyCode::Enter), key('n'), code(KeyCode::Esc), key('d')] {
        assert!(press(&mut app, [cancel]).is_empty());
        assert_eq!(app.dialog(), None);
        assert_notice(&app, "did not rejoin c-9");
        press(&mut app, [key('m')]);
    }
    let effects = press(&mut app, [key('y')]);
    assert_eq!(app.dialog(), None);
    assert_eq!(kinds(&effects), [RecordKind::JoinRequested]);
    assert_eq!(monitor(&effects), (Mode::Silent, true));

    leg_joined(&mut app, "c-9", fixture::my_leg());
    let announced = Ok(serde_json::json!({"leg_id": "l-31", "track": 31, "announced": true}));
    let effects = reply(&mut app, "r-1", announced, 1800);
    let [rejoin] = audits(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(rejoin.kind, RecordKind::Rejoin);
    assert_eq!(rejoin.announced, Some(true));
    assert_eq!(rejoin.leg_id.as_deref(), Some("l-31"));
    assert!(sends(&effects).is_empty());
    assert!(app.is_on_call());
}

#[test]
fn a_server_that_did_not_announce_is_left_at_once_and_the_rejoin_journaled_unannounced() {
    let mut app = left_c9(announcing(RejoinAnnouncement::Barge));
    press(&mut app, [key('b'), key('y')]);
    leg_joined(&mut app, "c-9", fixture::my_leg());
    // An older server: it ignored `announce`.
    let effects = reply(&mut app, "r-1", joined_reply(), 20);
    let (records, messages) = split(&effects);
    assert_eq!(records[0].kind, RecordKind::Rejoin);
    assert_eq!(records[0].announced, Some(false));
    assert!(
        matches!(messages[..], [ClientMessage::Disconnect { leg_id, .. }] if leg_id == "l-31"),
        "{effects:?}"
    );
    assert_eq!(app.notice(NOW).unwrap().severity, Severity::Error);
    assert_notice(&app, "did not play the monitoring notice");
}

#[test]
fn rejoins_the_rule_does_not_cover_go_out_plain_and_are_still_journaled() {
    // Barge only: a silent rejoin is not announced, but it is a rejoin.
    let mut app = left_c9(announcing(RejoinAnnouncement::Barge));
    let effects = press(&mut app, [key('m')]);
    assert_eq!(app.dialog(), None);
    assert_eq!(monitor(&effects), (Mode::Silent, false));
    leg_joined(&mut app, "c-9", fixture::my_leg());
    let effects = reply(&mut app, "r-1", joined_reply(), 20);
    let [rejoin] = audits(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(
        (rejoin.kind, rejoin.announced),
        (RecordKind::Rejoin, Some(false))
    );
    assert!(
        sends(&effects).is_empty(),
        "nothing was asked, nothing to leave"
    );

    // Within the team's grace window it is the same monitoring going on.
    let mut graced = ComplianceSection::default();
    graced.teams.insert(
        "billing".into(),
        RejoinRuleOverride {
            rejoin_announcement: Some(RejoinAnnouncement::Always),
            rejoin_grace_secs: Some(60),
        },
    );
    let mut app = left_c9(graced);
    let effects = press(&mut app, [key('b')]);
    assert_eq!(monitor(&effects), (Mode::Barge, false));
    leg_joined(&mut app, "c-9", fixture::my_leg());
    assert!(audits(&reply(&mut app, "r-1", joined_reply(), 20)).is_empty());
}
