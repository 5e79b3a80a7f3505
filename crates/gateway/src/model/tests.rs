use super::*;
use serde_json::{Value, json};

/// The gateway's own objects start with this.
const PREFIX: &str = "floorwalk-test-";

const ROSTER: &str = r#"
[[agent]]
id = "ana"
name = "Ana Lima"
team = "billing"
endpoints = ["PJSIP/1001"]

[[agent]]
id = "ben"
name = "Ben Okafor"
team = "retention"
endpoints = ["PJSIP/1002"]

[[agent]]
id = "cy"
name = "Cy Tanaka"
team = "retention"
endpoints = ["PJSIP/1003"]

[[queue]]
id = "support"
name = "Support"
team = "billing"
"#;

/// `secs` seconds after the first moment of every test.
fn at(secs: i64) -> Timestamp {
    crate::ari::events::ari_time("2026-12-03T11:52:18.942+0000")
        .unwrap()
        .plus_millis(secs * 1000)
}

/// A time as ARI writes it: `2026-12-03T11:52:18.942+0000`.
fn ari(t: Timestamp) -> String {
    t.to_string().replace('Z', "+0000")
}

/// A channel as ARI shows it, with the variables ari.conf lists ("" when unset).
#[derive(Debug, Clone)]
struct Chan(Value);

fn chan(id: &str, name: &str) -> Chan {
    Chan(json!({
        "id": id,
        "name": name,
        "state": "Up",
        "caller": {"name": "", "number": ""},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "creationtime": ari(at(0)),
        "language": "en",
        "dialplan": {
            "context": "calls", "exten": "s", "priority": 1,
            "app_name": "AppDial", "app_data": "(Outgoing Line)"
        },
        "channelvars": {
            "FW_ROLE": "", "FW_AGENT": "", "FW_TEAM": "", "FW_QUEUE": "", "FW_RECORDING": ""
        }
    }))
}

impl Chan {
    fn var(mut self, name: &str, value: &str) -> Self {
        self.0["channelvars"][name] = json!(value);
        self
    }

    fn caller(mut self, name: &str, number: &str) -> Self {
        self.0["caller"] = json!({"name": name, "number": number});
        self
    }

    fn app(mut self, name: &str, data: &str) -> Self {
        self.0["dialplan"]["app_name"] = json!(name);
        self.0["dialplan"]["app_data"] = json!(data);
        self
    }

    fn unmarked(self) -> Self {
        self.var("FW_ROLE", "")
    }

    fn id(&self) -> &str {
        self.0["id"].as_str().unwrap()
    }
}

/// Customer `n`: a Local channel as the rig's dialplan makes them, marked.
fn customer(n: u32) -> Chan {
    chan(
        &format!("1764762738.{}", 10 * n),
        &format!("Local/customer@calls-0000000{n};1"),
    )
    .caller("Pat Doe", "+15551230134")
    .var("FW_ROLE", "customer")
}

/// Agent `n`: a phone at `PJSIP/100n` (the roster's ana, ben, cy), marked.
fn agent(n: u32) -> Chan {
    chan(
        &format!("1764762738.{}", 10 * n + 1),
        &format!("PJSIP/100{n}-0000002{n}"),
    )
    .caller(&format!("Phone 100{n}"), &format!("100{n}"))
    .var("FW_ROLE", "agent")
}

/// A caller from the trunk waiting in Queue(support).
fn queued(n: u32) -> Chan {
    chan(
        &format!("1764762738.{}", 10 * n + 2),
        &format!("PJSIP/trunk-0000004{n}"),
    )
    .caller("", "+15551230134")
    .app("Queue", "support,t,,,60")
}

/// One of the gateway's own channels, marked as if it were an agent.
fn ours(n: u32) -> Chan {
    chan(
        &format!("{PREFIX}l{n}-voice"),
        &format!("Snoop/1764762738.11-0000000{n}"),
    )
    .var("FW_ROLE", "agent")
    .var("FW_AGENT", "ghost")
}

