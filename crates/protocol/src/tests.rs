//! Round trips of every message, the contract's own examples, and bad input.

use super::*;
use serde_json::json;

fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn leg(id: &str, role: Role, mode: Option<Mode>, track: u32) -> Leg {
    Leg {
        id: id.into(),
        role,
        user_id: Some(format!("u-{id}")),
        name: format!("name {id}"),
        mode,
        track,
        joined_at: ts("2026-11-21T09:10:00.000Z"),
    }
}

fn call() -> Call {
    Call {
        id: "c-9".into(),
        agent_id: "a-1".into(),
        queue: Some("billing".into()),
        direction: Direction::Inbound,
        customer: "+1 ••• ••• 0134".into(),
        started_at: ts("2026-11-21T09:10:00.000Z"),
        recording: true,
        on_hold: false,
        legs: vec![
            leg("l-1", Role::Customer, None, 1),
            leg("l-2", Role::Agent, None, 2),
            leg("l-31", Role::Supervisor, Some(Mode::Whisper), 31),
        ],
    }
}

fn agent() -> Agent {
    Agent {
        id: "a-1".into(),
        name: "Alex Kim".into(),
        team: "billing".into(),
        state: AgentState::OnCall,
        state_since: ts("2026-11-21T09:10:00.000Z"),
        call_id: Some("c-9".into()),
    }
}

fn queue() -> Queue {
    Queue {
        id: "q-1".into(),
        name: "billing".into(),
        waiting: 3,
        longest_wait_s: 42,
        sla_percent: 92.5,
        agents_available: 4,
    }
}

fn every_server_message() -> Vec<ServerMessage> {
    let at = ts("2026-11-21T09:14:03.250Z");
    vec![
        ServerMessage::Hello(Hello {
            protocol: 1,
            server: "floorwalk-sim/0.1.0".into(),
            session: "s-8f2c".into(),
            now: at,
            heartbeat_ms: 5000,
            lease_ms: 15000,
            supervisor: Supervisor {
                id: "sup-1".into(),
                name: "Dana Ruiz".into(),
                teams: vec!["billing".into(), "retention".into()],
                can_end_calls: true,
            },
        }),
        ServerMessage::Snapshot(Snapshot {
            seq: 1041,
            agents: vec![agent()],
            calls: vec![call()],
            queues: vec![queue()],
        }),
        ServerMessage::Agent(AgentEvent {
            seq: 1,
            agent: agent(),
        }),
        ServerMessage::Queue(QueueEvent {
            seq: 2,
            queue: queue(),
        }),
        ServerMessage::CallStarted(CallEvent {
            seq: 3,
            call: call(),
        }),
        ServerMessage::CallUpdated(CallEvent {
            seq: 4,
            call: call(),
        }),
        ServerMessage::CallEnded(CallEnded {
            seq: 5,
            call_id: "c-9".into(),
            at,
            reason: CallEndReason::CustomerHangup,
        }),
        ServerMessage::LegJoined(LegJoined {
            seq: 6,
            call_id: "c-9".into(),
            leg: leg("l-40", Role::Bot, None, 40),
        }),
        ServerMessage::LegChanged(LegChanged {
            seq: 7,
            call_id: "c-9".into(),
            leg_id: "l-31".into(),
            mode: Mode::Barge,
            at,
        }),
        ServerMessage::LegLeft(LegLeft {
            seq: 8,
            call_id: "c-9".into(),
            leg_id: "l-31".into(),
            at,
            reason: LegLeftReason::LeaseExpired,
        }),
        ServerMessage::Transcript(Transcript {
            seq: 9,
            call_id: "c-9".into(),
            leg_id: "l-1".into(),
            at,
            text: "hello".into(),
            is_final: true,
        }),
        ServerMessage::Reply(Reply::ok("r-1", json!({"leg_id": "l-31", "track": 31}))),
        ServerMessage::Reply(Reply::err(
            "r-2",
            ErrorCode::NotYourLeg,
            "that leg is not yours",
        )),
        ServerMessage::Notice(Notice {
            level: NoticeLevel::Warn,
            text: "maintenance at 22:00".into(),
        }),
        ServerMessage::FloorStatus(FloorStatus {
            status: Reachability::Down,
            reason: Some("Asterisk at 127.0.0.1:8088 is not answering".into()),
            since: at,
        }),
        ServerMessage::FloorStatus(FloorStatus {
            status: Reachability::Up,
            reason: None,
            since: at,
        }),
    ]
}

