//! The companion and the console's link to it, in one process over a Unix
//! socket (the SSH tunnel is tested in the workspace's tests/companion_ssh.rs):
//! the call's frames played with the meters reported back, the microphone
//! only while talking, and bad peers on either side refused with a reason.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../../../tests/support/wav.rs"]
mod wav;

use floorwalk_audio::codec::Encoder;
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::engine::AudioEvent;
use floorwalk_audio::playback::TrackSpec;
use floorwalk_audio::signal::sine;
use floorwalk_companion::client::{CompanionAudio, LinkConfig};
use floorwalk_companion::link::{read_message, write_message};
use floorwalk_companion::server::{Companion, Listen};
use floorwalk_companion::status::Status;
use floorwalk_companion::wire::{Message, VERSION};
use floorwalk_protocol::{AudioFrame, FrameHeader, Role};
use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

async fn start_companion(dir: &Path, mic: Endpoint) -> std::path::PathBuf {
    let path = dir.join("laptop/companion.sock");
    let listen = Listen::Unix(path.clone());
    let companion = Companion::listen(&listen, None, Endpoint::None, mic)
        .await
        .unwrap();
    let (status, _) = tokio::sync::watch::channel(Status::default());
    tokio::spawn(companion.serve(status));
    path
}

fn link(path: &Path, microphone: bool) -> (CompanionAudio, floorwalk_audio::engine::AudioChannels) {
    // No key on either end: the Unix socket's checks are the guard.
    CompanionAudio::start(LinkConfig {
        key_file: None,
        ..LinkConfig::new(path.to_owned(), microphone)
    })
}

async fn next_event(events: &mut tokio::sync::mpsc::UnboundedReceiver<AudioEvent>) -> AudioEvent {
    timeout(WAIT, events.recv()).await.unwrap().unwrap()
}

fn tone_frame(encoder: &mut Encoder, track: u32, seq: u32) -> Vec<u8> {
    let opus = encoder.encode(&sine(440.0, 0.5, 960)).unwrap().to_vec();
    AudioFrame {
        header: FrameHeader {
            flags: u16::from(seq == 0),
            track,
            seq,
            timestamp: seq * 960,
        },
        opus: &opus,
    }
    .encode()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_play_on_the_companion_and_the_microphone_follows_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let mic = dir.path().join("mic.wav");
    wav::write_mono(&mic, &sine(300.0, 0.4, 48_000));
    let path = start_companion(dir.path(), Endpoint::Wav(mic)).await;
    let (audio, mut channels) = link(&path, true);
    let AudioEvent::OutputReady { description } = next_event(&mut channels.events).await else {
        panic!("not connected")
    };
    assert!(description.ends_with(" 48k"), "{description}");

    audio.set_tracks(vec![TrackSpec {
        track: 11,
        role: Role::Agent,
    }]);
    let sink = audio.frame_sink();
    let mut encoder = Encoder::voip().unwrap();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut loudest = 0.0f32;
    for seq in 0..60 {
        tick.tick().await;
        assert!(sink.send(tone_frame(&mut encoder, 11, seq)));
        loudest = loudest.max(audio.meters().parties.agent.rms);
    }
    assert!(
        loudest > 0.1,
        "the companion's agent meter showed {loudest}"
    );
    assert_eq!(audio.meters().parties.customer.rms, 0.0);

    // The microphone: opened, but nothing comes while the gate is shut.
    audio.arm_microphone(true);
    let AudioEvent::InputReady { .. } = next_event(&mut channels.events).await else {
        panic!("no microphone")
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        channels.upstream.try_recv().is_err(),
        "a frame before talking"
    );
    audio.set_transmit(Some(31));
    let frame = timeout(WAIT, channels.upstream.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(AudioFrame::decode(&frame).unwrap().header.track, 31);
    audio.set_transmit(None);
    // Whatever was in flight, nothing is handed on once the gate closed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    while channels.upstream.try_recv().is_ok() {}
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        channels.upstream.try_recv().is_err(),
        "a frame after the gate closed"
    );
    audio.shutdown();
}

#[tokio::test]
async fn the_companion_refuses_garbage_and_old_versions_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = start_companion(dir.path(), Endpoint::None).await;
    let mut garbage = UnixStream::connect(&path).await.unwrap();
    garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let Message::Hello { .. } = read_message(&mut garbage).await.unwrap() else {
        panic!("no hello")
    };
    let Message::Refused { reason } = read_message(&mut garbage).await.unwrap() else {
        panic!("not refused")
    };
    assert!(
        reason.contains("not a floorwalk companion peer"),
        "{reason}"
    );

    let mut old = UnixStream::connect(&path).await.unwrap();
    let hello = Message::Hello {
        version: VERSION + 1,
        name: "future".into(),
    };
    write_message(&mut old, &hello).await.unwrap();
    let _hello = read_message(&mut old).await.unwrap();
    let Message::Refused { reason } = read_message(&mut old).await.unwrap() else {
        panic!("not refused")
    };
    assert!(reason.contains("same floorwalk version"), "{reason}");

    // And it still serves a real console.
    let (audio, mut channels) = link(&path, false);
    assert!(matches!(
        next_event(&mut channels.events).await,
        AudioEvent::OutputReady { .. }
    ));
    // A second console meanwhile is turned away.
    let mut second = UnixStream::connect(&path).await.unwrap();
    let Message::Refused { reason } = read_message(&mut second).await.unwrap() else {
        panic!("not refused")
    };
    assert!(reason.contains("busy"), "{reason}");
    audio.shutdown();
}

#[tokio::test]
async fn a_console_facing_a_fake_companion_says_why_and_keeps_trying() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    floorwalk_companion::private::close_socket(&path).unwrap();
    for garbage in [
        &b"SSH-2.0-OpenSSH_9.2\r\n"[..],
        &[0, 0, 0, 9, 0x01, b'F'][..],
    ] {
        let (audio, mut channels) = link(&path, true);
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(garbage).await.unwrap();
        stream.shutdown().await.unwrap();
        let AudioEvent::OutputFailed { reason, .. } = next_event(&mut channels.events).await else {
            panic!("no failure")
        };
        assert!(reason.contains("companion lost"), "{reason}");
        assert!(
            reason.contains("not a floorwalk companion peer") || reason.contains("ends early"),
            "{reason}"
        );
        // It tries again.
        let again = timeout(WAIT, listener.accept()).await;
        assert!(again.is_ok(), "the console did not try again");
        audio.shutdown();
        drop(stream);
    }
}

#[tokio::test]
async fn a_socket_others_could_open_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("open.sock");
    let _listener = tokio::net::UnixListener::bind(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (_audio, mut channels) = link(&path, false);
    let AudioEvent::OutputFailed { reason, .. } = next_event(&mut channels.events).await else {
        panic!("no failure")
    };
    assert!(reason.contains("can be opened by other users"), "{reason}");
}
