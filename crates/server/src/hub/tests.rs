use super::*;
use crate::accounts::demo_accounts;
use crate::fixture::{agent, call, obey, queue};
use crate::floor::{FloorCommand, FloorState, Health, Talk};
use crate::impair::Impairment;
use floorwalk_protocol::{
    AudioFrame, FloorStatus, FrameHeader, LegLeftReason, Mode, Parsed, Reachability, ReplyError,
    Timestamp, parse_server,
};
use std::collections::VecDeque;

const LEASE: Duration = Duration::from_millis(1000);
const COMMAND: Duration = Duration::from_millis(2000);

/// A floor that does what it is asked at once and remembers every command
/// and voice it was given. c-1 is billing's (Dana's), c-2 sales'. While
/// `slow`, it holds what it would tell back until the test releases it.
#[derive(Default)]
struct TestFloor {
    told: VecDeque<FloorOutput>,
    commands: Vec<FloorCommand>,
    talks: Vec<Talk>,
    next_track: u32,
    slow: bool,
    held: VecDeque<FloorOutput>,
}

impl Floor for TestFloor {
    fn server_name(&self) -> String {
        "test-floor/1".into()
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_millis(0)
    }

    fn state(&self) -> FloorState {
        FloorState {
            agents: vec![agent("a-1", "billing"), agent("a-2", "sales")],
            calls: vec![call("c-1", "a-1", 1), call("c-2", "a-2", 3)],
            queues: vec![queue("billing")],
        }
    }

    fn command(&mut self, ticket: Ticket, command: FloorCommand) {
        self.commands.push(command.clone());
        self.next_track += 1;
        let answer = obey(ticket, command, 1000 + self.next_track);
        if self.slow {
            self.held.extend(answer);
        } else {
            self.told.extend(answer);
        }
    }

    fn talk(&mut self, talk: Talk) {
        self.talks.push(talk);
    }

    async fn next(&mut self) -> Option<FloorOutput> {
        self.told.pop_front()
    }

    async fn close(self) {}
}

fn hub() -> Hub<TestFloor> {
    let timing = Timing {
        heartbeat: Duration::from_millis(100),
        lease: LEASE,
        command: COMMAND,
    };
    let courier = Courier::new(Impairment::default());
    Hub::new(
        TestFloor::default(),
        &demo_accounts(),
        timing,
        Retention::default(),
        courier,
    )
}

/// Hands the hub everything the floor has told.
fn drain(hub: &mut Hub<TestFloor>) {
    while let Some(output) = hub.floor.told.pop_front() {
        hub.on_floor(output, Instant::now());
    }
}

/// Connects and subscribes demo account `n` (0: Dana, billing and
/// retention; 2: Amara).
fn connect(
    hub: &mut Hub<TestFloor>,
    n: usize,
    capacity: usize,
) -> (ConnId, mpsc::Receiver<Outgoing>) {
    subscribe(hub, n, capacity, None)
}

/// Connects demo account `n` and subscribes afresh, or resumes its stream
/// from `last_seq`.
fn subscribe(
    hub: &mut Hub<TestFloor>,
    n: usize,
    capacity: usize,
    last_seq: Option<u64>,
) -> (ConnId, mpsc::Receiver<Outgoing>) {
    let (outbox, inbox) = mpsc::channel(capacity);
    let (reply, mut registered) = oneshot::channel();
    let account = demo_accounts().remove(n);
    hub.handle(Request::Connect {
        account,
        outbox,
        reply,
    });
    let conn = registered.try_recv().unwrap().conn;
    let session = last_seq.map(|_| hub.desks[n].stream.session().to_string());
    hub.handle(Request::Client {
        conn,
        message: ClientMessage::Subscribe { session, last_seq },
    });
    (conn, inbox)
}

fn command(hub: &mut Hub<TestFloor>, conn: ConnId, message: ClientMessage) {
    hub.handle(Request::Client { conn, message });
    drain(hub);
}

fn monitor(hub: &mut Hub<TestFloor>, conn: ConnId, call_id: &str, mode: Mode) {
    let message = ClientMessage::Monitor {
        req: "r-1".into(),
        call_id: call_id.into(),
        mode,
        announce: false,
    };
    command(hub, conn, message);
}

