//! The records against a real SQLite file: migrations, every event, the
//! restart rule, pruning, and rows read back as the report's input.

use super::*;
use floorwalk_console::audit::{Filter, RecordKind, ReportEvent, report_of};
use floorwalk_protocol::Mode;
use floorwalk_server::{CallRecord, EndReason, JoinRecord, RecordEvent, RecordKeeper};

fn t(ms: i64) -> Timestamp {
    // 2026-01-01T00:00:00Z plus `ms`.
    Timestamp::from_millis(1_767_225_600_000 + ms)
}

fn call(id: &str, agent: &str, at: i64) -> CallRecord {
    CallRecord {
        call_id: id.into(),
        agent_id: agent.into(),
        agent_name: Some(format!("Agent {agent}")),
        team: "north".into(),
        queue: Some("sales".into()),
        recording: true,
        started_at: t(at),
    }
}

fn join(leg: &str, supervisor: &str, call: &CallRecord, mode: Mode, at: i64) -> RecordEvent {
    RecordEvent::Joined(JoinRecord {
        leg_id: leg.into(),
        supervisor: supervisor.into(),
        call: call.clone(),
        mode,
        joined_at: t(at),
    })
}

fn left(leg: &str, at: i64, reason: EndReason) -> RecordEvent {
    RecordEvent::Left {
        leg_id: leg.into(),
        at: t(at),
        reason,
    }
}

fn sqlite(dir: &tempfile::TempDir) -> Target {
    Target::parse(&format!(
        "sqlite:{}",
        dir.path().join("records.sqlite").display()
    ))
    .unwrap()
}

/// One run of server `server` that writes `events` through a keeper,
/// waiting for each commit, and stops.
fn run(dir: &tempfile::TempDir, server: &str, events: Vec<RecordEvent>) {
    let keeper = Keeper::open(sqlite(dir), server, dir.path()).unwrap();
    for event in events {
        keeper.write(event).blocking_recv().unwrap().unwrap();
    }
    keeper.close();
}

/// Every row, read back.
fn rows(dir: &tempfile::TempDir) -> Rows {
    Records::open(&sqlite(dir))
        .unwrap()
        .load(Window::default(), None)
        .unwrap()
}

#[test]
fn migrations_apply_once_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = sqlite(&dir);
    Records::open(&target).unwrap();
    // Again: nothing to do, no error.
    Records::open(&target).unwrap();
    let mut db = sqlite::Sqlite::open(&dir.path().join("records.sqlite")).unwrap();
    db.exec("UPDATE schema_version SET version = 99", &[])
        .unwrap();
    let err = format!("{:#}", Records::open(&target).unwrap_err());
    assert!(
        err.contains("version 99, newer than this floorwalk knows"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("records.sqlite"), vec![0x5a_u8; 8192]).unwrap();
    let err = format!(
        "{:#}",
        Keeper::open(sqlite(&dir), "sim", dir.path()).unwrap_err()
    );
    assert!(err.contains("cannot open the records at sqlite:"), "{err}");
    assert!(err.contains("not a database"), "{err}");
}

#[test]
fn every_event_lands_in_its_row_and_reads_back_as_the_reports_events() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = call("c-1", "a-1", 0);
    run(
        &dir,
        "sim",
        vec![
            RecordEvent::Started {
                at: t(0),
                calls: vec![],
            },
            RecordEvent::CallStarted(c1.clone()),
            join("l-1", "sup-1", &c1, Mode::Silent, 1_000),
            RecordEvent::ModeChanged {
                leg_id: "l-1".into(),
                mode: Mode::Whisper,
                at: t(4_000),
            },
            RecordEvent::ModeChanged {
                leg_id: "l-1".into(),
                mode: Mode::Barge,
                at: t(6_000),
            },
            left("l-1", 7_000, EndReason::Disconnected),
            RecordEvent::CallEnded {
                call_id: "c-1".into(),
                at: t(9_000),
            },
        ],
    );
    let rows = rows(&dir);
    assert_eq!(rows.legs.len(), 1);
    let leg = &rows.legs[0];
    assert_eq!(
        (&*leg.supervisor, &*leg.agent_id, &*leg.team),
        ("sup-1", "a-1", "north")
    );
    assert_eq!(leg.queue.as_deref(), Some("sales"));
    assert!(leg.recording);
    assert_eq!((leg.joined_at, leg.left_at), (t(1_000), Some(t(7_000))));
    assert_eq!(leg.left_reason.as_deref(), Some("disconnected"));
    let segments: Vec<_> = (leg.segments.iter())
        .map(|s| (s.mode, s.started_at, s.ended_at))
        .collect();
    assert_eq!(
        segments,
        [
            (Mode::Silent, t(1_000), Some(t(4_000))),
            (Mode::Whisper, t(4_000), Some(t(6_000))),
            (Mode::Barge, t(6_000), Some(t(7_000))),
        ]
    );
    assert_eq!(rows.calls.len(), 1);
    assert_eq!(rows.calls[0].ended_at, Some(t(9_000)));

    let input = report_events(&rows, None);
    let kinds: Vec<RecordKind> = input.iter().map(ReportEvent::kind).collect();
    assert_eq!(
        kinds,
        [
            RecordKind::CallSeen,
            RecordKind::Joined,
            RecordKind::ModeChanged,
            RecordKind::ModeChanged,
            RecordKind::Left,
            RecordKind::CallEnded,
        ]
    );
    let report = report_of(&input, &[], &Filter::default());
    let f = report.overall;
    assert_eq!((f.sessions, f.legs_ended, f.present_ms), (1, 1, 6_000));
    assert_eq!((f.whisper_ms, f.barge_ms), (2_000, 1_000));
    assert_eq!(
        (f.calls_seen, f.calls_covered, f.disconnected_legs),
        (1, 1, 1)
    );
}

