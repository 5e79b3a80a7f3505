//! Parsed-but-hostile input for the state and the app: server messages about
//! agents, calls and legs that may not exist, `seq` numbers that jump, stall
//! or run backwards, replies to requests nobody sent, and a supervisor
//! mashing keys, clicking and resizing the terminal.

use super::mutate::{hostile_string, json_value};
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MediaKeyCode, ModifierKeyCode, MouseButton,
    MouseEvent, MouseEventKind,
};
use floorwalk_console::app::Input;
use floorwalk_console::feed::{CommandFailure, FeedEvent};
use floorwalk_protocol::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use std::time::Duration;

/// The supervisor the hostile server says we are (in most hellos).
pub const ME: &str = "sup-1";
/// 2026-11-21T09:14:03.250Z, around which most times fall.
pub const BASE_MS: i64 = 1_795_252_443_250;
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the RFC 3339 range,
/// so every generated time could have come over the wire.
pub const FIRST_MS: i64 = -62_135_596_800_000;
pub const LAST_MS: i64 = 253_402_300_799_999;

const AGENTS: &[&str] = &["a-1", "a-2", "a-3", "a-4"];
const CALLS: &[&str] = &["c-1", "c-2", "c-3"];
const LEGS: &[&str] = &["l-1", "l-2", "l-3", "l-4", "l-5", "l-6"];
const QUEUES: &[&str] = &["billing", "retention", "q-x"];
const TEAMS: &[&str] = &["billing", "retention", "sales"];
const USERS: &[&str] = &[ME, ME, "sup-2", "a-1", "a-2"];
const SESSIONS: &[&str] = &["s-1", "s-2"];

/// An id from a small pool (so events hit what exists), or anything at all.
fn id(pool: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        12 => prop::sample::select(pool).prop_map(str::to_owned),
        1 => hostile_string(),
    ]
}

fn text() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        3 => prop::sample::select(&["Alex Kim", "Priya Nair", "+1 ••• ••• 0134", "Customer"][..])
            .prop_map(str::to_owned),
        1 => hostile_string(),
    ]
}

pub fn timestamp() -> impl Strategy<Value = Timestamp> + Clone {
    prop_oneof![
        8 => (-3_600_000i64..3_600_000).prop_map(|d| Timestamp(BASE_MS + d)),
        1 => (FIRST_MS..=LAST_MS).prop_map(Timestamp),
        1 => prop::sample::select(&[FIRST_MS, LAST_MS, 0][..]).prop_map(Timestamp),
    ]
}

fn big_u32() -> impl Strategy<Value = u32> + Clone {
    prop_oneof![3 => 0..100u32, 1 => any::<u32>(), 1 => Just(u32::MAX)]
}

fn big_u64() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![3 => 0..10_000u64, 1 => any::<u64>(), 1 => Just(u64::MAX)]
}

fn duration() -> impl Strategy<Value = Duration> + Clone {
    prop_oneof![
        4 => (0..60_000u64).prop_map(Duration::from_millis),
        1 => any::<u64>().prop_map(Duration::from_millis),
        1 => Just(Duration::MAX),
    ]
}

fn agent() -> impl Strategy<Value = Agent> + Clone {
    let state = prop::sample::select(
        &[
            AgentState::Available,
            AgentState::OnCall,
            AgentState::WrapUp,
            AgentState::Away,
            AgentState::Offline,
            AgentState::Unknown,
        ][..],
    );
    (
        id(AGENTS),
        text(),
        id(TEAMS),
        state,
        timestamp(),
        option::of(id(CALLS)),
    )
        .prop_map(|(id, name, team, state, state_since, call_id)| Agent {
            id,
            name,
            team,
            state,
            state_since,
            call_id,
        })
}

fn mode() -> impl Strategy<Value = Mode> + Clone {
    prop::sample::select(&Mode::ALL[..])
}

fn leg() -> impl Strategy<Value = Leg> + Clone {
    let role = prop::sample::select(
        &[
            Role::Customer,
            Role::Agent,
            Role::Supervisor,
            Role::Supervisor,
            Role::Bot,
            Role::Unknown,
        ][..],
    );
    (
        id(LEGS),
        role,
        option::of(id(USERS)),
        text(),
        option::of(mode()),
        big_u32(),
        timestamp(),
    )
        .prop_map(|(id, role, user_id, name, mode, track, joined_at)| Leg {
            id,
            role,
            user_id,
            name,
            mode,
            track,
            joined_at,
        })
}

