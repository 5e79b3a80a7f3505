//! The [`RecordKeeper`] the binary plugs into the server core: one thread
//! that owns the connection, commits whatever is queued in one transaction
//! (group commit: one sync for many rows), answers each event once it is
//! committed, and when the database is away keeps events in the local
//! [`Spool`] and writes them, in order, when it is back.

use crate::db::{Db, DbError, Kind, Lock, in_transaction};
use crate::spool::Spool;
use crate::store::{self, Entry};
use crate::{Target, connect};
use anyhow::{Context as _, bail};
use floorwalk_protocol::Timestamp;
use floorwalk_server::{Commit, RecordEvent, RecordKeeper};
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The most events committed in one transaction.
const MAX_BATCH: usize = 4096;
/// How often a database that went away is tried again.
const RETRY: Duration = Duration::from_secs(1);
/// How often an idle connection is checked, so joins are refused soon
/// after the database goes, not only after a write failed.
const IDLE_CHECK: Duration = Duration::from_secs(2);

struct Job {
    event: RecordEvent,
    done: oneshot::Sender<Result<(), String>>,
}

/// Why the keeper cannot write, shared with the hub's question.
type Down = Arc<Mutex<Option<String>>>;

/// Writes a server's records; see the module docs.
pub struct Keeper {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    down: Down,
    thread: Mutex<Option<JoinHandle<()>>>,
    label: String,
}

impl std::fmt::Debug for Keeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keeper")
            .field("records", &self.label)
            .finish_non_exhaustive()
    }
}

/// A server's name as the records keep it: letters, digits, `-`, `_`, `.`.
pub fn check_server_name(name: &str) -> anyhow::Result<()> {
    let fine = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > 64 || !name.chars().all(fine) {
        bail!("a server's name must be 1 to 64 letters, digits, `-`, `_` or `.`, not `{name}`");
    }
    Ok(())
}

impl Keeper {
    /// Connects, applies the migrations, writes what an earlier run left
    /// in the spool, and starts the writer. Any failure here (a file that
    /// is not a database, read-only, a database that refuses) stops the
    /// server from starting, with the reason.
    pub fn open(target: Target, server: &str, spool_dir: &Path) -> anyhow::Result<Arc<Self>> {
        check_server_name(server)?;
        let label = target.label();
        let spool = Spool::open(spool_dir, server)
            .with_context(|| format!("cannot open the records spool in {}", spool_dir.display()))?;
        let down: Down = Arc::default();
        let (jobs, inbox) = mpsc::channel();
        let (ready, opened) = mpsc::channel();
        let (name, shared) = (server.to_owned(), Arc::clone(&down));
        // The connection is made on the writer's own thread: PostgreSQL's
        // synchronous client must not run inside the caller's async runtime.
        let thread = std::thread::Builder::new()
            .name("records".into())
            .spawn(move || {
                let db = match connect(&target) {
                    Ok(db) => db,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let mut writer = Writer {
                    target,
                    db: Some(db),
                    spool,
                    server: name,
                    run: Timestamp::now().millis(),
                    seq: 0,
                    down: shared,
                    tried: None,
                };
                if !writer.spool.is_empty() {
                    writer.recover();
                }
                let _ = ready.send(Ok(()));
                writer.run(&inbox);
            })
            .context("cannot start the records writer")?;
        match opened.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e).with_context(|| format!("cannot open the records at {label}"));
            }
            Err(_) => bail!("the records writer stopped while opening {label}"),
        }
        tracing::info!(records = %label, server, "writing supervisor presence");
        Ok(Arc::new(Self {
            jobs: Mutex::new(Some(jobs)),
            down,
            thread: Mutex::new(Some(thread)),
            label,
        }))
    }

    /// Writes (or spools) everything queued and stops the writer.
    pub fn close(&self) {
        drop(
            self.jobs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!("the records writer panicked");
        }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        self.close();
    }
}

impl RecordKeeper for Keeper {
    fn write(&self, event: RecordEvent) -> Commit {
        let (done, commit) = oneshot::channel();
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        match jobs.as_ref() {
            Some(jobs) => {
                // A writer that is gone drops `done`: the waiter hears so.
                let _ = jobs.send(Job { event, done });
            }
            None => {
                let _ = done.send(Err("the records keeper has stopped".into()));
            }
        }
        commit
    }

