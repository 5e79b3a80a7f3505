//! The report: a pure function from events (journal records, or the
//! server's rows read in place) to figures per agent and overall, plus the
//! anomalies. `docs/audit.md` states every formula.

use super::day::{format_date, parse_file_name, utc_date};
use super::read::{Problem, ProblemKind};
use super::{ROTATION_HOP, Record, RecordKind, UNKNOWN_AFTER_CRASH};
use floorwalk_protocol::{Mode, Timestamp};
use foldhash::{HashMap, HashMapExt as _, HashSet, HashSetExt as _};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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

/// What the report reads of one event: a journal [`Record`], or an event
/// the server's records tell, read in place from their rows (no record is
/// built for it). Both go through the one function, [`report_of`].
pub trait ReportEvent {
    fn kind(&self) -> RecordKind;
    /// When it was written: what the record count goes by.
    fn at(&self) -> Timestamp;
    /// When it happened: the server's time when it gave one, else `at`.
    fn time(&self) -> Timestamp;
    fn supervisor(&self) -> &str;
    fn call_id(&self) -> &str;
    fn agent_id(&self) -> Option<&str>;
    fn agent_name(&self) -> Option<&str>;
    fn leg_id(&self) -> Option<&str>;
    fn mode(&self) -> Option<Mode>;
    fn reason(&self) -> Option<&str>;
    fn announced(&self) -> Option<bool>;
}

impl ReportEvent for Record {
    fn kind(&self) -> RecordKind {
        self.kind
    }
    fn at(&self) -> Timestamp {
        self.at
    }
    fn time(&self) -> Timestamp {
        self.server_at.unwrap_or(self.at)
    }
    fn supervisor(&self) -> &str {
        &self.supervisor
    }
    fn call_id(&self) -> &str {
        &self.call_id
    }
    fn agent_id(&self) -> Option<&str> {
        self.agent_id.as_deref()
    }
    fn agent_name(&self) -> Option<&str> {
        self.agent_name.as_deref()
    }
    fn leg_id(&self) -> Option<&str> {
        self.leg_id.as_deref()
    }
    fn mode(&self) -> Option<Mode> {
        self.mode
    }
    fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
    fn announced(&self) -> Option<bool> {
        self.announced
    }
}

/// A supervisor leg rebuilt from its events; its text borrowed from them.
#[derive(Debug)]
struct Leg<'a> {
    supervisor: &'a str,
    call_id: &'a str,
    leg_id: Option<&'a str>,
    agent_id: Option<&'a str>,
    /// Event time of `joined`.
    start: Timestamp,
    /// Time accounted so far: never before `start`, never moving back.
    cursor: Timestamp,
    mode: Option<Mode>,
    whisper_ms: u64,
    barge_ms: u64,
    /// Time of the `left` record, clamped to the cursor.
    end: Option<Timestamp>,
    end_reason: Option<&'a str>,
    /// A `call_ended` for its call came while the leg was open.
    call_over: bool,
    /// Joined while another leg of the same supervisor was open: the latest
    /// such leg (its index), described only when the report is written.
    back_to_back: Option<usize>,
    /// Replaced by a later `joined` with the same leg id before any `left`.
    superseded: bool,
    /// Closed by a `reconciled` record: gone from the server after a crash,
    /// at a time nobody recorded.
    closed_after_crash: bool,
}

impl Leg<'_> {
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
        self.end_reason == Some("disconnected") && !self.call_over
    }

    fn lease_expired(&self) -> bool {
        self.end_reason == Some("lease_expired")
    }

    fn leg_ref(&self) -> LegRef {
        LegRef {
            supervisor: self.supervisor.to_owned(),
            call_id: self.call_id.to_owned(),
            leg_id: self.leg_id.map(str::to_owned),
            agent_id: self.agent_id.map(str::to_owned),
        }
    }
}

/// Builds the report from records in journal order and the reader's problems.
pub fn build_report(records: &[Record], problems: &[Problem], filter: &Filter) -> Report {
    report_of(records, problems, filter)
}

