//! The gateway's one task that owns the floor: it reads ARI's events into
//! the mirror ([`Pbx`]), tells the changes ([`Board`]), starts the work
//! for commands (each call's commands one at a time, every call in
//! parallel), keeps the objects it made per leg and per call, and when
//! ARI goes away says so, keeps trying, and rebuilds the floor from what
//! Asterisk has when it is back.

use crate::ari::{Event, EventSocket, Heard, Rest};
use crate::board::Board;
use crate::media::Lost;
use crate::model::{Marks, Pbx};
use crate::roster::Roster;
use crate::work::{self, CallChannels, Ears, Objects, Sinks, Voice};
use floorwalk_protocol::{CallEndReason, ErrorCode, Leg, LegLeftReason, Mode, Role, Timestamp};
use floorwalk_server::{FloorCommand, FloorError, FloorOutput, Health, Joined, Outcome, Ticket};
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Bytes;

/// How often queue figures are polled and waits re-counted.
const TICK: Duration = Duration::from_secs(1);
/// How long an ended call may take to leave the floor after its hang-up.
const END_PATIENCE: Duration = Duration::from_secs(5);
/// Every this many ticks, objects of the gateway's that nothing owns are
/// removed (a request that timed out yet was carried out, say).
const SWEEP_EVERY: u64 = 5;
/// How long a vanished channel of the gateway's waits for its call's end
/// to explain it.
const VANISHED_SETTLE: Duration = Duration::from_millis(300);
/// Reconnect backoff toward ARI.
const BACKOFF_FIRST: Duration = Duration::from_millis(250);
const BACKOFF_MOST: Duration = Duration::from_secs(5);

/// Who the gateway is on Asterisk, and what it plays there.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The ARI application its events socket, snoops and media channels use.
    pub app: String,
    /// Every object it makes starts with this (e.g. `floorwalk-gw1-`).
    pub prefix: String,
    /// The Asterisk sound a join with `announce` plays to the customer.
    pub notice_sound: String,
}

/// What the floor hands the driver.
#[derive(Debug)]
pub enum Order {
    Command(Ticket, FloorCommand),
    Talk { leg_id: String, frame: Bytes },
    Close(oneshot::Sender<()>),
}

struct LiveLeg {
    call_id: String,
    mode: Mode,
    prefix: String,
    voice: Voice,
}

struct CallEars {
    ears: Ears,
}

/// A join's work, done or failed.
struct JoinWork {
    ticket: Ticket,
    call_id: String,
    leg: Leg,
    prefix: String,
    ears_prefix: Option<String>,
    ears: Option<Result<Ears, String>>,
    voice: Result<Voice, String>,
}

/// Work that finished, back to the driver.
enum Finished {
    Joined(Box<JoinWork>),
    ModeSet {
        ticket: Ticket,
        call_id: String,
        leg_id: String,
        from: Mode,
        to: Mode,
        result: Result<(), String>,
    },
    Hung {
        ticket: Ticket,
        call_id: String,
        result: Result<(), String>,
    },
    Connected(Result<Box<Loaded>, String>),
    Free(Vec<(String, u32)>),
}

struct Loaded {
    socket: EventSocket,
    channels: Vec<crate::ari::Channel>,
    bridges: Vec<crate::ari::Bridge>,
    devices: Vec<(String, String)>,
}

