//! Keys and the mouse: push-to-talk first, then dialogs, then the filter
//! field, then the key map.

use super::commands::Notice;
use super::keymap::{Action, Key};
use super::rotation::stops_rotation;
use super::{App, Button, Dialog, Effect, Severity};
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use floorwalk_protocol::{Mode, Timestamp};
use std::time::Duration;

/// Rows the mouse wheel scrolls per notch.
const WHEEL_ROWS: usize = 3;

fn is_ctrl_c(key: &KeyEvent) -> bool {
    Key::from_event(key) == Key::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
}

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent, at: Duration, now: Timestamp) -> Vec<Effect> {
        if let Some(kind) = self.talk_route(&key) {
            self.on_talk(kind, at, now);
            return Vec::new();
        }
        // Releases matter only to push-to-talk.
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        self.dirty = true;
        if is_ctrl_c(&key) {
            return self.quit_now(now);
        }
        match self.dialog.clone() {
            Some(Dialog::Help) => {
                // Any key closes the help, and does nothing else.
                self.dialog = None;
                return Vec::new();
            }
            Some(Dialog::EndCall { call_id, focus, .. }) => {
                return self.end_call_dialog_key(&key, &call_id, focus, now);
            }
            Some(Dialog::Quit { focus, .. }) => return self.quit_dialog_key(&key, focus, now),
            Some(Dialog::Rejoin {
                call_id,
                mode,
                focus,
                ..
            }) => return self.rejoin_dialog_key(&key, (&call_id, mode), focus, now),
            None => {}
        }
        if let Some(effects) = self.audit_pane_key(&key) {
            return effects;
        }
        if self.filter_editing && self.filter_key(&key) {
            return Vec::new();
        }
        if key.code == KeyCode::Esc && key.modifiers.is_empty() {
            if !self.filter.is_empty() {
                self.set_filter(String::new());
            } else {
                self.notice = None;
            }
            return Vec::new();
        }
        match self.settings.keymap.action_for(&key) {
            Some(action) => self.act(action, now),
            None => Vec::new(),
        }
    }

    fn act(&mut self, action: Action, now: Timestamp) -> Vec<Effect> {
        let page = self.page();
        if stops_rotation(action) {
            self.stop_rotation(now);
        }
        match action {
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.move_selection(-(page as isize)),
            Action::PageDown => self.move_selection(page as isize),
            Action::Top => self.select_index(0),
            Action::Bottom => self.select_index(self.view.len().saturating_sub(1)),
            Action::Filter => self.filter_editing = true,
            Action::Sort => {
                let sort = self.view.sort().next();
                self.view.set_sort(&self.floor, sort);
                self.refresh_selection();
                self.notify(Severity::Info, format!("Sorted by {}.", sort.label()), now);
            }
            Action::Monitor => return self.join_selected(Mode::Silent, now),
            Action::Whisper => return self.join_selected(Mode::Whisper, now),
            Action::Barge => return self.join_selected(Mode::Barge, now),
            // Reached only when talking is not possible (see `App::talk_route`).
            Action::Talk => return self.talk_refused(now),
            Action::Disconnect => return self.leave_pressed(now),
            Action::EndCall => self.open_end_call(now),
            Action::NextCall if self.rotation.is_some() => return self.rotation_skip(true, now),
            Action::PrevCall if self.rotation.is_some() => return self.rotation_skip(false, now),
            Action::NextCall => self.jump_to_call(true, now),
            Action::PrevCall => self.jump_to_call(false, now),
            Action::Rotate => return self.rotate_pressed(now),
            Action::AuditLog => return self.open_audit_pane(),
            Action::Help => self.dialog = Some(Dialog::Help),
            Action::Quit => {
                let calls: Vec<String> = self.my_legs().map(|leg| leg.call_id.clone()).collect();
                if calls.is_empty() {
                    return self.quit_now(now);
                }
                self.dialog = Some(Dialog::Quit {
                    calls,
                    focus: Button::Confirm,
                });
            }
        }
        Vec::new()
    }

    /// Leaves every leg and quits (Ctrl-C, or a confirmed quit).
    fn quit_now(&mut self, now: Timestamp) -> Vec<Effect> {
        self.dialog = None;
        self.quitting = true;
        self.leave_all(now)
    }

    /// Keys inside the filter field; `false` when the key is not for it.
    fn filter_key(&mut self, key: &KeyEvent) -> bool {
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match key.code {
            KeyCode::Enter => self.filter_editing = false,
            KeyCode::Esc => {
                self.filter_editing = false;
                self.set_filter(String::new());
            }
            KeyCode::Backspace => {
                let mut text = self.filter.clone();
                text.pop();
                self.set_filter(text);
            }
            KeyCode::Char(c) if plain => {
                let mut text = self.filter.clone();
                text.push(c);
                self.set_filter(text);
            }
            _ => return false,
        }
        true
    }

    fn set_filter(&mut self, text: String) {
        self.view.set_filter(&self.floor, &text);
        self.filter = text;
        self.refresh_selection();
    }

    fn open_end_call(&mut self, now: Timestamp) {
        let allowed = self.me.as_ref().is_some_and(|me| me.can_end_calls);
        if !allowed {
            self.notify(
                Severity::Warn,
                "You are not allowed to end calls. To leave a call yourself, use leave.",
                now,
            );
            return;
        }
        let Some(call) = self.pane_call() else {
            self.notify(Severity::Info, "No call selected: nothing to end.", now);
            return;
        };
        self.dialog = Some(Dialog::EndCall {
            call_id: call.id.clone(),
            agent_name: self.agent_name(&call.agent_id),
            customer: call.customer.clone(),
            focus: Button::Cancel,
        });
    }

    /// The end-call dialog. Focus starts on Cancel; ending needs a move to
    /// the END CALL button then Enter, or typing 'y'. The disconnect key
    /// always cancels, so pressing it twice can never end a call.
    fn end_call_dialog_key(
        &mut self,
        key: &KeyEvent,
        call_id: &str,
        focus: Button,
        now: Timestamp,
    ) -> Vec<Effect> {
        // The end-call key pressed again never confirms, whatever it is bound to.
        if self.settings.keymap.is(Action::EndCall, key) {
            return Vec::new();
        }
        let cancelled = "Cancelled: the call was not ended.";
        self.confirmation_key(key, focus, cancelled, now, |app, now| {
            app.end_call(call_id, now)
        })
    }

    /// The rejoin dialog: the customer will hear the monitoring notice.
    /// Focus starts on Cancel; joining needs a move to the button then
    /// Enter, or typing 'y'. The disconnect key cancels.
    fn rejoin_dialog_key(
        &mut self,
        key: &KeyEvent,
        (call_id, mode): (&str, Mode),
        focus: Button,
        now: Timestamp,
    ) -> Vec<Effect> {
        let cancelled = format!("Cancelled: you did not rejoin {call_id}.");
        self.confirmation_key(key, focus, &cancelled, now, |app, now| {
            app.join_call(call_id, mode, Notice::Confirmed, now)
        })
    }

    /// The keys of a dialog that asks before doing something: 'y', or Enter
    /// on the confirm button, confirms; 'n', Esc, Enter on Cancel and the
    /// disconnect key cancel (saying `cancelled`); Tab and the arrows move
    /// the focus. Held keys repeat, and confirming must be a deliberate press.
    fn confirmation_key(
        &mut self,
        key: &KeyEvent,
        focus: Button,
        cancelled: &str,
        now: Timestamp,
        confirm: impl FnOnce(&mut App, Timestamp) -> Vec<Effect>,
    ) -> Vec<Effect> {
        if key.kind == KeyEventKind::Repeat {
            return Vec::new();
        }
        let cancel = |app: &mut App, now| {
            app.dialog = None;
            app.notify(Severity::Info, cancelled, now);
            Vec::new()
        };
        if self.settings.keymap.is(Action::Disconnect, key) {
            return cancel(self, now);
        }
        match (key.code, focus) {
            (KeyCode::Esc | KeyCode::Char('n' | 'N'), _) | (KeyCode::Enter, Button::Cancel) => {
                cancel(self, now)
            }
            (KeyCode::Char('y' | 'Y'), _) | (KeyCode::Enter, Button::Confirm) => {
                self.dialog = None;
                confirm(self, now)
            }
            (KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right, _) => {
                if let Some(Dialog::EndCall { focus, .. } | Dialog::Rejoin { focus, .. }) =
                    &mut self.dialog
                {
                    *focus = focus.other();
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn quit_dialog_key(&mut self, key: &KeyEvent, focus: Button, now: Timestamp) -> Vec<Effect> {
        let quit_again = self.settings.keymap.is(Action::Quit, key);
        match (key.code, focus) {
            (KeyCode::Char('y' | 'Y'), _) | (KeyCode::Enter, Button::Confirm) => self.quit_now(now),
            _ if quit_again => self.quit_now(now),
            (KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right, _) => {
                if let Some(Dialog::Quit { focus, .. }) = &mut self.dialog {
                    *focus = focus.other();
                }
                Vec::new()
            }
            (KeyCode::Esc | KeyCode::Char('n' | 'N'), _) | (KeyCode::Enter, Button::Cancel) => {
                self.dialog = None;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn on_mouse(&mut self, mouse: MouseEvent) {
        let Some(screen) = self.screen() else {
            return;
        };
        if self.dialog.is_some() || self.audit_pane.is_some() {
            return;
        }
        match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(row) = screen.table_row_at(mouse.column, mouse.row) {
                    let index = self.scroll + row;
                    if index < self.view.len() {
                        self.select_index(index);
                        self.dirty = true;
                    }
                }
            }
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let page = screen.page();
                let max = self.view.len().saturating_sub(page);
                self.scroll = if mouse.kind == MouseEventKind::ScrollDown {
                    (self.scroll + WHEEL_ROWS).min(max)
                } else {
                    self.scroll.saturating_sub(WHEEL_ROWS)
                };
                // Keep the selection on screen as the view scrolls past it.
                if let Some(sel) = self.selected_index {
                    let last = (self.scroll + page).min(self.view.len()).saturating_sub(1);
                    let clamped = sel.clamp(self.scroll, last.max(self.scroll));
                    if clamped != sel {
                        self.select_index(clamped);
                    }
                }
                self.dirty = true;
            }
            _ => {}
        }
    }

    pub(super) fn key_label(&self, action: Action) -> String {
        self.settings
            .keymap
            .label(action)
            .unwrap_or_else(|| format!("the {} key (unbound)", action.name()))
    }
}
