//! The key map as data: every action with its keys, a description and a
//! `dangerous` flag. The hint bar and the help overlay are generated from it,
//! so they always show the keys actually bound.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Something the supervisor can ask for with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Filter,
    Sort,
    Monitor,
    Whisper,
    Barge,
    /// Push-to-talk. Routed before the key map while talking is possible
    /// (see `App::talk_route`); it reaches the key map only to be told why not.
    Talk,
    Disconnect,
    EndCall,
    NextCall,
    PrevCall,
    /// Start or stop the rotation (see `rotation.rs`).
    Rotate,
    /// Open my presence history of today from the journal.
    AuditLog,
    Help,
    Quit,
}

/// An action's name in the config file's `[keys]` table, its label in the
/// hint bar, its description in the help overlay and its default keys.
type Entry = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

impl Action {
    /// Every action, in the order the help overlay lists them.
    pub const ALL: [Action; 20] = [
        Action::Monitor,
        Action::Whisper,
        Action::Barge,
        Action::Talk,
        Action::Disconnect,
        Action::EndCall,
        Action::NextCall,
        Action::PrevCall,
        Action::Rotate,
        Action::Filter,
        Action::Sort,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::AuditLog,
        Action::Help,
        Action::Quit,
    ];

    /// Everything said about the action, side by side.
    fn entry(self) -> Entry {
        match self {
            Action::Up => ("up", "up", "select the row above", &["up", "k"]),
            Action::Down => ("down", "down", "select the row below", &["down", "j"]),
            Action::PageUp => ("page_up", "page up", "one page up", &["pgup"]),
            Action::PageDown => ("page_down", "page down", "one page down", &["pgdn"]),
            Action::Top => ("top", "top", "first row", &["g", "home"]),
            Action::Bottom => ("bottom", "bottom", "last row", &["G", "end"]),
            Action::Filter => (
                "filter",
                "filter",
                "filter by agent, team, queue or state",
                &["/"],
            ),
            Action::Sort => ("sort", "sort", "change the sort order", &["s"]),
            Action::Monitor => (
                "monitor",
                "monitor",
                "listen silently (nobody hears you)",
                &["m"],
            ),
            Action::Whisper => (
                "whisper",
                "whisper",
                "coach the agent (only the agent hears you)",
                &["w"],
            ),
            Action::Barge => (
                "barge",
                "barge",
                "join the conversation (agent and customer hear you)",
                &["b"],
            ),
            Action::Talk => (
                "talk",
                "talk",
                "push-to-talk in whisper or barge",
                &["space"],
            ),
            Action::Disconnect => (
                "disconnect",
                "leave",
                "leave the call: drops only your leg, the call goes on",
                &["d"],
            ),
            Action::EndCall => (
                "end_call",
                "end call",
                "END THE CALL FOR EVERYONE (asks to confirm)",
                &["E"],
            ),
            Action::NextCall => ("next_call", "next", "next active call", &["n"]),
            Action::PrevCall => ("prev_call", "prev", "previous active call", &["p"]),
            Action::Rotate => (
                "rotate",
                "rotate",
                "rotate: listen silently to each call in turn (again: stop)",
                &["r"],
            ),
            Action::AuditLog => (
                "audit_log",
                "audit",
                "my audit log of today (esc closes)",
                &["a"],
            ),
            Action::Help => ("help", "help", "this help", &["?"]),
            Action::Quit => ("quit", "quit", "quit (leaves your calls first)", &["q"]),
        }
    }

    /// The name used in the config file's `[keys]` table.
    pub fn name(self) -> &'static str {
        self.entry().0
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The short label of the hint bar.
    pub fn hint(self) -> &'static str {
        self.entry().1
    }

    /// What the action does, for the help overlay.
    pub fn description(self) -> &'static str {
        self.entry().2
    }

    /// The keys bound to the action unless the config says otherwise.
    fn default_keys(self) -> Vec<Key> {
        self.entry()
            .3
            .iter()
            .filter_map(|n| Key::parse(n).ok())
            .collect()
    }

    /// Whether the action affects other people irreversibly.
    pub fn dangerous(self) -> bool {
        matches!(self, Action::EndCall)
    }
}

