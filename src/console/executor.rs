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

/// The executor thread and the way to it.
pub struct Executor {
    tx: mpsc::Sender<Batch>,
    thread: std::thread::JoinHandle<()>,
}

impl Executor {
    /// Hands a batch on (in order with the ones before).
    pub fn run(&self, batch: Batch) {
        if !batch.is_empty() && self.tx.send(batch).is_err() {
            tracing::error!("the effects thread stopped");
        }
    }

    /// Waits until every batch handed on is carried out (the journal's
    /// last records are on disk before the process ends).
    pub fn finish(self) {
        drop(self.tx);
        if self.thread.join().is_err() {
            tracing::error!("the effects thread panicked");
        }
    }
}

/// Starts the executor thread. It owns the journal; failures come back to
/// the app as `Input::AuditFailed`.
pub fn start(
    mut journal: Option<Journal>,
    feed: FeedHandle,
    back: UnboundedSender<Input>,
) -> std::io::Result<Executor> {
    let (tx, rx) = mpsc::channel::<Batch>();
    let thread = std::thread::Builder::new()
        .name("effects".into())
        .spawn(move || {
            for batch in rx {
                run_batch(batch, journal.as_mut(), &feed, &back);
            }
        })?;
    Ok(Executor { tx, thread })
}

fn run_batch(
    batch: Batch,
    mut journal: Option<&mut Journal>,
    feed: &FeedHandle,
    back: &UnboundedSender<Input>,
) {
    let mut effects = batch.into_iter();
    while let Some(effect) = effects.next() {
        match effect {
            Effect::Audit(record) => {
                let Some(journal) = journal.as_deref_mut() else {
                    continue;
                };
                if let Err(err) = journal.append(&record) {
                    tracing::error!("audit journal: {err}");
                    let _ = back.send(Input::AuditFailed(err.to_string()));
                    // Nothing after an unrecorded action may proceed: every
                    // command of the batch is answered as not sent.
                    for skipped in effects.by_ref() {
                        if let Effect::Send(command) = skipped
                            && let Some(req) = command.req()
                        {
                            let reply = FeedEvent::Reply {
                                req: req.to_owned(),
                                outcome: Err(CommandFailure::NotRecorded(err.to_string())),
                                latency: Duration::ZERO,
                            };
                            let _ = back.send(Input::Feed(reply));
                        }
                    }
                    return;
                }
            }
            Effect::Send(command) => feed.send(command),
            Effect::Quit => {}
        }
    }
}
