//! A state event serialised once and stamped with each stream's `seq`.
//!
//! Every supervisor's stream numbers events on its own, so one event goes out
//! with a different `seq` per stream. Serialising it once with `seq` 0 and
//! splicing the number in keeps the cost per extra stream to one string copy,
//! and lets all replay windows share the same bytes.

use floorwalk_protocol::{ServerMessage, to_text};
use std::fmt::Write as _;

/// One state event, ready to be stamped with a `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireEvent {
    /// The event serialised with `"seq":0`.
    text: String,
    /// The byte offset of that `0`.
    seq_at: usize,
}

/// The message is not a state event (it has no `seq` to stamp).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("only state events can be stamped with a seq")]
pub struct NotAStateEvent;

impl WireEvent {
    /// Serialises a state event; its own `seq` is ignored.
    pub fn new(message: &ServerMessage) -> Result<Self, NotAStateEvent> {
        if !message.is_state_event() {
            return Err(NotAStateEvent);
        }
        let mut message = message.clone();
        set_seq(&mut message, 0);
        let text = to_text(&message);
        // serde writes the tag first and then the fields in declaration
        // order, and `seq` is the first field of every state event, so the
        // first `"seq":0` is the event's own, right after the type.
        const MARK: &str = ",\"seq\":0";
        let seq_at = text.find(MARK).ok_or(NotAStateEvent)? + MARK.len() - 1;
        if !text.starts_with("{\"type\":\"") || text[..seq_at].matches('"').count() != 6 {
            return Err(NotAStateEvent);
        }
        Ok(Self { text, seq_at })
    }

    /// The event's text with `seq` set.
    pub fn render(&self, seq: u64) -> String {
        let mut out = String::with_capacity(self.text.len() + 19);
        out.push_str(&self.text[..self.seq_at]);
        // Writing to a String cannot fail.
        let _ = write!(out, "{seq}");
        out.push_str(&self.text[self.seq_at + 1..]);
        out
    }
}

fn set_seq(message: &mut ServerMessage, value: u64) {
    match message {
        ServerMessage::Agent(m) => m.seq = value,
        ServerMessage::Queue(m) => m.seq = value,
        ServerMessage::CallStarted(m) | ServerMessage::CallUpdated(m) => m.seq = value,
        ServerMessage::CallEnded(m) => m.seq = value,
        ServerMessage::LegJoined(m) => m.seq = value,
        ServerMessage::LegChanged(m) => m.seq = value,
        ServerMessage::LegLeft(m) => m.seq = value,
        ServerMessage::Transcript(m) => m.seq = value,
        ServerMessage::Snapshot(m) => m.seq = value,
        ServerMessage::Hello(_)
        | ServerMessage::Reply(_)
        | ServerMessage::Notice(_)
        | ServerMessage::FloorStatus(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwalk_protocol::{
        Agent, AgentEvent, AgentState, CallEndReason, CallEnded, Hello, Leg, LegJoined, Parsed,
        Role, Supervisor, Timestamp, Transcript, parse_server,
    };

    fn with_seq(mut message: ServerMessage, seq: u64) -> ServerMessage {
        set_seq(&mut message, seq);
        message
    }

    fn events() -> Vec<ServerMessage> {
        let at = Timestamp::from_millis(1_795_252_443_250);
        vec![
            ServerMessage::Agent(AgentEvent {
                seq: 99,
                agent: Agent {
                    id: "a-1".into(),
                    // A name that looks like a seq must not confuse the splice.
                    name: ",\"seq\":0".into(),
                    team: "billing".into(),
                    state: AgentState::Available,
                    state_since: at,
                    call_id: None,
                },
            }),
            ServerMessage::CallEnded(CallEnded {
                seq: 0,
                call_id: "c-1".into(),
                at,
                reason: CallEndReason::CustomerHangup,
            }),
            ServerMessage::LegJoined(LegJoined {
                seq: 5,
                call_id: "c-1".into(),
                leg: Leg {
                    id: "l-1".into(),
                    role: Role::Bot,
                    user_id: None,
                    name: "Transcriber".into(),
                    mode: None,
                    track: 1,
                    joined_at: at,
                },
            }),
            ServerMessage::Transcript(Transcript {
                seq: 1,
                call_id: "c-1".into(),
                leg_id: "l-1".into(),
                at,
                text: "\"seq\":0".into(),
                is_final: true,
            }),
        ]
    }

    #[test]
    fn rendering_stamps_the_seq_and_keeps_everything_else() {
        for event in events() {
            let wire = WireEvent::new(&event).unwrap();
            for seq in [1, 10, 123_456_789_012, u64::MAX] {
                let text = wire.render(seq);
                let Parsed::Known(parsed) = parse_server(&text).unwrap() else {
                    panic!("unknown: {text}");
                };
                assert_eq!(parsed, with_seq(event.clone(), seq), "{text}");
            }
        }
    }

    #[test]
    fn only_state_events_can_be_stamped() {
        let hello = ServerMessage::Hello(Hello {
            protocol: 1,
            server: "x".into(),
            session: "s".into(),
            now: Timestamp::from_millis(0),
            heartbeat_ms: 1,
            lease_ms: 1,
            supervisor: Supervisor {
                id: "s".into(),
                name: "n".into(),
                teams: vec![],
                can_end_calls: false,
            },
        });
        assert_eq!(WireEvent::new(&hello), Err(NotAStateEvent));
    }
}
