//! Reading the journal back: every line is a record or a named problem.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use floorwalk_console::audit::{AuditError, ProblemKind, read_dir};
use std::path::{Path, PathBuf};
use time::macros::date;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audit/problems")
}

#[test]
fn every_bad_line_is_named_with_its_file_and_line() {
    let loaded = read_dir(&fixture(), None, None).unwrap();
    let calls: Vec<&str> = loaded.records.iter().map(|r| r.call_id.as_str()).collect();
    // Oldest day first, then line order; the blank line holds nothing.
    assert_eq!(calls, vec!["c-1", "c-2", "c-3", "c-5"]);
    let day21 = fixture().join("journal-2026-11-21.jsonl");
    let found: Vec<(&Path, u64, ProblemKind)> = loaded
        .problems
        .iter()
        .map(|p| (p.file.as_path(), p.line, p.kind))
        .collect();
    assert_eq!(
        found,
        vec![
            (day21.as_path(), 2, ProblemKind::Unparseable),
            (day21.as_path(), 3, ProblemKind::Torn),
            (day21.as_path(), 4, ProblemKind::Unparseable),
            (day21.as_path(), 5, ProblemKind::Unparseable),
            (day21.as_path(), 6, ProblemKind::Unparseable),
            (day21.as_path(), 8, ProblemKind::Torn),
        ]
    );
    let detail = |line| {
        loaded
            .problems
            .iter()
            .find(|p| p.line == line)
            .unwrap()
            .detail
            .clone()
    };
    assert!(detail(2).contains("teleported"), "{}", detail(2));
    assert!(detail(5).contains("supervisor"), "{}", detail(5));
    assert!(detail(6).contains("yesterday"), "{}", detail(6));
    // Only journal files by name: not the .bak, not notes.txt.
    assert_eq!(
        loaded.files,
        vec![fixture().join("journal-2026-11-20.jsonl"), day21.clone()]
    );
}

#[test]
fn the_date_range_picks_files_by_their_day() {
    let only20 = read_dir(&fixture(), None, Some(date!(2026 - 11 - 20))).unwrap();
    assert_eq!(only20.records.len(), 2);
    assert!(only20.problems.is_empty());
    let only21 = read_dir(&fixture(), Some(date!(2026 - 11 - 21)), None).unwrap();
    assert_eq!(only21.records.len(), 2);
    assert_eq!(only21.problems.len(), 6);
    let none = read_dir(&fixture(), Some(date!(2027 - 01 - 01)), None).unwrap();
    assert!(none.records.is_empty() && none.problems.is_empty() && none.files.is_empty());
}

#[test]
fn bytes_that_are_not_utf8_are_a_problem_and_a_cut_character_is_torn() {
    let tmp = tempfile::tempdir().unwrap();
    let good = br#"{"at":"2026-11-21T09:00:00.000Z","kind":"call_seen","supervisor":"s","call_id":"c-1","agent_name":"Zo"#;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"\xff\xfe garbage\n");
    bytes.extend_from_slice(good);
    bytes.extend_from_slice(b"\xc3\xab\"}\n");
    // The last line stops inside the two bytes of "ë".
    bytes.extend_from_slice(good);
    bytes.push(0xc3);
    std::fs::write(tmp.path().join("journal-2026-11-21.jsonl"), bytes).unwrap();
    let loaded = read_dir(tmp.path(), None, None).unwrap();
    assert_eq!(loaded.records.len(), 1);
    assert_eq!(loaded.records[0].agent_name.as_deref(), Some("Zoë"));
    let found: Vec<(u64, ProblemKind)> = loaded.problems.iter().map(|p| (p.line, p.kind)).collect();
    assert_eq!(
        found,
        vec![(1, ProblemKind::Unparseable), (3, ProblemKind::Torn)]
    );
}

#[test]
fn a_missing_directory_is_its_own_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nowhere");
    let err = read_dir(&dir, None, None).unwrap_err();
    assert!(matches!(err, AuditError::Missing { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "there is no audit journal at {}: nothing has been recorded there yet",
            dir.display()
        )
    );
}

#[test]
fn an_empty_directory_reads_as_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let loaded = read_dir(tmp.path(), None, None).unwrap();
    assert!(loaded.records.is_empty() && loaded.problems.is_empty() && loaded.files.is_empty());
}

#[test]
fn the_documented_example_lines_are_records_of_every_kind() {
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/audit.md"))
        .unwrap();
    let example = docs
        .split("An example of every kind")
        .nth(1)
        .and_then(|rest| rest.split("```").nth(1))
        .unwrap();
    let mut records = Vec::new();
    let mut problems = Vec::new();
    floorwalk_console::audit::parse_journal(
        example.as_bytes(),
        Path::new("docs/audit.md"),
        &mut records,
        &mut problems,
    );
    assert!(problems.is_empty(), "{problems:#?}");
    let mut kinds: Vec<&str> = records.iter().map(|r| r.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds.len(), 13, "{kinds:?}");
    // Each line is exactly what the journal would write for that record.
    for (line, record) in example.trim().lines().zip(&records) {
        assert_eq!(serde_json::to_string(record).unwrap(), line);
    }
}