/// What a connection got: its text messages, and the tracks of its audio.
fn received(inbox: &mut mpsc::Receiver<Outgoing>) -> (Vec<ServerMessage>, Vec<u32>) {
    let (mut texts, mut tracks) = (Vec::new(), Vec::new());
    while let Ok(outgoing) = inbox.try_recv() {
        let batch = match outgoing {
            Outgoing::Text(text) => vec![text],
            Outgoing::Batch(texts) => texts,
            Outgoing::Audio(frame) => {
                tracks.push(AudioFrame::decode(&frame).unwrap().header.track);
                continue;
            }
        };
        for text in batch {
            let Ok(Parsed::Known(message)) = parse_server(&text) else {
                panic!("bad text {text}");
            };
            texts.push(message);
        }
    }
    (texts, tracks)
}

/// The replies a connection got, by `req`: the error, if any.
fn replies(inbox: &mut mpsc::Receiver<Outgoing>) -> Vec<(String, Option<ReplyError>)> {
    received(inbox)
        .0
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::Reply(r) => Some((r.req, r.error)),
            _ => None,
        })
        .collect()
}

fn frame(track: u32) -> Bytes {
    let frame = AudioFrame {
        header: FrameHeader {
            track,
            ..FrameHeader::default()
        },
        opus: &[0xf8, 0xff, 0xfe],
    };
    Bytes::from(frame.encode().unwrap())
}

fn my_leg(hub: &Hub<TestFloor>, supervisor: &str) -> (String, u32) {
    let snapshot = hub.scope.snapshot(|_| true, 0);
    let leg = snapshot
        .calls
        .iter()
        .flat_map(|c| c.supervisor_legs())
        .find(|l| l.user_id.as_deref() == Some(supervisor))
        .unwrap();
    (leg.id.clone(), leg.track)
}

#[test]
fn a_command_gets_its_events_then_its_reply() {
    let mut hub = hub();
    let (conn, mut inbox) = connect(&mut hub, 0, 64);
    monitor(&mut hub, conn, "c-1", Mode::Silent);
    let (leg, _) = my_leg(&hub, "sup-1");
    let (messages, _) = received(&mut inbox);
    assert!(matches!(&messages[..], [
        ServerMessage::Snapshot(s),
        ServerMessage::LegJoined(j),
        ServerMessage::Reply(r),
    ] if s.calls.len() == 1 && s.queues.len() == 1 && j.leg.id == leg && r.ok && r.req == "r-1"));
}

#[test]
fn refused_commands_never_reach_the_floor() {
    let mut hub = hub();
    let (conn, mut inbox) = connect(&mut hub, 0, 64);
    monitor(&mut hub, conn, "c-2", Mode::Silent);
    let leg = ClientMessage::Disconnect {
        req: "r-2".into(),
        leg_id: "l-1".into(),
    };
    command(&mut hub, conn, leg);
    let end = ClientMessage::EndCall {
        req: "r-3".into(),
        call_id: "c-1".into(),
        confirm: "c-2".into(),
    };
    command(&mut hub, conn, end);
    let codes: Vec<_> = received(&mut inbox)
        .0
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::Reply(r) => r.error.map(|e| e.code),
            _ => None,
        })
        .collect();
    assert_eq!(
        codes,
        [
            ErrorCode::Forbidden,
            ErrorCode::NotYourLeg,
            ErrorCode::BadConfirmation
        ]
    );
    assert!(hub.floor.commands.is_empty());
}

