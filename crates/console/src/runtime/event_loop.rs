//! The console without its terminal: the app, the feed, the audio engine
//! and the effects thread, wired together. The terminal loop in `mod.rs`
//! adds keys, signals and drawing; tests drive the core directly.

use super::audio::{self as wiring, AudioSync, ConsoleAudio, DOWNSTREAM_QUEUE};
use super::{ConsoleOptions, executor};
use crate::app::{App, Effect, Input};
use crate::audit;
use crate::feed::{self, FeedEvent, FeedHandle};
use anyhow::Context as _;
use crossterm::event::KeyEvent;
use floorwalk_audio::engine::{AudioEvent, EngineStats};
use floorwalk_protocol::Timestamp;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior};

/// How long quitting waits for the server to confirm that our legs are gone.
const LEAVE_BUDGET: Duration = Duration::from_secs(1);
/// How often the clock is checked for timers and expiring highlights.
const TICK: Duration = Duration::from_millis(250);
/// How often the meters are read while on a call (the screen changes only
/// when a meter cell does).
const METER_EVERY: Duration = Duration::from_millis(100);
/// How often push-to-talk looks at the clock while talking (a released key
/// is inferred from the auto-repeat stopping; this bounds the lag).
const TALK_TICK: Duration = Duration::from_millis(20);

fn interval(every: Duration) -> Interval {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    interval
}

/// The running console, minus the terminal.
pub struct Core {
    app: App,
    feed: FeedHandle,
    feed_events: mpsc::Receiver<FeedEvent>,
    audio: ConsoleAudio,
    audio_events: mpsc::UnboundedReceiver<AudioEvent>,
    sync: AudioSync,
    effects: executor::Executor,
    results: mpsc::UnboundedReceiver<Input>,
    /// The last effects batch with a record that holds frames (as the app
    /// said): no frame is drawn until it is on disk (see [`Core::recorded`]).
    unrecorded: u64,
    /// Push-to-talk's monotonic clock starts here.
    epoch: Instant,
    tick: Interval,
    meter_tick: Interval,
    talk_tick: Interval,
}

