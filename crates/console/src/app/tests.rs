#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::fixture::{self, NOW, ago, live_app};
use super::*;
use crate::feed::{CommandFailure, FeedEvent};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use floorwalk_protocol::*;

fn key(c: char) -> Input {
    let modifiers = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    Input::Key(KeyEvent::new(KeyCode::Char(c), modifiers), Duration::ZERO)
}

fn code(code: KeyCode) -> Input {
    Input::Key(KeyEvent::new(code, KeyModifiers::NONE), Duration::ZERO)
}

fn ctrl_c() -> Input {
    Input::Key(
        KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
        Duration::ZERO,
    )
}

fn press(app: &mut App, inputs: impl IntoIterator<Item = Input>) -> Vec<Effect> {
    inputs
        .into_iter()
        .flat_map(|input| app.update(input, NOW))
        .collect()
}

fn sends(effects: &[Effect]) -> Vec<&ClientMessage> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { message, .. } => Some(message),
            _ => None,
        })
        .collect()
}

fn audits(effects: &[Effect]) -> Vec<&Record> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Audit { record, .. } => Some(record),
            _ => None,
        })
        .collect()
}

fn kinds(effects: &[Effect]) -> Vec<RecordKind> {
    audits(effects).iter().map(|r| r.kind).collect()
}

fn is_end_call(effect: &Effect) -> bool {
    matches!(
        effect,
        Effect::Send {
            message: ClientMessage::EndCall { .. },
            ..
        }
    )
}

/// Selects an agent the way a supervisor would: top, then down.
fn select(app: &mut App, agent_id: &str) {
    press(app, [key('g')]);
    for _ in 0..app.rows().len() {
        if app.selected_agent() == Some(agent_id) {
            return;
        }
        press(app, [key('j')]);
    }
    assert_eq!(
        app.selected_agent(),
        Some(agent_id),
        "agent not in the table"
    );
}

fn message(app: &mut App, message: ServerMessage) -> Vec<Effect> {
    app.update(Input::Feed(FeedEvent::Message(message)), NOW)
}

fn next_seq(app: &App) -> u64 {
    app.floor().last_seq.unwrap() + 1
}

fn reply(
    app: &mut App,
    req: &str,
    outcome: Result<serde_json::Value, CommandFailure>,
    ms: u64,
) -> Vec<Effect> {
    app.update(
        Input::Feed(FeedEvent::Reply {
            req: req.into(),
            outcome,
            latency: Duration::from_millis(ms),
        }),
        NOW,
    )
}

fn refused(code: ErrorCode) -> Result<serde_json::Value, CommandFailure> {
    Err(CommandFailure::Refused(ReplyError {
        code,
        message: String::new(),
    }))
}

fn leg_joined(app: &mut App, call_id: &str, leg: Leg) -> Vec<Effect> {
    let seq = next_seq(app);
    message(
        app,
        ServerMessage::LegJoined(LegJoined {
            seq,
            call_id: call_id.into(),
            leg,
        }),
    )
}

fn leg_left(app: &mut App, call_id: &str, leg_id: &str, reason: LegLeftReason) -> Vec<Effect> {
    let seq = next_seq(app);
    message(
        app,
        ServerMessage::LegLeft(LegLeft {
            seq,
            call_id: call_id.into(),
            leg_id: leg_id.into(),
            at: ago(1),
            reason,
        }),
    )
}

fn notice_text(app: &App) -> String {
    app.notice(NOW).map(|n| n.text.clone()).unwrap_or_default()
}

#[test]
fn connecting_records_each_call_seen_once() {
    let (mut app, effects) = live_app(false);
    assert!(sends(&effects).is_empty());
    let seen: Vec<&str> = audits(&effects)
        .iter()
        .map(|r| {
            assert_eq!(r.kind, RecordKind::CallSeen);
            assert_eq!(r.supervisor, "sup-1");
            r.call_id.as_str()
        })
        .collect();
    assert_eq!(seen, ["c-10", "c-11", "c-12", "c-13", "c-14", "c-9"]);
    let c9 = audits(&effects)
        .into_iter()
        .find(|r| r.call_id == "c-9")
        .unwrap();
    assert_eq!(c9.agent_name.as_deref(), Some("Alex Kim"));
    // The same snapshot again (a reconnect) records nothing new.
    let again = message(&mut app, ServerMessage::Snapshot(fixture::snapshot(false)));
    assert!(again.is_empty(), "{again:?}");
    assert!(!app.is_on_call());
}

