//! Mutations of valid input, at three levels: raw bytes (truncation, bit
//! flips, insertions, splices), text tokens (numbers swapped for huge or odd
//! ones, deep nesting, hostile escapes) and parsed documents (a JSON or TOML
//! node replaced by a value of another type, removed, or given company).

use super::tree::{NodeEdit, apply_node_edit, node_edit};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// Text that is hard to show or to parse: terminal escapes, bidi overrides,
/// combining marks, wide and zero-width characters, NUL, a BOM.
pub const WEIRD: &[&str] = &[
    "\u{1b}[2J\u{1b}[?1049l\u{1b}[?25h",
    "\u{1b}]0;pwned\u{7}",
    "\u{9b}31m",
    "\u{202e}dlrow olleh",
    "👩\u{200d}👩\u{200d}👧\u{200d}👦",
    "e\u{301}\u{301}\u{301}\u{301}",
    "\u{0}",
    "\t\r\n",
    "ＡＢＣ全角テキスト",
    "\u{feff}",
    "\u{fffd}",
    "𝕏𝕐",
    "\u{200b}\u{200b}",
    "\u{7f}\u{8}",
    "﷽",
    "\u{10ffff}",
    "a\u{0}b",
    "\\",
    "\"",
];

/// A hostile string: empty, arbitrary, weird, or weird and long.
pub fn hostile_string() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        2 => Just(String::new()),
        4 => any::<String>(),
        4 => prop::sample::select(WEIRD).prop_map(str::to_owned),
        1 => (prop::sample::select(WEIRD), 1..400usize).prop_map(|(s, n)| s.repeat(n)),
        1 => (0..20_000usize).prop_map(|n| "x".repeat(n)),
    ]
}

/// Number tokens no well-behaved server sends.
pub const ODD_NUMBERS: &[&str] = &[
    "1e400",
    "-1e400",
    "18446744073709551616",
    "18446744073709551615",
    "-9223372036854775809",
    "-1",
    "-0",
    "0.5",
    "1.0",
    "1e2",
    "01",
    "0x10",
    "NaN",
    "Infinity",
    "99999999999999999999999999999999999999999999999999",
    "4294967296",
    "65536",
];

