//! The report as an aligned table (80 columns), CSV, or JSON.

use super::calibration::Calibration;
use super::read::Problem;
use super::report::{AgentFigures, Anomaly, Figures, Report, SupervisorRejoins, format_duration};
use serde::Serialize;
use std::io::{self, Write};
use std::path::PathBuf;

/// Where the records came from, for the header of the table and the JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalOrigin {
    pub dir: PathBuf,
    /// Journal files read (for the date range).
    pub files: usize,
    /// Whether the directory exists at all.
    pub exists: bool,
    /// The calibration console times were corrected with, and how many
    /// records it corrected.
    pub calibration: Option<(Calibration, usize)>,
    /// What was read and what `files` counts: [`JOURNAL`], or the server's
    /// records (`dir` is then the database, `files` its servers).
    pub source: Source,
}

/// The line that says a calibration corrected console times.
fn calibration_text(calibration: &Calibration, corrected: usize) -> String {
    format!(
        "console times corrected with the calibration of {} from {}: server clock {:+.0} ms, \
         drift {:+.1} ppm ({})",
        calibration.server,
        calibration.measured_at,
        calibration.clock_offset_ms,
        calibration.drift_ppm,
        count(corrected as u64, "record")
    )
}

/// Where a report's records come from, as its header names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// `journal`, `records`.
    pub name: &'static str,
    /// What `files` counts: `journal file`, `server`.
    pub unit: &'static str,
}

/// A console's journal directory.
pub const JOURNAL: Source = Source {
    name: "journal",
    unit: "journal file",
};

/// `66.7%`, or `-` when there is nothing to divide by.
pub fn format_percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

const AGENT_WIDTH: usize = 20;
const OVERALL: &str = "ALL AGENTS";

/// A table whose first column is left-aligned and the rest right-aligned.
struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &[String], out: &mut dyn Write| -> io::Result<()> {
            let mut text = String::new();
            for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                if i == 0 {
                    text.push_str(&format!("{cell:<width$}"));
                } else {
                    text.push_str(&format!("  {cell:>width$}"));
                }
            }
            writeln!(out, "{}", text.trim_end())
        };
        let headers: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        line(&headers, out)?;
        for row in &self.rows {
            line(row, out)?;
        }
        Ok(())
    }
}

/// Cuts `text` to `width` characters, marking the cut with `…`.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// The agent rows, then the overall row.
fn rows(report: &Report) -> impl Iterator<Item = (String, &Figures)> {
    report
        .agents
        .iter()
        .map(|a| (fit(a.label(), AGENT_WIDTH), &a.figures))
        .chain(std::iter::once((OVERALL.to_owned(), &report.overall)))
}

fn scope_text(report: &Report) -> String {
    let range = match (&report.from, &report.to) {
        (None, None) => "all days".to_owned(),
        (Some(from), None) => format!("from {from}"),
        (None, Some(to)) => format!("up to {to}"),
        (Some(from), Some(to)) if from == to => from.clone(),
        (Some(from), Some(to)) => format!("{from} to {to}"),
    };
    match report.supervisor.as_deref() {
        Some(supervisor) => format!("{range}, supervisor {supervisor}"),
        None => format!("{range}, all supervisors"),
    }
}

fn files_text(origin: &JournalOrigin) -> String {
    count(origin.files as u64, origin.source.unit)
}

