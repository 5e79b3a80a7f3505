//! The little both engines must do: run a statement, read rows, begin and
//! end a transaction. Everything else (the schema, writes, reads, pruning)
//! is written once over [`Db`], in SQL both engines speak: `$1`-style
//! parameters (SQLite gets them as `?1`), `BIGINT`, `BOOLEAN`, `TEXT`,
//! `INSERT … ON CONFLICT`.

/// One parameter or column value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
}

impl Value {
    pub fn int(v: i64) -> Self {
        Value::Int(Some(v))
    }

    pub fn text(v: impl Into<String>) -> Self {
        Value::Text(Some(v.into()))
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(v) => *v,
            _ => None,
        }
    }

    pub fn into_text(self) -> Option<String> {
        match self {
            Value::Text(v) => v,
            _ => None,
        }
    }
}

/// The type of a column read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
}

/// A database error, with the engine's words.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DbError(pub String);

pub type DbResult<T> = Result<T, DbError>;

/// One row of a query, its columns read in place: text is borrowed from
/// the engine's row, not copied.
pub trait Columns {
    fn int(&self, i: usize) -> DbResult<Option<i64>>;
    fn text(&self, i: usize) -> DbResult<Option<&str>>;
    fn boolean(&self, i: usize) -> DbResult<bool>;
}

/// A callback that reads one row.
pub type EachRow<'a> = dyn FnMut(&dyn Columns) -> DbResult<()> + 'a;

/// An open connection to one engine.
pub trait Db: Send {
    /// Runs a statement; the number of rows it changed.
    fn exec(&mut self, sql: &str, params: &[Value]) -> DbResult<u64>;
    /// Runs a query and hands each row to `each`, in order, without
    /// copying it first (the report reads a million rows this way).
    fn for_each_row(&mut self, sql: &str, params: &[Value], each: &mut EachRow<'_>)
    -> DbResult<()>;
    /// Runs a query; each row's columns read as `kinds`.
    fn query(&mut self, sql: &str, params: &[Value], kinds: &[Kind]) -> DbResult<Vec<Vec<Value>>> {
        let mut out = Vec::new();
        self.for_each_row(sql, params, &mut |row| {
            let values = (kinds.iter().enumerate())
                .map(|(i, kind)| {
                    Ok(match kind {
                        Kind::Int => Value::Int(row.int(i)?),
                        Kind::Text => Value::Text(row.text(i)?.map(str::to_owned)),
                    })
                })
                .collect::<DbResult<Vec<Value>>>()?;
            out.push(values);
            Ok(())
        })?;
        Ok(out)
    }
    /// Begins a transaction that writes (SQLite takes the write lock now).
    fn begin(&mut self) -> DbResult<()>;
    /// Begins a transaction no other server migrates in at the same time.
    fn begin_exclusive(&mut self) -> DbResult<()>;
    fn commit(&mut self) -> DbResult<()>;
    fn rollback(&mut self) -> DbResult<()>;
}

/// Which transaction: a plain write, or one no other server migrates in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    Write,
    Exclusive,
}

/// Runs `work` in a transaction: committed if it succeeds, rolled back if
/// not.
pub fn in_transaction<T>(
    db: &mut dyn Db,
    lock: Lock,
    work: impl FnOnce(&mut dyn Db) -> DbResult<T>,
) -> DbResult<T> {
    match lock {
        Lock::Write => db.begin()?,
        Lock::Exclusive => db.begin_exclusive()?,
    }
    match work(db) {
        Ok(value) => {
            db.commit()?;
            Ok(value)
        }
        Err(e) => {
            // The connection may be gone; the error that matters is `e`.
            let _ = db.rollback();
            Err(e)
        }
    }
}
