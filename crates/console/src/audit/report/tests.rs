//! The report arithmetic on hand-made record sequences; every expected
//! figure is worked out by hand in the comments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::audit::{Record, RecordKind};
use floorwalk_protocol::{Mode, Timestamp};
use proptest::prelude::*;
use std::path::PathBuf;
use time::macros::date;

/// `2026-11-21T<hms>Z`, or a full timestamp when it has a `T`.
fn t(hms: &str) -> Timestamp {
    if hms.contains('T') {
        Timestamp::parse(hms).unwrap()
    } else {
        Timestamp::parse(&format!("2026-11-21T{hms}Z")).unwrap()
    }
}

struct R(Record);

fn r(at: &str, kind: RecordKind, supervisor: &str, call: &str) -> R {
    R(Record::new(t(at), kind, supervisor, call))
}

impl R {
    fn agent(mut self, id: &str, name: &str) -> R {
        self.0.agent_id = Some(id.into());
        self.0.agent_name = Some(name.into());
        self
    }
    fn leg(mut self, id: &str) -> R {
        self.0.leg_id = Some(id.into());
        self
    }
    fn mode(mut self, mode: Mode) -> R {
        self.0.mode = Some(mode);
        self
    }
    fn server(mut self, at: &str) -> R {
        self.0.server_at = Some(t(at));
        self
    }
    fn reason(mut self, reason: &str) -> R {
        self.0.reason = Some(reason.into());
        self
    }
}

use RecordKind::*;

fn report(records: Vec<R>) -> Report {
    report_with(records, &Filter::default())
}

fn report_with(records: Vec<R>, filter: &Filter) -> Report {
    let records: Vec<Record> = records.into_iter().map(|r| r.0).collect();
    build_report(&records, &[], filter)
}

