//! The ledger of commands this console sent and the server has not fully
//! confirmed, by request id. A confirmation has two halves, the reply and the
//! state event, arriving in either order: an entry stays until the half that
//! settles it (see `commands.rs`), and it knows the command's latency for the
//! record written then.

use floorwalk_protocol::{Mode, Timestamp};
use std::collections::BTreeMap;

/// What a command asked for.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Op {
    /// `rejoin`: `Some(announce)` for a call I left before (outside the
    /// grace window), with whether the monitoring notice was asked.
    Join {
        mode: Mode,
        rejoin: Option<bool>,
    },
    SetMode {
        leg_id: String,
        mode: Mode,
    },
    Disconnect {
        leg_id: String,
        mode: Mode,
    },
    EndCall,
}

/// A command sent and not yet fully confirmed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Outstanding {
    pub op: Op,
    pub call_id: String,
    pub agent_id: String,
    pub agent_name: String,
    /// When the command was made (the console's clock).
    pub sent_at: Timestamp,
    /// Set when the reply came back ok.
    pub latency_ms: Option<u64>,
    /// For a join: leave as soon as the leg appears (`d` or quit while joining).
    pub then_leave: bool,
}

impl Outstanding {
    pub fn new(
        op: Op,
        call_id: &str,
        agent_id: &str,
        agent_name: &str,
        now: Timestamp,
    ) -> Outstanding {
        Outstanding {
            op,
            call_id: call_id.to_owned(),
            agent_id: agent_id.to_owned(),
            agent_name: agent_name.to_owned(),
            sent_at: now,
            latency_ms: None,
            then_leave: false,
        }
    }

    fn is_join(&self) -> bool {
        matches!(self.op, Op::Join { .. })
    }

    /// A disconnect not yet answered, or a join that is to be left once it
    /// lands: either way a leg of mine may still be on the server.
    fn holds_a_leave(&self) -> bool {
        match self.op {
            Op::Disconnect { .. } => self.latency_ms.is_none(),
            Op::Join { .. } => self.then_leave,
            Op::SetMode { .. } | Op::EndCall => false,
        }
    }

    /// A disconnect whose `leg_left` is still to come (its `left` record
    /// goes with it), or a join that is to be left once it lands.
    fn leave_unrecorded(&self) -> bool {
        match self.op {
            Op::Disconnect { .. } => true,
            Op::Join { .. } => self.then_leave,
            Op::SetMode { .. } | Op::EndCall => false,
        }
    }

    /// The command's latency when confirmed at `at`: the reply's when it came
    /// first, else from the key to `at`.
    pub fn latency_at(&self, at: Timestamp) -> u64 {
        self.latency_ms
            .unwrap_or_else(|| u64::try_from(at.millis_since(self.sent_at)).unwrap_or(0))
    }
}

/// The commands in flight, and the request id the next one gets.
#[derive(Debug)]
pub(super) struct Ledger {
    outstanding: BTreeMap<String, Outstanding>,
    /// Rejoins their leg's appearing settled before their reply came: the
    /// reply still says whether the notice played.
    unanswered_rejoins: BTreeMap<String, Outstanding>,
    next_req: u64,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            outstanding: BTreeMap::new(),
            unanswered_rejoins: BTreeMap::new(),
            next_req: 1,
        }
    }
}

impl Ledger {
    /// Enters a command about to be sent; returns its request id (`r-1`,
    /// `r-2`, ...: never twice in a session).
    pub fn open(&mut self, command: Outstanding) -> String {
        let req = format!("r-{}", self.next_req);
        self.next_req += 1;
        self.outstanding.insert(req.clone(), command);
        req
    }

    pub fn get(&self, req: &str) -> Option<&Outstanding> {
        self.outstanding.get(req)
    }

    /// Notes a successful reply and its latency; the entry stays until its
    /// state event.
    pub fn answered(&mut self, req: &str, latency_ms: u64) -> Option<&Outstanding> {
        let entry = self.outstanding.get_mut(req)?;
        entry.latency_ms = Some(latency_ms);
        Some(entry)
    }

    /// Takes a command out: it is settled, or will never be.
    pub fn close(&mut self, req: &str) -> Option<Outstanding> {
        self.outstanding.remove(req)
    }

