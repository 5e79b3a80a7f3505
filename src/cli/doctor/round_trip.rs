//! The round trip: join a call of the supervisor's teams in whisper, send
//! the test tone on the leg, leave, and look for the tone in what the agent
//! heard where the server records it.

use super::recording::check_recordings;
use super::tone::{TONE_HZ, tone_frames};
use super::verdict::Verdict;
use floorwalk_audio::FRAME_DURATION;
use floorwalk_console::feed::{FeedEvent, FeedHandle};
use floorwalk_protocol::{ClientMessage, Hello, Mode, MonitorResult};
use floorwalk_state::Floor;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long to wait for a call in the supervisor's teams to appear.
const CALL_WAIT: Duration = Duration::from_secs(10);
/// The longest wait for a reply (the feed times commands out before this).
const REPLY_WAIT: Duration = Duration::from_secs(15);

/// Joins a call in whisper, sends the test tone, leaves, and looks for the
/// tone in what the agent heard.
pub async fn round_trip(
    feed: &FeedHandle,
    events: &mut mpsc::Receiver<FeedEvent>,
    hello: &Hello,
    record_dir: Option<&Path>,
) -> Verdict {
    let mut floor = Floor::default();
    let Some(call_id) = wait_for_call(events, &mut floor, &hello.supervisor.teams).await else {
        return Verdict::Unverified(format!(
            "no call in your teams ({}) within {} s to test on",
            hello.supervisor.teams.join(", "),
            CALL_WAIT.as_secs()
        ));
    };
    feed.send(ClientMessage::Monitor {
        req: "doctor-join".into(),
        call_id: call_id.clone(),
        mode: Mode::Whisper,
        announce: false,
    });
    let leg = match wait_for_reply(events, &mut floor, "doctor-join").await {
        Ok(result) => match serde_json::from_value::<MonitorResult>(result) {
            Ok(leg) => leg,
            Err(err) => {
                return Verdict::Failed(format!(
                    "the server's answer to joining is unclear: {err}"
                ));
            }
        },
        Err(why) => return Verdict::Failed(format!("could not join {call_id} in whisper: {why}")),
    };
    let sent = match tone_frames(leg.track) {
        Ok(frames) => send_paced(feed, frames).await,
        Err(why) => Err(why),
    };
    feed.send(ClientMessage::Disconnect {
        req: "doctor-leave".into(),
        leg_id: leg.leg_id.clone(),
    });
    if let Err(why) = wait_for_reply(events, &mut floor, "doctor-leave").await {
        return Verdict::Failed(format!(
            "COULD NOT LEAVE {call_id} (leg {}): {why}; the server drops it when its lease ends",
            leg.leg_id
        ));
    }
    let sent = match sent {
        Ok(sent) => sent,
        Err(why) => return Verdict::Failed(format!("could not send the test tone: {why}")),
    };
    let what = format!(
        "sent {sent} frames of a {TONE_HZ:.0} Hz tone in whisper on {call_id} (leg {}, track {}) and left",
        leg.leg_id, leg.track
    );
    match record_dir {
        None => Verdict::Unverified(format!(
            "{what}; whether the agent heard it needs --record-dir DIR (the simulator's)"
        )),
        Some(dir) => check_recordings(dir, &call_id, &what).await,
    }
}

/// The call to test on: the newest call of an agent in my teams.
fn pick_call(floor: &Floor, teams: &[String]) -> Option<String> {
    floor
        .calls
        .values()
        .filter(|call| {
            floor
                .agents
                .get(&call.agent_id)
                .is_some_and(|agent| teams.contains(&agent.team))
        })
        .max_by_key(|call| (call.started_at, call.id.clone()))
        .map(|call| call.id.clone())
}

/// Applies the feed's messages until a call in my teams is there.
async fn wait_for_call(
    events: &mut mpsc::Receiver<FeedEvent>,
    floor: &mut Floor,
    teams: &[String],
) -> Option<String> {
    let deadline = tokio::time::Instant::now() + CALL_WAIT;
    loop {
        if floor.last_seq.is_some()
            && let Some(call) = pick_call(floor, teams)
        {
            return Some(call);
        }
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(FeedEvent::Message(message))) => {
                floor.apply(message);
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}

/// Waits for the reply to `req`, keeping the floor up to date meanwhile.
async fn wait_for_reply(
    events: &mut mpsc::Receiver<FeedEvent>,
    floor: &mut Floor,
    req: &str,
) -> Result<serde_json::Value, String> {
    let deadline = tokio::time::Instant::now() + REPLY_WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(FeedEvent::Reply {
                req: got, outcome, ..
            })) if got == req => return outcome.map_err(|failure| failure.to_string()),
            Ok(Some(FeedEvent::Message(message))) => {
                floor.apply(message);
            }
            Ok(Some(_)) => {}
            Ok(None) => return Err("the connection stopped".into()),
            Err(_) => return Err(format!("no reply within {} s", REPLY_WAIT.as_secs())),
        }
    }
}

/// Sends frames one per 20 ms, as a microphone would.
async fn send_paced(feed: &FeedHandle, frames: Vec<Vec<u8>>) -> Result<usize, String> {
    let mut pace = tokio::time::interval(FRAME_DURATION);
    let mut sent = 0;
    for frame in frames {
        pace.tick().await;
        if !feed.is_online() {
            return Err("the connection was lost".into());
        }
        feed.send_audio(frame);
        sent += 1;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwalk_protocol::{Agent, AgentState, Call, Direction, Timestamp};

    #[test]
    fn the_newest_call_in_my_teams_is_picked() {
        let agent = |id: &str, team: &str| Agent {
            id: id.into(),
            name: id.into(),
            team: team.into(),
            state: AgentState::OnCall,
            state_since: Timestamp(0),
            call_id: None,
        };
        let call = |id: &str, agent: &str, started: i64| Call {
            id: id.into(),
            agent_id: agent.into(),
            queue: None,
            direction: Direction::Inbound,
            customer: "+1".into(),
            started_at: Timestamp(started),
            recording: false,
            on_hold: false,
            legs: Vec::new(),
        };
        let mut floor = Floor::default();
        for a in [
            agent("a-1", "billing"),
            agent("a-2", "sales"),
            agent("a-3", "billing"),
        ] {
            floor.agents.insert(a.id.clone(), a);
        }
        for c in [
            call("c-1", "a-1", 100),
            call("c-2", "a-2", 300),
            call("c-3", "a-3", 200),
        ] {
            floor.calls.insert(c.id.clone(), c);
        }
        let teams = vec!["billing".to_owned()];
        assert_eq!(pick_call(&floor, &teams).as_deref(), Some("c-3"));
        assert_eq!(pick_call(&floor, &["support".to_owned()]), None);
    }
}
