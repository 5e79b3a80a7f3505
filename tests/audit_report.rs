//! `floorwalk report` on a fixture journal (tests/fixtures/audit/floor), in
//! all three formats. The expected figures are worked out by hand below.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use clap::Parser;
use floorwalk_console::audit::{
    Figures, Filter, Report, ReportArgs, build_report, read_dir, run_report,
};
use std::collections::HashMap;

/// The fixture, relative so the output does not depend on the checkout.
const FLOOR: &str = "tests/fixtures/audit/floor";

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ReportArgs,
}

fn args(extra: &[&str]) -> ReportArgs {
    let argv = ["floorwalk-report"].iter().chain(extra);
    Cli::try_parse_from(argv).unwrap().args
}

fn run(extra: &[&str]) -> String {
    let mut out = Vec::new();
    run_report(&args(extra), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

// The 21st, by leg (server times):
//   l-11 sup-1 a-1 09:00:05.100-09:04:05.100 = 240 000; whisper
//        09:01:05.100-09:03:05.100 = 120 000, barge 09:03:05.100-09:03:35.100
//        = 30 000; left disconnected while the call went on.
//   l-12 sup-1 a-2 09:05:00.100-09:06:30.000 = 89 900 whisper; the call ended
//        first (customer_hangup), left call_ended.
//   l-13 sup-1 a-3 09:06:00.000-09:10:00.000 = 240 000 silent; joined while
//        l-12 was open (back-to-back); left lease_expired.
//   l-21 sup-2 a-1 10:00:01-10:00:31 = 30 000 barge; left disconnected.
//   l-22 sup-2 a-2 10:05:10, never left.
//   left l-99 on c-7 (sup-2): matches no join; no record names c-7's agent.
// Calls seen: a-1 c-1 c-4 (both joined), a-2 c-2 c-5 (both joined), a-3 c-3
// (joined) c-8 (not). Line 22 is not JSON, line 28 is torn.
fn day21_alex() -> Figures {
    Figures {
        sessions: 2,
        legs_ended: 2,
        present_ms: 270_000,
        calls_seen: 2,
        calls_covered: 2,
        whisper_ms: 120_000,
        barge_ms: 60_000,
        disconnected_legs: 2,
        ..Figures::default()
    }
}

fn day21_priya() -> Figures {
    Figures {
        sessions: 2,
        legs_ended: 1,
        present_ms: 89_900,
        calls_seen: 2,
        calls_covered: 2,
        whisper_ms: 89_900,
        legs_without_end: 1,
        ..Figures::default()
    }
}

fn day21_sam() -> Figures {
    Figures {
        sessions: 1,
        legs_ended: 1,
        present_ms: 240_000,
        calls_seen: 2,
        calls_covered: 1,
        back_to_back_joins: 1,
        lease_expired_legs: 1,
        ..Figures::default()
    }
}

fn day21_overall() -> Figures {
    Figures {
        sessions: 5,
        legs_ended: 4,
        present_ms: 599_900,
        calls_seen: 6,
        calls_covered: 5,
        whisper_ms: 209_900,
        barge_ms: 60_000,
        disconnected_legs: 2,
        back_to_back_joins: 1,
        legs_without_end: 1,
        lease_expired_legs: 1,
        closed_after_crash: 0,
        unmatched_records: 1,
    }
}

fn day21() -> Report {
    let loaded = read_dir(std::path::Path::new(FLOOR), None, None).unwrap();
    let day = time::macros::date!(2026 - 11 - 21);
    let filter = Filter {
        from: Some(day),
        to: Some(day),
        supervisor: None,
    };
    build_report(&loaded.records, &loaded.problems, &filter)
}

#[test]
fn the_fixture_day_gives_the_hand_computed_figures() {
    let report = day21();
    let by_id: HashMap<Option<&str>, &Figures> = report
        .agents
        .iter()
        .map(|a| (a.agent_id.as_deref(), &a.figures))
        .collect();
    assert_eq!(*by_id[&Some("a-1")], day21_alex());
    assert_eq!(*by_id[&Some("a-2")], day21_priya());
    assert_eq!(*by_id[&Some("a-3")], day21_sam());
    assert_eq!(
        *by_id[&None],
        Figures {
            unmatched_records: 1,
            ..Figures::default()
        }
    );
    assert_eq!(report.overall, day21_overall());
    // 599 900 / 4; 5 / 6; 2 / 5.
    assert_eq!(report.overall.average_present_ms(), Some(149_975));
    assert_eq!(report.overall.coverage(), Some(5.0 / 6.0));
    assert_eq!(report.overall.disconnect_rate(), Some(0.4));
    assert_eq!(report.records, 26);
    assert_eq!((report.torn_lines(), report.unparseable_lines()), (1, 1));
    let lines: Vec<u64> = report.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![22, 28]);
}

#[test]
fn the_table_fits_80_columns_and_reads_well() {
    let text = run(&["--dir", FLOOR, "--from", "2026-11-21", "--to", "2026-11-21"]);
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line:?}");
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("fixtures/audit/snapshots");
    settings.bind(|| insta::assert_snapshot!("table_2026_11_21", text));
}

