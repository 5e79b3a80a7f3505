//! A fixed floor and clock for the app and view tests.

use super::{App, AppSettings, Effect, Input};
use crate::audit::{Record, RecordKind};
use crate::feed::FeedEvent;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};
use floorwalk_audio::engine::AudioEvent;
use floorwalk_protocol::*;
use std::time::Duration;

/// The fixed local (and server) time of every test: 2026-11-21T09:14:03.250Z.
pub const NOW: Timestamp = Timestamp(1_795_252_443_250);

/// The default talk key (space) as the terminal reports it.
pub fn space(kind: KeyEventKind) -> KeyEvent {
    KeyEvent {
        code: KeyCode::Char(' '),
        modifiers: KeyModifiers::NONE,
        kind,
        state: KeyEventState::NONE,
    }
}

pub fn ago(secs: i64) -> Timestamp {
    NOW.plus_millis(-secs * 1000)
}

pub fn me() -> Supervisor {
    Supervisor {
        id: "sup-1".into(),
        name: "Dana Ruiz".into(),
        teams: vec!["billing".into(), "retention".into()],
        can_end_calls: true,
    }
}

pub fn hello(supervisor: Supervisor) -> Hello {
    Hello {
        protocol: 1,
        server: "floorwalk-sim/0.1.0".into(),
        session: "s-8f2c".into(),
        now: NOW,
        heartbeat_ms: 5000,
        lease_ms: 15000,
        supervisor,
    }
}

fn agent(id: &str, name: &str, team: &str, state: AgentState, since_secs: i64) -> Agent {
    Agent {
        id: id.into(),
        name: name.into(),
        team: team.into(),
        state,
        state_since: ago(since_secs),
        call_id: None,
    }
}

pub fn leg(
    id: &str,
    role: Role,
    user: Option<&str>,
    name: &str,
    mode: Option<Mode>,
    track: u32,
    joined: Timestamp,
) -> Leg {
    Leg {
        id: id.into(),
        role,
        user_id: user.map(Into::into),
        name: name.into(),
        mode,
        track,
        joined_at: joined,
    }
}

/// My whisper leg on c-9, joined 2:10 ago.
pub fn my_leg() -> Leg {
    leg(
        "l-31",
        Role::Supervisor,
        Some("sup-1"),
        "Dana Ruiz",
        Some(Mode::Whisper),
        31,
        ago(130),
    )
}

/// A call, with the agent on it: on call since the call started.
struct CallSpec<'a> {
    id: &'a str,
    /// The agent's id, name and team.
    agent: (&'a str, &'a str, &'a str),
    queue: Option<&'a str>,
    direction: Direction,
    customer: &'a str,
    started_secs: i64,
    recording: bool,
    on_hold: bool,
}

/// The call (its legs: the customer on track `n`0, the agent on `n`1, then
/// `extra`) and its agent.
fn call(spec: CallSpec, n: u32, extra: Vec<Leg>) -> (Call, Agent) {
    let (agent_id, agent_name, team) = spec.agent;
    let started = ago(spec.started_secs);
    let customer = leg(
        &format!("l-{n}c"),
        Role::Customer,
        None,
        "customer",
        None,
        n * 10,
        started,
    );
    let agent_leg = leg(
        &format!("l-{n}a"),
        Role::Agent,
        Some(agent_id),
        agent_name,
        None,
        n * 10 + 1,
        started,
    );
    let mut legs = vec![customer, agent_leg];
    legs.extend(extra);
    let call = Call {
        id: spec.id.into(),
        agent_id: agent_id.into(),
        queue: spec.queue.map(Into::into),
        direction: spec.direction,
        customer: spec.customer.into(),
        started_at: started,
        recording: spec.recording,
        on_hold: spec.on_hold,
        legs,
    };
    let agent = Agent {
        call_id: Some(call.id.clone()),
        ..agent(
            agent_id,
            agent_name,
            team,
            AgentState::OnCall,
            spec.started_secs,
        )
    };
    (call, agent)
}

