//! The server's rows as the report's input: the same journal records a
//! console writes (`joined`, `mode_changed`, `left`, `call_seen`,
//! `call_ended`), so `floorwalk report --records` computes every figure
//! with the one function the journal report uses.

use crate::store::{CallRow, LegRow, Rows};
use floorwalk_console::audit::{Record, RecordKind};
use floorwalk_protocol::Timestamp;
use std::collections::BTreeSet;

/// Where a record falls: its time, then the server's order of events in
/// that millisecond, then (for calls, which are not numbered at their
/// start) before anything else.
type Order = (Timestamp, i64);

/// The journal records the rows tell, in the order they happened.
///
/// Every call is seen (the server sees the whole floor; a console only
/// what it was shown while it ran), stamped with `supervisor` when the
/// report is one supervisor's, so coverage counts against every call.
/// With rows from more than one server, call and leg ids become
/// `SERVER/ID`, so equal ids on two floors stay apart.
pub fn journal_records(rows: &Rows, supervisor: Option<&str>) -> Vec<Record> {
    let servers: BTreeSet<&str> = (rows.legs.iter().map(|l| l.server.as_str()))
        .chain(rows.calls.iter().map(|c| c.server.as_str()))
        .collect();
    let qualify = |server: &str, id: &str| {
        if servers.len() > 1 {
            format!("{server}/{id}")
        } else {
            id.to_owned()
        }
    };
    let mut ordered: Vec<(Order, Record)> = Vec::new();
    for call in &rows.calls {
        call_records(call, supervisor.unwrap_or(""), &qualify, &mut ordered);
    }
    for leg in &rows.legs {
        leg_records(leg, &qualify, &mut ordered);
    }
    // The keys are sorted, not the records (moving those costs more than
    // comparing); the index keeps the sort stable, and a call's `call_seen`
    // (order i64::MIN) first in its millisecond.
    let mut keys: Vec<(Order, usize)> = (ordered.iter().enumerate())
        .map(|(at, (order, _))| (*order, at))
        .collect();
    keys.sort_unstable();
    let mut records: Vec<Option<Record>> = ordered.into_iter().map(|(_, r)| Some(r)).collect();
    keys.into_iter()
        .filter_map(|(_, at)| records[at].take())
        .collect()
}

fn call_records(
    call: &CallRow,
    supervisor: &str,
    qualify: &impl Fn(&str, &str) -> String,
    out: &mut Vec<(Order, Record)>,
) {
    let call_id = qualify(&call.server, &call.call_id);
    let mut seen = Record::new(call.started_at, RecordKind::CallSeen, supervisor, &call_id);
    seen.agent_id = Some(call.agent_id.clone());
    seen.agent_name = call.agent_name.clone();
    seen.server_at = Some(call.started_at);
    if let Some(ended_at) = call.ended_at {
        let mut ended = seen.clone();
        ended.kind = RecordKind::CallEnded;
        ended.at = ended_at;
        ended.server_at = Some(ended_at);
        out.push(((ended_at, call.ended_seq.unwrap_or(i64::MAX)), ended));
    }
    out.push(((call.started_at, i64::MIN), seen));
}

fn leg_records(
    leg: &LegRow,
    qualify: &impl Fn(&str, &str) -> String,
    out: &mut Vec<(Order, Record)>,
) {
    let call_id = qualify(&leg.server, &leg.call_id);
    let base = |kind: RecordKind, at: Timestamp| {
        let mut record = Record::new(at, kind, &leg.supervisor, &call_id);
        record.agent_id = Some(leg.agent_id.clone());
        record.agent_name = leg.agent_name.clone();
        record.leg_id = Some(qualify(&leg.server, &leg.leg_id));
        record.server_at = Some(at);
        record
    };
    let mut segments = leg.segments.iter();
    let mut joined = base(RecordKind::Joined, leg.joined_at);
    joined.mode = segments.next().map(|s| s.mode);
    out.push(((leg.joined_at, leg.joined_seq), joined));
    for segment in segments {
        let mut changed = base(RecordKind::ModeChanged, segment.started_at);
        changed.mode = Some(segment.mode);
        out.push(((segment.started_at, segment.seq), changed));
    }
    if let Some(left_at) = leg.left_at {
        let mut left = base(RecordKind::Left, left_at);
        left.reason = leg.left_reason.clone();
        out.push(((left_at, leg.left_seq.unwrap_or(i64::MAX)), left));
    }
}
