//! The contract's invariants, proved once against the `Floor` trait, over a
//! real loopback WebSocket: with the simulated floor, and with a hostile
//! floor that tries to leak other teams' events and audio, to open a
//! microphone path on its own and to hand a supervisor a leg that is not
//! theirs. Each floor is wrapped so the test sees every command and every
//! voice frame that reached it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/sim_client.rs"]
mod sim_client;

use floorwalk_protocol::{
    AgentEvent, AudioFrame, CallEvent, ErrorCode, FrameHeader, LegChanged, LegJoined,
    LegLeftReason, Mode, Role, ServerMessage, Snapshot, Timestamp, Transcript,
};
use floorwalk_server::fixture::{agent, call, obey, party, queue};
use floorwalk_server::{
    Floor, FloorCommand, FloorOutput, FloorState, Joined, Outcome, ServerHandle, ServerOptions,
    Talk, Ticket,
};
use serde_json::json;
use sim_client::*;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Everything that reached a floor from the core.
#[derive(Debug, Default)]
struct Reached {
    commands: Vec<FloorCommand>,
    talks: Vec<Talk>,
}

type Log = Arc<Mutex<Reached>>;

/// A floor as it is, with what reaches it written down.
struct Recorded<F> {
    inner: F,
    log: Log,
}

impl<F: Floor> Floor for Recorded<F> {
    fn server_name(&self) -> String {
        self.inner.server_name()
    }
    fn now(&self) -> Timestamp {
        self.inner.now()
    }
    fn state(&self) -> FloorState {
        self.inner.state()
    }
    fn command(&mut self, ticket: Ticket, command: FloorCommand) {
        self.log.lock().unwrap().commands.push(command.clone());
        self.inner.command(ticket, command);
    }
    fn talk(&mut self, talk: Talk) {
        self.log.lock().unwrap().talks.push(talk.clone());
        self.inner.talk(talk);
    }
    async fn next(&mut self) -> Option<FloorOutput> {
        self.inner.next().await
    }
    async fn close(self) {
        self.inner.close().await;
    }
}

async fn serve<F: Floor>(floor: F, options: ServerOptions) -> (ServerHandle, Log) {
    let log = Log::default();
    let recorded = Recorded {
        inner: floor,
        log: Arc::clone(&log),
    };
    (
        floorwalk_server::serve(recorded, options).await.unwrap(),
        log,
    )
}

fn frame(track: u32) -> Vec<u8> {
    AudioFrame {
        header: FrameHeader {
            track,
            ..FrameHeader::default()
        },
        opus: &[0xf8, 0xff, 0xfe],
    }
    .encode()
    .unwrap()
}

fn code(reply: &floorwalk_protocol::Reply) -> Option<ErrorCode> {
    reply.error.as_ref().map(|e| e.code)
}

/// A live call in `client`'s teams and one that is in none of them.
fn calls(client: &Client, floor: &Snapshot) -> (String, String) {
    let mine = client.a_call();
    let theirs = floor
        .calls
        .iter()
        .find(|c| !client.floor.calls.contains_key(&c.id))
        .expect("a call outside the supervisor's teams")
        .id
        .clone();
    (mine, theirs)
}

/// Waits until the floor has had `what`, or fails.
async fn reached(log: &Log, client: &mut Client, what: impl Fn(&Reached) -> bool) {
    for _ in 0..100 {
        if what(&log.lock().unwrap()) {
            return;
        }
        client.pump(Duration::from_millis(20)).await;
    }
    panic!("never reached the floor: {:?}", log.lock().unwrap());
}

