//! Small floors to test against: agents, calls with their two parties, and
//! queues, each made from a few words (feature `test-support`).

use crate::floor::{FloorCommand, FloorOutput, Joined, Outcome, TeamQueue, Ticket};
use floorwalk_protocol::{
    Agent, AgentState, Call, Direction, Leg, LegJoined, LegLeft, Queue, Role, ServerMessage,
    Timestamp,
};

/// An agent on a call since the epoch.
pub fn agent(id: &str, team: &str) -> Agent {
    Agent {
        id: id.into(),
        name: id.into(),
        team: team.into(),
        state: AgentState::OnCall,
        state_since: Timestamp::from_millis(0),
        call_id: None,
    }
}

/// A leg named `id` with no user and no mode.
pub fn party(id: &str, role: Role, track: u32) -> Leg {
    Leg {
        id: id.into(),
        role,
        user_id: None,
        name: id.into(),
        mode: None,
        track,
        joined_at: Timestamp::from_millis(0),
    }
}

/// A call of `agent`'s whose customer is leg `l-{track}` and whose agent is
/// `l-{track + 1}`.
pub fn call(id: &str, agent: &str, track: u32) -> Call {
    Call {
        id: id.into(),
        agent_id: agent.into(),
        queue: None,
        direction: Direction::Inbound,
        customer: "+1 ••• ••• 0134".into(),
        started_at: Timestamp::from_millis(0),
        recording: true,
        on_hold: false,
        legs: vec![
            party(&format!("l-{track}"), Role::Customer, track),
            Leg {
                user_id: Some(agent.into()),
                ..party(&format!("l-{}", track + 1), Role::Agent, track + 1)
            },
        ],
    }
}

/// A queue named after its team, with nobody waiting.
pub fn queue(team: &str) -> TeamQueue {
    TeamQueue {
        team: team.into(),
        queue: Queue {
            id: team.into(),
            name: team.into(),
            waiting: 0,
            longest_wait_s: 0,
            sla_percent: 100.0,
            agents_available: 0,
        },
    }
}

/// What an obedient floor tells for a command, in order, ending with its
/// `Done`: a join adds a supervisor leg on `track` (`l-{track}`), a leave
/// removes the leg, anything else just succeeds.
pub fn obey(ticket: Ticket, command: FloorCommand, track: u32) -> Vec<FloorOutput> {
    let at = Timestamp::from_millis(1);
    let (event, outcome) = match command {
        FloorCommand::Join {
            call_id,
            supervisor,
            mode,
            ..
        } => {
            let leg = Leg {
                user_id: Some(supervisor.id),
                mode: Some(mode),
                ..party(&format!("l-{track}"), Role::Supervisor, track)
            };
            let joined = Joined {
                leg_id: leg.id.clone(),
                track,
            };
            let event = ServerMessage::LegJoined(LegJoined {
                seq: 0,
                call_id,
                leg,
            });
            (Some(event), Outcome::Joined(joined))
        }
        FloorCommand::Leave {
            call_id,
            leg_id,
            reason,
        } => {
            let event = ServerMessage::LegLeft(LegLeft {
                seq: 0,
                call_id,
                leg_id,
                at,
                reason,
            });
            (Some(event), Outcome::Done)
        }
        FloorCommand::SetMode { .. } | FloorCommand::EndCall { .. } => (None, Outcome::Done),
    };
    let done = FloorOutput::Done {
        ticket,
        outcome: Ok(outcome),
    };
    event
        .map(FloorOutput::Event)
        .into_iter()
        .chain([done])
        .collect()
}