#[test]
fn audio_reaches_only_the_supervisors_on_its_call() {
    let mut hub = hub();
    let (dana, mut dana_in) = connect(&mut hub, 0, 256);
    let (amara, mut amara_in) = connect(&mut hub, 2, 256);
    monitor(&mut hub, dana, "c-1", Mode::Silent);
    monitor(&mut hub, amara, "c-1", Mode::Silent);
    received(&mut dana_in);
    received(&mut amara_in);
    let (dana_leg, dana_track) = my_leg(&hub, "sup-1");
    let now = Instant::now();
    // The parties of c-1 reach both; c-2's audio, or a track that is not
    // c-1's, reaches nobody.
    for (call_id, track) in [("c-1", 1), ("c-1", 2), ("c-2", 3), ("c-1", 3)] {
        let output = FloorOutput::Audio {
            call_id: call_id.into(),
            frame: frame(track),
        };
        hub.on_floor(output, now);
    }
    assert_eq!(received(&mut dana_in).1, [1, 2]);
    assert_eq!(received(&mut amara_in).1, [1, 2]);

    // Silent: Dana's voice goes nowhere; on someone else's track neither.
    hub.handle(Request::Audio {
        conn: dana,
        frame: frame(dana_track),
    });
    hub.handle(Request::Audio {
        conn: dana,
        frame: frame(1),
    });
    assert!(hub.floor.talks.is_empty());
    assert!(received(&mut amara_in).1.is_empty());

    // Whisper: to the floor for the agent, and to Amara, never back to Dana.
    let whisper = ClientMessage::SetMode {
        req: "r-2".into(),
        leg_id: dana_leg.clone(),
        mode: Mode::Whisper,
    };
    command(&mut hub, dana, whisper);
    hub.handle(Request::Audio {
        conn: dana,
        frame: frame(dana_track),
    });
    assert_eq!(hub.floor.talks.len(), 1);
    assert_eq!(hub.floor.talks[0].mode, Mode::Whisper);
    assert_eq!(hub.floor.talks[0].leg_id, dana_leg);
    assert_eq!(received(&mut amara_in).1, [dana_track]);
    assert!(received(&mut dana_in).1.is_empty());

    // After Disconnect, nothing she sends goes anywhere.
    let leave = ClientMessage::Disconnect {
        req: "r-3".into(),
        leg_id: dana_leg,
    };
    command(&mut hub, dana, leave);
    hub.handle(Request::Audio {
        conn: dana,
        frame: frame(dana_track),
    });
    assert_eq!(hub.floor.talks.len(), 1);
    assert!(received(&mut amara_in).1.is_empty());
}

#[test]
fn a_console_that_falls_behind_is_dropped_and_its_lease_starts() {
    let mut hub = hub();
    let (conn, mut inbox) = connect(&mut hub, 0, 4);
    let start = Instant::now();
    for n in 0..50 {
        let output = FloorOutput::Event(ServerMessage::Agent(floorwalk_protocol::AgentEvent {
            seq: 0,
            agent: agent("a-1", "billing"),
        }));
        hub.on_floor(output, start + Duration::from_millis(n));
    }
    assert!(!hub.conns.contains_key(&conn));
    assert!(hub.desks[0].lease_ends.is_some());
    // What was queued is still delivered, then the outbox closes.
    assert_eq!(received(&mut inbox).0.len(), 4);
    assert!(inbox.try_recv().is_err() && inbox.is_closed());
}

#[test]
fn legs_go_when_the_lease_runs_out_and_stay_if_the_console_is_back() {
    let mut hub = hub();
    let (conn, _dana) = connect(&mut hub, 0, 1024);
    let (amara, _amara) = connect(&mut hub, 2, 1024);
    monitor(&mut hub, conn, "c-1", Mode::Silent);
    monitor(&mut hub, amara, "c-1", Mode::Silent);
    let (leg, _) = my_leg(&hub, "sup-1");
    let gone_at = Instant::now();
    hub.handle(Request::Gone {
        conn,
        last_heard: gone_at,
    });
    hub.expire_leases(gone_at + LEASE / 2);
    assert!(
        hub.legs.by_track(my_leg(&hub, "sup-1").1).is_some(),
        "kept within the lease"
    );

    // Back in time: the leg survives the old deadline.
    let (conn, _inbox) = connect(&mut hub, 0, 1024);
    hub.expire_leases(gone_at + LEASE * 3);
    drain(&mut hub);
    assert!(hub.scope.leg(&leg).is_some());

    // Gone again, for good: only Dana's leg leaves, as lease_expired.
    let gone_at = gone_at + LEASE * 3;
    hub.handle(Request::Gone {
        conn,
        last_heard: gone_at,
    });
    hub.expire_leases(gone_at + LEASE - Duration::from_millis(1));
    drain(&mut hub);
    assert!(hub.scope.leg(&leg).is_some());
    hub.expire_leases(gone_at + LEASE);
    drain(&mut hub);
    assert!(hub.scope.leg(&leg).is_none());
    let leaves: Vec<_> = hub
        .floor
        .commands
        .iter()
        .filter(|c| matches!(c, FloorCommand::Leave { .. }))
        .collect();
    assert_eq!(
        leaves,
        [&FloorCommand::Leave {
            call_id: "c-1".into(),
            leg_id: leg,
            reason: LegLeftReason::LeaseExpired,
        }]
    );
    assert!(hub.scope.leg(&my_leg(&hub, "sup-3").0).is_some());
}

