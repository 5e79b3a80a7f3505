//! The simulator's transport: upgrade checks, subprotocol, frame limits,
//! garbage and floods, over a real loopback WebSocket.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/sim_client.rs"]
mod sim_client;

use floorwalk_protocol::{ErrorCode, MAX_BINARY_FRAME, MAX_TEXT_FRAME, PATH, ServerMessage};
use futures_util::SinkExt;
use serde_json::json;
use sim_client::*;
use tokio_tungstenite::tungstenite::{self, Message};

fn http_status(
    result: Result<(Ws, tungstenite::handshake::client::Response), tungstenite::Error>,
) -> u16 {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
}

#[tokio::test]
async fn bad_or_missing_token_is_refused_with_401_before_the_upgrade() {
    let sim = start(quiet_options()).await;
    assert_eq!(http_status(upgrade(&sim, None, PATH).await), 401);
    assert_eq!(
        http_status(upgrade(&sim, Some("demo-nobody"), PATH).await),
        401
    );
    assert_eq!(http_status(upgrade(&sim, Some(""), PATH).await), 401);
    assert_eq!(
        http_status(upgrade(&sim, Some(DANA), "/v2/supervisor").await),
        404
    );
    // The refusals left the simulator serving.
    let client = Client::connect(&sim, DANA).await;
    assert_eq!(client.hello.supervisor.id, "sup-1");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_subprotocol_is_answered() {
    let sim = start(quiet_options()).await;
    let (_ws, response) = upgrade(&sim, Some(DANA), PATH).await.unwrap();
    assert_eq!(response.status().as_u16(), 101);
    assert_eq!(response.headers()["sec-websocket-protocol"], "floorwalk.v1");
    sim.shutdown().await;
}

#[tokio::test]
async fn an_oversized_binary_frame_closes_with_1009_and_others_are_still_served() {
    let sim = start(quiet_options()).await;
    let mut bystander = Client::subscribed(&sim, AMARA).await;
    let mut client = Client::subscribed(&sim, DANA).await;
    // A frame at the limit is fine (and dropped: it is no valid audio).
    client
        .ws
        .send(Message::Binary(vec![0u8; MAX_BINARY_FRAME].into()))
        .await
        .unwrap();
    let reply = client
        .command(json!({"type": "disconnect", "leg_id": "l-nope"}))
        .await;
    assert_eq!(reply.outcome().unwrap_err().code, ErrorCode::NotFound);
    // One byte more is not.
    client
        .ws
        .send(Message::Binary(vec![0u8; MAX_BINARY_FRAME + 1].into()))
        .await
        .unwrap();
    let close = close_frame(&mut client.ws).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1009);

    let call = bystander.a_call();
    let reply = bystander
        .command(json!({"type": "monitor", "call_id": call, "mode": "silent"}))
        .await;
    assert!(reply.ok, "{reply:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn an_oversized_text_frame_closes_with_1009() {
    let sim = start(quiet_options()).await;
    let mut client = Client::subscribed(&sim, DANA).await;
    let text = "x".repeat(MAX_TEXT_FRAME + 1);
    client.ws.send(Message::Text(text.into())).await.unwrap();
    let close = close_frame(&mut client.ws).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1009);
    sim.shutdown().await;
}

#[tokio::test]
async fn garbage_gets_invalid_or_is_ignored_and_the_connection_keeps_serving() {
    let sim = start(quiet_options()).await;
    let mut client = Client::subscribed(&sim, DANA).await;
    let garbage = [
        "not json at all",
        "{\"type\":",
        "[1, 2, 3]",
        r#"{"type": "dance"}"#,
        r#"{"no_type": true}"#,
    ];
    for text in garbage {
        client.ws.send(Message::Text(text.into())).await.unwrap();
    }
    let cases = [
        (
            json!({"type": "dance", "req": "g-1"}),
            "unknown message type",
        ),
        (
            json!({"type": "monitor", "req": "g-2", "call_id": "c-1", "mode": "loud"}),
            "malformed",
        ),
        (json!({"type": "disconnect", "req": "g-3"}), "malformed"),
        (json!({"req": "g-4"}), "type"),
    ];
    for (command, why) in cases {
        let req = command["req"].as_str().unwrap().to_string();
        client.send(command).await;
        let reply = client.reply_to(&req).await;
        let error = reply.outcome().unwrap_err();
        assert_eq!(error.code, ErrorCode::Invalid, "{req}");
        assert!(error.message.contains(why), "{req}: {}", error.message);
    }
    // Still served: a real command works and events keep flowing.
    let call = client.a_call();
    let reply = client
        .command(json!({"type": "monitor", "call_id": call, "mode": "silent"}))
        .await;
    assert!(reply.ok, "{reply:?}");
    let leg_id = reply.result.unwrap()["leg_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(client.floor.calls[&call].leg(&leg_id).is_some());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_command_flood_is_rate_limited_with_one_reply_each() {
    let sim = start(quiet_options()).await;
    let mut client = Client::subscribed(&sim, DANA).await;
    let count = 60;
    for n in 0..count {
        client
            .send(json!({"type": "disconnect", "req": format!("f-{n}"), "leg_id": "l-nope"}))
            .await;
    }
    let mut replies = std::collections::BTreeMap::new();
    while replies.len() < count {
        if let ServerMessage::Reply(reply) = client.next().await {
            assert!(
                replies.insert(reply.req.clone(), reply).is_none(),
                "two replies to one req"
            );
        }
    }
    let codes: Vec<ErrorCode> = replies
        .values()
        .map(|r| r.outcome().unwrap_err().code)
        .collect();
    assert!(codes.contains(&ErrorCode::NotFound));
    assert!(codes.contains(&ErrorCode::RateLimited));
    assert!(
        codes
            .iter()
            .all(|c| matches!(c, ErrorCode::NotFound | ErrorCode::RateLimited))
    );
    sim.shutdown().await;
}
