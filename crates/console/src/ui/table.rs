//! The agents table. Only the rows on screen are built, from the app's
//! cached order, so a frame costs the same at 10 or 10,000 agents.

use super::format;
use super::theme::{Theme, state_symbol};
use crate::app::layout::{Screen, scroll_for};
use crate::app::{App, LegStatus, queue_name, state_label};
use floorwalk_protocol::{Agent, Call, Direction, Role, Timestamp};
use floorwalk_state::supervisors_on;
use ratatui::Frame;
use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    St,
    Agent,
    Team,
    State,
    Call,
    Dir,
    Hold,
    Queue,
    Customer,
    Rec,
    Supervisors,
}

impl Col {
    fn title(self) -> &'static str {
        match self {
            Col::St => "ST",
            Col::Agent => "AGENT",
            Col::Team => "TEAM",
            Col::State => "STATE",
            Col::Call => "CALL",
            Col::Dir => "DIR",
            Col::Hold => "HOLD",
            Col::Queue => "QUEUE",
            Col::Customer => "CUSTOMER",
            Col::Rec => "REC",
            Col::Supervisors => "SUPERVISORS",
        }
    }
}

/// The columns that fit a table of this outer width; more appear on wider
/// terminals. SUPERVISORS takes what is left.
fn columns(width: u16) -> Vec<(Col, u16)> {
    let fixed: &[(Col, u16)] = if width >= 160 {
        &[
            (Col::St, 2),
            (Col::Agent, 20),
            (Col::Team, 12),
            (Col::State, 15),
            (Col::Call, 7),
            (Col::Dir, 3),
            (Col::Hold, 4),
            (Col::Queue, 12),
            (Col::Customer, 16),
            (Col::Rec, 3),
        ]
    } else if width >= crate::app::layout::WIDE {
        &[
            (Col::St, 2),
            (Col::Agent, 15),
            (Col::Team, 10),
            (Col::State, 15),
            (Col::Call, 7),
            (Col::Dir, 3),
            (Col::Hold, 4),
            (Col::Queue, 9),
            (Col::Customer, 15),
            (Col::Rec, 3),
        ]
    } else if width >= 80 {
        &[
            (Col::St, 2),
            (Col::Agent, 13),
            (Col::Team, 9),
            (Col::Call, 7),
            (Col::Queue, 9),
            (Col::Customer, 15),
            (Col::Rec, 3),
        ]
    } else {
        &[(Col::St, 2), (Col::Agent, 14), (Col::Call, 7)]
    };
    let mut cols = fixed.to_vec();
    cols.push((Col::Supervisors, 0));
    cols
}

pub fn agents(frame: &mut Frame, app: &App, theme: &Theme, screen: &Screen, now: Timestamp) {
    let rows = app.rows();
    let total = app.floor().agents.len();
    let mut title = vec![Span::styled(" Agents ", theme.title())];
    title.push(Span::raw(if rows.len() == total {
        format!("{total} ")
    } else {
        format!("{} of {total} ", rows.len())
    }));
    title.push(Span::styled(
        format!("· sort: {} ", app.sort().label()),
        theme.dim(),
    ));
    if app.filter_editing() || !app.filter().is_empty() {
        let cursor = if app.filter_editing() { "▏" } else { "" };
        title.push(Span::styled(
            format!("· filter: {}{cursor} ", app.filter()),
            theme.key(),
        ));
    }
    let block = Block::bordered().title(Line::from(title));
    let page = screen.page();
    if rows.is_empty() {
        let text = if total == 0 {
            " Waiting for the floor from the server…".to_owned()
        } else {
            format!(
                " No agent matches “{}”. Esc clears the filter.",
                app.filter()
            )
        };
        frame.render_widget(Paragraph::new(text).block(block), screen.table);
        return;
    }
    // The app keeps the selection visible for the size it knows; recheck
    // for the size actually drawn.
    let selected = app.selected_index();
    let first = scroll_for(selected, app.scroll(), page, rows.len());
    let last = (first + page).min(rows.len());
    let cols = columns(screen.table.width);
    let server_now = app.server_now(now);
    let floor = app.floor();
    let body: Vec<Row> = rows[first..last]
        .iter()
        .enumerate()
        .filter_map(|(offset, agent_id)| {
            let agent = floor.agents.get(agent_id)?;
            let call = floor.call_of_agent(agent_id);
            let cells = cols
                .iter()
                .map(|(col, _)| cell(*col, app, theme, agent, call, server_now));
            let mut style = theme.plain();
            if let Some(kind) = app.flash(agent_id, now) {
                style = theme.flash(kind);
            }
            if selected == Some(first + offset) {
                style = style.patch(theme.selected());
            }
            Some(Row::new(cells).style(style))
        })
        .collect();
    let widths = cols.iter().map(|(col, width)| match col {
        Col::Supervisors => Constraint::Fill(1),
        _ => Constraint::Length(*width),
    });
    let header = Row::new(cols.iter().map(|(col, _)| Cell::from(col.title()))).style(theme.bold());
    let table = Table::new(body, widths)
        .header(header)
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, screen.table);
}

