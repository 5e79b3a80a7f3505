//! The hub: one task that owns the floor, the core's view of it and every
//! supervisor's stream.
//!
//! Connections talk to it over a channel; the floor through [`Floor::next`].
//! It numbers each event per stream, fans events and audio out to the
//! consoles allowed to have them, gates commands (see [`crate::legs`]) and
//! lets go of the legs of supervisors whose consoles stayed away for the
//! lease. Owning everything in one task keeps the order of events, replies
//! and snapshots exact without locks.
//!
//! Order on the wire: a floor reports a command's events before its outcome,
//! so a command's events go out before its reply, and by the time a console
//! reads `ok` its floor already shows the change.
//!
//! While the floor is down ([`Health::Down`]) the hub answers joins, mode
//! changes and ended calls `unavailable` itself and tells every console
//! (`floor_status`, again after each snapshot or replay while it lasts);
//! leaves still go to the floor, which carries them out when it can.
//!
//! A command the floor has not finished within the deadline is answered
//! `unavailable` and forgotten (see `deadline`): a join that finishes after
//! that has its leg taken away again, since no console owns it.
//!
//! A console that cannot keep up (its outbox of [`OUTBOX`] messages is full)
//! is dropped rather than allowed to grow memory without bound; it resumes
//! from its last `seq` when it reconnects.

use crate::accounts::Account;
use crate::courier::Courier;
use crate::floor::{Floor, FloorCommand, FloorError, FloorOutput, Health, Outcome, Ticket};
use crate::legs::{Asked, Caller, Decision, Legs, left_result, mode_result};
use crate::scope::Scope;
use crate::splitmix;
use crate::stream::{Resume, Retention, Stream};
use crate::wire::WireEvent;
use floorwalk_protocol::{
    ClientMessage, ErrorCode, FloorStatus, Hello, LegLeftReason, PROTOCOL_VERSION, Reachability,
    Reply, ServerMessage, Snapshot, Supervisor, to_text,
};
use futures_util::{FutureExt as _, StreamExt as _};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::{Bytes, Utf8Bytes};

/// How many messages may wait for one console before it counts as too slow.
pub const OUTBOX: usize = 16_384;
/// The most floor outputs handled in one turn, so consoles' requests still
/// get their turn on a very busy floor.
const FLOOR_BATCH: usize = 256;
/// How often leases and command deadlines are checked.
const CHECK_EVERY: Duration = Duration::from_millis(100);
/// How often dropped upstream frames are reported.
const REPORT_DROPS: Duration = Duration::from_secs(5);

pub type ConnId = u64;

/// What the hub sends a connection.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Text(Utf8Bytes),
    /// Replayed events, written in one go.
    Batch(Vec<Utf8Bytes>),
    /// One binary audio frame.
    Audio(Bytes),
}

/// What a connection asks of the hub.
#[derive(Debug)]
pub enum Request {
    /// A console passed the handshake; the hub answers with its id and hello.
    Connect {
        account: Account,
        outbox: mpsc::Sender<Outgoing>,
        reply: oneshot::Sender<Registration>,
    },
    /// A `subscribe` or a command from the console.
    Client {
        conn: ConnId,
        message: ClientMessage,
    },
    /// An audio frame from the console (its header already checked).
    Audio { conn: ConnId, frame: Bytes },
    /// The connection ended; `last_heard` is when the console last sent
    /// anything, from which its lease runs.
    Gone { conn: ConnId, last_heard: Instant },
    /// The whole floor, for tests and tools.
    FloorSnapshot { reply: oneshot::Sender<Snapshot> },
}

#[derive(Debug)]
pub struct Registration {
    pub conn: ConnId,
    pub hello: Utf8Bytes,
}

/// Timing the hub hands out and enforces.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub heartbeat: Duration,
    pub lease: Duration,
    /// How long the floor may take to finish a command.
    pub command: Duration,
}

struct Desk {
    supervisor: Supervisor,
    stream: Stream,
    subscribers: Vec<ConnId>,
    /// Open connections of this supervisor.
    live: usize,
    /// When the legs go, if no console comes back before.
    lease_ends: Option<Instant>,
}

