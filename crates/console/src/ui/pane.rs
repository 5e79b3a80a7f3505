//! The call pane: the parties of the selected call, my presence row with
//! the leave key, and, apart from it at the bottom, the end-call row.

use super::format;
use super::theme::Theme;
use crate::app::layout::Screen;
use crate::app::{Action, App, LegStatus, Mic, Severity, state_label};
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_protocol::{Call, Direction, Mode, Role, Timestamp};
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

const LABEL: usize = 10;

fn label(text: &str) -> String {
    format!(" {text:<LABEL$}")
}

fn shout(mode: Mode) -> String {
    mode.as_str().to_uppercase()
}

pub fn call(frame: &mut Frame, app: &App, theme: &Theme, screen: &Screen, now: Timestamp) {
    let Some(call) = app.pane_call() else {
        empty(frame, app, theme, screen);
        return;
    };
    let floor = app.floor();
    let agent_name = floor
        .agents
        .get(&call.agent_id)
        .map_or(call.agent_id.as_str(), |a| a.name.as_str());
    let mut title = format!(" Call {} · {agent_name} · ", call.id);
    title.push_str(match call.direction {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
        Direction::Unknown => "direction unknown",
    });
    if call.recording {
        title.push_str(" · recording");
    }
    if call.on_hold {
        title.push_str(" · ON HOLD");
    }
    title.push(' ');
    let block = Block::bordered().title(Line::styled(title, theme.title()));
    let inner = block.inner(screen.pane);
    let server_now = app.server_now(now);

    // Meters only for the call whose audio plays.
    let meters = (app.listening_call() == Some(call.id.as_str())).then(|| app.meters());
    let customer = format::customer_shown(&call.customer, app.settings().reveal_customer_numbers);
    let mut head = vec![
        party(theme, "customer", customer, meters.map(|m| m.customer)),
        party(
            theme,
            "agent",
            agent_name.to_owned(),
            meters.map(|m| m.agent),
        ),
    ];
    if let Some(others) = others(app, theme, call) {
        head.push(others);
    }
    let you = presence(app, theme, call, server_now);
    let end_row = end_call_row(app, theme);

    // The presence row and the end-call row always show; the rest fits
    // around them, the end-call row kept at the bottom, away from the other.
    let height = usize::from(inner.height);
    let reserved = 1 + usize::from(end_row.is_some());
    let head_count = head.len().min(height.saturating_sub(reserved));
    let room = height.saturating_sub(reserved + head_count);
    let mut lines: Vec<Line> = head.into_iter().take(head_count).collect();
    lines.push(you);
    lines.extend(transcript(app, theme, call, room));
    if let Some(end_row) = end_row {
        while lines.len() + 1 < height {
            lines.push(Line::default());
        }
        lines.push(end_row);
    }
    frame.render_widget(Paragraph::new(lines).block(block), screen.pane);
}

fn empty(frame: &mut Frame, app: &App, theme: &Theme, screen: &Screen) {
    let floor = app.floor();
    let text = match app.selected_agent().and_then(|id| floor.agents.get(id)) {
        Some(agent) => {
            let next = app
                .settings()
                .keymap
                .label(Action::NextCall)
                .map(|k| format!(" Press {k} for the next call."))
                .unwrap_or_default();
            format!(
                " {} is {}: no call.{next}",
                agent.name,
                state_label(agent.state)
            )
        }
        None => " No agent selected.".to_owned(),
    };
    let block = Block::bordered().title(Line::styled(" Call ", theme.title()));
    frame.render_widget(
        Paragraph::new(Line::styled(text, theme.dim())).block(block),
        screen.pane,
    );
}

/// Where the party meters start: after the label and a customer number.
const NAME: usize = 18;

/// A party's row: label, name, and its level meter while I listen.
fn party<'a>(theme: &Theme, role: &str, name: String, cells: Option<u8>) -> Line<'a> {
    let mut spans = vec![Span::styled(label(role), theme.dim())];
    match cells {
        Some(cells) => {
            spans.push(Span::raw(format!("{name:<NAME$}  ")));
            spans.push(Span::styled(format::meter(cells), theme.meter()));
        }
        None => spans.push(Span::raw(name)),
    }
    Line::from(spans)
}

/// Other supervisors and bots on the call, on one line.
fn others<'a>(app: &App, theme: &Theme, call: &'a Call) -> Option<Line<'a>> {
    let me = app.me().map(|me| me.id.as_str());
    let mut spans = vec![Span::styled(label("also"), theme.dim())];
    for leg in &call.legs {
        let text = match leg.role {
            Role::Supervisor if leg.user_id.as_deref() != me || me.is_none() => {
                format!("{} {}", leg.name, shout(leg.mode.unwrap_or(Mode::Silent)))
            }
            Role::Bot => format!("{} (bot)", leg.name),
            _ => continue,
        };
        if spans.len() > 1 {
            spans.push(Span::raw(" · "));
        }
        spans.push(Span::styled(text, theme.others()));
    }
    (spans.len() > 1).then(|| Line::from(spans))
}

