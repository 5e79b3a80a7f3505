//! The report: a pure function from journal records to figures per agent and
//! overall, plus the anomalies. `docs/audit.md` states every formula.

use super::day::{format_date, parse_file_name, utc_date};
use super::read::{Problem, ProblemKind};
use super::{ROTATION_HOP, Record, RecordKind, UNKNOWN_AFTER_CRASH};
use floorwalk_protocol::{Mode, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use time::Date;

/// Which records the report covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// First UTC day, inclusive.
    pub from: Option<Date>,
    /// Last UTC day, inclusive.
    pub to: Option<Date>,
    /// Only this supervisor's records.
    pub supervisor: Option<String>,
}

impl Filter {
    fn covers(&self, date: Option<Date>) -> bool {
        match date {
            Some(date) => {
                self.from.is_none_or(|from| date >= from) && self.to.is_none_or(|to| date <= to)
            }
            // Outside the calendar: only an unbounded range holds it.
            None => self.from.is_none() && self.to.is_none(),
        }
    }
}

/// The counts behind every figure, for one agent or overall. Durations are
/// in milliseconds. Ratios are computed from these (see the methods).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Supervisor legs joined (`joined` records).
    pub sessions: u64,
    /// Of those, legs with a recorded end (`left`).
    pub legs_ended: u64,
    /// Time present, summed over the legs with a recorded end.
    pub present_ms: u64,
    /// Distinct calls seen (`call_seen`).
    pub calls_seen: u64,
    /// Of those, calls with at least one supervisor leg.
    pub calls_covered: u64,
    /// Time legs spent in whisper mode.
    pub whisper_ms: u64,
    /// Time legs spent in barge mode.
    pub barge_ms: u64,
    /// Legs that ended by the supervisor's own disconnect while the call
    /// went on.
    pub disconnected_legs: u64,
    /// Joins made while the same supervisor had another leg open.
    pub back_to_back_joins: u64,
    /// Legs with no `left` record.
    pub legs_without_end: u64,
    /// Legs that left with reason `lease_expired`.
    pub lease_expired_legs: u64,
    /// Legs closed by reconciliation after a crash: the console found them
    /// open in the journal at start, and the server no longer had them.
    pub closed_after_crash: u64,
    /// `mode_changed` or `left` records that match no open leg.
    pub unmatched_records: u64,
}

impl Figures {
    /// `present_ms / legs_ended`, rounded down.
    pub fn average_present_ms(&self) -> Option<u64> {
        self.present_ms.checked_div(self.legs_ended)
    }

    /// `calls_covered / calls_seen`.
    pub fn coverage(&self) -> Option<f64> {
        ratio(self.calls_covered, self.calls_seen)
    }

    /// `disconnected_legs / sessions`.
    pub fn disconnect_rate(&self) -> Option<f64> {
        ratio(self.disconnected_legs, self.sessions)
    }

    fn add(&mut self, other: &Figures) {
        self.sessions += other.sessions;
        self.legs_ended += other.legs_ended;
        self.present_ms += other.present_ms;
        self.calls_seen += other.calls_seen;
        self.calls_covered += other.calls_covered;
        self.whisper_ms += other.whisper_ms;
        self.barge_ms += other.barge_ms;
        self.disconnected_legs += other.disconnected_legs;
        self.back_to_back_joins += other.back_to_back_joins;
        self.legs_without_end += other.legs_without_end;
        self.lease_expired_legs += other.lease_expired_legs;
        self.closed_after_crash += other.closed_after_crash;
        self.unmatched_records += other.unmatched_records;
    }
}

/// `H:MM:SS`, seconds rounded down.
pub fn format_duration(ms: u64) -> String {
    let secs = ms / 1000;
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    // Counts stay far below 2^53, so the conversion is exact.
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// One agent's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentFigures {
    /// `None` for legs and calls no record named an agent for.
    pub agent_id: Option<String>,
    /// The latest name the journal gave this agent.
    pub agent_name: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

impl AgentFigures {
    /// The name to show: the agent's name, else its id, else "(unknown)".
    pub fn label(&self) -> &str {
        self.agent_name
            .as_deref()
            .or(self.agent_id.as_deref())
            .unwrap_or("(unknown)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    BackToBackJoin,
    NoRecordedEnd,
    LeaseExpired,
    ClosedAfterCrash,
    UnmatchedRecord,
}

impl AnomalyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::BackToBackJoin => "back-to-back join",
            AnomalyKind::NoRecordedEnd => "no recorded end",
            AnomalyKind::LeaseExpired => "lease expired",
            AnomalyKind::ClosedAfterCrash => "closed after crash",
            AnomalyKind::UnmatchedRecord => "unmatched record",
        }
    }
}

