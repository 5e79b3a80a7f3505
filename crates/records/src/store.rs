//! What the records say, written and read over [`Db`]: one function per
//! event, the rows the report reads, and pruning.
//!
//! Every write is idempotent (inserts `ON CONFLICT DO NOTHING`, updates
//! only of what is still open), so events replayed from the spool after a
//! commit whose outcome was unknown add nothing twice.

use crate::db::{Columns, Db, DbResult, Kind, Value};
use floorwalk_protocol::{Mode, Timestamp};
use floorwalk_server::{CallRecord, EndReason, RecordEvent};
use foldhash::{HashMap, HashSet};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One event as written: by which server, in which of its runs, its
/// number in that run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub server: String,
    pub run: i64,
    pub seq: i64,
    pub event: RecordEvent,
}

/// Writes one entry (inside the caller's transaction).
pub fn write(db: &mut dyn Db, entry: &Entry) -> DbResult<()> {
    let (server, run, seq) = (entry.server.as_str(), entry.run, entry.seq);
    match &entry.event {
        RecordEvent::Started { at, calls } => restarted(db, server, *at, seq, calls),
        RecordEvent::CallStarted(call) => upsert_call(db, server, call),
        RecordEvent::CallEnded { call_id, at } => db
            .exec(
                "UPDATE calls SET ended_at = $1, ended_seq = $2
                 WHERE server = $3 AND call_id = $4 AND ended_at IS NULL",
                &[
                    Value::int(at.millis()),
                    Value::int(seq),
                    Value::text(server),
                    Value::text(call_id.as_str()),
                ],
            )
            .map(drop),
        RecordEvent::Joined(join) => {
            let mut values = vec![
                Value::text(server),
                Value::int(run),
                Value::text(join.leg_id.as_str()),
                Value::text(join.supervisor.as_str()),
                Value::int(join.joined_at.millis()),
                Value::int(seq),
            ];
            values.extend(call_values(&join.call));
            db.exec(
                "INSERT INTO participants (server, run, leg_id, supervisor, joined_at, joined_seq,
                    call_id, agent_id, agent_name, team, queue, recording, call_started_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT DO NOTHING",
                &values,
            )?;
            open_segment(
                db,
                (server, run, &join.leg_id),
                seq,
                join.mode,
                join.joined_at,
            )
        }
        RecordEvent::ModeChanged { leg_id, mode, at } => {
            close_segments(db, (server, run, leg_id), *at)?;
            open_segment(db, (server, run, leg_id), seq, *mode, *at)
        }
        RecordEvent::Left { leg_id, at, reason } => {
            close_segments(db, (server, run, leg_id), *at)?;
            db.exec(
                "UPDATE participants SET left_at = $1, left_seq = $2, left_reason = $3
                 WHERE server = $4 AND run = $5 AND leg_id = $6 AND left_at IS NULL",
                &[
                    Value::int(at.millis()),
                    Value::int(seq),
                    Value::text(reason.as_str()),
                    Value::text(server),
                    Value::int(run),
                    Value::text(leg_id.as_str()),
                ],
            )
            .map(drop)
        }
    }
}

type LegKey<'a> = (&'a str, i64, &'a str);

fn open_segment(
    db: &mut dyn Db,
    (server, run, leg_id): LegKey<'_>,
    seq: i64,
    mode: Mode,
    at: Timestamp,
) -> DbResult<()> {
    db.exec(
        "INSERT INTO mode_segments (server, run, leg_id, seq, mode, started_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        &[
            Value::text(server),
            Value::int(run),
            Value::text(leg_id),
            Value::int(seq),
            Value::text(mode.as_str()),
            Value::int(at.millis()),
        ],
    )
    .map(drop)
}