#[test]
fn long_names_and_long_totals_still_fit_80_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "Maximiliana Wolfeschlegelsteinhausen";
    let record = |at: &str, kind: &str, extra: &str| {
        format!(
            r#"{{"at":"{at}","kind":"{kind}","supervisor":"s","call_id":"c-1","agent_id":"a-1","agent_name":"{name}"{extra}}}"#
        )
    };
    // A 100-hour barge leg: the widest durations the table is built for.
    let lines = [
        record("2026-11-21T00:00:00.000Z", "call_seen", ""),
        record(
            "2026-11-21T00:00:00.000Z",
            "joined",
            r#","leg_id":"l-1","mode":"barge""#,
        ),
        record(
            "2026-11-25T04:00:00.000Z",
            "left",
            r#","leg_id":"l-1","reason":"disconnected""#,
        ),
    ];
    std::fs::write(
        tmp.path().join("journal-2026-11-21.jsonl"),
        lines.join("\n") + "\n",
    )
    .unwrap();
    let text = run(&["--dir", tmp.path().to_str().unwrap()]);
    assert!(text.contains("Maximiliana Wolfesc… "), "{text}");
    assert!(text.contains("100:00:00"), "{text}");
    for line in text.lines().filter(|l| !l.starts_with("journal ")) {
        assert!(line.chars().count() <= 80, "too wide: {line:?}");
    }
}

/// RFC 4180, as a spreadsheet reads it: quoted fields, doubled quotes, CRLF.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => assert_eq!(chars.next(), Some('\n'), "CR without LF"),
            (false, '\n') => panic!("a bare LF ends a CSV line"),
            (false, c) => field.push(c),
        }
        if !quoted && c == '\r' {
            row.push(std::mem::take(&mut field));
            rows.push(std::mem::take(&mut row));
        }
    }
    assert!(field.is_empty() && row.is_empty(), "last line has no CRLF");
    rows
}