pub struct Driver {
    rest: Rest,
    me: Identity,
    marks: Marks,
    roster: Roster,
    pbx: Pbx,
    board: Board,
    out: mpsc::UnboundedSender<FloorOutput>,
    sinks: Sinks,
    lost: mpsc::UnboundedReceiver<Lost>,
    finished_tx: mpsc::UnboundedSender<Finished>,
    finished: mpsc::UnboundedReceiver<Finished>,
    socket: Option<EventSocket>,
    /// `Some(reason)` while ARI is unreachable.
    down: Option<String>,
    connecting: bool,
    backoff: Duration,
    legs: HashMap<String, LiveLeg>,
    ears: HashMap<String, CallEars>,
    /// Calls with work in flight, and the commands waiting behind it.
    busy: HashMap<String, VecDeque<(Ticket, FloorCommand)>>,
    /// Prefixes of objects being made (not to be swept).
    making: HashSet<String>,
    /// Monitoring notices playing, by playback id: who waits for the end.
    notices: HashMap<String, oneshot::Sender<String>>,
    /// Calls a supervisor ended: their tickets and deadlines.
    ending: HashMap<String, (Ticket, tokio::time::Instant)>,
    ended_by_supervisor: HashSet<String>,
    next_leg: u64,
    next_ears: u64,
    polling: bool,
    /// The gateway's channels that went away unasked, and when: the legs
    /// that needed them leave at the next tick unless their call ended
    /// meanwhile (a party hanging up takes its snoops first).
    vanished: Vec<(String, tokio::time::Instant)>,
    ticks: u64,
    /// This run's mark in object ids, so that nothing it makes is taken
    /// for what the sweep of a previous run's leftovers is removing.
    run: String,
}

impl Driver {
    /// Connects for the first time. ARI refusing the user or password is
    /// an error; an Asterisk that is not there yet is not: the gateway
    /// starts with the floor down and keeps trying.
    pub async fn start(
        rest: Rest,
        me: Identity,
        marks: Marks,
        roster: Roster,
        out: mpsc::UnboundedSender<FloorOutput>,
        audio: mpsc::Sender<FloorOutput>,
    ) -> anyhow::Result<Self> {
        let (lost_tx, lost) = mpsc::unbounded_channel();
        let (finished_tx, finished) = mpsc::unbounded_channel();
        let run = run_mark();
        // An application of this run's own: registering the name a killed
        // gateway's dying events socket still held makes Asterisk "replace"
        // it, which can stall the new socket's handshake (seen with 22.10.1).
        let me = Identity {
            app: format!("{}-{run}", me.app),
            ..me
        };
        let mut driver = Self {
            rest,
            me,
            marks,
            roster,
            pbx: Pbx::default(),
            board: Board::default(),
            out,
            sinks: Sinks {
                audio,
                lost: lost_tx,
            },
            lost,
            finished_tx,
            finished,
            socket: None,
            down: None,
            connecting: false,
            backoff: BACKOFF_FIRST,
            legs: HashMap::new(),
            ears: HashMap::new(),
            busy: HashMap::new(),
            making: HashSet::new(),
            notices: HashMap::new(),
            ending: HashMap::new(),
            ended_by_supervisor: HashSet::new(),
            next_leg: 0,
            next_ears: 0,
            polling: false,
            vanished: Vec::new(),
            ticks: 0,
            run,
        };
        match connect(&driver.rest, &driver.me.app).await {
            Ok(loaded) => driver.connected(loaded).await,
            Err(e) if e.contains("HTTP 401") || e.contains("HTTP 403") => {
                anyhow::bail!("ARI refused the gateway: {e} (check the ARI user and password)")
            }
            Err(e) => {
                tracing::warn!(error = %e, "Asterisk is not reachable yet; the floor starts down");
                driver.down = Some(e);
            }
        }
        Ok(driver)
    }

    /// The floor as it stands, for the core's start.
    pub fn state(&self) -> floorwalk_server::FloorState {
        self.board.state()
    }

    /// Whether the floor starts down, and why.
    pub fn down(&self) -> Option<&str> {
        self.down.as_deref()
    }

    fn emit(&self, output: FloorOutput) {
        // The floor is gone only when the server stops.
        let _ = self.out.send(output);
    }

    fn done(&self, ticket: Ticket, outcome: Result<Outcome, FloorError>) {
        self.emit(FloorOutput::Done { ticket, outcome });
    }