fn floor_status(message: &ServerMessage) -> Option<&FloorStatus> {
    match message {
        ServerMessage::FloorStatus(status) => Some(status),
        _ => None,
    }
}

#[test]
fn while_the_floor_is_down_only_leaves_reach_it_and_every_console_is_told() {
    const WHY: &str = "Asterisk at 127.0.0.1:8088 is not answering";
    let mut hub = hub();
    let (dana, mut dana_in) = connect(&mut hub, 0, 256);
    monitor(&mut hub, dana, "c-1", Mode::Silent);
    let (leg, _) = my_leg(&hub, "sup-1");
    received(&mut dana_in);
    let asked = hub.floor.commands.len();

    let down = || FloorOutput::Health(Health::Down(WHY.into()));
    hub.on_floor(down(), Instant::now());
    let (messages, _) = received(&mut dana_in);
    let [ServerMessage::FloorStatus(status)] = &messages[..] else {
        panic!("{messages:?}");
    };
    assert_eq!(
        (status.status, status.reason.as_deref()),
        (Reachability::Down, Some(WHY))
    );
    // Told once: the same again is no news.
    hub.on_floor(down(), Instant::now());
    assert!(received(&mut dana_in).0.is_empty());

    // A fresh console gets it right after its snapshot, a resuming one
    // right after its replay.
    let (amara, mut amara_in) = connect(&mut hub, 2, 256);
    let (messages, _) = received(&mut amara_in);
    assert!(
        matches!(&messages[..], [ServerMessage::Snapshot(_), ServerMessage::FloorStatus(s)] if s == status),
        "{messages:?}"
    );
    let last_seq = hub.desks[0].stream.last_seq();
    let (_, mut again_in) = subscribe(&mut hub, 0, 256, Some(last_seq - 1));
    let (messages, _) = received(&mut again_in);
    assert!(
        matches!(&messages[..], [ServerMessage::LegJoined(_), ServerMessage::FloorStatus(s)] if s == status),
        "{messages:?}"
    );

    // Joins, mode changes and ended calls are refused without the floor.
    monitor(&mut hub, amara, "c-1", Mode::Silent);
    let whisper = ClientMessage::SetMode {
        req: "r-2".into(),
        leg_id: leg.clone(),
        mode: Mode::Whisper,
    };
    command(&mut hub, dana, whisper);
    let end = ClientMessage::EndCall {
        req: "r-3".into(),
        call_id: "c-1".into(),
        confirm: "c-1".into(),
    };
    command(&mut hub, dana, end);
    let refused = [replies(&mut amara_in), replies(&mut dana_in)].concat();
    assert_eq!(refused.len(), 3, "{refused:?}");
    for (req, error) in refused {
        let error = error.unwrap_or_else(|| panic!("{req} was not refused"));
        assert_eq!(error.code, ErrorCode::Unavailable);
        assert_eq!(
            error.message,
            format!("the contact center is unreachable: {WHY}")
        );
    }
    assert_eq!(hub.floor.commands.len(), asked);

    // A leave still reaches the floor.
    let leave = ClientMessage::Disconnect {
        req: "r-4".into(),
        leg_id: leg.clone(),
    };
    command(&mut hub, dana, leave);
    assert_eq!(replies(&mut dana_in), [("r-4".to_string(), None)]);
    assert!(matches!(
        hub.floor.commands.last(),
        Some(FloorCommand::Leave { leg_id, .. }) if *leg_id == leg
    ));
    for inbox in [&mut amara_in, &mut again_in] {
        assert!(matches!(
            &received(inbox).0[..],
            [ServerMessage::LegLeft(_)]
        ));
    }

    // Back: everyone is told, and commands go through again (Amara's
    // refused join left nothing behind).
    hub.on_floor(FloorOutput::Health(Health::Up), Instant::now());
    for inbox in [&mut dana_in, &mut amara_in, &mut again_in] {
        let (messages, _) = received(inbox);
        assert!(
            matches!(&messages[..], [ServerMessage::FloorStatus(s)]
                if s.status == Reachability::Up && s.reason.is_none()),
            "{messages:?}"
        );
    }
    monitor(&mut hub, amara, "c-1", Mode::Silent);
    assert_eq!(replies(&mut amara_in), [("r-1".to_string(), None)]);
    // And a console that subscribes now hears nothing about it.
    let (_, mut later_in) = connect(&mut hub, 1, 256);
    assert!(
        received(&mut later_in)
            .0
            .iter()
            .all(|m| floor_status(m).is_none())
    );
}