/// My presence row: my mode, my time on the call and the leave key.
fn presence<'a>(app: &App, theme: &Theme, call: &Call, server_now: Timestamp) -> Line<'a> {
    let keymap = &app.settings().keymap;
    let key = |action: Action| keymap.label(action).unwrap_or_else(|| "?".into());
    let mut spans = vec![Span::styled(label("you"), theme.mine())];
    let leave = |spans: &mut Vec<Span<'a>>| {
        spans.push(Span::raw("   "));
        spans.push(Span::styled(
            format!("[{}]", key(Action::Disconnect)),
            theme.key(),
        ));
        spans.push(Span::raw(" leave call (the call goes on)"));
    };
    match (app.my_leg_on(&call.id), app.joining(&call.id)) {
        (Some(leg), _) => {
            let timer = format::clock(format::elapsed_secs(server_now, leg.joined_at));
            match leg.status {
                LegStatus::On | LegStatus::Gone => {
                    spans.push(Span::styled(
                        format!("{:<8}", shout(leg.mode)),
                        theme.mode(leg.mode),
                    ));
                    spans.push(Span::raw(format!(" {timer}")));
                    microphone(app, theme, &mut spans);
                    leave(&mut spans);
                }
                LegStatus::Switching { to } => {
                    spans.push(Span::styled(
                        format!("{} → {}…", shout(leg.mode), shout(to)),
                        theme.mode(to),
                    ));
                    spans.push(Span::raw(format!(" {timer}")));
                    microphone(app, theme, &mut spans);
                    leave(&mut spans);
                }
                LegStatus::Leaving => {
                    spans.push(Span::styled("LEAVING…", theme.mine()));
                    spans.push(Span::raw(
                        "  microphone off, waiting for the server to confirm",
                    ));
                }
            }
        }
        (None, Some(mode)) => {
            spans.push(Span::styled(
                format!("JOINING {}…", shout(mode)),
                theme.mine(),
            ));
            spans.push(Span::raw("  waiting for the server"));
        }
        (None, None) => {
            spans.push(Span::styled("not on this call", theme.dim()));
            for (action, what) in [
                (Action::Monitor, "listen"),
                (Action::Whisper, "whisper"),
                (Action::Barge, "barge"),
            ] {
                if let Some(k) = keymap.label(action) {
                    spans.push(Span::raw("   "));
                    spans.push(Span::styled(format!("[{k}]"), theme.key()));
                    spans.push(Span::raw(format!(" {what}")));
                }
            }
        }
    }
    Line::from(spans)
}

/// My microphone on the presence row, while it may be open: its meter,
/// ON AIR while push-to-talk is on, or why it cannot be used.
fn microphone<'a>(app: &App, theme: &Theme, spans: &mut Vec<Span<'a>>) {
    if !app.mic_allowed() {
        return;
    }
    spans.push(Span::raw("  "));
    if let Mic::Failed { .. } = app.mic() {
        spans.push(Span::styled("mic failed", theme.level(Severity::Warn)));
        return;
    }
    if app.settings().audio_input == Endpoint::None {
        spans.push(Span::styled("no mic", theme.dim()));
        return;
    }
    if app.on_air().is_some() {
        spans.push(Span::styled("ON AIR", theme.on_air()));
    } else {
        spans.push(Span::styled("mic   ", theme.dim()));
    }
    spans.push(Span::raw(" "));
    spans.push(Span::styled(
        format::meter(app.meters().microphone),
        theme.meter(),
    ));
}

/// "[E] END CALL FOR EVERYONE…", only for supervisors allowed to end calls.
fn end_call_row<'a>(app: &App, theme: &Theme) -> Option<Line<'a>> {
    if !app.me().is_some_and(|me| me.can_end_calls) {
        return None;
    }
    let key = app.settings().keymap.label(Action::EndCall)?;
    Some(Line::from(vec![
        Span::styled(label("call"), theme.dim()),
        Span::styled(format!("[{key}] END CALL FOR EVERYONE…"), theme.danger()),
    ]))
}

/// The latest `room` transcript lines of the call.
fn transcript<'a>(app: &'a App, theme: &Theme, call: &'a Call, room: usize) -> Vec<Line<'a>> {
    let Some(lines) = app.floor().transcripts.get(&call.id) else {
        return Vec::new();
    };
    let skip = lines.len().saturating_sub(room);
    lines
        .iter()
        .skip(skip)
        .map(|line| {
            let speaker = match call.leg(&line.leg_id) {
                Some(leg) if leg.role == Role::Customer => "customer".to_owned(),
                Some(leg) if leg.role == Role::Agent => "agent".to_owned(),
                Some(leg) => format::short_name(&leg.name),
                None => "(left)".to_owned(),
            };
            let mark = if line.is_final { "" } else { "…" };
            let style = if line.is_final {
                theme.plain()
            } else {
                theme.dim()
            };
            Line::from(vec![
                Span::styled(label(&speaker), theme.dim()),
                Span::styled(format!("“{}{mark}”", line.text), style),
            ])
        })
        .collect()
}
