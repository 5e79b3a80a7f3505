//! `floorwalk gateway` against a real Asterisk 22 on loopback, through a
//! protocol-v1 client: the floor it shows, listening to both parties, a
//! supervisor's voice reaching only whom the mode says (heard on the far
//! halves of the rig's Local pairs by the test's own snoops), leaving and
//! ending calls, and that nothing the gateway made is left behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/ari_proxy.rs"]
mod ari_proxy;
#[path = "support/asterisk.rs"]
mod asterisk;
#[path = "support/gateway.rs"]
mod gateway;
#[path = "support/sim_client.rs"]
mod sim_client;

use asterisk::{AGENT_HZ, CUSTOMER_HZ, Listener, PARTY_LEVEL};
use floorwalk_audio::codec::{Decoder, Encoder};
use floorwalk_audio::signal::{sine, tone_amplitude};
use floorwalk_protocol::{AgentState, AudioFrame, FrameHeader};
use gateway::{APP, Rig, all_gone, bridged, call_of, command, objects, rig, with_prefix};
use serde_json::json;
use sim_client::{Client, JORGE};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
/// The supervisor's voice in the tests: a tone no party plays.
const MIC_HZ: f32 = 1700.0;
const MIC_LEVEL: f32 = 0.3;

/// Speaks the test tone for `frames` × 20 ms on `track`, reading
/// meanwhile; returns when it started and ended.
async fn talk(client: &mut Client, track: u32, frames: u32) -> (Instant, Instant) {
    let mut encoder = Encoder::voip().unwrap();
    let tone = sine(MIC_HZ, MIC_LEVEL, 960 * frames as usize);
    let start = Instant::now();
    for (n, pcm) in tone.chunks_exact(960).enumerate() {
        let n = n as u32;
        let header = FrameHeader {
            flags: 0,
            track,
            seq: n,
            timestamp: n * 960,
        };
        let mut frame = Vec::new();
        AudioFrame {
            header,
            opus: encoder.encode(pcm).unwrap(),
        }
        .encode_into(&mut frame)
        .unwrap();
        client.send_audio(frame).await;
        client.pump(Duration::from_millis(20)).await;
    }
    let end = Instant::now();
    // Quiet before whatever comes next, so windows do not overlap.
    client.pump(Duration::from_millis(700)).await;
    (start, end)
}

/// How loud `hz` was in what a listener heard from `from` to `to` plus
/// the path's latency.
fn level_of(listener: &Listener, (from, to): (Instant, Instant), hz: f32) -> f32 {
    let heard = listener.between(
        from + Duration::from_millis(200),
        to + Duration::from_millis(300),
    );
    tone_amplitude(&heard, hz, 16_000)
}

