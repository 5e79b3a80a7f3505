//! The hub: one task that owns the world and every supervisor's stream.
//!
//! Connections talk to it over a channel; it ticks the world, numbers each
//! event per stream, fans events out to subscribed consoles, runs commands,
//! and removes the legs of supervisors whose consoles stayed away for the
//! lease. Owning everything in one task keeps the order of events, replies
//! and snapshots exact without locks.
//!
//! Order on the wire: a command's events go out before its reply, so by the
//! time a console reads `ok` its floor already shows the change.
//!
//! A console that cannot keep up (its outbox of [`OUTBOX`] messages is full)
//! is dropped rather than allowed to grow memory without bound; it resumes
//! from its last `seq` when it reconnects.
//!
//! The hub also drives the media engine: world events reach it before they
//! go out, its 20 ms tick runs here, and consoles' audio frames come in as
//! requests. So audio follows the events exactly: after a console reads
//! `leg_left` it gets no more audio of that call (unless a configured
//! impairment delays frames sent before, as a network would).

use super::accounts::Account;
use super::impair::Impairment;
use super::media::Media;
use super::media::courier::Courier;
use super::splitmix;
use super::stream::{Resume, Retention, Stream};
use super::wire::WireEvent;
use super::world::{CommandError, Principal, World};
use floorwalk_protocol::{
    ClientMessage, Hello, PROTOCOL_VERSION, Reply, ServerMessage, Snapshot, Supervisor, to_text,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::{Bytes, Utf8Bytes};

/// How many messages may wait for one console before it counts as too slow.
pub const OUTBOX: usize = 16_384;

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
    WorldSnapshot { reply: oneshot::Sender<Snapshot> },
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
}

struct Desk {
    supervisor: Supervisor,
    principal: Principal,
    stream: Stream,
    subscribers: Vec<ConnId>,
    /// Open connections of this supervisor.
    live: usize,
    /// When the legs go, if no console comes back before.
    lease_ends: Option<Instant>,
}

struct Conn {
    desk: usize,
    outbox: mpsc::Sender<Outgoing>,
}

/// The hub's audio: the engine, and the impairment of what it sends.
#[derive(Debug)]
pub struct Audio {
    pub media: Media,
    pub impairment: Impairment,
}

pub struct Hub {
    world: World,
    media: Media,
    courier: Courier<ConnId>,
    desks: Vec<Desk>,
    desk_by_id: HashMap<String, usize>,
    conns: HashMap<ConnId, Conn>,
    next_conn: ConnId,
    timing: Timing,
    /// Connections to drop once the current fan-out is done.
    too_slow: Vec<ConnId>,
}

impl Hub {
    /// One desk (stream) per account, made up front so that every stream
    /// starts with the world and its session lives as long as the process.
    pub fn new(
        world: World,
        accounts: &[Account],
        timing: Timing,
        retention: Retention,
        audio: Audio,
    ) -> Self {
        let nonce = process_nonce();
        let desks: Vec<Desk> = accounts
            .iter()
            .enumerate()
            .map(|(n, account)| {
                let principal = world.principal(account);
                let session = format!("s-{:016x}", splitmix(nonce ^ n as u64));
                Desk {
                    supervisor: account.supervisor(),
                    stream: Stream::new(session, principal.teams.clone(), retention),
                    principal,
                    subscribers: Vec::new(),
                    live: 0,
                    lease_ends: None,
                }
            })
            .collect();
        let desk_by_id = desks
            .iter()
            .enumerate()
            .map(|(n, desk)| (desk.supervisor.id.clone(), n))
            .collect();
        Self {
            world,
            media: audio.media,
            courier: Courier::new(audio.impairment),
            desks,
            desk_by_id,
            conns: HashMap::new(),
            next_conn: 1,
            timing,
            too_slow: Vec::new(),
        }
    }