#[test]
fn the_csv_parses_back_to_the_same_figures() {
    let text = run(&["--dir", FLOOR, "--to", "2026-11-21", "--format", "csv"]);
    // The header as docs/audit.md states it: what quality teams' scripts read.
    let header = "scope,agent_id,agent_name,sessions,legs_ended,present_ms,\
        average_present_ms,calls_seen,calls_covered,coverage,whisper_ms,barge_ms,\
        disconnected_legs,disconnect_rate,back_to_back_joins,legs_without_end,\
        lease_expired_legs,closed_after_crash,unmatched_records,torn_lines,\
        unparseable_lines\r\n";
    assert!(text.starts_with(header), "{text}");
    let rows = parse_csv(&text);
    let columns = &rows[0];
    assert_eq!(rows.len(), 1 + 4 + 1);
    assert!(rows.iter().all(|r| r.len() == columns.len()));
    let cell = |row: &Vec<String>, column: &str| -> String {
        let at = columns.iter().position(|c| c == column).unwrap();
        row[at].clone()
    };
    let figures = |row: &Vec<String>| {
        let n = |column: &str| cell(row, column).parse::<u64>().unwrap();
        Figures {
            sessions: n("sessions"),
            legs_ended: n("legs_ended"),
            present_ms: n("present_ms"),
            calls_seen: n("calls_seen"),
            calls_covered: n("calls_covered"),
            whisper_ms: n("whisper_ms"),
            barge_ms: n("barge_ms"),
            disconnected_legs: n("disconnected_legs"),
            back_to_back_joins: n("back_to_back_joins"),
            legs_without_end: n("legs_without_end"),
            lease_expired_legs: n("lease_expired_legs"),
            closed_after_crash: n("closed_after_crash"),
            unmatched_records: n("unmatched_records"),
        }
    };
    // The agents come most present first: Alex Kim (4:30), Sam Lee (4:00),
    // Priya Nair (1:29). The name with a comma survives quoting.
    let sam = &rows[2];
    assert_eq!(
        (
            cell(sam, "scope"),
            cell(sam, "agent_id"),
            cell(sam, "agent_name")
        ),
        ("agent".into(), "a-3".into(), "Lee, Sam".into())
    );
    assert_eq!(figures(&rows[1]), day21_alex());
    assert_eq!(figures(&rows[3]), day21_priya());
    assert_eq!(figures(sam), day21_sam());
    assert_eq!(cell(sam, "coverage"), "0.5000");
    assert_eq!(cell(sam, "average_present_ms"), "240000");
    let unknown = &rows[4];
    assert_eq!(cell(unknown, "agent_id"), "");
    assert_eq!(cell(unknown, "coverage"), "");
    let overall = &rows[5];
    assert_eq!(cell(overall, "scope"), "overall");
    assert_eq!(figures(overall), day21_overall());
    assert_eq!(cell(overall, "coverage"), "0.8333");
    assert_eq!(cell(overall, "disconnect_rate"), "0.4000");
    assert_eq!(cell(overall, "average_present_ms"), "149975");
    assert_eq!(cell(overall, "torn_lines"), "1");
    assert_eq!(cell(overall, "unparseable_lines"), "1");
    assert_eq!(cell(&rows[1], "torn_lines"), "");
}

#[test]
fn the_json_parses_back_to_the_same_report() {
    let text = run(&["--dir", FLOOR, "--to", "2026-11-21", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let back: Report = serde_json::from_value(value.clone()).unwrap();
    let expected = Report {
        from: None,
        ..day21()
    };
    assert_eq!(back, expected);
    assert_eq!(value["journal"]["dir"], FLOOR);
    assert_eq!(value["journal"]["files"], 1);
    assert_eq!(value["journal"]["exists"], true);
    assert_eq!(value["overall"]["average_present_ms"], 149_975);
    assert_eq!(value["overall"]["disconnect_rate"], 0.4);
    assert_eq!(value["overall"]["coverage"].as_f64(), Some(5.0 / 6.0));
    let unknown = &value["agents"][3];
    assert_eq!(unknown["agent_id"], serde_json::Value::Null);
    assert_eq!(unknown["coverage"], serde_json::Value::Null);
    assert_eq!(value["anomalies"][0]["kind"], "back_to_back_join");
    assert_eq!(value["anomalies"][0]["at"], "2026-11-21T09:06:00.000Z");
    // An anomaly is one flat object, its fields in the order docs/audit.md gives.
    let anomaly = r#"{
      "kind": "back_to_back_join",
      "at": "2026-11-21T09:06:00.000Z",
      "supervisor": "sup-1",
      "call_id": "c-3",
      "leg_id": "l-13",
      "agent_id": "a-3",
      "detail": "joined while leg l-12 on call c-2 was still open"
    }"#;
    assert!(text.contains(anomaly), "{text}");
    assert_eq!(value["problems"][1]["kind"], "torn");
    assert_eq!(value["problems"][1]["line"], 28);
}

#[test]
fn a_leg_across_midnight_is_read_whole_for_a_one_day_range() {
    // The 22nd holds one leg, l-31 (a-1, 60 s), and no problem.
    let text = run(&["--dir", FLOOR, "--from", "2026-11-22", "--format", "json"]);
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back.overall.sessions, 1);
    assert_eq!(back.overall.present_ms, 60_000);
    assert!(back.problems.is_empty());
    // Everything: both days together.
    let all: Report = serde_json::from_str(&run(&["--dir", FLOOR, "--format", "json"])).unwrap();
    assert_eq!(all.overall.sessions, 6);
    assert_eq!(all.overall.present_ms, 659_900);
    assert_eq!(all.overall.calls_seen, 7);
    assert_eq!(all.records, 29);
}