/// One key with its modifiers, normalised so that a parsed key name and the
/// event crossterm reports compare equal (`E` arrives as 'E' with SHIFT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    code: KeyCode,
    modifiers: KeyModifiers,
}

impl Key {
    /// Normalises a code and modifiers. For characters, SHIFT is folded into
    /// the character itself; with CONTROL, letters are compared lower-case.
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Key {
        let modifiers =
            modifiers & (KeyModifiers::SHIFT | KeyModifiers::CONTROL | KeyModifiers::ALT);
        match code {
            KeyCode::Char(c) => {
                let shifted = modifiers.contains(KeyModifiers::SHIFT);
                let mut c = if shifted { c.to_ascii_uppercase() } else { c };
                let modifiers = modifiers - KeyModifiers::SHIFT;
                if modifiers.contains(KeyModifiers::CONTROL) {
                    c = c.to_ascii_lowercase();
                }
                Key {
                    code: KeyCode::Char(c),
                    modifiers,
                }
            }
            KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => Key {
                code: KeyCode::BackTab,
                modifiers: modifiers - KeyModifiers::SHIFT,
            },
            KeyCode::BackTab => Key {
                code,
                modifiers: modifiers - KeyModifiers::SHIFT,
            },
            _ => Key { code, modifiers },
        }
    }

    pub fn from_event(event: &KeyEvent) -> Key {
        Key::new(event.code, event.modifiers)
    }

    pub fn plain(code: KeyCode) -> Key {
        Key::new(code, KeyModifiers::NONE)
    }

    /// Parses a key name: "d", "E", "space", "enter", "esc", "tab", "up",
    /// "pgdn", "f2", "ctrl-c", "alt-x", "shift-tab".
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err("an empty key name".into());
        }
        let mut modifiers = KeyModifiers::NONE;
        loop {
            let lower = rest.to_ascii_lowercase();
            let prefix = ["ctrl-", "control-", "alt-", "shift-"]
                .into_iter()
                .find(|p| lower.starts_with(p) && rest.len() > p.len());
            match prefix {
                Some(p) => {
                    modifiers |= match p {
                        "alt-" => KeyModifiers::ALT,
                        "shift-" => KeyModifiers::SHIFT,
                        _ => KeyModifiers::CONTROL,
                    };
                    rest = &rest[p.len()..];
                }
                None => break,
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => named_code(&rest.to_ascii_lowercase())
                .ok_or_else(|| format!("{text:?} is not a key name (try \"d\", \"E\", \"space\", \"enter\", \"f2\", \"ctrl-x\")"))?,
        };
        Ok(Key::new(code, modifiers))
    }
}

fn named_code(name: &str) -> Option<KeyCode> {
    Some(match name {
        "space" | "spc" => KeyCode::Char(' '),
        "enter" | "return" | "ret" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "backspace" | "bs" => KeyCode::Backspace,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "pgup" | "pageup" | "page_up" => KeyCode::PageUp,
        "pgdn" | "pgdown" | "pagedown" | "page_down" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "insert" | "ins" => KeyCode::Insert,
        "delete" | "del" => KeyCode::Delete,
        "minus" => KeyCode::Char('-'),
        _ => {
            let n: u8 = name.strip_prefix('f')?.parse().ok()?;
            if !(1..=24).contains(&n) {
                return None;
            }
            KeyCode::F(n)
        }
    })
}

impl fmt::Display for Key {
    /// The name a supervisor would type in the config, e.g. "ctrl-c", "E", "pgdn".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Why a `[keys]` table was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyMapError {
    #[error("unknown action {name:?} in [keys] (known: {known})")]
    UnknownAction { name: String, known: String },
    #[error("[keys] {action}: {reason}")]
    BadKey { action: String, reason: String },
    #[error(
        "[keys] disconnect and end_call share the key {key:?}: leaving a call must never be one key away from ending it"
    )]
    DisconnectSharesEndCall { key: String },
    #[error("[keys] the key {key:?} is bound to both {first} and {second}")]
    KeyBoundTwice {
        key: String,
        first: &'static str,
        second: &'static str,
    },
    #[error("[keys] {action} needs at least one key")]
    NoKeys { action: &'static str },
    #[error("[keys] {action}: {key:?} is reserved ({why})")]
    Reserved {
        action: &'static str,
        key: String,
        why: &'static str,
    },
}