impl Desk {
    fn sees(&self, team: &str) -> bool {
        self.supervisor.teams.iter().any(|t| t == team)
    }
}

struct Conn {
    desk: usize,
    outbox: mpsc::Sender<Outgoing>,
}

/// A command the floor is carrying out, and who waits for its reply (no
/// one for the leaves the core asks for itself).
struct Waiting {
    asked: Asked,
    reply_to: Option<(ConnId, String)>,
    /// When the console is told the contact center did not answer.
    deadline: Instant,
    /// A join's leg, once its `leg_joined` came.
    leg: Option<String>,
}

/// Upstream frames that went nowhere, as counted for the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Drops {
    /// On a track that is not the sender's live leg.
    not_yours: u64,
    /// On the sender's silent (or leaving) leg.
    silent: u64,
}

pub struct Hub<F> {
    floor: F,
    scope: Scope,
    legs: Legs,
    desks: Vec<Desk>,
    desk_by_id: HashMap<String, usize>,
    conns: HashMap<ConnId, Conn>,
    next_conn: ConnId,
    timing: Timing,
    courier: Courier<ConnId>,
    waiting: HashMap<Ticket, Waiting>,
    /// Commands whose deadline passed, should the floor finish them yet.
    late: deadline::Late,
    next_ticket: u64,
    drops: Drops,
    reported: Drops,
    reported_at: Option<Instant>,
    /// Connections to drop once the current fan-out is done.
    too_slow: Vec<ConnId>,
    /// Whether the floor reaches its contact center, as consoles are told.
    status: FloorStatus,
    /// Where supervisor presence is written, and the joins waiting on it.
    records: records::Recording,
}

impl<F: Floor> Hub<F> {
    /// One desk (stream) per account, made up front so that every stream
    /// starts with the floor and its session lives as long as the process.
    pub fn new(
        floor: F,
        accounts: &[Account],
        timing: Timing,
        retention: Retention,
        courier: Courier<ConnId>,
    ) -> Self {
        let nonce = process_nonce();
        let desks: Vec<Desk> = accounts
            .iter()
            .enumerate()
            .map(|(n, account)| Desk {
                supervisor: account.supervisor(),
                stream: Stream::new(format!("s-{:016x}", splitmix(nonce ^ n as u64)), retention),
                subscribers: Vec::new(),
                live: 0,
                lease_ends: None,
            })
            .collect();
        let desk_by_id = desks
            .iter()
            .enumerate()
            .map(|(n, desk)| (desk.supervisor.id.clone(), n))
            .collect();
        let status = FloorStatus {
            status: Reachability::Up,
            reason: None,
            since: floor.now(),
        };
        Self {
            scope: Scope::new(floor.state()),
            floor,
            legs: Legs::default(),
            desks,
            desk_by_id,
            conns: HashMap::new(),
            next_conn: 1,
            timing,
            courier,
            waiting: HashMap::new(),
            late: deadline::Late::default(),
            next_ticket: 1,
            drops: Drops::default(),
            reported: Drops::default(),
            reported_at: None,
            too_slow: Vec::new(),
            status,
            records: records::Recording::default(),
        }
    }