/// The invariants every floor gets from the core.
async fn the_contract_holds(server: &ServerHandle, log: &Log) {
    let mut dana = Client::subscribed(server, DANA).await;
    let mut jorge = Client::subscribed(server, JORGE).await;
    let whole = server.floor_snapshot().await.unwrap();
    let (call, outside) = calls(&dana, &whole);
    let teams: HashSet<String> = dana.hello.supervisor.teams.iter().cloned().collect();

    // Team scope of the snapshot.
    assert!(dana.floor.agents.values().all(|a| teams.contains(&a.team)));

    // Outside her teams: refused, and the floor never hears of it.
    let reply = dana
        .command(json!({"type": "monitor", "call_id": outside, "mode": "silent"}))
        .await;
    assert_eq!(code(&reply), Some(ErrorCode::Forbidden));

    let reply = dana
        .command(json!({"type": "monitor", "call_id": call, "mode": "silent"}))
        .await;
    assert!(reply.ok, "{reply:?}");
    let leg = reply.result.as_ref().unwrap()["leg_id"]
        .as_str()
        .unwrap()
        .to_string();
    let track = u32::try_from(reply.result.as_ref().unwrap()["track"].as_u64().unwrap()).unwrap();

    // Invariant 1: nobody else's leg, whatever it is; and not hers for Jorge.
    let parties: Vec<(String, u32)> = dana.floor.calls[&call]
        .legs
        .iter()
        .filter(|l| l.id != leg)
        .map(|l| (l.id.clone(), l.track))
        .collect();
    for (other, _) in &parties {
        let reply = dana
            .command(json!({"type": "disconnect", "leg_id": other}))
            .await;
        assert_eq!(code(&reply), Some(ErrorCode::NotYourLeg), "{other}");
    }
    let reply = jorge
        .command(json!({"type": "disconnect", "leg_id": leg}))
        .await;
    assert_eq!(code(&reply), Some(ErrorCode::NotYourLeg));

    // Invariant 2: permission and confirmation.
    let reply = dana
        .command(json!({"type": "end_call", "call_id": call, "confirm": outside}))
        .await;
    assert_eq!(code(&reply), Some(ErrorCode::BadConfirmation));
    let jorges = jorge.a_call();
    let reply = jorge
        .command(json!({"type": "end_call", "call_id": jorges, "confirm": jorges}))
        .await;
    assert_eq!(code(&reply), Some(ErrorCode::Forbidden));

    // Invariant 3: silent reaches nobody (whatever mode the floor reports
    // for the leg by now), nor does a frame on another's track; a whisper
    // reaches the floor (for the agent) as a whisper.
    dana.pump(Duration::from_millis(100)).await;
    dana.send_audio(frame(track)).await;
    for (_, party) in &parties {
        dana.send_audio(frame(*party)).await;
    }
    dana.pump(Duration::from_millis(200)).await;
    assert!(log.lock().unwrap().talks.is_empty(), "a silent leg spoke");
    let reply = dana
        .command(json!({"type": "set_mode", "leg_id": leg, "mode": "whisper"}))
        .await;
    assert!(reply.ok, "{reply:?}");
    dana.send_audio(frame(track)).await;
    reached(log, &mut dana, |r| !r.talks.is_empty()).await;
    let talk = log.lock().unwrap().talks[0].clone();
    assert_eq!(
        (talk.leg_id.as_str(), talk.mode),
        (leg.as_str(), Mode::Whisper)
    );

    // Disconnect: exactly a Leave of her leg, and her voice stops at once.
    let reply = dana
        .command(json!({"type": "disconnect", "leg_id": leg}))
        .await;
    assert!(reply.ok, "{reply:?}");
    dana.send_audio(frame(track)).await;
    let reply = dana
        .command(json!({"type": "disconnect", "leg_id": leg}))
        .await;
    assert_eq!(reply.result.as_ref().unwrap()["already_left"], true);
    assert!(dana.floor.calls.contains_key(&call), "the call goes on");

    let reached = log.lock().unwrap();
    assert_eq!(reached.talks.len(), 1, "only the whisper reached the floor");
    let expected = [
        FloorCommand::Join {
            call_id: call.clone(),
            supervisor: dana.hello.supervisor.clone(),
            mode: Mode::Silent,
            announce: false,
        },
        FloorCommand::SetMode {
            call_id: call.clone(),
            leg_id: leg.clone(),
            mode: Mode::Whisper,
        },
        FloorCommand::Leave {
            call_id: call.clone(),
            leg_id: leg.clone(),
            reason: LegLeftReason::Disconnected,
        },
    ];
    assert_eq!(
        reached.commands, expected,
        "nothing refused reached the floor"
    );
    drop(reached);

    // Nothing of another team reached Dana: no event, no audio.
    for event in &dana.events {
        if let ServerMessage::Agent(a) = event {
            assert!(teams.contains(&a.agent.team), "{event:?}");
        }
        if let ServerMessage::CallStarted(c) | ServerMessage::CallUpdated(c) = event {
            assert_ne!(c.call.id, outside, "{event:?}");
        }
    }
    let outside_tracks: HashSet<u32> = whole
        .calls
        .iter()
        .filter(|c| c.id == outside)
        .flat_map(|c| c.legs.iter().map(|l| l.track))
        .collect();
    for heard in &dana.audio {
        let track = AudioFrame::decode(&heard.bytes).unwrap().header.track;
        assert!(
            !outside_tracks.contains(&track),
            "heard track {track} of {outside}"
        );
    }
}

#[tokio::test]
async fn the_simulated_floor_keeps_the_contract() {
    let options = quiet_options();
    let floor = floorwalk_sim::floor(&options).unwrap();
    let (server, log) = serve(floor, options.server()).await;
    the_contract_holds(&server, &log).await;
    server.shutdown().await;
}

/// A floor that tries: every 20 ms it tells events and audio of a sales call
/// and events the core cannot place; it flips every new supervisor leg to
/// barge; and a join on `c-trapped` names the agent's leg as the supervisor's.
struct HostileFloor {
    told: VecDeque<FloorOutput>,
    /// Supervisor legs to switch to barge at the next tick, after the join
    /// was confirmed: an open microphone path if the core obeyed.
    to_flip: Vec<(String, String)>,
    ticker: tokio::time::Interval,
    next_track: u32,
    tick: u64,
}

impl HostileFloor {
    fn new() -> Self {
        Self {
            told: VecDeque::new(),
            to_flip: Vec::new(),
            ticker: tokio::time::interval(Duration::from_millis(20)),
            next_track: 1000,
            tick: 0,
        }
    }

