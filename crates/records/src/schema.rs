//! The schema, as numbered migrations applied at start, each once, in one
//! transaction with its version (see docs/records.md for the columns).
//! Times are milliseconds since the Unix epoch (UTC); `seq` numbers a
//! server run's events, for their order within one millisecond.

use crate::db::{Db, DbError, DbResult, Kind, Lock, Value, in_transaction};

/// Every migration, oldest first: (version, statements). Never edit one
/// that shipped; add the next.
const MIGRATIONS: &[(i64, &[&str])] = &[(
    1,
    &[
        "CREATE TABLE calls (
            server TEXT NOT NULL,
            call_id TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            agent_name TEXT,
            team TEXT NOT NULL,
            queue TEXT,
            recording BOOLEAN NOT NULL,
            started_at BIGINT NOT NULL,
            ended_at BIGINT,
            ended_seq BIGINT,
            PRIMARY KEY (server, call_id)
        )",
        "CREATE INDEX calls_started ON calls (started_at)",
        "CREATE TABLE participants (
            server TEXT NOT NULL,
            run BIGINT NOT NULL,
            leg_id TEXT NOT NULL,
            call_id TEXT NOT NULL,
            supervisor TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            agent_name TEXT,
            team TEXT NOT NULL,
            queue TEXT,
            recording BOOLEAN NOT NULL,
            call_started_at BIGINT NOT NULL,
            joined_at BIGINT NOT NULL,
            joined_seq BIGINT NOT NULL,
            left_at BIGINT,
            left_seq BIGINT,
            left_reason TEXT,
            PRIMARY KEY (server, run, leg_id)
        )",
        "CREATE INDEX participants_joined ON participants (joined_at)",
        "CREATE INDEX participants_open ON participants (server, left_at)",
        "CREATE TABLE mode_segments (
            server TEXT NOT NULL,
            run BIGINT NOT NULL,
            leg_id TEXT NOT NULL,
            seq BIGINT NOT NULL,
            mode TEXT NOT NULL,
            started_at BIGINT NOT NULL,
            ended_at BIGINT,
            PRIMARY KEY (server, run, leg_id, seq)
        )",
    ],
)];

/// The newest version this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |(version, _)| *version)
}

/// Brings the schema up to date; the version it is at. A database from a
/// newer floorwalk is refused rather than written in a shape it does not
/// expect.
pub fn migrate(db: &mut dyn Db) -> DbResult<i64> {
    db.exec(
        "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)",
        &[],
    )?;
    in_transaction(db, Lock::Exclusive, |db| {
        let current = version(db)?;
        if current > latest() {
            return Err(DbError(format!(
                "the records schema is at version {current}, newer than this floorwalk knows ({}): upgrade floorwalk",
                latest()
            )));
        }
        for (number, statements) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            for statement in *statements {
                db.exec(statement, &[])?;
            }
            db.exec("DELETE FROM schema_version", &[])?;
            db.exec(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[Value::int(*number)],
            )?;
        }
        Ok(latest())
    })
}

fn version(db: &mut dyn Db) -> DbResult<i64> {
    let rows = db.query("SELECT MAX(version) FROM schema_version", &[], &[Kind::Int])?;
    Ok(rows
        .first()
        .and_then(|row| row.first())
        .and_then(Value::as_int)
        .unwrap_or(0))
}
