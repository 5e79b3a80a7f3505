//! Reading the journal back: every line is either a record or a problem
//! (torn or unparseable) with its file and line number; none is dropped.

use super::day::parse_file_name;
use super::{AuditError, Record};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use time::Date;

/// What `read_dir` found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    /// The journal files read, oldest day first.
    pub files: Vec<PathBuf>,
    /// The records, in file order and then line order (the order the console
    /// wrote them).
    pub records: Vec<Record>,
    pub problems: Vec<Problem>,
}

/// A journal line that is not a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(serialize_with = "lossy_path")]
    pub file: PathBuf,
    /// 1-based.
    pub line: u64,
    pub kind: ProblemKind,
    /// What the parser said.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A record cut short, as a crash in the middle of a write leaves it.
    Torn,
    /// Anything else that is not a record: bad JSON, a missing field, an
    /// unknown record kind, bytes that are not UTF-8.
    Unparseable,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Torn => "torn line",
            ProblemKind::Unparseable => "unparseable line",
        }
    }
}

fn lossy_path<S: serde::Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&path.display())
}

/// Reads the journal files of `dir` whose day is within `from..=to` (either
/// end open when `None`). A missing directory is `AuditError::Missing`.
pub fn read_dir(dir: &Path, from: Option<Date>, to: Option<Date>) -> Result<Loaded, AuditError> {
    let read_err = |source| AuditError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(AuditError::Missing {
                dir: dir.to_path_buf(),
            });
        }
        Err(err) => return Err(read_err(err)),
    };
    let mut days = Vec::new();
    for entry in entries {
        let entry = entry.map_err(read_err)?;
        let Some(date) = entry.file_name().to_str().and_then(parse_file_name) else {
            continue;
        };
        if from.is_none_or(|from| date >= from) && to.is_none_or(|to| date <= to) {
            days.push((date, entry.path()));
        }
    }
    days.sort();
    let mut loaded = Loaded::default();
    for (_, path) in days {
        let bytes = std::fs::read(&path).map_err(|source| AuditError::Read {
            path: path.clone(),
            source,
        })?;
        parse_journal(&bytes, &path, &mut loaded.records, &mut loaded.problems);
        loaded.files.push(path);
    }
    Ok(loaded)
}

/// Parses the text of one journal file. Blank lines hold nothing and are
/// skipped; every other line becomes a record or a problem.
pub fn parse_journal(
    bytes: &[u8],
    file: &Path,
    records: &mut Vec<Record>,
    problems: &mut Vec<Problem>,
) {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        return;
    }
    for (index, line) in body.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(line) {
            Ok(record) => records.push(record),
            Err((kind, detail)) => problems.push(Problem {
                file: file.to_path_buf(),
                line: index as u64 + 1,
                kind,
                detail,
            }),
        }
    }
}

fn parse_line(line: &[u8]) -> Result<Record, (ProblemKind, String)> {
    let text = std::str::from_utf8(line).map_err(|err| match err.error_len() {
        // The bytes stop inside a character: the line was cut there.
        None => (
            ProblemKind::Torn,
            "ends inside a UTF-8 character".to_owned(),
        ),
        Some(_) => (
            ProblemKind::Unparseable,
            format!("not UTF-8 after byte {}", err.valid_up_to()),
        ),
    })?;
    serde_json::from_str(text).map_err(|err| {
        let kind = if err.is_eof() {
            ProblemKind::Torn
        } else {
            ProblemKind::Unparseable
        };
        // serde_json says "at line 1": the line is ours to number, so keep
        // only the column.
        let message = err.to_string();
        let message = message
            .strip_suffix(&format!(" at line {} column {}", err.line(), err.column()))
            .unwrap_or(&message);
        (kind, format!("{message} (column {})", err.column()))
    })
}
