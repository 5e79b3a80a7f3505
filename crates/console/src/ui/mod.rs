//! Pure views over the app state, with the clock passed in. Nothing here
//! changes the app or reads a clock; drawing only builds the rows on screen.

mod audit;
mod bars;
mod dialogs;
pub mod format;
mod pane;
mod table;
mod theme;

use crate::app::App;
use crate::app::layout::{MIN_HEIGHT, MIN_WIDTH, Screen};
use floorwalk_protocol::Timestamp;
use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use theme::Theme;

/// Draws the whole console for local time `now`.
pub fn draw(frame: &mut Frame, app: &App, now: Timestamp) {
    let area = frame.area();
    let theme = Theme::new(app.settings().color);
    let Some(screen) = Screen::with_message_lines(area, bars::message_lines(app, area.width, now))
    else {
        let text = format!(
            "floorwalk: terminal too small ({}x{}, needs {MIN_WIDTH}x{MIN_HEIGHT})",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(Line::styled(text, theme.bold())).wrap(Wrap { trim: true }),
            area,
        );
        return;
    };
    bars::header(frame, app, &theme, &screen, now);
    bars::queues(frame, app, &theme, &screen);
    table::agents(frame, app, &theme, &screen, now);
    pane::call(frame, app, &theme, &screen, now);
    audit::draw(frame, app, &theme, &screen, now);
    bars::message(frame, app, &theme, &screen, now);
    bars::hints(frame, app, &theme, &screen);
    dialogs::draw(frame, app, &theme, area);
}

#[cfg(test)]
mod tests;
