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

    /// In `color` when there is colour, plain otherwise.
    fn tinted(&self, color: Color) -> Style {
        self.pick(Style::default().fg(color), Style::default())
    }

    /// Bold, and in `color` when there is colour.
    fn bold_in(&self, color: Color) -> Style {
        self.pick(self.bold().fg(color), self.bold())
    }

    /// White on red, or bold and reversed: what must not be missed.
    fn alarm(&self) -> Style {
        self.pick(
            self.bold().fg(Color::White).bg(Color::Red),
            self.bold().add_modifier(Modifier::REVERSED),
        )
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
        self.bold_in(Color::Cyan)
    }

    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    /// My own presence: "you:whisper".
    pub fn mine(&self) -> Style {
        self.pick(
            self.bold().fg(Color::Magenta),
            self.bold().add_modifier(Modifier::UNDERLINED),
        )
    }

    /// Other supervisors on a call.
    pub fn others(&self) -> Style {
        self.tinted(Color::Cyan)
    }

    /// End call and other things that affect everyone.
    pub fn danger(&self) -> Style {
        self.bold_in(Color::Red)
    }

    /// The ON AIR banner: unmissable, with or without colour.
    pub fn on_air(&self) -> Style {
        self.alarm()
    }

    /// The lit cells of a level meter.
    pub fn meter(&self) -> Style {
        self.tinted(Color::Green)
    }

    pub fn live(&self) -> Style {
        self.tinted(Color::Green)
    }

    pub fn recording(&self) -> Style {
        self.tinted(Color::Red)
    }

    pub fn key(&self) -> Style {
        self.bold_in(Color::Yellow)
    }

    pub fn mode(&self, mode: Mode) -> Style {
        match mode {
            Mode::Silent => self.mine(),
            Mode::Whisper => self.bold_in(Color::Yellow),
            Mode::Barge => self.danger(),
        }
    }

    pub fn level(&self, level: Severity) -> Style {
        match level {
            Severity::Info => Style::default(),
            Severity::Warn => self.bold_in(Color::Yellow),
            // Loud: a full-width bar, visible in any terminal.
            Severity::Error => self.alarm(),
        }
    }

    pub fn state(&self, state: AgentState) -> Style {
        let color = match state {
            AgentState::OnCall => Color::Green,
            AgentState::WrapUp => Color::Yellow,
            AgentState::Available => Color::Blue,
            AgentState::Away | AgentState::Offline | AgentState::Unknown => Color::DarkGray,
        };
        self.tinted(color)
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