    fn unavailable(&self) -> Option<String> {
        self.down
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

struct Writer {
    target: Target,
    /// `None` after a failure, until a reconnect works.
    db: Option<Box<dyn Db>>,
    spool: Spool,
    server: String,
    /// This run of the server (its start, in ms): leg ids are unique in it.
    run: i64,
    seq: i64,
    down: Down,
    /// The last attempt to reach the database again.
    tried: Option<Instant>,
}

impl Writer {
    fn run(mut self, inbox: &mpsc::Receiver<Job>) {
        loop {
            let healthy = self.db.is_some() && self.spool.is_empty();
            let wait = if healthy { IDLE_CHECK } else { RETRY };
            let mut batch = match inbox.recv_timeout(wait) {
                Ok(job) => vec![job],
                Err(RecvTimeoutError::Timeout) => Vec::new(),
                Err(RecvTimeoutError::Disconnected) => break,
            };
            while batch.len() < MAX_BATCH {
                match inbox.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                if healthy {
                    self.check();
                } else {
                    self.recover();
                }
                continue;
            }
            let (events, waiters): (Vec<RecordEvent>, Vec<_>) =
                batch.into_iter().map(|job| (job.event, job.done)).unzip();
            let entries: Vec<Entry> = events.into_iter().map(|e| self.entry(e)).collect();
            let outcome = self.commit(&entries);
            for waiter in waiters {
                // The asker may have given up waiting.
                let _ = waiter.send(outcome.clone());
            }
        }
        if !self.spool.is_empty() {
            self.tried = None;
            self.recover();
        }
    }

    fn entry(&mut self, event: RecordEvent) -> Entry {
        self.seq += 1;
        Entry {
            server: self.server.clone(),
            run: self.run,
            seq: self.seq,
            event,
        }
    }

    /// Commits `entries`, or keeps them in the spool (behind what waits
    /// there already, so the order holds) and says why they are not in the
    /// database yet.
    fn commit(&mut self, entries: &[Entry]) -> Result<(), String> {
        if self.spool.is_empty() {
            match self.write_all(entries) {
                Ok(()) => return Ok(()),
                Err(e) => self.went_away(&e),
            }
        }
        if let Err(e) = self.spool.append(entries) {
            tracing::error!(path = %self.spool.path().display(), %e, "cannot keep records on disk either: they are lost");
            return Err(format!(
                "{}; nor can it keep them on local disk ({e})",
                self.why()
            ));
        }
        self.recover();
        if self.spool.is_empty() {
            Ok(())
        } else {
            Err(self.why())
        }
    }

    fn why(&self) -> String {
        self.down
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| "the records database is unreachable".into())
    }

    fn write_all(&mut self, entries: &[Entry]) -> Result<(), DbError> {
        let mut db = match self.db.take() {
            Some(db) => db,
            None => connect(&self.target)?,
        };
        let written = in_transaction(db.as_mut(), Lock::Write, |db| {
            entries.iter().try_for_each(|entry| store::write(db, entry))
        });
        // After a failure, start again from a fresh connection next time.
        if written.is_ok() {
            self.db = Some(db);
        }
        written
    }

    fn went_away(&mut self, e: &DbError) {
        let why = format!(
            "the records database {} cannot be written: {e}",
            self.target.label()
        );
        let mut down = self.down.lock().unwrap_or_else(PoisonError::into_inner);
        if down.is_none() {
            tracing::warn!("{why}; joins are refused, leaves are kept on disk until it is back");
        }
        *down = Some(why);
    }

    /// An idle connection still answers, or the database counts as away.
    fn check(&mut self) {
        let answered = match &mut self.db {
            // BIGINT on both engines (PostgreSQL's plain 1 is a 4-byte int).
            Some(db) => (db.query("SELECT CAST(1 AS BIGINT)", &[], &[Kind::Int])).map(drop),
            None => return,
        };
        if let Err(e) = answered {
            self.db = None;
            self.went_away(&e);
        }
    }

    /// Reaches the database again (at most once per [`RETRY`]) and writes
    /// the spool into it, in one transaction.
    fn recover(&mut self) {
        if self.tried.is_some_and(|at| at.elapsed() < RETRY) {
            return;
        }
        self.tried = Some(Instant::now());
        let kept = match self.spool.read() {
            Ok(kept) => kept,
            Err(e) => {
                tracing::error!(path = %self.spool.path().display(), %e, "cannot read the records spool");
                return;
            }
        };
        if let Err(e) = self.write_all(&kept) {
            self.went_away(&e);
            return;
        }
        if let Err(e) = self.spool.clear() {
            tracing::error!(path = %self.spool.path().display(), %e, "cannot empty the records spool (its entries are written; replaying them adds nothing)");
            return;
        }
        let was_down = self
            .down
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if was_down.is_some() || !kept.is_empty() {
            tracing::info!(
                kept = kept.len(),
                "the records database is back: wrote what was kept on disk"
            );
        }
    }
}