fn cell<'a>(
    col: Col,
    app: &'a App,
    theme: &Theme,
    agent: &'a Agent,
    call: Option<&'a Call>,
    server_now: Timestamp,
) -> Cell<'a> {
    const NONE: &str = "—";
    match col {
        Col::St => Cell::from(Span::styled(
            state_symbol(agent.state),
            theme.state(agent.state),
        )),
        Col::Agent => Cell::from(agent.name.as_str()),
        Col::Team => Cell::from(agent.team.as_str()),
        Col::State => Cell::from(format!(
            "{} {}",
            state_label(agent.state),
            format::age(server_now, agent.state_since)
        )),
        Col::Call => Cell::from(call.map_or_else(
            || NONE.to_owned(),
            |c| format::clock(format::elapsed_secs(server_now, c.started_at)),
        )),
        Col::Dir => Cell::from(match call.map(|c| c.direction) {
            Some(Direction::Inbound) => "in",
            Some(Direction::Outbound) => "out",
            Some(Direction::Unknown) => "?",
            None => "",
        }),
        Col::Hold => Cell::from(if call.is_some_and(|c| c.on_hold) {
            "hold"
        } else {
            ""
        }),
        Col::Queue => Cell::from(
            call.and_then(|c| c.queue.as_deref())
                .map_or(NONE, |q| queue_name(app.floor(), q)),
        ),
        Col::Customer => Cell::from(call.map_or_else(
            || NONE.to_owned(),
            |c| format::customer_shown(&c.customer, app.settings().reveal_customer_numbers),
        )),
        Col::Rec => match call {
            Some(c) if c.recording => Cell::from(Span::styled("●", theme.recording())),
            _ => Cell::from(""),
        },
        Col::Supervisors => {
            Cell::from(call.map_or_else(Line::default, |c| supervisors(app, theme, c)))
        }
    }
}

/// Every supervisor on the call with their mode; mine as "you:whisper".
fn supervisors<'a>(app: &App, theme: &Theme, call: &'a Call) -> Line<'a> {
    let me = app.me().map(|me| me.id.as_str());
    let mut spans: Vec<Span> = Vec::new();
    let mut push = |span: Span<'a>| {
        if !spans.is_empty() {
            spans.push(Span::raw(" "));
        }
        spans.push(span);
    };
    // Mine first, so a narrow column never cuts off my own presence.
    let (mine, others): (Vec<_>, Vec<_>) = supervisors_on(call)
        .partition(|(leg, _)| leg.user_id.is_some() && leg.user_id.as_deref() == me);
    for (leg, mode) in mine {
        let text = match app.my_leg(&leg.id).map(|mine| mine.status) {
            Some(LegStatus::On) | None => format!("you:{mode}"),
            Some(LegStatus::Switching { to }) => format!("you:{mode}→{to}"),
            Some(LegStatus::Leaving) => "you:leaving…".to_owned(),
            // The server confirmed I left; its event is still on the way.
            Some(LegStatus::Gone) => continue,
        };
        push(Span::styled(text, theme.mine()));
    }
    if let Some(mode) = app.joining(&call.id) {
        push(Span::styled(format!("you:joining {mode}…"), theme.mine()));
    }
    for (leg, mode) in others {
        push(Span::styled(
            format!("{}:{mode}", format::short_name(&leg.name)),
            theme.others(),
        ));
    }
    if call.legs.iter().any(|leg| leg.role == Role::Bot) {
        push(Span::styled("bot", theme.dim()));
    }
    Line::from(spans)
}
