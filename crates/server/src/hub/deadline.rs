//! Deadlines on floor commands. A command the floor has not finished in
//! time is answered `unavailable`, and the core's books let go of it (a
//! join is no longer under way, a leaving leg keeps its voice), so the
//! console can ask again. What the floor does with it later is only logged,
//! with two exceptions that keep the books true: a join that still happens
//! adds a leg no console owns, which the core takes away again at once
//! (`disconnected`), whether its `leg_joined` or its `Done` shows it first;
//! and a mode change that still happens gates the voice from then on.

use super::{Hub, Waiting};
use crate::floor::{Floor, FloorError, Outcome, Ticket};
use crate::legs::Asked;
use floorwalk_protocol::{ErrorCode, Leg, LegLeftReason, Reply, Role};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How many overdue commands are remembered (the oldest are forgotten):
/// a floor that never answers must not grow the core without bound.
const LATE_KEPT: usize = 10_000;

/// A command whose deadline passed.
#[derive(Debug)]
pub(super) struct Overdue {
    asked: Asked,
    /// For a join: the leg the core already asked the floor to take away.
    taken: Option<String>,
}

/// The overdue commands, by ticket.
#[derive(Debug, Default)]
pub(super) struct Late(BTreeMap<Ticket, Overdue>);

impl Late {
    fn insert(&mut self, ticket: Ticket, overdue: Overdue) {
        self.0.insert(ticket, overdue);
        while self.0.len() > LATE_KEPT {
            self.0.pop_first();
        }
    }

    pub(super) fn take(&mut self, ticket: Ticket) -> Option<Overdue> {
        self.0.remove(&ticket)
    }
}

/// Whether `asked` is a join of `desk`'s on `call_id`.
fn is_join(asked: &Asked, desk: usize, call_id: &str) -> bool {
    matches!(asked, Asked::Join { desk: d, call_id: c, .. } if *d == desk && c == call_id)
}

/// A deadline as a supervisor reads it: `10 s`, `0.5 s`.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

impl<F: Floor> Hub<F> {
    /// Answers and forgets the commands the floor has not finished by `now`.
    pub fn expire_commands(&mut self, now: Instant) {
        let mut overdue: Vec<Ticket> = (self.waiting.iter())
            .filter(|(_, waiting)| waiting.deadline <= now)
            .map(|(ticket, _)| *ticket)
            .collect();
        // In the order they were asked, for the replies and the log.
        overdue.sort_unstable();
        for ticket in overdue {
            let Some(Waiting {
                asked,
                reply_to,
                leg,
                ..
            }) = self.waiting.remove(&ticket)
            else {
                continue;
            };
            tracing::warn!(
                ?ticket,
                ?asked,
                "the floor did not finish a command in time"
            );
            self.legs.abandon(&asked);
            if let Some((conn, req)) = reply_to {
                let why = format!(
                    "the contact center did not answer within {}",
                    seconds(self.timing.command)
                );
                self.reply(conn, Reply::err(req, ErrorCode::Unavailable, why));
            }
            // The join's leg is there already, and nobody will own it.
            if let (Asked::Join { call_id, .. }, Some(leg_id)) = (&asked, &leg) {
                self.let_go(
                    call_id.clone(),
                    leg_id.clone(),
                    LegLeftReason::Disconnected,
                    now,
                );
            }
            self.late.insert(ticket, Overdue { asked, taken: leg });
        }
        self.drop_too_slow(now);
    }

    /// A supervisor leg joined: it is the leg of that supervisor's join on
    /// that call under way, if there is one; else, if such a join ran out
    /// of time, nobody will own it and it goes again at once.
    pub(super) fn saw_leg_joined(&mut self, call_id: &str, leg: &Leg, now: Instant) {
        if leg.role != Role::Supervisor {
            return;
        }
        let Some(&desk) = (leg.user_id.as_ref()).and_then(|id| self.desk_by_id.get(id)) else {
            return;
        };
        if let Some(waiting) = (self.waiting.values_mut())
            .find(|waiting| waiting.leg.is_none() && is_join(&waiting.asked, desk, call_id))
        {
            waiting.leg = Some(leg.id.clone());
            return;
        }
        if let Some(overdue) = (self.late.0.values_mut())
            .find(|overdue| overdue.taken.is_none() && is_join(&overdue.asked, desk, call_id))
        {
            overdue.taken = Some(leg.id.clone());
            tracing::warn!(%call_id, leg_id = %leg.id, "a join happened after its deadline: taking its leg away");
            self.let_go(
                call_id.to_owned(),
                leg.id.clone(),
                LegLeftReason::Disconnected,
                now,
            );
        }
    }

    /// The floor finished a command after its console was told it did not.
    pub(super) fn finish_late(
        &mut self,
        overdue: Overdue,
        outcome: Result<Outcome, FloorError>,
        now: Instant,
    ) {
        match (overdue.asked, outcome) {
            (Asked::Join { call_id, .. }, Ok(Outcome::Joined(joined))) => {
                let leg_id = joined.leg_id;
                // Already going, or a later join of the console's got it.
                if overdue.taken.as_deref() == Some(leg_id.as_str()) || self.legs.owns(&leg_id) {
                    tracing::info!(%call_id, %leg_id, "a join finished after its deadline");
                    return;
                }
                tracing::warn!(%call_id, %leg_id, "a join finished after its deadline: taking its leg away");
                self.let_go(call_id, leg_id, LegLeftReason::Disconnected, now);
            }
            // The floor switched after all: the voice follows what it does.
            (Asked::SetMode { leg_id, mode }, Ok(_)) => {
                tracing::info!(%leg_id, %mode, "a mode change finished after its deadline");
                self.legs.mode_set(&leg_id, mode);
            }
            (asked, outcome) => {
                tracing::info!(
                    ?asked,
                    ?outcome,
                    "the floor finished a command after its deadline"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_read_in_seconds() {
        assert_eq!(seconds(Duration::from_secs(10)), "10 s");
        assert_eq!(seconds(Duration::from_millis(100)), "0.1 s");
        assert_eq!(seconds(Duration::from_millis(2500)), "2.5 s");
    }
}
