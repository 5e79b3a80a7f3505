//! A loopback HTTP proxy between the gateway and Asterisk's HTTP port that
//! records every request the gateway makes (method and path, as Asterisk
//! receives it) and, on command, answers a chosen request with an error or
//! holds media WebSocket upgrades unanswered. Request by request on each
//! keep-alive connection; a WebSocket upgrade is passed through (or held)
//! and then copied both ways.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Debug, Default)]
struct Rules {
    hold_media: bool,
    /// Requests starting with this (`POST /ari/bridges/`) get this status.
    fail: Option<(String, u16)>,
}

pub struct AriProxy {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    rules: Arc<Mutex<Rules>>,
    accept: JoinHandle<()>,
}

impl AriProxy {
    pub async fn start(upstream_port: u16) -> AriProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let rules = Arc::new(Mutex::new(Rules::default()));
        let (l, r) = (log.clone(), rules.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (l, r) = (l.clone(), r.clone());
                tokio::spawn(async move {
                    if let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream_port)).await {
                        let _ = relay(client, upstream, l, r).await;
                    }
                });
            }
        });
        AriProxy {
            port,
            log,
            rules,
            accept,
        }
    }

    /// ARI's URL through the proxy.
    pub fn ari_url(&self) -> String {
        format!("http://127.0.0.1:{}/ari", self.port)
    }

    /// Every request so far: `METHOD /path` without the query.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Leaves media WebSocket upgrades (`/media/…`) unanswered, or not.
    pub fn hold_media(&self, on: bool) {
        self.rules.lock().unwrap().hold_media = on;
    }

    /// Answers requests starting with `what` (`POST /ari/bridges/`) with
    /// `status`, or stops doing so (`None`).
    pub fn fail(&self, what: Option<(&str, u16)>) {
        self.rules.lock().unwrap().fail = what.map(|(w, s)| (w.to_owned(), s));
    }
}

impl Drop for AriProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// One HTTP message head, and the bytes read past it.
struct Head {
    bytes: Vec<u8>,
    first_line: String,
    content_length: usize,
    upgrade: bool,
}

async fn read_head(stream: &mut (impl AsyncRead + Unpin), carry: &mut Vec<u8>) -> Option<Head> {
    loop {
        if let Some(end) = carry.windows(4).position(|w| w == b"\r\n\r\n") {
            let bytes: Vec<u8> = carry.drain(..end + 4).collect();
            let text = String::from_utf8_lossy(&bytes).to_string();
            let first_line = text.lines().next().unwrap_or_default().to_owned();
            let header = |name: &str| {
                text.lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_owned())
            };
            return Some(Head {
                content_length: header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
                upgrade: header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")),
                first_line,
                bytes,
            });
        }
        let mut buf = [0u8; 8192];
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        carry.extend_from_slice(&buf[..n]);
    }
}

/// Reads `len` body bytes (some may be in `carry` already).
async fn read_body(
    stream: &mut (impl AsyncRead + Unpin),
    carry: &mut Vec<u8>,
    len: usize,
) -> Option<Vec<u8>> {
    while carry.len() < len {
        let mut buf = [0u8; 8192];
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        carry.extend_from_slice(&buf[..n]);
    }
    Some(carry.drain(..len).collect())
}

async fn relay(
    mut client: TcpStream,
    mut upstream: TcpStream,
    log: Arc<Mutex<Vec<String>>>,
    rules: Arc<Mutex<Rules>>,
) -> Option<()> {
    let (mut from_client, mut from_upstream) = (Vec::new(), Vec::new());
    loop {
        let request = read_head(&mut client, &mut from_client).await?;
        let mut parts = request.first_line.split(' ');
        let (method, target) = (parts.next()?, parts.next()?);
        let path = target.split('?').next()?.to_owned();
        let what = format!("{method} {path}");
        log.lock().unwrap().push(what.clone());
        let body = read_body(&mut client, &mut from_client, request.content_length).await?;
        let (hold, fail) = {
            let rules = rules.lock().unwrap();
            (
                rules.hold_media && path.starts_with("/media/"),
                rules
                    .fail
                    .clone()
                    .filter(|(w, _)| what.starts_with(w.as_str())),
            )
        };
        if hold {
            // Never answered: the connection stays open, silent.
            std::future::pending::<()>().await;
        }
        if let Some((_, status)) = fail {
            let message = br#"{"message":"injected by the test's proxy"}"#;
            let head = format!(
                "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                message.len()
            );
            client.write_all(head.as_bytes()).await.ok()?;
            client.write_all(message).await.ok()?;
            continue;
        }
        upstream.write_all(&request.bytes).await.ok()?;
        upstream.write_all(&body).await.ok()?;
        if request.upgrade {
            // From here on, a WebSocket: bytes both ways.
            client.write_all(&from_upstream).await.ok()?;
            upstream.write_all(&from_client).await.ok()?;
            tokio::io::copy_bidirectional(&mut client, &mut upstream)
                .await
                .ok()?;
            return Some(());
        }
        let response = read_head(&mut upstream, &mut from_upstream).await?;
        let body = read_body(&mut upstream, &mut from_upstream, response.content_length).await?;
        client.write_all(&response.bytes).await.ok()?;
        client.write_all(&body).await.ok()?;
    }
}
