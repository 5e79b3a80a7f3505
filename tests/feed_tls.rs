//! wss:// with a private certificate authority made at test time: trusted
//! with ca_file, refused without it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod feed_support;

use feed_support::*;
use floorwalk_console::feed::{self, FeedError, FeedEvent};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::PrivateKeyDer;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

struct Pki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "floorwalk test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![server_cert.der().clone()], key)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

struct TlsServer {
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    url: String,
}

impl TlsServer {
    async fn start(pki: &Pki) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("wss://{}/v1/supervisor", listener.local_addr().unwrap());
        Self {
            listener,
            acceptor: tokio_rustls::TlsAcceptor::from(pki.server.clone()),
            url,
        }
    }

    /// Accepts one connection: the upgraded WebSocket, or the TLS error.
    async fn accept(&self) -> Result<Conn, std::io::Error> {
        let (tcp, _) = tokio::time::timeout(PATIENCE, self.listener.accept())
            .await
            .expect("the console did not connect")
            .unwrap();
        let tls = self.acceptor.accept(tcp).await?;
        let (_, conn) = handshake(Box::new(tls), Answer::Accept).await;
        Ok(conn.expect("the upgrade failed"))
    }
}

fn write_ca(dir: &tempfile::TempDir, pem: &str) -> PathBuf {
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, pem).unwrap();
    path
}

#[tokio::test]
async fn a_server_signed_by_the_ca_file_is_trusted() {
    let pki = pki();
    let server = TlsServer::start(&pki).await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&server.url);
    opts.ca_file = Some(write_ca(&dir, &pki.ca_pem));
    let (handle, mut rx) = feed::spawn(opts).unwrap();
    assert!(handle.warnings().is_empty(), "{:?}", handle.warnings());

    let mut conn = server.accept().await.unwrap();
    conn.hello("s-1", 5000).await;
    assert_eq!(conn.expect_subscribe().await, (None, None));
    assert!(!expect_connected(&mut rx).await);
    conn.send(snapshot(1)).await;
    assert_eq!(next_seq(&mut rx).await, 1);
}

#[tokio::test]
async fn without_the_ca_file_the_server_is_refused_for_good() {
    let pki = pki();
    let server = TlsServer::start(&pki).await;
    let (_handle, mut rx) = feed::spawn(options(&server.url)).unwrap();
    assert!(
        server.accept().await.is_err(),
        "the console must abort the TLS handshake"
    );
    assert!(matches!(next(&mut rx).await, FeedEvent::Connecting { .. }));
    match next(&mut rx).await {
        FeedEvent::Fatal(text) => {
            assert!(text.contains("certificate is not trusted"), "{text}");
            assert!(text.contains("ca_file"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_ca_file_that_cannot_be_used_is_an_error_at_spawn() {
    let dir = tempfile::tempdir().unwrap();
    let url = "wss://127.0.0.1:9/v1/supervisor";

    let mut opts = options(url);
    opts.ca_file = Some(dir.path().join("missing.pem"));
    let err = feed::spawn(opts).unwrap_err();
    assert!(matches!(err, FeedError::CaFile { .. }), "{err}");
    assert!(err.to_string().contains("missing.pem"), "{err}");

    let mut opts = options(url);
    opts.ca_file = Some(write_ca(&dir, "not a certificate\n"));
    let err = feed::spawn(opts).unwrap_err();
    assert!(
        err.to_string().contains("holds no PEM certificate"),
        "{err}"
    );
}

#[tokio::test]
async fn a_ca_file_with_plain_websocket_is_pointed_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options("ws://127.0.0.1:9/v1/supervisor");
    opts.ca_file = Some(write_ca(&dir, &pki().ca_pem));
    let (handle, _rx) = feed::spawn(opts).unwrap();
    assert_eq!(handle.warnings().len(), 1);
    assert!(
        handle.warnings()[0].contains("is not used"),
        "{:?}",
        handle.warnings()
    );
    handle.shutdown();
}
