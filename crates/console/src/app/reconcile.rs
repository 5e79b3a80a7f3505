//! After a crash: the legs the journal left open (joined, never left) are
//! checked against the server's first snapshot, and the journal says what
//! became of each. A leg the server still has is shown again and stays open
//! in the journal (`reconciled`, `still_live`), so its normal `left` closes
//! it later; a leg the server no longer has is closed (`reconciled`,
//! `unknown_after_crash`): when and why it ended nobody recorded.

use super::words::shout;
use super::{Action, App, Effect, Severity};
use crate::audit::{LeftCall, OpenLeg, RecordKind, STILL_LIVE, UNKNOWN_AFTER_CRASH};
use floorwalk_protocol::Timestamp;

impl App {
    /// Hands the app the legs its journal left open (from
    /// [`crate::audit::recover`]), before the feed connects. They are
    /// checked once, against the first snapshot after the server said who
    /// the supervisor is; other supervisors' legs are left alone.
    pub fn reconcile_after_crash(&mut self, legs: Vec<OpenLeg>) {
        self.unreconciled = legs;
    }

    /// Hands the app the calls its journal saw left (from
    /// [`crate::audit::recover`]): after a restart, joining one again is
    /// still a rejoin. Mine, of calls still going, count from the first
    /// snapshot.
    pub fn recall_left_calls(&mut self, calls: Vec<LeftCall>) {
        self.rejoins.recall(calls);
    }

    pub(super) fn reconcile_journal(&mut self, now: Timestamp) -> Vec<Effect> {
        let Some(me) = self.me.as_ref().map(|me| me.id.clone()) else {
            return Vec::new();
        };
        let calls = &self.floor.calls;
        self.rejoins
            .adopt_earlier(&me, |call| calls.contains_key(call));
        let legs = std::mem::take(&mut self.unreconciled);
        let mut effects = Vec::new();
        let mut still = Vec::new();
        let mut gone = Vec::new();
        for open in legs.into_iter().filter(|leg| leg.supervisor == me) {
            let on_server = self
                .floor
                .calls
                .get(&open.call_id)
                .and_then(|call| call.leg(&open.leg_id))
                .filter(|leg| self.is_mine(leg))
                .cloned();
            let record = match on_server {
                Some(leg) => {
                    let mine = self.adopt_leg(&open.call_id, &leg);
                    if still.is_empty() {
                        // The call pane shows it, with its leave key.
                        self.selected = Some(mine.agent_id.clone());
                    }
                    // No `server_at`: the record tells what the console
                    // found now, not when the leg joined.
                    let mut record = self.leg_record(RecordKind::Reconciled, &mine, now);
                    record.reason = Some(STILL_LIVE.to_owned());
                    let (call, agent, mode) = (&mine.call_id, &mine.agent_name, mine.mode);
                    still.push(format!("{call} ({agent}) in {}", shout(mode)));
                    record
                }
                None => {
                    let mut record = self.record(RecordKind::Reconciled, &open.call_id, now);
                    record.leg_id = Some(open.leg_id);
                    record.agent_id = open.agent_id;
                    record.agent_name = open.agent_name;
                    record.mode = open.mode;
                    record.reason = Some(UNKNOWN_AFTER_CRASH.to_owned());
                    gone.push(open.call_id);
                    record
                }
            };
            effects.push(Effect::audit(record));
        }
        if !still.is_empty() {
            let leave = self.key_label(Action::Disconnect);
            let text = format!(
                "Still on {} from before the console stopped: press {leave} to leave.",
                still.join(", ")
            );
            self.notify(Severity::Warn, text, now);
        } else if !gone.is_empty() {
            let text = format!(
                "Your leg on {} ended while the console was down; the journal marks it so.",
                gone.join(", ")
            );
            self.notify(Severity::Info, text, now);
        }
        effects
    }
}