/// One edit of a byte string.
#[derive(Debug, Clone)]
pub enum ByteEdit {
    Truncate(Index),
    /// XOR one byte with a non-zero mask.
    Flip(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    /// Copies a chunk of the input to another place (duplicated keys, doubled frames).
    Splice {
        from: Index,
        len: usize,
        to: Index,
    },
}

pub fn byte_edit() -> impl Strategy<Value = ByteEdit> + Clone {
    prop_oneof![
        any::<Index>().prop_map(ByteEdit::Truncate),
        (any::<Index>(), 1..=255u8).prop_map(|(at, mask)| ByteEdit::Flip(at, mask)),
        (any::<Index>(), vec(any::<u8>(), 1..8)).prop_map(|(at, b)| ByteEdit::Insert(at, b)),
        (any::<Index>(), 1..16usize).prop_map(|(at, n)| ByteEdit::Delete(at, n)),
        (any::<Index>(), 1..64usize, any::<Index>()).prop_map(|(from, len, to)| ByteEdit::Splice {
            from,
            len,
            to
        }),
    ]
}

pub fn apply_byte_edit(bytes: &mut Vec<u8>, edit: &ByteEdit) {
    let len = bytes.len();
    let at = |i: &Index| if len == 0 { 0 } else { i.index(len) };
    match edit {
        ByteEdit::Truncate(i) => bytes.truncate(at(i)),
        ByteEdit::Flip(i, mask) => {
            if len > 0 {
                bytes[at(i)] ^= mask;
            }
        }
        ByteEdit::Insert(i, extra) => {
            let at = at(i);
            bytes.splice(at..at, extra.iter().copied());
        }
        ByteEdit::Delete(i, n) => {
            let at = at(i);
            bytes.drain(at..(at + n).min(len));
        }
        ByteEdit::Splice { from, len: n, to } => {
            let from = at(from);
            let chunk = bytes[from..(from + n).min(len)].to_vec();
            let to = at(to);
            bytes.splice(to..to, chunk);
        }
    }
}

/// One edit of a text at the level of its tokens.
#[derive(Debug, Clone)]
pub enum TextEdit {
    /// Damages the bytes (the result is made valid UTF-8 again, lossily).
    Bytes(ByteEdit),
    /// Replaces a number in the text with an odd one.
    Number(Index, &'static str),
    /// Inserts a string at a character boundary (inside a string literal,
    /// often, where escapes and control characters matter).
    Insert(Index, String),
    /// Replaces the text after a point with `depth` opening brackets, closed
    /// or not: recursion limits, not stack overflows.
    Nest {
        at: Index,
        depth: usize,
        open: &'static str,
        close: &'static str,
        closed: bool,
    },
}

/// Text edits; `open`/`close` pairs are the nesting brackets of the format.
pub fn text_edit(
    brackets: &'static [(&'static str, &'static str)],
) -> impl Strategy<Value = TextEdit> + Clone {
    let insert = prop_oneof![
        prop::sample::select(WEIRD).prop_map(str::to_owned),
        prop::sample::select(
            &[
                "\\ud800",
                "\\udfff\\ud800",
                "\\u0000",
                "\\x41",
                "\\",
                "\"",
                "\u{0}",
                "\n",
                "}",
                "]",
                "{",
                "[",
                ",",
                ":",
                "=",
                "'''",
                "\"\"\"",
                "#",
                "=[",
                ".",
                "[[",
            ][..]
        )
        .prop_map(str::to_owned),
        any::<String>(),
    ];
    prop_oneof![
        4 => byte_edit().prop_map(TextEdit::Bytes),
        2 => (any::<Index>(), prop::sample::select(ODD_NUMBERS))
            .prop_map(|(at, n)| TextEdit::Number(at, n)),
        2 => (any::<Index>(), insert).prop_map(|(at, s)| TextEdit::Insert(at, s)),
        1 => (
            any::<Index>(),
            prop_oneof![1..200usize, 200..5_000usize, Just(100_000usize)],
            prop::sample::select(brackets),
            any::<bool>()
        )
            .prop_map(|(at, depth, (open, close), closed)| TextEdit::Nest {
                at,
                depth,
                open,
                close,
                closed
            }),
    ]
}

pub fn apply_text_edit(text: &mut String, edit: &TextEdit) {
    match edit {
        TextEdit::Bytes(edit) => {
            let mut bytes = std::mem::take(text).into_bytes();
            apply_byte_edit(&mut bytes, edit);
            *text = String::from_utf8_lossy(&bytes).into_owned();
        }
        TextEdit::Number(i, replacement) => {
            let digits: Vec<usize> = text
                .bytes()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_digit())
                .map(|(n, _)| n)
                .collect();
            if digits.is_empty() {
                return;
            }
            let start = digits[i.index(digits.len())];
            let number = |b: u8| b.is_ascii_digit() || b"+-.eE".contains(&b);
            let bytes = text.as_bytes();
            let mut from = start;
            while from > 0 && number(bytes[from - 1]) {
                from -= 1;
            }
            let mut to = start;
            while to < bytes.len() && number(bytes[to]) {
                to += 1;
            }
            text.replace_range(from..to, replacement);
        }
        TextEdit::Insert(i, extra) => {
            let at = boundary(text, i);
            text.insert_str(at, extra);
        }
        TextEdit::Nest {
            at,
            depth,
            open,
            close,
            closed,
        } => {
            let at = boundary(text, at);
            text.truncate(at);
            text.push_str(&open.repeat(*depth));
            if *closed {
                text.push_str(&close.repeat(*depth));
            }
        }
    }
}

/// A character boundary of `text` chosen by `i`.
fn boundary(text: &str, i: &Index) -> usize {
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(n, _)| n)
        .chain([text.len()])
        .collect();
    bounds[i.index(bounds.len())]
}

/// Times at the edges of RFC 3339: offsets that push them past year 0000 or
/// 9999, leap seconds, odd precision, lower-case separators.
pub const EDGE_TIMES: &[&str] = &[
    "0000-01-01T00:00:00+01:00",
    "0000-01-01T00:00:00.000Z",
    "9999-12-31T23:59:59.999Z",
    "9999-12-31T23:59:59.999-00:01",
    "2026-12-31T23:59:60.000Z",
    "2026-11-21T09:14:03.123456789Z",
    "2026-11-21t09:14:03z",
    "2026-11-21T09:14:03.250+23:59",
    "1969-12-31T23:59:59.999Z",
];

