//! The journal on disk: permissions, one synced line per append, torn last
//! lines, day rollover, clear errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/disk.rs"]
mod disk;

use floorwalk_console::audit::{AuditError, Journal, ProblemKind, Record, RecordKind, read_dir};
use floorwalk_protocol::{Mode, Timestamp};
use std::path::Path;

fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn joined(at: &str, leg: &str) -> Record {
    let mut record = Record::new(ts(at), RecordKind::Joined, "sup-1", "c-9");
    record.agent_id = Some("a-1".into());
    record.agent_name = Some("Alex Kim".into());
    record.leg_id = Some(leg.into());
    record.mode = Some(Mode::Whisper);
    record.server_at = Some(ts(at).plus_millis(-20));
    record.latency_ms = Some(42);
    record
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .split_inclusive('\n')
        .map(str::to_owned)
        .collect()
}

#[cfg(unix)]
#[test]
fn the_directory_is_0700_and_the_files_0600() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data/floorwalk/audit");
    let mut journal = Journal::open(&dir).unwrap();
    assert_eq!(journal.dir(), dir);
    journal
        .append(&joined("2026-11-21T09:14:03.250Z", "l-1"))
        .unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let file = dir.join("journal-2026-11-21.jsonl");
    assert_eq!(mode(&file), 0o600);
    // Today's file, opened at start, is just as private.
    for entry in std::fs::read_dir(&dir).unwrap() {
        assert_eq!(mode(&entry.unwrap().path()), 0o600);
    }
}

#[test]
fn each_append_is_one_whole_line_readable_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut journal = Journal::open(tmp.path()).unwrap();
    let file = tmp.path().join("journal-2026-11-21.jsonl");
    let mut written = Vec::new();
    for (i, at) in [
        "2026-11-21T09:00:00.000Z",
        "2026-11-21T09:00:01.500Z",
        "2026-11-21T09:00:02.750Z",
    ]
    .into_iter()
    .enumerate()
    {
        let record = joined(at, &format!("l-{i}"));
        journal.append(&record).unwrap();
        written.push(record);
        // Read back through another handle before the next action.
        let on_disk = lines(&file);
        assert_eq!(on_disk.len(), i + 1);
        assert!(on_disk.iter().all(|l| l.ends_with('\n')));
        let last: Record = serde_json::from_str(on_disk[i].trim_end()).unwrap();
        assert_eq!(last, written[i]);
    }
    let loaded = read_dir(tmp.path(), None, None).unwrap();
    assert_eq!(loaded.records, written);
    assert!(loaded.problems.is_empty());
}

#[test]
fn the_line_format_is_stable() {
    let tmp = tempfile::tempdir().unwrap();
    let mut journal = Journal::open(tmp.path()).unwrap();
    journal
        .append(&joined("2026-11-21T09:14:03.250Z", "l-31"))
        .unwrap();
    let mut bare = Record::new(
        ts("2026-11-21T09:15:00.000Z"),
        RecordKind::CallSeen,
        "sup-1",
        "c-10",
    );
    bare.agent_id = Some("a-2".into());
    journal.append(&bare).unwrap();
    assert_eq!(
        lines(&tmp.path().join("journal-2026-11-21.jsonl")),
        vec![
            "{\"at\":\"2026-11-21T09:14:03.250Z\",\"kind\":\"joined\",\"supervisor\":\"sup-1\",\
             \"call_id\":\"c-9\",\"agent_id\":\"a-1\",\"agent_name\":\"Alex Kim\",\"leg_id\":\"l-31\",\
             \"mode\":\"whisper\",\"server_at\":\"2026-11-21T09:14:03.230Z\",\"latency_ms\":42}\n",
            "{\"at\":\"2026-11-21T09:15:00.000Z\",\"kind\":\"call_seen\",\"supervisor\":\"sup-1\",\
             \"call_id\":\"c-10\",\"agent_id\":\"a-2\"}\n",
        ]
    );
}

