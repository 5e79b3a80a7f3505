//! PostgreSQL, for sites where several servers write to one database:
//! the synchronous client on the keeper's own thread, statements prepared
//! once per connection.

use crate::db::{Columns, Db, DbError, DbResult, EachRow, Value};
use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;
use std::time::Duration;

/// How long a connection attempt may take.
const CONNECT: Duration = Duration::from_secs(5);
/// Serialises migrations between servers starting at once.
const MIGRATION_LOCK: i64 = 0x666c_6f6f_7277_616c;

pub struct Postgres {
    client: Client,
    prepared: HashMap<String, Statement>,
}

fn err(e: postgres::Error) -> DbError {
    DbError(e.to_string())
}

impl Postgres {
    /// Connects. Plain TCP or a Unix socket: the records server is on this
    /// host or a trusted network (see docs/records.md).
    pub fn connect(config: &postgres::Config) -> DbResult<Self> {
        let mut config = config.clone();
        config.connect_timeout(CONNECT);
        let client = config.connect(NoTls).map_err(err)?;
        Ok(Self {
            client,
            prepared: HashMap::new(),
        })
    }

    fn statement(&mut self, sql: &str) -> DbResult<Statement> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).map_err(err)?;
        self.prepared.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

fn params(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values
        .iter()
        .map(|value| -> &(dyn ToSql + Sync) {
            match value {
                Value::Int(v) => v,
                Value::Text(v) => v,
                Value::Bool(v) => v,
            }
        })
        .collect()
}

struct PostgresRow<'a>(&'a postgres::Row);

impl Columns for PostgresRow<'_> {
    fn int(&self, i: usize) -> DbResult<Option<i64>> {
        self.0.try_get(i).map_err(err)
    }

    fn text(&self, i: usize) -> DbResult<Option<&str>> {
        self.0.try_get(i).map_err(err)
    }

    fn boolean(&self, i: usize) -> DbResult<bool> {
        self.0.try_get(i).map_err(err)
    }
}

impl Db for Postgres {
    fn exec(&mut self, sql: &str, values: &[Value]) -> DbResult<u64> {
        let statement = self.statement(sql)?;
        self.client
            .execute(&statement, &params(values))
            .map_err(err)
    }

    fn for_each_row(
        &mut self,
        sql: &str,
        values: &[Value],
        each: &mut EachRow<'_>,
    ) -> DbResult<()> {
        let statement = self.statement(sql)?;
        let rows = self
            .client
            .query(&statement, &params(values))
            .map_err(err)?;
        rows.iter().try_for_each(|row| each(&PostgresRow(row)))
    }

    fn begin(&mut self) -> DbResult<()> {
        self.client.batch_execute("BEGIN").map_err(err)
    }

    fn begin_exclusive(&mut self) -> DbResult<()> {
        self.begin()?;
        self.exec(
            "SELECT pg_advisory_xact_lock($1)",
            &[Value::int(MIGRATION_LOCK)],
        )
        .map(|_| ())
    }

    fn commit(&mut self) -> DbResult<()> {
        self.client.batch_execute("COMMIT").map_err(err)
    }

    fn rollback(&mut self) -> DbResult<()> {
        self.client.batch_execute("ROLLBACK").map_err(err)
    }
}