    fn leak(&mut self) {
        self.tick += 1;
        let at = Timestamp::from_millis(i64::try_from(self.tick).unwrap());
        let sales = call("c-sales", "a-sales", 20);
        let events = [
            ServerMessage::Agent(AgentEvent {
                seq: 0,
                agent: agent("a-sales", "sales"),
            }),
            ServerMessage::CallUpdated(CallEvent {
                seq: 0,
                call: sales,
            }),
            ServerMessage::Transcript(Transcript {
                seq: 0,
                call_id: "c-sales".into(),
                leg_id: "l-20".into(),
                at,
                text: "my card number is 4111".into(),
                is_final: true,
            }),
            // Events the core cannot place: an unknown agent's call, a leg
            // on a call that does not exist.
            ServerMessage::CallStarted(CallEvent {
                seq: 0,
                call: call("c-ghost", "a-nobody", 40),
            }),
            ServerMessage::LegJoined(LegJoined {
                seq: 0,
                call_id: "c-ghost".into(),
                leg: party("l-41", Role::Agent, 41),
            }),
        ];
        self.told.extend(events.into_iter().map(FloorOutput::Event));
        for (call_id, leg_id) in self.to_flip.drain(..) {
            let flip = ServerMessage::LegChanged(LegChanged {
                seq: 0,
                call_id,
                leg_id,
                mode: Mode::Barge,
                at,
            });
            self.told.push_back(FloorOutput::Event(flip));
        }
        for (call_id, track) in [("c-sales", 20), ("c-billing", 20), ("c-billing", 10)] {
            self.told.push_back(FloorOutput::Audio {
                call_id: call_id.into(),
                frame: frame(track).into(),
            });
        }
    }
}

impl Floor for HostileFloor {
    fn server_name(&self) -> String {
        "hostile/1".into()
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_millis(0)
    }

    fn state(&self) -> FloorState {
        FloorState {
            agents: vec![
                agent("a-billing", "billing"),
                agent("a-trap", "billing"),
                agent("a-sales", "sales"),
            ],
            calls: vec![
                call("c-billing", "a-billing", 10),
                call("c-trapped", "a-trap", 30),
                call("c-sales", "a-sales", 20),
            ],
            queues: vec![queue("billing"), queue("sales")],
        }
    }

    fn command(&mut self, ticket: Ticket, command: FloorCommand) {
        if matches!(&command, FloorCommand::Join { call_id, .. } if call_id == "c-trapped") {
            // The agent's leg, passed off as the supervisor's.
            let joined = Joined {
                leg_id: "l-31".into(),
                track: 31,
            };
            self.told.push_back(FloorOutput::Done {
                ticket,
                outcome: Ok(Outcome::Joined(joined)),
            });
            return;
        }
        let call_id = match &command {
            FloorCommand::Join { call_id, .. } => Some(call_id.clone()),
            _ => None,
        };
        self.next_track += 1;
        let told = obey(ticket, command, self.next_track);
        // Every confirmed leg is flipped to barge at the next tick.
        if let (
            Some(call_id),
            Some(FloorOutput::Done {
                outcome: Ok(Outcome::Joined(joined)),
                ..
            }),
        ) = (call_id, told.last())
        {
            self.to_flip.push((call_id, joined.leg_id.clone()));
        }
        self.told.extend(told);
    }

    fn talk(&mut self, _talk: Talk) {}

    async fn next(&mut self) -> Option<FloorOutput> {
        loop {
            if let Some(output) = self.told.pop_front() {
                return Some(output);
            }
            self.ticker.tick().await;
            self.leak();
        }
    }

    async fn close(self) {}
}

#[tokio::test]
async fn a_hostile_floor_cannot_get_past_the_core() {
    let (server, log) = serve(HostileFloor::new(), ServerOptions::default()).await;
    the_contract_holds(&server, &log).await;

    // Nothing Dana got was placed outside billing: the leaks and the events
    // the core could not place never reached her,.
    // audio did.
    let mut dana = Client::subscribed(&server, DANA).await;
    dana.pump(Duration::from_millis(300)).await;
    assert!(dana.floor.agents.keys().all(|a| a != "a-sales"));
    assert!(dana.events.is_empty(), "{:?}", dana.events);
    assert!(!dana.floor.calls.contains_key("c-ghost"));

    // A join the floor answers with someone else's leg is not hers.
    let reply = dana
        .command(json!({"type": "monitor", "call_id": "c-trapped", "mode": "barge"}))
        .await;
    assert_eq!(code(&reply), Some(ErrorCode::Unavailable), "{reply:?}");
    let reply = dana
        .command(json!({"type": "disconnect", "leg_id": "l-31"}))
        .await;
    assert_eq!(code(&reply), Some(ErrorCode::NotYourLeg));
    dana.send_audio(frame(31)).await;
    dana.pump(Duration::from_millis(100)).await;
    assert_eq!(
        log.lock().unwrap().talks.len(),
        1,
        "only the earlier whisper"
    );
    server.shutdown().await;
}
