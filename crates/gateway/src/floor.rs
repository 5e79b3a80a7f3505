//! The gateway as a [`Floor`]: a thin handle on the driver task.

use crate::driver::{Driver, Order};
use floorwalk_protocol::Timestamp;
use floorwalk_server::{Floor, FloorCommand, FloorOutput, FloorState, Health, Talk, Ticket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How many audio frames may wait for the core before new ones are dropped
/// (about a second of ten monitored calls).
const AUDIO_QUEUE: usize = 1024;

pub struct AsteriskFloor {
    state: FloorState,
    orders: mpsc::UnboundedSender<Order>,
    outputs: mpsc::UnboundedReceiver<FloorOutput>,
    audio: mpsc::Receiver<FloorOutput>,
    driver: Option<JoinHandle<()>>,
}

impl AsteriskFloor {
    /// Connects (see [`Driver::start`]) and starts the driver.
    pub async fn start(
        rest: crate::ari::Rest,
        me: crate::driver::Identity,
        marks: crate::model::Marks,
        roster: crate::roster::Roster,
    ) -> anyhow::Result<Self> {
        let (out, mut outputs) = mpsc::unbounded_channel();
        let (audio_tx, audio) = mpsc::channel(AUDIO_QUEUE);
        let driver = Driver::start(rest, me, marks, roster, out.clone(), audio_tx).await?;
        let state = driver.state();
        // What the first connection told is in `state` already.
        while outputs.try_recv().is_ok() {}
        if let Some(reason) = driver.down() {
            // The core learns it with its first read.
            let _ = out.send(FloorOutput::Health(Health::Down(reason.to_owned())));
        }
        let (orders, inbox) = mpsc::unbounded_channel();
        let driver = tokio::spawn(driver.run(inbox));
        Ok(Self {
            state,
            orders,
            outputs,
            audio,
            driver: Some(driver),
        })
    }
}

impl Floor for AsteriskFloor {
    fn server_name(&self) -> String {
        format!("floorwalk-gateway/{}", env!("CARGO_PKG_VERSION"))
    }

    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn state(&self) -> FloorState {
        self.state.clone()
    }

    fn command(&mut self, ticket: Ticket, command: FloorCommand) {
        let _ = self.orders.send(Order::Command(ticket, command));
    }

    fn talk(&mut self, talk: Talk) {
        let _ = self.orders.send(Order::Talk {
            leg_id: talk.leg_id,
            frame: talk.frame,
        });
    }

    async fn next(&mut self) -> Option<FloorOutput> {
        tokio::select! {
            biased;
            output = self.outputs.recv() => output,
            Some(audio) = self.audio.recv() => Some(audio),
        }
    }

    async fn close(mut self) {
        let (done, closed) = oneshot::channel();
        if self.orders.send(Order::Close(done)).is_ok() {
            let _ = closed.await;
        }
        if let Some(driver) = self.driver.take() {
            let _ = driver.await;
        }
    }
}
