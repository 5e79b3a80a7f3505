//! Commands sent and waiting for their reply, each with a deadline.

use std::collections::HashMap;
use std::time::Instant;

#[derive(Debug, Clone, Copy)]
struct Waiting {
    sent: Instant,
    deadline: Instant,
}

#[derive(Debug, Default)]
pub(super) struct InFlight {
    waiting: HashMap<String, Waiting>,
}

impl InFlight {
    /// Starts waiting for `req`; `false` when it is already waiting.
    pub fn insert(&mut self, req: &str, sent: Instant, deadline: Instant) -> bool {
        if self.waiting.contains_key(req) {
            return false;
        }
        self.waiting
            .insert(req.to_owned(), Waiting { sent, deadline });
        true
    }

    /// Stops waiting for `req`: when it was sent, if it was waiting.
    pub fn take(&mut self, req: &str) -> Option<Instant> {
        self.waiting.remove(req).map(|w| w.sent)
    }

    /// The earliest deadline, if anything waits.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.waiting.values().map(|w| w.deadline).min()
    }

    /// Removes and returns the commands whose deadline is at or before `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<(String, Instant)> {
        let expired: Vec<(String, Instant)> = self
            .waiting
            .iter()
            .filter(|(_, w)| w.deadline <= now)
            .map(|(req, w)| (req.clone(), w.sent))
            .collect();
        for (req, _) in &expired {
            self.waiting.remove(req);
        }
        expired
    }

    /// Removes and returns everything still waiting.
    pub fn drain(&mut self) -> Vec<(String, Instant)> {
        self.waiting.drain().map(|(req, w)| (req, w.sent)).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn replies_timeouts_and_duplicates() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut in_flight = InFlight::default();
        assert_eq!(in_flight.next_deadline(), None);
        assert!(in_flight.insert("r-1", t0, t0 + ms(100)));
        assert!(in_flight.insert("r-2", t0, t0 + ms(50)));
        assert!(
            !in_flight.insert("r-1", t0, t0 + ms(10)),
            "a req waits only once"
        );
        assert_eq!(in_flight.next_deadline(), Some(t0 + ms(50)));

        assert!(in_flight.expire(t0 + ms(49)).is_empty());
        assert_eq!(in_flight.expire(t0 + ms(50)), vec![("r-2".to_owned(), t0)]);
        assert_eq!(
            in_flight.take("r-2"),
            None,
            "an expired command gets no reply"
        );
        assert_eq!(in_flight.take("r-1"), Some(t0));
        assert_eq!(in_flight.take("r-1"), None, "exactly one reply");
        assert!(in_flight.insert("r-3", t0, t0 + ms(1)));
        assert_eq!(in_flight.drain().len(), 1);
        assert_eq!(in_flight.next_deadline(), None);
    }
}
