//! SQLite: one file, WAL, every commit synced (`synchronous=FULL`), so a
//! row committed survives `kill -9` and a power cut.

use crate::db::{Columns, Db, DbError, DbResult, EachRow, Value};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// How long a write waits for another writer (another process on the
/// same file) before it counts as failed.
const BUSY: Duration = Duration::from_secs(5);

pub struct Sqlite {
    conn: Connection,
}

fn err(e: rusqlite::Error) -> DbError {
    DbError(e.to_string())
}

impl Sqlite {
    /// Opens (creating if missing) the file and sets it up for durable
    /// writes. A file that is not a database, or cannot be written, is an
    /// error here, not at the first join.
    pub fn open(path: &Path) -> DbResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(err)?;
        conn.busy_timeout(BUSY).map_err(err)?;
        // A file it may not write opens read-only without complaint.
        if conn.is_readonly(rusqlite::MAIN_DB).map_err(err)? {
            return Err(DbError("the file is read-only to this user".into()));
        }
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(DbError(format!(
                "cannot switch to write-ahead logging (journal mode stays {mode})"
            )));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;")
            .map_err(err)?;
        Ok(Self { conn })
    }
}

struct SqliteRow<'a>(&'a rusqlite::Row<'a>);

impl Columns for SqliteRow<'_> {
    fn int(&self, i: usize) -> DbResult<Option<i64>> {
        self.0.get(i).map_err(err)
    }

    fn text(&self, i: usize) -> DbResult<Option<&str>> {
        let value = self.0.get_ref(i).map_err(err)?;
        value.as_str_or_null().map_err(|e| DbError(e.to_string()))
    }

    fn boolean(&self, i: usize) -> DbResult<bool> {
        self.0.get(i).map_err(err)
    }
}

fn to_sql(value: &Value) -> SqlValue {
    match value {
        Value::Int(Some(v)) => SqlValue::Integer(*v),
        Value::Text(Some(v)) => SqlValue::Text(v.clone()),
        Value::Bool(v) => SqlValue::Integer(i64::from(*v)),
        Value::Int(None) | Value::Text(None) => SqlValue::Null,
    }
}

/// `$1` to `?1`: the one spelling the two engines do not share.
fn spelled(sql: &str) -> String {
    sql.replace('$', "?")
}

impl Db for Sqlite {
    fn exec(&mut self, sql: &str, params: &[Value]) -> DbResult<u64> {
        let mut statement = self.conn.prepare_cached(&spelled(sql)).map_err(err)?;
        let changed = statement
            .execute(rusqlite::params_from_iter(params.iter().map(to_sql)))
            .map_err(err)?;
        Ok(changed as u64)
    }

    fn for_each_row(
        &mut self,
        sql: &str,
        params: &[Value],
        each: &mut EachRow<'_>,
    ) -> DbResult<()> {
        let mut statement = self.conn.prepare_cached(&spelled(sql)).map_err(err)?;
        let mut rows = statement
            .query(rusqlite::params_from_iter(params.iter().map(to_sql)))
            .map_err(err)?;
        while let Some(row) = rows.next().map_err(err)? {
            each(&SqliteRow(row))?;
        }
        Ok(())
    }

    fn begin(&mut self) -> DbResult<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(err)
    }

    fn begin_exclusive(&mut self) -> DbResult<()> {
        self.begin()
    }

    fn commit(&mut self) -> DbResult<()> {
        self.conn.execute_batch("COMMIT").map_err(err)
    }

    fn rollback(&mut self) -> DbResult<()> {
        self.conn.execute_batch("ROLLBACK").map_err(err)
    }
}