impl Core {
    /// Starts the audio engine (or the companion link), the feed (with the
    /// engine's frame paths) and the effects thread. Call inside a tokio
    /// runtime.
    pub fn start(options: ConsoleOptions) -> anyhow::Result<Core> {
        // Before anything is written: the legs a crash left open, to check
        // against the server, and any damaged lines, to show.
        let recovery = options
            .journal
            .as_ref()
            .map(|journal| audit::recover(journal.dir(), Timestamp::now()));
        let (audio, channels) = ConsoleAudio::start(options.audio, options.companion_key_file)?;
        let (downstream, from_feed) = mpsc::channel(DOWNSTREAM_QUEUE);
        let mut feed_options = options.feed;
        feed_options.audio_in = Some(downstream);
        feed_options.audio_gate = Some(audio.transmit_gate());
        let (feed, feed_events) =
            feed::spawn(feed_options).context("cannot start the connection")?;
        wiring::spawn_downstream(from_feed, audio.frame_sink());
        wiring::spawn_upstream(channels.upstream, feed.clone());
        let (back, results) = mpsc::unbounded_channel();
        let effects = executor::Executor::start(options.journal, feed.clone(), back)?;
        let mut app = App::new(options.app);
        let mut warnings: Vec<String> = options
            .warnings
            .iter()
            .chain(feed.warnings())
            .cloned()
            .collect();
        match recovery {
            Some(Ok(recovery)) => {
                warnings.extend(recovery.problem_summary());
                app.reconcile_after_crash(recovery.open_legs);
                app.recall_left_calls(recovery.left_calls);
            }
            Some(Err(err)) => warnings.push(format!(
                "cannot read the audit journal back to look for legs a crash left open: {err}"
            )),
            None => {}
        }
        if !warnings.is_empty() {
            app.warn(warnings.join(" · "), Timestamp::now());
        }
        Ok(Core {
            app,
            feed,
            feed_events,
            audio,
            audio_events: channels.events,
            sync: AudioSync::default(),
            effects,
            results,
            unrecorded: 0,
            epoch: Instant::now(),
            tick: interval(TICK),
            meter_tick: interval(METER_EVERY),
            talk_tick: interval(TALK_TICK),
        })
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn app_mut(&mut self) -> &mut App {
        &mut self.app
    }

    /// The engine's figures (frames in and sent, jitter, ...).
    pub fn audio_stats(&self) -> EngineStats {
        self.audio.stats()
    }

    /// One input: the app updates, the engine follows (a leave closes the
    /// microphone here, synchronously), then the effects are carried out.
    pub fn handle(&mut self, input: Input) {
        let effects = wiring::step(
            &mut self.app,
            &mut self.sync,
            &self.audio,
            input,
            Timestamp::now(),
        );
        self.execute(effects);
    }

    fn execute(&mut self, effects: Vec<Effect>) {
        if effects.is_empty() {
            return;
        }
        let holds_frame = effects.iter().any(Effect::holds_frame);
        let number = self.effects.queue(effects);
        if holds_frame {
            self.unrecorded = number;
        }
    }

    /// Whether the records of the supervisor's own actions (joins, mode
    /// changes, leaves) are all on disk. Until they are, no frame may be
    /// drawn: what the screen shows as done must survive a crash.
    pub fn recorded(&self) -> bool {
        self.effects.done_with(self.unrecorded)
    }

    /// A key from the terminal, on push-to-talk's clock.
    pub fn key(&mut self, key: KeyEvent) {
        self.handle(Input::Key(key, self.epoch.elapsed()));
    }

    /// Waits for the next thing to happen apart from the terminal: the feed,
    /// an effect's result, the engine, or a clock (the meters are read, and
    /// push-to-talk ticked, only while they matter). The journal catching up
    /// with a frame held back wakes it too, as a tick.
    pub async fn next(&mut self) -> Input {
        let on_call = self.app.is_on_call();
        let talking = self.app.talking();
        let recorded = self.recorded();
        tokio::select! {
            () = self.effects.wait_for(self.unrecorded), if !recorded => Input::Tick,
            Some(event) = self.feed_events.recv() => Input::Feed(event),
            Some(input) = self.results.recv() => input,
            Some(event) = self.audio_events.recv() => Input::Audio(event),
            _ = self.talk_tick.tick(), if talking => Input::TalkTick(self.epoch.elapsed()),
            _ = self.meter_tick.tick(), if on_call => Input::Meters(self.audio.meters()),
            _ = self.tick.tick() => Input::Tick,
        }
    }

    /// Handles every feed event and effect result already queued (before
    /// drawing once; a journal failure included, so the frame shows it).
    pub fn drain_feed(&mut self) {
        while let Ok(event) = self.feed_events.try_recv() {
            self.handle(Input::Feed(event));
        }
        while let Ok(input) = self.results.try_recv() {
            self.handle(input);
        }
    }

    /// Leaves every leg of mine, waiting at most a second for the server to
    /// confirm and for the journal to have it, so no supervisor is left on
    /// a call by accident and no leave goes unrecorded.
    pub async fn leave_all(&mut self) {
        let effects = self.app.leave_all(Timestamp::now());
        self.sync.apply(self.app.audio_plan(), &self.audio);
        self.execute(effects);
        let deadline = tokio::time::Instant::now() + LEAVE_BUDGET;
        while !self.app.leaves_settled() {
            tokio::select! {
                Some(event) = self.feed_events.recv() => self.handle(Input::Feed(event)),
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::warn!("quit before the server confirmed every leave");
                    break;
                }
            }
        }
    }

    /// Finishes the journal's last records, closes the connection politely
    /// (waiting at most a second for the feed to say goodbye) and stops the
    /// engine (finishing a WAV output).
    pub async fn shutdown(mut self) {
        self.effects.finish();
        self.feed.shutdown();
        // The feed ends, dropping its sender, once its close frame is out.
        let drained = async { while self.feed_events.recv().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(1), drained)
            .await
            .is_err()
        {
            tracing::warn!("the connection did not close within a second");
        }
        self.audio.shutdown();
    }
}