/// Twelve agents, six calls, two queues. With `with_my_leg`, I am on c-9
/// in whisper.
pub fn snapshot(with_my_leg: bool) -> Snapshot {
    use AgentState::*;
    let spec = |id, agent, queue, customer, started_secs, recording| CallSpec {
        id,
        agent,
        queue,
        direction: Direction::Inbound,
        customer,
        started_secs,
        recording,
        on_hold: false,
    };
    let mine = if with_my_leg { vec![my_leg()] } else { vec![] };
    let ortiz = leg(
        "l-40",
        Role::Supervisor,
        Some("sup-2"),
        "Jorge Ortiz",
        Some(Mode::Silent),
        40,
        ago(20),
    );
    let bot = leg("l-50", Role::Bot, None, "Ava", None, 50, ago(80));
    let alex = ("a-01", "Alex Kim", "billing");
    let priya = ("a-02", "Priya Nair", "billing");
    let maria = ("a-04", "Maria Gonzalez", "retention");
    let omar = ("a-07", "Omar Haddad", "billing");
    let ines = ("a-10", "Ines Duarte", "retention");
    let zoe = ("a-12", "Zoe Martin", "retention");
    let billing = Some("q-billing");
    let retention = Some("q-retention");
    let outbound = CallSpec {
        direction: Direction::Outbound,
        on_hold: true,
        ..spec("c-11", maria, None, "Jordan Smith", 605, false)
    };
    let (calls, mut agents): (Vec<Call>, Vec<Agent>) = [
        call(
            spec("c-9", alex, billing, "+1 555 201 0134", 252, true),
            1,
            mine,
        ),
        call(
            spec("c-10", priya, billing, "+44 7700 902210", 37, true),
            2,
            vec![ortiz],
        ),
        call(outbound, 3, vec![]),
        call(
            spec("c-12", omar, billing, "+1 555 877 4410", 90, true),
            4,
            vec![bot],
        ),
        call(
            spec("c-13", ines, retention, "+1 555 300 9921", 3725, true),
            5,
            vec![],
        ),
        call(
            spec("c-14", zoe, retention, "+1 555 610 7788", 12, false),
            6,
            vec![],
        ),
    ]
    .into_iter()
    .unzip();
    agents.extend([
        agent("a-03", "Sam Lee", "retention", Available, 95),
        agent("a-05", "Tom Becker", "billing", WrapUp, 20),
        agent("a-06", "Lena Fischer", "retention", Away, 1800),
        agent("a-08", "Yuki Tanaka", "retention", Offline, 7300),
        agent("a-09", "Chris Doyle", "billing", Available, 300),
        agent("a-11", "Ravi Patel", "billing", Available, 42),
    ]);
    agents.sort_by(|a, b| a.id.cmp(&b.id));
    let queues = vec![
        Queue {
            id: "q-billing".into(),
            name: "billing".into(),
            waiting: 3,
            longest_wait_s: 42,
            sla_percent: 92.0,
            agents_available: 2,
        },
        Queue {
            id: "q-retention".into(),
            name: "retention".into(),
            waiting: 0,
            longest_wait_s: 0,
            sla_percent: 100.0,
            agents_available: 1,
        },
    ];
    Snapshot {
        seq: 1000,
        agents,
        calls,
        queues,
    }
}

pub fn settings() -> AppSettings {
    AppSettings {
        server_label: "ws://127.0.0.1:7700/v1/supervisor".into(),
        audio_output: floorwalk_audio::endpoint::Endpoint::Default,
        audio_input: floorwalk_audio::endpoint::Endpoint::Default,
        ..AppSettings::default()
    }
}

/// A live app at 80x24 with the fixture floor applied; returns the app and
/// what connecting produced.
pub fn live_app(with_my_leg: bool) -> (App, Vec<Effect>) {
    connect(settings(), me(), with_my_leg, (80, 24))
}

pub fn connect(
    settings: AppSettings,
    supervisor: Supervisor,
    with_my_leg: bool,
    size: (u16, u16),
) -> (App, Vec<Effect>) {
    connect_over(settings, supervisor, snapshot(with_my_leg), size)
}

/// [`connect`] over any floor (the benchmarks' large ones).
pub fn connect_over(
    settings: AppSettings,
    supervisor: Supervisor,
    snapshot: Snapshot,
    size: (u16, u16),
) -> (App, Vec<Effect>) {
    let mut app = App::new(settings);
    let mut effects = Vec::new();
    for input in [
        Input::Resize(size.0, size.1),
        Input::Feed(FeedEvent::Connected {
            hello: hello(supervisor),
            resumed: false,
        }),
        Input::Feed(FeedEvent::Message(ServerMessage::Snapshot(snapshot))),
        Input::Feed(FeedEvent::Rtt(Duration::from_millis(12))),
        Input::Audio(AudioEvent::OutputReady {
            description: "default (48000 Hz, 2 ch, default buffer)".into(),
        }),
    ] {
        effects.extend(app.update(input, NOW));
    }
    (app, effects)
}

/// Today's journal as the fixture's console would have written it: a leg
/// of mine on c-9, left, and one on c-13, still on; plus a colleague's.
pub fn journal() -> Vec<Record> {
    let record = |kind, secs: i64, call: &str, leg: &str| {
        let mut record = Record::new(ago(secs), kind, "sup-1", call);
        record.server_at = Some(ago(secs).plus_millis(-40));
        record.leg_id = Some(leg.into());
        record.agent_id = Some("a-01".into());
        record.agent_name = Some("Alex Kim".into());
        record.mode = Some(Mode::Silent);
        record
    };
    let mut left = record(RecordKind::Left, 600, "c-9", "l-20");
    left.reason = Some("disconnected".into());
    let mut whisper = record(RecordKind::ModeChanged, 700, "c-9", "l-20");
    whisper.mode = Some(Mode::Whisper);
    let mut seen = Record::new(ago(1000), RecordKind::CallSeen, "sup-1", "c-9");
    seen.agent_id = Some("a-01".into());
    let mut colleague = record(RecordKind::Joined, 650, "c-9", "l-21");
    colleague.supervisor = "sup-2".into();
    vec![
        seen,
        record(RecordKind::JoinRequested, 900, "c-9", "l-20"),
        record(RecordKind::Joined, 900, "c-9", "l-20"),
        whisper,
        colleague,
        left,
        record(RecordKind::Joined, 120, "c-13", "l-30"),
    ]
}
