//! The hub's side of the records (see [`crate::records`]): what it tells
//! the keeper as events pass, and the join replies held until their row is
//! committed. The hub is one task, so a reply waits in a set of futures the
//! run loop polls, never in the loop itself: a slow database delays only
//! the joins it has to confirm.

use super::{ConnId, Hub};
use crate::floor::Floor;
use crate::legs::Asked;
use crate::records::{CallRecord, Commit, EndReason, JoinRecord, RecordEvent, RecordKeeper};
use floorwalk_protocol::{Call, ErrorCode, LegLeftReason, Mode, Reply, Role, ServerMessage};
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// The keeper, if any, and what waits on it.
#[derive(Default)]
pub(super) struct Recording {
    keeper: Option<Arc<dyn RecordKeeper>>,
    /// Each supervisor leg's join row being committed, until its join's
    /// reply takes it.
    joins: HashMap<String, Commit>,
    /// Join replies waiting for their row.
    pub(super) held: FuturesUnordered<BoxFuture<'static, Held>>,
}

/// A join reply whose row's commit has been answered.
pub(super) struct Held {
    conn: ConnId,
    req: String,
    call_id: String,
    leg_id: String,
    result: serde_json::Value,
    committed: Result<(), String>,
}

impl<F: Floor> Hub<F> {
    /// Writes every supervisor presence to `keeper` from now on. It first
    /// hears that the server started, with the calls on the floor.
    pub fn with_records(mut self, keeper: Arc<dyn RecordKeeper>) -> Self {
        let calls = self.scope.calls().filter_map(|c| self.call_record(c));
        let started = RecordEvent::Started {
            at: self.floor.now(),
            calls: calls.collect(),
        };
        // Nothing waits on it: a failure is kept and retried by the keeper.
        drop(keeper.write(started));
        self.records.keeper = Some(keeper);
        self
    }

    /// Why a join cannot be recorded now, if it cannot.
    pub(super) fn unrecordable(&self, asked: &Asked) -> Option<String> {
        if !matches!(asked, Asked::Join { .. }) {
            return None;
        }
        let why = self.records.keeper.as_ref()?.unavailable()?;
        Some(format!(
            "the server cannot record supervisor presence ({why}): joins are refused until it can; leaving still works"
        ))
    }

    fn call_record(&self, call: &Call) -> Option<CallRecord> {
        let agent = self.scope.agent(&call.agent_id)?;
        Some(CallRecord::of(
            call,
            Some(agent.name.clone()),
            agent.team.clone(),
        ))
    }

    /// Tells the keeper what a floor event means for the records, before
    /// the core's floor applies it (the call and the leg are still there).
    /// A supervisor leg's join is held: its reply waits for the commit.
    pub(super) fn record_event(&mut self, event: &ServerMessage) {
        let Some(keeper) = self.records.keeper.clone() else {
            return;
        };
        let Some(record) = self.record_of(event) else {
            return;
        };
        let joined = match &record {
            RecordEvent::Joined(join) => Some(join.leg_id.clone()),
            // A join no reply took (a late one, say) waits no more.
            RecordEvent::Left { leg_id, .. } => {
                self.records.joins.remove(leg_id);
                None
            }
            _ => None,
        };
        let commit = keeper.write(record);
        if let Some(leg_id) = joined {
            self.records.joins.insert(leg_id, commit);
        }
    }

    fn record_of(&self, event: &ServerMessage) -> Option<RecordEvent> {
        let supervisor_leg = |leg_id: &str| {
            self.scope
                .leg(leg_id)
                .is_some_and(|(_, leg)| leg.role == Role::Supervisor)
        };
        Some(match event {
            ServerMessage::CallStarted(started) => {
                RecordEvent::CallStarted(self.call_record(&started.call)?)
            }
            ServerMessage::CallEnded(ended) => RecordEvent::CallEnded {
                call_id: ended.call_id.clone(),
                at: ended.at,
            },
            ServerMessage::LegJoined(joined) if joined.leg.role == Role::Supervisor => {
                let call = self.call_record(self.scope.call(&joined.call_id)?)?;
                RecordEvent::Joined(JoinRecord {
                    leg_id: joined.leg.id.clone(),
                    supervisor: joined.leg.user_id.clone()?,
                    call: CallRecord {
                        // What holds at the join, not at the call's start.
                        recording: self.scope.call(&joined.call_id)?.recording,
                        ..call
                    },
                    mode: joined.leg.mode.unwrap_or(Mode::Silent),
                    joined_at: joined.leg.joined_at,
                })
            }
            ServerMessage::LegChanged(changed) if supervisor_leg(&changed.leg_id) => {
                RecordEvent::ModeChanged {
                    leg_id: changed.leg_id.clone(),
                    mode: changed.mode,
                    at: changed.at,
                }
            }
            ServerMessage::LegLeft(left) if supervisor_leg(&left.leg_id) => RecordEvent::Left {
                leg_id: left.leg_id.clone(),
                at: left.at,
                reason: self.end_reason(&left.call_id, left.reason),
            },
            _ => return None,
        })
    }

    /// A leg that leaves with its call left because a supervisor ended the
    /// call when an End Call of theirs is under way.
    fn end_reason(&self, call_id: &str, reason: LegLeftReason) -> EndReason {
        match reason {
            LegLeftReason::Disconnected => EndReason::Disconnected,
            LegLeftReason::LeaseExpired => EndReason::LeaseExpired,
            LegLeftReason::CallEnded => {
                let ending = self
                    .waiting
                    .values()
                    .any(|w| matches!(&w.asked, Asked::EndCall { call_id: c } if c == call_id));
                if ending {
                    EndReason::EndedBySupervisor
                } else {
                    EndReason::CallEnded
                }
            }
            LegLeftReason::Removed | LegLeftReason::Unknown => EndReason::Removed,
        }
    }

    /// Sends a join's `ok` once its row is committed; at once without a
    /// keeper (or when no row was written for the leg).
    pub(super) fn reply_joined(
        &mut self,
        conn: ConnId,
        req: String,
        (call_id, leg_id): (String, String),
        result: serde_json::Value,
    ) {
        let Some(commit) = self.records.joins.remove(&leg_id) else {
            self.reply(conn, Reply::ok(req, result));
            return;
        };
        self.records.held.push(Box::pin(async move {
            let committed = commit
                .await
                .unwrap_or_else(|_| Err("the records keeper stopped".to_owned()));
            Held {
                conn,
                req,
                call_id,
                leg_id,
                result,
                committed,
            }
        }));
    }

    /// A held join's row is committed (the console gets its `ok`) or could
    /// not be (the join is refused, and its leg taken away at once: nobody
    /// may be on a call the records do not show).
    pub(super) fn release_join(&mut self, held: Held, now: Instant) {
        match held.committed {
            Ok(()) => self.reply(held.conn, Reply::ok(held.req, held.result)),
            Err(why) => {
                tracing::warn!(leg_id = %held.leg_id, %why, "a join's record was not committed: taking the leg away");
                let message = format!(
                    "the server could not record your join ({why}), so it took the leg away again"
                );
                self.reply(
                    held.conn,
                    Reply::err(held.req, ErrorCode::Unavailable, message),
                );
                self.let_go(held.call_id, held.leg_id, LegLeftReason::Disconnected, now);
            }
        }
        self.drop_too_slow(now);
    }
}