/// Hands the hub everything the slow floor held back, and whatever that
/// makes it tell in turn.
fn release_all(hub: &mut Hub<TestFloor>) {
    while let Some(output) = hub.floor.held.pop_front() {
        hub.on_floor(output, Instant::now());
    }
}

fn leaves(hub: &Hub<TestFloor>) -> Vec<&FloorCommand> {
    (hub.floor.commands.iter())
        .filter(|c| matches!(c, FloorCommand::Leave { .. }))
        .collect()
}

#[test]
fn a_join_the_floor_never_finishes_is_answered_in_time_and_can_be_asked_again() {
    let mut hub = hub();
    let (dana, mut inbox) = connect(&mut hub, 0, 256);
    hub.floor.slow = true;
    let before = Instant::now();
    monitor(&mut hub, dana, "c-1", Mode::Silent);
    let asked = Instant::now();
    // Under way: asking again is a conflict, as it always was.
    let again = ClientMessage::Monitor {
        req: "r-2".into(),
        call_id: "c-1".into(),
        mode: Mode::Barge,
        announce: false,
    };
    command(&mut hub, dana, again);
    let answered = replies(&mut inbox);
    assert!(
        matches!(&answered[..], [(req, Some(e))] if req == "r-2" && e.code == ErrorCode::Conflict),
        "{answered:?}"
    );
    hub.expire_commands(before + COMMAND - Duration::from_millis(1));
    assert!(replies(&mut inbox).is_empty(), "answered before its time");

    hub.expire_commands(asked + COMMAND);
    let answered = replies(&mut inbox);
    let [(req, Some(error))] = &answered[..] else {
        panic!("{answered:?}");
    };
    assert_eq!((req.as_str(), error.code), ("r-1", ErrorCode::Unavailable));
    assert_eq!(
        error.message,
        "the contact center did not answer within 2 s"
    );
    // Forgotten: the same join can be asked again, and a floor that
    // answers carries it out.
    hub.floor.slow = false;
    monitor(&mut hub, dana, "c-1", Mode::Silent);
    assert_eq!(replies(&mut inbox), [("r-1".to_string(), None)]);
    assert!(leaves(&hub).is_empty());
}

#[test]
fn a_join_that_happens_after_its_deadline_is_undone_at_once() {
    // Whether the floor tells the join's leg_joined and its done, and how
    // many of those come before the deadline.
    let cases = [
        (true, true, 0),
        (true, true, 1),
        (true, false, 1),
        (true, false, 0),
        (false, true, 0),
    ];
    for (leg_joined, done, early) in cases {
        let case = format!("leg_joined {leg_joined}, done {done}, {early} early");
        let mut hub = hub();
        let (dana, mut inbox) = connect(&mut hub, 0, 256);
        hub.floor.slow = true;
        monitor(&mut hub, dana, "c-1", Mode::Silent);
        // Held: the leg_joined, then the done.
        if !done {
            hub.floor.held.pop_back();
        }
        if !leg_joined {
            hub.floor.held.pop_front();
        }
        for _ in 0..early {
            let output = hub.floor.held.pop_front().unwrap();
            hub.on_floor(output, Instant::now());
        }
        hub.expire_commands(Instant::now() + COMMAND);
        release_all(&mut hub);

        assert_eq!(
            leaves(&hub),
            [&FloorCommand::Leave {
                call_id: "c-1".into(),
                leg_id: "l-1001".into(),
                reason: LegLeftReason::Disconnected,
            }],
            "{case}"
        );
        let answered = replies(&mut inbox);
        assert!(
            matches!(&answered[..], [(req, Some(e))] if req == "r-1" && e.code == ErrorCode::Unavailable),
            "{case}: {answered:?}"
        );
        assert!(!hub.legs.owns("l-1001"), "{case}");
        assert!(hub.scope.leg("l-1001").is_none(), "{case}");
    }
}