    /// Takes out a command its state event settled; a rejoin whose reply
    /// has not come yet waits for it aside ([`Ledger::unanswered_rejoin`]).
    pub fn settle(&mut self, req: &str) -> Option<Outstanding> {
        let entry = self.outstanding.remove(req)?;
        if entry.latency_ms.is_none()
            && matches!(
                entry.op,
                Op::Join {
                    rejoin: Some(_),
                    ..
                }
            )
        {
            self.unanswered_rejoins
                .insert(req.to_owned(), entry.clone());
        }
        Some(entry)
    }

    /// The settled rejoin `req` answers, if it is one.
    pub fn unanswered_rejoin(&mut self, req: &str) -> Option<Outstanding> {
        self.unanswered_rejoins.remove(req)
    }

    /// The mode of a join in flight on this call.
    pub fn joining(&self, call_id: &str) -> Option<Mode> {
        self.outstanding.values().find_map(|entry| match entry.op {
            Op::Join { mode, .. } if entry.call_id == call_id => Some(mode),
            _ => None,
        })
    }

    /// A join in flight, on whichever call.
    pub fn any_join(&self) -> Option<&Outstanding> {
        self.outstanding.values().find(|entry| entry.is_join())
    }

    /// The join in flight on this call, which its leg appearing confirms.
    pub fn join_on(&self, call_id: &str) -> Option<String> {
        self.find(|entry| entry.is_join() && entry.call_id == call_id)
    }

    /// The switch of this leg to this mode, which the leg's new mode confirms.
    pub fn switch_of(&self, leg_id: &str, mode: Mode) -> Option<String> {
        self.find(
            |entry| matches!(&entry.op, Op::SetMode { leg_id: id, mode: m } if id == leg_id && *m == mode),
        )
    }

    /// The disconnect of this leg, which the leg leaving confirms.
    pub fn disconnect_of(&self, leg_id: &str) -> Option<String> {
        self.find(|entry| matches!(&entry.op, Op::Disconnect { leg_id: id, .. } if id == leg_id))
    }

    /// Drops the switches of a leg that is gone: none will be confirmed.
    pub fn drop_switches_of(&mut self, leg_id: &str) {
        self.outstanding.retain(
            |_, entry| !matches!(&entry.op, Op::SetMode { leg_id: id, .. } if id == leg_id),
        );
    }

    /// Takes out the joins on calls that are `gone`: they can never complete.
    pub fn close_joins_on(&mut self, gone: impl Fn(&str) -> bool) -> Vec<Outstanding> {
        let stale: Vec<String> = self
            .outstanding
            .iter()
            .filter(|(_, entry)| entry.is_join() && gone(&entry.call_id))
            .map(|(req, _)| req.clone())
            .collect();
        stale.iter().filter_map(|req| self.close(req)).collect()
    }

    /// Marks every join in flight to be left the moment its leg appears;
    /// `false` when there is none.
    pub fn leave_joins_on_arrival(&mut self) -> bool {
        let mut any = false;
        for entry in self.outstanding.values_mut().filter(|e| e.is_join()) {
            entry.then_leave = true;
            any = true;
        }
        any
    }

    /// Marks the join in flight on this call to be left the moment its leg
    /// appears (a rotation stopped mid-hop).
    pub fn leave_join_on_arrival(&mut self, call_id: &str) {
        for entry in self.outstanding.values_mut() {
            if entry.is_join() && entry.call_id == call_id {
                entry.then_leave = true;
            }
        }
    }

    /// Whether a disconnect waits for its reply, or a join in flight is
    /// still to be left.
    pub fn awaiting_leave(&self) -> bool {
        self.outstanding.values().any(Outstanding::holds_a_leave)
    }

    /// Whether a leave asked for is not yet recorded as done: a disconnect
    /// whose leg has not left, or a join still to be left.
    pub fn leave_unrecorded(&self) -> bool {
        self.outstanding.values().any(Outstanding::leave_unrecorded)
    }

    fn find(&self, wanted: impl Fn(&Outstanding) -> bool) -> Option<String> {
        self.outstanding
            .iter()
            .find(|(_, entry)| wanted(entry))
            .map(|(req, _)| req.clone())
    }
}