#[test]
fn the_supervisor_filter_reports_one_supervisor() {
    let text = run(&[
        "--dir",
        FLOOR,
        "--supervisor",
        "sup-2",
        "--to",
        "2026-11-21",
        "--format",
        "json",
    ]);
    let report: Report = serde_json::from_str(&text).unwrap();
    // sup-2: l-21 (a-1, 30 s barge, disconnected), l-22 (a-2, open), the
    // unmatched left; c-4 and c-5 seen, both joined.
    assert_eq!(
        report.overall,
        Figures {
            sessions: 2,
            legs_ended: 1,
            present_ms: 30_000,
            calls_seen: 2,
            calls_covered: 2,
            barge_ms: 30_000,
            disconnected_legs: 1,
            legs_without_end: 1,
            unmatched_records: 1,
            ..Figures::default()
        }
    );
    assert_eq!(report.records, 9);
    assert_eq!(report.supervisor.as_deref(), Some("sup-2"));
    let table = run(&["--dir", FLOOR, "--supervisor", "sup-2"]);
    assert!(table.contains("all days, supervisor sup-2"), "{table}");
}

#[test]
fn a_missing_journal_is_a_message_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    let dir_arg = dir.to_str().unwrap();
    assert_eq!(
        run(&["--dir", dir_arg]),
        format!(
            "No audit journal at {} yet: nothing has been recorded there.\n",
            dir.display()
        )
    );
    let json: serde_json::Value =
        serde_json::from_str(&run(&["--dir", dir_arg, "--format", "json"])).unwrap();
    assert_eq!(json["journal"]["exists"], false);
    assert_eq!(json["overall"]["sessions"], 0);
    let csv = parse_csv(&run(&["--dir", dir_arg, "--format", "csv"]));
    assert_eq!(csv.len(), 2);
    assert_eq!(csv[1][0], "overall");
}

#[test]
fn an_empty_journal_is_a_message_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("journal-2026-11-21.jsonl"), "").unwrap();
    let text = run(&[
        "--dir",
        tmp.path().to_str().unwrap(),
        "--from",
        "2026-11-21",
    ]);
    assert_eq!(
        text,
        format!(
            "No audit records in {} for from 2026-11-21, all supervisors (1 journal file read).\n",
            tmp.path().display()
        )
    );
}

#[test]
fn bad_dates_and_ranges_are_clear_errors() {
    let err = Cli::try_parse_from(["r", "--from", "21/11/2026"])
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("\"21/11/2026\" is not a date (YYYY-MM-DD)"),
        "{err}"
    );
    let err = Cli::try_parse_from(["r", "--format", "xml"])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("table, csv, json"), "{err}");
    let err = Cli::try_parse_from(["r", "--demo", "--dir", FLOOR])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("cannot be used with"), "{err}");
    let mut out = Vec::new();
    let err = run_report(
        &args(&["--dir", FLOOR, "--from", "2026-11-22", "--to", "2026-11-21"]),
        &mut out,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "--from 2026-11-22 is after --to 2026-11-21: no day is in that range"
    );
    assert!(out.is_empty());
}