fn every_client_message() -> Vec<ClientMessage> {
    vec![
        ClientMessage::Subscribe {
            session: None,
            last_seq: None,
        },
        ClientMessage::Subscribe {
            session: Some("s-8f2c".into()),
            last_seq: Some(1041),
        },
        ClientMessage::Monitor {
            req: "r-1".into(),
            call_id: "c-9".into(),
            mode: Mode::Silent,
            announce: false,
        },
        ClientMessage::Monitor {
            req: "r-5".into(),
            call_id: "c-9".into(),
            mode: Mode::Barge,
            announce: true,
        },
        ClientMessage::SetMode {
            req: "r-2".into(),
            leg_id: "l-31".into(),
            mode: Mode::Whisper,
        },
        ClientMessage::Disconnect {
            req: "r-3".into(),
            leg_id: "l-31".into(),
        },
        ClientMessage::EndCall {
            req: "r-4".into(),
            call_id: "c-9".into(),
            confirm: "c-9".into(),
        },
    ]
}

#[test]
fn every_server_message_round_trips() {
    for message in every_server_message() {
        let text = to_text(&message);
        assert_eq!(
            parse_server(&text),
            Ok(Parsed::Known(message.clone())),
            "{text}"
        );
    }
}

#[test]
fn every_client_message_round_trips() {
    for message in every_client_message() {
        let text = to_text(&message);
        assert_eq!(
            parse_client(&text),
            Ok(Parsed::Known(message.clone())),
            "{text}"
        );
    }
}

#[test]
fn contract_examples_parse() {
    let hello = r#"{"type":"hello","protocol":1,"server":"floorwalk-sim/0.1.0","session":"s-8f2c","now":"2026-11-21T09:14:03.250Z","heartbeat_ms":5000,"lease_ms":15000,"supervisor":{"id":"sup-1","name":"Dana Ruiz","teams":["billing","retention"],"can_end_calls":true}}"#;
    let Ok(Parsed::Known(ServerMessage::Hello(h))) = parse_server(hello) else {
        panic!("hello")
    };
    assert_eq!(
        (h.session.as_str(), h.lease_ms, h.supervisor.teams.len()),
        ("s-8f2c", 15000, 2)
    );

    let reply = r#"{"type":"reply","req":"r-3","ok":true,"result":{"already_left":true}}"#;
    let Ok(Parsed::Known(ServerMessage::Reply(r))) = parse_server(reply) else {
        panic!("reply")
    };
    let result: DisconnectResult = serde_json::from_value(r.outcome().unwrap().clone()).unwrap();
    assert!(result.already_left);

    let refused =
        r#"{"type":"reply","req":"r-3","ok":false,"error":{"code":"not_your_leg","message":"no"}}"#;
    let Ok(Parsed::Known(ServerMessage::Reply(r))) = parse_server(refused) else {
        panic!("refused")
    };
    assert_eq!(r.outcome().unwrap_err().code, ErrorCode::NotYourLeg);

    let monitor = r#"{"type":"monitor","req":"r-1","call_id":"c-9","mode":"silent"}"#;
    assert!(matches!(
        parse_client(monitor),
        Ok(Parsed::Known(ClientMessage::Monitor {
            announce: false,
            ..
        }))
    ));
    let announced =
        r#"{"type":"monitor","req":"r-2","call_id":"c-9","mode":"barge","announce":true}"#;
    assert!(matches!(
        parse_client(announced),
        Ok(Parsed::Known(ClientMessage::Monitor { announce: true, .. }))
    ));
    // `announce: false` stays off the wire, as a console of 0.1 sent it.
    let plain = ClientMessage::Monitor {
        req: "r-1".into(),
        call_id: "c-9".into(),
        mode: Mode::Silent,
        announce: false,
    };
    assert_eq!(serde_json::to_string(&plain).unwrap(), monitor);
    let end = r#"{"type":"end_call","req":"r-4","call_id":"c-9","confirm":"c-9"}"#;
    assert!(matches!(
        parse_client(end),
        Ok(Parsed::Known(ClientMessage::EndCall { .. }))
    ));
}

#[test]
fn floor_status_is_an_addition_without_seq() {
    let down = r#"{"type":"floor_status","status":"down","reason":"Asterisk at 127.0.0.1:8088 is not answering","since":"2026-11-21T09:14:03.250Z"}"#;
    let Ok(Parsed::Known(message)) = parse_server(down) else {
        panic!("down")
    };
    assert_eq!(message.seq(), None);
    assert!(!message.is_state_event());
    assert_eq!(to_text(&message), down, "written as documented");
    let up = r#"{"type":"floor_status","status":"up","since":"2026-11-21T09:15:00.000Z"}"#;
    let Ok(Parsed::Known(ServerMessage::FloorStatus(status))) = parse_server(up) else {
        panic!("up")
    };
    assert_eq!((status.status, status.reason), (Reachability::Up, None));
    // A status a later server may add reads as unknown, not as an error.
    let later = r#"{"type":"floor_status","status":"degraded","since":"2026-11-21T09:15:00.000Z"}"#;
    let Ok(Parsed::Known(ServerMessage::FloorStatus(status))) = parse_server(later) else {
        panic!("later")
    };
    assert_eq!(status.status, Reachability::Unknown);
}