#[test]
fn records_roll_over_to_a_new_file_at_utc_midnight() {
    let tmp = tempfile::tempdir().unwrap();
    let mut journal = Journal::open(tmp.path()).unwrap();
    let a = joined("2026-11-21T23:59:59.999Z", "l-1");
    let b = joined("2026-11-22T00:00:00.000Z", "l-2");
    let c = joined("2026-11-22T00:00:01.000Z", "l-3");
    for record in [&a, &b, &c] {
        journal.append(record).unwrap();
    }
    assert_eq!(lines(&tmp.path().join("journal-2026-11-21.jsonl")).len(), 1);
    assert_eq!(lines(&tmp.path().join("journal-2026-11-22.jsonl")).len(), 2);
    // A record written late for the previous day goes to that day's file.
    let late = joined("2026-11-21T23:59:59.000Z", "l-4");
    journal.append(&late).unwrap();
    assert_eq!(lines(&tmp.path().join("journal-2026-11-21.jsonl")).len(), 2);

    let all = read_dir(tmp.path(), None, None).unwrap();
    assert_eq!(all.records, vec![a.clone(), late, b, c]);
    let day = time::macros::date!(2026 - 11 - 21);
    let first = read_dir(tmp.path(), Some(day), Some(day)).unwrap();
    assert_eq!(first.records.len(), 2);
    assert_eq!(
        first.files,
        vec![tmp.path().join("journal-2026-11-21.jsonl")]
    );
}

#[test]
fn a_torn_last_line_is_left_alone_and_the_next_record_starts_a_new_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("journal-2026-11-21.jsonl");
    let whole = serde_json::to_string(&joined("2026-11-21T09:00:00.000Z", "l-1")).unwrap();
    let torn = r#"{"at":"2026-11-21T09:00:05.000Z","kind":"lef"#;
    std::fs::write(&file, format!("{whole}\n{torn}")).unwrap();

    let mut journal = Journal::open(tmp.path()).unwrap();
    let next = joined("2026-11-21T09:01:00.000Z", "l-2");
    journal.append(&next).unwrap();
    let after = joined("2026-11-21T09:02:00.000Z", "l-3");
    journal.append(&after).unwrap();

    let on_disk = lines(&file);
    assert_eq!(on_disk.len(), 4);
    assert_eq!(on_disk[1], format!("{torn}\n"));
    let loaded = read_dir(tmp.path(), None, None).unwrap();
    assert_eq!(loaded.records.len(), 3);
    assert_eq!(loaded.records[1], next);
    assert_eq!(loaded.records[2], after);
    assert_eq!(loaded.problems.len(), 1);
    let problem = &loaded.problems[0];
    assert_eq!((problem.line, problem.kind), (2, ProblemKind::Torn));
    assert_eq!(problem.file, file);
}

#[test]
fn two_consoles_appending_to_one_file_never_mix_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let mut one = Journal::open(tmp.path()).unwrap();
    let mut two = Journal::open(tmp.path()).unwrap();
    for i in 0..20 {
        let journal = if i % 2 == 0 { &mut one } else { &mut two };
        journal
            .append(&joined("2026-11-21T09:00:00.000Z", &format!("l-{i}")))
            .unwrap();
    }
    let loaded = read_dir(tmp.path(), None, None).unwrap();
    assert!(loaded.problems.is_empty());
    let legs: Vec<String> = loaded
        .records
        .iter()
        .map(|r| r.leg_id.clone().unwrap())
        .collect();
    let expected: Vec<String> = (0..20).map(|i| format!("l-{i}")).collect();
    assert_eq!(legs, expected);
}

#[test]
fn a_directory_that_cannot_be_made_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let blocker = tmp.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let err = Journal::open(&blocker.join("audit")).unwrap_err();
    assert!(matches!(err, AuditError::CreateDir { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot create the audit journal directory {}",
            blocker.join("audit").display()
        )),
        "{text}"
    );
}

#[test]
fn a_day_file_that_cannot_be_opened_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut journal = Journal::open(tmp.path()).unwrap();
    let path = tmp.path().join("journal-2030-01-02.jsonl");
    std::fs::create_dir(&path).unwrap();
    let err = journal
        .append(&joined("2030-01-02T00:00:00.000Z", "l-1"))
        .unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "cannot open the audit journal {}: ",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn a_record_outside_the_calendar_is_refused_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let mut journal = Journal::open(tmp.path()).unwrap();
    let record = Record::new(Timestamp(i64::MAX), RecordKind::Joined, "sup-1", "c-1");
    let err = journal.append(&record).unwrap_err();
    assert!(matches!(err, AuditError::OutOfRange { .. }), "{err:?}");
}

/// A full disk, through `/dev/full`: the error names the journal file, and
/// once the disk is writable again the journal carries on, on a fresh line.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_names_the_file_and_the_journal_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("journal-2026-11-21.jsonl");
    disk::make_full(&path);
    let mut journal = Journal::open(tmp.path()).unwrap();
    let record = joined("2026-11-21T09:00:00.000Z", "l-1");
    let err = journal.append(&record).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot write the audit journal {}: No space left on device (os error 28)",
            path.display()
        )
    );
    std::fs::remove_file(&path).unwrap();
    journal.append(&record).unwrap();
    assert_eq!(
        read_dir(tmp.path(), None, None).unwrap().records,
        vec![record]
    );
}