fn call() -> impl Strategy<Value = Call> + Clone {
    let direction =
        prop::sample::select(&[Direction::Inbound, Direction::Outbound, Direction::Unknown][..]);
    (
        id(CALLS),
        id(AGENTS),
        option::of(id(QUEUES)),
        direction,
        text(),
        timestamp(),
        any::<(bool, bool)>(),
        vec(leg(), 0..5),
    )
        .prop_map(
            |(id, agent_id, queue, direction, customer, started_at, (recording, on_hold), legs)| {
                Call {
                    id,
                    agent_id,
                    queue,
                    direction,
                    customer,
                    started_at,
                    recording,
                    on_hold,
                    legs,
                }
            },
        )
}

fn queue() -> impl Strategy<Value = Queue> + Clone {
    use prop::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    // Finite only: JSON has no NaN or infinity.
    let percent = prop_oneof![
        3 => 0.0..=100.0f64,
        1 => POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO,
    ];
    (id(QUEUES), text(), big_u32(), big_u64(), percent, big_u32()).prop_map(
        |(id, name, waiting, longest_wait_s, sla_percent, agents_available)| Queue {
            id,
            name,
            waiting,
            longest_wait_s,
            sla_percent,
            agents_available,
        },
    )
}

pub fn hello() -> impl Strategy<Value = Hello> + Clone {
    let supervisor = (
        prop_oneof![4 => Just(ME.to_owned()), 1 => id(USERS)],
        text(),
        vec(id(TEAMS), 0..3),
        any::<bool>(),
    )
        .prop_map(|(id, name, teams, can_end_calls)| Supervisor {
            id,
            name,
            teams,
            can_end_calls,
        });
    (
        text(),
        id(SESSIONS),
        timestamp(),
        big_u64(),
        big_u64(),
        supervisor,
    )
        .prop_map(
            |(server, session, now, heartbeat_ms, lease_ms, supervisor)| Hello {
                protocol: PROTOCOL_VERSION,
                server,
                session,
                now,
                heartbeat_ms,
                lease_ms,
                supervisor,
            },
        )
}

fn req() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        8 => (1..12u32).prop_map(|n| format!("r-{n}")),
        1 => hostile_string(),
    ]
}

fn reply_error() -> impl Strategy<Value = ReplyError> + Clone {
    let code = prop::sample::select(
        &[
            ErrorCode::Invalid,
            ErrorCode::NotFound,
            ErrorCode::Forbidden,
            ErrorCode::NotYourLeg,
            ErrorCode::BadConfirmation,
            ErrorCode::Conflict,
            ErrorCode::RateLimited,
            ErrorCode::Unavailable,
            ErrorCode::Unknown,
        ][..],
    );
    (code, text()).prop_map(|(code, message)| ReplyError { code, message })
}

/// A result as a server might send it: right, half right, or nonsense.
fn result_value() -> impl Strategy<Value = serde_json::Value> + Clone {
    prop_oneof![
        4 => (id(LEGS), big_u32()).prop_map(|(leg, track)| serde_json::json!({"leg_id": leg, "track": track})),
        2 => any::<bool>().prop_map(|left| serde_json::json!({"already_left": left})),
        1 => Just(serde_json::Value::Null),
        1 => json_value(),
    ]
}

