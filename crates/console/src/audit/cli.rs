//! `floorwalk report`: read the journal, build the report, print it.

use super::calibration::{Calibration, calibration_file, default_calibration_dir};
use super::day::parse_date;
use super::read::{Loaded, read_dir};
use super::render::{JOURNAL, JournalOrigin, render_csv, render_json, render_table};
use super::report::{Filter, Report, build_report};
use super::{AuditError, default_dir, demo_dir};
use anyhow::{Context, bail};
use std::path::PathBuf;
use time::Date;

#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// The journal directory [default: the platform data directory's
    /// floorwalk/audit]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Report the journal of `floorwalk demo` (the platform data
    /// directory's floorwalk/demo-audit) instead
    #[arg(long, conflicts_with = "dir")]
    pub demo: bool,
    /// First UTC day to report, inclusive
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub from: Option<Date>,
    /// Last UTC day to report, inclusive
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub to: Option<Date>,
    /// Only this supervisor's records (the id from the server's hello)
    #[arg(long, value_name = "ID")]
    pub supervisor: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Bring console times onto the server's clock with what `floorwalk
    /// calibrate` measured: a server URL (its calibration in the data
    /// directory) or a calibration file
    #[arg(long, value_name = "URL|FILE")]
    pub calibration: Option<String>,
}

/// The calibration `--calibration` names: a `ws://` or `wss://` URL is the
/// stored calibration of that server, anything else a file.
fn calibration_path(given: &str) -> anyhow::Result<PathBuf> {
    if given.starts_with("ws://") || given.starts_with("wss://") {
        let dir = default_calibration_dir()
            .context("cannot find the platform data directory for calibrations; pass a file")?;
        Ok(calibration_file(&dir, given))
    } else {
        Ok(PathBuf::from(given))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text, readable in 80 columns
    Table,
    /// One row per agent and an overall row
    Csv,
    /// One object with everything, anomalies and problems included
    Json,
}

/// Reads the journal, builds the report and writes it in the chosen format.
/// A missing or empty journal is a message (table) or an empty report (CSV,
/// JSON), not an error.
pub fn run_report(args: &ReportArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let dir = match (&args.dir, args.demo) {
        (Some(dir), _) => Some(dir.clone()),
        (None, true) => demo_dir(),
        (None, false) => default_dir(),
    }
    .context("cannot find the platform data directory for the audit journal; pass --dir")?;
    let filter = filter_of(args)?;
    // One day more on each side, so a leg that crosses midnight at either
    // end of the range is read whole; the report counts it by its start.
    let widen_from = args.from.map(|d| d.previous_day().unwrap_or(d));
    let widen_to = args.to.map(|d| d.next_day().unwrap_or(d));
    let calibration = match &args.calibration {
        Some(given) => Some(Calibration::load(&calibration_path(given)?)?),
        None => None,
    };
    let (mut loaded, exists) = match read_dir(&dir, widen_from, widen_to) {
        Ok(loaded) => (loaded, true),
        Err(AuditError::Missing { .. }) => (Loaded::default(), false),
        Err(err) => return Err(err.into()),
    };
    let calibration = calibration.map(|c| {
        let corrected = c.correct(&mut loaded.records);
        (c, corrected)
    });
    let report = build_report(&loaded.records, &loaded.problems, &filter);
    let in_range = |path: &PathBuf| {
        path.file_name()
            .and_then(|n| n.to_str())
            .and_then(super::day::parse_file_name)
            .is_some_and(|d| {
                args.from.is_none_or(|from| d >= from) && args.to.is_none_or(|to| d <= to)
            })
    };
    let origin = JournalOrigin {
        files: loaded.files.iter().filter(|p| in_range(p)).count(),
        dir,
        exists,
        calibration,
        source: JOURNAL,
    };
    write_report(&report, &origin, args.format, out)?;
    // Nothing recorded here, but a demo ran: say where its journal is.
    let demo = demo_dir().filter(|demo| demo.is_dir());
    if let Some(demo) = demo
        && args.format == Format::Table
        && args.dir.is_none()
        && !args.demo
        && report.records == 0
    {
        writeln!(
            out,
            "The journal of `floorwalk demo` is at {}: `floorwalk report --demo` reports it.",
            demo.display()
        )
        .context("cannot write the report")?;
    }
    Ok(())
}

/// The days and supervisor the arguments ask for; `--from` after `--to`
/// is an error.
pub fn filter_of(args: &ReportArgs) -> anyhow::Result<Filter> {
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from > to
    {
        bail!("--from {from} is after --to {to}: no day is in that range");
    }
    Ok(Filter {
        from: args.from,
        to: args.to,
        supervisor: args.supervisor.clone(),
    })
}

/// Writes a report in `format`, whatever its records came from.
pub fn write_report(
    report: &Report,
    origin: &JournalOrigin,
    format: Format,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    match format {
        Format::Table => render_table(report, origin, out),
        Format::Csv => render_csv(report, out),
        Format::Json => render_json(report, origin, out),
    }
    .context("cannot write the report")
}
