//! The local spool: entries the database could not take, kept on disk (one
//! JSON line each, synced) until it can. One file per server name, so
//! servers on one machine never share one.

use crate::store::Entry;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct Spool {
    path: PathBuf,
    /// Entries in the file (read at open, counted since).
    pending: usize,
}

impl Spool {
    /// The spool of server `server` in `dir` (created if missing).
    pub fn open(dir: &Path, server: &str) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("records-spool-{server}.jsonl"));
        let mut spool = Self { path, pending: 0 };
        spool.pending = spool.read()?.len();
        Ok(spool)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_empty(&self) -> bool {
        self.pending == 0
    }

    /// Appends entries and syncs them to disk before returning.
    pub fn append(&mut self, entries: &[Entry]) -> std::io::Result<()> {
        let mut text = String::new();
        for entry in entries {
            text.push_str(&serde_json::to_string(entry).map_err(std::io::Error::other)?);
            text.push('\n');
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        self.pending += entries.len();
        Ok(())
    }

    /// Every entry, in order. A line torn by a crash mid-append is skipped
    /// (it was never acknowledged as kept).
    pub fn read(&self) -> std::io::Result<Vec<Entry>> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut entries = Vec::new();
        for line in BufReader::new(file).lines() {
            match serde_json::from_str(&line?) {
                Ok(entry) => entries.push(entry),
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), %e, "skipped a torn spool line")
                }
            }
        }
        Ok(entries)
    }

    /// Empties the spool once its entries are committed.
    pub fn clear(&mut self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if let Some(dir) = self.path.parent()
            && let Ok(dir) = File::open(dir)
        {
            // The removal itself is durable, so nothing is replayed twice
            // (and replaying would add nothing anyway).
            let _ = dir.sync_all();
        }
        self.pending = 0;
        Ok(())
    }
}
