//! ARI's events socket: one connection with `subscribeAll=true`, read as
//! [`Event`]s. Reconnecting is the driver's business.

use super::events::{BadEvent, Event};
use super::rest::{AriAccess, REQUEST_DEADLINE};
use futures_util::{SinkExt as _, StreamExt as _};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How often the gateway pings Asterisk on the events socket.
const PING_EVERY: Duration = Duration::from_secs(5);
/// Silence after which Asterisk counts as gone (frozen, or the connection
/// half-open): nothing, not even a pong, for this long.
const SILENCE: Duration = Duration::from_secs(15);

pub struct EventSocket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pinger: tokio::time::Interval,
    last_heard: Instant,
}

/// What the socket said next.
#[derive(Debug)]
pub enum Heard {
    Event(Box<Event>),
    /// A text frame that is not an event the gateway understands.
    Bad(BadEvent),
    /// The socket is gone, and why.
    Closed(String),
}

impl EventSocket {
    /// Connects as application `app`, subscribed to every channel, bridge
    /// and endpoint. Asterisk registers the application before it answers,
    /// so no event after this returns is missed.
    pub async fn connect(access: &AriAccess, app: &str) -> Result<Self, String> {
        let url = access.ws_url(&format!("ari/events?app={app}&subscribeAll=true"));
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| format!("bad ARI events URL: {e}"))?;
        let authorization = access
            .authorization()
            .parse()
            .map_err(|_| "the ARI user or password cannot go in a header".to_owned())?;
        request.headers_mut().insert("Authorization", authorization);
        let host = access.ws_url("");
        match tokio::time::timeout(REQUEST_DEADLINE, tokio_tungstenite::connect_async(request))
            .await
        {
            Ok(Ok((ws, _))) => {
                let mut pinger = tokio::time::interval(PING_EVERY);
                pinger.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                Ok(Self {
                    ws,
                    pinger,
                    last_heard: Instant::now(),
                })
            }
            Ok(Err(e)) => Err(format!("cannot open ARI's events socket at {host}: {e}")),
            Err(_) => Err(format!(
                "ARI's events socket at {host} did not answer within {REQUEST_DEADLINE:?}"
            )),
        }
    }

    /// The next event. Cancel-safe.
    pub async fn next(&mut self) -> Heard {
        loop {
            let message = tokio::select! {
                message = self.ws.next() => message,
                _ = self.pinger.tick() => {
                    if self.last_heard.elapsed() > SILENCE {
                        return Heard::Closed(format!(
                            "Asterisk has not answered on ARI's events socket for {} s",
                            SILENCE.as_secs()
                        ));
                    }
                    if let Err(e) = self.ws.send(Message::Ping(Default::default())).await {
                        return Heard::Closed(format!("ARI's events socket failed: {e}"));
                    }
                    continue;
                }
            };
            self.last_heard = Instant::now();
            match message {
                Some(Ok(Message::Text(text))) => {
                    return match Event::parse(&text) {
                        Ok(event) => Heard::Event(Box::new(event)),
                        Err(bad) => Heard::Bad(bad),
                    };
                }
                Some(Ok(Message::Ping(data))) => {
                    // tungstenite queues the pong; flushing sends it.
                    let _ = data;
                    if let Err(e) = self.ws.flush().await {
                        return Heard::Closed(format!("ARI's events socket failed: {e}"));
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let why = frame.map_or_else(String::new, |f| format!(" ({})", f.reason));
                    return Heard::Closed(format!("Asterisk closed ARI's events socket{why}"));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Heard::Closed(format!("ARI's events socket failed: {e}")),
                None => return Heard::Closed("ARI's events socket closed".to_owned()),
            }
        }
    }
}
