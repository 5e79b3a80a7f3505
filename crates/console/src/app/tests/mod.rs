#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::fixture::{self, NOW, ago, live_app};
use super::*;
use crate::feed::{CommandFailure, FeedEvent};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use floorwalk_protocol::*;
use std::time::Duration;

mod audio;
mod audit_pane;
mod commands;
mod effect;
mod incoming;
mod keymap;
mod keys;
mod ledger;
mod legs;
mod reconcile;
mod redraw;
mod rejoin;
mod rotation;
mod selection;
mod status;

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

/// The records and the messages among the effects, each in order.
fn split(effects: &[Effect]) -> (Vec<&Record>, Vec<&ClientMessage>) {
    let (mut records, mut messages) = (Vec::new(), Vec::new());
    for effect in effects {
        match effect {
            Effect::Audit { record, .. } => records.push(record),
            Effect::Send { message, .. } => messages.push(message),
            Effect::ReadJournal => {}
        }
    }
    (records, messages)
}

fn sends(effects: &[Effect]) -> Vec<&ClientMessage> {
    split(effects).1
}

fn audits(effects: &[Effect]) -> Vec<&Record> {
    split(effects).0
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

/// A live app (see [`live_app`]) with an agent selected.
fn live_with(with_my_leg: bool, agent_id: &str) -> App {
    let (mut app, _) = live_app(with_my_leg);
    select(&mut app, agent_id);
    app
}

/// The server's answer to a join: my leg l-31, on track 31.
fn joined_reply() -> Result<serde_json::Value, CommandFailure> {
    Ok(serde_json::json!({"leg_id": "l-31", "track": 31}))
}

/// The server's answer to any other command that worked.
fn ok_reply() -> Result<serde_json::Value, CommandFailure> {
    Ok(serde_json::json!({}))
}

fn call_ended(app: &mut App, call_id: &str, at: Timestamp, reason: CallEndReason) -> Vec<Effect> {
    let seq = next_seq(app);
    let ended = CallEnded {
        seq,
        call_id: call_id.into(),
        at,
        reason,
    };
    message(app, ServerMessage::CallEnded(ended))
}

/// The feed, not connected, trying again.
fn connecting(attempt: u32, retry_in: Duration, last_error: &str) -> Input {
    Input::Feed(FeedEvent::Connecting {
        attempt,
        retry_in,
        last_error: Some(last_error.into()),
    })
}

#[track_caller]
fn assert_notice(app: &App, words: &str) {
    let text = notice_text(app);
    assert!(text.contains(words), "{text}");
}
