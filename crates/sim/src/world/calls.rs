//! Calls: their start, flags, transcripts and end.

use super::*;

impl World {
    /// A call's length in ticks: `min_call_secs` plus a few minutes at most.
    pub(super) fn call_length(&mut self) -> i64 {
        let u: f64 = self.rng.random_range(f64::EPSILON..1.0);
        let extra = (-u.ln() * EXTRA_CALL_MEAN_SECS).min(EXTRA_CALL_MAX_SECS);
        self.min_call_ticks + self.story_ticks(extra).max(TICKS_PER_SEC)
    }

    /// Starts a call that has been going for `elapsed` ticks and ends in
    /// `remaining`.
    pub(super) fn start_call(
        &mut self,
        a: usize,
        direction: Direction,
        queue: Option<usize>,
        customer: String,
        elapsed: i64,
        remaining: i64,
    ) {
        let n = self.next_call;
        self.next_call += 1;
        let team = self.agents[a].team;
        let started_at = self.ago(elapsed);
        let recording = self.rng.random_bool(0.85);
        // Transcripts follow the whole conversation (an event every 1.7 s
        // or so), so a fifth of the calls carry the bot: at 10,000 agents
        // that is about 700 transcript events a second.
        let transcribed = self.rng.random_bool(TRANSCRIBED);
        let mut legs = vec![
            self.world_leg(Role::Customer, None, "Customer".into(), started_at),
            self.world_leg(
                Role::Agent,
                Some(self.agents[a].id.clone()),
                self.agents[a].name.clone(),
                started_at,
            ),
        ];
        let transcript = transcribed.then(|| {
            legs.push(self.world_leg(Role::Bot, None, "Transcriber".into(), started_at));
            self.transcript_from(n, elapsed)
        });
        let first_transcript = transcript
            .as_ref()
            .map(|state| state.due(&self.library) - self.tick);
        let call = Call {
            id: call_id(n),
            agent_id: self.agents[a].id.clone(),
            queue: queue.map(|q| self.teams[q].id.clone()),
            direction,
            customer,
            started_at,
            recording,
            on_hold: false,
            legs,
        };
        self.calls.insert(
            n,
            SimCall {
                id: call.id.clone(),
                team,
                agent: a,
                customer_leg: call.legs[0].id.clone(),
                agent_leg: call.legs[1].id.clone(),
                transcript,
            },
        );
        self.emit(team, ServerMessage::CallStarted(CallEvent { seq: 0, call }));
        self.set_agent_since(a, AgentState::OnCall, Some(n), started_at);
        let remaining = remaining.max(1);
        self.schedule(remaining, Timer::CallEnd { call: n });
        if self.rng.random_bool(0.25) {
            let at = (remaining as f64 * self.rng.random_range(0.2..0.7)) as i64;
            self.schedule(
                at,
                Timer::Flag {
                    call: n,
                    flag: Flag::Hold,
                    on: true,
                },
            );
        }
        if recording && self.teams[team].id == "billing" && self.rng.random_bool(0.2) {
            let at = (remaining as f64 * self.rng.random_range(0.3..0.6)) as i64;
            let pause = Timer::Flag {
                call: n,
                flag: Flag::Recording,
                on: false,
            };
            self.schedule(at, pause);
        }
        if let Some(first) = first_transcript {
            self.schedule(first, Timer::Transcript { call: n });
        }
    }

    /// The transcript of call `n`, `elapsed` ticks in: lines already over
    /// are passed, and a line past its middle gets no interim text.
    pub(super) fn transcript_from(&self, n: u64, elapsed: i64) -> TranscriptState {
        let mut talk = Conversation::new(&self.library, self.seed, n);
        let frame = elapsed * TICK_MS / FRAME_MS;
        talk.at(&self.library, frame);
        let line = talk.line();
        TranscriptState {
            talk,
            start: self.tick - elapsed,
            interim_sent: frame >= line.start + i64::from(line.frames / 2),
        }
    }

    pub(super) fn world_leg(
        &mut self,
        role: Role,
        user_id: Option<String>,
        name: String,
        at: Timestamp,
    ) -> Leg {
        let track = self.next_track;
        self.next_track += 1;
        Leg {
            id: leg_id(track),
            role,
            user_id,
            name,
            mode: None,
            track,
            joined_at: at,
        }
    }

