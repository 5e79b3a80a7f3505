//! The audit pane over the table and the call pane: my legs of today, each
//! with its join and leave (server times; `*` marks the console's clock
//! where the server gave none), time present, how it ended and its modes;
//! under them, the whole history of the selected leg's call.

use super::theme::Theme;
use crate::app::layout::Screen;
use crate::app::{App, AuditContent, AuditPane};
use crate::audit::{Presence, Record, format_duration};
use floorwalk_protocol::{Mode, Timestamp};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

/// The time of day (UTC) of an event: the server's, else the console's,
/// marked `*`.
fn time_of_day(at: Timestamp, server: bool) -> String {
    let in_day = at.millis().rem_euclid(86_400_000) / 1000;
    let mark = if server { "" } else { "*" };
    format!(
        "{:02}:{:02}:{:02}{mark}",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    )
}

fn cut(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, screen: &Screen, now: Timestamp) {
    let Some(pane) = app.audit_pane() else {
        return;
    };
    let area = Rect::new(
        screen.table.x,
        screen.table.y,
        screen.table.width,
        screen.table.height + screen.pane.height,
    );
    frame.render_widget(Clear, area);
    let title = " My audit log · today (UTC) · esc closes ";
    let block = Block::bordered().title(Line::styled(title, theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = match pane.content() {
        AuditContent::Loading => vec![Line::styled(" Reading the journal…", theme.dim())],
        AuditContent::Failed(why) => vec![Line::styled(
            format!(" Cannot read the audit journal: {why}"),
            theme.level(crate::app::Severity::Error),
        )],
        AuditContent::Ready { legs, .. } if legs.is_empty() => vec![Line::styled(
            " No presence of yours in today's journal yet.",
            theme.dim(),
        )],
        AuditContent::Ready { legs, .. } => ready(app, pane, legs, theme, inner, now),
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

fn ready<'a>(
    app: &App,
    pane: &AuditPane,
    legs: &[Presence],
    theme: &Theme,
    inner: Rect,
    now: Timestamp,
) -> Vec<Line<'a>> {
    let width = usize::from(inner.width);
    let height = usize::from(inner.height);
    // The legs take up to half the rows (a header and at least one leg),
    // the selected call's history the rest.
    let list_rows = legs.len().min((height / 2).saturating_sub(1)).max(1);
    let selected = pane.selected().unwrap_or(0);
    let first = (selected + 1).saturating_sub(list_rows);
    let modes_width = width.saturating_sub(64).max(6);
    let mut lines = vec![Line::styled(
        format!(
            "  {:<9} {:<9} {:<7} {:<7} {:<11} {:<13} MODES",
            "JOINED", "LEFT", "TIME", "CALL", "AGENT", "ENDED"
        ),
        theme.bold(),
    )];
    let server_now = app.server_now(now);
    for (index, leg) in legs.iter().enumerate().skip(first).take(list_rows) {
        let left = leg
            .left_at
            .map_or_else(|| "—".to_owned(), |at| time_of_day(at, true));
        let modes: Vec<&str> = leg.modes.iter().map(|(_, mode)| mode.as_str()).collect();
        let modes = format!(
            "{}{}",
            if leg.rotation { "⟳ " } else { "" },
            modes.join("→")
        );
        let text = format!(
            "{} {:<9} {:<9} {:<7} {:<7} {:<11} {:<13} {}",
            if index == selected { "▶" } else { " " },
            time_of_day(leg.joined_at, leg.server_time),
            left,
            format_duration(leg.duration_ms(server_now)),
            cut(&leg.call_id, 7),
            cut(leg.agent.as_deref().unwrap_or("—"), 11),
            leg.end.words(),
            cut(&modes, modes_width),
        );
        let style = if index == selected {
            theme.selected()
        } else {
            theme.plain()
        };
        lines.push(Line::styled(text, style));
    }
    let Some(leg) = pane.selected_leg() else {
        return lines;
    };
    let room = height.saturating_sub(lines.len() + 1);
    let history = pane.call_history();
    lines.push(Line::styled(
        cut(
            &format!(
                "─ History of {} ({} record{}) {}",
                leg.call_id,
                history.len(),
                if history.len() == 1 { "" } else { "s" },
                "─".repeat(width)
            ),
            width,
        ),
        theme.dim(),
    ));
    let me = app.me().map(|me| me.id.as_str());
    // The latest records when not all fit.
    let skip = history.len().saturating_sub(room);
    lines.extend(
        history
            .into_iter()
            .skip(skip)
            .map(|record| Line::from(Span::raw(cut(&history_line(record, me), width)))),
    );
    lines
}

/// One record of a call's history: time, kind, mode and what else it says.
fn history_line(record: &Record, me: Option<&str>) -> String {
    let time = time_of_day(
        record.server_at.unwrap_or(record.at),
        record.server_at.is_some(),
    );
    let mode = record.mode.map_or("", Mode::as_str);
    let mut details: Vec<String> = Vec::new();
    if Some(record.supervisor.as_str()) != me {
        details.push(format!("by {}", record.supervisor));
    }
    details.extend(record.leg_id.clone());
    details.extend(record.latency_ms.map(|ms| format!("{ms} ms")));
    details.extend(record.reason.clone());
    format!(
        "  {time:<9} {:<20} {mode:<7} {}",
        record.kind.as_str(),
        details.join(" · ")
    )
}