/// Action → keys. Always valid: no key is bound to two actions, and
/// disconnect and quit always have a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    bindings: BTreeMap<Action, Vec<Key>>,
}

/// Ctrl-C always quits (leaving first) and Esc always closes or cancels, so
/// neither can be rebound.
fn reserved(key: Key) -> Option<&'static str> {
    if key == Key::new(KeyCode::Char('c'), KeyModifiers::CONTROL) {
        Some("ctrl-c always quits, leaving your calls first")
    } else if key == Key::plain(KeyCode::Esc) {
        Some("esc always closes dialogs and clears the filter")
    } else {
        None
    }
}

impl Default for KeyMap {
    fn default() -> Self {
        let bindings = Action::ALL
            .into_iter()
            .map(|action| (action, action.default_keys()))
            .collect();
        KeyMap { bindings }
    }
}

impl KeyMap {
    /// The default map with the config's `[keys]` table applied: each listed
    /// action gets exactly the keys given (replacing its defaults).
    pub fn with_overrides(
        overrides: &BTreeMap<String, Vec<String>>,
    ) -> Result<KeyMap, KeyMapError> {
        let mut map = KeyMap::default();
        for (name, key_names) in overrides {
            let action = Action::from_name(name).ok_or_else(|| KeyMapError::UnknownAction {
                name: name.clone(),
                known: Action::ALL.map(Action::name).join(", "),
            })?;
            let keys = key_names
                .iter()
                .map(|k| {
                    Key::parse(k).map_err(|reason| KeyMapError::BadKey {
                        action: name.clone(),
                        reason,
                    })
                })
                .collect::<Result<Vec<Key>, KeyMapError>>()?;
            map.bindings.insert(action, keys);
        }
        map.validate()?;
        Ok(map)
    }

    fn validate(&self) -> Result<(), KeyMapError> {
        for action in [Action::Disconnect, Action::Quit] {
            if self.keys(action).is_empty() {
                return Err(KeyMapError::NoKeys {
                    action: action.name(),
                });
            }
        }
        let mut owner: HashMap<Key, Action> = HashMap::new();
        for (&action, keys) in &self.bindings {
            for &key in keys {
                if let Some(why) = reserved(key) {
                    return Err(KeyMapError::Reserved {
                        action: action.name(),
                        key: key.to_string(),
                        why,
                    });
                }
                match owner.insert(key, action) {
                    Some(other) if other != action => {
                        let pair = [other, action];
                        if pair.contains(&Action::Disconnect) && pair.contains(&Action::EndCall) {
                            return Err(KeyMapError::DisconnectSharesEndCall {
                                key: key.to_string(),
                            });
                        }
                        return Err(KeyMapError::KeyBoundTwice {
                            key: key.to_string(),
                            first: other.name(),
                            second: action.name(),
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// The keys bound to an action (possibly none).
    pub fn keys(&self, action: Action) -> &[Key] {
        self.bindings.get(&action).map_or(&[], Vec::as_slice)
    }

    /// The action a key event asks for, if any.
    pub fn action_for(&self, event: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(event);
        self.bindings
            .iter()
            .find(|(_, keys)| keys.contains(&key))
            .map(|(&action, _)| action)
    }

    /// Whether the event is one of the action's keys.
    pub fn is(&self, action: Action, event: &KeyEvent) -> bool {
        self.keys(action).contains(&Key::from_event(event))
    }

    /// The first key of an action as text, for hints ("d"); `None` if unbound.
    pub fn label(&self, action: Action) -> Option<String> {
        self.keys(action).first().map(Key::to_string)
    }
}
