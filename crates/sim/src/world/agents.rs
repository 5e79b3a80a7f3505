//! Agents: what each does next, and their state changes.

use super::*;

impl World {
    pub(super) fn agent_due(&mut self, a: usize) {
        match self.agents[a].state {
            AgentState::Available => {
                let roll: f64 = self.rng.random();
                let outbound = self.teams[self.agents[a].team].outbound;
                if roll < 0.06 {
                    self.step_away(a, AgentState::Away);
                } else if roll < 0.075 {
                    self.step_away(a, AgentState::Offline);
                } else if roll < 0.075 + outbound {
                    let customer = names::masked_number(&mut self.rng);
                    let length = self.call_length();
                    self.start_call(a, Direction::Outbound, None, customer, 0, length);
                } else {
                    let idle = self.secs(20.0, 90.0);
                    self.agent_timer(a, idle);
                }
            }
            AgentState::WrapUp => {
                // A break or the end of a shift starts after a call, mostly.
                let roll: f64 = self.rng.random();
                if roll < 0.05 {
                    self.step_away(a, AgentState::Away);
                } else if roll < 0.06 {
                    self.step_away(a, AgentState::Offline);
                } else {
                    self.become_available(a);
                }
            }
            AgentState::Away | AgentState::Offline => self.become_available(a),
            AgentState::OnCall | AgentState::Unknown => {}
        }
    }

    /// A break (`Away`, minutes) or the end of a shift (`Offline`, longer).
    pub(super) fn step_away(&mut self, a: usize, state: AgentState) {
        let rest = if state == AgentState::Away {
            self.secs(60.0, 300.0)
        } else {
            self.secs(300.0, 1200.0)
        };
        self.set_agent(a, state, None);
        self.agent_timer(a, rest);
    }

    pub(super) fn become_available(&mut self, a: usize) {
        self.set_agent(a, AgentState::Available, None);
        let idle = self.secs(20.0, 90.0);
        self.agent_timer(a, idle);
    }

    /// Changes an agent's state and tells the floor.
    pub(super) fn set_agent(&mut self, a: usize, state: AgentState, call: Option<u64>) {
        self.set_agent_since(a, state, call, self.now());
    }

    pub(super) fn set_agent_since(
        &mut self,
        a: usize,
        state: AgentState,
        call: Option<u64>,
        since: Timestamp,
    ) {
        let agent = &mut self.agents[a];
        let team = &mut self.teams[agent.team];
        if agent.state == AgentState::Available {
            team.available_count -= 1;
        }
        agent.state = state;
        agent.epoch = agent.epoch.wrapping_add(1);
        agent.call = call;
        if state == AgentState::Available {
            team.available_count += 1;
            team.available.push_back((a, agent.epoch));
        }
        let message = ServerMessage::Agent(AgentEvent {
            seq: 0,
            agent: Agent {
                id: agent.id.clone(),
                name: agent.name.clone(),
                team: team.id.clone(),
                state,
                state_since: since,
                call_id: call.map(call_id),
            },
        });
        let team = agent.team;
        self.emit(team, message);
    }

    pub(super) fn agent_timer(&mut self, a: usize, after: i64) {
        let epoch = self.agents[a].epoch;
        self.schedule(after, Timer::Agent { agent: a, epoch });
    }
}
