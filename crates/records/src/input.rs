//! The server's rows as the report's input: the events a console's journal
//! tells (`joined`, `mode_changed`, `left`, `call_seen`, `call_ended`),
//! read in place from the rows, so `floorwalk report --records` computes
//! every figure with the one function the journal report uses
//! ([`report_of`]) without building a journal record per event.

use crate::store::{CallRow, LegRow, Rows};
use floorwalk_console::audit::{Filter, RecordKind, Report, ReportEvent, report_of};
use floorwalk_protocol::{Mode, Timestamp};
use std::borrow::Cow;
use std::collections::BTreeSet;

/// One event a row tells.
#[derive(Debug, Clone, Copy)]
pub struct RowEvent<'a> {
    at: Timestamp,
    /// The server's order of events in that millisecond; a call's
    /// `call_seen` (not numbered) before anything else.
    seq: i64,
    /// Its place in the rows' own order (each call's events, then each
    /// leg's), which orders events equal in time and `seq`.
    place: usize,
    kind: RecordKind,
    mode: Option<Mode>,
    row: Row<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Row<'a> {
    /// With the supervisor the call's events are stamped with.
    Call(&'a CallRow, &'a str),
    Leg(&'a LegRow),
}

impl ReportEvent for RowEvent<'_> {
    fn kind(&self) -> RecordKind {
        self.kind
    }
    fn at(&self) -> Timestamp {
        self.at
    }
    fn time(&self) -> Timestamp {
        self.at
    }
    fn supervisor(&self) -> &str {
        match self.row {
            Row::Call(_, supervisor) => supervisor,
            Row::Leg(leg) => &leg.supervisor,
        }
    }
    fn call_id(&self) -> &str {
        match self.row {
            Row::Call(call, _) => &call.call_id,
            Row::Leg(leg) => &leg.call_id,
        }
    }
    fn agent_id(&self) -> Option<&str> {
        Some(match self.row {
            Row::Call(call, _) => &call.agent_id,
            Row::Leg(leg) => &leg.agent_id,
        })
    }
    fn agent_name(&self) -> Option<&str> {
        match self.row {
            Row::Call(call, _) => call.agent_name.as_deref(),
            Row::Leg(leg) => leg.agent_name.as_deref(),
        }
    }
    fn leg_id(&self) -> Option<&str> {
        match self.row {
            Row::Call(..) => None,
            Row::Leg(leg) => Some(&leg.leg_id),
        }
    }
    fn mode(&self) -> Option<Mode> {
        self.mode
    }
    fn reason(&self) -> Option<&str> {
        match (self.kind, self.row) {
            (RecordKind::Left, Row::Leg(leg)) => leg.left_reason.as_deref(),
            _ => None,
        }
    }
    fn announced(&self) -> Option<bool> {
        None
    }
}

/// The rows with call and leg ids as the report names them: with rows from
/// more than one server, `SERVER/ID`, so equal ids on two floors stay
/// apart; from one, as they are (and not copied).
pub fn qualified(rows: &Rows) -> Cow<'_, Rows> {
    let servers: BTreeSet<&str> = (rows.legs.iter().map(|l| &*l.server))
        .chain(rows.calls.iter().map(|c| &*c.server))
        .collect();
    if servers.len() < 2 {
        return Cow::Borrowed(rows);
    }
    let mut rows = rows.clone();
    for leg in &mut rows.legs {
        leg.call_id = format!("{}/{}", leg.server, leg.call_id);
        leg.leg_id = format!("{}/{}", leg.server, leg.leg_id);
    }
    for call in &mut rows.calls {
        call.call_id = format!("{}/{}", call.server, call.call_id);
    }
    Cow::Owned(rows)
}

/// The events `rows` (as [`qualified`] gives them) tell, in the order they
/// happened.
///
/// Every call is seen (the server sees the whole floor; a console only
/// what it was shown while it ran), stamped with `supervisor` when the
/// report is one supervisor's, so coverage counts against every call.
pub fn report_events<'a>(rows: &'a Rows, supervisor: Option<&'a str>) -> Vec<RowEvent<'a>> {
    // One list per kind: rows come roughly in time order, so each list is
    // nearly sorted already, and the sort below merges a few long runs.
    let [mut seen, mut ended, mut joined, mut changed, mut left] = [(); 5].map(|()| Vec::new());
    let mut place = 0;
    let mut event = |at, seq, kind, mode, row| {
        place += 1;
        RowEvent {
            at,
            seq,
            place,
            kind,
            mode,
            row,
        }
    };
    for call in &rows.calls {
        let row = Row::Call(call, supervisor.unwrap_or(""));
        if let Some(ended_at) = call.ended_at {
            let seq = call.ended_seq.unwrap_or(i64::MAX);
            ended.push(event(ended_at, seq, RecordKind::CallEnded, None, row));
        }
        let (at, seq) = (call.started_at, i64::MIN);
        seen.push(event(at, seq, RecordKind::CallSeen, None, row));
    }
    for leg in &rows.legs {
        let row = Row::Leg(leg);
        let mut segments = leg.segments.iter();
        let first = segments.next().map(|s| s.mode);
        joined.push(event(
            leg.joined_at,
            leg.joined_seq,
            RecordKind::Joined,
            first,
            row,
        ));
        for segment in segments {
            let (at, seq, mode) = (segment.started_at, segment.seq, Some(segment.mode));
            changed.push(event(at, seq, RecordKind::ModeChanged, mode, row));
        }
        if let Some(left_at) = leg.left_at {
            let seq = leg.left_seq.unwrap_or(i64::MAX);
            left.push(event(left_at, seq, RecordKind::Left, None, row));
        }
    }
    let mut events = seen;
    for more in [ended, joined, changed, left] {
        events.extend(more);
    }
    events.sort_by_key(|e| (e.at, e.seq, e.place));
    events
}

/// The report over `rows`: [`report_of`] their events.
pub fn records_report(rows: &Rows, filter: &Filter) -> Report {
    let rows = qualified(rows);
    let events = report_events(&rows, filter.supervisor.as_deref());
    report_of(&events, &[], filter)
}