#[test]
fn other_commands_that_finish_late_are_not_answered_twice() {
    let mut hub = hub();
    let (dana, mut inbox) = connect(&mut hub, 0, 256);
    let (amara, mut amara_in) = connect(&mut hub, 2, 256);
    monitor(&mut hub, dana, "c-1", Mode::Silent);
    let (leg, track) = my_leg(&hub, "sup-1");
    received(&mut inbox);
    hub.floor.slow = true;
    let whisper = ClientMessage::SetMode {
        req: "r-2".into(),
        leg_id: leg.clone(),
        mode: Mode::Whisper,
    };
    command(&mut hub, dana, whisper);
    let end = ClientMessage::EndCall {
        req: "r-3".into(),
        call_id: "c-2".into(),
        confirm: "c-2".into(),
    };
    command(&mut hub, amara, end);
    hub.expire_commands(Instant::now() + COMMAND);
    let answered: Vec<_> = [replies(&mut inbox), replies(&mut amara_in)]
        .concat()
        .into_iter()
        .map(|(req, error)| (req, error.map(|e| e.code)))
        .collect();
    assert_eq!(
        answered,
        [
            ("r-2".to_string(), Some(ErrorCode::Unavailable)),
            ("r-3".to_string(), Some(ErrorCode::Unavailable))
        ]
    );
    // Told late that they happened: no second reply, and no leave.
    release_all(&mut hub);
    assert!(replies(&mut inbox).is_empty() && replies(&mut amara_in).is_empty());
    assert!(leaves(&hub).is_empty());
    // The floor did switch: the voice now follows the whisper.
    hub.handle(Request::Audio {
        conn: dana,
        frame: frame(track),
    });
    assert_eq!(hub.floor.talks.len(), 1);
}

/// The first reply a connection got.
fn first_reply(inbox: &mut mpsc::Receiver<Outgoing>) -> Reply {
    received(inbox)
        .0
        .into_iter()
        .find_map(|m| match m {
            ServerMessage::Reply(r) => Some(r),
            _ => None,
        })
        .unwrap()
}

#[test]
fn announce_goes_to_the_floor_and_its_reply_says_announced() {
    let mut hub = hub();
    let (conn, mut inbox) = connect(&mut hub, 0, 64);
    received(&mut inbox);
    let message = ClientMessage::Monitor {
        req: "r-1".into(),
        call_id: "c-1".into(),
        mode: Mode::Barge,
        announce: true,
    };
    command(&mut hub, conn, message);
    assert!(matches!(
        hub.floor.commands[..],
        [FloorCommand::Join {
            announce: true,
            mode: Mode::Barge,
            ..
        }]
    ));
    let reply = first_reply(&mut inbox);
    assert_eq!(reply.outcome().unwrap()["announced"], true);

    // A plain join does not ask, and its reply does not claim it.
    let (amara, mut amara_inbox) = connect(&mut hub, 2, 64);
    received(&mut amara_inbox);
    monitor(&mut hub, amara, "c-1", Mode::Silent);
    assert!(matches!(
        hub.floor.commands[1],
        FloorCommand::Join {
            announce: false,
            ..
        }
    ));
    let plain = first_reply(&mut amara_inbox);
    assert!(plain.outcome().unwrap().get("announced").is_none());
}

mod records {
    //! The records hook: a join's `ok` waits for its row, a keeper that
    //! cannot write refuses joins, every presence event reaches it.
    use super::*;
    use crate::records::{Commit, EndReason, RecordEvent, RecordKeeper};
    use std::sync::Mutex;

    /// Keeps what it is given and answers commits when the test says.
    #[derive(Debug, Default)]
    struct Keeper {
        written: Mutex<Vec<RecordEvent>>,
        commits: Mutex<Vec<oneshot::Sender<Result<(), String>>>>,
        down: Mutex<Option<String>>,
    }

    impl RecordKeeper for Keeper {
        fn write(&self, event: RecordEvent) -> Commit {
            let (done, commit) = oneshot::channel();
            self.written.lock().unwrap().push(event);
            self.commits.lock().unwrap().push(done);
            commit
        }

        fn unavailable(&self) -> Option<String> {
            self.down.lock().unwrap().clone()
        }
    }

    impl Keeper {
        fn answer(&self, outcome: Result<(), String>) {
            for done in self.commits.lock().unwrap().drain(..) {
                let _ = done.send(outcome.clone());
            }
        }

