//! The one-line bars: header, queues, message line and hint bar.

use super::format;
use super::theme::Theme;
use crate::app::layout::Screen;
use crate::app::{Action, App, Dialog, Link, Severity};
use floorwalk_protocol::Timestamp;
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph, Wrap};

const GAP: &str = "   ";

pub fn header(frame: &mut Frame, app: &App, theme: &Theme, screen: &Screen, now: Timestamp) {
    let settings = app.settings();
    // Parts in screen order, each with the rank it is dropped in when the
    // line is too long (0: never).
    let mut parts: Vec<(u8, Vec<Span>)> = Vec::new();
    if let Some(banner) = app.on_air().and_then(format::on_air) {
        parts.push((
            0,
            vec![Span::styled(format!(" ● {banner} "), theme.on_air())],
        ));
    }
    parts.push((0, vec![Span::styled(" floorwalk ▸ ", theme.title())]));
    match app.me() {
        Some(me) => {
            parts.push((0, vec![Span::styled(me.name.clone(), theme.bold())]));
            if !me.teams.is_empty() {
                parts.push((2, vec![Span::raw(format!(" ({})", me.teams.join(", ")))]));
            }
        }
        None => parts.push((0, vec![Span::styled("not signed in", theme.dim())])),
    }
    parts.push((0, vec![Span::raw(GAP), link(app.link(), theme, now)]));
    parts.extend(rotation(app, theme, now));
    if app.floor_down().is_some() {
        // The reason is on the line below; here only that it is so.
        let down = " · ! contact center unreachable";
        parts.push((0, vec![Span::styled(down, theme.level(Severity::Warn))]));
    }
    if !settings.server_label.is_empty() {
        let server = format!(" · {}", settings.server_label);
        parts.push((1, vec![Span::styled(server, theme.dim())]));
    }
    let (audio, failed) = format::audio_output(&settings.audio_output, app.audio_out());
    let style = if failed {
        theme.level(Severity::Warn)
    } else {
        theme.plain()
    };
    let audio = vec![
        Span::raw(format!("{GAP}audio: ")),
        Span::styled(audio, style),
    ];
    // A failed device matters more than the server's address.
    parts.push((if failed { 4 } else { 3 }, audio));
    if let Some(help) = settings.keymap.label(Action::Help) {
        let hint = vec![
            Span::raw(GAP),
            Span::styled(help, theme.key()),
            Span::raw(" help"),
        ];
        parts.push((4, hint));
    }
    let width = |parts: &[(u8, Vec<Span>)]| -> usize {
        parts
            .iter()
            .flat_map(|(_, spans)| spans)
            .map(Span::width)
            .sum()
    };
    for rank in 1..=5 {
        if width(&parts) <= usize::from(screen.header.width) {
            break;
        }
        parts.retain(|(r, _)| *r != rank);
    }
    let spans: Vec<Span> = parts.into_iter().flat_map(|(_, spans)| spans).collect();
    frame.render_widget(Paragraph::new(Line::from(spans)), screen.header);
}

/// The rotation under way: the call it listens to (and its agent's name,
/// dropped last when the line is short) and the countdown to the next hop.
fn rotation(app: &App, theme: &Theme, now: Timestamp) -> Vec<(u8, Vec<Span<'static>>)> {
    let Some(rotation) = app.rotation() else {
        return Vec::new();
    };
    let mut parts = Vec::new();
    let (call, countdown) = match (rotation.hopping_to(), rotation.call()) {
        (Some(to), _) => (format!("⟳ ROTATION → {to}"), "…".to_owned()),
        (None, call) => (
            format!("⟳ ROTATION {}", call.unwrap_or("—")),
            rotation
                .next_in_secs(now)
                .map_or_else(String::new, |secs| format!(" · next {secs} s")),
        ),
    };
    let agent = rotation
        .hopping_to()
        .or(rotation.call())
        .and_then(|call| app.floor().calls.get(call))
        .and_then(|call| app.floor().agents.get(&call.agent_id))
        .map(|agent| format!(" ({})", agent.name));
    parts.push((0, vec![Span::raw(GAP), Span::styled(call, theme.bold())]));
    if let Some(agent) = agent {
        parts.push((5, vec![Span::raw(agent)]));
    }
    parts.push((0, vec![Span::raw(countdown)]));
    parts
}