/// A Pbx fed with ARI events as JSON text, and what it needs to make a view.
struct Floor {
    pbx: Pbx,
    marks: Marks,
    roster: Roster,
    now: Timestamp,
    /// Bridge id → its creation time.
    bridges: HashMap<String, Timestamp>,
}

impl Floor {
    fn new() -> Self {
        Self {
            pbx: Pbx::default(),
            marks: Marks::default(),
            roster: Roster::default(),
            now: at(0),
            bridges: HashMap::new(),
        }
    }

    fn with_roster() -> Self {
        Self {
            roster: Roster::parse(ROSTER).unwrap(),
            ..Self::new()
        }
    }

    fn at(&mut self, secs: i64) -> &mut Self {
        self.now = at(secs);
        self
    }

    fn send(&mut self, event: Value) -> &mut Self {
        let event = Event::parse(&event.to_string()).unwrap();
        assert_ne!(event, Event::Other);
        self.pbx.apply(&event, &self.marks, self.now);
        self
    }

    /// An event about one channel: `ChannelHold`, `ChannelDialplan`…
    fn tell(&mut self, kind: &str, channel: &Chan) -> &mut Self {
        self.send(json!({"type": kind, "timestamp": ari(self.now), "channel": channel.0}))
    }

    fn create(&mut self, channels: &[&Chan]) -> &mut Self {
        for channel in channels {
            self.tell("ChannelCreated", channel);
        }
        self
    }

    fn bridge_json(&mut self, id: &str, channels: &[&Chan]) -> Value {
        let created = *self.bridges.entry(id.to_owned()).or_insert(self.now);
        json!({
            "id": id,
            "technology": "simple_bridge",
            "bridge_type": "mixing",
            "bridge_class": "basic",
            "creator": "Dial",
            "name": "",
            "channels": channels.iter().map(|c| c.id()).collect::<Vec<_>>(),
            "creationtime": ari(created),
            "video_mode": "none"
        })
    }

    /// A basic bridge is made and the channels enter it one by one.
    fn bridge(&mut self, id: &str, channels: &[&Chan]) -> &mut Self {
        let bridge = self.bridge_json(id, &[]);
        self.send(json!({"type": "BridgeCreated", "bridge": bridge}));
        for n in 1..=channels.len() {
            let bridge = self.bridge_json(id, &channels[..n]);
            self.send(json!({
                "type": "ChannelEnteredBridge", "bridge": bridge, "channel": channels[n - 1].0
            }));
        }
        self
    }

    /// New channels, bridged together.
    fn connect(&mut self, id: &str, channels: &[&Chan]) -> &mut Self {
        self.create(channels).bridge(id, channels)
    }

    /// `channel` leaves the bridge, where `staying` remain.
    fn leave(&mut self, id: &str, channel: &Chan, staying: &[&Chan]) -> &mut Self {
        let bridge = self.bridge_json(id, staying);
        self.send(json!({"type": "ChannelLeftBridge", "bridge": bridge, "channel": channel.0}))
    }

    fn dial(&mut self, caller: &Chan, peer: &Chan) -> &mut Self {
        self.send(json!({
            "type": "Dial", "caller": caller.0, "peer": peer.0,
            "dialstring": "1001", "dialstatus": ""
        }))
    }

    fn device(&mut self, name: &str, state: &str) -> &mut Self {
        self.send(json!({
            "type": "DeviceStateChanged", "device_state": {"name": name, "state": state}
        }))
    }

    fn view(&mut self) -> View {
        let ours = |id: &str| id.starts_with(PREFIX);
        self.pbx.view(&self.marks, &self.roster, &ours, self.now)
    }

    /// The one call on the floor.
    fn call(&mut self) -> PartyCall {
        let calls = self.view().calls;
        assert_eq!(calls.len(), 1, "{calls:#?}");
        calls[0].clone()
    }

    fn agent(&mut self, id: &str) -> AgentView {
        let agents = self.view().agents;
        let agent = agents.iter().find(|a| a.id == id);
        agent
            .unwrap_or_else(|| panic!("no agent {id} in {agents:#?}"))
            .clone()
    }