        fn events(&self) -> Vec<RecordEvent> {
            self.written.lock().unwrap().clone()
        }
    }

    fn recorded_hub() -> (Hub<TestFloor>, Arc<Keeper>) {
        let keeper = Arc::new(Keeper::default());
        (hub().with_records(keeper.clone()), keeper)
    }

    /// The one reply is `unavailable`, saying `why`.
    fn unavailable(inbox: &mut mpsc::Receiver<Outgoing>, why: &str) {
        let got = replies(inbox);
        let error = got[0].1.as_ref().unwrap();
        assert_eq!(error.code, ErrorCode::Unavailable);
        assert!(error.message.contains(why), "{}", error.message);
    }

    /// Releases the join replies whose commit was answered.
    fn settle(hub: &mut Hub<TestFloor>) {
        while let Some(Some(held)) = hub.records.held.next().now_or_never() {
            hub.release_join(held, Instant::now());
            drain(hub);
        }
    }

    #[test]
    fn a_joins_ok_waits_for_its_row() {
        let (mut hub, keeper) = recorded_hub();
        let (conn, mut inbox) = connect(&mut hub, 0, 64);
        monitor(&mut hub, conn, "c-1", Mode::Whisper);
        settle(&mut hub);
        assert!(replies(&mut inbox).is_empty(), "ok before the row");
        let events = keeper.events();
        assert!(matches!(&events[0], RecordEvent::Started { calls, .. } if calls.len() == 2));
        let Some(RecordEvent::Joined(join)) = events.last() else {
            panic!("{events:?}");
        };
        assert_eq!(
            (
                join.supervisor.as_str(),
                join.call.call_id.as_str(),
                join.mode
            ),
            ("sup-1", "c-1", Mode::Whisper)
        );
        assert_eq!(
            (join.call.agent_id.as_str(), join.call.team.as_str()),
            ("a-1", "billing")
        );
        keeper.answer(Ok(()));
        settle(&mut hub);
        assert_eq!(replies(&mut inbox), [("r-1".to_owned(), None)]);
    }

    #[test]
    fn a_join_whose_row_fails_is_refused_and_its_leg_taken_away() {
        let (mut hub, keeper) = recorded_hub();
        let (conn, mut inbox) = connect(&mut hub, 0, 64);
        monitor(&mut hub, conn, "c-1", Mode::Silent);
        let (leg, _) = my_leg(&hub, "sup-1");
        keeper.answer(Err("disk on fire".into()));
        settle(&mut hub);
        unavailable(&mut inbox, "could not record your join (disk on fire)");
        assert!(hub.floor.commands.iter().any(|c| matches!(
            c,
            FloorCommand::Leave { leg_id, .. } if *leg_id == leg
        )));
        assert!(matches!(
            keeper.events().last(),
            Some(RecordEvent::Left {
                reason: EndReason::Disconnected,
                ..
            })
        ));
    }

    #[test]
    fn while_the_keeper_cannot_write_joins_are_refused_and_leaves_go_through() {
        let (mut hub, keeper) = recorded_hub();
        let (conn, mut inbox) = connect(&mut hub, 0, 64);
        monitor(&mut hub, conn, "c-1", Mode::Silent);
        keeper.answer(Ok(()));
        settle(&mut hub);
        let (leg, _) = my_leg(&hub, "sup-1");
        replies(&mut inbox);
        *keeper.down.lock().unwrap() = Some("the records database is gone".into());
        let message = ClientMessage::Disconnect {
            req: "r-2".into(),
            leg_id: leg.clone(),
        };
        command(&mut hub, conn, message);
        assert_eq!(replies(&mut inbox), [("r-2".to_owned(), None)]);
        assert!(matches!(
            keeper.events().last(),
            Some(RecordEvent::Left { leg_id, reason: EndReason::Disconnected, .. }) if *leg_id == leg
        ));
        let asked = hub.floor.commands.len();
        let message = ClientMessage::Monitor {
            req: "r-3".into(),
            call_id: "c-1".into(),
            mode: Mode::Silent,
            announce: false,
        };
        command(&mut hub, conn, message);
        unavailable(
            &mut inbox,
            "cannot record supervisor presence (the records database is gone)",
        );
        assert_eq!(hub.floor.commands.len(), asked, "the floor saw the join");
    }
}