fn link(link: &Link, theme: &Theme, now: Timestamp) -> Span<'static> {
    match link {
        Link::Starting => Span::styled("◌ connecting…", theme.level(Severity::Warn)),
        Link::Connecting {
            attempt, retry_at, ..
        } => {
            let verb = if *attempt <= 1 {
                "connecting"
            } else {
                "reconnecting"
            };
            let text = if *retry_at > now {
                let wait = retry_at.millis_since(now);
                // Rounded up to the tenth, so it never shows 0.0 while waiting.
                let tenths = wait.saturating_add(99) / 100;
                format!(
                    "◌ {verb} (attempt {attempt}, in {}.{} s)",
                    tenths / 10,
                    tenths % 10
                )
            } else {
                format!("◌ {verb} (attempt {attempt})…")
            };
            Span::styled(text, theme.level(Severity::Warn))
        }
        Link::Live { rtt: Some(rtt) } => Span::styled(
            format!("● live {} ms", crate::app::rtt_shown(*rtt)),
            theme.live(),
        ),
        Link::Live { rtt: None } => Span::styled("● live", theme.live()),
        Link::Fatal(text) => Span::styled(format!("✖ {text}"), theme.level(Severity::Error)),
    }
}

pub fn queues(frame: &mut Frame, app: &App, theme: &Theme, screen: &Screen) {
    if let Some(why) = app.audit_failure() {
        // What it means first: the reason (a path, an OS error) may not fit.
        let text = format!(" ✖ AUDIT JOURNAL FAILED, joining is blocked: {why}");
        frame.render_widget(
            Paragraph::new(Line::styled(text, theme.level(Severity::Error))),
            screen.queues,
        );
        return;
    }
    if let Some(why) = app.floor_down() {
        // The figures stand still while the contact center is away.
        let text = format!(" ! CONTACT CENTER UNREACHABLE: {why}");
        frame.render_widget(
            Paragraph::new(Line::styled(text, theme.level(Severity::Warn))),
            screen.queues,
        );
        return;
    }
    let mut queues: Vec<_> = app.floor().queues.values().collect();
    queues.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    let mut spans = vec![Span::styled(" Queues  ", theme.bold())];
    if queues.is_empty() {
        spans.push(Span::styled("none", theme.dim()));
    }
    for (i, queue) in queues.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(queue.name.clone(), theme.bold()));
        let mut text = format!(" {} waiting", queue.waiting);
        if queue.waiting > 0 {
            text.push_str(&format!(", longest {}", format::wait(queue.longest_wait_s)));
        }
        text.push_str(&format!(", SLA {:.0}%", queue.sla_percent));
        let style = if queue.waiting > 0 {
            theme.level(Severity::Warn)
        } else {
            theme.plain()
        };
        spans.push(Span::styled(text, style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), screen.queues);
}

fn notice_line<'a>(app: &'a App, theme: &Theme, now: Timestamp) -> Option<(Line<'a>, Severity)> {
    let notice = app.notice(now)?;
    let mark = match notice.severity {
        Severity::Info => "",
        Severity::Warn => "! ",
        Severity::Error => "✖ ",
    };
    let line = Line::styled(
        format!("{mark}{}", notice.text),
        theme.level(notice.severity),
    );
    Some((line, notice.severity))
}

/// An error too long for one line gets two, so it is read in full.
pub fn message_lines(app: &App, width: u16, now: Timestamp) -> u16 {
    match notice_line(app, &Theme::new(false), now) {
        Some((line, Severity::Error)) if line.width() + 1 > usize::from(width) => 2,
        _ => 1,
    }
}

