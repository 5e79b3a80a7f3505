//! The server's records on the command line: `--records URL` for `sim` and
//! `gateway`, `report --records`, `records prune` (docs/records.md).

use anyhow::{Context as _, anyhow};
use clap::{Args, Subcommand};
use floorwalk_console::audit::{self, JournalOrigin, Source, read_dir};
use floorwalk_console::config::{Config, DEFAULT_RETENTION_DAYS};
use floorwalk_protocol::Timestamp;
use floorwalk_records::{ENV_PASSWORD, Keeper, Records, Target, Window, compare, records_report};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

const DAY_MS: i64 = 86_400_000;

/// Where a server writes its records.
#[derive(Args, Debug, Clone, Default)]
pub struct RecordsArg {
    /// Where every supervisor presence is written: sqlite:PATH or
    /// postgres://USER@HOST/DB (password from FLOORWALK_RECORDS_PASSWORD or
    /// `password_file` in [records]) [default: `url` in [records], else
    /// sqlite: in the data directory]
    #[arg(long, value_name = "URL")]
    pub records: Option<String>,
}

/// The platform data directory's `floorwalk`.
fn data_dir() -> anyhow::Result<PathBuf> {
    floorwalk_console::config::data_dir()
        .ok_or_else(|| anyhow!("cannot find the platform data directory; pass --records URL"))
}

impl RecordsArg {
    /// The records: the argument, else the config, else SQLite in the data
    /// directory; with PostgreSQL's password from the environment or file.
    pub fn target(&self, config: &Config) -> anyhow::Result<Target> {
        let url = match self.records.clone().or_else(|| config.records.url.clone()) {
            Some(url) => url,
            None => format!("sqlite:{}", data_dir()?.join("records.sqlite").display()),
        };
        let env = std::env::var(ENV_PASSWORD).ok();
        Target::parse(&url)?.with_password(env, config.records.password_file.as_deref())
    }

    /// Opens the records for the server `name` (refusing to start if they
    /// cannot be written), its spool in the data directory.
    pub fn keeper(&self, config: &Config, name: &str) -> anyhow::Result<Arc<Keeper>> {
        let target = self.target(config)?;
        Keeper::open(target, name, &data_dir()?.join("records-spool"))
    }
}