    pub async fn run(mut self, mut orders: mpsc::UnboundedReceiver<Order>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut retry = Box::pin(tokio::time::sleep(Duration::ZERO));
        loop {
            let reconnect = self.socket.is_none() && !self.connecting;
            tokio::select! {
                heard = next_event(&mut self.socket) => self.heard(heard).await,
                order = orders.recv() => match order {
                    Some(Order::Close(done)) => {
                        self.close().await;
                        let _ = done.send(());
                        return;
                    }
                    Some(order) => self.order(order),
                    None => {
                        self.close().await;
                        return;
                    }
                },
                Some(finished) = self.finished.recv() => self.finish(finished).await,
                Some(lost) = self.lost.recv() => self.media_lost(&lost),
                () = &mut retry, if reconnect => {
                    self.connecting = true;
                    let (rest, app, tx) = (self.rest.clone(), self.me.app.clone(), self.finished_tx.clone());
                    tokio::spawn(async move {
                        let _ = tx.send(Finished::Connected(connect(&rest, &app).await.map(Box::new)));
                    });
                    retry.as_mut().reset(tokio::time::Instant::now() + self.backoff);
                    self.backoff = (self.backoff * 2).min(BACKOFF_MOST);
                }
                _ = tick.tick() => self.tick(),
            }
        }
    }

    async fn heard(&mut self, heard: Heard) {
        match heard {
            Heard::Event(event) => {
                let now = Timestamp::now();
                if let Event::PlaybackFinished { playback } = event.as_ref()
                    && let Some(waiting) = self.notices.remove(&playback.id)
                {
                    let _ = waiting.send(playback.state.clone());
                }
                if let Event::ChannelDestroyed { channel } = event.as_ref()
                    && channel.id.starts_with(&self.me.prefix)
                {
                    self.vanished
                        .push((channel.id.clone(), tokio::time::Instant::now()));
                }
                self.pbx.apply(&event, &self.marks, now);
                self.sync(now);
            }
            Heard::Bad(bad) => tracing::warn!(%bad, "skipped an ARI event"),
            Heard::Closed(why) => {
                tracing::warn!(%why, "lost ARI; reconnecting");
                self.socket = None;
                self.backoff = BACKOFF_FIRST;
                self.set_down(why);
            }
        }
    }

    fn set_down(&mut self, why: String) {
        if self.down.is_none() {
            self.emit(FloorOutput::Health(Health::Down(why.clone())));
        }
        self.down = Some(why);
    }

    /// Compares the floor with Asterisk's and tells the difference; cleans
    /// up after calls that ended under a supervisor.
    fn sync(&mut self, now: Timestamp) {
        let prefix = self.me.prefix.clone();
        let ours = move |id: &str| id.starts_with(&prefix);
        let view = self.pbx.view(&self.marks, &self.roster, &ours, now);
        let supervisor_ended = &self.ended_by_supervisor;
        let pbx = &self.pbx;
        let ended = |call: &crate::model::PartyCall| {
            if supervisor_ended.contains(&call.id) {
                CallEndReason::EndedBySupervisor
            } else {
                pbx.end_reason(call)
            }
        };
        for output in self.board.sync(&view, now, &ended) {
            self.emit(output);
        }
        // Legs and ears of calls that are gone: the board told it already.
        let gone = self.off_the_floor(&self.legs, |_, leg| &leg.call_id);
        for leg_id in gone {
            tracing::info!(%leg_id, "the leg's call ended");
            if let Some(leg) = self.legs.remove(&leg_id) {
                self.discard(leg.voice.objects);
            }
        }
        let deaf = self.off_the_floor(&self.ears, |call, _| call);
        for call in deaf {
            if let Some(ears) = self.ears.remove(&call) {
                self.discard(ears.ears.objects);
            }
        }
        let ended = self.off_the_floor(&self.ending, |call, _| call);
        for call in ended {
            if let Some((ticket, _)) = self.ending.remove(&call) {
                self.done(ticket, Ok(Outcome::Done));
                self.next_for(&call);
            }
        }
        self.ended_by_supervisor
            .retain(|call| self.ending.contains_key(call) || self.board.call(call).is_some());
    }

