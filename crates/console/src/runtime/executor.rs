//! Carries out the app's effects in order, off the UI task: an audit record
//! is on disk before the command that follows it is sent. Each batch is
//! numbered; the number of the last batch carried out is published, so the
//! runtime can hold a frame until the records behind it are on disk.

use crate::app::{Effect, Input, Unrecorded};
use crate::audit::{AuditError, Journal, Record, read_dir, utc_date};
use crate::feed::{CommandFailure, FeedEvent, FeedHandle};
use floorwalk_protocol::Timestamp;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

/// A batch of effects from one update step.
pub type Batch = Vec<Effect>;

/// The thread that carries out effects, in the order they were queued.
pub struct Executor {
    queue: mpsc::Sender<(u64, Batch)>,
    thread: std::thread::JoinHandle<()>,
    /// The number of the last batch queued.
    queued: u64,
    /// The number of the last batch carried out.
    done: watch::Receiver<u64>,
}

impl Executor {
    /// Starts the executor thread. It owns the journal; failures come back to
    /// the app as `Input::AuditFailed`, and the first write that works again
    /// (the disk has room again) as `Input::AuditRecovered`.
    pub fn start(
        mut journal: Option<Journal>,
        feed: FeedHandle,
        back: UnboundedSender<Input>,
    ) -> std::io::Result<Self> {
        let (queue, rx) = mpsc::channel::<(u64, Batch)>();
        let (done_tx, done) = watch::channel(0);
        let thread = std::thread::Builder::new()
            .name("effects".into())
            .spawn(move || {
                let mut failing = false;
                for (number, batch) in rx {
                    run_batch(batch, journal.as_mut(), &mut failing, &feed, &back);
                    // After the batch's failure (if any) went back, so a
                    // frame drawn once this is seen can show it.
                    done_tx.send_replace(number);
                }
            })?;
        Ok(Self {
            queue,
            thread,
            queued: 0,
            done,
        })
    }

    /// Queues a batch; returns its number.
    pub fn queue(&mut self, batch: Batch) -> u64 {
        self.queued += 1;
        if self.queue.send((self.queued, batch)).is_err() {
            tracing::error!("the effects thread stopped");
        }
        self.queued
    }

    /// Whether every batch up to `number` has been carried out (or the
    /// thread is gone and never will).
    pub fn done_with(&self, number: u64) -> bool {
        self.done.has_changed().is_err() || *self.done.borrow() >= number
    }

