//! The server's records (docs/records.md), measured:
//!
//! - participant rows per second through the keeper the server uses (group
//!   commit: every row committed and synced before its join is confirmed),
//!   into SQLite and into PostgreSQL (a cluster of the bench's own, as in
//!   the tests), with every join in flight at once and one at a time;
//! - `report` over 1,000,000 participant rows in SQLite: reading the rows,
//!   turning them into the report's events, and the report itself.
//!
//! `cargo bench --bench records` (add `-- sqlite` to skip PostgreSQL,
//! `-- report` for the report alone).
//! Medians and p95s of several runs; results go in docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/postgres.rs"]
mod postgres;

use floorwalk_console::audit::{Filter, report_of};
use floorwalk_protocol::{Mode, Timestamp};
use floorwalk_records::{Entry, Keeper, Records, Target, Window, qualified, report_events};
use floorwalk_server::{CallRecord, EndReason, JoinRecord, RecordEvent, RecordKeeper};
use std::time::{Duration, Instant};

const ROWS_IN_FLIGHT: usize = 20_000;
const ROWS_ONE_BY_ONE: usize = 300;
const RUNS: usize = 5;
const REPORT_ROWS: usize = 1_000_000;

fn call(n: usize) -> CallRecord {
    CallRecord {
        call_id: format!("c-{n}"),
        agent_id: format!("a-{}", n % 500),
        agent_name: Some(format!("Agent {}", n % 500)),
        team: "billing".into(),
        queue: Some("billing".into()),
        recording: n % 3 == 0,
        started_at: Timestamp::from_millis(1_767_225_600_000 + n as i64 * 1_000),
    }
}

fn join(n: usize) -> RecordEvent {
    let call = call(n);
    RecordEvent::Joined(JoinRecord {
        leg_id: format!("l-{n}"),
        supervisor: format!("sup-{}", n % 20),
        joined_at: call.started_at.plus_millis(5_000),
        call,
        mode: Mode::Silent,
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn summary(label: &str, mut values: Vec<f64>, unit: &str) {
    values.sort_by(f64::total_cmp);
    println!(
        "{label}: median {:.0} {unit}, p95 {:.0} {unit}, min {:.0}, max {:.0} ({} runs)",
        percentile(&values, 0.5),
        percentile(&values, 0.95),
        values[0],
        values[values.len() - 1],
        values.len()
    );
}

/// Rows per second through a fresh keeper on `target`: all in flight, then
/// one at a time (each waits for its commit, as one join does).
fn insert_rate(name: &str, target: impl Fn(usize) -> Target, spool: &std::path::Path) {
    let mut in_flight = Vec::new();
    let mut one_by_one = Vec::new();
    for run in 0..RUNS {
        let keeper = Keeper::open(target(run), &format!("bench{run}"), spool).unwrap();
        let start = Instant::now();
        let commits: Vec<_> = (0..ROWS_IN_FLIGHT).map(|n| keeper.write(join(n))).collect();
        for commit in commits {
            commit.blocking_recv().unwrap().unwrap();
        }
        in_flight.push(ROWS_IN_FLIGHT as f64 / start.elapsed().as_secs_f64());
        let start = Instant::now();
        for n in ROWS_IN_FLIGHT..ROWS_IN_FLIGHT + ROWS_ONE_BY_ONE {
            keeper.write(join(n)).blocking_recv().unwrap().unwrap();
        }
        one_by_one.push(ROWS_ONE_BY_ONE as f64 / start.elapsed().as_secs_f64());
        keeper.close();
    }
    summary(
        &format!("{name}: participant rows/s, {ROWS_IN_FLIGHT} joins in flight"),
        in_flight,
        "rows/s",
    );
    summary(
        &format!("{name}: participant rows/s, one join at a time"),
        one_by_one,
        "rows/s",
    );
}

/// 1,000,000 legs (each joined, one mode switch, left), 20 supervisors,
/// 500 agents; then the whole report over them, timed.
fn report_time(dir: &std::path::Path) {
    let target = Target::parse(&format!("sqlite:{}", dir.join("report.sqlite").display())).unwrap();
    let mut records = Records::open(&target).unwrap();
    let fill = Instant::now();
    let mut seq = 0;
    let mut entry = |event| {
        seq += 1;
        Entry {
            server: "bench".into(),
            run: 1,
            seq,
            event,
        }
    };
    for chunk in (0..REPORT_ROWS).collect::<Vec<_>>().chunks(20_000) {
        let mut entries = Vec::with_capacity(chunk.len() * 4);
        for &n in chunk {
            let started = call(n).started_at;
            entries.push(entry(RecordEvent::CallStarted(call(n))));
            entries.push(entry(join(n)));
            entries.push(entry(RecordEvent::ModeChanged {
                leg_id: format!("l-{n}"),
                mode: Mode::Whisper,
                at: started.plus_millis(20_000),
            }));
            entries.push(entry(RecordEvent::Left {
                leg_id: format!("l-{n}"),
                at: started.plus_millis(65_000),
                reason: EndReason::Disconnected,
            }));
        }
        records.write(&entries).unwrap();
    }
    println!(
        "filled {REPORT_ROWS} participant rows in {:.1} s",
        fill.elapsed().as_secs_f64()
    );
    let (mut load, mut convert, mut build, mut total) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let start = Instant::now();
        let rows = records.load(Window::default(), None).unwrap();
        let loaded = Instant::now();
        let rows = qualified(&rows);
        let events = report_events(&rows, None);
        let converted = Instant::now();
        let report = report_of(&events, &[], &Filter::default());
        let built = Instant::now();
        assert_eq!(report.overall.sessions, REPORT_ROWS as u64);
        assert_eq!(report.overall.whisper_ms, REPORT_ROWS as u64 * 45_000);
        load.push(ms(loaded - start));
        convert.push(ms(converted - loaded));
        build.push(ms(built - converted));
        total.push(ms(built - start));
    }
    let what = "report over 1,000,000 rows (SQLite)";
    summary(&format!("{what}: reading the rows"), load, "ms");
    summary(
        &format!("{what}: rows to the report's events"),
        convert,
        "ms",
    );
    summary(&format!("{what}: the report from those"), build, "ms");
    summary(&format!("{what}: all of it"), total, "ms");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `-- sqlite`: no PostgreSQL; `-- report`: only the report.
    let sqlite_only = std::env::args().any(|a| a == "sqlite");
    let report_only = std::env::args().any(|a| a == "report");
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    if report_only {
        report_time(dir.path());
        return;
    }
    insert_rate(
        "SQLite",
        |run| {
            Target::parse(&format!(
                "sqlite:{}",
                dir.path().join(format!("rate{run}.sqlite")).display()
            ))
            .unwrap()
        },
        &spool,
    );
    if !sqlite_only {
        let cluster = postgres::Cluster::start();
        insert_rate("PostgreSQL", |_| cluster.target(), &spool);
    }
    report_time(dir.path());
}