    /// The keys of `map` whose call is no longer on the floor.
    fn off_the_floor<'a, V>(
        &self,
        map: &'a HashMap<String, V>,
        call_of: impl Fn(&'a String, &'a V) -> &'a str,
    ) -> Vec<String> {
        map.iter()
            .filter(|(key, value)| self.board.call(call_of(key, value)).is_none())
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Deletes objects in the background (the pumps are already dropped).
    fn discard(&self, objects: Objects) {
        let rest = self.rest.clone();
        tokio::spawn(async move { work::remove(&rest, &objects).await });
    }

    fn order(&mut self, order: Order) {
        match order {
            Order::Command(ticket, command) => self.command(ticket, command),
            Order::Talk { leg_id, frame } => {
                if let Some(leg) = self.legs.get(&leg_id) {
                    // A full queue means the channel is behind: drop, it is real time.
                    let _ = leg.voice.talk.try_send(frame);
                }
            }
            Order::Close(_) => {}
        }
    }

    fn command(&mut self, ticket: Ticket, command: FloorCommand) {
        if let FloorCommand::Leave {
            call_id,
            leg_id,
            reason,
        } = command
        {
            // Leaving never waits: the leg is gone for everyone at once and
            // its objects go in the background (or with the next sweep).
            self.leave(&call_id, &leg_id, reason);
            self.done(ticket, Ok(Outcome::Done));
            return;
        }
        let call_id = match &command {
            FloorCommand::Join { call_id, .. }
            | FloorCommand::SetMode { call_id, .. }
            | FloorCommand::EndCall { call_id } => call_id.clone(),
            FloorCommand::Leave { .. } => return,
        };
        if let Some(queue) = self.busy.get_mut(&call_id) {
            queue.push_back((ticket, command));
            return;
        }
        self.busy.insert(call_id.clone(), VecDeque::new());
        self.start_work(ticket, command);
    }

    /// Starts the next command waiting for `call_id`, or marks it idle.
    fn next_for(&mut self, call_id: &str) {
        let next = self.busy.get_mut(call_id).and_then(VecDeque::pop_front);
        match next {
            Some((ticket, command)) => self.start_work(ticket, command),
            None => {
                self.busy.remove(call_id);
                self.drop_unused_ears(call_id);
            }
        }
    }

    fn refuse(&mut self, ticket: Ticket, call_id: &str, code: ErrorCode, message: String) {
        self.done(ticket, Err(FloorError::new(code, message)));
        self.next_for(call_id);
    }

    fn call_channels(&self, call_id: &str) -> Option<CallChannels> {
        let call = self.board.call(call_id)?;
        let parties = self.board.parties(call_id)?;
        let track = |role| call.leg_with_role(role).map_or(0, |l| l.track);
        Some(CallChannels {
            call_id: call_id.to_owned(),
            agent: parties.agent.clone(),
            customer: parties.customer.clone(),
            agent_track: track(Role::Agent),
            customer_track: track(Role::Customer),
        })
    }

    fn start_work(&mut self, ticket: Ticket, command: FloorCommand) {
        match command {
            FloorCommand::Join {
                call_id,
                supervisor,
                mode,
                announce,
            } => {
                let Some(channels) = self.call_channels(&call_id) else {
                    return self.refuse(
                        ticket,
                        &call_id,
                        ErrorCode::NotFound,
                        format!("call {call_id} is not on the floor"),
                    );
                };
                if let Some(reason) = &self.down {
                    let message = format!("the contact center is unreachable: {reason}");
                    return self.refuse(ticket, &call_id, ErrorCode::Unavailable, message);
                }
                self.next_leg += 1;
                let leg_id = format!("l{}", self.next_leg);
                let prefix = format!("{}{}{leg_id}-", self.me.prefix, self.run);
                let ears_prefix = (!self.ears.contains_key(&call_id)).then(|| {
                    self.next_ears += 1;
                    format!("{}{}e{}-", self.me.prefix, self.run, self.next_ears)
                });
                self.making.insert(prefix.clone());
                if let Some(p) = &ears_prefix {
                    self.making.insert(p.clone());
                }
                let leg = Leg {
                    id: leg_id,
                    role: Role::Supervisor,
                    user_id: Some(supervisor.id.clone()),
                    name: supervisor.name.clone(),
                    mode: Some(mode),
                    track: self.board.supervisor_track(),
                    joined_at: Timestamp::now(),
                };
                let (rest, app, sinks, tx) = (
                    self.rest.clone(),
                    self.me.app.clone(),
                    self.sinks.clone(),
                    self.finished_tx.clone(),
                );
                let notice = announce.then(|| {
                    let (waiting, finished) = oneshot::channel();
                    self.notices.insert(work::notice_playback(&prefix), waiting);
                    (self.me.notice_sound.clone(), finished)
                });
                tokio::spawn(async move {
                    // The customer is told before anyone listens; no
                    // notice, no leg.
                    let unannounced = match notice {
                        Some((sound, finished)) => {
                            work::announce(&rest, &app, &prefix, &channels, &sound, finished)
                                .await
                                .err()
                        }
                        None => None,
                    };
                    let (ears, voice) = match unannounced {
                        Some(e) => (None, Err(e)),
                        None => {
                            let ears = match &ears_prefix {
                                Some(p) => {
                                    Some(work::ears(&rest, &app, p, &channels, &sinks).await)
                                }
                                None => None,
                            };
                            let voice = if matches!(ears, Some(Err(_))) {
                                Err("not attempted".to_owned())
                            } else {
                                work::voice(&rest, &app, &prefix, &channels, mode, &sinks).await
                            };
                            (ears, voice)
                        }
                    };
                    let _ = tx.send(Finished::Joined(Box::new(JoinWork {
                        ticket,
                        call_id: channels.call_id.clone(),
                        leg,
                        prefix,
                        ears_prefix,
                        ears,
                        voice,
                    })));
                });
            }
            FloorCommand::SetMode {
                call_id,
                leg_id,
                mode,
            } => {
                let Some(leg) = self.legs.get(&leg_id) else {
                    return self.refuse(
                        ticket,
                        &call_id,
                        ErrorCode::NotFound,
                        format!("leg {leg_id} is not on call {call_id}"),
                    );
                };
                let (rest, prefix, from, tx) = (
                    self.rest.clone(),
                    leg.prefix.clone(),
                    leg.mode,
                    self.finished_tx.clone(),
                );
                tokio::spawn(async move {
                    let result = work::open_paths(&rest, &prefix, Some(from), mode)
                        .await
                        .map_err(|e| e.to_string());
                    let _ = tx.send(Finished::ModeSet {
                        ticket,
                        call_id,
                        leg_id,
                        from,
                        to: mode,
                        result,
                    });
                });
            }
            FloorCommand::EndCall { call_id } => {
                let Some(channels) = self.call_channels(&call_id) else {
                    return self.refuse(
                        ticket,
                        &call_id,
                        ErrorCode::NotFound,
                        format!("call {call_id} is not on the floor"),
                    );
                };
                self.ended_by_supervisor.insert(call_id.clone());
                let (rest, tx) = (self.rest.clone(), self.finished_tx.clone());
                tokio::spawn(async move {
                    let result = work::end_call(&rest, &channels).await;
                    let _ = tx.send(Finished::Hung {
                        ticket,
                        call_id,
                        result,
                    });
                });
            }
            FloorCommand::Leave { .. } => {}
        }
    }

    async fn finish(&mut self, finished: Finished) {
        match finished {
            Finished::Joined(work) => {
                let JoinWork {
                    ticket,
                    call_id,
                    leg,
                    prefix,
                    ears_prefix,
                    ears,
                    voice,
                } = *work;
                self.making.remove(&prefix);
                self.notices.remove(&work::notice_playback(&prefix));
                if let Some(p) = &ears_prefix {
                    self.making.remove(p);
                }
                self.joined(ticket, &call_id, leg, prefix, ears, voice);
            }
            Finished::ModeSet {
                ticket,
                call_id,
                leg_id,
                from,
                to,
                result,
            } => {
                let outcome = match (result, self.legs.get_mut(&leg_id)) {
                    (_, None) => Err(FloorError::new(
                        ErrorCode::NotFound,
                        format!("leg {leg_id} left meanwhile"),
                    )),
                    (Ok(()), Some(leg)) => {
                        leg.mode = to;
                        if let Some(event) =
                            self.board.change(&call_id, &leg_id, to, Timestamp::now())
                        {
                            self.emit(FloorOutput::Event(event));
                        }
                        Ok(Outcome::Done)
                    }
                    (Err(e), Some(_)) => {
                        // Back to the paths of the mode the leg is still in.
                        let (rest, prefix) = (self.rest.clone(), self.legs[&leg_id].prefix.clone());
                        tokio::spawn(async move {
                            if let Err(e) = work::open_paths(&rest, &prefix, Some(to), from).await {
                                tracing::error!(%e, "cannot restore the whisper paths after a failed switch");
                            }
                        });
                        Err(FloorError::new(
                            ErrorCode::Unavailable,
                            format!("cannot switch to {to}: {e}"),
                        ))
                    }
                };
                self.done(ticket, outcome);
                self.next_for(&call_id);
            }
            Finished::Hung {
                ticket,
                call_id,
                result,
            } => match result {
                Ok(()) if self.board.call(&call_id).is_some() => {
                    self.ending.insert(
                        call_id,
                        (ticket, tokio::time::Instant::now() + END_PATIENCE),
                    );
                }
                Ok(()) => {
                    self.done(ticket, Ok(Outcome::Done));
                    self.next_for(&call_id);
                }
                Err(e) => {
                    self.ended_by_supervisor.remove(&call_id);
                    let message = format!("cannot end the call: {e}");
                    self.refuse(ticket, &call_id, ErrorCode::Unavailable, message);
                }
            },
            Finished::Connected(Ok(loaded)) => {
                self.connecting = false;
                self.connected(*loaded).await;
            }
            Finished::Connected(Err(e)) => {
                self.connecting = false;
                tracing::debug!(error = %e, "ARI still unreachable");
                self.set_down(e);
            }
            Finished::Free(figures) => {
                self.polling = false;
                for (queue, free) in figures {
                    self.pbx.set_free_members(&queue, free);
                }
                self.sync(Timestamp::now());
            }
        }
    }

    fn joined(
        &mut self,
        ticket: Ticket,
        call_id: &str,
        leg: Leg,
        prefix: String,
        ears: Option<Result<Ears, String>>,
        voice: Result<Voice, String>,
    ) {
        let ears = match ears {
            Some(Ok(ears)) => Some(ears),
            Some(Err(e)) => {
                let message = format!("cannot listen to the call: {e}");
                return self.refuse(ticket, call_id, ErrorCode::Unavailable, message);
            }
            None => None,
        };
        let voice = match voice {
            Ok(voice) => voice,
            Err(e) => {
                if let Some(ears) = ears {
                    self.discard(ears.objects);
                }
                let message = format!("cannot join the call: {e}");
                return self.refuse(ticket, call_id, ErrorCode::Unavailable, message);
            }
        };
        let leg_id = leg.id.clone();
        let track = leg.track;
        let mode = leg.mode.unwrap_or(Mode::Silent);
        let Some(event) = self.board.join(call_id, leg) else {
            // The call ended while the leg was being made.
            self.discard(voice.objects);
            if let Some(ears) = ears {
                self.discard(ears.objects);
            }
            let message = format!("call {call_id} ended");
            return self.refuse(ticket, call_id, ErrorCode::NotFound, message);
        };
        if let Some(ears) = ears {
            self.ears.insert(call_id.to_owned(), CallEars { ears });
        }
        self.legs.insert(
            leg_id.clone(),
            LiveLeg {
                call_id: call_id.to_owned(),
                mode,
                prefix,
                voice,
            },
        );
        self.emit(FloorOutput::Event(event));
        self.done(ticket, Ok(Outcome::Joined(Joined { leg_id, track })));
        self.next_for(call_id);
    }

    /// Removes a leg now; its objects go in the background. The call's
    /// ears go with its last leg.
    fn leave(&mut self, call_id: &str, leg_id: &str, reason: LegLeftReason) {
        tracing::info!(%leg_id, %call_id, ?reason, "a supervisor leg leaves");
        if let Some(event) = self.board.leave(call_id, leg_id, reason, Timestamp::now()) {
            self.emit(FloorOutput::Event(event));
        }
        if let Some(leg) = self.legs.remove(leg_id) {
            let LiveLeg { voice, .. } = leg;
            let Voice { objects, pump, .. } = voice;
            drop(pump);
            self.discard(objects);
        }
        self.drop_unused_ears(call_id);
    }

    /// A call's ears go with its last leg, unless a join on the call that
    /// counts on them is under way (then when it is done).
    fn drop_unused_ears(&mut self, call_id: &str) {
        let listened = self.legs.values().any(|l| l.call_id == call_id);
        if !listened
            && !self.busy.contains_key(call_id)
            && let Some(ears) = self.ears.remove(call_id)
        {
            self.discard(ears.ears.objects);
        }
    }

    /// A media channel closed on its own: the legs that depended on it
    /// cannot hear or talk any more, and leave (`removed`).
    fn media_lost(&mut self, lost: &Lost) {
        if self.down.is_some() {
            // The rebuild decides what survived.
            return;
        }
        tracing::debug!(channel = %lost.channel, why = %lost.why, "a media channel closed");
        self.vanished
            .push((lost.channel.clone(), tokio::time::Instant::now()));
    }

    /// One of the gateway's own channels went away without being asked to.
    fn own_channel_gone(&mut self, channel: &str) {
        if !channel.starts_with(&self.me.prefix) {
            return;
        }
        let owner = |objects: &Objects| objects.channels.iter().any(|c| c == channel);
        let mut legs: Vec<(String, String)> = self
            .legs
            .iter()
            .filter(|(_, l)| owner(&l.voice.objects))
            .map(|(id, l)| (id.clone(), l.call_id.clone()))
            .collect();
        if let Some((call, _)) = self.ears.iter().find(|(_, e)| owner(&e.ears.objects)) {
            let call = call.clone();
            legs.extend(
                self.legs
                    .iter()
                    .filter(|(_, l)| l.call_id == call)
                    .map(|(id, l)| (id.clone(), l.call_id.clone())),
            );
        }
        for (leg_id, call_id) in legs {
            if self.legs.contains_key(&leg_id) {
                tracing::warn!(%leg_id, %channel, "the leg lost its channel and leaves");
                self.leave(&call_id, &leg_id, LegLeftReason::Removed);
            }
        }
    }

    /// ARI is (back) up: rebuild the floor from what Asterisk has, drop
    /// legs whose objects did not survive, sweep orphans.
    async fn connected(&mut self, loaded: Loaded) {
        let now = Timestamp::now();
        self.pbx
            .load(loaded.channels, loaded.bridges, loaded.devices, now);
        let (channels, bridges) = self.pbx.object_ids();
        let present: HashSet<&String> = channels.iter().chain(bridges.iter()).collect();
        let broken: Vec<(String, String)> = self
            .legs
            .iter()
            .filter(|(_, leg)| {
                let objects = &leg.voice.objects;
                let ears = self.ears.get(&leg.call_id).map(|e| &e.ears.objects);
                objects
                    .channels
                    .iter()
                    .chain(&objects.bridges)
                    .chain(
                        ears.into_iter()
                            .flat_map(|e| e.channels.iter().chain(&e.bridges)),
                    )
                    .any(|id| !present.contains(id))
            })
            .map(|(id, leg)| (id.clone(), leg.call_id.clone()))
            .collect();
        self.socket = Some(loaded.socket);
        self.backoff = BACKOFF_FIRST;
        // Calls that are gone end first (their legs with `call_ended`).
        self.sync(now);
        for (leg_id, call_id) in broken {
            if self.legs.contains_key(&leg_id) {
                tracing::warn!(%leg_id, "the leg did not survive the loss of ARI and leaves");
                self.leave(&call_id, &leg_id, LegLeftReason::Removed);
            }
        }
        self.sweep(&channels, &bridges);
        if self.down.take().is_some() {
            tracing::info!("ARI is back; the floor is rebuilt");
            self.emit(FloorOutput::Health(Health::Up));
        }
    }

    /// Deletes the gateway's objects that no leg or call owns: what a
    /// killed gateway, a lost leave or a restart left.
    fn sweep(&self, channels: &[String], bridges: &[String]) {
        let owned: HashSet<&String> = self
            .legs
            .values()
            .map(|l| &l.voice.objects)
            .chain(self.ears.values().map(|e| &e.ears.objects))
            .flat_map(|o| o.channels.iter().chain(&o.bridges))
            .collect();
        let orphan = |id: &&String| {
            id.starts_with(&self.me.prefix)
                && !owned.contains(id)
                && !self.making.iter().any(|p| id.starts_with(p.as_str()))
        };
        let objects = Objects {
            channels: channels.iter().filter(orphan).cloned().collect(),
            bridges: bridges.iter().filter(orphan).cloned().collect(),
        };
        if !objects.channels.is_empty() || !objects.bridges.is_empty() {
            tracing::info!(
                channels = objects.channels.len(),
                bridges = objects.bridges.len(),
                "removing objects a previous gateway left"
            );
            self.discard(objects);
        }
    }

    fn tick(&mut self) {
        let now = Timestamp::now();
        let settled = tokio::time::Instant::now() - VANISHED_SETTLE;
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.vanished)
            .into_iter()
            .partition(|(_, at)| *at <= settled);
        self.vanished = waiting;
        if self.down.is_none() {
            for (channel, _) in due {
                self.own_channel_gone(&channel);
            }
        }
        let expired: Vec<String> = self
            .ending
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= tokio::time::Instant::now())
            .map(|(call, _)| call.clone())
            .collect();
        for call in expired {
            if let Some((ticket, _)) = self.ending.remove(&call) {
                // Hung up, but Asterisk has not ended it yet: say so.
                let message =
                    format!("the call's channels were hung up but call {call} has not ended yet");
                self.refuse(ticket, &call, ErrorCode::Unavailable, message);
            }
        }
        if self.down.is_some() {
            return;
        }
        self.sync(now);
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks % SWEEP_EVERY == 0 {
            let (channels, bridges) = self.pbx.object_ids();
            self.sweep(&channels, &bridges);
        }
        if !self.polling {
            let queues = self.pbx.queue_ids(&self.roster);
            if !queues.is_empty() {
                self.polling = true;
                let (rest, tx) = (self.rest.clone(), self.finished_tx.clone());
                tokio::spawn(async move {
                    let mut figures = Vec::new();
                    for queue in queues {
                        if let Ok(value) =
                            rest.variable(&format!("QUEUE_MEMBER({queue},free)")).await
                            && let Ok(free) = value.trim().parse()
                        {
                            figures.push((queue, free));
                        }
                    }
                    let _ = tx.send(Finished::Free(figures));
                });
            }
        }
    }

    /// The server is stopping: every leg and every call's ears go.
    async fn close(&mut self) {
        let legs: Vec<(String, String)> = self
            .legs
            .iter()
            .map(|(id, l)| (id.clone(), l.call_id.clone()))
            .collect();
        let mut objects = Vec::new();
        for (leg_id, _) in legs {
            if let Some(leg) = self.legs.remove(&leg_id) {
                objects.push(leg.voice.objects);
            }
        }
        objects.extend(self.ears.drain().map(|(_, e)| e.ears.objects));
        for objects in &objects {
            work::remove(&self.rest, objects).await;
        }
    }
}

/// Four base-36 digits of the clock: different for runs a second apart.
fn run_mark() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut n = secs % 36u64.pow(4);
    let mut mark = String::new();
    for _ in 0..4 {
        mark.insert(0, char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
        n /= 36;
    }
    mark
}

async fn next_event(socket: &mut Option<EventSocket>) -> Heard {
    match socket {
        Some(socket) => socket.next().await,
        None => std::future::pending().await,
    }
}

/// Opens the events socket, then reads the floor (so no change between the
/// two is missed: events after the read only repeat it).
async fn connect(rest: &Rest, app: &str) -> Result<Loaded, String> {
    // REST first: it says a bad password in plain words.
    rest.endpoints().await.map_err(|e| e.to_string())?;
    let socket = EventSocket::connect(rest.access(), app).await?;
    let channels = rest.channels().await.map_err(|e| e.to_string())?;
    let bridges = rest.bridges().await.map_err(|e| e.to_string())?;
    let endpoints = rest.endpoints().await.map_err(|e| e.to_string())?;
    let devices = endpoints
        .into_iter()
        .map(|e| (e.name(), e.state.to_ascii_uppercase()))
        .collect();
    Ok(Loaded {
        socket,
        channels,
        bridges,
        devices,
    })
}
