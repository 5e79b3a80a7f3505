//! The audit journal (append-only JSON Lines, crash-safe) and its reports.
//!
//! `journal` writes, `read` reads back (flagging torn and unparseable lines),
//! `recover` finds the legs a crash left open, `presence` is one
//! supervisor's legs for the console's audit pane, `report` is the pure
//! arithmetic from events (journal records, or the server's rows through
//! `ReportEvent`) to figures, `render` prints a report as a table, CSV or
//! JSON, and `cli` is `floorwalk report`;
//! `calibration` keeps what `floorwalk calibrate` measured of a server, and
//! brings console times onto its clock for the report.
//! `docs/audit.md` states the format, the guarantees and every formula.

mod calibration;
mod cli;
mod day;
mod error;
mod journal;
mod presence;
mod read;
mod record;
mod recover;
mod render;
mod report;

pub use calibration::{Calibration, calibration_file, default_calibration_dir};
pub use cli::{Format, ReportArgs, filter_of, run_report, write_report};
pub use day::{file_name, parse_date, parse_file_name, utc_date};
pub use error::AuditError;
pub use journal::{Journal, default_dir, demo_dir};
pub use presence::{LegEnd, Presence, call_history, presence_history};
pub use read::{Loaded, Problem, ProblemKind, parse_journal, read_dir};
pub use record::*;
pub use recover::{LeftCall, OpenLeg, RECOVER_DAYS, Recovery, left_calls, open_legs, recover};
pub use render::{
    CSV_COLUMNS, JOURNAL, JournalOrigin, Source, format_percent, render_csv, render_json,
    render_table,
};
pub use report::{
    AgentFigures, Anomaly, AnomalyKind, Figures, Filter, LegRef, Report, ReportEvent,
    SupervisorRejoins, build_report, format_duration, report_of,
};