    /// Puts a call on hold or takes it off, pauses or resumes recording;
    /// a hold or a pause is undone a little later.
    pub(super) fn set_flag(&mut self, n: u64, flag: Flag, on: bool) {
        let Some(sim) = self.calls.get(&n) else {
            return;
        };
        let team = sim.team;
        let Some(mut call) = self.floor.calls.get(&sim.id).cloned() else {
            return;
        };
        match flag {
            Flag::Hold => call.on_hold = on,
            Flag::Recording => call.recording = on,
        }
        self.emit(team, ServerMessage::CallUpdated(CallEvent { seq: 0, call }));
        let (temporary, low, high) = match flag {
            Flag::Hold => (on, 15.0, 60.0),
            Flag::Recording => (!on, 15.0, 40.0),
        };
        if temporary {
            let after = self.secs(low, high);
            self.schedule(
                after,
                Timer::Flag {
                    call: n,
                    flag,
                    on: !on,
                },
            );
        }
    }

    /// Sends the interim or the final text of the line being spoken, and
    /// schedules the next.
    pub(super) fn transcribe(&mut self, n: u64) {
        let library = &self.library;
        let Some(sim) = self.calls.get_mut(&n) else {
            return;
        };
        let Some(state) = sim.transcript.as_mut() else {
            return;
        };
        let line = state.talk.line();
        let said = library.clip(line.clip).map_or("", |c| c.text);
        let leg_id = match line.role {
            Role::Customer => sim.customer_leg.clone(),
            _ => sim.agent_leg.clone(),
        };
        let (text, is_final) = if state.interim_sent || !has_interim(library, line.clip) {
            state.interim_sent = false;
            state.talk.advance(library);
            (said.to_string(), true)
        } else {
            state.interim_sent = true;
            (conversation::interim(said), false)
        };
        let next = state.due(library) - self.tick;
        let (team, call_id) = (sim.team, sim.id.clone());
        let at = self.now();
        self.emit(
            team,
            ServerMessage::Transcript(Transcript {
                seq: 0,
                call_id,
                leg_id,
                at,
                text,
                is_final,
            }),
        );
        self.schedule(next, Timer::Transcript { call: n });
    }

    /// Ends a call: supervisor legs leave first (reason `call_ended`), so an
    /// audit trail sees every leg's end; then `call_ended` removes the call
    /// with its customer, agent and bot legs; the agent wraps up.
    pub(super) fn finish_call(&mut self, n: u64, reason: CallEndReason, aftermath: &Aftermath) {
        let Some(sim) = self.calls.remove(&n) else {
            return;
        };
        let at = self.now();
        let supervisor_legs: Vec<String> = self
            .floor
            .calls
            .get(&sim.id)
            .map(|c| c.supervisor_legs().map(|l| l.id.clone()).collect())
            .unwrap_or_default();
        for leg in supervisor_legs {
            self.leg_left(sim.team, &sim.id, &leg, LegLeftReason::CallEnded);
        }
        for b in 0..self.bots.len() {
            if self.bots[b].on.as_ref().is_some_and(|(call, _)| *call == n) {
                self.bot_rests(b, aftermath.bot_rest);
            }
        }
        self.emit(
            sim.team,
            ServerMessage::CallEnded(CallEnded {
                seq: 0,
                call_id: sim.id,
                at,
                reason,
            }),
        );
        self.set_agent(sim.agent, AgentState::WrapUp, None);
        self.agent_timer(sim.agent, aftermath.wrap_up);
    }

    /// Emits `leg_left` and forgets who owned the leg.
    pub(super) fn leg_left(
        &mut self,
        team: usize,
        call_id: &str,
        leg_id: &str,
        reason: LegLeftReason,
    ) {
        self.console_legs.remove(leg_id);
        let at = self.now();
        self.emit(
            team,
            ServerMessage::LegLeft(LegLeft {
                seq: 0,
                call_id: call_id.to_string(),
                leg_id: leg_id.to_string(),
                at,
                reason,
            }),
        );
    }
}
