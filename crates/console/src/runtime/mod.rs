//! The console runtime: one task owns the app state and selects over
//! terminal input, the feed, effect results, the audio engine's events,
//! signals and ticks; it handles everything queued, then renders once, at
//! most about 30 times a second and only when something changed. Everything
//! else (network, disk, audio) runs elsewhere: the feed task, the effects
//! thread, and the engine's threads, with call audio going from the feed to
//! the engine and the microphone from the engine to the feed directly.
//!
//! After every update the engine is brought to the app's audio plan before
//! the update's effects are carried out, so the Disconnect key has closed
//! the microphone before its command can leave.

mod audio;
mod compact;
mod event_loop;
mod executor;
mod terminal;

pub use compact::CompactWriter;
pub use event_loop::Core;
pub use terminal::{TerminalGuard, restore as restore_terminal};

use crate::app::{App, AppSettings, Input};
use crate::audit::Journal;
use crate::feed::FeedOptions;
use anyhow::Context as _;
use crossterm::event::{Event, EventStream};
use floorwalk_audio::engine::AudioConfig;
use floorwalk_audio::ptt::{PttConfig, PttSetting};
use floorwalk_protocol::Timestamp;
use futures_util::StreamExt;
use std::time::{Duration, Instant};

/// The shortest time between two frames (about 30 per second).
const FRAME_INTERVAL: Duration = Duration::from_millis(33);

/// Everything the console needs to run.
pub struct ConsoleOptions {
    /// The feed's `audio_in` and `audio_gate` are set by the console.
    pub feed: FeedOptions,
    pub app: AppSettings,
    pub journal: Option<Journal>,
    /// Shown on the message line at start (configuration and feed warnings).
    pub warnings: Vec<String>,
    /// How the audio engine starts (outputs, inputs, mix).
    pub audio: AudioConfig,
    /// The companion's key, when not at its default path.
    pub companion_key_file: Option<std::path::PathBuf>,
}

/// Why the console stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal(&'static str),
}

/// Push-to-talk for this terminal: `hold` falls back to auto-repeat timing
/// when the terminal does not report key releases (a held key would
/// otherwise talk until the time limit), with a warning saying so.
fn ptt_for_terminal(mut ptt: PttConfig, releases: bool) -> (PttConfig, Option<String>) {
    ptt.releases_expected = releases;
    if ptt.setting == PttSetting::Native && !releases {
        ptt.setting = PttSetting::Repeat;
        let warning = "push-to-talk: this terminal does not report key releases, so holding \
                       the talk key is read from its auto-repeat; [ptt] mode = \"toggle\" \
                       talks on one press and stops on the next";
        return (ptt, Some(warning.to_owned()));
    }
    (ptt, None)
}

/// Runs the console until the supervisor quits or a signal arrives. The
/// supervisor's legs are left (best effort, within a second) on every way out.
pub async fn run(mut options: ConsoleOptions) -> anyhow::Result<Exit> {
    // Key releases are asked of the terminal only when they are of use.
    let wants_releases = matches!(
        options.app.ptt.setting,
        PttSetting::Auto | PttSetting::Native
    );
    let mut guard = TerminalGuard::enter(wants_releases).context("cannot set up the terminal")?;
    let (ptt, warning) = ptt_for_terminal(options.app.ptt, guard.reports_releases());
    options.app.ptt = ptt;
    options.warnings.extend(warning);
    let mut core = Core::start(options)?;
    let result = run_loop(&mut core, &mut guard).await;
    if result.is_err() {
        core.leave_all().await;
    }
    core.shutdown().await;
    drop(guard);
    result
}

async fn run_loop(core: &mut Core, guard: &mut TerminalGuard) -> anyhow::Result<Exit> {
    let mut keys = EventStream::new();
    let mut signals = Signals::new()?;
    let mut last_frame = Instant::now() - FRAME_INTERVAL;
    let size = guard.terminal().size()?;
    core.handle(Input::Resize(size.width, size.height));

    loop {
        // Wait for something to happen, or for the next frame slot.
        let wait = FRAME_INTERVAL.saturating_sub(last_frame.elapsed());
        // A frame waits for the records of what it shows (see `Core::recorded`).
        let redraw_due = core.recorded() && core.app().needs_redraw(Timestamp::now());
        tokio::select! {
            event = keys.next() => match event {
                Some(Ok(event)) => {
                    if let Event::Resize(width, _) = event {
                        guard.resized(width);
                    }
                    on_terminal(core, event);
                }
                Some(Err(err)) => tracing::warn!("terminal input: {err}"),
                // The terminal is gone (an SSH hang-up usually also signals).
                None => return leave_and_exit(core, Exit::Signal("terminal closed")).await,
            },
            input = core.next() => core.handle(input),
            name = signals.next() => return leave_and_exit(core, Exit::Signal(name)).await,
            _ = tokio::time::sleep(wait), if redraw_due => {}
        }
        // Handle everything already queued before drawing once.
        core.drain_feed();
        if core.app().quitting() {
            return leave_and_exit(core, Exit::Quit).await;
        }
        let now = Timestamp::now();
        if core.app().needs_redraw(now) && last_frame.elapsed() >= FRAME_INTERVAL && core.recorded()
        {
            draw(guard, core.app_mut(), now)?;
            last_frame = Instant::now();
        }
    }
}

fn on_terminal(core: &mut Core, event: Event) {
    match event {
        Event::Key(key) => core.key(key),
        Event::Mouse(mouse) => core.handle(Input::Mouse(mouse)),
        Event::Resize(w, h) => core.handle(Input::Resize(w, h)),
        _ => {}
    }
}

async fn leave_and_exit(core: &mut Core, exit: Exit) -> anyhow::Result<Exit> {
    tracing::info!(?exit, "leaving");
    core.leave_all().await;
    Ok(exit)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_without_key_releases_reads_the_auto_repeat_and_says_so() {
        let hold = PttConfig {
            setting: PttSetting::Native,
            ..PttConfig::default()
        };
        let (ptt, warning) = ptt_for_terminal(hold, false);
        assert_eq!(ptt.setting, PttSetting::Repeat);
        assert!(warning.is_some_and(|w| w.contains("toggle")));
        let (ptt, warning) = ptt_for_terminal(hold, true);
        assert_eq!(
            (ptt.setting, ptt.releases_expected),
            (PttSetting::Native, true)
        );
        assert_eq!(warning, None);
        let (ptt, warning) = ptt_for_terminal(PttConfig::default(), false);
        assert_eq!(
            (ptt.setting, ptt.releases_expected),
            (PttSetting::Auto, false)
        );
        assert_eq!(warning, None);
    }
}
