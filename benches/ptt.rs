#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
//! Push-to-talk press to first upstream frame, end to end: the console's
//! core (the app's key routing, the audio engine with a WAV microphone, the
//! feed) against the feed tests' scripted server on loopback, which notes
//! when each binary frame arrives. Not timed by criterion: prints the distribution over
//! presses made at random phases of the microphone's 20 ms frames.
//!
//! `cargo bench --bench ptt` (budget: at most 30 ms).

#[path = "../tests/feed_support/mod.rs"]
mod feed_support;
#[path = "../tests/support/mod.rs"]
mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use feed_support::{FakeServer, accept_join, call_snapshot, options};
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::ptt::PttSetting;
use floorwalk_audio::signal::sine;
use floorwalk_console::app::fixture::space;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};
use support::console::{drive, wav_console};
use support::wav::write_mono;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const PRESSES: usize = 200;

/// One console: its call, and its join answered; then the arrival time of
/// every binary frame goes to `arrivals`, until the task is stopped.
async fn serve(server: FakeServer, arrivals: mpsc::UnboundedSender<Instant>) {
    let (mut conn, _) = server.connect("s-1").await;
    conn.send(call_snapshot(11, 12)).await;
    accept_join(&mut conn, 31).await;
    loop {
        if let Message::Binary(_) = conn.recv().await {
            let _ = arrivals.send(Instant::now());
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mic = dir.path().join("mic.wav");
        write_mono(&mic, &sine(250.0, 0.4, 48_000));

        let server = FakeServer::start().await;
        let feed = options(&server.url);
        let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel();
        let server = tokio::spawn(serve(server, arrivals_tx));
        let mut core = wav_console(feed, Endpoint::None, &mic, PttSetting::Native);
        drive(&mut core, "the call", |core| {
            core.app().pane_call().is_some()
        })
        .await;
        core.key(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::NONE));
        drive(&mut core, "my leg", |core| core.app().mic_allowed()).await;
        // The microphone opens ahead of the key (whisper arms it).
        tokio::time::sleep(Duration::from_millis(200)).await;

        let mut rng = SmallRng::seed_from_u64(7);
        let mut latencies = Vec::with_capacity(PRESSES);
        for _ in 0..PRESSES {
            let pause = rng.random_range(20..60);
            tokio::time::sleep(Duration::from_millis(pause)).await;
            while arrivals.try_recv().is_ok() {}
            let pressed = Instant::now();
            core.key(space(KeyEventKind::Press));
            let arrived = tokio::time::timeout(Duration::from_secs(2), arrivals.recv())
                .await
                .expect("no frame within 2 s")
                .expect("the server stopped");
            latencies.push(arrived.saturating_duration_since(pressed));
            core.key(space(KeyEventKind::Release));
        }
        latencies.sort();
        println!(
            "push-to-talk press to first upstream frame at the server, {PRESSES} presses: \
             p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms (budget 30 ms)",
            percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
            percentile(&latencies, 0.95).as_secs_f64() * 1000.0,
            percentile(&latencies, 1.0).as_secs_f64() * 1000.0,
        );
        // The server's connection ends with the console: stop it first.
        server.abort();
        core.shutdown().await;
    });
}