#[test]
fn subscribe_always_sends_both_fields_even_when_null() {
    let text = to_text(&ClientMessage::Subscribe {
        session: None,
        last_seq: None,
    });
    assert_eq!(
        text,
        r#"{"type":"subscribe","session":null,"last_seq":null}"#
    );
}

#[test]
fn unknown_types_and_fields_are_ignored() {
    assert_eq!(
        parse_server(r#"{"type":"weather","sky":"blue"}"#),
        Ok(Parsed::Unknown {
            kind: "weather".into()
        })
    );
    assert_eq!(
        parse_client(r#"{"type":"dance","req":"r-1"}"#),
        Ok(Parsed::Unknown {
            kind: "dance".into()
        })
    );
    let extra = r#"{"type":"notice","level":"info","text":"hi","colour":"green","future":{"x":1}}"#;
    assert!(matches!(
        parse_server(extra),
        Ok(Parsed::Known(ServerMessage::Notice(_)))
    ));
    let new_state = r#"{"type":"agent","seq":3,"agent":{"id":"a","name":"A","team":"t","state":"training","state_since":"2026-11-21T09:14:03.250Z","call_id":null}}"#;
    let Ok(Parsed::Known(ServerMessage::Agent(ev))) = parse_server(new_state) else {
        panic!()
    };
    assert_eq!(ev.agent.state, AgentState::Unknown);
}

#[test]
fn bad_input_is_an_error_never_a_panic() {
    let cases = [
        "",
        r#"{"type":"weather","sky":"#,
        "{",
        "null",
        "[1,2]",
        r#"{"type":"hello""#,
        r#"{"no_type":1}"#,
        r#"{"type":7}"#,
        r#"{"type":"agent","seq":"one","agent":{}}"#,
        r#"{"type":"call_ended","seq":1,"call_id":"c","at":"noon","reason":"customer_hangup"}"#,
        r#"{"type":"leg_changed","seq":1,"call_id":"c","leg_id":"l","mode":"shout","at":"2026-11-21T09:14:03.250Z"}"#,
        r#"{"type":"reply","req":5,"ok":true}"#,
        r#"{"type":"snapshot","seq":-1,"agents":[],"calls":[],"queues":[]}"#,
        r#"{"type":"floor_status","status":"down","reason":"gone"}"#,
        r#"{"type":"floor_status","status":"up","since":"yesterday"}"#,
    ];
    for text in cases {
        assert!(parse_server(text).is_err(), "accepted: {text}");
    }
    let client_cases = [
        "",
        "{}",
        r#"{"type":"monitor","req":"r-1","call_id":"c-9","mode":"loud"}"#,
        r#"{"type":"monitor","req":"r-1","mode":"silent"}"#,
        r#"{"type":"end_call","req":"r-4","call_id":"c-9","confirm":9}"#,
        r#"{"type":"subscribe","session":1,"last_seq":null}"#,
        r#"{"type":"subscribe","session":null,"last_seq":-3}"#,
    ];
    for text in client_cases {
        assert!(parse_client(text).is_err(), "accepted: {text}");
    }
    assert_eq!(
        parse_server(r#"{"no_type":1}"#),
        Err(ParseError::MissingType)
    );
}

#[test]
fn oversized_text_is_refused_before_parsing() {
    let big = format!(
        r#"{{"type":"notice","level":"info","text":"{}"}}"#,
        "x".repeat(MAX_TEXT_FRAME)
    );
    assert_eq!(parse_server(&big), Err(ParseError::TooLarge(big.len())));
}

#[test]
fn truncations_of_every_message_are_errors() {
    for message in every_server_message() {
        let text = to_text(&message);
        for cut in 0..text.len() {
            if text.is_char_boundary(cut) {
                let cut = &text[..cut];
                assert!(parse_server(cut).is_err(), "accepted: {cut}");
            }
        }
    }
}

#[test]
fn names_in_words_are_the_names_on_the_wire() {
    use crate::ErrorCode as E;
    let codes = [
        E::Invalid,
        E::NotFound,
        E::Forbidden,
        E::NotYourLeg,
        E::BadConfirmation,
        E::Conflict,
        E::RateLimited,
        E::Unavailable,
        E::Unknown,
    ];
    for code in codes {
        let wire = serde_json::to_string(&code).unwrap();
        assert_eq!(wire, format!("\"{code}\""));
        assert_eq!(code.to_string(), code.as_str());
    }
    assert_eq!(E::NotYourLeg.as_str(), "not_your_leg");
    for mode in crate::Mode::ALL {
        let wire = serde_json::to_string(&mode).unwrap();
        assert_eq!(wire, format!("\"{}\"", mode.as_str()));
    }
    assert_eq!(crate::Mode::Barge.to_string(), "barge");
}
