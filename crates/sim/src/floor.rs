//! The simulated contact center as a [`Floor`] for the server core: the
//! world moves on in its fixed ticks, the media engine plays the calls
//! consoles are on, and commands are carried out at once.

use crate::media::Media;
use crate::world::{self, World};
use floorwalk_protocol::{ServerMessage, Timestamp};
use floorwalk_server::{
    Floor, FloorCommand, FloorOutput, FloorState, Outcome, Talk, TeamQueue, Ticket,
};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::{Interval, MissedTickBehavior};

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
}

impl SimFloor {
    /// Must be called within a Tokio runtime (the ticks start now).
    pub fn new(world: World, media: Media) -> Self {
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
        }
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
        let world = &mut self.world;
        let outcome = match command {
            FloorCommand::Join {
                call_id,
                supervisor,
                mode,
            } => world.join(&supervisor, &call_id, mode).map(Outcome::Joined),
            FloorCommand::SetMode { leg_id, mode, .. } => {
                world.set_mode(&leg_id, mode).map(|()| Outcome::Done)
            }
            FloorCommand::Leave { leg_id, reason, .. } => {
                world.leave(&leg_id, reason).map(|()| Outcome::Done)
            }
            FloorCommand::EndCall { call_id } => world.end_call(&call_id).map(|()| Outcome::Done),
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
            tokio::select! {
                _ = self.ticker.tick() => {
                    self.world.step();
                    self.collect();
                }
                _ = self.frames.tick() => self.audio_frame(),
            }
        }
    }

    async fn close(self) {
        self.media.close().await;
    }
}
