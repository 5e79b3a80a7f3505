//! The `none` output: plays nothing, in real time, so that the engine and
//! the meters run as they would with a device.

use super::clock::Pacer;
use super::endpoint::{OutputError, Sink};
use std::time::Duration;

/// Plays nothing, in real time: one frame per 20 ms that passed.
#[derive(Debug, Clone, Default)]
pub struct NullSink {
    pacer: Pacer,
    channels: usize,
}

impl NullSink {
    pub fn new(channels: usize) -> Self {
        Self {
            pacer: Pacer::default(),
            channels,
        }
    }
}

impl Sink for NullSink {
    fn due(&mut self, now: Duration) -> Result<u64, OutputError> {
        Ok(self.pacer.due(now))
    }

    fn write(&mut self, _frame: &[f32]) -> Result<(), OutputError> {
        Ok(())
    }

    fn channels(&self) -> usize {
        self.channels
    }

    fn next_deadline(&self) -> Option<Duration> {
        self.pacer.next_deadline()
    }

    fn describe(&self) -> String {
        "none".to_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::clock::{Clock, ManualClock};

    #[test]
    fn the_null_sink_keeps_time() {
        let clock = ManualClock::default();
        let mut sink = NullSink::new(2);
        assert_eq!(sink.due(clock.now()).unwrap(), 1);
        clock.advance(Duration::from_millis(100));
        assert_eq!(sink.due(clock.now()).unwrap(), 5);
        assert_eq!(sink.channels(), 2);
        assert_eq!(sink.next_deadline(), Some(Duration::from_millis(120)));
    }
}