/// A server message with `seq` 0: [`SeqStep`] numbers it when it is used.
pub fn server_message() -> impl Strategy<Value = ServerMessage> + Clone {
    use ServerMessage as M;
    let snapshot = (vec(agent(), 0..6), vec(call(), 0..4), vec(queue(), 0..3)).prop_map(
        |(agents, calls, queues)| {
            M::Snapshot(Snapshot {
                seq: 0,
                agents,
                calls,
                queues,
            })
        },
    );
    let call_end = prop::sample::select(
        &[
            CallEndReason::CustomerHangup,
            CallEndReason::AgentHangup,
            CallEndReason::EndedBySupervisor,
            CallEndReason::Transferred,
            CallEndReason::Failed,
            CallEndReason::Unknown,
        ][..],
    );
    let leg_left = prop::sample::select(
        &[
            LegLeftReason::Disconnected,
            LegLeftReason::CallEnded,
            LegLeftReason::LeaseExpired,
            LegLeftReason::Removed,
            LegLeftReason::Unknown,
        ][..],
    );
    let notice_level = prop::sample::select(
        &[
            NoticeLevel::Info,
            NoticeLevel::Warn,
            NoticeLevel::Error,
            NoticeLevel::Unknown,
        ][..],
    );
    let reachability =
        prop::sample::select(&[Reachability::Up, Reachability::Down, Reachability::Unknown][..]);
    prop_oneof![
        2 => snapshot,
        3 => agent().prop_map(|agent| M::Agent(AgentEvent { seq: 0, agent })),
        1 => queue().prop_map(|queue| M::Queue(QueueEvent { seq: 0, queue })),
        3 => call().prop_map(|call| M::CallStarted(CallEvent { seq: 0, call })),
        2 => call().prop_map(|call| M::CallUpdated(CallEvent { seq: 0, call })),
        2 => (id(CALLS), timestamp(), call_end).prop_map(|(call_id, at, reason)| {
            M::CallEnded(CallEnded { seq: 0, call_id, at, reason })
        }),
        3 => (id(CALLS), leg()).prop_map(|(call_id, leg)| M::LegJoined(LegJoined { seq: 0, call_id, leg })),
        2 => (id(CALLS), id(LEGS), mode(), timestamp()).prop_map(|(call_id, leg_id, mode, at)| {
            M::LegChanged(LegChanged { seq: 0, call_id, leg_id, mode, at })
        }),
        3 => (id(CALLS), id(LEGS), timestamp(), leg_left).prop_map(|(call_id, leg_id, at, reason)| {
            M::LegLeft(LegLeft { seq: 0, call_id, leg_id, at, reason })
        }),
        2 => (id(CALLS), id(LEGS), timestamp(), text(), any::<bool>()).prop_map(
            |(call_id, leg_id, at, text, is_final)| {
                M::Transcript(Transcript { seq: 0, call_id, leg_id, at, text, is_final })
            }
        ),
        2 => (req(), any::<bool>(), option::of(result_value()), option::of(reply_error()))
            .prop_map(|(req, ok, result, error)| M::Reply(Reply { req, ok, result, error })),
        1 => (notice_level, text()).prop_map(|(level, text)| M::Notice(Notice { level, text })),
        1 => (reachability, option::of(text()), timestamp()).prop_map(|(status, reason, since)| {
            M::FloorStatus(FloorStatus { status, reason, since })
        }),
        1 => hello().prop_map(M::Hello),
    ]
}

/// How the `seq` of the next state message relates to the last one sent.
#[derive(Debug, Clone, Copy)]
pub enum SeqStep {
    Next,
    Same,
    Back(u64),
    Jump(u64),
    Exactly(u64),
}

pub fn seq_step() -> impl Strategy<Value = SeqStep> + Clone {
    prop_oneof![
        16 => Just(SeqStep::Next),
        1 => Just(SeqStep::Same),
        1 => (1..5u64).prop_map(SeqStep::Back),
        1 => (2..10u64).prop_map(SeqStep::Jump),
        1 => prop_oneof![any::<u64>(), Just(u64::MAX), Just(0)].prop_map(SeqStep::Exactly),
    ]
}

impl SeqStep {
    /// The `seq` after `last` (which it then becomes).
    pub fn next(self, last: &mut u64) -> u64 {
        *last = match self {
            SeqStep::Next => last.wrapping_add(1),
            SeqStep::Same => *last,
            SeqStep::Back(n) => last.wrapping_sub(n),
            SeqStep::Jump(n) => last.wrapping_add(n),
            SeqStep::Exactly(n) => n,
        };
        *last
    }
}

/// Sets the `seq` of a state message or snapshot (others have none).
pub fn set_seq(message: &mut ServerMessage, seq: u64) {
    use ServerMessage as M;
    match message {
        M::Snapshot(m) => m.seq = seq,
        M::Agent(m) => m.seq = seq,
        M::Queue(m) => m.seq = seq,
        M::CallStarted(m) | M::CallUpdated(m) => m.seq = seq,
        M::CallEnded(m) => m.seq = seq,
        M::LegJoined(m) => m.seq = seq,
        M::LegChanged(m) => m.seq = seq,
        M::LegLeft(m) => m.seq = seq,
        M::Transcript(m) => m.seq = seq,
        M::Hello(_) | M::Reply(_) | M::Notice(_) | M::FloorStatus(_) => {}
    }
}