fn close_segments(
    db: &mut dyn Db,
    (server, run, leg_id): LegKey<'_>,
    at: Timestamp,
) -> DbResult<()> {
    db.exec(
        "UPDATE mode_segments SET ended_at = $1
         WHERE server = $2 AND run = $3 AND leg_id = $4 AND ended_at IS NULL",
        &[
            Value::int(at.millis()),
            Value::text(server),
            Value::int(run),
            Value::text(leg_id),
        ],
    )
    .map(drop)
}

/// A call starts, or is on the floor when the server starts: its row says
/// so (a call id a restarted simulator uses again starts afresh).
fn upsert_call(db: &mut dyn Db, server: &str, call: &CallRecord) -> DbResult<()> {
    let mut values = vec![Value::text(server)];
    values.extend(call_values(call));
    db.exec(
        "INSERT INTO calls (server, call_id, agent_id, agent_name, team, queue, recording, started_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (server, call_id) DO UPDATE SET agent_id = excluded.agent_id,
            agent_name = excluded.agent_name, team = excluded.team, queue = excluded.queue,
            recording = excluded.recording, started_at = excluded.started_at,
            ended_at = NULL, ended_seq = NULL",
        &values,
    )
    .map(drop)
}

/// A call's columns, in the order both tables list them: `call_id`,
/// `agent_id`, `agent_name`, `team`, `queue`, `recording`, its start.
fn call_values(call: &CallRecord) -> [Value; 7] {
    [
        Value::text(call.call_id.as_str()),
        Value::text(call.agent_id.as_str()),
        Value::Text(call.agent_name.clone()),
        Value::text(call.team.as_str()),
        Value::Text(call.queue.clone()),
        Value::Bool(call.recording),
        Value::int(call.started_at.millis()),
    ]
}

/// The server started again: what its last run left open is closed now,
/// legs with `server_restart`, calls no longer on the floor as ended.
fn restarted(
    db: &mut dyn Db,
    server: &str,
    at: Timestamp,
    seq: i64,
    calls: &[CallRecord],
) -> DbResult<()> {
    let now = Value::int(at.millis());
    db.exec(
        "UPDATE mode_segments SET ended_at = $1 WHERE server = $2 AND ended_at IS NULL",
        &[now.clone(), Value::text(server)],
    )?;
    let closed = db.exec(
        "UPDATE participants SET left_at = $1, left_seq = $2, left_reason = $3
         WHERE server = $4 AND left_at IS NULL",
        &[
            now.clone(),
            Value::int(seq),
            Value::text(EndReason::ServerRestart.as_str()),
            Value::text(server),
        ],
    )?;
    if closed > 0 {
        tracing::warn!(
            server,
            legs = closed,
            "closed the legs the server's last run left open (server_restart)"
        );
    }
    let open = db.query(
        "SELECT call_id FROM calls WHERE server = $1 AND ended_at IS NULL",
        &[Value::text(server)],
        &[Kind::Text],
    )?;
    for row in open {
        let Some(call_id) = row.into_iter().next().and_then(Value::into_text) else {
            continue;
        };
        if calls.iter().any(|c| c.call_id == call_id) {
            continue;
        }
        db.exec(
            "UPDATE calls SET ended_at = $1, ended_seq = $2 WHERE server = $3 AND call_id = $4",
            &[
                now.clone(),
                Value::int(seq),
                Value::text(server),
                Value::text(call_id),
            ],
        )?;
    }
    for call in calls {
        upsert_call(db, server, call)?;
    }
    Ok(())
}

/// A participant row, read back.
/// A participant row, read back. Text that repeats from row to row
/// (servers, supervisors, agents, teams, reasons) is shared, not copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegRow {
    pub server: Arc<str>,
    pub run: i64,
    pub leg_id: String,
    pub call_id: String,
    pub supervisor: Arc<str>,
    pub agent_id: Arc<str>,
    pub agent_name: Option<Arc<str>>,
    pub team: Arc<str>,
    pub queue: Option<Arc<str>>,
    pub recording: bool,
    pub joined_at: Timestamp,
    pub joined_seq: i64,
    pub left_at: Option<Timestamp>,
    pub left_seq: Option<i64>,
    pub left_reason: Option<Arc<str>>,
    /// Its mode segments, in order: (seq, mode, start).
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub seq: i64,
    pub mode: Mode,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