#[test]
fn a_restart_closes_what_the_last_run_left_open() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = call("c-1", "a-1", 0);
    let c2 = call("c-2", "a-2", 0);
    // The process dies after these: nothing more is written for that run.
    run(
        &dir,
        "sim",
        vec![
            RecordEvent::CallStarted(c1.clone()),
            RecordEvent::CallStarted(c2.clone()),
            join("l-1", "sup-1", &c1, Mode::Silent, 1_000),
        ],
    );
    run(
        &dir,
        "other",
        vec![join("l-9", "sup-2", &c1, Mode::Silent, 1_500)],
    );
    run(
        &dir,
        "sim",
        vec![RecordEvent::Started {
            at: t(5_000),
            calls: vec![c2.clone()],
        }],
    );
    let rows = rows(&dir);
    let leg = |id: &str| rows.legs.iter().find(|l| l.leg_id == id).unwrap();
    assert_eq!(leg("l-1").left_reason.as_deref(), Some("server_restart"));
    assert_eq!(leg("l-1").left_at, Some(t(5_000)));
    assert_eq!(leg("l-1").segments[0].ended_at, Some(t(5_000)));
    // Another server's open leg is its own business.
    assert_eq!(leg("l-9").left_at, None);
    let call = |id: &str| rows.calls.iter().find(|c| c.call_id == id).unwrap();
    assert_eq!(call("c-1").ended_at, Some(t(5_000)), "gone from the floor");
    assert_eq!(call("c-2").ended_at, None, "still on the floor");
}

#[test]
fn prune_removes_what_ended_before_the_cutoff_and_keeps_what_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = call("c-1", "a-1", 0);
    let c2 = call("c-2", "a-2", 0);
    run(
        &dir,
        "sim",
        vec![
            RecordEvent::CallStarted(c1.clone()),
            RecordEvent::CallStarted(c2.clone()),
            join("l-1", "sup-1", &c1, Mode::Whisper, 1_000),
            left("l-1", 2_000, EndReason::CallEnded),
            RecordEvent::CallEnded {
                call_id: "c-1".into(),
                at: t(2_000),
            },
            join("l-2", "sup-1", &c2, Mode::Silent, 1_000),
            join("l-3", "sup-1", &c2, Mode::Silent, 10_000),
            left("l-3", 20_000, EndReason::Disconnected),
        ],
    );
    let mut records = Records::open(&sqlite(&dir)).unwrap();
    let pruned = records.prune(t(5_000)).unwrap();
    assert_eq!(
        pruned,
        Pruned {
            legs: 1,
            segments: 1,
            calls: 1
        }
    );
    let rows = records.load(Window::default(), None).unwrap();
    let mut legs: Vec<&str> = rows.legs.iter().map(|l| l.leg_id.as_str()).collect();
    legs.sort_unstable();
    assert_eq!(legs, ["l-2", "l-3"]);
    assert_eq!(rows.calls.len(), 1);
}

#[test]
fn two_servers_ids_are_told_apart_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = call("c-1", "a-1", 0);
    for server in ["east", "west"] {
        run(
            &dir,
            server,
            vec![
                RecordEvent::CallStarted(c1.clone()),
                join("l-1", "sup-1", &c1, Mode::Silent, 1_000),
                left("l-1", 3_000, EndReason::Disconnected),
            ],
        );
    }
    let rows = Records::open(&sqlite(&dir))
        .unwrap()
        .load(Window::default(), Some("sup-1"))
        .unwrap();
    let rows = qualified(&rows);
    let input = report_events(&rows, Some("sup-1"));
    let report = report_of(&input, &[], &Filter::default());
    let f = report.overall;
    // Two legs on two floors, each 2 s, neither taken for the other's.
    assert_eq!((f.sessions, f.legs_ended, f.present_ms), (2, 2, 4_000));
    assert_eq!((f.calls_seen, f.back_to_back_joins), (2, 1));
    let ids: Vec<&str> = input.iter().filter_map(ReportEvent::leg_id).collect();
    assert!(
        ids.contains(&"east/l-1") && ids.contains(&"west/l-1"),
        "{ids:?}"
    );
}