/// The message line: the notice, and on its right, when there is room, how
/// the talk key is read (hold, hold (repeat), toggle).
pub fn message(frame: &mut Frame, app: &App, theme: &Theme, screen: &Screen, now: Timestamp) {
    let status = Line::styled(
        format!("push-to-talk: {} ", app.ptt_mode().as_str()),
        theme.dim(),
    )
    .right_aligned();
    let room = |used: usize| used + status.width() + 2 <= usize::from(screen.message.width);
    let Some((line, level)) = notice_line(app, theme, now) else {
        if room(0) {
            frame.render_widget(Paragraph::new(status), screen.message);
        }
        return;
    };
    if level != Severity::Error && room(line.width() + 1) {
        frame.render_widget(Paragraph::new(status), screen.message);
    }
    let paragraph = Paragraph::new(line)
        .wrap(Wrap { trim: false })
        .block(Block::new().padding(Padding::left(1)));
    // Errors fill the whole area, so they cannot be missed.
    let paragraph = if level == Severity::Error {
        paragraph.style(theme.level(Severity::Error))
    } else {
        paragraph
    };
    frame.render_widget(paragraph, screen.message);
}

/// The hint bar, from the live key map and the active view.
pub fn hints(frame: &mut Frame, app: &App, theme: &Theme, screen: &Screen) {
    let fixed: &[(&str, &str)] = match app.dialog() {
        Some(Dialog::EndCall { .. }) => &[
            ("tab", "switch"),
            ("enter", "choose"),
            ("y", "end call"),
            ("esc", "cancel"),
        ],
        Some(Dialog::Quit { .. }) => &[("enter/y", "leave and quit"), ("esc", "stay")],
        Some(Dialog::Rejoin { .. }) => &[
            ("tab", "switch"),
            ("enter", "choose"),
            ("y", "join with notice"),
            ("esc", "cancel"),
        ],
        Some(Dialog::Help) => &[("any key", "closes the help")],
        None if app.audit_pane().is_some() => &[("up/down", "select a leg"), ("esc", "close")],
        None if app.filter_editing() => &[
            ("type", "to filter"),
            ("enter", "keep"),
            ("esc", "clear"),
            ("up/down", "move"),
        ],
        None => &[],
    };
    let keymap = &app.settings().keymap;
    let bound = |actions: &[(Action, &'static str)]| -> Vec<(String, &'static str)> {
        (actions.iter())
            .filter_map(|(action, hint)| keymap.label(*action).map(|key| (key, *hint)))
            .collect()
    };
    let entries: Vec<(String, &str)> = if !fixed.is_empty() {
        fixed.iter().map(|(k, h)| ((*k).to_owned(), *h)).collect()
    } else if app.rotation().is_some() {
        bound(&[
            (Action::Rotate, "stop rotation"),
            (Action::NextCall, "skip"),
            (Action::PrevCall, "back"),
            (Action::Disconnect, "stop and leave"),
            (Action::Monitor, "stay"),
            (Action::AuditLog, "audit"),
            (Action::Quit, "quit"),
        ])
    } else {
        bound(
            &[
                Action::Monitor,
                Action::Whisper,
                Action::Barge,
                Action::Talk,
                Action::Disconnect,
                Action::NextCall,
                Action::Filter,
                Action::Quit,
                Action::Help,
                Action::Sort,
                Action::Rotate,
                Action::AuditLog,
            ]
            .map(|action| (action, action.hint())),
        )
    };
    let width = usize::from(screen.hints.width);
    let mut used = 1;
    let mut spans = vec![Span::raw(" ")];
    for (key, hint) in entries {
        let len = key.chars().count() + 1 + hint.chars().count() + 2;
        if used + len > width + 2 {
            break;
        }
        used += len;
        spans.push(Span::styled(key, theme.key()));
        spans.push(Span::raw(format!(" {hint}  ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), screen.hints);
}