/// A call row, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    pub server: Arc<str>,
    pub call_id: String,
    pub agent_id: Arc<str>,
    pub agent_name: Option<Arc<str>>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub ended_seq: Option<i64>,
}

/// The rows of a time window: legs joined and calls started in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows {
    pub legs: Vec<LegRow>,
    pub calls: Vec<CallRow>,
}

/// Times in `[from, to)`, milliseconds; `None`: unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl Window {
    /// ` WHERE …` keeping `column` in the window, with its parameters
    /// (`$1` on); nothing for an unbounded side, so reading everything
    /// scans the table rather than walking an index row by row.
    fn condition(self, column: &str, and: Option<(&str, Value)>) -> (String, Vec<Value>) {
        let mut conditions = Vec::new();
        let mut params = Vec::new();
        let bounds = [(">=", self.from), ("<", self.to)];
        for (op, bound) in bounds.into_iter().filter_map(|(op, b)| Some((op, b?))) {
            params.push(Value::int(bound));
            conditions.push(format!("{column} {op} ${}", params.len()));
        }
        if let Some((column, value)) = and {
            params.push(value);
            conditions.push(format!("{column} = ${}", params.len()));
        }
        if conditions.is_empty() {
            return (String::new(), params);
        }
        (format!(" WHERE {}", conditions.join(" AND ")), params)
    }
}

/// Text that repeats from row to row, kept once.
#[derive(Default)]
struct Shared(HashSet<Arc<str>>);

impl Shared {
    fn text(&mut self, row: &dyn Columns, i: usize) -> DbResult<Arc<str>> {
        Ok(self.optional(row, i)?.unwrap_or_else(|| self.get("")))
    }

    fn optional(&mut self, row: &dyn Columns, i: usize) -> DbResult<Option<Arc<str>>> {
        Ok(row.text(i)?.map(|text| self.get(text)))
    }

    fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(known) = self.0.get(text) {
            return Arc::clone(known);
        }
        let new: Arc<str> = text.into();
        self.0.insert(Arc::clone(&new));
        new
    }
}

fn mode_of(word: &str) -> Mode {
    Mode::ALL
        .into_iter()
        .find(|m| m.as_str() == word)
        .unwrap_or(Mode::Silent)
}