/// A JSON value of any type, small, with hostile strings and numbers.
pub fn json_value() -> impl Strategy<Value = serde_json::Value> + Clone {
    use serde_json::{Value, json};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        prop::num::f64::NORMAL.prop_map(|n| json!(n)),
        hostile_string().prop_map(Value::String),
        prop::sample::select(
            &[
                "hello", "snapshot", "agent", "reply", "notice", "silent", "barge"
            ][..]
        )
        .prop_map(|s| json!(s)),
        prop::sample::select(EDGE_TIMES).prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            vec(("[a-z_]{1,12}", inner), 0..4)
                .prop_map(|fields| serde_json::Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// One edit of a parsed JSON document, addressing a node in pre-order.
#[derive(Debug, Clone)]
pub enum JsonEdit {
    /// Replaces, removes or adds a node.
    Node(NodeEdit<serde_json::Value>),
    /// Sets `"type"` to another message type, known or not.
    Retype(String),
    /// Sets one of the message's times to an edge of RFC 3339.
    Retime(Index, &'static str),
}

pub fn json_edit() -> impl Strategy<Value = JsonEdit> + Clone {
    let kinds = prop_oneof![
        prop::sample::select(
            &[
                "hello",
                "snapshot",
                "agent",
                "queue",
                "call_started",
                "call_updated",
                "call_ended",
                "leg_joined",
                "leg_changed",
                "leg_left",
                "transcript",
                "reply",
                "notice",
                "subscribe",
                "monitor",
                "set_mode",
                "disconnect",
                "end_call",
                "weather",
                "",
                "HELLO",
            ][..]
        )
        .prop_map(str::to_owned),
        hostile_string(),
    ];
    let keys = prop_oneof![
        "[a-z_]{1,12}",
        Just("type".to_owned()),
        Just("seq".to_owned())
    ];
    prop_oneof![
        8 => node_edit(json_value(), keys, 2).prop_map(JsonEdit::Node),
        1 => kinds.prop_map(JsonEdit::Retype),
        2 => (any::<Index>(), prop::sample::select(EDGE_TIMES)).prop_map(|(at, t)| JsonEdit::Retime(at, t)),
    ]
}

pub fn apply_json_edit(doc: &mut serde_json::Value, edit: &JsonEdit) {
    use serde_json::Value;
    match edit {
        JsonEdit::Node(edit) => apply_node_edit(doc, edit, false),
        JsonEdit::Retype(kind) => {
            if let Value::Object(fields) = doc {
                fields.insert("type".into(), Value::String(kind.clone()));
            }
        }
        JsonEdit::Retime(i, time) => {
            let mut times = Vec::new();
            times_in(doc, &mut times);
            if !times.is_empty() {
                let n = i.index(times.len());
                *times.swap_remove(n) = Value::String((*time).to_owned());
            }
        }
    }
}

/// The values of the protocol's time fields, anywhere in a document.
fn times_in<'a>(value: &'a mut serde_json::Value, found: &mut Vec<&'a mut serde_json::Value>) {
    const TIME_KEYS: &[&str] = &["at", "now", "state_since", "started_at", "joined_at"];
    match value {
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| times_in(v, found)),
        serde_json::Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                if TIME_KEYS.contains(&key.as_str()) {
                    found.push(field);
                } else {
                    times_in(field, found);
                }
            }
        }
        _ => {}
    }
}

/// A TOML value of any type, small.
pub fn toml_value() -> impl Strategy<Value = toml::Value> + Clone {
    use toml::Value;
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::Integer),
        prop_oneof![
            Just(i64::MAX),
            Just(i64::MIN),
            Just(0i64),
            Just(-1i64),
            Just(600_001i64)
        ]
        .prop_map(Value::Integer),
        prop::num::f64::ANY.prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
        hostile_string().prop_map(Value::String),
        prop::sample::select(
            &[
                "none",
                "default",
                "wav:",
                "wav:/tmp/x.wav",
                "ws://127.0.0.1:1/v1/supervisor",
                "wss://",
                "ctrl-c",
                "esc",
                "d",
                "E",
                "q",
                "f25",
                "shift-",
                "ctrl-alt-shift-x",
            ][..]
        )
        .prop_map(|s| Value::String(s.to_owned())),
        Just(Value::Datetime("1979-05-27T07:32:00Z".parse().unwrap())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
            vec(("[a-z_]{1,12}", inner), 0..4)
                .prop_map(|fields| toml::Value::Table(fields.into_iter().collect())),
        ]
    })
}

/// One edit of a parsed TOML document.
pub type TomlEdit = NodeEdit<toml::Value>;

pub fn toml_edit(keys: &'static [&'static str]) -> impl Strategy<Value = TomlEdit> + Clone {
    let key = prop_oneof![
        prop::sample::select(keys).prop_map(str::to_owned),
        "[a-z_]{1,12}",
        hostile_string(),
    ];
    node_edit(toml_value(), key, 3)
}

pub fn apply_toml_edit(doc: &mut toml::Value, edit: &TomlEdit) {
    apply_node_edit(doc, edit, true);
}

/// One edit of a text by lines (TOML is line-oriented).
#[derive(Debug, Clone)]
pub enum LineEdit {
    Delete(Index),
    Duplicate(Index),
    Swap(Index, Index),
}

pub fn line_edit() -> impl Strategy<Value = LineEdit> + Clone {
    prop_oneof![
        any::<Index>().prop_map(LineEdit::Delete),
        any::<Index>().prop_map(LineEdit::Duplicate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| LineEdit::Swap(a, b)),
    ]
}

pub fn apply_line_edit(text: &mut String, edit: &LineEdit) {
    let mut lines: Vec<&str> = text.split('\n').collect();
    let n = lines.len();
    match edit {
        LineEdit::Delete(i) => {
            lines.remove(i.index(n));
        }
        LineEdit::Duplicate(i) => {
            let at = i.index(n);
            lines.insert(at, lines[at]);
        }
        LineEdit::Swap(a, b) => lines.swap(a.index(n), b.index(n)),
    }
    *text = lines.join("\n");
}
