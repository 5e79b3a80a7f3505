#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
// tungstenite fixes the callback's error type.
#![allow(clippy::result_large_err)]
//! Push-to-talk press to first upstream frame, end to end: the console's
//! core (key routing, the app, the audio engine with a WAV microphone, the
//! feed) against a minimal server on loopback that notes when each binary
//! frame arrives. Not timed by criterion: prints the distribution over
//! presses made at random phases of the microphone's 20 ms frames.
//!
//! `cargo bench --bench ptt` (budget: at most 30 ms).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use floorwalk_audio::engine::AudioConfig;
use floorwalk_audio::output::Endpoint;
use floorwalk_audio::ptt::{PttConfig, PttSetting};
use floorwalk_console::app::AppSettings;
use floorwalk_console::app::fixture::space;
use floorwalk_console::config::Secret;
use floorwalk_console::feed::FeedOptions;
use floorwalk_console::runtime::{ConsoleOptions, Core};
use floorwalk_protocol::{ClientMessage, Parsed};
use futures_util::{SinkExt, StreamExt};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

const PRESSES: usize = 200;

fn leg(
    id: &str,
    role: &str,
    user: Option<&str>,
    mode: Option<&str>,
    track: u32,
) -> serde_json::Value {
    json!({"id": id, "role": role, "user_id": user, "name": id, "mode": mode,
           "track": track, "joined_at": "2026-11-21T09:10:00.000Z"})
}

/// One console: hello, snapshot with one call, the join answered; then
/// the arrival time of every binary frame goes to `arrivals`.
async fn serve(listener: TcpListener, arrivals: mpsc::UnboundedSender<Instant>) {
    let (tcp, _) = listener.accept().await.unwrap();
    let callback = |_: &Request, mut response: Response| {
        response.headers_mut().insert(
            "sec-websocket-protocol",
            floorwalk_protocol::SUBPROTOCOL.parse().unwrap(),
        );
        Ok(response)
    };
    let mut ws = tokio_tungstenite::accept_hdr_async(tcp, callback)
        .await
        .unwrap();
    let hello = json!({
        "type": "hello", "protocol": 1, "server": "bench/0", "session": "s-1",
        "now": "2026-11-21T09:14:03.250Z", "heartbeat_ms": 5000, "lease_ms": 15000,
        "supervisor": {"id": "sup-1", "name": "Dana Ruiz", "teams": ["billing"], "can_end_calls": false}
    });
    ws.send(Message::text(hello.to_string())).await.unwrap();
    while let Some(Ok(message)) = ws.next().await {
        let text = match message {
            Message::Binary(_) => {
                let _ = arrivals.send(Instant::now());
                continue;
            }
            Message::Text(text) => text,
            _ => continue,
        };
        let reply = match floorwalk_protocol::parse_client(text.as_str()) {
            Ok(Parsed::Known(ClientMessage::Subscribe { .. })) => vec![json!({
                "type": "snapshot", "seq": 1,
                "agents": [{"id": "a-1", "name": "Alex Kim", "team": "billing", "state": "on_call",
                            "state_since": "2026-11-21T09:10:00.000Z", "call_id": "c-1"}],
                "calls": [{"id": "c-1", "agent_id": "a-1", "queue": null, "direction": "inbound",
                           "customer": "+1 555 201 0134", "started_at": "2026-11-21T09:10:00.000Z",
                           "recording": false, "on_hold": false,
                           "legs": [leg("l-c", "customer", None, None, 11),
                                    leg("l-a", "agent", Some("a-1"), None, 12)]}],
                "queues": []
            })],
            Ok(Parsed::Known(ClientMessage::Monitor { req, .. })) => vec![
                json!({"type": "reply", "req": req, "ok": true,
                       "result": {"leg_id": "l-31", "track": 31}}),
                json!({"type": "leg_joined", "seq": 2, "call_id": "c-1",
                       "leg": leg("l-31", "supervisor", Some("sup-1"), Some("whisper"), 31)}),
            ],
            _ => Vec::new(),
        };
        for message in reply {
            ws.send(Message::text(message.to_string())).await.unwrap();
        }
    }
}

async fn settle(core: &mut Core, done: impl Fn(&Core) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(core) {
        assert!(Instant::now() < deadline, "the console did not get there");
        let input = core.next().await;
        core.handle(input);
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
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut wav = hound::WavWriter::create(&mic, spec).unwrap();
        for i in 0..48_000 {
            let s = (std::f32::consts::TAU * 250.0 * i as f32 / 48_000.0).sin();
            wav.write_sample((s * 12_000.0) as i16).unwrap();
        }
        wav.finalize().unwrap();

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/v1/supervisor", listener.local_addr().unwrap());
        let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel();
        tokio::spawn(serve(listener, arrivals_tx));
        let mut core = Core::start(ConsoleOptions {
            feed: FeedOptions {
                url,
                token: Secret::new("bench"),
                ca_file: None,
                allow_insecure_remote: false,
                command_timeout: Duration::from_secs(5),
                audio_in: None,
                audio_gate: None,
            },
            app: AppSettings {
                audio_input: Endpoint::Wav(mic.clone()),
                ptt: PttConfig {
                    setting: PttSetting::Native,
                    ..PttConfig::default()
                },
                ..AppSettings::default()
            },
            journal: None,
            warnings: Vec::new(),
            audio: AudioConfig {
                input: Endpoint::Wav(mic),
                ..AudioConfig::default()
            },
        })
        .unwrap();
        settle(&mut core, |core| core.app().pane_call().is_some()).await;
        core.key(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::NONE));
        settle(&mut core, |core| core.app().mic_allowed()).await;
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
        core.shutdown().await;
    });
}