/// `floorwalk report`: from the journal, or from the server's records.
#[derive(Args, Debug)]
pub struct ReportOptions {
    #[command(flatten)]
    journal: audit::ReportArgs,
    /// Report from the server's records (sqlite:PATH or postgres://…)
    /// instead of a journal: every supervisor and server
    #[arg(long, value_name = "URL")]
    records: Option<String>,
    /// With --records: list where this console journal and the records
    /// disagree, after the report
    #[arg(long, value_name = "DIR", requires = "records")]
    compare_journal: Option<PathBuf>,
    /// The configuration file, for [records] (the password file)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub fn report(args: &ReportOptions) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    let Some(url) = &args.records else {
        audit::run_report(&args.journal, &mut stdout)?;
        return Ok(ExitCode::SUCCESS);
    };
    // The records carry the server's own times and no journal: the
    // journal's options would silently mean nothing.
    let journal_only = [
        (args.journal.dir.is_some(), "--dir"),
        (args.journal.demo, "--demo"),
        (args.journal.calibration.is_some(), "--calibration"),
    ];
    if let Some((_, flag)) = journal_only.iter().find(|(given, _)| *given) {
        return Err(anyhow!(
            "{flag} is for a console's journal; --records reports the server's records, \
             which carry the server's own times"
        ));
    }
    let config = Config::load(args.config.as_deref())?;
    let target = RecordsArg {
        records: Some(url.clone()),
    }
    .target(&config)?;
    let filter = audit::filter_of(&args.journal)?;
    let day_ms = |d: time::Date| d.midnight().assume_utc().unix_timestamp() * 1000;
    // A day more on each side, as for journals: a leg that crosses
    // midnight at either end is read whole, and counted by its start.
    let window = Window {
        from: filter.from.map(|d| day_ms(d) - DAY_MS),
        to: filter.to.map(|d| day_ms(d) + 2 * DAY_MS),
    };
    let mut records = Records::open(&target)?;
    let rows = records.load(window, filter.supervisor.as_deref())?;
    let report = records_report(&rows, &filter);
    let servers: std::collections::BTreeSet<&str> = (rows.legs.iter().map(|l| &*l.server))
        .chain(rows.calls.iter().map(|c| &*c.server))
        .collect();
    let origin = JournalOrigin {
        dir: PathBuf::from(target.label()),
        files: servers.len(),
        exists: true,
        calibration: None,
        source: Source {
            name: "records",
            unit: "server",
        },
    };
    audit::write_report(&report, &origin, args.journal.format, &mut stdout)?;
    if let Some(dir) = &args.compare_journal {
        let journal = read_dir(dir, None, None)
            .with_context(|| format!("cannot read the journal in {}", dir.display()))?;
        // The journal's own days bound the comparison.
        let days: Vec<Timestamp> = journal.records.iter().map(|r| r.at).collect();
        let rows = match (days.iter().min(), days.iter().max()) {
            (Some(first), Some(last)) => records.load(
                Window {
                    from: Some(first.millis() - DAY_MS),
                    to: Some(last.millis() + DAY_MS),
                },
                None,
            )?,
            _ => Default::default(),
        };
        let found = compare(&journal.records, &rows);
        write_disagreements(&found, dir, args.journal.format, &mut stdout)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn write_disagreements(
    found: &[floorwalk_records::Disagreement],
    dir: &std::path::Path,
    format: audit::Format,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    match format {
        audit::Format::Json => {
            serde_json::to_writer_pretty(&mut *out, found)?;
            writeln!(out)?;
        }
        audit::Format::Csv => {
            write!(out, "\r\nkind,at,supervisor,call_id,leg_id,detail\r\n")?;
            for d in found {
                write!(
                    out,
                    "{},{},{},{},{},\"{}\"\r\n",
                    d.kind.as_str(),
                    d.at,
                    d.supervisor,
                    d.call_id,
                    d.leg_id,
                    d.detail.replace('"', "\"\"")
                )?;
            }
        }
        audit::Format::Table => {
            writeln!(
                out,
                "\nJournal {} against the records: {}",
                dir.display(),
                match found.len() {
                    0 => "they agree".to_owned(),
                    1 => "1 disagreement".to_owned(),
                    n => format!("{n} disagreements"),
                }
            )?;
            for d in found {
                writeln!(
                    out,
                    "  {}  {}  {} leg {} ({}): {}",
                    d.at,
                    d.kind.as_str(),
                    d.call_id,
                    d.leg_id,
                    d.supervisor,
                    d.detail
                )?;
            }
        }
    }
    Ok(())
}

#[derive(Subcommand, Debug)]
pub enum RecordsCommand {
    /// Remove the legs that left, and the calls that ended, more than DAYS
    /// ago (open ones stay)
    Prune(PruneArgs),
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Keep this many days [default: `retention_days` in [records], else 400]
    #[arg(long, value_name = "DAYS")]
    older_than: Option<u64>,
    #[command(flatten)]
    records: RecordsArg,
    /// The configuration file, for [records]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub fn records(command: &RecordsCommand) -> anyhow::Result<ExitCode> {
    match command {
        RecordsCommand::Prune(args) => {
            let config = Config::load(args.config.as_deref())?;
            let days = args
                .older_than
                .or(config.records.retention_days)
                .unwrap_or(DEFAULT_RETENTION_DAYS);
            let target = args.records.target(&config)?;
            let span = i64::try_from(days)
                .ok()
                .and_then(|d| d.checked_mul(DAY_MS))
                .ok_or_else(|| anyhow!("--older-than {days} is too many days"))?;
            let before = Timestamp::now().plus_millis(-span);
            let pruned = Records::open(&target)?.prune(before)?;
            let mut stdout = std::io::stdout().lock();
            writeln!(
                stdout,
                "pruned {} legs ({} mode segments) and {} calls that ended before {before} from {}",
                pruned.legs,
                pruned.segments,
                pruned.calls,
                target.label()
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
