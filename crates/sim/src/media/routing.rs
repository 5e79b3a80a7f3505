//! Who hears whom: the consoles' supervisor legs and safety invariant 3.
//!
//! Audio sent on a `silent` leg reaches nobody; on a `whisper` leg the agent
//! only; on a `barge` leg the agent and the customer. Supervisors on the
//! call hear the customer, the agent, and any whisper or barge of another
//! supervisor. A console may send only on its own leg. Pure: the media
//! engine keeps the table up to date from the world's leg events.

use floorwalk_protocol::{Leg, Mode};
use std::collections::HashMap;
use std::sync::Arc;

/// Where a supervisor's voice goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    pub agent: bool,
    pub customer: bool,
    /// The other supervisors on the call.
    pub supervisors: bool,
}

impl Reach {
    pub fn of(mode: Mode) -> Self {
        match mode {
            Mode::Silent => Self {
                agent: false,
                customer: false,
                supervisors: false,
            },
            Mode::Whisper => Self {
                agent: true,
                customer: false,
                supervisors: true,
            },
            Mode::Barge => Self {
                agent: true,
                customer: true,
                supervisors: true,
            },
        }
    }

    pub fn nobody(&self) -> bool {
        !(self.agent || self.customer || self.supervisors)
    }
}

/// Why an upstream frame goes nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// The track is not a live leg of the sender's (someone else's, gone,
    /// or never there).
    NotYours,
    /// The sender's leg is silent.
    Silent,
}

/// Where an accepted upstream frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<'a> {
    pub call: &'a str,
    pub reach: Reach,
}

#[derive(Debug, Clone)]
struct ConsoleLeg {
    id: String,
    call: String,
    owner: Arc<str>,
    mode: Mode,
}

/// The consoles' supervisor legs, by track and by call.
#[derive(Debug, Default)]
pub struct Routes {
    legs: HashMap<u32, ConsoleLeg>,
    /// Per call, its console legs' tracks in the order they joined.
    calls: HashMap<String, Vec<u32>>,
}

impl Routes {
    /// A console's supervisor leg joined `call`.
    pub fn join(&mut self, call: &str, leg: &Leg) {
        let Some(owner) = leg.user_id.as_deref() else {
            return;
        };
        let console = ConsoleLeg {
            id: leg.id.clone(),
            call: call.to_string(),
            owner: Arc::from(owner),
            mode: leg.mode.unwrap_or(Mode::Silent),
        };
        if self.legs.insert(leg.track, console).is_none() {
            self.calls
                .entry(call.to_string())
                .or_default()
                .push(leg.track);
        }
    }

    /// A leg switched mode; the next frame is routed the new way.
    pub fn change(&mut self, leg_id: &str, mode: Mode) {
        if let Some(leg) = self.legs.values_mut().find(|l| l.id == leg_id) {
            leg.mode = mode;
        }
    }

    /// A leg left; returns its track if it was a console's.
    pub fn leave(&mut self, leg_id: &str) -> Option<u32> {
        let track = self
            .legs
            .iter()
            .find_map(|(track, leg)| (leg.id == leg_id).then_some(*track))?;
        let leg = self.legs.remove(&track)?;
        if let Some(tracks) = self.calls.get_mut(&leg.call) {
            tracks.retain(|t| *t != track);
            if tracks.is_empty() {
                self.calls.remove(&leg.call);
            }
        }
        Some(track)
    }

    /// Removes whatever legs are left on a call that ended.
    pub fn end_call(&mut self, call: &str) {
        for track in self.calls.remove(call).unwrap_or_default() {
            self.legs.remove(&track);
        }
    }

    /// Whether any console has a leg on `call`.
    pub fn has_listeners(&self, call: &str) -> bool {
        self.calls.contains_key(call)
    }