    /// Runs until `shutdown` fires or every sender is gone.
    pub async fn run(
        mut self,
        mut requests: mpsc::Receiver<Request>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let tick = Duration::from_millis(super::world::TICK_MS.unsigned_abs());
        let mut ticker = tokio::time::interval(tick);
        let mut frames = tokio::time::interval(floorwalk_audio::FRAME_DURATION);
        // Fixed ticks: a late tick is caught up, never skipped, so world time
        // and the calls' audio keep pace with the wall clock.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        loop {
            let held = self.courier.next_due();
            let release = tokio::time::sleep_until(held.unwrap_or_else(Instant::now).into());
            tokio::select! {
                _ = ticker.tick() => self.tick(Instant::now()),
                _ = frames.tick() => self.audio_tick(Instant::now()),
                () = release, if held.is_some() => self.release(Instant::now()),
                request = requests.recv() => match request {
                    Some(request) => self.handle(request),
                    None => break,
                },
                _ = shutdown.changed() => break,
            }
        }
        self.media.close().await;
    }

    /// One 20 ms frame of every playing call.
    fn audio_tick(&mut self, now: Instant) {
        let (media, mut post) = self.split(now);
        media.tick(&mut |to, frame| post.send(to, frame));
        self.drop_too_slow(now);
    }

    /// Hands out the held (impaired) frames that are due.
    fn release(&mut self, now: Instant) {
        while let Some((conn, frame)) = self.courier.due(now) {
            if !offer(&self.conns, conn, Outgoing::Audio(frame)) && self.conns.contains_key(&conn) {
                self.too_slow.push(conn);
            }
        }
        self.drop_too_slow(now);
    }

    /// The media engine, and its way out to the consoles.
    fn split(&mut self, now: Instant) -> (&mut Media, Post<'_>) {
        let Hub {
            media,
            desks,
            desk_by_id,
            conns,
            courier,
            too_slow,
            ..
        } = self;
        let post = Post {
            desks,
            desk_by_id,
            conns,
            courier,
            too_slow,
            now,
        };
        (media, post)
    }

    pub fn tick(&mut self, now: Instant) {
        self.world.step();
        for d in 0..self.desks.len() {
            let desk = &mut self.desks[d];
            if desk.live == 0 && desk.lease_ends.is_some_and(|end| end <= now) {
                desk.lease_ends = None;
                let gone = self.world.expire_lease(&desk.supervisor.id);
                if gone > 0 {
                    tracing::info!(supervisor = %desk.supervisor.id, legs = gone, "lease expired");
                }
            }
        }
        self.publish(now);
        self.drop_too_slow(now);
    }

    pub fn handle(&mut self, request: Request) {
        let now = Instant::now();
        match request {
            Request::Connect {
                account,
                outbox,
                reply,
            } => {
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
                    server: format!("floorwalk-sim/{}", env!("CARGO_PKG_VERSION")),
                    session: desk.stream.session().to_string(),
                    now: self.world.now(),
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
            Request::Client {
                conn,
                message: ClientMessage::Subscribe { session, last_seq },
            } => self.subscribe(conn, session.as_deref(), last_seq),
            Request::Client { conn, message } => self.command(conn, message, now),
            Request::Audio { conn, frame } => {
                let Some(d) = self.conns.get(&conn).map(|c| c.desk) else {
                    return;
                };
                let sender = self.desks[d].supervisor.id.clone();
                let (media, mut post) = self.split(now);
                media.upstream(&sender, frame, &mut |to, frame| post.send(to, frame));
            }
            Request::Gone { conn, last_heard } => self.forget(conn, last_heard),
            Request::WorldSnapshot { reply } => {
                // The asker may have given up; nothing to do then.
                let _ = reply.send(self.world.full_snapshot());
            }
        }
        self.drop_too_slow(now);
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
                let snapshot = self
                    .world
                    .snapshot(desk.stream.teams(), desk.stream.last_seq());
                Outgoing::Text(to_text(&ServerMessage::Snapshot(snapshot)).into())
            }
        };
        if !desk.subscribers.contains(&conn) {
            desk.subscribers.push(conn);
        }
        self.send(conn, outgoing);
    }

    fn command(&mut self, conn: ConnId, command: ClientMessage, now: Instant) {
        let Some(d) = self.conns.get(&conn).map(|c| c.desk) else {
            return;
        };
        let who = &self.desks[d].principal;
        let world = &mut self.world;
        let (req, outcome): (String, Result<serde_json::Value, CommandError>) = match command {
            ClientMessage::Monitor { req, call_id, mode } => {
                let outcome = world.monitor(who, &call_id, mode).map(|r| json(&r));
                (req, outcome)
            }
            ClientMessage::SetMode { req, leg_id, mode } => {
                let outcome = world.set_mode(who, &leg_id, mode);
                (req, outcome)
            }
            ClientMessage::Disconnect { req, leg_id } => {
                let outcome = world.disconnect(who, &leg_id).map(|r| json(&r));
                (req, outcome)
            }
            ClientMessage::EndCall {
                req,
                call_id,
                confirm,
            } => {
                let outcome = world.end_call(who, &call_id, &confirm);
                (req, outcome)
            }
            // `handle` routes subscribes to `subscribe`; they get no reply.
            ClientMessage::Subscribe { .. } => return,
        };
        if let Err(refused) = &outcome {
            tracing::debug!(supervisor = %who.id, %req, %refused, "command refused");
        }
        self.publish(now);
        let reply = match outcome {
            Ok(result) => Reply::ok(req, result),
            Err(e) => Reply::err(req, e.code, e.message),
        };
        let text = to_text(&ServerMessage::Reply(reply));
        self.send(conn, Outgoing::Text(text.into()));
    }

    /// Numbers the world's new events per stream and sends them to the
    /// streams' subscribers.
    fn publish(&mut self, now: Instant) {
        for event in self.world.take_events() {
            self.media.follow(&event.message, &self.world);
            let wire = match WireEvent::new(&event.message) {
                Ok(wire) => Arc::new(wire),
                Err(e) => {
                    tracing::error!(%e, "the world produced a non-state event");
                    continue;
                }
            };
            for desk in &mut self.desks {
                if !desk.stream.sees(event.team) {
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

/// Sends a supervisor's audio to its subscribed consoles.
struct Post<'a> {
    desks: &'a [Desk],
    desk_by_id: &'a HashMap<String, usize>,
    conns: &'a HashMap<ConnId, Conn>,
    courier: &'a mut Courier<ConnId>,
    too_slow: &'a mut Vec<ConnId>,
    now: Instant,
}

impl Post<'_> {
    fn send(&mut self, supervisor: &str, frame: Bytes) {
        let Some(&d) = self.desk_by_id.get(supervisor) else {
            return;
        };
        for &conn in &self.desks[d].subscribers {
            let Some(frame) = self.courier.post(conn, frame.clone(), self.now) else {
                continue;
            };
            if !offer(self.conns, conn, Outgoing::Audio(frame)) {
                self.too_slow.push(conn);
            }
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

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Differs between processes and between simulators in one process, so
/// session ids name one run of one simulator.
fn process_nonce() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STARTED: AtomicU64 = AtomicU64::new(0);
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let nth = STARTED.fetch_add(1, Ordering::Relaxed);
    splitmix(u64::from(std::process::id()) ^ (time.as_nanos() as u64) ^ splitmix(nth))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::demo_accounts;
    use crate::conversation::Library;
    use crate::world::{WorldConfig, team_list};
    use floorwalk_protocol::{Parsed, Timestamp, parse_server};

    const LEASE: Duration = Duration::from_millis(1000);

    fn hub() -> Hub {
        let library = Arc::new(Library::embedded().unwrap());
        let world = World::new(
            &WorldConfig {
                agents: 200,
                seed: 1,
                min_call_secs: 3600,
                speed: 1.0,
                teams: team_list([]),
                start: Timestamp::from_millis(0),
            },
            Arc::clone(&library),
        );
        let timing = Timing {
            heartbeat: Duration::from_millis(100),
            lease: LEASE,
        };
        let audio = Audio {
            media: Media::new(library, 1, None),
            impairment: Impairment::default(),
        };
        Hub::new(world, &demo_accounts(), timing, Retention::default(), audio)
    }

    fn connect(hub: &mut Hub, capacity: usize) -> (ConnId, mpsc::Receiver<Outgoing>) {
        let (outbox, inbox) = mpsc::channel(capacity);
        let (reply, mut registered) = oneshot::channel();
        let account = demo_accounts().remove(0);
        hub.handle(Request::Connect {
            account,
            outbox,
            reply,
        });
        (registered.try_recv().unwrap().conn, inbox)
    }

    fn texts(inbox: &mut mpsc::Receiver<Outgoing>) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        while let Ok(outgoing) = inbox.try_recv() {
            let batch = match outgoing {
                Outgoing::Text(text) => vec![text],
                Outgoing::Batch(texts) => texts,
                Outgoing::Audio(_) => continue,
            };
            for text in batch {
                let Ok(Parsed::Known(message)) = parse_server(&text) else {
                    panic!("bad text {text}");
                };
                out.push(message);
            }
        }
        out
    }

    fn monitor(hub: &mut Hub, conn: ConnId) -> String {
        let call = hub.world.snapshot(&hub.desks[0].principal.teams, 0).calls[0]
            .id
            .clone();
        let message = ClientMessage::Monitor {
            req: "r-1".into(),
            call_id: call,
            mode: floorwalk_protocol::Mode::Silent,
        };
        hub.handle(Request::Client { conn, message });
        hub.world
            .full_snapshot()
            .calls
            .iter()
            .flat_map(|c| c.supervisor_legs())
            .find(|l| l.user_id.as_deref() == Some("sup-1"))
            .unwrap()
            .id
            .clone()
    }

    fn has_leg(hub: &Hub, leg: &str) -> bool {
        hub.world
            .full_snapshot()
            .calls
            .iter()
            .any(|c| c.leg(leg).is_some())
    }

    #[test]
    fn a_command_gets_its_events_then_its_reply() {
        let mut hub = hub();
        let (conn, mut inbox) = connect(&mut hub, 64);
        hub.handle(Request::Client {
            conn,
            message: ClientMessage::Subscribe {
                session: None,
                last_seq: None,
            },
        });
        let leg = monitor(&mut hub, conn);
        let messages = texts(&mut inbox);
        assert!(matches!(&messages[..], [
            ServerMessage::Snapshot(_),
            ServerMessage::LegJoined(j),
            ServerMessage::Reply(r),
        ] if j.leg.id == leg && r.ok && r.req == "r-1"));
    }

    #[test]
    fn a_console_that_falls_behind_is_dropped_and_its_lease_starts() {
        let mut hub = hub();
        let (conn, mut inbox) = connect(&mut hub, 4);
        hub.handle(Request::Client {
            conn,
            message: ClientMessage::Subscribe {
                session: None,
                last_seq: None,
            },
        });
        let start = Instant::now();
        for n in 0..200 {
            hub.tick(start + Duration::from_millis(n));
        }
        assert!(!hub.conns.contains_key(&conn));
        assert!(hub.desks[0].lease_ends.is_some());
        // What was queued is still delivered, then the outbox closes.
        assert_eq!(texts(&mut inbox).len(), 4);
        assert!(inbox.try_recv().is_err() && inbox.is_closed());
    }

    #[test]
    fn legs_go_when_the_lease_runs_out_and_stay_if_the_console_is_back() {
        let mut hub = hub();
        let (conn, _inbox) = connect(&mut hub, 1024);
        let leg = monitor(&mut hub, conn);
        let gone_at = Instant::now();
        hub.handle(Request::Gone {
            conn,
            last_heard: gone_at,
        });
        hub.tick(gone_at + LEASE / 2);
        assert!(has_leg(&hub, &leg), "kept within the lease");

        // Back in time: the leg survives the old deadline.
        let (conn, _inbox) = connect(&mut hub, 1024);
        hub.tick(gone_at + LEASE * 3);
        assert!(has_leg(&hub, &leg));

        // Gone again, for good.
        let gone_at = gone_at + LEASE * 3;
        hub.handle(Request::Gone {
            conn,
            last_heard: gone_at,
        });
        hub.tick(gone_at + LEASE - Duration::from_millis(1));
        assert!(has_leg(&hub, &leg));
        hub.tick(gone_at + LEASE);
        assert!(!has_leg(&hub, &leg));
    }
}