/// `1 record`, `2 records`.
fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub fn render_table(
    report: &Report,
    origin: &JournalOrigin,
    out: &mut dyn Write,
) -> io::Result<()> {
    let dir = origin.dir.display();
    if !origin.exists {
        return writeln!(
            out,
            "No audit journal at {dir} yet: nothing has been recorded there."
        );
    }
    if report.records == 0 && report.problems.is_empty() {
        return writeln!(
            out,
            "No audit records in {dir} for {} ({} read).",
            scope_text(report),
            files_text(origin)
        );
    }
    writeln!(out, "floorwalk audit report: {}", scope_text(report))?;
    writeln!(
        out,
        "{} {dir} ({}, {})",
        origin.source.name,
        files_text(origin),
        count(report.records, "record")
    )?;
    if let Some((calibration, corrected)) = &origin.calibration {
        writeln!(out, "{}", calibration_text(calibration, *corrected))?;
    }

    writeln!(out, "\nPresence and talk time")?;
    Table {
        headers: vec![
            "AGENT", "SESSIONS", "PRESENT", "AVERAGE", "WHISPER", "BARGE",
        ],
        rows: rows(report)
            .map(|(label, f)| {
                vec![
                    label,
                    f.sessions.to_string(),
                    format_duration(f.present_ms),
                    f.average_present_ms()
                        .map_or_else(|| "-".to_owned(), format_duration),
                    format_duration(f.whisper_ms),
                    format_duration(f.barge_ms),
                ]
            })
            .collect(),
    }
    .write(out)?;

    writeln!(out, "\nCoverage and leaving")?;
    Table {
        headers: vec!["AGENT", "CALLS", "COVERAGE", "DISCONNECTED", "RATE"],
        rows: rows(report)
            .map(|(label, f)| {
                vec![
                    label,
                    format!("{}/{}", f.calls_covered, f.calls_seen),
                    format_percent(f.coverage()),
                    format!("{}/{}", f.disconnected_legs, f.sessions),
                    format_percent(f.disconnect_rate()),
                ]
            })
            .collect(),
    }
    .write(out)?;

    writeln!(out, "\nAnomalies by agent")?;
    Table {
        headers: vec![
            "AGENT",
            "BACK-TO-BACK",
            "NO END",
            "LEASE",
            "CRASH",
            "UNMATCHED",
        ],
        rows: rows(report)
            .map(|(label, f)| {
                vec![
                    label,
                    f.back_to_back_joins.to_string(),
                    f.legs_without_end.to_string(),
                    f.lease_expired_legs.to_string(),
                    f.closed_after_crash.to_string(),
                    f.unmatched_records.to_string(),
                ]
            })
            .collect(),
    }
    .write(out)?;
    writeln!(
        out,
        "\nPRESENT, WHISPER and BARGE count legs with a recorded end. CALLS: seen calls\n\
         with a supervisor leg / seen calls. DISCONNECTED: legs ended by the\n\
         supervisor's own disconnect while the call went on / all legs. LEASE: legs\n\
         dropped by lease expiry. CRASH: legs a crash left open that the server no\n\
         longer had when the console started again. Definitions: docs/audit.md."
    )?;

    if !report.rejoins.is_empty() {
        writeln!(out, "\nRejoins by supervisor")?;
        Table {
            headers: vec!["SUPERVISOR", "REJOINS", "ANNOUNCED", "NOT ANNOUNCED"],
            rows: report
                .rejoins
                .iter()
                .map(|r| {
                    vec![
                        fit(&r.supervisor, AGENT_WIDTH),
                        (r.announced + r.unannounced).to_string(),
                        r.announced.to_string(),
                        r.unannounced.to_string(),
                    ]
                })
                .collect(),
        }
        .write(out)?;
    }

    if !report.anomalies.is_empty() {
        writeln!(out, "\nAnomaly details ({})", report.anomalies.len())?;
        for a in &report.anomalies {
            let agent = report
                .agents
                .iter()
                .find(|x| x.agent_id == a.leg.agent_id)
                .map_or("(unknown)", AgentFigures::label);
            let at = a.at.to_string();
            writeln!(
                out,
                "  {} {}  {}  {} call {} leg {}  {}",
                at.get(..10).unwrap_or(&at),
                at.get(11..19).unwrap_or(""),
                a.kind.as_str(),
                a.leg.supervisor,
                a.leg.call_id,
                a.leg.leg_id.as_deref().unwrap_or("-"),
                fit(agent, AGENT_WIDTH)
            )?;
            writeln!(out, "      {}", a.detail)?;
        }
    }
    if !report.problems.is_empty() {
        writeln!(
            out,
            "\nJournal lines that are not records ({})",
            report.problems.len()
        )?;
        for p in &report.problems {
            let name = p.file.file_name().map_or_else(
                || p.file.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            writeln!(out, "  {name}:{}  {}", p.line, p.kind.as_str())?;
            writeln!(out, "      {}", p.detail)?;
        }
    }
    Ok(())
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 21] = [
    "scope",
    "agent_id",
    "agent_name",
    "sessions",
    "legs_ended",
    "present_ms",
    "average_present_ms",
    "calls_seen",
    "calls_covered",
    "coverage",
    "whisper_ms",
    "barge_ms",
    "disconnected_legs",
    "disconnect_rate",
    "back_to_back_joins",
    "legs_without_end",
    "lease_expired_legs",
    "closed_after_crash",
    "unmatched_records",
    "torn_lines",
    "unparseable_lines",
];

/// One row per agent (`scope` = `agent`), then one `overall` row, which
/// alone carries the journal's torn and unparseable line counts.
pub fn render_csv(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_csv_row(out, CSV_COLUMNS.iter().map(|c| (*c).to_owned()))?;
    for agent in &report.agents {
        let mut row = vec![
            "agent".to_owned(),
            agent.agent_id.clone().unwrap_or_default(),
            agent.agent_name.clone().unwrap_or_default(),
        ];
        row.extend(figure_cells(&agent.figures));
        row.extend([String::new(), String::new()]);
        write_csv_row(out, row)?;
    }
    let mut row = vec!["overall".to_owned(), String::new(), String::new()];
    row.extend(figure_cells(&report.overall));
    row.extend([
        report.torn_lines().to_string(),
        report.unparseable_lines().to_string(),
    ]);
    write_csv_row(out, row)
}

fn figure_cells(f: &Figures) -> Vec<String> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    vec![
        f.sessions.to_string(),
        f.legs_ended.to_string(),
        f.present_ms.to_string(),
        opt(f.average_present_ms().map(|v| v.to_string())),
        f.calls_seen.to_string(),
        f.calls_covered.to_string(),
        opt(f.coverage().map(|r| format!("{r:.4}"))),
        f.whisper_ms.to_string(),
        f.barge_ms.to_string(),
        f.disconnected_legs.to_string(),
        opt(f.disconnect_rate().map(|r| format!("{r:.4}"))),
        f.back_to_back_joins.to_string(),
        f.legs_without_end.to_string(),
        f.lease_expired_legs.to_string(),
        f.closed_after_crash.to_string(),
        f.unmatched_records.to_string(),
    ]
}