fn agent<'a>(report: &'a Report, id: &str) -> &'a Figures {
    &report
        .agents
        .iter()
        .find(|a| a.agent_id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no agent {id} in {report:#?}"))
        .figures
}

/// An agent's present, whisper and barge time, in ms.
fn times(report: &Report, id: &str) -> (u64, u64, u64) {
    let f = agent(report, id);
    (f.present_ms, f.whisper_ms, f.barge_ms)
}

fn kinds(report: &Report) -> Vec<(AnomalyKind, Option<&str>)> {
    report
        .anomalies
        .iter()
        .map(|a| (a.kind, a.leg.leg_id.as_deref()))
        .collect()
}

/// One whole leg: silent, whisper, barge, silent, then the supervisor's own
/// disconnect, with server times on every confirmation.
#[rustfmt::skip]
fn coached_call() -> Vec<R> {
    vec![
        r("09:00:00.000", CallSeen, "sup-1", "c-1").agent("a-1", "Alex Kim"),
        r("09:00:10.000", JoinRequested, "sup-1", "c-1").agent("a-1", "Alex Kim").mode(Mode::Silent),
        r("09:00:11.000", Joined, "sup-1", "c-1").agent("a-1", "Alex Kim").leg("l-1").mode(Mode::Silent).server("09:00:10.900"),
        r("09:01:00.050", ModeChanged, "sup-1", "c-1").leg("l-1").mode(Mode::Whisper).server("09:01:00.000"),
        r("09:03:30.040", ModeChanged, "sup-1", "c-1").leg("l-1").mode(Mode::Barge).server("09:03:30.000"),
        r("09:04:00.030", ModeChanged, "sup-1", "c-1").leg("l-1").mode(Mode::Silent).server("09:04:00.000"),
        r("09:05:00.000", DisconnectRequested, "sup-1", "c-1").leg("l-1"),
        r("09:05:00.200", Left, "sup-1", "c-1").leg("l-1").server("09:05:00.100").reason("disconnected"),
        r("09:10:00.000", CallEnded, "sup-1", "c-1").server("09:10:00.000").reason("customer_hangup"),
    ]
}

#[test]
fn one_coached_leg_gives_every_figure() {
    let report = report(coached_call());
    let f = agent(&report, "a-1");
    // 09:00:10.900 (joined, server) to 09:05:00.100 (left, server).
    assert_eq!(f.present_ms, 289_200);
    // 09:01:00.000 to 09:03:30.000.
    assert_eq!(f.whisper_ms, 150_000);
    // 09:03:30.000 to 09:04:00.000.
    assert_eq!(f.barge_ms, 30_000);
    assert_eq!(
        *f,
        Figures {
            sessions: 1,
            legs_ended: 1,
            present_ms: 289_200,
            calls_seen: 1,
            calls_covered: 1,
            whisper_ms: 150_000,
            barge_ms: 30_000,
            disconnected_legs: 1,
            ..Figures::default()
        }
    );
    assert_eq!(f.average_present_ms(), Some(289_200));
    assert_eq!(f.coverage(), Some(1.0));
    assert_eq!(f.disconnect_rate(), Some(1.0));
    assert_eq!(report.overall, *f);
    assert_eq!(report.agents.len(), 1);
    assert_eq!(report.agents[0].agent_name.as_deref(), Some("Alex Kim"));
    assert!(report.anomalies.is_empty(), "{:?}", report.anomalies);
    assert_eq!(report.records, 9);
}

#[test]
fn local_times_stand_in_where_the_server_gave_none() {
    #[rustfmt::skip]
    let report = report(vec![
        // No server time: the console's 10:00:00.000 counts.
        r("10:00:00.000", Joined, "sup-1", "c-1").agent("a-1", "Alex Kim").leg("l-1").mode(Mode::Whisper),
        r("10:00:45.500", Left, "sup-1", "c-1").leg("l-1").server("10:00:45.000").reason("disconnected"),
    ]);
    assert_eq!(times(&report, "a-1"), (45_000, 45_000, 0));
}

#[test]
fn times_that_run_backwards_count_as_zero_never_negative() {
    #[rustfmt::skip]
    let report = report(vec![
        r("10:00:00.000", Joined, "sup-1", "c-1").agent("a-1", "A").leg("l-1").mode(Mode::Silent).server("10:00:10.000"),
        // The server says the switch came before the join: no time yet.
        r("10:00:20.000", ModeChanged, "sup-1", "c-1").leg("l-1").mode(Mode::Barge).server("10:00:05.000"),
        // Barge from 10:00:10 to 10:00:40.
        r("10:00:41.000", ModeChanged, "sup-1", "c-1").leg("l-1").mode(Mode::Whisper).server("10:00:40.000"),
        // Left "before" the last switch: the leg ends at 10:00:40.
        r("10:00:42.000", Left, "sup-1", "c-1").leg("l-1").server("10:00:30.000").reason("disconnected"),
    ]);
    assert_eq!(times(&report, "a-1"), (30_000, 0, 30_000));
}

#[test]
fn averages_divide_by_the_legs_that_ended() {
    #[rustfmt::skip]
    let report = report(vec![
        // 60 s, 90 s, and one leg with no end (not in the time figures).
        r("10:00:00.000", Joined, "sup-1", "c-1").agent("a-1", "A").leg("l-1"),
        r("10:01:00.000", Left, "sup-1", "c-1").leg("l-1").reason("disconnected"),
        r("10:02:00.000", Joined, "sup-1", "c-2").agent("a-1", "A").leg("l-2").mode(Mode::Whisper),
        r("10:03:30.000", Left, "sup-1", "c-2").leg("l-2").reason("call_ended"),
        r("10:05:00.000", Joined, "sup-1", "c-3").agent("a-1", "A").leg("l-3").mode(Mode::Whisper),
    ]);
    let f = agent(&report, "a-1");
    assert_eq!(f.sessions, 3);
    assert_eq!(f.legs_ended, 2);
    assert_eq!(f.present_ms, 150_000);
    assert_eq!(f.average_present_ms(), Some(75_000));
    // Only the ended whisper leg: 90 s; the open one adds nothing.
    assert_eq!(f.whisper_ms, 90_000);
    // 1 of 3 legs ended by the supervisor's disconnect.
    assert_eq!(f.disconnected_legs, 1);
    assert_eq!(f.disconnect_rate(), Some(1.0 / 3.0));
    assert_eq!(f.legs_without_end, 1);
    assert_eq!(
        kinds(&report),
        vec![(AnomalyKind::NoRecordedEnd, Some("l-3"))]
    );
}

#[test]
fn a_disconnect_after_the_call_ended_is_not_a_leave_while_it_went_on() {
    #[rustfmt::skip]
    let report = report(vec![
        r("12:00:00.000", Joined, "sup-2", "c-6").agent("a-3", "C").leg("l-6"),
        r("12:05:00.000", CallEnded, "sup-2", "c-6").reason("customer_hangup"),
        r("12:05:01.000", Left, "sup-2", "c-6").leg("l-6").reason("disconnected"),
        // A call_ended before the leg joined does not touch it.
        r("12:06:00.000", CallEnded, "sup-2", "c-7").reason("agent_hangup"),
        r("12:07:00.000", Joined, "sup-2", "c-7").agent("a-3", "C").leg("l-7"),
        r("12:08:00.000", Left, "sup-2", "c-7").leg("l-7").reason("disconnected"),
    ]);
    let f = agent(&report, "a-3");
    assert_eq!(f.sessions, 2);
    assert_eq!(f.disconnected_legs, 1);
    assert_eq!(f.disconnect_rate(), Some(0.5));
}

#[test]
fn back_to_back_joins_lease_expiry_and_missing_ends() {
    #[rustfmt::skip]
    let report = report(vec![
        r("11:00:00.000", Joined, "sup-1", "c-4").agent("a-1", "A").leg("l-4").mode(Mode::Silent),
        // Another call while l-4 is open: back-to-back (on the c-5 leg).
        r("11:00:30.000", Joined, "sup-1", "c-5").agent("a-2", "B").leg("l-5").mode(Mode::Silent),
        // A different supervisor's join is not back-to-back for sup-1.
        r("11:00:40.000", Joined, "sup-9", "c-4").agent("a-1", "A").leg("l-9"),
        r("11:00:50.000", Left, "sup-9", "c-4").leg("l-9").reason("disconnected"),
        r("11:01:00.000", Left, "sup-1", "c-4").leg("l-4").reason("lease_expired"),
        // l-5 never leaves.
    ]);
    let a1 = agent(&report, "a-1");
    assert_eq!(a1.sessions, 2);
    assert_eq!(a1.lease_expired_legs, 1);
    assert_eq!(a1.back_to_back_joins, 0);
    assert_eq!(a1.present_ms, 60_000 + 10_000);
    let a2 = agent(&report, "a-2");
    assert_eq!(a2.back_to_back_joins, 1);
    assert_eq!(a2.legs_without_end, 1);
    assert_eq!(a2.legs_ended, 0);
    assert_eq!(
        kinds(&report),
        vec![
            (AnomalyKind::LeaseExpired, Some("l-4")),
            (AnomalyKind::BackToBackJoin, Some("l-5")),
            (AnomalyKind::NoRecordedEnd, Some("l-5")),
        ]
    );
    assert_eq!(
        report.anomalies[1].detail,
        "joined while leg l-4 on call c-4 was still open"
    );
    assert_eq!(
        report.anomalies[0].detail,
        "dropped by lease expiry after 0:01:00 present"
    );
    assert_eq!(report.overall.back_to_back_joins, 1);
    assert_eq!(report.overall.lease_expired_legs, 1);
    assert_eq!(report.overall.legs_without_end, 1);
}

/// A crash leaves two legs open; at the next start one is still on the
/// server (it goes on, and its later `left` ends it normally) and one is gone
/// (closed, with no time counted, and called what it is).
#[test]
fn legs_reconciled_after_a_crash() {
    #[rustfmt::skip]
    let report = report(vec![
        r("12:00:00.000", Joined, "sup-1", "c-1").agent("a-1", "A").leg("l-1").mode(Mode::Silent),
        r("12:00:00.000", Joined, "sup-1", "c-2").agent("a-2", "B").leg("l-2").mode(Mode::Whisper),
        // The console died; it starts again at 12:01.
        r("12:01:00.000", Reconciled, "sup-1", "c-1").leg("l-1").mode(Mode::Whisper).reason(crate::audit::STILL_LIVE),
        r("12:01:00.000", Reconciled, "sup-1", "c-2").leg("l-2").mode(Mode::Whisper).reason(crate::audit::UNKNOWN_AFTER_CRASH),
        r("12:02:00.000", Left, "sup-1", "c-1").leg("l-1").reason("disconnected"),
        // A reconciliation for a leg that is not open is unmatched.
        r("12:03:00.000", Reconciled, "sup-1", "c-2").leg("l-2").reason(crate::audit::UNKNOWN_AFTER_CRASH),
    ]);
    let a1 = agent(&report, "a-1");
    // Silent 12:00 to 12:01 (as last recorded), whisper from 12:01 (as the
    // server had it) to the leave at 12:02.
    assert_eq!(
        *a1,
        Figures {
            sessions: 1,
            legs_ended: 1,
            present_ms: 120_000,
            whisper_ms: 60_000,
            disconnected_legs: 1,
            ..Figures::default()
        }
    );
    let a2 = agent(&report, "a-2");
    assert_eq!(
        *a2,
        Figures {
            sessions: 1,
            back_to_back_joins: 1,
            closed_after_crash: 1,
            unmatched_records: 1,
            ..Figures::default()
        }
    );
    assert_eq!(
        kinds(&report),
        vec![
            (AnomalyKind::BackToBackJoin, Some("l-2")),
            (AnomalyKind::ClosedAfterCrash, Some("l-2")),
            (AnomalyKind::UnmatchedRecord, Some("l-2")),
        ]
    );
    assert!(
        report.anomalies[1]
            .detail
            .contains("server no longer had it"),
        "{}",
        report.anomalies[1].detail
    );
    assert_eq!(report.overall.legs_without_end, 0);
}

#[test]
fn a_second_join_of_the_same_leg_supersedes_the_first() {
    #[rustfmt::skip]
    let report = report(vec![
        r("13:00:00.000", Joined, "sup-2", "c-8").agent("a-4", "D").leg("l-8").mode(Mode::Barge),
        r("13:00:05.000", Joined, "sup-2", "c-8").agent("a-4", "D").leg("l-8").mode(Mode::Barge),
        r("13:01:00.000", Left, "sup-2", "c-8").leg("l-8").reason("disconnected"),
    ]);
    let f = agent(&report, "a-4");
    // Two joins, two sessions; the first has no end, the second 55 s.
    assert_eq!(f.sessions, 2);
    assert_eq!(f.legs_ended, 1);
    assert_eq!(f.present_ms, 55_000);
    assert_eq!(f.barge_ms, 55_000);
    assert_eq!(f.back_to_back_joins, 1);
    assert_eq!(f.legs_without_end, 1);
    assert_eq!(
        kinds(&report),
        vec![
            (AnomalyKind::NoRecordedEnd, Some("l-8")),
            (AnomalyKind::BackToBackJoin, Some("l-8")),
        ]
    );
    assert!(report.anomalies[0].detail.contains("same leg id"));
}

#[test]
fn a_rejoin_after_leaving_is_not_back_to_back() {
    #[rustfmt::skip]
    let report = report(vec![
        r("14:00:00.000", Joined, "sup-1", "c-1").agent("a-1", "A").leg("l-1"),
        r("14:00:10.000", Left, "sup-1", "c-1").leg("l-1").reason("disconnected"),
        r("14:00:20.000", Joined, "sup-1", "c-1").agent("a-1", "A").leg("l-2"),
        r("14:00:30.000", Left, "sup-1", "c-1").leg("l-2").reason("removed"),
    ]);
    let f = agent(&report, "a-1");
    assert_eq!(f.sessions, 2);
    assert_eq!(f.back_to_back_joins, 0);
    assert_eq!(f.present_ms, 20_000);
    assert!(report.anomalies.is_empty());
}

#[test]
fn records_without_a_leg_id_match_by_call() {
    #[rustfmt::skip]
    let report = report(vec![
        r("14:00:00.000", Joined, "sup-1", "c-1").agent("a-1", "A").leg("l-1").mode(Mode::Silent),
        r("14:00:10.000", ModeChanged, "sup-1", "c-1").mode(Mode::Whisper),
        r("14:00:30.000", Left, "sup-1", "c-1").reason("disconnected"),
    ]);
    let f = agent(&report, "a-1");
    assert_eq!(f.whisper_ms, 20_000);
    assert_eq!(f.present_ms, 30_000);
}

#[test]
fn unmatched_mode_changes_and_leaves_are_reported() {
    #[rustfmt::skip]
    let report = report(vec![
        r("15:00:00.000", CallSeen, "sup-1", "c-7").agent("a-1", "A"),
        r("15:00:05.000", ModeChanged, "sup-1", "c-7").leg("l-99").mode(Mode::Whisper),
        r("15:00:10.000", Left, "sup-1", "c-7").leg("l-99").reason("disconnected"),
    ]);
    let f = agent(&report, "a-1");
    assert_eq!(f.unmatched_records, 2);
    assert_eq!(f.sessions, 0);
    assert_eq!(f.disconnected_legs, 0);
    assert_eq!(f.disconnect_rate(), None);
    assert_eq!(
        kinds(&report),
        vec![
            (AnomalyKind::UnmatchedRecord, Some("l-99")),
            (AnomalyKind::UnmatchedRecord, Some("l-99")),
        ]
    );
    assert!(report.anomalies[0].detail.starts_with("mode_changed"));
    assert!(report.anomalies[1].detail.starts_with("left"));
}

#[test]
fn coverage_counts_distinct_seen_calls_with_a_leg() {
    #[rustfmt::skip]
    let report = report(vec![
        // a-1: c-1 (seen twice, joined), c-2 (seen, not joined): 1 of 2.
        r("09:00:00.000", CallSeen, "sup-1", "c-1").agent("a-1", "Alex Kim"),
        r("09:00:01.000", CallSeen, "sup-1", "c-1").agent("a-1", "Alex Kim"),
        r("09:00:02.000", CallSeen, "sup-1", "c-2").agent("a-1", "Alex Kim"),
        // a-2: c-3 seen, joined by leg whose record names no agent: 1 of 1.
        r("09:00:03.000", CallSeen, "sup-1", "c-3").agent("a-2", "Priya Nair"),
        r("09:01:00.000", Joined, "sup-1", "c-1").leg("l-1"),
        r("09:02:00.000", Left, "sup-1", "c-1").leg("l-1").reason("disconnected"),
        r("09:03:00.000", Joined, "sup-1", "c-3").leg("l-3"),
        r("09:04:00.000", Left, "sup-1", "c-3").leg("l-3").reason("disconnected"),
        // A leg on a call never seen: a session, but not in coverage; no
        // record names its agent, so it goes to the unknown agent.
        r("09:05:00.000", Joined, "sup-1", "c-9").leg("l-9"),
        r("09:06:00.000", Left, "sup-1", "c-9").leg("l-9").reason("disconnected"),
    ]);
    let a1 = agent(&report, "a-1");
    assert_eq!((a1.calls_covered, a1.calls_seen), (1, 2));
    assert_eq!(a1.coverage(), Some(0.5));
    assert_eq!(a1.sessions, 1);
    let a2 = agent(&report, "a-2");
    assert_eq!((a2.calls_covered, a2.calls_seen), (1, 1));
    let unknown = report.agents.last().unwrap();
    assert_eq!(unknown.agent_id, None);
    assert_eq!(unknown.label(), "(unknown)");
    assert_eq!(unknown.figures.sessions, 1);
    assert_eq!(unknown.figures.calls_seen, 0);
    assert_eq!(unknown.figures.coverage(), None);
    // Overall: 2 of 3 distinct seen calls, 3 sessions.
    assert_eq!(
        (report.overall.calls_covered, report.overall.calls_seen),
        (2, 3)
    );
    assert_eq!(report.overall.coverage(), Some(2.0 / 3.0));
    assert_eq!(report.overall.sessions, 3);
    let ids: Vec<_> = report
        .agents
        .iter()
        .map(|a| a.agent_id.as_deref())
        .collect();
    assert_eq!(ids, vec![Some("a-1"), Some("a-2"), None]);
}

#[test]
fn the_supervisor_filter_keeps_only_that_supervisors_records() {
    let mut records = coached_call();
    #[rustfmt::skip]
    records.extend([
        r("09:20:00.000", CallSeen, "sup-2", "c-2").agent("a-1", "Alex Kim"),
        // sup-1 has left by now, and sup-2 had no leg: not back-to-back.
        r("09:20:01.000", Joined, "sup-2", "c-2").agent("a-1", "Alex Kim").leg("l-2").mode(Mode::Barge),
        r("09:20:11.000", Left, "sup-2", "c-2").leg("l-2").reason("lease_expired"),
    ]);
    let all = report_with(records, &Filter::default());
    assert_eq!(all.overall.sessions, 2);
    assert_eq!(all.overall.barge_ms, 30_000 + 10_000);
    assert_eq!(all.overall.calls_seen, 2);
    assert!(
        all.anomalies
            .iter()
            .all(|a| a.kind == AnomalyKind::LeaseExpired)
    );

    let mut records = coached_call();
    records.push(r("09:20:00.000", CallSeen, "sup-2", "c-2").agent("a-1", "Alex Kim"));
    let only = Filter {
        supervisor: Some("sup-1".into()),
        ..Filter::default()
    };
    let report = report_with(records, &only);
    assert_eq!(report.overall.sessions, 1);
    assert_eq!(report.overall.calls_seen, 1);
    assert_eq!(report.records, 9);
    assert_eq!(report.supervisor.as_deref(), Some("sup-1"));
}

#[test]
fn legs_count_on_the_day_they_start_and_are_read_whole_across_midnight() {
    #[rustfmt::skip]
    let records = || {
        vec![
            r("2026-11-21T23:59:00.000Z", CallSeen, "sup-1", "c-1").agent("a-1", "A"),
            r("2026-11-21T23:59:50.000Z", Joined, "sup-1", "c-1").agent("a-1", "A").leg("l-1").mode(Mode::Whisper),
            r("2026-11-22T00:00:20.000Z", Left, "sup-1", "c-1").leg("l-1").reason("disconnected"),
            r("2026-11-22T00:01:00.000Z", CallSeen, "sup-1", "c-2").agent("a-1", "A"),
        ]
    };
    let day1 = Filter {
        from: Some(date!(2026 - 11 - 21)),
        to: Some(date!(2026 - 11 - 21)),
        supervisor: None,
    };
    let report = report_with(records(), &day1);
    let f = agent(&report, "a-1");
    assert_eq!(
        (f.sessions, f.present_ms, f.whisper_ms),
        (1, 30_000, 30_000)
    );
    assert_eq!((f.calls_covered, f.calls_seen), (1, 1));
    assert_eq!(report.records, 2);
    assert_eq!(report.from.as_deref(), Some("2026-11-21"));

    let day2 = Filter {
        from: Some(date!(2026 - 11 - 22)),
        ..Filter::default()
    };
    let report = report_with(records(), &day2);
    let f = agent(&report, "a-1");
    // The leg belongs to the 21st; the 22nd saw c-2, not joined.
    assert_eq!((f.sessions, f.calls_covered, f.calls_seen), (0, 0, 1));
    assert!(report.anomalies.is_empty());
}

#[test]
fn problems_are_kept_for_the_days_in_range() {
    let problem = |day: &str| Problem {
        file: PathBuf::from(format!("/j/journal-{day}.jsonl")),
        line: 3,
        kind: ProblemKind::Torn,
        detail: "EOF while parsing".into(),
    };
    let problems = vec![problem("2026-11-20"), problem("2026-11-21")];
    let filter = Filter {
        from: Some(date!(2026 - 11 - 21)),
        ..Filter::default()
    };
    let report = build_report(&[], &problems, &filter);
    assert_eq!(report.problems, vec![problem("2026-11-21")]);
    assert_eq!(report.torn_lines(), 1);
    assert_eq!(report.unparseable_lines(), 0);
}

fn arbitrary_record() -> impl Strategy<Value = Record> {
    let kind = prop::sample::select(vec![
        CallSeen,
        CallEnded,
        JoinRequested,
        Joined,
        ModeChanged,
        Left,
        DisconnectRequested,
        Reconciled,
    ]);
    let mode = prop::option::of(prop::sample::select(Mode::ALL.to_vec()));
    let reason = prop::option::of(prop::sample::select(vec![
        "disconnected",
        "call_ended",
        "lease_expired",
        "removed",
        crate::audit::STILL_LIVE,
        crate::audit::UNKNOWN_AFTER_CRASH,
    ]));
    (
        0i64..600_000,
        prop::option::of(0i64..600_000),
        kind,
        0u8..2,
        0u8..3,
        prop::option::of(0u8..3),
        prop::option::of(0u8..3),
        mode,
        reason,
    )
        .prop_map(|(at, server, kind, sup, call, leg, agent, mode, reason)| {
            let base = t("09:00:00.000");
            let mut record = Record::new(
                base.plus_millis(at),
                kind,
                &format!("sup-{sup}"),
                &format!("c-{call}"),
            );
            record.server_at = server.map(|s| base.plus_millis(s));
            record.leg_id = leg.map(|l| format!("l-{l}"));
            record.agent_id = agent.map(|a| format!("a-{a}"));
            record.mode = mode;
            record.reason = reason.map(str::to_owned);
            record
        })
}

proptest! {
    #[test]
    fn figures_stay_consistent_on_any_sequence(
        records in prop::collection::vec(arbitrary_record(), 0..40)
    ) {
        let report = build_report(&records, &[], &Filter::default());
        let mut sum = Figures::default();
        for agent in &report.agents {
            sum.add(&agent.figures);
        }
        prop_assert_eq!(sum, report.overall);
        let all = report.overall;
        prop_assert!(all.whisper_ms + all.barge_ms <= all.present_ms);
        prop_assert!(
            all.legs_ended + all.legs_without_end + all.closed_after_crash <= all.sessions
        );
        prop_assert!(all.disconnected_legs + all.lease_expired_legs <= all.legs_ended);
        prop_assert!(all.calls_covered <= all.calls_seen);
        prop_assert_eq!(
            all.sessions,
            records.iter().filter(|r| r.kind == Joined).count() as u64
        );
        for ratio in [all.coverage(), all.disconnect_rate()].into_iter().flatten() {
            prop_assert!((0.0..=1.0).contains(&ratio));
        }
    }
}

#[test]
fn agents_come_most_present_first_then_most_sessions_then_by_id() {
    #[rustfmt::skip]
    let report = report(vec![
        // a-3: one leg of 60 s; a-1: two legs of 10 s; a-2: one of 10 s;
        // a-4 only seen, like the unknown agent's call.
        r("09:00:00", Joined, "s", "c-3").agent("a-3", "Cy").leg("l-3"),
        r("09:01:00", Left, "s", "c-3").leg("l-3").reason("disconnected"),
        r("09:02:00", Joined, "s", "c-1").agent("a-1", "Al").leg("l-1"),
        r("09:02:05", Left, "s", "c-1").leg("l-1").reason("disconnected"),
        r("09:03:00", Joined, "s", "c-5").agent("a-1", "Al").leg("l-5"),
        r("09:03:05", Left, "s", "c-5").leg("l-5").reason("disconnected"),
        r("09:04:00", Joined, "s", "c-2").agent("a-2", "Bo").leg("l-2"),
        r("09:04:10", Left, "s", "c-2").leg("l-2").reason("disconnected"),
        r("09:05:00", CallSeen, "s", "c-4").agent("a-4", "Di"),
        r("09:05:00", CallSeen, "s", "c-6"),
    ]);
    let order: Vec<Option<&str>> = report
        .agents
        .iter()
        .map(|a| a.agent_id.as_deref())
        .collect();
    assert_eq!(
        order,
        [Some("a-3"), Some("a-1"), Some("a-2"), Some("a-4"), None]
    );
}

#[test]
fn a_rotation_hop_is_no_back_to_back_join() {
    #[rustfmt::skip]
    let report = report(vec![
        r("09:00:00", Joined, "s", "c-1").agent("a-1", "Al").leg("l-1").reason("rotation"),
        r("09:00:45", Joined, "s", "c-2").agent("a-2", "Bo").leg("l-2").reason("rotation"),
        r("09:00:45.100", Left, "s", "c-1").leg("l-1").reason("disconnected"),
        // Without the reason, the same overlap is one.
        r("09:01:30", Joined, "s", "c-3").agent("a-3", "Cy").leg("l-3"),
    ]);
    assert_eq!(report.overall.back_to_back_joins, 1);
    let back_to_back: Vec<_> = kinds(&report)
        .into_iter()
        .filter(|(kind, _)| *kind == AnomalyKind::BackToBackJoin)
        .collect();
    assert_eq!(back_to_back, [(AnomalyKind::BackToBackJoin, Some("l-3"))]);
}