#[test]
fn compare_finds_a_leave_recorded_as_lease_expiry_and_joins_on_one_side_only() {
    use floorwalk_console::audit::Record;
    let leg = |id: &str, reason: &str| LegRow {
        server: "sim".into(),
        run: 1,
        leg_id: id.into(),
        call_id: "c-1".into(),
        supervisor: "sup-1".into(),
        agent_id: "a-1".into(),
        agent_name: None,
        team: "north".into(),
        queue: None,
        recording: false,
        joined_at: t(1_000),
        joined_seq: 1,
        left_at: Some(t(2_000)),
        left_seq: Some(2),
        left_reason: Some(reason.into()),
        segments: Vec::new(),
    };
    let rows = Rows {
        legs: vec![leg("l-1", "lease_expired"), leg("l-2", "disconnected")],
        calls: Vec::new(),
    };
    let record = |kind, leg: &str, reason: Option<&str>| {
        let mut r = Record::new(t(1_000), kind, "sup-1", "c-1");
        r.leg_id = Some(leg.into());
        r.reason = reason.map(str::to_owned);
        r
    };
    let journal = vec![
        record(RecordKind::Joined, "l-1", None),
        record(RecordKind::Left, "l-1", Some("disconnected")),
        record(RecordKind::Joined, "l-3", None),
    ];
    let found = compare(&journal, &rows);
    let kinds: Vec<(Mismatch, &str)> = found.iter().map(|d| (d.kind, d.leg_id.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (Mismatch::LeaveRecordedAsLeaseExpiry, "l-1"),
            (Mismatch::JoinMissingFromJournal, "l-2"),
            (Mismatch::JoinMissingFromRecords, "l-3"),
        ]
    );
}

/// A leg row by hand: joined at `joined` (seq `seq`), one silent segment,
/// left at `left` (seq `seq + 1`).
fn leg_row(server: &str, leg: &str, supervisor: &str, joined: i64, left: i64, seq: i64) -> LegRow {
    LegRow {
        server: server.into(),
        run: 1,
        leg_id: leg.into(),
        call_id: format!("c-{leg}"),
        supervisor: supervisor.into(),
        agent_id: "a-1".into(),
        agent_name: Some("Agent 1".into()),
        team: "north".into(),
        queue: None,
        recording: false,
        joined_at: t(joined),
        joined_seq: seq,
        left_at: Some(t(left)),
        left_seq: Some(seq + 1),
        left_reason: Some("disconnected".into()),
        segments: vec![Segment {
            seq,
            mode: Mode::Silent,
            started_at: t(joined),
            ended_at: Some(t(left)),
        }],
    }
}

#[test]
fn events_equal_in_time_and_seq_keep_the_rows_order_and_read_as_journal_records_do() {
    use floorwalk_console::audit::{Record, build_report};
    // East's l-1 leaves at 2 s with seq 6; west's l-2 joins at 2 s with
    // seq 6 too (each server numbers its own events). In the rows' order,
    // the leave comes first: the join is not back to back.
    let east = leg_row("east", "l-1", "sup-1", 1_000, 2_000, 5);
    let west = leg_row("west", "l-2", "sup-1", 2_000, 3_000, 6);
    let order = |legs: Vec<LegRow>| {
        let rows = Rows {
            legs,
            calls: Vec::new(),
        };
        let rows = qualified(&rows).into_owned();
        let events = report_events(&rows, None);
        let told: Vec<(RecordKind, String)> = (events.iter())
            .map(|e| (e.kind(), e.leg_id().unwrap_or_default().to_owned()))
            .collect();
        (told, report_of(&events, &[], &Filter::default()), rows)
    };
    let (told, report, rows) = order(vec![east.clone(), west.clone()]);
    let tie = &told[1..3];
    assert_eq!(
        tie,
        [
            (RecordKind::Left, "east/l-1".to_owned()),
            (RecordKind::Joined, "west/l-2".to_owned())
        ]
    );
    assert_eq!(report.overall.back_to_back_joins, 0);
    // The other way round, the join comes first, and overlaps.
    let (told, reversed, _) = order(vec![west, east]);
    assert_eq!(told[1].0, RecordKind::Joined);
    assert_eq!(reversed.overall.back_to_back_joins, 1);

    // The same events as journal records give the very same report.
    let events = report_events(&rows, None);
    let records: Vec<Record> = (events.iter())
        .map(|e| {
            let mut r = Record::new(e.at(), e.kind(), e.supervisor(), e.call_id());
            r.server_at = Some(e.time());
            r.agent_id = e.agent_id().map(str::to_owned);
            r.agent_name = e.agent_name().map(str::to_owned);
            r.leg_id = e.leg_id().map(str::to_owned);
            r.mode = e.mode();
            r.reason = e.reason().map(str::to_owned);
            r
        })
        .collect();
    assert_eq!(build_report(&records, &[], &Filter::default()), report);
    assert_eq!(
        (report.overall.sessions, report.overall.present_ms),
        (2, 2_000)
    );
}
