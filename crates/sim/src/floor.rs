//! The simulated contact center as a [`Floor`] for the server core: the
//! world moves on in its fixed ticks, the media engine plays the calls
//! consoles are on, and commands are carried out at once, except that with
//! a [`VendorDelay`] the carrier releases a leaving leg only after it: the
//! leave is answered at once, the leg hears the call until then, and its
//! `leg_left` comes then.

use crate::media::Media;
use crate::vendor::VendorDelay;
use crate::world::{self, World};
use floorwalk_protocol::{ErrorCode, LegLeftReason, ServerMessage, Timestamp};
use floorwalk_server::{
    Floor, FloorCommand, FloorError, FloorOutput, FloorState, Outcome, Talk, TeamQueue, Ticket,
};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// A leave the carrier has not yet carried out.
#[derive(Debug)]
struct Release {
    at: Instant,
    leg_id: String,
    reason: LegLeftReason,
}

/// The carrier: how long it takes to release a leg, and the legs it has yet
/// to release, soonest first.
#[derive(Debug)]
struct Carrier {
    delay: VendorDelay,
    seed: u64,
    asked: u64,
    pending: VecDeque<Release>,
}

#[derive(Debug)]
pub struct SimFloor {
    world: World,
    media: Media,
    /// The world's 100 ms ticks.
    ticker: Interval,
    /// The audio's 20 ms frames.
    frames: Interval,
    /// What happened and is not yet told, oldest first.
    told: VecDeque<FloorOutput>,
    carrier: Carrier,
}

impl SimFloor {
    /// Must be called within a Tokio runtime (the ticks start now).
    pub fn new(world: World, media: Media, delay: VendorDelay, seed: u64) -> Self {
        let tick = Duration::from_millis(world::TICK_MS.unsigned_abs());
        // Fixed ticks: a late tick is caught up, never skipped, so world time
        // and the calls' audio keep pace with the wall clock.
        let mut ticker = tokio::time::interval(tick);
        let mut frames = tokio::time::interval(floorwalk_audio::FRAME_DURATION);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
        frames.set_missed_tick_behavior(MissedTickBehavior::Burst);
        Self {
            world,
            media,
            ticker,
            frames,
            told: VecDeque::new(),
            carrier: Carrier {
                delay,
                seed,
                asked: 0,
                pending: VecDeque::new(),
            },
        }
    }

    /// A leave: at once, or, with a vendor delay, once the carrier lets go
    /// (the leg must be there now; it may go sooner with its call).
    fn leave(&mut self, leg_id: String, reason: LegLeftReason) -> Result<Outcome, FloorError> {
        if self.carrier.delay.is_none() {
            return self.world.leave(&leg_id, reason).map(|()| Outcome::Done);
        }
        self.world.console_leg_call(&leg_id)?;
        let carrier = &mut self.carrier;
        let at = Instant::now() + carrier.delay.nth(carrier.seed, carrier.asked);
        carrier.asked += 1;
        // Jitter may release a later leave sooner: keep the queue in order.
        let place = carrier.pending.partition_point(|r| r.at <= at);
        carrier
            .pending
            .insert(place, Release { at, leg_id, reason });
        Ok(Outcome::Done)
    }

    /// Carries out the releases that are due.
    fn release(&mut self) {
        let now = Instant::now();
        while let Some(release) = self.carrier.pending.front() {
            if release.at > now {
                break;
            }
            let Some(release) = self.carrier.pending.pop_front() else {
                break;
            };
            // Gone already (its call ended, or a second leave came first).
            if let Err(e) = self.world.leave(&release.leg_id, release.reason) {
                tracing::debug!(leg = %release.leg_id, %e, "the carrier released a leg that had gone");
            }
        }
        self.collect();
    }

    /// Takes the world's new events: the media engine follows them (so
    /// audio keeps step with the legs), then they are told.
    fn collect(&mut self) {
        for event in self.world.take_events() {
            self.media.follow(&event.message, &self.world);
            let output = match event.message {
                ServerMessage::Queue(queue) => FloorOutput::Queue(TeamQueue {
                    team: self.world.team_id(event.team).to_string(),
                    queue: queue.queue,
                }),
                message => FloorOutput::Event(message),
            };
            self.told.push_back(output);
        }
    }

    fn audio_frame(&mut self) {
        let told = &mut self.told;
        self.media.tick(&mut |call_id, frame| {
            told.push_back(FloorOutput::Audio {
                call_id: call_id.to_string(),
                frame,
            });
        });
    }
}

impl Floor for SimFloor {
    fn server_name(&self) -> String {
        format!("floorwalk-sim/{}", env!("CARGO_PKG_VERSION"))
    }

    fn now(&self) -> Timestamp {
        self.world.now()
    }

    fn state(&self) -> FloorState {
        self.world.state()
    }

    fn command(&mut self, ticket: Ticket, command: FloorCommand) {
        let outcome = match command {
            FloorCommand::Join {
                call_id,
                supervisor,
                mode,
                announce,
            } => {
                let joined = self.world.join(&supervisor, &call_id, mode);
                // The media plays the call from the join's `leg_joined` on.
                self.collect();
                match joined {
                    Ok(joined) if announce && !self.media.announce(&call_id) => {
                        // Compliance first: no leg without its notice.
                        let left = self
                            .world
                            .leave(&joined.leg_id, LegLeftReason::Disconnected);
                        tracing::warn!(call = %call_id, ?left, "no audio to play the monitoring notice in");
                        Err(FloorError::new(
                            ErrorCode::Unavailable,
                            format!("cannot play the monitoring notice on {call_id}"),
                        ))
                    }
                    joined => joined.map(Outcome::Joined),
                }
            }
            FloorCommand::SetMode { leg_id, mode, .. } => {
                self.world.set_mode(&leg_id, mode).map(|()| Outcome::Done)
            }
            FloorCommand::Leave { leg_id, reason, .. } => self.leave(leg_id, reason),
            FloorCommand::EndCall { call_id } => {
                self.world.end_call(&call_id).map(|()| Outcome::Done)
            }
        };
        self.collect();
        self.told.push_back(FloorOutput::Done { ticket, outcome });
    }

    fn talk(&mut self, talk: Talk) {
        self.media.talk(&talk);
    }

    async fn next(&mut self) -> Option<FloorOutput> {
        loop {
            if let Some(output) = self.told.pop_front() {
                return Some(output);
            }
            let due = self.carrier.pending.front().map(|r| r.at);
            tokio::select! {
                _ = self.ticker.tick() => {
                    self.world.step();
                    self.collect();
                }
                _ = self.frames.tick() => self.audio_frame(),
                () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    self.release();
                }
            }
        }
    }

    async fn close(self) {
        self.media.close().await;
    }
}
