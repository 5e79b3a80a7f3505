//! The large floors of the drawing benches: agents in four teams, calls
//! with a customer and an agent leg (and, on every seventh call, another
//! supervisor listening), and the console connected over them as me.
#![allow(dead_code)]

use floorwalk_console::app::{App, AppSettings, fixture};
use floorwalk_protocol::*;

pub const TEAMS: [&str; 4] = ["billing", "retention", "sales", "support"];

/// The legs of agent `i`'s call, from `track` up, joined at `joined`.
pub fn call_legs(
    i: usize,
    agent_id: &str,
    agent_name: &str,
    track: u32,
    joined: Timestamp,
) -> Vec<Leg> {
    let party = |suffix: &str, role, user, name: &str, mode, track| {
        let id = format!("l-{i}{suffix}");
        fixture::leg(&id, role, user, name, mode, track, joined)
    };
    let mut legs = vec![
        party("c", Role::Customer, None, "customer", None, track),
        party(
            "a",
            Role::Agent,
            Some(agent_id),
            agent_name,
            None,
            track + 1,
        ),
    ];
    if i % 7 == 0 {
        let other = Some(Mode::Silent);
        legs.push(party(
            "s",
            Role::Supervisor,
            Some("sup-2"),
            "Jorge Ortiz",
            other,
            track + 2,
        ));
    }
    legs
}

/// How every team's queue looks.
pub struct QueueLook {
    pub waiting: u32,
    pub sla_percent: f64,
    pub agents_available: u32,
}

/// The floor of `agents` and `calls`, with one queue per team.
pub fn floor(agents: Vec<Agent>, calls: Vec<Call>, look: &QueueLook) -> Snapshot {
    let queues = TEAMS
        .iter()
        .map(|team| Queue {
            id: format!("q-{team}"),
            name: (*team).into(),
            waiting: look.waiting,
            longest_wait_s: 42,
            sla_percent: look.sla_percent,
            agents_available: look.agents_available,
        })
        .collect();
    Snapshot {
        seq: 1,
        agents,
        calls,
        queues,
    }
}

/// The console at `size`, connected over `floor` as me (sup-1) in every
/// team, as the fixture of the app tests connects.
pub fn live_app(settings: AppSettings, floor: Snapshot, size: (u16, u16)) -> App {
    let me = Supervisor {
        teams: TEAMS.map(String::from).to_vec(),
        ..fixture::me()
    };
    fixture::connect_over(settings, me, floor, size).0
}
