//! Abuse from a second supervisor's console: every attempt on someone
//! else's leg, another team's call, a call one may not end, someone else's
//! audio track or `req`, is refused with the right code and changes nothing,
//! neither in the simulator's world nor in what the victim's console sees.
//!
//! The cast (the demo accounts): Dana (billing, retention, may end calls) is
//! the victim, on a billing call in whisper. Amara (every team, may end
//! calls) is on the same call, listening. Jorge (sales, support, may not end
//! calls) sees none of it. The 401 for a bad token is in `sim_transport.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/sim_client.rs"]
mod sim_client;

use floorwalk_protocol::{
    AudioFrame, ErrorCode, FrameHeader, Mode, Reply, Role, ServerMessage, Snapshot,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sim_client::*;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Every leg a console supervisor (not a simulated one) holds: leg id to
/// (call, owner, mode). The world's own story moves calls and bots along;
/// this is what an abuse could change.
type ConsoleLegs = BTreeMap<String, (String, Option<String>, Option<Mode>)>;

fn console_legs(snapshot: &Snapshot) -> ConsoleLegs {
    snapshot
        .calls
        .iter()
        .flat_map(|call| call.legs.iter().map(move |leg| (call, leg)))
        .filter(|(_, leg)| {
            leg.role == Role::Supervisor
                && leg
                    .user_id
                    .as_deref()
                    .is_some_and(|u| u.starts_with("sup-"))
        })
        .map(|(call, leg)| {
            (
                leg.id.clone(),
                (call.id.clone(), leg.user_id.clone(), leg.mode),
            )
        })
        .collect()
}

fn has_call(snapshot: &Snapshot, call: &str) -> bool {
    snapshot.calls.iter().any(|c| c.id == call)
}

fn refused(reply: &Reply, code: ErrorCode, what: &str) {
    match reply.outcome() {
        Err(error) => assert_eq!(error.code, code, "{what}: {reply:?}"),
        Ok(result) => panic!("{what} was allowed: {result}"),
    }
}

fn leg_of(reply: &Reply) -> (String, u32) {
    let result = reply.outcome().unwrap();
    (
        result["leg_id"].as_str().unwrap().to_string(),
        u32::try_from(result["track"].as_u64().unwrap()).unwrap(),
    )
}

/// A call of `team` on this client's floor.
fn call_of_team(client: &Client, team: &str) -> String {
    let mut calls: Vec<&String> = client
        .floor
        .calls
        .iter()
        .filter(|(_, call)| {
            client
                .floor
                .agents
                .get(&call.agent_id)
                .is_some_and(|a| a.team == team)
        })
        .map(|(id, _)| id)
        .collect();
    calls.sort_by_key(|id| (id.len(), *id));
    calls
        .first()
        .unwrap_or_else(|| panic!("no {team} call"))
        .to_string()
}

struct Scene {
    sim: floorwalk_server::ServerHandle,
    dana: Client,
    amara: Client,
    jorge: Client,
    /// Dana's billing call, and her whisper leg on it.
    call: String,
    danas_leg: String,
    danas_track: u32,
    amaras_leg: String,
    /// Every leg of Dana's call that is not Dana's.
    other_legs: Vec<String>,
    /// A call in Jorge's teams.
    jorges_call: String,
}

async fn scene() -> Scene {
    let sim = start(quiet_options()).await;
    let mut dana = Client::subscribed(&sim, DANA).await;
    let mut amara = Client::subscribed(&sim, AMARA).await;
    let jorge = Client::subscribed(&sim, JORGE).await;
    let call = call_of_team(&dana, "billing");
    let (danas_leg, danas_track) = leg_of(
        &dana
            .command(json!({"type": "monitor", "call_id": call, "mode": "whisper"}))
            .await,
    );
    let (amaras_leg, _) = leg_of(
        &amara
            .command(json!({"type": "monitor", "call_id": call, "mode": "silent"}))
            .await,
    );
    let world = world(&sim).await;
    let other_legs = world
        .calls
        .iter()
        .find(|c| c.id == call)
        .unwrap()
        .legs
        .iter()
        .filter(|l| l.id != danas_leg)
        .map(|l| l.id.clone())
        .collect();
    let jorges_call = call_of_team(&jorge, "sales");
    Scene {
        sim,
        dana,
        amara,
        jorge,
        call,
        danas_leg,
        danas_track,
        amaras_leg,
        other_legs,
        jorges_call,
    }
}

impl Scene {
    /// Runs `abuse` and checks that it changed none of the consoles' legs and
    /// ended none of the calls involved, and that Dana's console heard of no
    /// change to her call.
    async fn unchanged_after<F>(&mut self, what: &str, abuse: F)
    where
        F: AsyncFnOnce(&mut Scene),
    {
        let before = world(&self.sim).await;
        let seen = self.dana.events.len();
        abuse(self).await;
        // Whatever the abuse might have set off reaches Dana by now.
        let ping = self
            .dana
            .command(json!({"type": "set_mode", "leg_id": self.danas_leg, "mode": "whisper"}))
            .await;
        assert!(ping.ok, "{ping:?}");
        let after = world(&self.sim).await;
        assert_eq!(console_legs(&after), console_legs(&before), "{what}");
        for call in [&self.call, &self.jorges_call] {
            assert!(has_call(&after, call), "{what} ended {call}");
        }
        // The legs of Dana's call that are not simulated supervisors (who
        // come and go on their own).
        let watched: Vec<&str> = before
            .calls
            .iter()
            .filter(|c| c.id == self.call)
            .flat_map(|c| &c.legs)
            .filter(|l| {
                !l.user_id
                    .as_deref()
                    .is_some_and(|u| u.starts_with("sim-sup-"))
            })
            .map(|l| l.id.as_str())
            .collect();
        let news: Vec<&ServerMessage> = self.dana.events[seen..]
            .iter()
            .filter(|e| match e {
                ServerMessage::LegLeft(l) => watched.contains(&l.leg_id.as_str()),
                ServerMessage::LegChanged(l) => watched.contains(&l.leg_id.as_str()),
                ServerMessage::CallEnded(c) => c.call_id == self.call,
                _ => false,
            })
            .collect();
        assert!(news.is_empty(), "{what}: Dana saw {news:?}");
    }
}

#[tokio::test]
async fn another_supervisors_leg_cannot_be_dropped_or_switched() {
    let mut s = scene().await;
    let (danas, others) = (s.danas_leg.clone(), s.other_legs.clone());
    assert!(others.contains(&s.amaras_leg));
    assert!(others.len() >= 3, "customer, agent and Amara: {others:?}");
    s.unchanged_after("Amara and Jorge on Dana's leg", async |s| {
        for mode in ["silent", "whisper", "barge"] {
            let set = json!({"type": "set_mode", "leg_id": danas, "mode": mode});
            refused(
                &s.amara.command(set.clone()).await,
                ErrorCode::NotYourLeg,
                "set_mode",
            );
            refused(
                &s.jorge.command(set).await,
                ErrorCode::NotYourLeg,
                "set_mode",
            );
        }
        let drop = json!({"type": "disconnect", "leg_id": danas});
        refused(
            &s.amara.command(drop.clone()).await,
            ErrorCode::NotYourLeg,
            "disconnect",
        );
        refused(
            &s.jorge.command(drop).await,
            ErrorCode::NotYourLeg,
            "disconnect",
        );
    })
    .await;
    // Nor the customer's, the agent's or a bot's legs, from any team.
    s.unchanged_after("Jorge on every other leg of the call", async |s| {
        for leg in others.iter().filter(|l| **l != s.amaras_leg) {
            let drop = json!({"type": "disconnect", "leg_id": leg});
            refused(
                &s.jorge.command(drop.clone()).await,
                ErrorCode::NotYourLeg,
                leg,
            );
            refused(&s.amara.command(drop).await, ErrorCode::NotYourLeg, leg);
            let set = json!({"type": "set_mode", "leg_id": leg, "mode": "barge"});
            refused(&s.jorge.command(set).await, ErrorCode::NotYourLeg, leg);
        }
    })
    .await;

    // Once Dana has left, her old leg is still not Amara's to ask about:
    // `already_left` is the owner's answer only.
    let reply = s
        .dana
        .command(json!({"type": "disconnect", "leg_id": danas}))
        .await;
    assert_eq!(reply.outcome().unwrap()["already_left"], json!(false));
    let drop = json!({"type": "disconnect", "leg_id": danas});
    refused(
        &s.amara.command(drop.clone()).await,
        ErrorCode::NotYourLeg,
        "a left leg",
    );
    let set = json!({"type": "set_mode", "leg_id": danas, "mode": "barge"});
    refused(
        &s.amara.command(set).await,
        ErrorCode::NotYourLeg,
        "a left leg",
    );
    let reply = s.dana.command(drop).await;
    assert_eq!(reply.outcome().unwrap()["already_left"], json!(true));
    s.sim.shutdown().await;
}

#[tokio::test]
async fn another_teams_call_cannot_be_joined_or_ended() {
    let mut s = scene().await;
    let call = s.call.clone();
    s.unchanged_after("Jorge on a billing call", async |s| {
        for mode in ["silent", "whisper", "barge"] {
            let join = json!({"type": "monitor", "call_id": call, "mode": mode});
            refused(&s.jorge.command(join).await, ErrorCode::Forbidden, mode);
        }
        let end = json!({"type": "end_call", "call_id": call, "confirm": call});
        refused(
            &s.jorge.command(end).await,
            ErrorCode::Forbidden,
            "end_call",
        );
    })
    .await;
    // Dana may end calls, but not in sales.
    let jorges = s.jorges_call.clone();
    s.unchanged_after("Dana on a sales call", async |s| {
        let join = json!({"type": "monitor", "call_id": jorges, "mode": "silent"});
        refused(&s.dana.command(join).await, ErrorCode::Forbidden, "monitor");
        let end = json!({"type": "end_call", "call_id": jorges, "confirm": jorges});
        refused(&s.dana.command(end).await, ErrorCode::Forbidden, "end_call");
    })
    .await;
    // Claiming to be someone else in the command changes nothing: the leg
    // belongs to whoever the token says.
    let reply = s
        .jorge
        .command(json!({
            "type": "monitor", "call_id": jorges, "mode": "silent",
            "user_id": "sup-1", "supervisor": {"id": "sup-1"},
        }))
        .await;
    let (leg, _) = leg_of(&reply);
    let owner = console_legs(&world(&s.sim).await)[&leg].1.clone();
    assert_eq!(owner.as_deref(), Some("sup-2"));
    s.sim.shutdown().await;
}

#[tokio::test]
async fn ending_a_call_needs_the_permission_and_the_exact_confirmation() {
    let mut s = scene().await;
    let (call, jorges) = (s.call.clone(), s.jorges_call.clone());
    s.unchanged_after("Jorge ends a call of his own team", async |s| {
        let end = json!({"type": "end_call", "call_id": jorges, "confirm": jorges});
        refused(
            &s.jorge.command(end).await,
            ErrorCode::Forbidden,
            "no permission",
        );
    })
    .await;
    let other_call = s
        .amara
        .floor
        .calls
        .keys()
        .find(|id| **id != call)
        .unwrap()
        .clone();
    let wrong: [Value; 6] = [
        json!("yes"),
        json!(""),
        json!(call.to_uppercase()),
        json!(format!(" {call}")),
        json!(format!("{call}0")),
        json!(other_call),
    ];
    s.unchanged_after("Amara ends with a wrong confirmation", async |s| {
        for confirm in wrong {
            let end = json!({"type": "end_call", "call_id": call, "confirm": confirm});
            refused(
                &s.amara.command(end).await,
                ErrorCode::BadConfirmation,
                &confirm.to_string(),
            );
        }
        // A confirmation missing altogether is a malformed command.
        let end = json!({"type": "end_call", "call_id": call});
        refused(
            &s.amara.command(end).await,
            ErrorCode::Invalid,
            "no confirm",
        );
    })
    .await;
    assert!(has_call(&world(&s.sim).await, &other_call));
    s.sim.shutdown().await;
}

/// Everything a client reads for a while: state events are applied to its
/// floor as usual; replies and binary frames are handed back.
async fn read_for(client: &mut Client, time: Duration) -> (Vec<Reply>, Vec<Vec<u8>>) {
    let (mut replies, mut audio) = (Vec::new(), Vec::new());
    let until = tokio::time::Instant::now() + time;
    while let Ok(Some(frame)) = tokio::time::timeout_at(until, client.ws.next()).await {
        match frame.expect("the connection failed") {
            Message::Binary(bytes) => audio.push(bytes.to_vec()),
            Message::Text(text) => match parse(&text) {
                ServerMessage::Reply(reply) => replies.push(reply),
                message if message.is_state_event() => {
                    client.floor.apply(message.clone());
                    client.events.push(message);
                }
                _ => {}
            },
            Message::Close(close) => panic!("closed: {close:?}"),
            _ => {}
        }
    }
    (replies, audio)
}

async fn audio_received(client: &mut Client, time: Duration) -> Vec<Vec<u8>> {
    read_for(client, time).await.1
}

async fn replies_within(client: &mut Client, time: Duration) -> Vec<Reply> {
    read_for(client, time).await.0
}

#[tokio::test]
async fn upstream_audio_on_someone_elses_track_reaches_nobody() {
    let mut s = scene().await;
    // A packet no real source would make, to recognise it anywhere.
    let marker: Vec<u8> = b"FORGED-AUDIO-FRAME-".repeat(8);
    let world_now = world(&s.sim).await;
    let tracks: Vec<u32> = world_now
        .calls
        .iter()
        .find(|c| c.id == s.call)
        .unwrap()
        .legs
        .iter()
        .map(|l| l.track)
        .collect();
    assert!(tracks.contains(&s.danas_track));
    let forge = |track: u32, seq: u32| {
        let header = FrameHeader {
            flags: 0,
            track,
            seq,
            timestamp: seq * 960,
        };
        AudioFrame {
            header,
            opus: &marker,
        }
        .encode()
        .unwrap()
    };
    // Amara (silent, on the call) and Jorge (not on it) speak on Dana's
    // whisper track, the agent's and the customer's.
    for seq in 0..25 {
        for track in &tracks {
            for abuser in [&mut s.amara, &mut s.jorge] {
                abuser
                    .ws
                    .send(Message::Binary(forge(*track, seq).into()))
                    .await
                    .unwrap();
            }
        }
    }
    let dana_heard = audio_received(&mut s.dana, Duration::from_millis(800)).await;
    let amara_heard = audio_received(&mut s.amara, Duration::from_millis(200)).await;
    for (who, heard) in [("Dana", &dana_heard), ("Amara", &amara_heard)] {
        let forged = heard
            .iter()
            .filter(|frame| AudioFrame::decode(frame).is_ok_and(|f| f.opus == marker))
            .count();
        assert_eq!(forged, 0, "{who} received {forged} forged frames");
    }
    // The senders are still served, and nothing changed.
    let call = s.call.clone();
    s.unchanged_after("after the forged audio", async |s| {
        let reply = s
            .amara
            .command(json!({"type": "set_mode", "leg_id": s.danas_leg, "mode": "barge"}))
            .await;
        refused(&reply, ErrorCode::NotYourLeg, "Amara still answered");
        let reply = s
            .jorge
            .command(json!({"type": "monitor", "call_id": call, "mode": "silent"}))
            .await;
        refused(&reply, ErrorCode::Forbidden, "Jorge still answered");
    })
    .await;
    s.sim.shutdown().await;
}

#[tokio::test]
async fn a_req_reused_by_another_console_gets_only_its_own_reply() {
    let mut s = scene().await;
    let other_call = call_of_team(&s.dana, "retention");
    // Same `req`, sent by both before either reads: each console gets one
    // reply for it, its own.
    s.dana
        .send(
            json!({"type": "monitor", "req": "r-shared", "call_id": other_call, "mode": "silent"}),
        )
        .await;
    s.amara
        .send(
            json!({"type": "set_mode", "req": "r-shared", "leg_id": s.danas_leg, "mode": "barge"}),
        )
        .await;
    let danas = s.dana.reply_to("r-shared").await;
    let amaras = s.amara.reply_to("r-shared").await;
    let (leg, _) = leg_of(&danas);
    refused(&amaras, ErrorCode::NotYourLeg, "Amara's set_mode");
    // No second reply turns up for either.
    for client in [&mut s.dana, &mut s.amara] {
        let later = replies_within(client, Duration::from_millis(500)).await;
        assert!(!later.iter().any(|r| r.req == "r-shared"), "{later:?}");
    }
    let legs = console_legs(&world(&s.sim).await);
    assert_eq!(
        legs[&leg],
        (other_call, Some("sup-1".into()), Some(Mode::Silent))
    );
    assert_eq!(
        legs[&s.danas_leg].2,
        Some(Mode::Whisper),
        "Dana's leg kept its mode"
    );
    s.sim.shutdown().await;
}

#[tokio::test]
async fn another_supervisors_stream_cannot_be_resumed_or_seen() {
    let mut s = scene().await;
    let danas_session = s.dana.hello.session.clone();
    assert_ne!(s.jorge.hello.session, danas_session);
    // Jorge asks to resume Dana's stream from its start: he gets a snapshot
    // of his own teams instead of her events.
    let mut jorge = Client::connect(&s.sim, JORGE).await;
    jorge.subscribe(Some(&danas_session), Some(1)).await;
    match jorge.next().await {
        ServerMessage::Snapshot(snapshot) => {
            let teams: std::collections::BTreeSet<&str> =
                snapshot.agents.iter().map(|a| a.team.as_str()).collect();
            assert_eq!(teams, ["sales", "support"].into_iter().collect());
            assert!(!snapshot.calls.iter().any(|c| c.id == s.call));
        }
        other => panic!("Jorge got {other:?} for Dana's session"),
    }
    // Nothing of Dana's floor ever reaches Jorge, her joins included.
    let reply = s
        .dana
        .command(json!({"type": "set_mode", "leg_id": s.danas_leg, "mode": "barge"}))
        .await;
    assert!(reply.ok);
    s.jorge.pump(Duration::from_secs(2)).await;
    jorge.pump(Duration::from_millis(200)).await;
    for client in [&s.jorge, &jorge] {
        for agent in client.floor.agents.values() {
            assert!(
                ["sales", "support"].contains(&agent.team.as_str()),
                "{agent:?}"
            );
        }
        for call in client.floor.calls.values() {
            assert!(client.floor.agents.contains_key(&call.agent_id), "{call:?}");
        }
        assert!(!client.floor.calls.contains_key(&s.call));
        assert!(!client.events.iter().any(|e| match e {
            ServerMessage::LegJoined(j) => j.leg.id == s.danas_leg,
            ServerMessage::LegChanged(c) => c.leg_id == s.danas_leg,
            _ => false,
        }));
    }
    s.sim.shutdown().await;
}
