//! When a frame would differ from the last one drawn: something changed
//! (`dirty`), or time moved something on screen (a timer's second, an
//! agent's minutes in state, the reconnect countdown, a highlight or notice
//! expiring). An idle floor costs no frames.

use super::{App, Link, age_minutes};
use floorwalk_protocol::Timestamp;

/// The time-dependent things on screen, to know when a frame would differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Visible {
    server_second: Option<i64>,
    ages: Option<i64>,
    retry_tenths: Option<i64>,
    flashes: usize,
    notice: bool,
    /// The rotation's countdown to its next hop.
    rotation_secs: Option<i64>,
}

impl App {
    /// Whether a frame drawn now would differ from the last one drawn.
    pub fn needs_redraw(&self, now: Timestamp) -> bool {
        self.dirty || self.drawn.as_ref() != Some(&self.visible(now))
    }

    /// Tells the app a frame was drawn at `now` (call after `terminal.draw`).
    pub fn mark_drawn(&mut self, now: Timestamp) {
        self.dirty = false;
        self.drawn = Some(self.visible(now));
    }

    fn visible(&self, now: Timestamp) -> Visible {
        let server_now = self.server_now(now).millis();
        let timers = !self.floor.calls.is_empty() || !self.mine.is_empty();
        let wide = self.screen().is_some_and(|s| s.wide());
        let retry_tenths = match &self.link {
            Link::Connecting { retry_at, .. } if *retry_at > now => {
                Some(retry_at.millis_since(now).div_euclid(100))
            }
            _ => None,
        };
        // The wide table shows each agent's minutes in its state: their sum
        // over the rows on screen changes exactly when one of them does.
        let ages = wide.then(|| {
            let end = (self.scroll + self.page()).min(self.view.len());
            self.view.ids()[self.scroll.min(end)..end]
                .iter()
                .filter_map(|id| self.floor.agents.get(id))
                .map(|agent| age_minutes(Timestamp(server_now), agent.state_since))
                .sum()
        });
        Visible {
            server_second: timers.then(|| server_now.div_euclid(1000)),
            ages,
            retry_tenths,
            flashes: self
                .flashes
                .values()
                .filter(|(_, until)| *until > now)
                .count(),
            notice: self.notice.as_ref().is_some_and(|n| n.live(now)),
            rotation_secs: self.rotation().and_then(|r| r.next_in_secs(now)),
        }
    }
}