    fn queue(&mut self, id: &str) -> QueueView {
        let queues = self.view().queues;
        let queue = queues.iter().find(|q| q.id == id);
        queue
            .unwrap_or_else(|| panic!("no queue {id} in {queues:#?}"))
            .clone()
    }
}

/// The one call a fresh floor with the roster sees in a bridge of these two.
fn call_of(customer: &Chan, agent: &Chan) -> PartyCall {
    Floor::with_roster()
        .connect("br-1", &[customer, agent])
        .call()
}

#[test]
fn a_marked_bridge_is_a_call_of_its_agent_team_and_queue() {
    let mut floor = Floor::new();
    let customer = customer(1).var("FW_QUEUE", "support");
    let agent = agent(1).var("FW_AGENT", "ana").var("FW_TEAM", "billing");
    floor.create(&[&customer, &agent]).at(7);
    floor.bridge("br-1", &[&customer, &agent]).at(9);
    let call = floor.call();
    assert_eq!(
        call,
        PartyCall {
            id: "br-1".into(),
            customer: customer.id().into(),
            agent: agent.id().into(),
            agent_id: "ana".into(),
            team: "billing".into(),
            queue: Some("support".into()),
            direction: Direction::Inbound,
            caller: CallerId {
                name: "Pat Doe".into(),
                number: "+15551230134".into()
            },
            // The bridge's creation, not the channels'.
            started_at: at(7),
            recording: false,
            on_hold: false,
        }
    );
    assert_eq!(masked(&call.caller), "+1 ••• ••• 0134");
}

#[test]
fn app_queue_variables_stand_in_for_unset_marks() {
    // No FW_* at all: app_queue's MEMBERNAME on the member's side tells
    // the agent, QUEUENAME the queue; the member is listed first.
    let customer = customer(1).unmarked().var("QUEUENAME", "support");
    let agent = agent(7).unmarked().var("MEMBERNAME", "zoe");
    let call = Floor::new().connect("br-1", &[&agent, &customer]).call();
    assert_eq!(call.customer, customer.id());
    assert_eq!(call.agent, agent.id());
    assert_eq!(call.agent_id, "zoe");
    assert_eq!(call.queue.as_deref(), Some("support"));
    assert_eq!(call.team, "floor");
}

#[test]
fn app_queue_setinterfacevar_names_the_member_on_both_sides_and_the_dial_decides() {
    // queues.conf's setinterfacevar=yes sets MEMBERNAME on the caller too;
    // who dialed whom still says who is the customer, in either order.
    let customer = customer(1).unmarked().var("MEMBERNAME", "zoe");
    let agent = agent(7).unmarked().var("MEMBERNAME", "zoe");
    for order in [[&customer, &agent], [&agent, &customer]] {
        let mut floor = Floor::new();
        floor.create(&[&customer, &agent]).dial(&customer, &agent);
        let call = floor.bridge("br-1", &order).call();
        assert_eq!(
            (call.customer.as_str(), call.agent.as_str()),
            (customer.id(), agent.id())
        );
        assert_eq!(call.agent_id, "zoe");
    }
}

#[test]
fn without_roles_the_caller_of_a_dial_is_the_customer_and_the_peer_the_agent() {
    let customer = customer(1).unmarked();
    let agent = agent(2).unmarked();
    let mut floor = Floor::new();
    floor.create(&[&customer, &agent]).dial(&customer, &agent);
    let call = floor.bridge("br-1", &[&agent, &customer]).call();
    assert_eq!(call.customer, customer.id());
    assert_eq!(call.agent, agent.id());
    // Nothing names the agent: its endpoint does, in the default team.
    assert_eq!(
        (call.agent_id.as_str(), call.team.as_str()),
        ("PJSIP/1002", "floor")
    );
    assert_eq!(call.direction, Direction::Inbound);
}