/// Builds the report from events in the order they happened, whatever
/// told them: every formula of `docs/audit.md` is here, once.
pub fn report_of<'a, E: ReportEvent>(
    events: &'a [E],
    problems: &[Problem],
    filter: &Filter,
) -> Report {
    let events: Vec<&'a E> = match filter.supervisor.as_deref() {
        Some(only) => events.iter().filter(|e| e.supervisor() == only).collect(),
        None => events.iter().collect(),
    };
    // Unbounded, every time is in range: no need to find its day.
    let unbounded = filter.from.is_none() && filter.to.is_none();
    let in_range = |t: Timestamp| unbounded || filter.covers(utc_date(t));

    // Which agent each call belongs to (needed only for events that name
    // none), and each agent's latest name.
    let mut call_agent: HashMap<&'a str, &'a str> = HashMap::new();
    let mut agent_names: HashMap<&str, &str> = HashMap::new();
    let some_unnamed = events.iter().any(|e| e.agent_id().is_none());
    for event in &events {
        if let Some(agent) = event.agent_id() {
            if some_unnamed {
                call_agent.entry(event.call_id()).or_insert(agent);
            }
            if let Some(name) = event.agent_name() {
                agent_names.insert(agent, name);
            }
        }
    }
    let agent_of = |event: &'a E| -> Option<&'a str> {
        event
            .agent_id()
            .or_else(|| call_agent.get(event.call_id()).copied())
    };

    let joins = events.iter().filter(|e| e.kind() == RecordKind::Joined);
    let mut legs: Vec<Leg<'a>> = Vec::with_capacity(joins.count());
    // Per supervisor, the indices in `legs` of their legs joined and not
    // yet left, oldest first.
    let mut open: HashMap<&str, Vec<usize>> = HashMap::new();
    // With the agent each is counted for.
    let mut unmatched: Vec<(Option<&str>, Anomaly)> = Vec::new();
    // First agent each seen call was attributed to, in order of first sight.
    let mut seen_calls: Vec<(&str, Option<&str>)> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut rejoins: BTreeMap<&str, SupervisorRejoins> = BTreeMap::new();

    for &event in &events {
        let t = event.time();
        match event.kind() {
            RecordKind::Joined => {
                let mine = open.entry(event.supervisor()).or_default();
                let mut back_to_back = None;
                for &i in mine.iter() {
                    let leg = &mut legs[i];
                    back_to_back = Some(i);
                    leg.superseded = leg.leg_id.is_some() && leg.leg_id == event.leg_id();
                }
                mine.retain(|&i| !legs[i].superseded);
                mine.push(legs.len());
                legs.push(Leg {
                    supervisor: event.supervisor(),
                    call_id: event.call_id(),
                    leg_id: event.leg_id(),
                    agent_id: agent_of(event),
                    start: t,
                    cursor: t,
                    mode: event.mode(),
                    whisper_ms: 0,
                    barge_ms: 0,
                    end: None,
                    end_reason: None,
                    call_over: false,
                    // A rotation hop overlaps its previous leg on purpose.
                    back_to_back: back_to_back.filter(|_| event.reason() != Some(ROTATION_HOP)),
                    superseded: false,
                    closed_after_crash: false,
                });
            }
            kind @ (RecordKind::ModeChanged | RecordKind::Left | RecordKind::Reconciled) => {
                let mine = open.get_mut(event.supervisor());
                let Some((mine, slot)) =
                    mine.and_then(|mine| find_open_leg(&legs, mine, event).map(|s| (mine, s)))
                else {
                    if in_range(t) {
                        let agent = agent_of(event);
                        unmatched.push((
                            agent,
                            Anomaly {
                                kind: AnomalyKind::UnmatchedRecord,
                                at: t,
                                leg: LegRef {
                                    supervisor: event.supervisor().to_owned(),
                                    call_id: event.call_id().to_owned(),
                                    leg_id: event.leg_id().map(str::to_owned),
                                    agent_id: agent.map(str::to_owned),
                                },
                                detail: format!(
                                    "{} record for a leg with no open join before it",
                                    kind.as_str()
                                ),
                            },
                        ));
                    }
                    continue;
                };
                let leg = &mut legs[mine[slot]];
                match kind {
                    RecordKind::ModeChanged => {
                        leg.advance(t);
                        leg.mode = event.mode();
                    }
                    RecordKind::Reconciled if event.reason() == Some(UNKNOWN_AFTER_CRASH) => {
                        // Its end is unknown: no time is counted for it.
                        mine.remove(slot);
                        leg.closed_after_crash = true;
                    }
                    // Still live: the leg goes on, in the mode the server
                    // has now.
                    RecordKind::Reconciled => {
                        leg.advance(t);
                        if event.mode().is_some() {
                            leg.mode = event.mode();
                        }
                    }
                    _ => {
                        leg.advance(t);
                        mine.remove(slot);
                        leg.end = Some(leg.cursor);
                        leg.end_reason = event.reason();
                    }
                }
            }
            RecordKind::CallEnded => {
                for &i in open.values().flatten() {
                    if legs[i].call_id == event.call_id() {
                        legs[i].call_over = true;
                    }
                }
            }
            RecordKind::CallSeen => {
                if in_range(t) && seen.insert(event.call_id()) {
                    seen_calls.push((event.call_id(), agent_of(event)));
                }
            }
            RecordKind::Rejoin if in_range(t) => {
                let counts = rejoins.entry(event.supervisor()).or_default();
                if event.announced() == Some(true) {
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

    // In no order: the agents are sorted below.
    let mut per_agent: HashMap<Option<&str>, Figures> = HashMap::new();
    let mut anomalies = Vec::with_capacity(unmatched.len());
    for (agent, anomaly) in unmatched {
        per_agent.entry(agent).or_default().unmatched_records += 1;
        anomalies.push(anomaly);
    }
    let joined_calls: HashSet<&str> = legs.iter().map(|l| l.call_id).collect();
    for (call_id, agent) in &seen_calls {
        let figures = per_agent.entry(*agent).or_default();
        figures.calls_seen += 1;
        if joined_calls.contains(call_id) {
            figures.calls_covered += 1;
        }
    }
    for leg in legs.iter().filter(|l| in_range(l.start)) {
        let figures = per_agent.entry(leg.agent_id).or_default();
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
                leg: leg.leg_ref(),
                detail,
            });
        };
        if let Some(other) = leg.back_to_back.map(|i| &legs[i]) {
            figures.back_to_back_joins += 1;
            note(
                AnomalyKind::BackToBackJoin,
                format!(
                    "joined while leg {} on call {} was still open",
                    other.leg_id.unwrap_or("(no id)"),
                    other.call_id
                ),
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
                    .and_then(|id| agent_names.get(id))
                    .map(|name| (*name).to_owned()),
                agent_id: agent_id.map(str::to_owned),
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
        records: events.iter().filter(|e| in_range(e.at())).count() as u64,
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

/// Where in a supervisor's open legs the leg a `mode_changed` or `left`
/// event belongs to stands: the latest with the same leg id, or, when the
/// event names no leg, on the same call.
fn find_open_leg(legs: &[Leg], open: &[usize], event: &impl ReportEvent) -> Option<usize> {
    open.iter().rposition(|&i| {
        let leg = &legs[i];
        match event.leg_id() {
            Some(id) => leg.leg_id == Some(id),
            None => leg.call_id == event.call_id(),
        }
    })
}

#[cfg(test)]
mod tests;
