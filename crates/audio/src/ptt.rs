//! Push-to-talk in a terminal, as one pure state machine.
//!
//! Holding a key needs key-release events, which only terminals speaking the
//! kitty keyboard protocol send; tmux and mosh drop them. So there are three
//! ways to read the key:
//! - `Native`: press starts, release stops.
//! - `Repeat`: the key's auto-repeat stream means "held"; a gap longer than
//!   the repeat interval means it was let go (the first repeat comes later,
//!   after the keyboard's repeat delay, so the first gap allowed is longer).
//! - `Toggle`: press to talk, press again to stop.
//!
//! `Auto` starts with native when the terminal says it reports releases, else
//! with repeat timing, switches to native when a release is seen, and falls
//! back to repeat timing when releases do not come after all (tmux). Any
//! transmission stops after `max_talk`, so a lost release cannot leave the
//! microphone on. Time is passed in; nothing here does I/O.

use std::str::FromStr;
use std::time::Duration;

/// The configured way of reading the push-to-talk key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PttSetting {
    #[default]
    Auto,
    Native,
    Repeat,
    Toggle,
}

impl FromStr for PttSetting {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "native" => Ok(Self::Native),
            "repeat" => Ok(Self::Repeat),
            "toggle" => Ok(Self::Toggle),
            other => Err(format!(
                "unknown push-to-talk mode {other:?}: expected auto, native, repeat or toggle"
            )),
        }
    }
}

/// The way in use right now (what the status bar shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PttMode {
    Native,
    Repeat,
    Toggle,
}

impl PttMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PttMode::Native => "hold",
            PttMode::Repeat => "hold (repeat)",
            PttMode::Toggle => "toggle",
        }
    }
}

/// What the terminal reported about the push-to-talk key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Press,
    /// An auto-repeat the terminal marked as such (kitty protocol). Legacy
    /// terminals send repeats as presses.
    Repeat,
    Release,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PttConfig {
    pub setting: PttSetting,
    /// For `Auto`: whether the terminal confirmed it reports key releases.
    pub releases_expected: bool,
    /// The longest gap between two auto-repeats of a held key.
    pub repeat_gap: Duration,
    /// The longest wait for the first auto-repeat after the press.
    pub first_repeat_delay: Duration,
    /// A transmission stops after this long, whatever the key does.
    pub max_talk: Duration,
}

impl Default for PttConfig {
    fn default() -> Self {
        Self {
            setting: PttSetting::Auto,
            releases_expected: false,
            // Auto-repeat runs at 10-50 Hz: 150 ms covers the slowest with room.
            repeat_gap: Duration::from_millis(150),
            // Repeat delays are 250-660 ms on common systems.
            first_repeat_delay: Duration::from_millis(750),
            max_talk: Duration::from_secs(120),
        }
    }
}

/// A change of the transmit state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PttChange {
    Started,
    Stopped(StopReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The key was released (native).
    Released,
    /// The key's repeats stopped (repeat timing).
    ReleaseInferred,
    /// Pressed again (toggle).
    Toggled,
    /// Talked for longer than `max_talk`.
    TimedOut,
    /// Stopped by the app (leaving the call, going silent).
    Cancelled,
}

#[derive(Debug, Clone, Copy)]
struct Talk {
    since: Duration,
    last_event: Duration,
    repeats_seen: bool,
}

/// The push-to-talk state machine.
#[derive(Debug, Clone)]
pub struct Ptt {
    config: PttConfig,
    mode: PttMode,
    talk: Option<Talk>,
    /// The key as it may still be held physically (last event, repeats
    /// seen), to tell a toggle's auto-repeat from a new press.
    hold: Option<(Duration, bool)>,
    /// After a time-out, the key may still be held: ignore it until it stops.
    muted_hold: Option<Duration>,
}

impl Ptt {
    pub fn new(config: PttConfig) -> Self {
        let mode = match config.setting {
            PttSetting::Native => PttMode::Native,
            PttSetting::Repeat => PttMode::Repeat,
            PttSetting::Toggle => PttMode::Toggle,
            PttSetting::Auto if config.releases_expected => PttMode::Native,
            PttSetting::Auto => PttMode::Repeat,
        };
        Self {
            config,
            mode,
            talk: None,
            hold: None,
            muted_hold: None,
        }
    }