#[test]
fn the_roster_names_agents_by_endpoint_and_places_them_and_their_queues() {
    let stranger = || {
        chan("1764762738.99", "PJSIP/2001-00000099")
            .caller("Zoe Park", "2001")
            .var("FW_ROLE", "agent")
    };
    let cases = [
        // By endpoint PJSIP/1001: ana, of billing.
        (agent(1), "ana", "billing"),
        // Named by FW_AGENT: ben's team, whatever the phone.
        (agent(1).var("FW_AGENT", "ben"), "ben", "retention"),
        // An agent the roster does not know, on a queue it does.
        (
            stranger().var("FW_AGENT", "zoe").var("FW_QUEUE", "support"),
            "zoe",
            "billing",
        ),
    ];
    for (agent, id, team) in cases {
        let call = call_of(&customer(1), &agent);
        assert_eq!((call.agent_id.as_str(), call.team.as_str()), (id, team));
    }
}

#[test]
fn an_agent_nothing_places_is_in_the_default_team() {
    let agent = agent(7).var("FW_AGENT", "zoe");
    let call = call_of(&customer(1), &agent);
    assert_eq!(
        (call.agent_id.as_str(), call.team.as_str()),
        ("zoe", "floor")
    );
}

#[test]
fn two_unmarked_channels_nobody_dialed_nor_rostered_are_no_call() {
    let mut floor = Floor::new();
    floor.connect("br-1", &[&customer(1).unmarked(), &agent(1).unmarked()]);
    assert_eq!(floor.view().calls, []);
}

#[test]
fn an_agent_who_dialed_the_customer_is_on_an_outbound_call() {
    let (customer, agent) = (customer(1), agent(1));
    let mut floor = Floor::with_roster();
    floor.create(&[&agent, &customer]).dial(&agent, &customer);
    let call = floor.bridge("br-1", &[&agent, &customer]).call();
    assert_eq!(call.direction, Direction::Outbound);
    assert_eq!(
        (call.customer.as_str(), call.agent_id.as_str()),
        (customer.id(), "ana")
    );
}

#[test]
fn the_gateways_own_objects_are_never_calls_legs_or_agents() {
    let mut floor = Floor::with_roster();
    // One of ours in a call's bridge: the call is still its two parties'.
    floor.connect("br-1", &[&customer(1), &ours(1), &agent(1)]);
    // A party alone with one of ours: no call.
    floor.connect("br-2", &[&customer(2), &ours(2)]);
    // A bridge of ours holding a customer and an agent: no call.
    floor.connect(&format!("{PREFIX}b3"), &[&customer(3), &agent(3)]);
    let view = floor.view();
    let calls: Vec<_> = view
        .calls
        .iter()
        .map(|c| (c.id.as_str(), c.customer.as_str(), c.agent.as_str()))
        .collect();
    assert_eq!(calls, [("br-1", customer(1).id(), agent(1).id())]);
    for agent in &view.agents {
        assert!(
            agent.id != "ghost" && !agent.id.starts_with(PREFIX),
            "{agent:?}"
        );
        assert_eq!(agent.call_id.is_some(), agent.id == "ana", "{agent:?}");
    }
}

#[test]
fn fw_recording_marks_a_call_recorded_when_truthy() {
    for (value, recording) in [
        ("1", true),
        ("yes", true),
        ("", false),
        ("0", false),
        ("no", false),
    ] {
        let call = call_of(&customer(1), &agent(1).var("FW_RECORDING", value));
        assert_eq!(call.recording, recording, "FW_RECORDING={value:?}");
    }
}

#[test]
fn a_call_is_on_hold_from_channel_hold_to_channel_unhold() {
    let (customer, agent) = (customer(1), agent(1));
    let mut floor = Floor::with_roster();
    floor.connect("br-1", &[&customer, &agent]);
    assert!(!floor.call().on_hold);
    for party in [&agent, &customer] {
        assert!(floor.tell("ChannelHold", party).call().on_hold);
        assert!(!floor.tell("ChannelUnhold", party).call().on_hold);
    }
}

enum Party {
    Customer,
    Agent,
}

