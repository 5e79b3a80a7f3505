//! Styles. Under NO_COLOR every style keeps its meaning through bold,
//! reverse, dim and symbols alone.

use crate::app::{FlashKind, Severity};
use floorwalk_protocol::{AgentState, Mode};
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    color: bool,
}

impl Theme {
    pub fn new(color: bool) -> Theme {
        Theme { color }
    }

    fn pick(&self, colored: Style, plain: Style) -> Style {
        if self.color { colored } else { plain }
    }

    pub fn plain(&self) -> Style {
        Style::default()
    }

    pub fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        self.pick(
            Style::default().fg(Color::DarkGray),
            Style::default().add_modifier(Modifier::DIM),
        )
    }

    pub fn title(&self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            self.bold(),
        )
    }

    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    /// My own presence: "you:whisper".
    pub fn mine(&self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::Magenta)
                .add_modifier(Modifier::BOLD),
            Style::default()
                .add_modifier(Modifier::BOLD)
                .add_modifier(Modifier::UNDERLINED),
        )
    }

    /// Other supervisors on a call.
    pub fn others(&self) -> Style {
        self.pick(Style::default().fg(Color::Cyan), Style::default())
    }

    /// End call and other things that affect everyone.
    pub fn danger(&self) -> Style {
        self.pick(
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            self.bold(),
        )
    }

    /// The ON AIR banner: unmissable, with or without colour.
    pub fn on_air(&self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            Style::default()
                .add_modifier(Modifier::BOLD)
                .add_modifier(Modifier::REVERSED),
        )
    }

    /// The lit cells of a level meter.
    pub fn meter(&self) -> Style {
        self.pick(Style::default().fg(Color::Green), Style::default())
    }

    pub fn live(&self) -> Style {
        self.pick(Style::default().fg(Color::Green), Style::default())
    }

    pub fn recording(&self) -> Style {
        self.pick(Style::default().fg(Color::Red), Style::default())
    }

    pub fn key(&self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            self.bold(),
        )
    }

    pub fn mode(&self, mode: Mode) -> Style {
        match mode {
            Mode::Silent => self.mine(),
            Mode::Whisper => self.pick(
                Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
                self.bold(),
            ),
            Mode::Barge => self.danger(),
        }
    }

    pub fn level(&self, level: Severity) -> Style {
        match level {
            Severity::Info => Style::default(),
            Severity::Warn => self.pick(
                Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
                self.bold(),
            ),
            // Loud: a full-width bar, visible in any terminal.
            Severity::Error => self.pick(
                Style::default()
                    .fg(Color::White)
                    .bg(Color::Red)
                    .add_modifier(Modifier::BOLD),
                Style::default()
                    .add_modifier(Modifier::BOLD)
                    .add_modifier(Modifier::REVERSED),
            ),
        }
    }

    pub fn state(&self, state: AgentState) -> Style {
        let color = match state {
            AgentState::OnCall => Color::Green,
            AgentState::WrapUp => Color::Yellow,
            AgentState::Available => Color::Blue,
            AgentState::Away | AgentState::Offline | AgentState::Unknown => Color::DarkGray,
        };
        self.pick(Style::default().fg(color), Style::default())
    }

    /// A row whose call just started, changed or ended.
    pub fn flash(&self, kind: FlashKind) -> Style {
        match kind {
            FlashKind::Started => self.pick(
                Style::default().bg(Color::Green).fg(Color::Black),
                self.bold(),
            ),
            FlashKind::Changed => self.pick(
                Style::default().bg(Color::Yellow).fg(Color::Black),
                self.bold(),
            ),
            FlashKind::Ended => self.pick(
                Style::default().bg(Color::DarkGray),
                Style::default().add_modifier(Modifier::DIM),
            ),
        }
    }
}

/// The ST column's symbol.
pub fn state_symbol(state: AgentState) -> &'static str {
    match state {
        AgentState::OnCall => "●",
        AgentState::WrapUp => "◐",
        AgentState::Available => "○",
        AgentState::Away => "◌",
        AgentState::Offline => "·",
        AgentState::Unknown => "?",
    }
}
