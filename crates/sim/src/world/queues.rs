//! Queues: callers arriving, giving up and reaching agents, and the figures.

use super::*;

impl World {
    pub(super) fn arrivals(&mut self, team: usize) {
        let staffed = self.teams[team].agents.len() as f64 * STAFFED;
        let handle_secs = self.min_call_ticks as f64 / TICKS_PER_SEC as f64
            + (EXTRA_CALL_MEAN_SECS + MEAN_WRAP_UP_SECS) / self.speed;
        let per_tick = staffed * self.teams[team].load / handle_secs / TICKS_PER_SEC as f64;
        for _ in 0..poisson(&mut self.rng, per_tick) {
            self.add_caller(team, self.tick);
        }
    }

    pub(super) fn add_caller(&mut self, team: usize, since: i64) {
        let customer = names::masked_number(&mut self.rng);
        let patience = self.secs(45.0, 240.0);
        self.teams[team].waiting.push_back(Caller {
            since,
            customer,
            gives_up: since + patience,
        });
    }

    pub(super) fn abandonments(&mut self, team: usize) {
        let tick = self.tick;
        let team = &mut self.teams[team];
        let before = team.waiting.len();
        team.waiting.retain(|caller| caller.gives_up > tick);
        for _ in team.waiting.len()..before {
            record_outcome(&mut team.outcomes, false);
        }
    }

    /// Connects waiting callers to the longest-idle agents.
    pub(super) fn dispatch(&mut self, team: usize) {
        while !self.teams[team].waiting.is_empty() {
            let Some(agent) = self.next_available(team) else {
                return;
            };
            let Some(caller) = self.teams[team].waiting.pop_front() else {
                return;
            };
            let answered_in_time = self.tick - caller.since <= SLA_SECS * TICKS_PER_SEC;
            record_outcome(&mut self.teams[team].outcomes, answered_in_time);
            let length = self.call_length();
            self.start_call(
                agent,
                Direction::Inbound,
                Some(team),
                caller.customer,
                0,
                length,
            );
        }
    }

    pub(super) fn next_available(&mut self, team: usize) -> Option<usize> {
        while let Some((a, epoch)) = self.teams[team].available.pop_front() {
            let agent = &self.agents[a];
            if agent.epoch == epoch && agent.state == AgentState::Available {
                return Some(a);
            }
        }
        None
    }

    pub(super) fn queue_figures(&self, team: usize) -> Queue {
        let t = &self.teams[team];
        let within = t.outcomes.iter().filter(|ok| **ok).count();
        let sla = if t.outcomes.is_empty() {
            100.0
        } else {
            (within as f64 * 1000.0 / t.outcomes.len() as f64).round() / 10.0
        };
        Queue {
            id: t.id.clone(),
            name: t.id.clone(),
            waiting: u32::try_from(t.waiting.len()).unwrap_or(u32::MAX),
            longest_wait_s: t.waiting.front().map_or(0, |c| {
                u64::try_from((self.tick - c.since) / TICKS_PER_SEC).unwrap_or(0)
            }),
            sla_percent: sla,
            agents_available: t.available_count,
        }
    }

    /// Sends the queue's figures if they changed.
    pub(super) fn publish_queue(&mut self, team: usize) {
        let queue = self.queue_figures(team);
        if self.floor.queues.get(&queue.id) != Some(&queue) {
            self.emit(team, ServerMessage::Queue(QueueEvent { seq: 0, queue }));
        }
    }
}
