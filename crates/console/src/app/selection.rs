//! The agents table's selection and scroll: the selection follows its agent
//! through sorts, filters and events, and stays on screen.

use super::layout::{self, Screen};
use super::{App, Severity};
use floorwalk_protocol::Timestamp;

impl App {
    pub(super) fn screen(&self) -> Option<Screen> {
        Screen::for_size(self.size.0, self.size.1)
    }

    /// How many table rows fit.
    pub(super) fn page(&self) -> usize {
        self.screen().map_or(1, |s| s.page())
    }

    /// After the view changed: find the selected agent again (or its
    /// neighbour when it left the view) and keep it on screen.
    pub(super) fn refresh_selection(&mut self) {
        let old = self.selected_index;
        let len = self.view.len();
        self.selected_index = self
            .selected
            .as_deref()
            .and_then(|id| self.view.position(id));
        if self.selected_index.is_none() {
            if len == 0 {
                self.selected = None;
            } else {
                self.select_index(old.unwrap_or(0).min(len - 1));
                return;
            }
        }
        self.keep_selection_visible();
    }

    pub(super) fn select_index(&mut self, index: usize) {
        match self.view.ids().get(index) {
            Some(id) => {
                self.selected = Some(id.clone());
                self.selected_index = Some(index);
            }
            None => {
                self.selected = None;
                self.selected_index = None;
            }
        }
        self.keep_selection_visible();
    }

    /// Selects an agent's row, when the table shows it.
    pub(super) fn select_agent(&mut self, agent_id: &str) {
        if let Some(index) = self.view.position(agent_id) {
            self.select_index(index);
        }
    }

    pub(super) fn keep_selection_visible(&mut self) {
        self.scroll = layout::scroll_for(
            self.selected_index,
            self.scroll,
            self.page(),
            self.view.len(),
        );
    }

    pub(super) fn move_selection(&mut self, by: isize) {
        let len = self.view.len();
        if len == 0 {
            return;
        }
        let from = self.selected_index.unwrap_or(0);
        let to = from.saturating_add_signed(by).min(len - 1);
        self.select_index(to);
    }

    /// `n`/`p`: the next or previous agent in the table who is on a call.
    pub(super) fn jump_to_call(&mut self, forward: bool, now: Timestamp) {
        let ids = self.view.ids();
        let len = ids.len();
        let start = self.selected_index.unwrap_or(if forward { len } else { 0 });
        let found = (1..=len)
            .map(|step| {
                if forward {
                    (start + step) % len
                } else {
                    (start + len * 2 - step) % len
                }
            })
            .find(|&i| self.floor.call_by_agent.contains_key(&ids[i]));
        match found {
            Some(index) => self.select_index(index),
            None => self.notify(Severity::Info, "No active calls in the table.", now),
        }
    }
}
