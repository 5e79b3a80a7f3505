//! The Asterisk rig against a real Asterisk 22 over loopback: how a
//! contact-center call looks through ARI (a bridge of a customer channel and
//! an agent channel, told apart by their channel variables), what the events
//! socket says when one side hangs up, and that the rig leaves nothing
//! running.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/asterisk.rs"]
mod asterisk;

use asterisk::{Asterisk, Events};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;

/// The ARI application the test listens as.
const APP: &str = "floorwalk-test";

/// The events that end a call or take a channel out of it.
const ENDINGS: [&str; 4] = [
    "ChannelHangupRequest",
    "ChannelLeftBridge",
    "BridgeDestroyed",
    "ChannelDestroyed",
];

fn id(value: &Value) -> &str {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
}

fn ids(values: &Value) -> BTreeSet<&str> {
    values.as_array().unwrap().iter().map(id).collect()
}

/// What ARI shows as `channelvars` for a channel of a call.
fn marks(role: &str, agent: &str, team: &str, queue: &str) -> Value {
    json!({
        "FW_ROLE": role, "FW_AGENT": agent, "FW_TEAM": team, "FW_QUEUE": queue,
        "FW_RECORDING": "", "MEMBERNAME": "", "QUEUENAME": "",
    })
}

/// One call as ARI shows it once both sides are in the bridge.
struct Call {
    bridge: Value,
    customer: Value,
    agent: Value,
    /// The Local channels' other halves: the customer's and the agent's
    /// phones, which play the tone and are in no bridge.
    phones: Vec<Value>,
}

impl Call {
    /// Every channel id of the call.
    fn channel_ids(&self) -> BTreeSet<&str> {
        [&self.customer, &self.agent]
            .into_iter()
            .chain(&self.phones)
            .map(id)
            .collect()
    }
}

/// Places a call and waits (on the events socket) until Asterisk has
/// bridged the customer's channel with an agent's, then reads the call back
/// through GET /ari/bridges and GET /ari/channels.
async fn connect(
    asterisk: &Asterisk,
    events: &mut Events,
    agent: &str,
    team: &str,
    queue: &str,
) -> Call {
    let customer = asterisk.place_call(agent, team, queue).await;
    let customer_id = id(&customer).to_owned();
    let entered = events
        .wait_for(
            &format!("the bridge of {customer_id} with two channels"),
            |e| {
                e["type"] == "ChannelEnteredBridge"
                    && e["bridge"]["channels"].as_array().is_some_and(|c| {
                        c.len() == 2 && c.iter().any(|c| c == customer_id.as_str())
                    })
            },
        )
        .await;
    let bridge_id = id(&entered["bridge"]).to_owned();

    let bridges = asterisk.get("/bridges").await;
    let bridge = bridges
        .as_array()
        .unwrap()
        .iter()
        .find(|b| id(b) == bridge_id)
        .unwrap_or_else(|| panic!("bridge {bridge_id} is not in GET /bridges: {bridges}"))
        .clone();
    let members: Vec<&str> = bridge["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        members.len(),
        2,
        "a call's bridge holds two channels: {bridge}"
    );
    let agent_id = *members
        .iter()
        .find(|&&c| c != customer_id)
        .unwrap_or_else(|| panic!("the customer's bridge holds no other channel: {bridge}"));
    assert!(members.contains(&customer_id.as_str()), "{bridge}");

    let channels = asterisk.get("/channels").await;
    let channel = |wanted: &str| {
        channels
            .as_array()
            .unwrap()
            .iter()
            .find(|c| id(c) == wanted)
            .unwrap_or_else(|| panic!("channel {wanted} is not in GET /channels: {channels}"))
            .clone()
    };
    let customer = channel(&customer_id);
    let agent = channel(agent_id);
    // A Local channel's other half has the same name ending in ;2.
    let phones = [&customer, &agent]
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap();
            let phone = name.replace(";1", ";2");
            assert_ne!(name, phone, "not the first half of a Local channel: {c}");
            channels
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == phone.as_str())
                .unwrap_or_else(|| panic!("no {phone} in GET /channels: {channels}"))
                .clone()
        })
        .collect();
    Call {
        bridge,
        customer,
        agent,
        phones,
    }
}

