//! The append-only journal: one JSON line per record, one file per UTC day,
//! each line on disk (`sync_data`) before `append` returns.

use super::day::{file_name, utc_date};
use super::{AuditError, Record};
use floorwalk_protocol::Timestamp;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use time::Date;

/// The journal of one console. Not shared between threads: the app owns it.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    /// The file of the day last written; `None` after a failed write, so the
    /// next append reopens it and looks at its last byte again.
    current: Option<DayFile>,
}

#[derive(Debug)]
struct DayFile {
    date: Date,
    path: PathBuf,
    file: File,
    /// The file ends in a torn line (no newline): the next record must start
    /// on a line of its own.
    needs_newline: bool,
}

impl Journal {
    /// Creates `dir` (mode 0700 on unix) if needed and opens today's file, so
    /// a journal that cannot be written fails at start, not at the first join.
    pub fn open(dir: &Path) -> Result<Journal, AuditError> {
        let mut builder = DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        let create_err = |source| AuditError::CreateDir {
            path: dir.to_path_buf(),
            source,
        };
        let existed = dir.is_dir();
        builder.create(dir).map_err(create_err)?;
        if !existed && let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            // The new directory's own entry, so the files in it can be found
            // after a crash.
            sync_dir(parent).map_err(create_err)?;
        }
        let mut journal = Journal {
            dir: dir.to_path_buf(),
            current: None,
        };
        if let Some(today) = utc_date(Timestamp::now()) {
            journal.current = Some(DayFile::open(dir, today)?);
        }
        Ok(journal)
    }

    /// Writes `record` as one line of the file of its UTC day (by
    /// `record.at`) and syncs it to disk before returning.
    pub fn append(&mut self, record: &Record) -> Result<(), AuditError> {
        self.append_all(std::slice::from_ref(record))
    }

    /// Appends records in order with one write and one `sync_data` per day
    /// file: a 10,000-call snapshot's `call_seen` records cost one fsync, not
    /// 10,000. When this returns `Ok`, every record is on disk.
    pub fn append_all(&mut self, records: &[Record]) -> Result<(), AuditError> {
        let mut rest = records;
        while let Some(first) = rest.first() {
            let date = utc_date(first.at).ok_or_else(|| AuditError::OutOfRange {
                dir: self.dir.clone(),
                millis: first.at.millis(),
            })?;
            let same_day = rest
                .iter()
                .take_while(|r| utc_date(r.at) == Some(date))
                .count();
            let (run, later) = rest.split_at(same_day);
            // On any error `current` stays empty, so the next append reopens
            // the file and checks again whether it ends in a torn line.
            let mut day = match self.current.take() {
                Some(day) if day.date == date && !day.replaced() => day,
                _ => DayFile::open(&self.dir, date)?,
            };
            day.write_records(run)?;
            self.current = Some(day);
            rest = later;
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl DayFile {
    fn open(dir: &Path, date: Date) -> Result<DayFile, AuditError> {
        let path = dir.join(file_name(date));
        let open_err = |source| AuditError::Open {
            path: path.clone(),
            source,
        };
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let existed = path.exists();
        let mut file = options.open(&path).map_err(open_err)?;
        if !existed {
            // Make the new directory entry itself durable, not only the data.
            sync_dir(dir).map_err(open_err)?;
        }
        let needs_newline = ends_torn(&mut file).map_err(open_err)?;
        Ok(DayFile {
            date,
            path,
            file,
            needs_newline,
        })
    }

    /// Whether the day's path no longer leads to the open file (removed,
    /// rotated away or replaced): records written on would go where no
    /// reader looks, so the path is opened again, and if it cannot take
    /// them, the error says so.
    #[cfg(unix)]
    fn replaced(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(&self.path), self.file.metadata()) {
            (Ok(path), Ok(open)) => (path.dev(), path.ino()) != (open.dev(), open.ino()),
            _ => true,
        }
    }

    #[cfg(not(unix))]
    fn replaced(&self) -> bool {
        !self.path.exists()
    }

    fn write_records(&mut self, records: &[Record]) -> Result<(), AuditError> {
        let write_err = |source| AuditError::Write {
            path: self.path.clone(),
            source,
        };
        let mut lines = Vec::with_capacity(256 * records.len());
        if self.needs_newline {
            lines.push(b'\n');
        }
        for record in records {
            serde_json::to_writer(&mut lines, record).map_err(|e| write_err(e.into()))?;
            lines.push(b'\n');
        }
        // One write (O_APPEND), so a crash tears at most the last line, and
        // another console appending to the same file cannot interleave.
        self.file.write_all(&lines).map_err(write_err)?;
        self.file.sync_data().map_err(write_err)?;
        self.needs_newline = false;
        Ok(())
    }
}

/// Whether the file is non-empty and its last byte is not a newline.
fn ends_torn(file: &mut File) -> std::io::Result<bool> {
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// The default journal directory: the platform data directory of floorwalk,
/// then `audit` (e.g. `~/.local/share/floorwalk/audit` on Linux).
pub fn default_dir() -> Option<PathBuf> {
    crate::config::data_dir().map(|dir| dir.join("audit"))
}

/// The journal of `floorwalk demo`, beside the default one
/// (`~/.local/share/floorwalk/demo-audit`), so a demo never mixes with real
/// audits.
pub fn demo_dir() -> Option<PathBuf> {
    default_dir().map(|dir| dir.with_file_name("demo-audit"))
}
