use super::*;
use crate::accounts::demo_accounts;
use tokio_tungstenite::tungstenite::handshake::server::create_response;

fn request(path: &str, headers: &[(&str, &str)]) -> HttpRequest {
    let mut builder = HttpRequest::builder()
        .uri(format!("ws://127.0.0.1{path}"))
        .header("Host", "127.0.0.1")
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

fn check(path: &str, headers: &[(&str, &str)]) -> Result<(Response, String), StatusCode> {
    let accounts = demo_accounts();
    let req = request(path, headers);
    let response = create_response(&req).unwrap();
    check_upgrade(&accounts, &req, response)
        .map(|(response, account)| (response, account.id.clone()))
        .map_err(Refusal::status)
}

#[test]
fn path_then_token_then_subprotocol() {
    assert_eq!(
        check("/other", &[("Authorization", "Bearer demo-dana")]).unwrap_err(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(check(PATH, &[]).unwrap_err(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        check(PATH, &[("Authorization", "Bearer nope")]).unwrap_err(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        check(PATH, &[("Authorization", "Basic demo-dana")]).unwrap_err(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        check(PATH, &[("Authorization", "Bearer demo-dana-x")]).unwrap_err(),
        StatusCode::UNAUTHORIZED
    );

    let (response, id) = check(
        PATH,
        &[
            ("Authorization", "bearer  demo-jorge"),
            ("Sec-WebSocket-Protocol", "other, floorwalk.v1"),
        ],
    )
    .unwrap();
    assert_eq!(id, "sup-2");
    assert_eq!(
        response.headers()[header::SEC_WEBSOCKET_PROTOCOL],
        SUBPROTOCOL
    );

    let (response, _) = check(PATH, &[("Authorization", "Bearer demo-dana")]).unwrap();
    assert!(
        response
            .headers()
            .get(header::SEC_WEBSOCKET_PROTOCOL)
            .is_none()
    );
}

#[test]
fn refusals_say_why() {
    let accounts = demo_accounts();
    let req = request(PATH, &[]);
    let response = create_response(&req).unwrap();
    let refused = check_upgrade(&accounts, &req, response)
        .unwrap_err()
        .into_response();
    assert_eq!(refused.body().as_deref(), Some("missing bearer token"));
    assert!(refused.headers().contains_key(header::WWW_AUTHENTICATE));
}

#[test]
fn text_frames_are_read_or_explained() {
    assert!(matches!(
        read_text(r#"{"type":"disconnect","req":"r-1","leg_id":"l-1"}"#),
        Incoming::Message(ClientMessage::Disconnect { .. })
    ));
    let cases = [
        (
            r#"{"type":"dance","req":"r-2"}"#,
            Some("r-2"),
            "unknown message type",
        ),
        (r#"{"type":"dance"}"#, None, "unknown message type"),
        (
            r#"{"type":"monitor","req":"r-3","call_id":"c-1","mode":"loud"}"#,
            Some("r-3"),
            "malformed",
        ),
        (r#"{"req":"r-4"}"#, Some("r-4"), "no \"type\""),
        ("not json at all", None, "malformed"),
        (r#"{"type":"monitor","req":5}"#, None, "malformed"),
    ];
    for (text, req, why) in cases {
        match read_text(text) {
            Incoming::Invalid {
                req: got,
                why: message,
            } => {
                assert_eq!(got.as_deref(), req, "{text}");
                assert!(message.contains(why), "{text}: {message}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn token_comparison() {
    assert!(same_secret("abc", "abc"));
    assert!(!same_secret("abc", "abd"));
    assert!(!same_secret("abc", "abcd"));
}