    /// Runs until `shutdown` fires, every sender is gone or the floor stops.
    pub async fn run(
        mut self,
        mut requests: mpsc::Receiver<Request>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut checks = tokio::time::interval(CHECK_EVERY);
        checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let held = self.courier.next_due();
            let release = tokio::time::sleep_until(held.unwrap_or_else(Instant::now).into());
            tokio::select! {
                output = self.floor.next() => match output {
                    Some(output) => self.on_floor_batch(output),
                    None => {
                        tracing::error!("the floor stopped");
                        break;
                    }
                },
                _ = checks.tick() => {
                    let now = Instant::now();
                    self.expire_commands(now);
                    self.expire_leases(now);
                }
                () = release, if held.is_some() => self.release(Instant::now()),
                Some(join) = self.records.held.next(), if !self.records.held.is_empty() => {
                    self.release_join(join, Instant::now());
                }
                request = requests.recv() => match request {
                    Some(request) => self.handle(request),
                    None => break,
                },
                _ = shutdown.changed() => break,
            }
        }
        self.floor.close().await;
    }

    /// Handles what the floor reported and whatever else it has ready, up
    /// to [`FLOOR_BATCH`], in one go: a tick's events and frames do not each
    /// pay for a turn of the loop.
    fn on_floor_batch(&mut self, first: FloorOutput) {
        let now = Instant::now();
        self.on_floor(first, now);
        for _ in 1..FLOOR_BATCH {
            match self.floor.next().now_or_never() {
                Some(Some(output)) => self.on_floor(output, now),
                // Nothing ready, or the floor stopped (the loop sees that next).
                _ => break,
            }
        }
    }

    /// Handles one thing the floor reported.
    pub fn on_floor(&mut self, output: FloorOutput, now: Instant) {
        match output {
            FloorOutput::Event(event) => self.publish(event, now),
            FloorOutput::Queue(placed) => {
                let team = placed.team.clone();
                let event = self.scope.apply_queue(placed);
                self.fan_out(&event, &team, now);
            }
            FloorOutput::Audio { call_id, frame } => self.party_audio(&call_id, frame, now),
            FloorOutput::Done { ticket, outcome } => self.finish(ticket, outcome, now),
            FloorOutput::Health(health) => self.health(health),
        }
        self.drop_too_slow(now);
    }

    pub fn handle(&mut self, request: Request) {
        let now = Instant::now();
        match request {
            Request::Connect {
                account,
                outbox,
                reply,
            } => self.connect(&account, outbox, reply, now),
            Request::Client {
                conn,
                message: ClientMessage::Subscribe { session, last_seq },
            } => self.subscribe(conn, session.as_deref(), last_seq),
            Request::Client { conn, message } => self.command(conn, message, now),
            Request::Audio { conn, frame } => self.upstream(conn, frame, now),
            Request::Gone { conn, last_heard } => self.forget(conn, last_heard),
            Request::FloorSnapshot { reply } => {
                // The asker may have given up; nothing to do then.
                let _ = reply.send(self.scope.snapshot(|_| true, 0));
            }
        }
        self.drop_too_slow(now);
    }

    fn connect(
        &mut self,
        account: &Account,
        outbox: mpsc::Sender<Outgoing>,
        reply: oneshot::Sender<Registration>,
        now: Instant,
    ) {
        let Some(&d) = self.desk_by_id.get(&account.id) else {
            tracing::warn!(supervisor = %account.id, "connect for an unknown account");
            return;
        };
        let conn = self.next_conn;
        self.next_conn += 1;
        let desk = &mut self.desks[d];
        desk.live += 1;
        desk.lease_ends = None;
        let hello = ServerMessage::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            server: self.floor.server_name(),
            session: desk.stream.session().to_string(),
            now: self.floor.now(),
            heartbeat_ms: millis(self.timing.heartbeat),
            lease_ms: millis(self.timing.lease),
            supervisor: desk.supervisor.clone(),
        });
        self.conns.insert(conn, Conn { desk: d, outbox });
        let hello = Utf8Bytes::from(to_text(&hello));
        if reply.send(Registration { conn, hello }).is_err() {
            self.forget(conn, now);
        }
    }

    fn subscribe(&mut self, conn: ConnId, session: Option<&str>, last_seq: Option<u64>) {
        let Some(d) = self.conns.get(&conn).map(|c| c.desk) else {
            return;
        };
        let desk = &mut self.desks[d];
        let outgoing = match desk.stream.resume(session, last_seq) {
            Resume::Replay(texts) => {
                Outgoing::Batch(texts.into_iter().map(Utf8Bytes::from).collect())
            }
            Resume::Snapshot => {
                let desk = &self.desks[d];
                let snapshot = self
                    .scope
                    .snapshot(|team| desk.sees(team), desk.stream.last_seq());
                Outgoing::Text(to_text(&ServerMessage::Snapshot(snapshot)).into())
            }
        };
        let desk = &mut self.desks[d];
        if !desk.subscribers.contains(&conn) {
            desk.subscribers.push(conn);
        }
        self.send(conn, outgoing);
        // What the snapshot or the replay cannot say: the console would
        // otherwise take a silent floor for a calm one.
        if self.status.status == Reachability::Down {
            self.send(conn, self.status_text());
        }
    }

    /// The floor lost its contact center or has it again: every console is
    /// told when that changes (or the reason does).
    fn health(&mut self, health: Health) {
        let (status, reason) = match health {
            Health::Up => (Reachability::Up, None),
            Health::Down(reason) => (Reachability::Down, Some(reason)),
        };
        if status == self.status.status && reason == self.status.reason {
            return;
        }
        if status != self.status.status {
            self.status.since = self.floor.now();
        }
        self.status.status = status;
        self.status.reason = reason;
        match &self.status.reason {
            Some(reason) => tracing::warn!(%reason, "the contact center is unreachable"),
            None => tracing::info!("the contact center is reachable again"),
        }
        let text = self.status_text();
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            self.send(conn, text.clone());
        }
    }

    fn status_text(&self) -> Outgoing {
        Outgoing::Text(to_text(&ServerMessage::FloorStatus(self.status.clone())).into())
    }

    /// Why the floor cannot take `command` now: only leaves reach a floor
    /// that lost its contact center (it cleans them up when it is back).
    fn unreachable(&self, command: &FloorCommand) -> Option<String> {
        let reason = self.status.reason.as_ref()?;
        match command {
            FloorCommand::Leave { .. } => None,
            FloorCommand::Join { .. }
            | FloorCommand::SetMode { .. }
            | FloorCommand::EndCall { .. } => {
                Some(format!("the contact center is unreachable: {reason}"))
            }
        }
    }

    /// A command passes the gate or is answered at once; only allowed ones
    /// reach the floor.
    fn command(&mut self, conn: ConnId, message: ClientMessage, now: Instant) {
        let Some(desk) = self.conns.get(&conn).map(|c| c.desk) else {
            return;
        };
        let caller = Caller {
            desk,
            supervisor: &self.desks[desk].supervisor,
        };
        let Some((req, decision)) = self.legs.gate(caller, message, &self.scope) else {
            return;
        };
        match decision {
            Err(refused) => {
                tracing::debug!(supervisor = %caller.supervisor.id, %req, %refused, "command refused");
                self.reply(conn, Reply::err(req, refused.code, refused.message));
            }
            Ok(Decision::Answer(result)) => self.reply(conn, Reply::ok(req, result)),
            Ok(Decision::Ask(command, asked)) => {
                match (self.unreachable(&command)).or_else(|| self.unrecordable(&asked)) {
                    Some(why) => {
                        self.legs.abandon(&asked);
                        self.reply(conn, Reply::err(req, ErrorCode::Unavailable, why));
                    }
                    None => self.ask(command, asked, Some((conn, req)), now),
                }
            }
        }
    }

    fn ask(
        &mut self,
        command: FloorCommand,
        asked: Asked,
        reply_to: Option<(ConnId, String)>,
        now: Instant,
    ) {
        let ticket = Ticket(self.next_ticket);
        self.next_ticket += 1;
        let waiting = Waiting {
            asked,
            reply_to,
            deadline: now + self.timing.command,
            leg: None,
        };
        self.waiting.insert(ticket, waiting);
        self.floor.command(ticket, command);
    }

    /// Asks the floor to take a supervisor leg away, for no console: a
    /// lease ran out, or a join finished after its console gave up on it.
    fn let_go(&mut self, call_id: String, leg_id: String, reason: LegLeftReason, now: Instant) {
        self.legs.start_leaving(&leg_id);
        let command = FloorCommand::Leave {
            call_id,
            leg_id: leg_id.clone(),
            reason,
        };
        self.ask(command, Asked::Leave { leg_id }, None, now);
    }

    /// The floor finished a command: book it and answer the console.
    fn finish(&mut self, ticket: Ticket, outcome: Result<Outcome, FloorError>, now: Instant) {
        let Some(Waiting {
            asked, reply_to, ..
        }) = self.waiting.remove(&ticket)
        else {
            match self.late.take(ticket) {
                Some(late) => self.finish_late(late, outcome, now),
                None => tracing::error!(?ticket, "the floor finished a command nobody asked for"),
            }
            return;
        };
        // A join's call and leg: its `ok` waits for the leg's record.
        let mut join_leg = None;
        let result = match (asked, outcome) {
            (
                Asked::Join {
                    desk,
                    call_id,
                    mode,
                    announce,
                },
                Ok(Outcome::Joined(joined)),
            ) => {
                let supervisor = &self.desks[desk].supervisor;
                let booked = self.legs.joined(
                    (desk, &call_id, mode),
                    supervisor,
                    &joined.leg_id,
                    joined.track,
                    &self.scope,
                );
                // `announced` only when asked: a floor refuses an announced
                // join it cannot announce, so a join that was asked it and
                // finished is one the customer hears.
                let mut result =
                    serde_json::json!({ "leg_id": joined.leg_id, "track": joined.track });
                if announce {
                    result["announced"] = true.into();
                }
                join_leg = Some((call_id, joined.leg_id));
                booked
                    .map(|()| result)
                    .map_err(|refused| (refused.code, refused.message))
            }
            (asked @ Asked::Join { .. }, Ok(Outcome::Done)) => {
                self.legs.abandon(&asked);
                tracing::error!(?asked, "the floor finished a join without naming the leg");
                Err((
                    ErrorCode::Unavailable,
                    "the contact center added no leg".into(),
                ))
            }
            (Asked::SetMode { leg_id, mode }, Ok(_)) => {
                self.legs.mode_set(&leg_id, mode);
                Ok(mode_result(&leg_id, mode))
            }
            (Asked::Leave { .. }, Ok(_)) => Ok(left_result(false)),
            (Asked::EndCall { call_id }, Ok(_)) => Ok(serde_json::json!({ "call_id": call_id })),
            (asked, Err(e)) => {
                self.legs.abandon(&asked);
                Err(floor_refusal(e))
            }
        };
        let Some((conn, req)) = reply_to else {
            if let Err((code, message)) = result {
                tracing::warn!(%code, %message, "letting go of a leg no console holds failed");
            }
            return;
        };
        match (result, join_leg) {
            (Ok(result), Some(leg)) => self.reply_joined(conn, req, leg, result),
            (Ok(result), None) => self.reply(conn, Reply::ok(req, result)),
            (Err((code, message)), _) => self.reply(conn, Reply::err(req, code, message)),
        }
    }

    fn reply(&mut self, conn: ConnId, reply: Reply) {
        let text = to_text(&ServerMessage::Reply(reply));
        self.send(conn, Outgoing::Text(text.into()));
    }

    /// Places a floor event in its team, numbers it per stream and sends it
    /// to the streams' subscribers, then keeps it in the core's floor (by
    /// value: nothing reads that floor in between).
    fn publish(&mut self, event: ServerMessage, now: Instant) {
        let team = match self.scope.team_of(&event) {
            Ok(team) => team,
            Err(e) => {
                tracing::error!(%e, "dropped an event from the floor");
                return;
            }
        };
        self.record_event(&event);
        self.legs.follow(&event);
        if let ServerMessage::LegJoined(joined) = &event {
            self.saw_leg_joined(&joined.call_id, &joined.leg, now);
        }
        self.fan_out(&event, &team, now);
        self.scope.record(event);
    }

    fn fan_out(&mut self, event: &ServerMessage, team: &str, now: Instant) {
        let wire = match WireEvent::new(event) {
            Ok(wire) => Arc::new(wire),
            Err(e) => {
                tracing::error!(%e, "the floor produced a non-state event");
                return;
            }
        };
        for desk in &mut self.desks {
            if !desk.sees(team) {
                continue;
            }
            let seq = desk.stream.push(Arc::clone(&wire), now);
            if desk.subscribers.is_empty() {
                continue;
            }
            let text = Utf8Bytes::from(wire.render(seq));
            for conn in &desk.subscribers {
                if !offer(&self.conns, *conn, Outgoing::Text(text.clone())) {
                    self.too_slow.push(*conn);
                }
            }
        }
    }

    /// Lets go of the legs of supervisors whose lease ran out.
    pub fn expire_leases(&mut self, now: Instant) {
        for d in 0..self.desks.len() {
            let desk = &mut self.desks[d];
            if desk.live > 0 || desk.lease_ends.is_none_or(|end| end > now) {
                continue;
            }
            desk.lease_ends = None;
            let held = self.legs.held_by(d);
            if !held.is_empty() {
                tracing::info!(supervisor = %self.desks[d].supervisor.id, legs = held.len(), "lease expired");
            }
            for (leg_id, call_id) in held {
                self.let_go(call_id, leg_id, LegLeftReason::LeaseExpired, now);
            }
        }
        let due = self
            .reported_at
            .is_none_or(|at| now.saturating_duration_since(at) >= REPORT_DROPS);
        if self.drops != self.reported && due {
            self.reported = self.drops;
            self.reported_at = Some(now);
            tracing::info!(
                not_yours = self.drops.not_yours,
                silent = self.drops.silent,
                "upstream audio dropped so far (not the sender's leg; silent leg)"
            );
        }
        self.drop_too_slow(now);
    }

    fn send(&mut self, conn: ConnId, outgoing: Outgoing) {
        if !offer(&self.conns, conn, outgoing) {
            self.too_slow.push(conn);
        }
    }

    fn drop_too_slow(&mut self, now: Instant) {
        while let Some(conn) = self.too_slow.pop() {
            if self.conns.contains_key(&conn) {
                tracing::warn!(conn, "console fell behind; dropping it so it resumes");
                self.forget(conn, now);
            }
        }
    }

    /// Removes a connection. Dropping its outbox closes it. If it was the
    /// supervisor's last console, the lease starts running from `last_heard`.
    fn forget(&mut self, conn: ConnId, last_heard: Instant) {
        let Some(Conn { desk: d, .. }) = self.conns.remove(&conn) else {
            return;
        };
        self.courier.forget(conn);
        let desk = &mut self.desks[d];
        desk.subscribers.retain(|c| *c != conn);
        desk.live -= 1;
        if desk.live == 0 {
            let end = last_heard + self.timing.lease;
            desk.lease_ends = Some(desk.lease_ends.map_or(end, |e| e.max(end)));
        }
    }
}

/// A floor's refusal as the console gets it: the codes only the core may
/// give are the floor's mistake, and reported as `unavailable`.
fn floor_refusal(e: FloorError) -> (ErrorCode, String) {
    match e.code {
        ErrorCode::NotFound | ErrorCode::Conflict | ErrorCode::Unavailable => (e.code, e.message),
        other => {
            tracing::error!(code = %other, message = %e.message, "the floor answered with a code only the core may give");
            (ErrorCode::Unavailable, e.message)
        }
    }
}

/// Hands a message to a connection's outbox without waiting. False when the
/// outbox is full or the connection is gone.
fn offer(conns: &HashMap<ConnId, Conn>, conn: ConnId, outgoing: Outgoing) -> bool {
    conns
        .get(&conn)
        .is_some_and(|c| c.outbox.try_send(outgoing).is_ok())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Differs between processes and between servers in one process, so
/// session ids name one run of one server.
fn process_nonce() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STARTED: AtomicU64 = AtomicU64::new(0);
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let nth = STARTED.fetch_add(1, Ordering::Relaxed);
    splitmix(u64::from(std::process::id()) ^ (time.as_nanos() as u64) ^ splitmix(nth))
}

mod audio;
mod deadline;
mod records;
#[cfg(test)]
mod tests;