fn key_event() -> impl Strategy<Value = KeyEvent> + Clone {
    let mapped = prop::sample::select(
        &[
            'm', 'w', 'b', 'd', 'E', 'n', 'p', 'j', 'k', 'g', 'G', 's', '?', '/', 'y', 'Y', 'N',
            ' ', 'q', 'e', 'x',
        ][..],
    )
    .prop_map(KeyCode::Char);
    let named = prop::sample::select(
        &[
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Backspace,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::Insert,
            KeyCode::Delete,
            KeyCode::Null,
            KeyCode::CapsLock,
            KeyCode::Menu,
            KeyCode::KeypadBegin,
            KeyCode::Media(MediaKeyCode::Play),
            KeyCode::Modifier(ModifierKeyCode::LeftShift),
        ][..],
    );
    let code = prop_oneof![
        8 => mapped,
        3 => named,
        2 => any::<char>().prop_map(KeyCode::Char),
        1 => any::<u8>().prop_map(KeyCode::F),
    ];
    let modifiers = prop_oneof![
        6 => Just(KeyModifiers::NONE),
        1 => Just(KeyModifiers::SHIFT),
        1 => Just(KeyModifiers::CONTROL),
        1 => any::<u8>().prop_map(KeyModifiers::from_bits_truncate),
    ];
    let kind = prop_oneof![
        8 => Just(KeyEventKind::Press),
        1 => Just(KeyEventKind::Repeat),
        1 => Just(KeyEventKind::Release),
    ];
    (code, modifiers, kind)
        .prop_map(|(code, modifiers, kind)| KeyEvent::new_with_kind(code, modifiers, kind))
}

fn mouse_event() -> impl Strategy<Value = MouseEvent> + Clone {
    let button =
        prop::sample::select(&[MouseButton::Left, MouseButton::Right, MouseButton::Middle][..]);
    let kind = prop_oneof![
        4 => Just(MouseEventKind::Down(MouseButton::Left)),
        1 => button.clone().prop_map(MouseEventKind::Down),
        1 => button.clone().prop_map(MouseEventKind::Up),
        1 => button.prop_map(MouseEventKind::Drag),
        1 => Just(MouseEventKind::Moved),
        2 => Just(MouseEventKind::ScrollDown),
        2 => Just(MouseEventKind::ScrollUp),
        1 => Just(MouseEventKind::ScrollLeft),
    ];
    let coordinate = prop_oneof![4 => 0..60u16, 1 => any::<u16>()];
    (kind, coordinate.clone(), coordinate).prop_map(|(kind, column, row)| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

fn feed_event() -> impl Strategy<Value = FeedEvent> + Clone {
    let failure = prop_oneof![
        reply_error().prop_map(CommandFailure::Refused),
        duration().prop_map(CommandFailure::Timeout),
        Just(CommandFailure::Offline),
        text().prop_map(CommandFailure::NotRecorded),
    ];
    let outcome = prop_oneof![
        2 => result_value().prop_map(Ok),
        1 => failure.prop_map(Err),
    ];
    prop_oneof![
        2 => (hello(), any::<bool>()).prop_map(|(hello, resumed)| FeedEvent::Connected { hello, resumed }),
        1 => (any::<u32>(), duration(), option::of(text())).prop_map(|(attempt, retry_in, last_error)| {
            FeedEvent::Connecting { attempt, retry_in, last_error }
        }),
        4 => (req(), outcome, duration()).prop_map(|(req, outcome, latency)| {
            FeedEvent::Reply { req, outcome, latency }
        }),
        1 => duration().prop_map(FeedEvent::Rtt),
        1 => text().prop_map(FeedEvent::ProtocolError),
        1 => text().prop_map(FeedEvent::Fatal),
    ]
}

/// One thing that happens to the app.
#[derive(Debug, Clone)]
pub enum AppStep {
    /// Keys, mouse, resizes, ticks, audit failures, and feed events that
    /// are not server messages.
    Input(Input),
    /// A server message, numbered by its step.
    Message(ServerMessage, SeqStep),
    /// The local clock moves (backwards too: someone set the time).
    Clock(i64),
}

pub fn app_step() -> impl Strategy<Value = AppStep> + Clone {
    let size = prop_oneof![
        4 => (0..=300u16, 0..=120u16),
        1 => prop::sample::select(&[(20u16, 5u16), (1, 1), (0, 0), (40, 12), (39, 11), (120, 40)][..]),
        1 => (any::<u16>(), any::<u16>()),
    ];
    let input = prop_oneof![
        12 => (key_event(), duration()).prop_map(|(key, at)| Input::Key(key, at)),
        3 => mouse_event().prop_map(Input::Mouse),
        2 => size.prop_map(|(w, h)| Input::Resize(w, h)),
        2 => Just(Input::Tick),
        1 => text().prop_map(Input::AuditFailed),
        4 => feed_event().prop_map(Input::Feed),
    ];
    prop_oneof![
        10 => input.prop_map(AppStep::Input),
        12 => (server_message(), seq_step()).prop_map(|(m, s)| AppStep::Message(m, s)),
        2 => prop_oneof![4 => 0..30_000i64, 1 => -3_600_000i64..0, 1 => any::<i64>()].prop_map(AppStep::Clock),
    ]
}
