//! Carries out the app's effects in order, off the UI task: an audit record
//! is on disk before the command that follows it is sent.

use crate::app::{Effect, Input};
use crate::audit::Journal;
use crate::feed::{CommandFailure, FeedEvent, FeedHandle};
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// A batch of effects from one update step.
pub type Batch = Vec<Effect>;

/// The thread that carries out effects, in the order they were queued.
pub struct Executor {
    queue: mpsc::Sender<Batch>,
    thread: std::thread::JoinHandle<()>,
}

impl Executor {
    /// Starts the executor thread. It owns the journal; failures come back to
    /// the app as `Input::AuditFailed`.
    pub fn start(
        mut journal: Option<Journal>,
        feed: FeedHandle,
        back: UnboundedSender<Input>,
    ) -> std::io::Result<Self> {
        let (queue, rx) = mpsc::channel::<Batch>();
        let thread = std::thread::Builder::new()
            .name("effects".into())
            .spawn(move || {
                for batch in rx {
                    run_batch(batch, journal.as_mut(), &feed, &back);
                }
            })?;
        Ok(Self { queue, thread })
    }

    pub fn queue(&self, batch: Batch) {
        if self.queue.send(batch).is_err() {
            tracing::error!("the effects thread stopped");
        }
    }

    /// Carries out everything still queued (the last journal records
    /// included) and stops the thread.
    pub fn finish(self) {
        drop(self.queue);
        if self.thread.join().is_err() {
            tracing::error!("the effects thread panicked");
        }
    }
}

fn run_batch(
    batch: Batch,
    mut journal: Option<&mut Journal>,
    feed: &FeedHandle,
    back: &UnboundedSender<Input>,
) {
    let mut effects = batch.into_iter().peekable();
    let mut records = Vec::new();
    while let Some(effect) = effects.next() {
        match effect {
            Effect::Audit(record) => {
                // Consecutive records go to disk together, with one fsync.
                records.push(record);
                if matches!(effects.peek(), Some(Effect::Audit(_))) {
                    continue;
                }
                let Some(journal) = journal.as_deref_mut() else {
                    records.clear();
                    continue;
                };
                if let Err(err) = journal.append_all(&records) {
                    tracing::error!("audit journal: {err}");
                    let _ = back.send(Input::AuditFailed(err.to_string()));
                    refuse_the_rest(effects, &err.to_string(), back);
                    return;
                }
                records.clear();
            }
            Effect::Send(command) => feed.send(command),
            Effect::Quit => {}
        }
    }
}

/// Nothing after an unrecorded action may proceed: every command left in the
/// batch is answered as not sent.
fn refuse_the_rest(
    effects: impl Iterator<Item = Effect>,
    why: &str,
    back: &UnboundedSender<Input>,
) {
    for effect in effects {
        if let Effect::Send(command) = effect
            && let Some(req) = command.req()
        {
            let reply = FeedEvent::Reply {
                req: req.to_owned(),
                outcome: Err(CommandFailure::NotRecorded(why.to_owned())),
                latency: Duration::ZERO,
            };
            let _ = back.send(Input::Feed(reply));
        }
    }
}