/// How a call ends when one party leaves its bridge, having hung up (the
/// other too, after it) or not, as the driver asks: at the first view
/// without the call.
fn end_when(leaves: Party, hangs_up: bool) -> CallEndReason {
    let (customer, agent) = (customer(1), agent(1));
    let (first, other) = match leaves {
        Party::Customer => (&customer, &agent),
        Party::Agent => (&agent, &customer),
    };
    let mut floor = Floor::with_roster();
    let call = floor.connect("br-1", &[&customer, &agent]).call();
    if hangs_up {
        floor.tell("ChannelHangupRequest", first);
        floor.tell("ChannelHangupRequest", other);
        assert_eq!(floor.call(), call, "ended before leaving");
    }
    floor.leave("br-1", first, &[other]);
    assert_eq!(floor.view().calls, []);
    floor.pbx.end_reason(&call)
}

#[test]
fn a_customer_who_hangs_up_first_ends_the_call_by_customer_hangup() {
    assert_eq!(
        end_when(Party::Customer, true),
        CallEndReason::CustomerHangup
    );
}

#[test]
fn an_agent_who_hangs_up_first_ends_the_call_by_agent_hangup() {
    assert_eq!(end_when(Party::Agent, true), CallEndReason::AgentHangup);
}

#[test]
fn a_party_that_left_the_bridge_without_hanging_up_was_transferred() {
    assert_eq!(end_when(Party::Customer, false), CallEndReason::Transferred);
}

#[test]
fn callers_in_queue_wait_until_bridged_and_count_toward_the_service_level() {
    let (first, second) = (queued(1), queued(2));
    let mut floor = Floor::with_roster();
    floor.at(0).tell("ChannelDialplan", &first);
    floor.at(5).tell("ChannelDialplan", &second);
    let support = floor.at(15).queue("support");
    assert_eq!(
        (support.name.as_str(), support.team.as_str()),
        ("Support", "billing")
    );
    assert_eq!((support.waiting, support.longest_wait_s), (2, 15));
    assert_eq!(
        support.sla_percent, 100.0,
        "nobody answered yet, nobody failed"
    );
    // Answered after 15 s, within the 20 s of the service level.
    floor
        .create(&[&agent(1)])
        .bridge("br-1", &[&first, &agent(1)]);
    let support = floor.at(16).queue("support");
    assert_eq!((support.waiting, support.longest_wait_s), (1, 11));
    assert_eq!(support.sla_percent, 100.0);
    // Answered after 35 s: late.
    floor.at(40).create(&[&agent(2)]);
    floor.bridge("br-2", &[&second, &agent(2)]);
    let support = floor.queue("support");
    assert_eq!((support.waiting, support.longest_wait_s), (0, 0));
    assert_eq!(support.sla_percent, 50.0);
}

#[test]
fn the_service_level_forgets_callers_answered_more_than_an_hour_ago() {
    let mut floor = Floor::with_roster();
    floor.tell("ChannelDialplan", &queued(1));
    floor.at(30).create(&[&agent(1)]);
    floor.bridge("br-1", &[&queued(1), &agent(1)]);
    assert_eq!(floor.queue("support").sla_percent, 0.0);
    assert_eq!(floor.at(30 + 3601).queue("support").sla_percent, 100.0);
}

#[test]
fn an_answered_caller_does_not_wait_again_until_the_dialplan_queues_it_anew() {
    let (caller, agent) = (queued(1), agent(1));
    let mut floor = Floor::with_roster();
    floor.tell("ChannelDialplan", &caller);
    floor
        .at(5)
        .create(&[&agent])
        .bridge("br-1", &[&caller, &agent]);
    // The agent hangs up; the caller is still in Queue() while app_queue
    // sets its variables after the bridge.
    floor.tell("ChannelHangupRequest", &agent);
    floor
        .leave("br-1", &agent, &[&caller])
        .leave("br-1", &caller, &[]);
    floor.send(json!({
        "type": "ChannelVarset", "variable": "QUEUENAME", "value": "support",
        "channel": caller.clone().var("QUEUENAME", "support").0
    }));
    assert_eq!(floor.at(10).queue("support").waiting, 0);
    // Sent to the queue again: a new wait.
    floor.tell("ChannelDialplan", &caller.app("Queue", "support,t,,,120"));
    assert_eq!(floor.at(12).queue("support").waiting, 1);
}

