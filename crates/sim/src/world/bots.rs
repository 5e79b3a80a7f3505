//! Simulated supervisors who drop in on calls, not driven by any console.

use super::*;

impl World {
    pub(super) fn bot_due(&mut self, b: usize) {
        match self.bots[b].on.clone() {
            None => self.bot_visits(b),
            Some((n, leg)) => {
                let Some(team) = self.calls.get(&n).map(|c| c.team) else {
                    return;
                };
                if self.rng.random_bool(0.3) {
                    let mode = self.bot_mode();
                    let current = self.floor.find_leg(&leg).and_then(|(_, l)| l.mode);
                    if current != Some(mode) {
                        let at = self.now();
                        let call_id = call_id(n);
                        self.emit(
                            team,
                            ServerMessage::LegChanged(LegChanged {
                                seq: 0,
                                call_id,
                                leg_id: leg,
                                mode,
                                at,
                            }),
                        );
                    }
                    let stay = self.secs(15.0, 60.0);
                    self.bot_timer(b, stay);
                } else {
                    self.leg_left(team, &call_id(n), &leg, LegLeftReason::Disconnected);
                    let rest = self.secs(30.0, 180.0);
                    self.bot_rests(b, rest);
                }
            }
        }
    }

    /// Looks in on a random agent of the bot's teams; joins if on a call.
    pub(super) fn bot_visits(&mut self, b: usize) {
        let target = self.bots[b]
            .teams
            .choose(&mut self.rng)
            .and_then(|team| self.teams[*team].agents.choose(&mut self.rng))
            .and_then(|a| self.agents[*a].call);
        let Some(n) = target else {
            let retry = self.secs(5.0, 20.0);
            self.bot_timer(b, retry);
            return;
        };
        let mode = self.bot_mode();
        let track = self.next_track;
        self.next_track += 1;
        let leg = Leg {
            id: leg_id(track),
            role: Role::Supervisor,
            user_id: Some(self.bots[b].id.clone()),
            name: self.bots[b].name.clone(),
            mode: Some(mode),
            track,
            joined_at: self.now(),
        };
        let team = self.calls.get(&n).map_or(0, |c| c.team);
        self.bots[b].on = Some((n, leg.id.clone()));
        self.emit(
            team,
            ServerMessage::LegJoined(LegJoined {
                seq: 0,
                call_id: call_id(n),
                leg,
            }),
        );
        let stay = self.secs(20.0, 120.0);
        self.bot_timer(b, stay);
    }

    pub(super) fn bot_mode(&mut self) -> Mode {
        let roll: f64 = self.rng.random();
        if roll < 0.7 {
            Mode::Silent
        } else if roll < 0.9 {
            Mode::Whisper
        } else {
            Mode::Barge
        }
    }

    pub(super) fn bot_rests(&mut self, b: usize, after: i64) {
        self.bots[b].on = None;
        self.bots[b].epoch = self.bots[b].epoch.wrapping_add(1);
        self.bot_timer(b, after);
    }

    pub(super) fn bot_timer(&mut self, b: usize, after: i64) {
        let epoch = self.bots[b].epoch;
        self.schedule(after, Timer::Bot { bot: b, epoch });
    }
}