/// One anomaly, tied to a leg or a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// The leg's start, or the unmatched record's time.
    pub at: Timestamp,
    /// Its fields stand in the anomaly's own JSON object.
    #[serde(flatten)]
    pub leg: LegRef,
    pub detail: String,
}

/// The leg an anomaly is about, as far as the journal knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegRef {
    pub supervisor: String,
    pub call_id: String,
    pub leg_id: Option<String>,
    pub agent_id: Option<String>,
}

/// One supervisor's rejoins of calls they had left (`rejoin` records).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisorRejoins {
    pub supervisor: String,
    /// Rejoins where the customer heard the monitoring notice.
    pub announced: u64,
    /// Rejoins without it.
    pub unannounced: u64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The filter, days as `YYYY-MM-DD`.
    pub from: Option<String>,
    pub to: Option<String>,
    pub supervisor: Option<String>,
    /// Records inside the filter.
    pub records: u64,
    pub overall: Figures,
    /// Most presence first, then most sessions, then by agent id; the
    /// unknown agent last.
    pub agents: Vec<AgentFigures>,
    /// In time order.
    pub anomalies: Vec<Anomaly>,
    /// By supervisor id; only supervisors who rejoined a call.
    #[serde(default)]
    pub rejoins: Vec<SupervisorRejoins>,
    /// Torn and unparseable lines of the files in the date range.
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn torn_lines(&self) -> u64 {
        self.count_problems(ProblemKind::Torn)
    }

    pub fn unparseable_lines(&self) -> u64 {
        self.count_problems(ProblemKind::Unparseable)
    }

    fn count_problems(&self, kind: ProblemKind) -> u64 {
        self.problems.iter().filter(|p| p.kind == kind).count() as u64
    }
}

/// A supervisor leg rebuilt from its records.
#[derive(Debug)]
struct Leg {
    supervisor: String,
    call_id: String,
    leg_id: Option<String>,
    agent_id: Option<String>,
    /// Event time of `joined`.
    start: Timestamp,
    /// Time accounted so far: never before `start`, never moving back.
    cursor: Timestamp,
    mode: Option<Mode>,
    whisper_ms: u64,
    barge_ms: u64,
    /// Time of the `left` record, clamped to the cursor.
    end: Option<Timestamp>,
    end_reason: Option<String>,
    /// A `call_ended` for its call came while the leg was open.
    call_over: bool,
    /// Joined while another leg of the same supervisor was open: the latest
    /// such leg's description.
    back_to_back: Option<String>,
    /// Replaced by a later `joined` with the same leg id before any `left`.
    superseded: bool,
    /// Closed by a `reconciled` record: gone from the server after a crash,
    /// at a time nobody recorded.
    closed_after_crash: bool,
}

impl Leg {
    /// Accounts the time up to `t` to the current mode.
    fn advance(&mut self, t: Timestamp) {
        let t = t.max(self.cursor);
        let span = u64::try_from(t.millis_since(self.cursor)).unwrap_or(0);
        match self.mode {
            Some(Mode::Whisper) => self.whisper_ms += span,
            Some(Mode::Barge) => self.barge_ms += span,
            Some(Mode::Silent) | None => {}
        }
        self.cursor = t;
    }

    fn present_ms(&self) -> Option<u64> {
        self.end
            .map(|end| u64::try_from(end.millis_since(self.start)).unwrap_or(0))
    }

    fn disconnected(&self) -> bool {
        self.end_reason.as_deref() == Some("disconnected") && !self.call_over
    }

    fn lease_expired(&self) -> bool {
        self.end_reason.as_deref() == Some("lease_expired")
    }
}

/// The time of the event a record tells: the server's when it gave one,
/// else the console's.
fn event_time(record: &Record) -> Timestamp {
    record.server_at.unwrap_or(record.at)
}

