//! `floorwalk sim` serving wss://. A certificate authority made at test time
//! signs the server's certificate for 127.0.0.1 and localhost; the real
//! binary serves it, and the console's feed, trusting that authority, gets
//! hello and a snapshot over TLS. A plain ws:// client to the same port
//! fails, and disturbs nobody. Unusable TLS files, and plain ws:// off
//! loopback, are refused at start with a reason and a non-zero exit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use floorwalk_console::config::Secret;
use floorwalk_console::feed::{self, FeedEvent, FeedOptions};
use floorwalk_protocol::{SUBPROTOCOL, ServerMessage};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::sim_process::listening_url;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// How long any single wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// The PEM files of a test PKI: a CA, and a server certificate it signed.
struct Pki {
    ca: PathBuf,
    cert_chain: PathBuf,
    key: PathBuf,
}

fn pki(dir: &Path) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "floorwalk test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let pki = Pki {
        ca: dir.join("ca.pem"),
        cert_chain: dir.join("server-chain.pem"),
        key: dir.join("server-key.pem"),
    };
    std::fs::write(&pki.ca, ca.pem()).unwrap();
    std::fs::write(&pki.cert_chain, format!("{}{}", cert.pem(), ca.pem())).unwrap();
    std::fs::write(&pki.key, key.serialize_pem()).unwrap();
    pki
}

/// `floorwalk sim` with a small quiet floor and these extra arguments, its
/// records (and any other data) under `dir`.
fn sim(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_floorwalk"));
    command
        .args(["sim", "--agents", "10", "--min-call-secs", "600"])
        .args(args)
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A simulator process, stopped when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a simulator that must refuse to start: its output once it exited.
fn refused(mut command: Command) -> Output {
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + PATIENCE;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the simulator started instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success(), "exit {:?}", output.status);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("listening on"), "{stdout}");
    output
}

fn feed_options(url: &str, token: &str, ca: &Path) -> FeedOptions {
    FeedOptions {
        url: url.to_owned(),
        token: Secret::new(token),
        ca_file: Some(ca.to_owned()),
        allow_insecure_remote: false,
        command_timeout: Duration::from_secs(5),
        audio_in: None,
        audio_gate: None,
    }
}

/// Waits for the feed's hello, then its snapshot; returns the supervisor's
/// id and how many agents the snapshot has.
async fn hello_and_snapshot(rx: &mut mpsc::Receiver<FeedEvent>) -> (String, usize) {
    let mut supervisor = None;
    loop {
        let event = tokio::time::timeout(PATIENCE, rx.recv())
            .await
            .expect("no hello and snapshot in time")
            .expect("the feed stopped");
        match event {
            FeedEvent::Connected { hello, .. } => supervisor = Some(hello.supervisor.id),
            FeedEvent::Message(ServerMessage::Snapshot(snapshot)) => {
                let supervisor = supervisor.expect("a snapshot before hello");
                return (supervisor, snapshot.agents.len());
            }
            FeedEvent::Fatal(text) => panic!("refused: {text}"),
            FeedEvent::Connecting {
                last_error: Some(error),
                ..
            } => panic!("cannot connect: {error}"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn the_simulator_serves_wss_and_a_plain_client_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let mut child = sim(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            path(&pki.cert_chain),
            "--tls-key",
            path(&pki.key),
        ],
    )
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let url = listening_url(&mut child);
    let _running = Running(child);
    assert!(
        url.starts_with("wss://127.0.0.1:") && url.ends_with("/v1/supervisor"),
        "{url}"
    );

    let (dana, mut dana_rx) = feed::spawn(feed_options(&url, "demo-dana", &pki.ca)).unwrap();
    assert_eq!(hello_and_snapshot(&mut dana_rx).await.0, "sup-1");

    // Plain ws:// to the same port, with a good token: no upgrade.
    let mut request = url
        .replacen("wss://", "ws://", 1)
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "Authorization",
        HeaderValue::from_static("Bearer demo-jorge"),
    );
    headers.insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    let plain = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(request))
        .await
        .expect("the plain client was left hanging");
    assert!(plain.is_err(), "a plain client was upgraded");

    // Nobody else noticed: another console connects over TLS, and the
    // first is still connected.
    let (jorge, mut jorge_rx) = feed::spawn(feed_options(&url, "demo-jorge", &pki.ca)).unwrap();
    let (supervisor, agents) = hello_and_snapshot(&mut jorge_rx).await;
    assert_eq!(supervisor, "sup-2");
    assert!(agents > 0);
    while let Ok(event) = dana_rx.try_recv() {
        assert!(
            !matches!(event, FeedEvent::Connecting { .. }),
            "the first console lost its connection"
        );
    }
    dana.shutdown();
    jorge.shutdown();
}

#[test]
fn a_key_file_that_is_no_key_is_named_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "this is not a key\n").unwrap();
    let output = refused(sim(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            path(&pki.cert_chain),
            "--tls-key",
            path(&garbage),
        ],
    ));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "cannot use the TLS private key {}: it holds no PEM private key",
        garbage.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn plain_ws_off_loopback_is_refused_before_any_socket_opens() {
    // Holding the port: had the simulator tried to listen first, it would
    // fail with "address in use" instead.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let output = refused(sim(dir.path(), &["--listen", &format!("0.0.0.0:{port}")]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "plain ws:// is served on loopback only, not 0.0.0.0:{port}"
        )),
        "{stderr}"
    );
}