    /// Waits until [`Executor::done_with`] `number`.
    pub async fn wait_for(&mut self, number: u64) {
        // An error means the thread is gone: nothing more to wait for.
        let _ = self.done.wait_for(|done| *done >= number).await;
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
    failing: &mut bool,
    feed: &FeedHandle,
    back: &UnboundedSender<Input>,
) {
    let mut effects = batch.into_iter().peekable();
    let mut records = Vec::new();
    while let Some(effect) = effects.next() {
        match effect {
            Effect::Audit { record, .. } => {
                // Consecutive records go to disk together, with one fsync.
                records.push(record);
                if matches!(effects.peek(), Some(Effect::Audit { .. })) {
                    continue;
                }
                let Some(journal) = journal.as_deref_mut() else {
                    records.clear();
                    continue;
                };
                if let Err(err) = journal.append_all(&records) {
                    tracing::error!("audit journal: {err}");
                    *failing = true;
                    let _ = back.send(Input::AuditFailed(err.to_string()));
                    refuse_the_rest(effects, &err.to_string(), journal, feed, back);
                    return;
                }
                if std::mem::take(failing) {
                    tracing::info!("audit journal: writing again");
                    let _ = back.send(Input::AuditRecovered);
                }
                records.clear();
            }
            Effect::Send { message, .. } => feed.send(message),
            Effect::ReadJournal => {
                let _ = back.send(Input::JournalRead(read_today(journal.as_deref())));
            }
        }
    }
}

/// Today's records (the UTC day's file), for the audit pane. Read here, on
/// the effects thread, after every record queued before it is on disk.
fn read_today(journal: Option<&Journal>) -> Result<Vec<Record>, String> {
    let journal = journal.ok_or("this console keeps no audit journal")?;
    let today = utc_date(Timestamp::now());
    match read_dir(journal.dir(), today, today) {
        Ok(loaded) => Ok(loaded.records),
        Err(AuditError::Missing { .. }) => Ok(Vec::new()),
        Err(err) => Err(err.to_string()),
    }
}

/// After a record that could not be written, the rest of the batch: each
/// message goes or is refused as the app said (see [`Unrecorded`]); a refused
/// one is answered as not sent. The records are not tried; the journal is
/// still read for the audit pane (it shows what did get on disk).
fn refuse_the_rest(
    effects: impl Iterator<Item = Effect>,
    why: &str,
    journal: &Journal,
    feed: &FeedHandle,
    back: &UnboundedSender<Input>,
) {
    for effect in effects {
        let (message, unrecorded) = match effect {
            Effect::Send {
                message,
                unrecorded,
            } => (message, unrecorded),
            Effect::ReadJournal => {
                let _ = back.send(Input::JournalRead(read_today(Some(journal))));
                continue;
            }
            Effect::Audit { .. } => continue,
        };
        match unrecorded {
            Unrecorded::SendAnyway => {
                tracing::warn!("sent although the audit journal could not record it: {why}");
                feed.send(message);
            }
            Unrecorded::Refuse => {
                if let Some(req) = message.req() {
                    let reply = FeedEvent::Reply {
                        req: req.to_owned(),
                        outcome: Err(CommandFailure::NotRecorded(why.to_owned())),
                        latency: Duration::ZERO,
                    };
                    let _ = back.send(Input::Feed(reply));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::RecordKind;
    use crate::config::Secret;
    use crate::feed::FeedOptions;
    use floorwalk_protocol::ClientMessage;

    /// A feed that never connects (port 9 on loopback): nothing is sent, and
    /// a command given to it is answered offline.
    fn unconnected_feed() -> (FeedHandle, tokio::sync::mpsc::Receiver<FeedEvent>) {
        crate::feed::spawn(FeedOptions {
            url: "ws://127.0.0.1:9/v1/supervisor".into(),
            token: Secret::new("t"),
            ca_file: None,
            allow_insecure_remote: false,
            command_timeout: Duration::from_secs(1),
            audio_in: None,
            audio_gate: None,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn the_journal_is_read_for_the_audit_pane_after_the_records_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let (feed, _events) = unconnected_feed();
        let (back, mut inputs) = tokio::sync::mpsc::unbounded_channel();
        let journal = Journal::open(dir.path()).unwrap();
        let mut executor = Executor::start(Some(journal), feed.clone(), back).unwrap();
        let record = Record::new(Timestamp::now(), RecordKind::Joined, "sup-1", "c-1");
        let n = executor.queue(vec![
            Effect::Audit {
                record: record.clone(),
                hold_frame: true,
            },
            Effect::ReadJournal,
        ]);
        executor.wait_for(n).await;
        assert_eq!(
            inputs.try_recv().unwrap(),
            Input::JournalRead(Ok(vec![record]))
        );
        executor.finish();
        // Without a journal, the pane is told why.
        let (back, mut inputs) = tokio::sync::mpsc::unbounded_channel();
        let mut executor = Executor::start(None, feed.clone(), back).unwrap();
        let n = executor.queue(vec![Effect::ReadJournal]);
        executor.wait_for(n).await;
        assert!(matches!(
            inputs.try_recv(),
            Ok(Input::JournalRead(Err(why))) if why.contains("no audit journal")
        ));
        executor.finish();
        feed.shutdown();
    }

    #[tokio::test]
    async fn a_batch_is_done_only_once_its_records_are_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (feed, _events) = unconnected_feed();
        let (back, _inputs) = tokio::sync::mpsc::unbounded_channel();
        let journal = Journal::open(dir.path()).unwrap();
        let mut executor = Executor::start(Some(journal), feed.clone(), back).unwrap();
        let mut numbers = Vec::new();
        for call in ["c-1", "c-2", "c-3"] {
            let record = Record::new(Timestamp::now(), RecordKind::Joined, "sup-1", call);
            numbers.push(executor.queue(vec![Effect::Audit {
                record,
                hold_frame: true,
            }]));
        }
        assert_eq!(numbers, [1, 2, 3]);
        executor.wait_for(2).await;
        assert!(executor.done_with(2));
        let on_disk = read_dir(dir.path(), None, None).unwrap().records.len();
        assert!(
            on_disk >= 2,
            "done with batch 2, but {on_disk} records on disk"
        );
        executor.finish();
        feed.shutdown();
    }

    #[tokio::test]
    async fn a_journal_that_fails_and_then_writes_again_says_both() {
        // A full disk is made with /dev/full; a machine without it cannot
        // run this test, and says so rather than pass unchecked.
        assert!(
            std::path::Path::new("/dev/full").exists(),
            "this test needs /dev/full (Linux) to play a full disk"
        );
        let dir = tempfile::tempdir().unwrap();
        let (feed, mut events) = unconnected_feed();
        let (back, mut inputs) = tokio::sync::mpsc::unbounded_channel();
        let journal = Journal::open(dir.path()).unwrap();
        let now = Timestamp::now();
        let day = dir.path().join(crate::audit::file_name(
            crate::audit::utc_date(now).unwrap(),
        ));
        let mut executor = Executor::start(Some(journal), feed.clone(), back).unwrap();
        let record = |call: &str| {
            vec![Effect::Audit {
                record: Record::new(now, RecordKind::CallSeen, "sup-1", call),
                hold_frame: false,
            }]
        };

        // The disk is full: the day file takes no byte.
        std::fs::remove_file(&day).unwrap();
        std::os::unix::fs::symlink("/dev/full", &day).unwrap();
        let n = executor.queue(record("c-1"));
        executor.wait_for(n).await;
        assert!(matches!(inputs.try_recv(), Ok(Input::AuditFailed(_))));
        // Behind a failed record, a message the app marked to be refused is
        // refused here; one marked to go anyway goes to the feed all the
        // same (which, never connected, answers it offline).
        let mut batch = record("c-2");
        batch.push(Effect::Send {
            message: ClientMessage::Monitor {
                req: "r-1".into(),
                call_id: "c-2".into(),
                mode: floorwalk_protocol::Mode::Silent,
                announce: false,
            },
            unrecorded: Unrecorded::Refuse,
        });
        batch.push(Effect::Send {
            message: ClientMessage::Disconnect {
                req: "r-2".into(),
                leg_id: "l-9".into(),
            },
            unrecorded: Unrecorded::SendAnyway,
        });
        let n = executor.queue(batch);
        executor.wait_for(n).await;
        assert!(matches!(inputs.try_recv(), Ok(Input::AuditFailed(_))));
        assert!(matches!(
            inputs.try_recv(),
            Ok(Input::Feed(FeedEvent::Reply { req, outcome: Err(CommandFailure::NotRecorded(_)), .. })) if req == "r-1"
        ));
        assert!(inputs.try_recv().is_err(), "the leave was not refused");
        let offline = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(FeedEvent::Reply { req, outcome, .. }) = events.recv().await {
                    break (req, outcome);
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(offline.0, "r-2", "the feed got the leave");
        assert!(matches!(offline.1, Err(CommandFailure::Offline)));

        // Room again: the next record is written, and that is said once.
        std::fs::remove_file(&day).unwrap();
        let n = executor.queue(record("c-3"));
        executor.wait_for(n).await;
        assert!(matches!(inputs.try_recv(), Ok(Input::AuditRecovered)));
        let n = executor.queue(record("c-4"));
        executor.wait_for(n).await;
        assert!(inputs.try_recv().is_err(), "recovery is said once");
        let calls: Vec<String> = read_dir(dir.path(), None, None)
            .unwrap()
            .records
            .into_iter()
            .map(|r| r.call_id)
            .collect();
        assert_eq!(calls, ["c-3", "c-4"]);
        executor.finish();
        feed.shutdown();
    }
}
