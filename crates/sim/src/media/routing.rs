//! Who hears whom on the simulated floor: safety invariant 3 for the
//! parties, and which calls have consoles on them.
//!
//! Audio sent on a `silent` leg reaches nobody; on a `whisper` leg the agent
//! only; on a `barge` leg the agent and the customer. (The server core has
//! already dropped silent frames and frames not on the sender's own leg, and
//! carries whispers and barges to the other supervisors itself; this is the
//! parties' side.) Pure: the media engine keeps the table up to date from the
//! world's leg events.

use floorwalk_protocol::{Leg, Mode};
use std::collections::HashMap;

/// Which parties hear a supervisor's voice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    pub agent: bool,
    pub customer: bool,
}

impl Reach {
    pub fn of(mode: Mode) -> Self {
        Self {
            agent: mode != Mode::Silent,
            customer: mode == Mode::Barge,
        }
    }
}

/// The consoles' supervisor legs, by id and by call.
#[derive(Debug, Default)]
pub struct Listeners {
    /// Each console leg's track and call.
    legs: HashMap<String, (u32, String)>,
    /// Per call, how many console legs are on it.
    calls: HashMap<String, usize>,
}

impl Listeners {
    /// A console's supervisor leg joined `call`.
    pub fn join(&mut self, call: &str, leg: &Leg) {
        let entry = (leg.track, call.to_string());
        if self.legs.insert(leg.id.clone(), entry).is_none() {
            *self.calls.entry(call.to_string()).or_default() += 1;
        }
    }

    /// A leg left; returns its track if it was a console's.
    pub fn leave(&mut self, leg_id: &str) -> Option<u32> {
        let (track, call) = self.legs.remove(leg_id)?;
        if let Some(count) = self.calls.get_mut(&call) {
            *count -= 1;
            if *count == 0 {
                self.calls.remove(&call);
            }
        }
        Some(track)
    }

    /// Removes whatever legs are left on a call that ended.
    pub fn end_call(&mut self, call: &str) {
        if self.calls.remove(call).is_some() {
            self.legs.retain(|_, (_, on)| on != call);
        }
    }

    /// Whether any console has a leg on `call`.
    pub fn any_on(&self, call: &str) -> bool {
        self.calls.contains_key(call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwalk_protocol::{Role, Timestamp};

    fn leg(track: u32) -> Leg {
        Leg {
            id: format!("l-{track}"),
            role: Role::Supervisor,
            user_id: Some("sup-1".into()),
            name: "Dana Ruiz".into(),
            mode: Some(Mode::Silent),
            track,
            joined_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn reach_by_mode_is_invariant_three() {
        let reach = |mode| {
            let r = Reach::of(mode);
            (r.agent, r.customer)
        };
        assert_eq!(reach(Mode::Silent), (false, false));
        assert_eq!(reach(Mode::Whisper), (true, false));
        assert_eq!(reach(Mode::Barge), (true, true));
    }

    #[test]
    fn a_call_has_listeners_until_its_last_console_leg_goes() {
        let mut listeners = Listeners::default();
        listeners.join("c-1", &leg(100));
        listeners.join("c-1", &leg(101));
        assert_eq!(listeners.leave("l-100"), Some(100));
        assert!(listeners.any_on("c-1"));
        assert_eq!(listeners.leave("l-100"), None);
        assert_eq!(listeners.leave("l-101"), Some(101));
        assert!(!listeners.any_on("c-1"));
        // Legs of simulated supervisors (not consoles') are not listed.
        assert_eq!(listeners.leave("l-5"), None);

        listeners.join("c-2", &leg(102));
        listeners.end_call("c-2");
        assert!(!listeners.any_on("c-2"));
        assert_eq!(listeners.leave("l-102"), None);
    }
}
