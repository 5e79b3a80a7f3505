//! A small loopback TCP proxy for fault tests: it forwards bytes both ways
//! between its clients and one upstream address, and on command stops
//! forwarding without a word (no FIN, no RST: a silent network, as when a
//! route dies), starts again, or cuts every connection at once.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does with the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Gate {
    forwarding: bool,
    /// Raised by `cut`: connections opened under an older one close.
    epoch: u64,
}

pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    gate: watch::Sender<Gate>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        assert!(upstream.ip().is_loopback(), "loopback only");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (gate, _) = watch::channel(Gate {
            forwarding: true,
            epoch: 0,
        });
        let accept = tokio::spawn(accept_loop(listener, upstream, gate.clone()));
        Proxy { addr, gate, accept }
    }

    /// The console's server URL through the proxy.
    pub fn url(&self) -> String {
        format!("ws://{}/v1/supervisor", self.addr)
    }

    /// Stops forwarding: bytes stay where they are, connections stay open,
    /// new ones are accepted and held.
    pub fn stall(&self) {
        self.gate.send_modify(|g| g.forwarding = false);
    }

    /// Forwards again, held bytes first.
    pub fn resume(&self) {
        self.gate.send_modify(|g| g.forwarding = true);
    }

    /// Closes every open connection, both sides, without a WebSocket close.
    pub fn cut(&self) {
        self.gate.send_modify(|g| g.epoch += 1);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, gate: watch::Sender<Gate>) {
    while let Ok((client, _)) = listener.accept().await {
        tokio::spawn(serve(client, upstream, gate.subscribe()));
    }
}

/// One client: waits for the gate (a stalled network answers nothing), then
/// opens the upstream side and pumps both ways until either side closes or
/// the connection is cut.
async fn serve(client: TcpStream, upstream: SocketAddr, mut gate: watch::Receiver<Gate>) {
    let epoch = gate.borrow().epoch;
    if !open(&mut gate, epoch).await {
        return;
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        // Upstream down: the client sees its connection close, as it would.
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pump(client_read, server_write, gate.clone(), epoch);
    let down = pump(server_read, client_write, gate, epoch);
    // When one direction ends, the other goes too: dropping both halves
    // closes both sockets.
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

/// Waits until the gate is open; `false` when the connection was cut.
async fn open(gate: &mut watch::Receiver<Gate>, epoch: u64) -> bool {
    loop {
        let now = *gate.borrow_and_update();
        if now.epoch != epoch {
            return false;
        }
        if now.forwarding {
            return true;
        }
        if gate.changed().await.is_err() {
            return false;
        }
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut gate: watch::Receiver<Gate>,
    epoch: u64,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if !open(&mut gate, epoch).await {
            return;
        }
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            // The gate moved: look at it again before reading on.
            changed = gate.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        // Stalled between the read and the write: hold the bytes.
        if !open(&mut gate, epoch).await {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
