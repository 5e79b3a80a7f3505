//! Every key a config file may have, taken from the config's own types so
//! the list cannot drift from what `Config::parse` accepts.
#![allow(dead_code, clippy::unwrap_used)]

use floorwalk_console::app::Action;
use floorwalk_console::config::{AudioSection, Config, PushToTalk, RotationSection};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// The top-level keys, then the keys of each table: `[keys]` takes the
/// actions' names, `[audio]`, `[ptt]` and `[rotation]` their structs' fields.
pub fn config_keys() -> Vec<&'static str> {
    let mut keys = fields_of::<Config>().to_vec();
    keys.extend(Action::ALL.map(Action::name));
    keys.extend(fields_of::<AudioSection>());
    keys.extend(fields_of::<PushToTalk>());
    keys.extend(fields_of::<RotationSection>());
    keys
}

/// The fields a derived `Deserialize` struct accepts, in order: serde hands
/// its list to the deserializer, and this one only writes it down.
fn fields_of<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields = None;
    let _ = T::deserialize(FieldList(&mut fields));
    fields.unwrap()
}

struct FieldList<'a>(&'a mut Option<&'static [&'static str]>);

#[derive(Debug)]
struct Listed;

impl fmt::Display for Listed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("only the fields are listed")
    }
}

impl std::error::Error for Listed {}

impl de::Error for Listed {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Listed
    }
}

impl<'de> Deserializer<'de> for FieldList<'_> {
    type Error = Listed;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Listed> {
        *self.0 = Some(fields);
        Err(Listed)
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Listed> {
        Err(Listed)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}
