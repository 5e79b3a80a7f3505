//! What ARI says: the channel, bridge and endpoint objects and the events of
//! the events socket, as far as the gateway reads them. Unknown events and
//! fields are ignored; an event that does not parse is logged and skipped.

use floorwalk_protocol::Timestamp;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CallerId {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub number: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Dialplan {
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub exten: String,
    #[serde(default)]
    pub app_name: String,
    #[serde(default)]
    pub app_data: String,
}

/// A channel snapshot. `channelvars` holds the variables ari.conf lists
/// (an unset one is "").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Channel {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub caller: CallerId,
    #[serde(default)]
    pub connected: CallerId,
    #[serde(default)]
    pub creationtime: String,
    #[serde(default)]
    pub dialplan: Dialplan,
    #[serde(default)]
    pub channelvars: BTreeMap<String, Option<String>>,
}

impl Channel {
    /// A listed channel variable, `None` when unset or empty.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.channelvars
            .get(name)
            .and_then(|v| v.as_deref())
            .filter(|v| !v.is_empty())
    }

    /// The endpoint the channel belongs to: `PJSIP/1001` of
    /// `PJSIP/1001-00000007`.
    pub fn endpoint(&self) -> &str {
        match self.name.rsplit_once('-') {
            Some((endpoint, _)) if self.name.contains('/') => endpoint,
            _ => &self.name,
        }
    }

    pub fn created(&self) -> Timestamp {
        ari_time(&self.creationtime).unwrap_or_else(Timestamp::now)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Bridge {
    pub id: String,
    #[serde(default)]
    pub bridge_type: String,
    #[serde(default)]
    pub bridge_class: String,
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default)]
    pub creationtime: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Endpoint {
    pub technology: String,
    pub resource: String,
    #[serde(default)]
    pub state: String,
}

impl Endpoint {
    /// `PJSIP/1001`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.technology, self.resource)
    }
}

/// A playback (the monitoring notice's).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Playback {
    pub id: String,
    /// `done` when it played to its end; `failed`, `canceled`, … otherwise.
    #[serde(default)]
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeviceState {
    pub name: String,
    pub state: String,
}

/// One event of the events socket.
#[expect(
    clippy::large_enum_variant,
    reason = "a parse target, boxed whole by the socket that reads it"
)]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    ChannelCreated {
        channel: Channel,
    },
    ChannelStateChange {
        channel: Channel,
    },
    ChannelDialplan {
        channel: Channel,
    },
    ChannelCallerId {
        channel: Channel,
    },
    ChannelConnectedLine {
        channel: Channel,
    },
    ChannelVarset {
        channel: Option<Channel>,
        variable: String,
        #[serde(default)]
        value: String,
    },
    ChannelHangupRequest {
        channel: Channel,
    },
    ChannelDestroyed {
        channel: Channel,
    },
    ChannelHold {
        channel: Channel,
    },
    ChannelUnhold {
        channel: Channel,
    },
    ChannelEnteredBridge {
        bridge: Bridge,
        channel: Option<Channel>,
    },
    ChannelLeftBridge {
        bridge: Bridge,
        channel: Channel,
    },
    BridgeCreated {
        bridge: Bridge,
    },
    BridgeDestroyed {
        bridge: Bridge,
    },
    BridgeMerged {
        bridge: Bridge,
        bridge_from: Bridge,
    },
    Dial {
        caller: Option<Channel>,
        peer: Channel,
        #[serde(default)]
        dialstatus: String,
    },
    EndpointStateChange {
        endpoint: Endpoint,
    },
    DeviceStateChanged {
        device_state: DeviceState,
    },
    StasisStart {
        channel: Channel,
    },
    StasisEnd {
        channel: Channel,
    },
    PlaybackFinished {
        playback: Playback,
    },
    /// Every other event type, ignored.
    #[serde(other)]
    Other,
}

/// Why an event was skipped.
#[derive(Debug, thiserror::Error)]
#[error("an ARI event that does not parse ({error}): {excerpt}")]
pub struct BadEvent {
    error: serde_json::Error,
    excerpt: String,
}

impl Event {
    pub fn parse(text: &str) -> Result<Event, BadEvent> {
        serde_json::from_str(text).map_err(|error| BadEvent {
            error,
            excerpt: text.chars().take(200).collect(),
        })
    }
}

/// ARI's times, `2026-12-03T11:52:18.942+0000`: RFC 3339 but for the
/// offset's missing colon.
pub fn ari_time(text: &str) -> Option<Timestamp> {
    let split = text.len().checked_sub(5)?;
    let (head, offset) = (text.get(..split)?, text.get(split..)?);
    let rfc3339 = match offset.as_bytes() {
        [sign @ (b'+' | b'-'), ..] => {
            format!(
                "{head}{}{}:{}",
                char::from(*sign),
                &offset[1..3],
                &offset[3..]
            )
        }
        _ => text.to_owned(),
    };
    Timestamp::parse(&rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ari_times_parse_with_their_offset() {
        let utc = ari_time("2026-12-03T11:52:18.942+0000").unwrap();
        assert_eq!(utc, Timestamp::parse("2026-12-03T11:52:18.942Z").unwrap());
        let east = ari_time("2026-12-03T12:52:18.942+0100").unwrap();
        assert_eq!(east, utc);
        assert_eq!(ari_time("yesterday"), None);
        assert_eq!(ari_time(""), None);
    }

    #[test]
    fn events_parse_and_unknown_ones_are_other() {
        let varset = Event::parse(
            r#"{"type":"ChannelVarset","variable":"FW_ROLE","value":"agent","channel":{"id":"1.2","name":"PJSIP/1001-0000002a","channelvars":{"FW_ROLE":"agent","FW_TEAM":null}}}"#,
        )
        .unwrap();
        let Event::ChannelVarset {
            channel: Some(channel),
            ..
        } = varset
        else {
            panic!("not a varset: {varset:?}");
        };
        assert_eq!(channel.var("FW_ROLE"), Some("agent"));
        assert_eq!(channel.var("FW_TEAM"), None);
        assert_eq!(channel.endpoint(), "PJSIP/1001");
        let other = Event::parse(r#"{"type":"PlaybackStarted","playback":{}}"#).unwrap();
        assert_eq!(other, Event::Other);
    }

    #[test]
    fn malformed_events_are_refused_with_an_excerpt() {
        for text in [
            "not json",
            r#"{"no":"type"}"#,
            r#"{"type":"ChannelDestroyed"}"#,
            r#"{"type":"ChannelDestroyed","channel":{"id":7}}"#,
        ] {
            let err = Event::parse(text).unwrap_err().to_string();
            assert!(err.contains("does not parse"), "{err}");
        }
    }
}
