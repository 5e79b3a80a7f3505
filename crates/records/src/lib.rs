//! The quality team's records: every supervisor presence the server core
//! sees, written to SQLite (the default) or PostgreSQL (several servers,
//! one database), and read back as the report's input.
//!
//! - [`Target`]: where the records are (`sqlite:PATH`, `postgres://…`),
//!   the password never in the URL.
//! - `db`: the few things both engines do, behind one small trait, with
//!   `sqlite` and `postgres` behind it; `schema`: the versioned migrations.
//! - `store`: each event as SQL, the rows read back, pruning.
//! - [`Keeper`]: the server core's [`floorwalk_server::RecordKeeper`]: one
//!   writer thread, group commit, the local spool (`spool`) while the
//!   database is away.
//! - `input`: rows as the report's events, for the one report function;
//!   `compare`: where a console's journal and the records disagree.
//!
//! `docs/records.md` states the schema, the durability and what happens
//! when the database goes away.

mod compare;
mod db;
mod input;
mod keeper;
mod postgres;
mod schema;
mod spool;
mod sqlite;
mod store;
mod target;

pub use compare::{Disagreement, Mismatch, compare};
pub use input::{RowEvent, qualified, records_report, report_events};
pub use keeper::{Keeper, check_server_name};
pub use store::{CallRow, Entry, LegRow, Pruned, Rows, Segment, Window};
pub use target::{ENV_PASSWORD, Target};

use anyhow::Context as _;
use db::{Db, DbError, Lock, in_transaction};
use floorwalk_protocol::Timestamp;

/// Opens the records and brings their schema up to date.
fn connect(target: &Target) -> Result<Box<dyn Db>, DbError> {
    let mut db: Box<dyn Db> = match target {
        Target::Sqlite(path) => Box::new(sqlite::Sqlite::open(path)?),
        Target::Postgres { config, .. } => Box::new(postgres::Postgres::connect(config)?),
    };
    schema::migrate(db.as_mut())?;
    Ok(db)
}

/// The records, opened for reading and pruning.
pub struct Records {
    db: Box<dyn Db>,
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records").finish_non_exhaustive()
    }
}

impl Records {
    pub fn open(target: &Target) -> anyhow::Result<Self> {
        let db = connect(target)
            .with_context(|| format!("cannot open the records at {}", target.label()))?;
        Ok(Self { db })
    }

    /// The legs joined and calls started in `window`, of one supervisor or
    /// all.
    pub fn load(&mut self, window: Window, supervisor: Option<&str>) -> anyhow::Result<Rows> {
        Ok(store::load(self.db.as_mut(), window, supervisor)?)
    }

    /// Removes what ended before `before`, in one transaction.
    pub fn prune(&mut self, before: Timestamp) -> anyhow::Result<Pruned> {
        Ok(in_transaction(self.db.as_mut(), Lock::Write, |db| {
            store::prune(db, before)
        })?)
    }

    /// Writes entries as a keeper would (for benchmarks and tests that
    /// fill the records without a server), in one transaction.
    pub fn write(&mut self, entries: &[Entry]) -> anyhow::Result<()> {
        Ok(in_transaction(self.db.as_mut(), Lock::Write, |db| {
            entries.iter().try_for_each(|entry| store::write(db, entry))
        })?)
    }
}

#[cfg(test)]
mod tests;