    /// The supervisors whose consoles hear `call`.
    pub fn listeners<'a>(&'a self, call: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.calls
            .get(call)
            .into_iter()
            .flatten()
            .filter_map(|track| self.legs.get(track))
            .map(|leg| &*leg.owner)
    }

    /// Where a frame that `sender` sent on `track` goes.
    pub fn route(&self, sender: &str, track: u32) -> Result<Route<'_>, Dropped> {
        let leg = self.legs.get(&track).ok_or(Dropped::NotYours)?;
        if &*leg.owner != sender {
            return Err(Dropped::NotYours);
        }
        let reach = Reach::of(leg.mode);
        if reach.nobody() {
            return Err(Dropped::Silent);
        }
        Ok(Route {
            call: &leg.call,
            reach,
        })
    }

    /// The other supervisors on `call`, who hear `sender`'s whisper or barge.
    pub fn others<'a>(&'a self, call: &str, sender: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.listeners(call).filter(move |owner| *owner != sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwalk_protocol::{Role, Timestamp};

    fn leg(track: u32, owner: &str, mode: Mode) -> Leg {
        Leg {
            id: format!("l-{track}"),
            role: Role::Supervisor,
            user_id: Some(owner.to_string()),
            name: owner.to_string(),
            mode: Some(mode),
            track,
            joined_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn reach_by_mode_is_invariant_three() {
        let reach = |mode| {
            let r = Reach::of(mode);
            (r.agent, r.customer, r.supervisors)
        };
        assert_eq!(reach(Mode::Silent), (false, false, false));
        assert_eq!(reach(Mode::Whisper), (true, false, true));
        assert_eq!(reach(Mode::Barge), (true, true, true));
    }

    #[test]
    fn a_frame_goes_where_the_senders_mode_says_and_nowhere_else() {
        let mut routes = Routes::default();
        routes.join("c-1", &leg(100, "sup-1", Mode::Silent));
        routes.join("c-1", &leg(101, "sup-2", Mode::Whisper));
        routes.join("c-2", &leg(102, "sup-1", Mode::Barge));

        assert_eq!(routes.route("sup-1", 100), Err(Dropped::Silent));
        assert_eq!(
            routes.route("sup-2", 101).map(|r| (r.call, r.reach)),
            Ok(("c-1", Reach::of(Mode::Whisper)))
        );
        assert_eq!(routes.route("sup-1", 102).unwrap().call, "c-2");
        // Someone else's leg, or a track that is no leg at all.
        assert_eq!(routes.route("sup-1", 101), Err(Dropped::NotYours));
        assert_eq!(routes.route("sup-2", 102), Err(Dropped::NotYours));
        assert_eq!(routes.route("sup-1", 7), Err(Dropped::NotYours));

        // A mode switch takes effect at once.
        routes.change("l-100", Mode::Barge);
        assert_eq!(
            routes.route("sup-1", 100).unwrap().reach,
            Reach::of(Mode::Barge)
        );
        routes.change("l-100", Mode::Silent);
        assert_eq!(routes.route("sup-1", 100), Err(Dropped::Silent));
    }

    #[test]
    fn supervisors_hear_their_calls_and_each_other_never_themselves() {
        let mut routes = Routes::default();
        routes.join("c-1", &leg(100, "sup-1", Mode::Whisper));
        routes.join("c-1", &leg(101, "sup-2", Mode::Silent));
        routes.join("c-1", &leg(103, "sup-3", Mode::Silent));
        routes.join("c-2", &leg(102, "sup-4", Mode::Silent));
        let listeners: Vec<&str> = routes.listeners("c-1").collect();
        assert_eq!(listeners, ["sup-1", "sup-2", "sup-3"]);
        let others: Vec<&str> = routes.others("c-1", "sup-1").collect();
        assert_eq!(others, ["sup-2", "sup-3"]);
        assert_eq!(routes.listeners("c-2").collect::<Vec<_>>(), ["sup-4"]);
        assert_eq!(routes.listeners("c-3").count(), 0);
    }

    #[test]
    fn a_leg_that_left_routes_nothing() {
        let mut routes = Routes::default();
        routes.join("c-1", &leg(100, "sup-1", Mode::Barge));
        routes.join("c-1", &leg(101, "sup-2", Mode::Silent));
        assert_eq!(routes.leave("l-100"), Some(100));
        assert_eq!(routes.route("sup-1", 100), Err(Dropped::NotYours));
        assert_eq!(routes.listeners("c-1").collect::<Vec<_>>(), ["sup-2"]);
        assert!(routes.has_listeners("c-1"));
        assert_eq!(routes.leave("l-100"), None);
        assert_eq!(routes.leave("l-101"), Some(101));
        assert!(!routes.has_listeners("c-1"));
        // Legs of simulated supervisors (not consoles') are not routed.
        assert_eq!(routes.leave("l-5"), None);

        routes.join("c-2", &leg(102, "sup-1", Mode::Barge));
        routes.end_call("c-2");
        assert_eq!(routes.route("sup-1", 102), Err(Dropped::NotYours));
        assert!(!routes.has_listeners("c-2"));
    }
}