/// Decodes the frames a client read on `track`: samples at 48 kHz.
fn decoded(client: &Client, track: u32) -> Vec<f32> {
    let mut decoder = Decoder::new().unwrap();
    let mut out = Vec::new();
    for heard in &client.audio {
        let frame = AudioFrame::decode(&heard.bytes).unwrap();
        if frame.header.track == track {
            let mut pcm = vec![0.0; 960];
            decoder.decode(frame.opus, &mut pcm).unwrap();
            out.extend(pcm);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floor_is_asterisks_calls_and_follows_them() {
    let Rig {
        proxy: _proxy,
        asterisk,
        mut events,
        gateway,
        mut dana,
        call,
    } = rig("floor").await;
    let on_floor = dana.floor.calls[&call.id].clone();
    assert_eq!(on_floor.agent_id, "ag-1");
    assert_eq!(on_floor.queue.as_deref(), Some("support"));
    assert_eq!(on_floor.customer, "+1 ••• ••• 0134");
    assert_eq!(dana.floor.agents["ag-1"].team, "billing");
    assert_eq!(dana.floor.queues["support"].name, "support");
    // Jorge's teams (sales, support) do not include billing.
    let jorge = Client::subscribed_at(gateway.addr, JORGE).await;
    assert!(jorge.floor.calls.is_empty(), "{:?}", jorge.floor.calls);

    // The call ends: gone from the floor; a new one comes.
    asterisk
        .delete(&format!("/channels/{}", call.customer))
        .await;
    let ended = Instant::now();
    while dana.floor.calls.contains_key(&call.id) {
        assert!(
            ended.elapsed() < Duration::from_secs(1),
            "the ended call is still on the floor"
        );
        dana.pump(Duration::from_millis(20)).await;
    }
    asterisk.place_call("ag-2", "billing", "support").await;
    bridged(&mut events, 2).await;
    let bridged_at = Instant::now();
    call_of(&mut dana, "ag-2").await;
    assert!(
        bridged_at.elapsed() < Duration::from_secs(1),
        "the new call took {:?}",
        bridged_at.elapsed()
    );
    assert_eq!(
        dana.floor.agents["ag-1"].state,
        floorwalk_protocol::AgentState::Available
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_monitoring_hears_each_party_on_its_own_track() {
    let Rig {
        proxy: _proxy,
        asterisk: _asterisk,
        events: _events,
        gateway: _gateway,
        mut dana,
        call,
    } = rig("ears").await;
    command(
        &mut dana,
        json!({"type": "monitor", "call_id": call.id, "mode": "silent"}),
    )
    .await;
    dana.audio.clear();
    dana.pump(Duration::from_secs(2)).await;
    let customer = decoded(&dana, call.customer_track);
    let agent = decoded(&dana, call.agent_track);
    // Two seconds are 100 frames per track; allow for the first moments.
    assert!(
        customer.len() >= 80 * 960,
        "customer: {} samples",
        customer.len()
    );
    assert!(agent.len() >= 80 * 960, "agent: {} samples", agent.len());
    let settled = |s: &[f32]| s[s.len() / 4..].to_vec();
    let (customer, agent) = (settled(&customer), settled(&agent));
    // Each track carries its party's tone, and not the other's.
    assert!(tone_amplitude(&customer, CUSTOMER_HZ, 48_000) > PARTY_LEVEL / 3.0);
    assert!(tone_amplitude(&customer, AGENT_HZ, 48_000) < PARTY_LEVEL / 20.0);
    assert!(tone_amplitude(&agent, AGENT_HZ, 48_000) > PARTY_LEVEL / 3.0);
    assert!(tone_amplitude(&agent, CUSTOMER_HZ, 48_000) < PARTY_LEVEL / 20.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_voice_reaches_whom_the_mode_says_and_switching_makes_no_channel() {
    let Rig {
        proxy: _proxy,
        asterisk,
        events: _events,
        gateway,
        mut dana,
        call,
    } = rig("voice").await;
    let prefix = "floorwalk-voice-";
    let customer_ears = asterisk.listen(APP, &call.customer_phone).await;
    let agent_ears = asterisk.listen(APP, &call.agent_phone).await;
    let joined = command(
        &mut dana,
        json!({"type": "monitor", "call_id": call.id, "mode": "silent"}),
    )
    .await;
    let leg = joined["leg_id"].as_str().unwrap().to_owned();
    let track = u32::try_from(joined["track"].as_u64().unwrap()).unwrap();
    let made = objects(&asterisk, prefix).await;
    assert!(!made.is_empty());
    let reach = |window| {
        (
            level_of(&agent_ears, window, MIC_HZ) > MIC_LEVEL / 10.0,
            level_of(&customer_ears, window, MIC_HZ) > MIC_LEVEL / 10.0,
        )
    };

    let silent = talk(&mut dana, track, 50).await;
    dana.audio.clear();
    command(
        &mut dana,
        json!({"type": "set_mode", "leg_id": leg, "mode": "whisper"}),
    )
    .await;
    let whisper = talk(&mut dana, track, 50).await;
    command(
        &mut dana,
        json!({"type": "set_mode", "leg_id": leg, "mode": "barge"}),
    )
    .await;
    let barge = talk(&mut dana, track, 50).await;
    command(
        &mut dana,
        json!({"type": "set_mode", "leg_id": leg, "mode": "whisper"}),
    )
    .await;
    let whisper_again = talk(&mut dana, track, 50).await;
    assert_eq!(
        objects(&asterisk, prefix).await,
        made,
        "a mode switch made or removed an object"
    );
    // Listening never gapped across the three switches: every frame of
    // each party's track is there, in order.
    for party in [call.customer_track, call.agent_track] {
        let seqs: Vec<u32> = dana
            .audio
            .iter()
            .map(|h| AudioFrame::decode(&h.bytes).unwrap().header)
            .filter(|h| h.track == party)
            .map(|h| h.seq)
            .collect();
        assert!(seqs.len() > 150, "{} frames", seqs.len());
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
            "a gap on track {party}: {seqs:?}"
        );
    }
    command(&mut dana, json!({"type": "disconnect", "leg_id": leg})).await;
    let after = talk(&mut dana, track, 50).await;
    tokio::time::sleep(Duration::from_millis(400)).await;

    assert_eq!(reach(silent), (false, false), "silent reached someone");
    assert_eq!(reach(whisper), (true, false), "whisper: (agent, customer)");
    assert_eq!(reach(barge), (true, true), "barge: (agent, customer)");
    assert_eq!(reach(whisper_again), (true, false), "whisper after barge");
    assert_eq!(reach(after), (false, false), "after disconnect");
    // The call's own audio went on: each party still hears the other.
    let end = Instant::now();
    let window = (
        end - Duration::from_millis(1500),
        end - Duration::from_millis(300),
    );
    assert!(level_of(&agent_ears, window, CUSTOMER_HZ) > PARTY_LEVEL / 4.0);
    assert!(level_of(&customer_ears, window, AGENT_HZ) > PARTY_LEVEL / 4.0);
    all_gone(&asterisk, prefix).await;
    let _ = gateway;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_touches_only_the_gateways_objects_and_end_call_hangs_up_both() {
    let Rig {
        proxy,
        asterisk,
        events: _events,
        gateway: _gateway,
        mut dana,
        call,
    } = rig("leave").await;
    let prefix = "floorwalk-leave-";
    let before: BTreeSet<String> = with_prefix(&asterisk.get("/channels").await, "");
    let joined = command(
        &mut dana,
        json!({"type": "monitor", "call_id": call.id, "mode": "barge"}),
    )
    .await;
    let leg = joined["leg_id"].as_str().unwrap().to_owned();
    command(&mut dana, json!({"type": "disconnect", "leg_id": leg})).await;
    all_gone(&asterisk, prefix).await;
    let after: BTreeSet<String> = with_prefix(&asterisk.get("/channels").await, "");
    assert_eq!(before, after, "the call's channels changed");
    assert!(dana.floor.calls.contains_key(&call.id));

    // Every request the gateway made so far (as the proxy in front of ARI
    // saw them) was about its own objects or a snoop on a party: nothing
    // else of the call was touched. Media WebSockets are its own too.
    let parties = [call.customer.as_str(), call.agent.as_str()];
    let requests: Vec<String> = proxy
        .requests()
        .into_iter()
        .map(|r| r.replacen(" /ari/", " /", 1))
        .collect();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("POST /channels/externalMedia")),
        "{requests:?}"
    );
    for request in requests {
        let path = request.split(' ').nth(1).unwrap_or_default();
        let allowed = request.starts_with("GET ")
            || path == "/bridges"
            || path.starts_with("/media/")
            || path == "/channels/externalMedia"
            || path.starts_with(&format!("/channels/{prefix}"))
            || path.starts_with(&format!("/bridges/{prefix}"))
            || parties
                .iter()
                .any(|p| request == format!("POST /channels/{p}/snoop"));
        assert!(allowed, "the gateway asked {request}");
    }

    // End call: both parties' channels are hung up.
    command(
        &mut dana,
        json!({"type": "end_call", "call_id": call.id, "confirm": call.id}),
    )
    .await;
    gateway::hung_up(&asterisk, &call).await;
    assert!(!dana.floor.calls.contains_key(&call.id));
    let deletes: Vec<String> = proxy
        .requests()
        .into_iter()
        .map(|r| r.replacen(" /ari/", " /", 1))
        .filter(|r| {
            parties
                .iter()
                .any(|p| r.starts_with(&format!("DELETE /channels/{p}")))
        })
        .collect();
    assert_eq!(deletes.len(), 2, "{deletes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_agents_are_named_and_follow_their_device_states_off_a_call() {
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.toml");
    std::fs::write(
        &roster,
        "[[agent]]\nid = \"ag-1\"\nname = \"Bo Chen\"\nteam = \"billing\"\n\n\
         [[agent]]\nid = \"ag-5\"\nname = \"Ana Lima\"\nteam = \"billing\"\n\
         endpoints = [\"Stasis:ag5\"]\n",
    )
    .unwrap();
    let Rig {
        proxy: _proxy,
        asterisk,
        events: _events,
        gateway: _gateway,
        mut dana,
        call,
    } = gateway::rig_with("roster", &["--roster", roster.to_str().unwrap()]).await;
    let on_call = dana.floor.calls[&call.id]
        .leg_with_role(floorwalk_protocol::Role::Agent)
        .unwrap()
        .name
        .clone();
    assert_eq!(on_call, "Bo Chen");
    assert_eq!(dana.floor.agents["ag-5"].name, "Ana Lima");
    for (state, expected) in [
        ("NOT_INUSE", AgentState::Available),
        ("INUSE", AgentState::OnCall),
        ("UNAVAILABLE", AgentState::Offline),
    ] {
        // A device state ARI owns stands in for a phone's.
        asterisk
            .put(&format!("/deviceStates/Stasis:ag5?deviceState={state}"))
            .await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while dana.floor.agents["ag-5"].state != expected {
            assert!(
                Instant::now() < deadline,
                "ag-5 is not {expected:?} after {state}"
            );
            dana.pump(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_caller_waits_in_its_queue_and_app_queue_names_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.toml");
    std::fs::write(
        &roster,
        "[[queue]]\nid = \"sales\"\nname = \"Sales\"\nteam = \"billing\"\n",
    )
    .unwrap();
    let Rig {
        proxy: _proxy,
        asterisk,
        mut events,
        gateway: _gateway,
        mut dana,
        ..
    } = gateway::rig_with("queue", &["--roster", roster.to_str().unwrap()]).await;
    let placed = Instant::now();
    asterisk.place_queued_call().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while dana
        .floor
        .queues
        .get("sales")
        .is_none_or(|q| q.waiting != 1)
    {
        assert!(
            Instant::now() < deadline,
            "no caller waiting: {:?}",
            dana.floor.queues
        );
        dana.pump(Duration::from_millis(50)).await;
    }
    assert_eq!(dana.floor.queues["sales"].name, "Sales");
    // The longest wait grows with the caller's wait (the gateway updates
    // queues once a second, so give it a few), and never runs ahead of it.
    let deadline = Instant::now() + Duration::from_secs(8);
    while dana.floor.queues["sales"].longest_wait_s < 2 {
        assert!(
            Instant::now() < deadline,
            "the wait does not grow: {:?}",
            dana.floor.queues["sales"]
        );
        dana.pump(Duration::from_millis(100)).await;
    }
    assert!(
        dana.floor.queues["sales"].longest_wait_s <= placed.elapsed().as_secs(),
        "longer than the caller has waited: {:?}",
        dana.floor.queues["sales"]
    );

    asterisk.cli("queue unpause member Local/agent@calls/n queue sales");
    bridged(&mut events, 2).await;
    let call_id = call_of(&mut dana, "ag-9").await;
    let call = &dana.floor.calls[&call_id];
    assert_eq!(call.queue.as_deref(), Some("sales"));
    assert_eq!(call.customer, "+1 ••• ••• 0134");
    let deadline = Instant::now() + Duration::from_secs(5);
    while dana.floor.queues["sales"].waiting != 0 {
        assert!(
            Instant::now() < deadline,
            "still waiting: {:?}",
            dana.floor.queues
        );
        dana.pump(Duration::from_millis(50)).await;
    }
    // Answered within the service level (20 s).
    assert_eq!(dana.floor.queues["sales"].sla_percent, 100.0);
    command(
        &mut dana,
        json!({"type": "monitor", "call_id": call_id, "mode": "silent"}),
    )
    .await;
}