/// RFC 4180: fields with a comma, quote or line break are quoted, quotes
/// doubled; lines end in CRLF.
fn write_csv_row(out: &mut dyn Write, cells: impl IntoIterator<Item = String>) -> io::Result<()> {
    let cells: Vec<String> = cells
        .into_iter()
        .map(|cell| {
            if cell.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell
            }
        })
        .collect();
    write!(out, "{}\r\n", cells.join(","))
}

/// The report as one JSON object: `journal` (`dir`, `files`, `exists`), then
/// every field of `Report`, each figures object with its
/// `average_present_ms`, `coverage` and `disconnect_rate` added.
pub fn render_json(report: &Report, origin: &JournalOrigin, out: &mut dyn Write) -> io::Result<()> {
    let json = JsonReport {
        journal: JsonJournal {
            dir: origin.dir.display().to_string(),
            files: origin.files,
            exists: origin.exists,
        },
        from: report.from.as_deref(),
        to: report.to.as_deref(),
        supervisor: report.supervisor.as_deref(),
        records: report.records,
        overall: JsonFigures::new(&report.overall),
        agents: report
            .agents
            .iter()
            .map(|a| JsonAgent {
                agent_id: a.agent_id.as_deref(),
                agent_name: a.agent_name.as_deref(),
                figures: JsonFigures::new(&a.figures),
            })
            .collect(),
        anomalies: &report.anomalies,
        rejoins: &report.rejoins,
        problems: &report.problems,
        calibration: origin
            .calibration
            .as_ref()
            .map(|(c, corrected)| JsonCalibration {
                calibration: c,
                corrected: *corrected,
            }),
    };
    serde_json::to_writer_pretty(&mut *out, &json).map_err(io::Error::other)?;
    writeln!(out)
}

// The JSON view: `Report`'s fields in reading order, plus the ratios, so a
// consumer need not divide (and `Report` itself stays integers only).
#[derive(Serialize)]
struct JsonReport<'a> {
    journal: JsonJournal,
    from: Option<&'a str>,
    to: Option<&'a str>,
    supervisor: Option<&'a str>,
    records: u64,
    overall: JsonFigures<'a>,
    agents: Vec<JsonAgent<'a>>,
    anomalies: &'a [Anomaly],
    rejoins: &'a [SupervisorRejoins],
    problems: &'a [Problem],
    #[serde(skip_serializing_if = "Option::is_none")]
    calibration: Option<JsonCalibration<'a>>,
}

#[derive(Serialize)]
struct JsonCalibration<'a> {
    #[serde(flatten)]
    calibration: &'a Calibration,
    /// Records whose console time it brought onto the server's clock.
    corrected: usize,
}

#[derive(Serialize)]
struct JsonJournal {
    dir: String,
    files: usize,
    exists: bool,
}

#[derive(Serialize)]
struct JsonAgent<'a> {
    agent_id: Option<&'a str>,
    agent_name: Option<&'a str>,
    #[serde(flatten)]
    figures: JsonFigures<'a>,
}

#[derive(Serialize)]
struct JsonFigures<'a> {
    #[serde(flatten)]
    counts: &'a Figures,
    average_present_ms: Option<u64>,
    coverage: Option<f64>,
    disconnect_rate: Option<f64>,
}

impl<'a> JsonFigures<'a> {
    fn new(counts: &'a Figures) -> Self {
        Self {
            counts,
            average_present_ms: counts.average_present_ms(),
            coverage: counts.coverage(),
            disconnect_rate: counts.disconnect_rate(),
        }
    }
}
