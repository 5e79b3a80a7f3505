//! Dialogs over the dashboard: help, end call, quit, rejoin.

use super::format;
use super::theme::Theme;
use crate::app::{Action, App, AudioOut, Button, Dialog};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph, Wrap};

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    match app.dialog() {
        None => {}
        Some(Dialog::Help) => help(frame, app, theme, area),
        Some(Dialog::EndCall {
            call_id,
            agent_name,
            customer,
            focus,
        }) => {
            let customer = format::customer_shown(customer, app.settings().reveal_customer_numbers);
            let leave = app
                .settings()
                .keymap
                .label(Action::Disconnect)
                .unwrap_or_default();
            let lines = vec![
                Line::styled(
                    format!("Call {call_id} · {agent_name} · customer {customer}"),
                    theme.bold(),
                ),
                Line::default(),
                Line::from(vec![
                    Span::raw("This "),
                    Span::styled("ENDS THE CALL FOR EVERYONE", theme.danger()),
                    Span::raw(": the customer, the agent and every supervisor on it are cut off."),
                ]),
                Line::raw(format!("To leave only yourself, cancel and press {leave}.")),
                Line::default(),
                buttons(theme, *focus, "Cancel", "END CALL FOR EVERYONE"),
            ];
            boxed(frame, theme, area, " End call for everyone? ", lines, 64);
        }
        Some(Dialog::Quit { calls, focus }) => {
            let calls = calls.join(", ");
            let lines = vec![
                Line::styled(format!("Leave call {calls} and quit?"), theme.bold()),
                Line::raw("Your leg is dropped; the call goes on."),
                Line::default(),
                buttons(theme, *focus, "Stay", "Leave and quit"),
            ];
            boxed(frame, theme, area, " Quit ", lines, 48);
        }
        Some(Dialog::Rejoin {
            call_id,
            agent_name,
            mode,
            focus,
        }) => {
            let mode = mode.to_string().to_uppercase();
            let lines = vec![
                Line::styled(
                    format!("Rejoin call {call_id} · {agent_name} in {mode}?"),
                    theme.bold(),
                ),
                Line::default(),
                Line::raw(format!(
                    "You were on this call before. The compliance rule for it wants an \
                     announcement when you rejoin in {mode}:"
                )),
                Line::from(vec![
                    Span::raw("the "),
                    Span::styled("customer will hear the monitoring notice", theme.danger()),
                    Span::raw(" as you join."),
                ]),
                Line::default(),
                buttons(theme, *focus, "Cancel", "JOIN WITH NOTICE"),
            ];
            boxed(frame, theme, area, " Rejoin with announcement? ", lines, 64);
        }
    }
}

fn buttons<'a>(theme: &Theme, focus: Button, cancel: &str, confirm: &str) -> Line<'a> {
    let button = |text: &str, focused: bool, style| {
        if focused {
            Span::styled(format!("▶ {text} ◀"), theme.selected().patch(style))
        } else {
            Span::styled(format!("[ {text} ]"), style)
        }
    };
    Line::from(vec![
        Span::raw("  "),
        button(cancel, focus == Button::Cancel, theme.bold()),
        Span::raw("     "),
        button(confirm, focus == Button::Confirm, theme.danger()),
    ])
}

/// A bordered box in the middle of `area`, cleared underneath, with room for
/// the lines (wrapped) if the terminal has it.
fn boxed(frame: &mut Frame, theme: &Theme, area: Rect, title: &str, lines: Vec<Line>, width: u16) {
    let width = width.min(area.width);
    let inner_width = usize::from(width.saturating_sub(4)).max(1);
    let wrapped: usize = lines
        .iter()
        .map(|line| line.width().max(1).div_ceil(inner_width))
        .sum();
    let height = u16::try_from(wrapped + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .padding(Padding::horizontal(1))
        .title(Line::styled(title.to_owned(), theme.title()));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

/// The `?` overlay, generated from the live key map.
fn help(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let keymap = &app.settings().keymap;
    let mut lines = Vec::new();
    let row = |keys: String, text: &str, dangerous: bool| {
        let style = if dangerous {
            theme.danger()
        } else {
            theme.plain()
        };
        let mark = if dangerous { "! " } else { "  " };
        Line::from(vec![
            Span::styled(format!("{keys:<14}"), theme.key()),
            Span::styled(format!("{mark}{text}"), style),
        ])
    };
    let keys_of = |action: Action| {
        let keys: Vec<String> = keymap
            .keys(action)
            .iter()
            .map(ToString::to_string)
            .collect();
        if keys.is_empty() {
            "(unbound)".to_owned()
        } else {
            keys.join(" ")
        }
    };
    // The moves come in pairs, one row each, so everything fits 24 rows.
    let pairs = [
        (Action::Up, Action::Down),
        (Action::PageUp, Action::PageDown),
        (Action::Top, Action::Bottom),
    ];
    for action in Action::ALL {
        if pairs.iter().any(|(_, second)| *second == action) {
            continue;
        }
        let (keys, text) = match pairs.iter().find(|(first, _)| *first == action) {
            Some((first, second)) => (
                format!("{} / {}", keys_of(*first), keys_of(*second)),
                format!("{} / {}", first.description(), second.description()),
            ),
            None if action == Action::Talk => (
                keys_of(action),
                format!("{} · {}", action.description(), app.ptt_mode().as_str()),
            ),
            None => (keys_of(action), action.description().to_owned()),
        };
        lines.push(row(keys, &text, action.dangerous()));
    }
    lines.push(row(
        "esc / y".into(),
        "close a dialog, clear the filter / y: confirm (rejoin)",
        false,
    ));
    lines.push(row(
        "ctrl-c".into(),
        "quit at once (leaves your calls first)",
        false,
    ));
    lines.push(row(
        "mouse".into(),
        "click selects a row, the wheel scrolls",
        false,
    ));
    let settings = app.settings();
    let (audio, _) = format::audio_output(&settings.audio_output, app.audio_out());
    let mut about = format!("audio: {audio}");
    // Why a device failed at start is told here (and in the log).
    if let AudioOut::Failed { reason } = app.audio_out() {
        about.push_str(&format!(" ({reason})"));
    }
    if !settings.server_label.is_empty() {
        about = format!("server: {} · {about}", settings.server_label);
    }
    lines.push(Line::styled(about, theme.dim()));
    boxed(frame, theme, area, " Keys · any key closes ", lines, 78);
}
