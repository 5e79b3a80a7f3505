//! The console runtime: one task owns the app state and selects over
//! terminal input, the feed, effect results, signals and a tick; it handles
//! everything queued, then renders once, at most about 30 times a second and
//! only when something changed. Everything else (network, disk, audio) runs
//! elsewhere.

mod compact;
mod executor;
mod terminal;

pub use compact::CompactWriter;
pub use terminal::{TerminalGuard, restore as restore_terminal};

use crate::app::{App, AppSettings, Effect, Input};
use crate::audit::Journal;
use crate::feed::{self, FeedEvent, FeedHandle, FeedOptions};
use crate::protocol::Timestamp;
use anyhow::Context as _;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long quitting waits for the server to confirm that our legs are gone.
const LEAVE_BUDGET: Duration = Duration::from_secs(1);
/// The shortest time between two frames (about 30 per second).
const FRAME_INTERVAL: Duration = Duration::from_millis(33);
/// How often the clock is checked for timers and expiring highlights.
const TICK: Duration = Duration::from_millis(250);

/// Everything the console needs to run.
pub struct ConsoleOptions {
    pub feed: FeedOptions,
    pub app: AppSettings,
    pub journal: Option<Journal>,
    /// Shown on the message line at start (configuration and feed warnings).
    pub warnings: Vec<String>,
}

/// Why the console stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal(&'static str),
}

/// Runs the console until the supervisor quits or a signal arrives. The
/// supervisor's legs are left (best effort, within a second) on every way out.
pub async fn run(options: ConsoleOptions) -> anyhow::Result<Exit> {
    let (feed, feed_events) = feed::spawn(options.feed).context("cannot start the connection")?;
    let mut guard = TerminalGuard::enter().context("cannot set up the terminal")?;
    let mut runtime = Runtime::new(options.app, feed.clone(), options.journal, feed_events)?;
    let warnings: Vec<String> = options
        .warnings
        .iter()
        .chain(feed.warnings())
        .cloned()
        .collect();
    if !warnings.is_empty() {
        runtime.app.warn(warnings.join(" · "), Timestamp::now());
    }
    let result = runtime.run(&mut guard).await;
    feed.shutdown();
    drop(guard);
    result
}

struct Runtime {
    app: App,
    feed: FeedHandle,
    feed_events: mpsc::Receiver<FeedEvent>,
    effects: executor::Executor,
    results: mpsc::UnboundedReceiver<Input>,
}

impl Runtime {
    fn new(
        settings: AppSettings,
        feed: FeedHandle,
        journal: Option<Journal>,
        feed_events: mpsc::Receiver<FeedEvent>,
    ) -> anyhow::Result<Self> {
        let (back, results) = mpsc::unbounded_channel();
        let effects = executor::Executor::start(journal, feed.clone(), back)?;
        Ok(Self {
            app: App::new(settings),
            feed,
            feed_events,
            effects,
            results,
        })
    }

    async fn run(mut self, guard: &mut TerminalGuard) -> anyhow::Result<Exit> {
        let mut keys = EventStream::new();
        let mut signals = Signals::new()?;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last_frame = Instant::now() - FRAME_INTERVAL;
        let size = guard.terminal().size()?;
        self.handle(Input::Resize(size.width, size.height));

        loop {
            // Wait for something to happen, or for the next frame slot.
            let wait = FRAME_INTERVAL.saturating_sub(last_frame.elapsed());
            let redraw_due = self.app.needs_redraw(Timestamp::now());
            tokio::select! {
                event = keys.next() => match event {
                    Some(Ok(event)) => {
                        if let Event::Resize(width, _) = event {
                            guard.resized(width);
                        }
                        self.on_terminal(event);
                    }
                    Some(Err(err)) => tracing::warn!("terminal input: {err}"),
                    // The terminal is gone (an SSH hang-up usually also signals).
                    None => return self.leave_and_exit(Exit::Signal("terminal closed")).await,
                },
                Some(event) = self.feed_events.recv() => self.handle(Input::Feed(event)),
                Some(input) = self.results.recv() => self.handle(input),
                name = signals.next() => return self.leave_and_exit(Exit::Signal(name)).await,
                _ = tick.tick() => self.handle(Input::Tick),
                _ = tokio::time::sleep(wait), if redraw_due => {}
            }
            // Handle everything already queued before drawing once.
            while let Ok(event) = self.feed_events.try_recv() {
                self.handle(Input::Feed(event));
            }
            if self.app.quitting() {
                return self.leave_and_exit(Exit::Quit).await;
            }
            let now = Timestamp::now();
            if self.app.needs_redraw(now) && last_frame.elapsed() >= FRAME_INTERVAL {
                draw(guard, &mut self.app, now)?;
                last_frame = Instant::now();
            }
        }
    }

    fn on_terminal(&mut self, event: Event) {
        match event {
            // Releases matter only to push-to-talk; the app acts on presses.
            Event::Key(key) if key.kind == KeyEventKind::Release => {}
            Event::Key(key) => self.handle(Input::Key(key)),
            Event::Mouse(mouse) => self.handle(Input::Mouse(mouse)),
            Event::Resize(w, h) => self.handle(Input::Resize(w, h)),
            _ => {}
        }
    }

    fn handle(&mut self, input: Input) {
        let effects = self.app.update(input, Timestamp::now());
        self.execute(effects);
    }

    fn execute(&mut self, effects: Vec<Effect>) {
        if !effects.is_empty() {
            self.effects.queue(effects);
        }
    }

    /// Leaves every leg of mine, waiting at most `LEAVE_BUDGET` for the
    /// server to confirm, so no supervisor is left on a call by accident.
    async fn leave_and_exit(mut self, exit: Exit) -> anyhow::Result<Exit> {
        tracing::info!(?exit, "leaving");
        let effects = self.app.leave_all(Timestamp::now());
        self.execute(effects);
        let deadline = tokio::time::Instant::now() + LEAVE_BUDGET;
        while self.app.awaiting_leave() {
            tokio::select! {
                Some(event) = self.feed_events.recv() => self.handle(Input::Feed(event)),
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::warn!("quit before the server confirmed every leave");
                    break;
                }
            }
        }
        self.feed.shutdown();
        // The journal's last records (the legs just left) reach the disk.
        self.effects.finish();
        Ok(exit)
    }
}

/// Draws one frame. The terminal's writer sends it in one write, wrapped in
/// synchronized output when it is large (see `CompactWriter`).
fn draw(guard: &mut TerminalGuard, app: &mut App, now: Timestamp) -> anyhow::Result<()> {
    guard
        .terminal()
        .draw(|frame| crate::ui::draw(frame, app, now))?;
    app.mark_drawn(now);
    Ok(())
}

/// SIGTERM, SIGHUP and SIGINT, as one stream of names.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    #[cfg(unix)]
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
            _ = self.int.recv() => "SIGINT",
        }
    }

    #[cfg(not(unix))]
    fn new() -> std::io::Result<Self> {
        Ok(Self {})
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