#[test]
fn a_queues_free_members_are_its_available_agents() {
    let mut floor = Floor::with_roster();
    assert_eq!(floor.queue("support").agents_available, 0);
    floor.pbx.set_free_members("support", 3);
    assert_eq!(floor.queue("support").agents_available, 3);
}

#[test]
fn roster_agents_off_a_call_are_as_their_devices() {
    let mut floor = Floor::with_roster();
    floor.device("PJSIP/1001", "NOT_INUSE");
    floor.device("PJSIP/1002", "UNAVAILABLE");
    floor.device("PJSIP/1003", "INUSE");
    let states: Vec<_> = floor
        .view()
        .agents
        .into_iter()
        .map(|a| (a.id, a.state, a.call_id))
        .collect();
    assert_eq!(
        states,
        [
            ("ana".to_owned(), AgentState::Available, None),
            ("ben".to_owned(), AgentState::Offline, None),
            ("cy".to_owned(), AgentState::OnCall, None),
        ]
    );
}

#[test]
fn an_agent_on_a_call_is_on_it_whatever_the_device() {
    let mut floor = Floor::with_roster();
    floor.device("PJSIP/1001", "NOT_INUSE");
    floor.connect("br-1", &[&customer(1), &agent(1)]);
    let ana = floor.agent("ana");
    assert_eq!(
        (ana.state, ana.call_id.as_deref()),
        (AgentState::OnCall, Some("br-1"))
    );
}

#[test]
fn agents_seen_on_a_call_stay_on_the_floor_after_it() {
    // A dialed channel's caller id is the caller's: it never names the agent.
    let agent = agent(7)
        .caller("Zoe Park", "1007")
        .var("FW_AGENT", "zoe")
        .var("FW_TEAM", "sales");
    let mut floor = Floor::new();
    floor.connect("br-1", &[&customer(1), &agent]);
    assert_eq!(floor.agent("zoe").state, AgentState::OnCall);
    floor.tell("ChannelHangupRequest", &agent);
    floor.leave("br-1", &agent, &[&customer(1)]);
    floor.tell("ChannelDestroyed", &agent);
    assert_eq!(floor.view().calls, []);
    assert_eq!(
        floor.agent("zoe"),
        AgentView {
            id: "zoe".into(),
            name: "zoe".into(),
            team: "sales".into(),
            state: AgentState::Available,
            call_id: None,
        }
    );
}

#[test]
fn masked_numbers_show_only_their_last_four_digits() {
    for (number, shown) in [
        ("+15551230134", "+1 ••• ••• 0134"),
        ("+447700900123", "+4• ••• 0123"),
        ("5551230134", "••• ••• 0134"),
        ("1001", "•••"),
        ("+1 2", "•••"),
        ("", "unknown"),
    ] {
        let caller = CallerId {
            name: "Pat Doe".into(),
            number: number.into(),
        };
        assert_eq!(masked(&caller), shown, "{number:?}");
    }
}

#[test]
fn a_rostered_agent_who_dials_out_is_the_agent_and_the_call_outbound() {
    let ana = chan("9.1", "PJSIP/1001-00000001");
    let callee = chan("9.2", "PJSIP/trunk-00000002").caller("", "+15550001111");
    let mut floor = Floor::with_roster();
    floor.dial(&ana, &callee);
    floor.connect("br-9", &[&ana, &callee]);
    let call = floor.call();
    assert_eq!(
        (call.agent.as_str(), call.customer.as_str()),
        ("9.1", "9.2")
    );
    assert_eq!(call.agent_id, "ana");
    assert_eq!(call.direction, Direction::Outbound);
}
