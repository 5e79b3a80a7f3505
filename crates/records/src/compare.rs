//! `report --records URL --compare-journal DIR`: where a console's journal
//! and the server's records disagree about the same supervisor's legs.

use crate::store::{LegRow, Rows};
use floorwalk_console::audit::{Record, RecordKind};
use floorwalk_protocol::Timestamp;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// What kind of disagreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mismatch {
    /// The console recorded its own leave; the server, a lease expiry.
    LeaveRecordedAsLeaseExpiry,
    /// Both ended the leg, for different reasons.
    LeaveReasonDiffers,
    /// The server has the join; the journal has not.
    JoinMissingFromJournal,
    /// The journal has the join; the server has not.
    JoinMissingFromRecords,
    /// The journal has the leg open; the server has its end.
    EndMissingFromJournal,
}

impl Mismatch {
    pub fn as_str(self) -> &'static str {
        match self {
            Mismatch::LeaveRecordedAsLeaseExpiry => "leave recorded as lease expiry",
            Mismatch::LeaveReasonDiffers => "leave reason differs",
            Mismatch::JoinMissingFromJournal => "join missing from the journal",
            Mismatch::JoinMissingFromRecords => "join missing from the records",
            Mismatch::EndMissingFromJournal => "end missing from the journal",
        }
    }
}

/// One disagreement about one leg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    pub kind: Mismatch,
    pub at: Timestamp,
    pub supervisor: String,
    pub call_id: String,
    pub leg_id: String,
    pub detail: String,
}

/// A leg as the journal tells it.
#[derive(Default)]
struct JournalLeg<'a> {
    joined: Option<&'a Record>,
    left: Option<&'a Record>,
    /// The console asked to leave it.
    asked_to_leave: bool,
}

/// Compares the journal's legs with the server's, for the supervisors the
/// journal speaks for, in time order.
pub fn compare(journal: &[Record], rows: &Rows) -> Vec<Disagreement> {
    let mut legs: HashMap<(&str, &str), JournalLeg<'_>> = HashMap::new();
    for record in journal {
        let Some(leg_id) = record.leg_id.as_deref() else {
            continue;
        };
        let leg = legs
            .entry((record.supervisor.as_str(), leg_id))
            .or_default();
        match record.kind {
            RecordKind::Joined => leg.joined = leg.joined.or(Some(record)),
            RecordKind::Left => leg.left = Some(record),
            RecordKind::DisconnectRequested => leg.asked_to_leave = true,
            _ => {}
        }
    }
    let supervisors: HashSet<&str> = journal.iter().map(|r| r.supervisor.as_str()).collect();
    let mut found = Vec::new();
    let mut matched: HashSet<(&str, &str)> = HashSet::new();
    for row in rows
        .legs
        .iter()
        .filter(|l| supervisors.contains(&*l.supervisor))
    {
        let key = (&*row.supervisor, row.leg_id.as_str());
        let note = |kind, detail: String| Disagreement {
            kind,
            at: row.joined_at,
            supervisor: row.supervisor.to_string(),
            call_id: row.call_id.clone(),
            leg_id: row.leg_id.clone(),
            detail,
        };
        let Some(leg) = legs.get(&key).filter(|l| l.joined.is_some()) else {
            found.push(note(
                Mismatch::JoinMissingFromJournal,
                format!(
                    "the server recorded this leg joining on {} ({})",
                    row.server,
                    ended(row)
                ),
            ));
            continue;
        };
        matched.insert(key);
        let server_reason = row.left_reason.as_deref();
        let console_reason = leg.left.and_then(|r| r.reason.as_deref());
        match (server_reason, console_reason) {
            (Some("lease_expired"), console)
                if console == Some("disconnected") || leg.asked_to_leave =>
            {
                found.push(note(
                    Mismatch::LeaveRecordedAsLeaseExpiry,
                    format!(
                        "the console left ({}); the server recorded a lease expiry",
                        console.unwrap_or("asked to, unconfirmed")
                    ),
                ));
            }
            (Some(server), Some(console)) if !same_end(server, console) => found.push(note(
                Mismatch::LeaveReasonDiffers,
                format!("the server recorded {server}, the console {console}"),
            )),
            (Some(server), None) => found.push(note(
                Mismatch::EndMissingFromJournal,
                format!("the server recorded the leg ending ({server}); the journal has no end"),
            )),
            _ => {}
        }
    }
    let mut missing: Vec<Disagreement> = legs
        .iter()
        .filter(|(key, leg)| leg.joined.is_some() && !matched.contains(*key))
        .filter_map(|((supervisor, leg_id), leg)| {
            let joined = leg.joined?;
            Some(Disagreement {
                kind: Mismatch::JoinMissingFromRecords,
                at: joined.server_at.unwrap_or(joined.at),
                supervisor: (*supervisor).to_owned(),
                call_id: joined.call_id.clone(),
                leg_id: (*leg_id).to_owned(),
                detail: "the journal recorded this join; the server's records have no such leg"
                    .into(),
            })
        })
        .collect();
    found.append(&mut missing);
    found.sort_by(|a, b| (a.at, &a.leg_id).cmp(&(b.at, &b.leg_id)));
    found
}

/// The server knows more than a console: a call a supervisor ended is
/// `ended_by_supervisor` in the records and `call_ended` in the journal.
fn same_end(server: &str, console: &str) -> bool {
    server == console || (server == "ended_by_supervisor" && console == "call_ended")
}

fn ended(row: &LegRow) -> String {
    match (&row.left_reason, row.left_at) {
        (Some(reason), Some(_)) => format!("ended: {reason}"),
        _ => "still open".into(),
    }
}
