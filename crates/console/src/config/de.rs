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
    WholeNumber {
        key: "command_timeout_ms",
        unit: "milliseconds",
        example: super::DEFAULT_COMMAND_TIMEOUT_MS,
        max: super::MAX_COMMAND_TIMEOUT_MS,
    }
    .deserialize(deserializer)
}

/// A setting that is a whole number of some unit, from 1 to `max`.
pub(super) struct WholeNumber {
    pub key: &'static str,
    pub unit: &'static str,
    /// A sensible value, shown when the type is wrong.
    pub example: u64,
    pub max: u64,
}

impl WholeNumber {
    pub fn deserialize<'de, D: Deserializer<'de>>(&self, deserializer: D) -> Result<u64, D::Error> {
        self.from(1, deserializer)
    }

    /// Like [`WholeNumber::deserialize`], with 0 allowed too (it turns the
    /// setting off).
    pub fn deserialize_or_off<'de, D: Deserializer<'de>>(
        &self,
        deserializer: D,
    ) -> Result<u64, D::Error> {
        self.from(0, deserializer)
    }

    fn from<'de, D: Deserializer<'de>>(
        &self,
        lowest: u64,
        deserializer: D,
    ) -> Result<u64, D::Error> {
        let Self {
            key,
            unit,
            example,
            max,
        } = self;
        let lowest_text = if lowest == 0 { "0 (off)" } else { "1" };
        match toml::Value::deserialize(deserializer)? {
            toml::Value::Integer(n) => match u64::try_from(n) {
                Ok(n) if n >= lowest && n <= *max => Ok(n),
                _ => Err(de::Error::custom(format!(
                    "{key} must be between {lowest_text} and {max} {unit}, found {n}"
                ))),
            },
            other => Err(de::Error::custom(format!(
                "{key} must be a whole number of {unit} like {example}, found {other}"
            ))),
        }
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