#[tokio::test]
async fn each_call_is_a_bridge_of_a_customer_and_an_agent_and_a_hangup_ends_only_its_call() {
    let asterisk = Asterisk::start().await;
    let mut events = asterisk.events(APP).await;

    let ana = connect(
        &asterisk,
        &mut events,
        "ag-ana",
        "billing",
        "billing-general",
    )
    .await;
    let ben = connect(
        &asterisk,
        &mut events,
        "ag-ben",
        "retention",
        "retention-vip",
    )
    .await;

    // Two calls, two bridges; each holds exactly its customer and its agent,
    // and only those two channels carry the marks (the phones show "").
    let bridges = asterisk.get("/bridges").await;
    assert_eq!(
        ids(&bridges),
        BTreeSet::from([id(&ana.bridge), id(&ben.bridge)]),
        "{bridges}"
    );
    for (call, agent, team, queue) in [
        (&ana, "ag-ana", "billing", "billing-general"),
        (&ben, "ag-ben", "retention", "retention-vip"),
    ] {
        assert_eq!(call.bridge["bridge_type"], "mixing", "{}", call.bridge);
        assert_eq!(
            call.customer["channelvars"],
            marks("customer", agent, team, queue),
            "{}",
            call.customer
        );
        assert_eq!(
            call.agent["channelvars"],
            marks("agent", agent, team, queue),
            "{}",
            call.agent
        );
        for channel in [&call.customer, &call.agent] {
            assert_eq!(channel["state"], "Up", "{channel}");
        }
        for phone in &call.phones {
            assert_eq!(phone["channelvars"], marks("", "", "", ""), "{phone}");
        }
    }
    let channels = asterisk.get("/channels").await;
    assert_eq!(
        ids(&channels),
        &ana.channel_ids() | &ben.channel_ids(),
        "every channel belongs to one of the two calls: {channels}"
    );

    // The customer of Ana's call hangs up.
    let before_hangup = events.seen.len();
    asterisk
        .delete(&format!("/channels/{}", id(&ana.customer)))
        .await;
    for channel in [&ana.customer, &ana.agent] {
        let left = events
            .wait_for(&format!("ChannelLeftBridge of {}", id(channel)), |e| {
                e["type"] == "ChannelLeftBridge"
                    && e["channel"]["id"] == channel["id"]
                    && e["bridge"]["id"] == ana.bridge["id"]
            })
            .await;
        assert_eq!(
            left["channel"]["channelvars"], channel["channelvars"],
            "{left}"
        );
    }
    events
        .wait_for(&format!("BridgeDestroyed of {}", id(&ana.bridge)), |e| {
            e["type"] == "BridgeDestroyed" && e["bridge"]["id"] == ana.bridge["id"]
        })
        .await;
    for channel in ana.channel_ids() {
        events
            .wait_for(&format!("ChannelDestroyed of {channel}"), |e| {
                e["type"] == "ChannelDestroyed" && e["channel"]["id"] == channel
            })
            .await;
    }

    // Ben's call stands as it was: none of its channels was hung up or left
    // its bridge, and ARI shows only it. (Its late setup events, such as
    // ChannelVarset of BRIDGEPEER, may still arrive after the hangup.)
    let ended: Vec<&Value> = events.seen[before_hangup..]
        .iter()
        .filter(|e| ENDINGS.contains(&e["type"].as_str().unwrap_or("")))
        .filter(|e| {
            e["bridge"]["id"] == ben.bridge["id"]
                || e["channel"]["id"]
                    .as_str()
                    .is_some_and(|c| ben.channel_ids().contains(c))
        })
        .collect();
    assert!(ended.is_empty(), "Ben's call was touched: {ended:?}");
    let bridges = asterisk.get("/bridges").await;
    assert_eq!(bridges, json!([ben.bridge]), "only Ben's call is left");
    let channels = asterisk.get("/channels").await;
    assert_eq!(ids(&channels), ben.channel_ids(), "{channels}");
    for channel in [&ben.customer, &ben.agent] {
        let now = asterisk.get(&format!("/channels/{}", id(channel))).await;
        assert_eq!(now["state"], "Up", "{now}");
        assert_eq!(now["channelvars"], channel["channelvars"], "{now}");
    }
}

#[tokio::test]
async fn the_rig_answers_on_the_cli_and_leaves_nothing_behind() {
    let asterisk = Asterisk::start().await;
    let info = asterisk.get("/asterisk/info").await;
    let version = info["system"]["version"].as_str().unwrap().to_owned();
    let cli = asterisk.cli("core show version");
    assert!(
        cli.starts_with(&format!("Asterisk {version} ")),
        "the CLI ({cli:?}) and ARI ({version}) disagree"
    );
    let log = std::fs::read_to_string(asterisk.log_path()).unwrap();
    assert!(log.contains("Asterisk Ready."), "{}", asterisk.log_tail(40));
    assert!(
        !log.contains("declined to load"),
        "a module of modules.conf did not load:\n{log}"
    );

    let pid = asterisk.pid();
    let port = asterisk.port();
    let dir = asterisk.dir().to_owned();
    drop(asterisk);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "Asterisk (pid {pid}) outlived the rig"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something still listens on ARI's port {port}"
    );
    assert!(!dir.exists(), "{} outlived the rig", dir.display());
}