/// Builds the report from records in journal order and the reader's problems.
pub fn build_report(records: &[Record], problems: &[Problem], filter: &Filter) -> Report {
    let records: Vec<&Record> = records
        .iter()
        .filter(|r| {
            filter
                .supervisor
                .as_deref()
                .is_none_or(|s| r.supervisor == s)
        })
        .collect();
    let in_range = |t: Timestamp| filter.covers(utc_date(t));

    // Which agent each call belongs to, and each agent's latest name.
    let mut call_agent: HashMap<&str, &str> = HashMap::new();
    let mut agent_names: HashMap<&str, &str> = HashMap::new();
    for record in &records {
        if let Some(agent) = record.agent_id.as_deref() {
            call_agent.entry(&record.call_id).or_insert(agent);
            if let Some(name) = record.agent_name.as_deref() {
                agent_names.insert(agent, name);
            }
        }
    }
    let agent_of = |record: &Record| -> Option<String> {
        record
            .agent_id
            .as_deref()
            .or_else(|| call_agent.get(record.call_id.as_str()).copied())
            .map(str::to_owned)
    };

    let mut legs: Vec<Leg> = Vec::new();
    // Indices in `legs` of the legs joined and not yet left, oldest first.
    let mut open: Vec<usize> = Vec::new();
    let mut unmatched: Vec<Anomaly> = Vec::new();
    // First agent each seen call was attributed to, in order of first sight.
    let mut seen_calls: Vec<(String, Option<String>)> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut rejoins: BTreeMap<&str, SupervisorRejoins> = BTreeMap::new();

    for record in &records {
        let t = event_time(record);
        match record.kind {
            RecordKind::Joined => {
                let mut back_to_back = None;
                for &i in &open {
                    let leg = &mut legs[i];
                    if leg.supervisor != record.supervisor {
                        continue;
                    }
                    back_to_back = Some(format!(
                        "leg {} on call {}",
                        leg.leg_id.as_deref().unwrap_or("(no id)"),
                        leg.call_id
                    ));
                    leg.superseded = leg.leg_id.is_some() && leg.leg_id == record.leg_id;
                }
                open.retain(|&i| !legs[i].superseded);
                open.push(legs.len());
                legs.push(Leg {
                    supervisor: record.supervisor.clone(),
                    call_id: record.call_id.clone(),
                    leg_id: record.leg_id.clone(),
                    agent_id: agent_of(record),
                    start: t,
                    cursor: t,
                    mode: record.mode,
                    whisper_ms: 0,
                    barge_ms: 0,
                    end: None,
                    end_reason: None,
                    call_over: false,
                    // A rotation hop overlaps its previous leg on purpose.
                    back_to_back: back_to_back
                        .filter(|_| record.reason.as_deref() != Some(ROTATION_HOP)),
                    superseded: false,
                    closed_after_crash: false,
                });
            }
            RecordKind::ModeChanged | RecordKind::Left | RecordKind::Reconciled => {
                let Some(slot) = find_open_leg(&legs, &open, record) else {
                    if in_range(t) {
                        unmatched.push(Anomaly {
                            kind: AnomalyKind::UnmatchedRecord,
                            at: t,
                            leg: LegRef {
                                supervisor: record.supervisor.clone(),
                                call_id: record.call_id.clone(),
                                leg_id: record.leg_id.clone(),
                                agent_id: agent_of(record),
                            },
                            detail: format!(
                                "{} record for a leg with no open join before it",
                                record.kind.as_str()
                            ),
                        });
                    }
                    continue;
                };
                let leg = &mut legs[open[slot]];
                match record.kind {
                    RecordKind::ModeChanged => {
                        leg.advance(t);
                        leg.mode = record.mode;
                    }
                    RecordKind::Reconciled
                        if record.reason.as_deref() == Some(UNKNOWN_AFTER_CRASH) =>
                    {
                        // Its end is unknown: no time is counted for it.
                        open.remove(slot);
                        leg.closed_after_crash = true;
                    }
                    // Still live: the leg goes on, in the mode the server
                    // has now.
                    RecordKind::Reconciled => {
                        leg.advance(t);
                        if record.mode.is_some() {
                            leg.mode = record.mode;
                        }
                    }
                    _ => {
                        leg.advance(t);
                        open.remove(slot);
                        leg.end = Some(leg.cursor);
                        leg.end_reason = record.reason.clone();
                    }
                }
            }
            RecordKind::CallEnded => {
                for &i in &open {
                    if legs[i].call_id == record.call_id {
                        legs[i].call_over = true;
                    }
                }
            }
            RecordKind::CallSeen => {
                if in_range(t) && seen.insert(&record.call_id) {
                    seen_calls.push((record.call_id.clone(), agent_of(record)));
                }
            }
            RecordKind::Rejoin if in_range(t) => {
                let counts = rejoins.entry(&record.supervisor).or_default();
                if record.announced == Some(true) {
                    counts.announced += 1;
                } else {
                    counts.unannounced += 1;
                }
            }
            RecordKind::Rejoin
            | RecordKind::JoinRequested
            | RecordKind::JoinFailed
            | RecordKind::DisconnectRequested
            | RecordKind::DisconnectFailed
            | RecordKind::EndCallRequested
            | RecordKind::EndCallFailed => {}
        }
    }

    let mut per_agent: BTreeMap<Option<String>, Figures> = BTreeMap::new();
    let mut anomalies = unmatched;
    for anomaly in &anomalies {
        per_agent
            .entry(anomaly.leg.agent_id.clone())
            .or_default()
            .unmatched_records += 1;
    }
    let joined_calls: HashSet<&str> = legs.iter().map(|l| l.call_id.as_str()).collect();
    for (call_id, agent) in &seen_calls {
        let figures = per_agent.entry(agent.clone()).or_default();
        figures.calls_seen += 1;
        if joined_calls.contains(call_id.as_str()) {
            figures.calls_covered += 1;
        }
    }
    for leg in legs.iter().filter(|l| in_range(l.start)) {
        let figures = per_agent.entry(leg.agent_id.clone()).or_default();
        figures.sessions += 1;
        if let Some(present) = leg.present_ms() {
            figures.legs_ended += 1;
            figures.present_ms += present;
            figures.whisper_ms += leg.whisper_ms;
            figures.barge_ms += leg.barge_ms;
        }
        if leg.disconnected() {
            figures.disconnected_legs += 1;
        }
        let mut note = |kind: AnomalyKind, detail: String| {
            anomalies.push(Anomaly {
                kind,
                at: leg.start,
                leg: LegRef {
                    supervisor: leg.supervisor.clone(),
                    call_id: leg.call_id.clone(),
                    leg_id: leg.leg_id.clone(),
                    agent_id: leg.agent_id.clone(),
                },
                detail,
            });
        };
        if let Some(other) = &leg.back_to_back {
            figures.back_to_back_joins += 1;
            note(
                AnomalyKind::BackToBackJoin,
                format!("joined while {other} was still open"),
            );
        }
        if leg.closed_after_crash {
            figures.closed_after_crash += 1;
            note(
                AnomalyKind::ClosedAfterCrash,
                "closed by reconciliation after a crash: the console found it open in the \
                 journal when it started again, and the server no longer had it; when it ended \
                 is unknown"
                    .to_owned(),
            );
        } else if leg.end.is_none() {
            figures.legs_without_end += 1;
            let detail = if leg.superseded {
                "joined again under the same leg id before any left record"
            } else {
                "no left record after the join"
            };
            note(AnomalyKind::NoRecordedEnd, detail.to_owned());
        }
        if leg.lease_expired() {
            figures.lease_expired_legs += 1;
            note(
                AnomalyKind::LeaseExpired,
                format!(
                    "dropped by lease expiry after {} present",
                    format_duration(leg.present_ms().unwrap_or(0))
                ),
            );
        }
    }
    // Stable: anomalies at the same time keep the order found.
    anomalies.sort_by_key(|a| a.at);

    let mut overall = Figures::default();
    let agents: Vec<AgentFigures> = per_agent
        .into_iter()
        .map(|(agent_id, figures)| {
            overall.add(&figures);
            AgentFigures {
                agent_name: agent_id
                    .as_deref()
                    .and_then(|id| agent_names.get(id))
                    .map(|name| (*name).to_owned()),
                agent_id,
                figures,
            }
        })
        .collect();
    // The agents with most presence first, then most sessions, then by id
    // for a stable order; the unknown agent reads better last.
    let (mut agents, unknown): (Vec<_>, Vec<_>) =
        agents.into_iter().partition(|a| a.agent_id.is_some());
    agents.sort_by(|a, b| {
        (b.figures.present_ms.cmp(&a.figures.present_ms))
            .then(b.figures.sessions.cmp(&a.figures.sessions))
            .then_with(|| a.agent_id.cmp(&b.agent_id))
    });
    agents.extend(unknown);

    Report {
        from: filter.from.map(format_date),
        to: filter.to.map(format_date),
        supervisor: filter.supervisor.clone(),
        records: records.iter().filter(|r| in_range(r.at)).count() as u64,
        overall,
        agents,
        anomalies,
        rejoins: rejoins
            .into_iter()
            .map(|(supervisor, counts)| SupervisorRejoins {
                supervisor: supervisor.to_owned(),
                ..counts
            })
            .collect(),
        problems: problems
            .iter()
            .filter(|p| {
                let day = p
                    .file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(parse_file_name);
                // A file not named by day cannot be placed: keep it.
                day.is_none() || filter.covers(day)
            })
            .cloned()
            .collect(),
    }
}

/// Where in `open` the leg a `mode_changed` or `left` record belongs to
/// stands: the latest open leg of the same supervisor with the same leg id,
/// or, when the record names no leg, on the same call.
fn find_open_leg(legs: &[Leg], open: &[usize], record: &Record) -> Option<usize> {
    open.iter().rposition(|&i| {
        let leg = &legs[i];
        leg.supervisor == record.supervisor
            && match &record.leg_id {
                Some(id) => leg.leg_id.as_ref() == Some(id),
                None => leg.call_id == record.call_id,
            }
    })
}

#[cfg(test)]
mod tests;