#[test]
fn a_leg_of_mine_in_the_first_snapshot_is_recorded_as_joined() {
    let (app, effects) = live_app(true);
    let joined = audits(&effects)
        .into_iter()
        .find(|r| r.kind == RecordKind::Joined)
        .unwrap();
    assert_eq!(joined.leg_id.as_deref(), Some("l-31"));
    assert_eq!(joined.server_at, Some(ago(130)));
    assert_eq!(joined.latency_ms, None);
    assert!(app.is_on_call());
    assert!(app.mic_allowed(), "whisper may talk");
    assert_eq!(app.talk_leg().unwrap().track, 31);
}

#[test]
fn joining_audits_before_sending_and_confirms_with_server_time_and_latency() {
    let (mut app, _) = live_app(false);
    select(&mut app, "a-01");
    let effects = press(&mut app, [key('m')]);
    assert_eq!(effects.len(), 2);
    let Effect::Audit {
        record: requested,
        hold_frame: true,
    } = &effects[0]
    else {
        panic!("the audit record comes first, and frames wait for it: {effects:?}")
    };
    assert_eq!(requested.kind, RecordKind::JoinRequested);
    assert_eq!(requested.mode, Some(Mode::Silent));
    assert_eq!(requested.agent_id.as_deref(), Some("a-01"));
    assert_eq!(
        effects[1],
        Effect::Send {
            message: ClientMessage::Monitor {
                req: "r-1".into(),
                call_id: "c-9".into(),
                mode: Mode::Silent
            },
            unrecorded: Unrecorded::Refuse,
        }
    );
    assert_eq!(app.joining("c-9"), Some(Mode::Silent));
    assert!(!app.is_on_call() && !app.mic_allowed());

    // The event first, 40 ms after the key: the screen shows the leg now,
    // so the record is written now, its latency from the key to the event.
    let mine = Leg {
        mode: Some(Mode::Silent),
        ..fixture::my_leg()
    };
    let seq = next_seq(&app);
    let event = ServerMessage::LegJoined(LegJoined {
        seq,
        call_id: "c-9".into(),
        leg: mine,
    });
    let effects = app.update(Input::Feed(FeedEvent::Message(event)), NOW.plus_millis(40));
    assert!(app.is_on_call());
    assert!(!app.mic_allowed(), "silent never opens the microphone");
    let [joined] = audits(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(joined.kind, RecordKind::Joined);
    assert_eq!(joined.server_at, Some(ago(130)));
    assert_eq!(joined.latency_ms, Some(40));
    assert_eq!(joined.leg_id.as_deref(), Some("l-31"));
    assert_eq!(joined.reason, None);
    assert_eq!(app.joining("c-9"), None);
    // The reply after it changes nothing.
    let effects = reply(
        &mut app,
        "r-1",
        Ok(serde_json::json!({"leg_id": "l-31", "track": 31})),
        45,
    );
    assert!(effects.is_empty(), "{effects:?}");
    assert!(app.is_on_call());
}

#[test]
fn a_reply_before_the_event_also_confirms_the_join() {
    let (mut app, _) = live_app(false);
    select(&mut app, "a-01");
    press(&mut app, [key('w')]);
    assert!(
        reply(
            &mut app,
            "r-1",
            Ok(serde_json::json!({"leg_id": "l-31", "track": 31})),
            25
        )
        .is_empty()
    );
    let effects = leg_joined(&mut app, "c-9", fixture::my_leg());
    assert_eq!(kinds(&effects), [RecordKind::Joined]);
    assert_eq!(audits(&effects)[0].latency_ms, Some(25));
    assert!(app.mic_allowed());
}

#[test]
fn a_refused_join_is_audited_and_explained() {
    let (mut app, _) = live_app(false);
    select(&mut app, "a-02");
    press(&mut app, [key('b')]);
    let effects = reply(&mut app, "r-1", refused(ErrorCode::Forbidden), 30);
    let [failed] = audits(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(failed.kind, RecordKind::JoinFailed);
    assert_eq!(failed.reason.as_deref(), Some("forbidden"));
    assert_eq!(app.notice(NOW).unwrap().severity, Severity::Error);
    assert!(
        notice_text(&app).contains("outside your teams"),
        "{}",
        notice_text(&app)
    );
    assert_eq!(app.joining("c-10"), None);
}

#[test]
fn a_mode_key_on_my_call_switches_mode_without_leaving() {
    let (mut app, _) = live_app(true);
    select(&mut app, "a-01");
    let effects = press(&mut app, [key('b')]);
    assert_eq!(
        effects,
        [Effect::Send {
            message: ClientMessage::SetMode {
                req: "r-1".into(),
                leg_id: "l-31".into(),
                mode: Mode::Barge
            },
            unrecorded: Unrecorded::Refuse,
        }]
    );
    assert!(app.mic_allowed(), "whisper to barge keeps talking");
    let seq = next_seq(&app);
    let event = ServerMessage::LegChanged(LegChanged {
        seq,
        call_id: "c-9".into(),
        leg_id: "l-31".into(),
        mode: Mode::Barge,
        at: ago(2),
    });
    // The event before the reply: recorded at once.
    let effects = app.update(Input::Feed(FeedEvent::Message(event)), NOW.plus_millis(15));
    let [changed] = audits(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(changed.kind, RecordKind::ModeChanged);
    assert_eq!(changed.mode, Some(Mode::Barge));
    assert_eq!(changed.server_at, Some(ago(2)));
    assert_eq!(changed.latency_ms, Some(15));
    assert!(reply(&mut app, "r-1", Ok(serde_json::json!({})), 16).is_empty());
    assert_eq!(app.my_leg_on("c-9").unwrap().status, LegStatus::On);

    // Switching to silent closes the microphone at once.
    let effects = press(&mut app, [key('m')]);
    assert!(matches!(
        sends(&effects)[..],
        [ClientMessage::SetMode {
            mode: Mode::Silent,
            ..
        }]
    ));
    assert!(!app.mic_allowed());
    // The same mode again sends nothing.
    assert!(press(&mut app, [key('m')]).is_empty());
}

#[test]
fn disconnect_stops_the_microphone_at_once_and_never_ends_the_call() {
    let (mut app, _) = live_app(true);
    select(&mut app, "a-01");
    let effects = press(&mut app, [key('d')]);
    assert_eq!(kinds(&effects), [RecordKind::DisconnectRequested]);
    assert!(effects[0].holds_frame(), "audit before send");
    // A leave goes out even if the journal cannot write its record.
    assert_eq!(
        effects[1],
        Effect::Send {
            message: ClientMessage::Disconnect {
                req: "r-1".into(),
                leg_id: "l-31".into()
            },
            unrecorded: Unrecorded::SendAnyway,
        }
    );
    assert!(!app.mic_allowed(), "no audio after the key");
    assert!(app.is_on_call(), "still shown until the server confirms");
    assert_eq!(app.my_leg_on("c-9").unwrap().status, LegStatus::Leaving);

    // The second press sends nothing more.
    assert!(press(&mut app, [key('d')]).is_empty());
    assert!(notice_text(&app).contains("Already leaving"));

    // The reply confirms: the indicator goes, the record waits for leg_left.
    assert!(reply(&mut app, "r-1", Ok(serde_json::json!({})), 20).is_empty());
    assert!(!app.is_on_call());
    assert!(app.floor().calls["c-9"].leg("l-31").is_some());
    assert!(!app.awaiting_leave());
    let effects = leg_left(&mut app, "c-9", "l-31", LegLeftReason::Disconnected);
    let [left] = audits(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(left.kind, RecordKind::Left);
    assert_eq!(left.reason.as_deref(), Some("disconnected"));
    assert_eq!(left.server_at, Some(ago(1)));
    assert_eq!(left.latency_ms, Some(20));
    assert_eq!(left.mode, Some(Mode::Whisper));
    assert!(app.floor().calls.contains_key("c-9"), "the call goes on");
    assert!(notice_text(&app).contains("The call goes on"));
}

#[test]
fn a_failed_disconnect_is_loud_and_the_leg_stays() {
    let (mut app, _) = live_app(true);
    select(&mut app, "a-01");
    press(&mut app, [key('d')]);
    let effects = reply(&mut app, "r-1", refused(ErrorCode::NotYourLeg), 20);
    assert_eq!(kinds(&effects), [RecordKind::DisconnectFailed]);
    let notice = app.notice(NOW).unwrap();
    assert_eq!(notice.severity, Severity::Error);
    assert!(notice.text.contains("COULD NOT LEAVE"), "{}", notice.text);
    assert!(
        notice
            .text
            .contains("That leg isn't yours: you can only leave your own leg.")
    );
    assert_eq!(app.my_leg_on("c-9").unwrap().status, LegStatus::On);
    // A later, lesser notice does not push the error aside.
    press(&mut app, [key('s')]);
    assert_eq!(app.notice(NOW).unwrap().severity, Severity::Error);
    // Pressing d again tries again.
    assert_eq!(sends(&press(&mut app, [key('d')])).len(), 1);
}

#[test]
fn a_timed_out_disconnect_whose_leg_left_anyway_is_recorded_as_left() {
    let (mut app, _) = live_app(true);
    select(&mut app, "a-01");
    press(&mut app, [key('d')]);
    assert!(app.awaiting_leave());
    let effects = leg_left(&mut app, "c-9", "l-31", LegLeftReason::Disconnected);
    assert_eq!(kinds(&effects), [RecordKind::Left]);
    assert!(!app.awaiting_leave(), "the leave is done");
    let effects = reply(
        &mut app,
        "r-1",
        Err(CommandFailure::Timeout(Duration::from_secs(5))),
        5000,
    );
    assert!(effects.is_empty(), "the state is the truth: {effects:?}");
    assert_eq!(app.notice(NOW).map(|n| n.severity), Some(Severity::Info));
}

#[test]
fn end_call_then_disconnect_twice_never_ends_the_call() {
    let (mut app, _) = live_app(true);
    select(&mut app, "a-01");
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
    let (mut app, _) = live_app(true);
    select(&mut app, "a-01");
    let effects = press(&mut app, [key('E'), code(KeyCode::Tab), key('d'), key('d')]);
    assert!(!effects.iter().any(is_end_call), "{effects:?}");
}

#[test]
fn end_call_needs_a_deliberate_confirmation() {
    let (mut app, _) = live_app(false);
    select(&mut app, "a-02");
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
    assert!(notice_text(&app).contains("nothing was ended"));
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
    assert!(notice_text(&app).contains("not allowed to end calls"));
}

#[test]
fn the_end_call_dialog_names_the_call() {
    let (mut app, _) = live_app(false);
    select(&mut app, "a-01");
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
    let seq = next_seq(&app);
    message(
        &mut app,
        ServerMessage::CallEnded(CallEnded {
            seq,
            call_id: "c-9".into(),
            at: NOW,
            reason: CallEndReason::CustomerHangup,
        }),
    );
    assert_eq!(app.dialog(), None);
    assert!(notice_text(&app).contains("already ended"));
    assert!(press(&mut app, [key('y')]).is_empty());
}

#[test]
fn leaving_when_on_no_call_says_so() {
    let (mut app, _) = live_app(false);
    assert!(press(&mut app, [key('d')]).is_empty());
    assert!(notice_text(&app).contains("not on any call"));
}

#[test]
fn leave_drops_my_leg_even_when_another_call_is_selected() {
    let (mut app, _) = live_app(true);
    select(&mut app, "a-02");
    let effects = press(&mut app, [key('d')]);
    assert!(
        matches!(sends(&effects)[..], [ClientMessage::Disconnect { leg_id, .. }] if leg_id == "l-31")
    );
}

#[test]
fn joining_a_second_call_is_refused_with_a_way_out() {
    let (mut app, _) = live_app(true);
    select(&mut app, "a-02");
    assert!(press(&mut app, [key('m')]).is_empty());
    assert_eq!(
        notice_text(&app),
        "You are on call c-9 (Alex Kim): press d to leave it first."
    );
}

#[test]
fn offline_commands_send_nothing_and_say_why() {
    let (mut app, _) = live_app(true);
    app.update(
        Input::Feed(FeedEvent::Connecting {
            attempt: 1,
            retry_in: Duration::from_secs(2),
            last_error: Some("connection reset".into()),
        }),
        NOW,
    );
    select(&mut app, "a-02");
    assert!(press(&mut app, [key('w')]).is_empty());
    assert_eq!(
        notice_text(&app),
        "Not connected: nothing was sent. Try again when the console is live."
    );
    assert!(press(&mut app, [key('d')]).is_empty());
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
fn a_call_ending_under_me_records_the_end_and_my_leaving() {
    let (mut app, _) = live_app(true);
    let seq = next_seq(&app);
    let effects = message(
        &mut app,
        ServerMessage::CallEnded(CallEnded {
            seq,
            call_id: "c-9".into(),
            at: ago(3),
            reason: CallEndReason::CustomerHangup,
        }),
    );
    assert_eq!(kinds(&effects), [RecordKind::CallEnded, RecordKind::Left]);
    let records = audits(&effects);
    assert_eq!(records[0].reason.as_deref(), Some("customer_hangup"));
    assert_eq!(records[0].server_at, Some(ago(3)));
    assert_eq!(records[1].reason.as_deref(), Some("call_ended"));
    assert_eq!(records[1].leg_id.as_deref(), Some("l-31"));
    assert!(!app.is_on_call() && !app.mic_allowed());
    assert!(notice_text(&app).contains("customer hung up"));
    assert_eq!(app.flash("a-01", NOW), Some(FlashKind::Ended));
    assert_eq!(app.flash("a-01", NOW.plus_millis(FLASH_MS)), None);
}

#[test]
fn a_lease_expiry_is_recorded_and_explained() {
    let (mut app, _) = live_app(true);
    let effects = leg_left(&mut app, "c-9", "l-31", LegLeftReason::LeaseExpired);
    let [left] = audits(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(left.reason.as_deref(), Some("lease_expired"));
    assert_eq!(left.latency_ms, None);
    assert_eq!(app.notice(NOW).unwrap().severity, Severity::Warn);
    assert!(notice_text(&app).contains("out of touch"));
}

#[test]
fn new_calls_are_seen_once_and_flash() {
    let (mut app, _) = live_app(false);
    let mut call = app.floor().calls["c-14"].clone();
    call.id = "c-20".into();
    call.agent_id = "a-03".into();
    let seq = next_seq(&app);
    let effects = message(
        &mut app,
        ServerMessage::CallStarted(CallEvent {
            seq,
            call: call.clone(),
        }),
    );
    assert_eq!(kinds(&effects), [RecordKind::CallSeen]);
    assert_eq!(app.flash("a-03", NOW), Some(FlashKind::Started));
    let seq = next_seq(&app);
    let effects = message(
        &mut app,
        ServerMessage::CallUpdated(CallEvent { seq, call }),
    );
    assert!(effects.is_empty());
    assert_eq!(app.flash("a-03", NOW), Some(FlashKind::Changed));
}

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
    let seq = next_seq(&app);
    message(
        &mut app,
        ServerMessage::CallEnded(CallEnded {
            seq,
            call_id: "c-13".into(),
            at: NOW,
            reason: CallEndReason::AgentHangup,
        }),
    );
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
fn a_reconnect_countdown_and_an_audit_failure_show() {
    let (mut app, _) = live_app(false);
    app.update(
        Input::Feed(FeedEvent::Connecting {
            attempt: 3,
            retry_in: Duration::from_millis(2000),
            last_error: Some("refused".into()),
        }),
        NOW,
    );
    app.mark_drawn(NOW);
    assert!(
        app.needs_redraw(NOW.plus_millis(150)),
        "the countdown moves"
    );
    assert!(notice_text(&app).contains("Connection lost: refused"));

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
fn server_time_drives_the_clock_offset() {
    let mut app = App::new(fixture::settings());
    let local = NOW.plus_millis(-5000);
    app.update(
        Input::Feed(FeedEvent::Connected {
            hello: fixture::hello(fixture::me()),
            resumed: false,
        }),
        local,
    );
    assert_eq!(app.server_now(local), NOW);
    assert_eq!(app.server_now(local.plus_millis(10)), NOW.plus_millis(10));
}

#[test]
fn reply_for_an_unknown_request_is_ignored() {
    let (mut app, _) = live_app(false);
    assert!(reply(&mut app, "r-99", Ok(serde_json::json!({})), 1).is_empty());
}

#[test]
fn requests_are_unique() {
    let (mut app, _) = live_app(false);
    select(&mut app, "a-01");
    let mut reqs = Vec::new();
    for _ in 0..3 {
        let effects = press(&mut app, [key('m')]);
        if let [ClientMessage::Monitor { req, .. }] = &sends(&effects)[..] {
            reqs.push(req.clone());
        }
        reply(
            &mut app,
            reqs.last().unwrap(),
            refused(ErrorCode::Unavailable),
            5,
        );
    }
    assert_eq!(reqs, ["r-1", "r-2", "r-3"]);
}

#[test]
fn leaving_while_joining_leaves_the_moment_the_leg_appears() {
    let (mut app, _) = live_app(false);
    select(&mut app, "a-01");
    press(&mut app, [key('w')]);
    assert!(press(&mut app, [key('d')]).is_empty());
    assert!(notice_text(&app).contains("as soon as"));
    assert!(app.awaiting_leave());
    reply(
        &mut app,
        "r-1",
        Ok(serde_json::json!({"leg_id": "l-31", "track": 31})),
        30,
    );
    let effects = leg_joined(&mut app, "c-9", fixture::my_leg());
    assert_eq!(
        kinds(&effects),
        [RecordKind::Joined, RecordKind::DisconnectRequested]
    );
    assert!(
        matches!(effects.last(), Some(Effect::Send { message: ClientMessage::Disconnect { leg_id, .. }, .. }) if leg_id == "l-31")
    );
    assert!(!app.mic_allowed(), "the microphone never opens");
    assert!(!effects.iter().any(is_end_call));
}

#[test]
fn quitting_while_joining_waits_for_the_leg_to_leave_it() {
    let (mut app, _) = live_app(false);
    select(&mut app, "a-01");
    press(&mut app, [key('m')]);
    assert!(
        press(&mut app, [key('q')]).is_empty(),
        "no leg to leave yet"
    );
    assert!(app.quitting());
    assert!(
        app.awaiting_leave(),
        "the join in flight is still to be left"
    );
    let effects = leg_joined(
        &mut app,
        "c-9",
        Leg {
            mode: Some(Mode::Silent),
            ..fixture::my_leg()
        },
    );
    assert_eq!(sends(&effects).len(), 1);
    reply(
        &mut app,
        "r-1",
        Ok(serde_json::json!({"leg_id": "l-31", "track": 31})),
        30,
    );
    assert!(app.awaiting_leave(), "the disconnect is unanswered");
    reply(&mut app, "r-2", Ok(serde_json::json!({})), 30);
    assert!(!app.awaiting_leave());
}

#[test]
fn a_join_whose_call_is_gone_after_a_reconnect_fails_cleanly() {
    let (mut app, _) = live_app(false);
    select(&mut app, "a-01");
    press(&mut app, [key('m')]);
    let mut snapshot = fixture::snapshot(false);
    snapshot.seq = 2000;
    snapshot.calls.retain(|c| c.id != "c-9");
    let effects = message(&mut app, ServerMessage::Snapshot(snapshot));
    assert_eq!(
        kinds(&effects),
        [RecordKind::CallEnded, RecordKind::JoinFailed]
    );
    assert_eq!(app.joining("c-9"), None);
    // Nothing is left blocking the next join.
    select(&mut app, "a-02");
    assert_eq!(sends(&press(&mut app, [key('m')])).len(), 1);
}

#[test]
fn connection_errors_are_told_once() {
    let mut app = App::new(fixture::settings());
    let connecting = |attempt| {
        Input::Feed(FeedEvent::Connecting {
            attempt,
            retry_in: Duration::from_secs(1),
            last_error: Some("connection refused".into()),
        })
    };
    app.update(connecting(1), NOW);
    assert_eq!(notice_text(&app), "Cannot connect: connection refused");
    app.update(code(KeyCode::Esc), NOW);
    app.update(connecting(2), NOW);
    assert_eq!(app.notice(NOW), None, "the same error is not repeated");
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
fn quitting_waits_until_a_leave_is_confirmed_and_recorded_in_either_order() {
    // The reply first, then the server's leg_left.
    let (mut app, _) = live_app(true);
    press(&mut app, [key('d')]);
    assert!(!app.leaves_settled());
    assert!(reply(&mut app, "r-1", Ok(serde_json::json!({})), 5).is_empty());
    assert!(!app.is_on_call());
    assert!(!app.leaves_settled(), "the left record is still to come");
    let effects = leg_left(&mut app, "c-9", "l-31", LegLeftReason::Disconnected);
    assert_eq!(kinds(&effects), [RecordKind::Left]);
    assert!(app.leaves_settled());

    // The leg_left first: the left record goes with it, and the reply
    // after it changes nothing.
    let (mut app, _) = live_app(true);
    press(&mut app, [key('d')]);
    let effects = leg_left(&mut app, "c-9", "l-31", LegLeftReason::Disconnected);
    assert_eq!(kinds(&effects), [RecordKind::Left]);
    assert!(!app.is_on_call());
    assert!(app.leaves_settled());
    assert!(reply(&mut app, "r-1", Ok(serde_json::json!({})), 5).is_empty());
    assert!(app.leaves_settled());

    // A failed leave leaves me on the call: quitting waits out its budget.
    let (mut app, _) = live_app(true);
    press(&mut app, [key('d')]);
    reply(&mut app, "r-1", Err(CommandFailure::Offline), 5);
    assert!(app.is_on_call());
    assert!(!app.leaves_settled(), "still on the call");
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

#[test]
fn round_trips_are_shown_in_steps_that_ignore_jitter() {
    use std::time::Duration;
    let shown = |ms| rtt_shown(Duration::from_millis(ms));
    assert_eq!((shown(0), shown(7), shown(9)), (0, 7, 9));
    assert_eq!((shown(12), shown(14), shown(15)), (10, 10, 15));
    assert_eq!((shown(499), shown(512), shown(549)), (495, 500, 500));
}

#[test]
fn a_protocol_error_is_one_sentence_that_says_the_console_carries_on() {
    let (mut app, _) = live_app(false);
    let event = FeedEvent::ProtocolError("ignored a message that came before hello".into());
    let effects = app.update(Input::Feed(event), NOW);
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(
        notice_text(&app),
        "Ignored a message that came before hello; carrying on."
    );
}

/// Each record with whether the next frame waits for it.
fn frame_holds(effects: &[Effect]) -> Vec<(RecordKind, bool)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Audit { record, hold_frame } => Some((record.kind, *hold_frame)),
            Effect::Send { .. } => None,
        })
        .collect()
}

/// What becomes of each message if a record before it could not be written.
fn if_unrecorded(effects: &[Effect]) -> Vec<Unrecorded> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { unrecorded, .. } => Some(*unrecorded),
            Effect::Audit { .. } => None,
        })
        .collect()
}

#[test]
fn frames_wait_for_the_records_of_my_own_doing_not_for_calls_seen() {
    let (mut app, effects) = live_app(true);
    let mut expected = vec![(RecordKind::CallSeen, false); 6];
    expected.push((RecordKind::Joined, true));
    assert_eq!(frame_holds(&effects), expected);
    let seq = next_seq(&app);
    let ended = message(
        &mut app,
        ServerMessage::CallEnded(CallEnded {
            seq,
            call_id: "c-9".into(),
            at: ago(1),
            reason: CallEndReason::AgentHangup,
        }),
    );
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
    let (mut app, _) = live_app(true);
    select(&mut app, "a-01");
    assert_eq!(if_unrecorded(&press(&mut app, [key('b')])), [Refuse]);
    assert_eq!(if_unrecorded(&press(&mut app, [key('d')])), [SendAnyway]);
    let (mut app, _) = live_app(true);
    assert_eq!(if_unrecorded(&press(&mut app, [ctrl_c()])), [SendAnyway]);

    let (mut app, _) = live_app(false);
    select(&mut app, "a-01");
    assert_eq!(if_unrecorded(&press(&mut app, [key('w')])), [Refuse]);
    press(&mut app, [key('d')]);
    let arrived = leg_joined(&mut app, "c-9", fixture::my_leg());
    assert_eq!(if_unrecorded(&arrived), [SendAnyway], "left on arrival");
    select(&mut app, "a-02");
    let end = press(&mut app, [key('E'), key('y')]);
    assert_eq!(if_unrecorded(&end), [Refuse]);
}