    pub fn mode(&self) -> PttMode {
        self.mode
    }

    pub fn is_transmitting(&self) -> bool {
        self.talk.is_some()
    }

    fn auto(&self) -> bool {
        self.config.setting == PttSetting::Auto
    }

    /// A push-to-talk key event at `now`.
    pub fn key(&mut self, kind: KeyKind, now: Duration) -> Option<PttChange> {
        let hold = self.hold;
        if kind == KeyKind::Release {
            self.hold = None;
            self.muted_hold = None;
            if self.auto() && self.mode == PttMode::Repeat {
                self.mode = PttMode::Native;
            }
            return match self.mode {
                PttMode::Toggle => None,
                PttMode::Native | PttMode::Repeat => self.stop(StopReason::Released),
            };
        }
        if let Some(last) = self.muted_hold {
            if now.saturating_sub(last) <= self.config.repeat_gap {
                self.muted_hold = Some(now);
                return None;
            }
            self.muted_hold = None;
        }
        // Within the repeat allowance of the previous event (and with no
        // release between) a press is the key's auto-repeat.
        let repeat = kind == KeyKind::Repeat
            || hold.is_some_and(|(last, repeats_seen)| {
                now.saturating_sub(last) <= self.allowance(repeats_seen)
            });
        self.hold = Some((now, repeat));
        if self.mode == PttMode::Toggle {
            // So toggling off within `first_repeat_delay` of toggling on is
            // read as the key still being held: the price of legacy terminals.
            if repeat {
                return None;
            }
            return if self.talk.is_some() {
                self.stop(StopReason::Toggled)
            } else {
                self.start(now)
            };
        }
        match &mut self.talk {
            Some(talk) => {
                talk.last_event = now;
                talk.repeats_seen = true;
                // Under the kitty protocol a held key repeats as `Repeat`;
                // a second press means the release never came.
                if kind == KeyKind::Press && self.mode == PttMode::Native && self.auto() {
                    self.mode = PttMode::Repeat;
                }
                None
            }
            // A repeat with nothing held is the tail of a stopped hold.
            None if kind == KeyKind::Repeat => None,
            None => self.start(now),
        }
    }

    /// Time passing: infers releases and stops stuck transmissions.
    pub fn tick(&mut self, now: Duration) -> Option<PttChange> {
        let talk = self.talk?;
        if now.saturating_sub(talk.since) >= self.config.max_talk {
            self.muted_hold = Some(talk.last_event);
            return self.stop(StopReason::TimedOut);
        }
        let infers = match self.mode {
            PttMode::Repeat => true,
            // Native under `auto` is on trial until releases prove it.
            PttMode::Native => self.auto(),
            PttMode::Toggle => false,
        };
        if infers && now.saturating_sub(talk.last_event) > self.allowance(talk.repeats_seen) {
            if self.mode == PttMode::Native {
                self.mode = PttMode::Repeat;
            }
            return self.stop(StopReason::ReleaseInferred);
        }
        None
    }

    /// The longest silence of a held key: the repeat delay before its first
    /// repeat, the repeat interval after.
    fn allowance(&self, repeats_seen: bool) -> Duration {
        if repeats_seen {
            self.config.repeat_gap
        } else {
            self.config.first_repeat_delay
        }
    }

    /// Stops transmitting at once (leaving the call, going silent).
    pub fn cancel(&mut self) -> Option<PttChange> {
        self.stop(StopReason::Cancelled)
    }

    fn start(&mut self, now: Duration) -> Option<PttChange> {
        self.talk = Some(Talk {
            since: now,
            last_event: now,
            repeats_seen: false,
        });
        Some(PttChange::Started)
    }

    fn stop(&mut self, reason: StopReason) -> Option<PttChange> {
        self.talk.take().map(|_| PttChange::Stopped(reason))
    }
}

#[cfg(test)]
mod tests;
