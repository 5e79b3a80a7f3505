//! Field checks done while deserialising, so TOML errors carry the line and
//! column of the offending value.

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;

pub(super) fn server<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let url = String::deserialize(deserializer)?;
    if url.starts_with("ws://") || url.starts_with("wss://") {
        Ok(Some(url))
    } else {
        Err(de::Error::custom(format!(
            "server must be a ws:// or wss:// URL (e.g. wss://cc.example.com/v1/supervisor), found `{url}`"
        )))
    }
}

pub(super) fn command_timeout_ms<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<u64, D::Error> {
    let max = super::MAX_COMMAND_TIMEOUT_MS;
    match toml::Value::deserialize(deserializer)? {
        toml::Value::Integer(ms) => match u64::try_from(ms) {
            Ok(ms @ 1..) if ms <= max => Ok(ms),
            _ => Err(de::Error::custom(format!(
                "command_timeout_ms must be between 1 and {max} milliseconds, found {ms}"
            ))),
        },
        other => Err(de::Error::custom(format!(
            "command_timeout_ms must be a whole number of milliseconds like 5000, found {other}"
        ))),
    }
}

/// `[keys]`: each action maps to one key string or a list of them.
pub(super) fn keys<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    let raw = BTreeMap::<String, KeyList>::deserialize(deserializer)?;
    Ok(raw
        .into_iter()
        .map(|(action, keys)| (action, keys.0))
        .collect())
}

struct KeyList(Vec<String>);

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KeyListVisitor)
    }
}

struct KeyListVisitor;

impl<'de> Visitor<'de> for KeyListVisitor {
    type Value = KeyList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a key like "q" or a list of keys like ["q", "Esc"]"#)
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<KeyList, E> {
        Ok(KeyList(vec![key.to_owned()]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyList, A::Error> {
        let mut keys = Vec::new();
        while let Some(key) = seq.next_element::<String>()? {
            keys.push(key);
        }
        Ok(KeyList(keys))
    }
}
