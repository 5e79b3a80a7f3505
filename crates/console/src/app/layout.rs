//! Screen geometry. It lives with the app, not the views, because paging and
//! mouse clicks need to know which row is where; the views draw into it.

use ratatui::layout::Rect;

/// Below this the console shows "terminal too small" instead of the dashboard.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 12;
/// From this width the agents table shows direction, hold and agent state.
pub const WIDE: u16 = 120;

/// Where each part of the dashboard goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Screen {
    pub area: Rect,
    pub header: Rect,
    pub queues: Rect,
    /// The agents table including its border.
    pub table: Rect,
    /// The call pane including its border.
    pub pane: Rect,
    pub message: Rect,
    pub hints: Rect,
}

impl Screen {
    /// The layout for a terminal area, or `None` when it is too small.
    pub fn new(area: Rect) -> Option<Screen> {
        Screen::with_message_lines(area, 1)
    }

    /// The layout with a message area of one or two lines (a long error
    /// takes two, from the table).
    pub fn with_message_lines(area: Rect, message_lines: u16) -> Option<Screen> {
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            return None;
        }
        let message_lines = message_lines.clamp(1, 2);
        let line = |y: u16| Rect::new(area.x, y, area.width, 1);
        // Fixed lines: header, queues, message, hints. The call pane takes
        // about a third of what is left, the table the rest.
        let body = area.height - 3 - message_lines;
        let pane_height = (area.height / 3).clamp(7, 12).min(body / 2);
        let table_height = body - pane_height;
        let top = area.y;
        Some(Screen {
            area,
            header: line(top),
            queues: line(top + 1),
            table: Rect::new(area.x, top + 2, area.width, table_height),
            pane: Rect::new(area.x, top + 2 + table_height, area.width, pane_height),
            message: Rect::new(area.x, top + 2 + body, area.width, message_lines),
            hints: line(top + 2 + body + message_lines),
        })
    }

    /// The layout for a terminal of `width` x `height` at the origin.
    pub fn for_size(width: u16, height: u16) -> Option<Screen> {
        Screen::new(Rect::new(0, 0, width, height))
    }

    /// The area of the table's data rows (inside the border, under the header).
    pub fn table_rows_area(&self) -> Rect {
        let inner = Rect::new(
            self.table.x + 1,
            self.table.y + 2,
            self.table.width.saturating_sub(2),
            self.table.height.saturating_sub(3),
        );
        inner.intersection(self.table)
    }

    /// How many agent rows fit.
    pub fn page(&self) -> usize {
        usize::from(self.table_rows_area().height)
    }

    /// Which visible table row (0 = the first shown) a screen cell is on.
    pub fn table_row_at(&self, column: u16, row: u16) -> Option<usize> {
        let rows = self.table_rows_area();
        let inside = column >= rows.x
            && column < rows.x + rows.width
            && row >= rows.y
            && row < rows.y + rows.height;
        inside.then(|| usize::from(row - rows.y))
    }

    pub fn wide(&self) -> bool {
        self.area.width >= WIDE
    }
}

/// The first row to show so that `selected` is visible, moving as little as
/// possible from `scroll`.
pub fn scroll_for(selected: Option<usize>, scroll: usize, page: usize, len: usize) -> usize {
    let page = page.max(1);
    let max_scroll = len.saturating_sub(page);
    let scroll = scroll.min(max_scroll);
    match selected {
        Some(sel) if sel < scroll => sel,
        Some(sel) if sel >= scroll + page => sel + 1 - page,
        _ => scroll,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_size_has_a_layout_inside_the_area_or_none() {
        for (w, h, lines) in
            (0..=220u16).flat_map(|w| (0..=70u16).flat_map(move |h| [(w, h, 1), (w, h, 2)]))
        {
            {
                let Some(s) = Screen::with_message_lines(Rect::new(0, 0, w, h), lines) else {
                    assert!(w < MIN_WIDTH || h < MIN_HEIGHT);
                    continue;
                };
                let area = Rect::new(0, 0, w, h);
                for part in [s.header, s.queues, s.table, s.pane, s.message, s.hints] {
                    assert_eq!(part.intersection(area), part, "{w}x{h}");
                }
                assert_eq!(s.hints.y, h - 1);
                assert!(s.page() >= 1, "{w}x{h}");
            }
        }
    }

    #[test]
    fn eighty_by_twenty_four() {
        let s = Screen::for_size(80, 24).unwrap();
        assert_eq!(s.table.height, 12);
        assert_eq!(s.pane.height, 8);
        assert_eq!(s.page(), 9);
        assert_eq!(s.table_row_at(5, 4), Some(0));
        assert_eq!(s.table_row_at(5, 3), None);
        assert_eq!(s.table_row_at(0, 4), None);
    }

    #[test]
    fn scroll_follows_the_selection() {
        assert_eq!(scroll_for(Some(0), 0, 10, 100), 0);
        assert_eq!(scroll_for(Some(10), 0, 10, 100), 1);
        assert_eq!(scroll_for(Some(5), 8, 10, 100), 5);
        assert_eq!(scroll_for(Some(99), 0, 10, 100), 90);
        assert_eq!(scroll_for(None, 500, 10, 100), 90);
        assert_eq!(scroll_for(None, 3, 10, 5), 0);
    }
}
