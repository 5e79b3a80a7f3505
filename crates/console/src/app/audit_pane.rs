//! The audit pane (`a`): my own presence of today from the journal, each
//! leg with its server times and how it ended, and the whole history of the
//! call selected in it. The runtime reads the journal off the UI task
//! ([`Effect::ReadJournal`], after the records queued before it are on
//! disk) and hands the records back ([`Input::JournalRead`]); the pane asks
//! again whenever a record of my own doing is written while it is open, so
//! it stays true while legs come and go.

use super::keymap::Action;
use super::{App, Effect};
use crate::audit::{Presence, Record, call_history, presence_history};
use crossterm::event::{KeyCode, KeyEvent};

/// What the pane shows.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditContent {
    /// The journal is being read.
    Loading,
    /// It could not be read; the text says why.
    Failed(String),
    Ready {
        /// My legs of today, oldest first.
        legs: Vec<Presence>,
        /// Today's records, for the selected call's history.
        records: Vec<Record>,
    },
}

/// The open pane.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPane {
    /// The selected leg (an index into the legs); the newest at first.
    selected: Option<usize>,
    content: AuditContent,
}

impl AuditPane {
    pub fn content(&self) -> &AuditContent {
        &self.content
    }

    pub fn selected(&self) -> Option<usize> {
        self.selected
    }

    /// The leg selected, when the journal is read and has one.
    pub fn selected_leg(&self) -> Option<&Presence> {
        match &self.content {
            AuditContent::Ready { legs, .. } => legs.get(self.selected?),
            _ => None,
        }
    }

    /// Every record of the selected leg's call, in journal order.
    pub fn call_history(&self) -> Vec<&Record> {
        match (&self.content, self.selected_leg()) {
            (AuditContent::Ready { records, .. }, Some(leg)) => call_history(records, &leg.call_id),
            _ => Vec::new(),
        }
    }

    fn len(&self) -> usize {
        match &self.content {
            AuditContent::Ready { legs, .. } => legs.len(),
            _ => 0,
        }
    }
}

impl App {
    pub fn audit_pane(&self) -> Option<&AuditPane> {
        self.audit_pane.as_ref()
    }

    /// `a`: opens the pane and asks for the journal.
    pub(super) fn open_audit_pane(&mut self) -> Vec<Effect> {
        self.audit_pane = Some(AuditPane {
            selected: None,
            content: AuditContent::Loading,
        });
        vec![Effect::ReadJournal]
    }

    /// Today's records arrived (or why they could not be read). The
    /// selection stays on its leg; at first it is the newest.
    pub(super) fn on_journal_read(&mut self, read: Result<Vec<Record>, String>) {
        let Some(pane) = &mut self.audit_pane else {
            return;
        };
        self.dirty = true;
        pane.content = match read {
            Ok(records) => {
                let me = self.me.as_ref().map_or("", |me| me.id.as_str());
                let legs = presence_history(&records, me);
                AuditContent::Ready { legs, records }
            }
            Err(why) => AuditContent::Failed(why),
        };
        let len = pane.len();
        pane.selected = match pane.selected {
            Some(at) if at < len => Some(at),
            _ => len.checked_sub(1),
        };
    }

    /// A key while the pane is open. Esc and the audit key close it, the
    /// row keys move in it; leaving, quitting and the rotation's keys go on
    /// to the key map (`None`), so they work as ever; the rest does nothing.
    pub(super) fn audit_pane_key(&mut self, key: &KeyEvent) -> Option<Vec<Effect>> {
        let action = self.settings.keymap.action_for(key);
        let Some(pane) = &mut self.audit_pane else {
            return None;
        };
        if key.code == KeyCode::Esc || action == Some(Action::AuditLog) {
            self.audit_pane = None;
            return Some(Vec::new());
        }
        let last = pane.len().checked_sub(1);
        let step = |by: isize| {
            let at = pane.selected.unwrap_or(0).saturating_add_signed(by);
            last.map(|last| at.min(last))
        };
        let selected = match action {
            Some(Action::Up) => step(-1),
            Some(Action::Down) => step(1),
            Some(Action::PageUp) => step(-5),
            Some(Action::PageDown) => step(5),
            Some(Action::Top) => last.map(|_| 0),
            Some(Action::Bottom) => last,
            Some(
                Action::Disconnect
                | Action::Quit
                | Action::Rotate
                | Action::NextCall
                | Action::PrevCall,
            ) => return None,
            _ => return Some(Vec::new()),
        };
        pane.selected = selected;
        Some(Vec::new())
    }

    /// After an update: while the pane is open, a record of my own doing
    /// (a join, a switch, a leave) means the pane is out of date.
    pub(super) fn refresh_audit_pane(&self, effects: &mut Vec<Effect>) {
        if self.audit_pane.is_some() && effects.iter().any(Effect::holds_frame) {
            effects.push(Effect::ReadJournal);
        }
    }
}