/// Reads the legs joined and the calls started in `window`, of one
/// supervisor or all.
pub fn load(db: &mut dyn Db, window: Window, supervisor: Option<&str>) -> DbResult<Rows> {
    let only = supervisor.map(|s| ("p.supervisor", Value::text(s)));
    let (condition, params) = window.condition("p.joined_at", only);
    let legs_sql = format!(
        "SELECT p.server, p.run, p.leg_id, p.call_id, p.supervisor, p.agent_id, p.agent_name,
            p.team, p.queue, p.recording, p.joined_at, p.joined_seq, p.left_at, p.left_seq,
            p.left_reason
         FROM participants p{condition}"
    );
    let text = |row: &dyn Columns, i| -> DbResult<String> {
        Ok(row.text(i)?.unwrap_or_default().to_owned())
    };
    let mut shared = Shared::default();
    let mut legs: Vec<LegRow> = Vec::new();
    db.for_each_row(&legs_sql, &params, &mut |row| {
        legs.push(LegRow {
            server: shared.text(row, 0)?,
            run: row.int(1)?.unwrap_or_default(),
            leg_id: text(row, 2)?,
            call_id: text(row, 3)?,
            supervisor: shared.text(row, 4)?,
            agent_id: shared.text(row, 5)?,
            agent_name: shared.optional(row, 6)?,
            team: shared.text(row, 7)?,
            queue: shared.optional(row, 8)?,
            recording: row.boolean(9)?,
            joined_at: Timestamp::from_millis(row.int(10)?.unwrap_or_default()),
            joined_seq: row.int(11)?.unwrap_or_default(),
            left_at: row.int(12)?.map(Timestamp::from_millis),
            left_seq: row.int(13)?,
            left_reason: shared.optional(row, 14)?,
            segments: Vec::new(),
        });
        Ok(())
    })?;
    // No join: a leg's segments start at or after its join, so the lower
    // bound keeps them all, and the legs' index below drops the others.
    // Paired by key, not by order: engines collate text differently.
    let index: HashMap<(&str, i64, &str), usize> = (legs.iter().enumerate())
        .map(|(i, leg)| ((&*leg.server, leg.run, leg.leg_id.as_str()), i))
        .collect();
    let mut segments: Vec<(usize, Segment)> = Vec::new();
    let since = Window { to: None, ..window };
    let (condition, params) = since.condition("started_at", None);
    db.for_each_row(
        &format!(
            "SELECT server, run, leg_id, seq, mode, started_at, ended_at
             FROM mode_segments{condition}"
        ),
        &params,
        &mut |row| {
            let key = (
                row.text(0)?.unwrap_or_default(),
                row.int(1)?.unwrap_or_default(),
                row.text(2)?.unwrap_or_default(),
            );
            if let Some(&leg) = index.get(&key) {
                let segment = Segment {
                    seq: row.int(3)?.unwrap_or_default(),
                    mode: mode_of(row.text(4)?.unwrap_or_default()),
                    started_at: Timestamp::from_millis(row.int(5)?.unwrap_or_default()),
                    ended_at: row.int(6)?.map(Timestamp::from_millis),
                };
                segments.push((leg, segment));
            }
            Ok(())
        },
    )?;
    for (leg, segment) in segments {
        legs[leg].segments.push(segment);
    }
    for leg in &mut legs {
        leg.segments.sort_unstable_by_key(|segment| segment.seq);
    }
    let mut calls = Vec::new();
    let (condition, params) = window.condition("started_at", None);
    db.for_each_row(
        &format!(
            "SELECT server, call_id, agent_id, agent_name, started_at, ended_at, ended_seq
             FROM calls{condition}"
        ),
        &params,
        &mut |row| {
            calls.push(CallRow {
                server: shared.text(row, 0)?,
                call_id: text(row, 1)?,
                agent_id: shared.text(row, 2)?,
                agent_name: shared.optional(row, 3)?,
                started_at: Timestamp::from_millis(row.int(4)?.unwrap_or_default()),
                ended_at: row.int(5)?.map(Timestamp::from_millis),
                ended_seq: row.int(6)?,
            });
            Ok(())
        },
    )?;
    Ok(Rows { legs, calls })
}

/// What a prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub legs: u64,
    pub segments: u64,
    pub calls: u64,
}

/// Removes the legs that left, and the calls that ended, before `before`;
/// open legs and calls stay, however old.
pub fn prune(db: &mut dyn Db, before: Timestamp) -> DbResult<Pruned> {
    let cutoff = Value::int(before.millis());
    let legs = db.exec(
        "DELETE FROM participants WHERE left_at IS NOT NULL AND left_at < $1",
        std::slice::from_ref(&cutoff),
    )?;
    let segments = db.exec(
        "DELETE FROM mode_segments WHERE NOT EXISTS (SELECT 1 FROM participants p
           WHERE p.server = mode_segments.server AND p.run = mode_segments.run
             AND p.leg_id = mode_segments.leg_id)",
        &[],
    )?;
    let calls = db.exec(
        "DELETE FROM calls WHERE ended_at IS NOT NULL AND ended_at < $1",
        &[cutoff],
    )?;
    Ok(Pruned {
        legs,
        segments,
        calls,
    })
}
