//! Opening the WebSocket: TCP, TLS, and the upgrade with the token and the
//! subprotocol; failures sorted into "try again" and "stop".

use super::target::Target;
use floorwalk_protocol::{MAX_TEXT_FRAME, SUBPROTOCOL};
use http::HeaderValue;
use http::header::{AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long TCP, TLS and the upgrade together may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DialError {
    /// Worth another attempt (network down, server restarting, …).
    Retry(String),
    /// Another attempt would fail the same way; words for the supervisor.
    Fatal(String),
}

/// Everything needed to open a connection, prepared once.
pub(super) struct Dialer {
    target: Target,
    /// `Bearer <token>`, marked sensitive.
    authorization: HeaderValue,
    connector: Connector,
}

impl Dialer {
    pub fn new(target: Target, authorization: HeaderValue, connector: Connector) -> Self {
        Self {
            target,
            authorization,
            connector,
        }
    }

    pub fn url(&self) -> String {
        self.target.uri.to_string()
    }

    pub async fn dial(&self) -> Result<Socket, DialError> {
        match tokio::time::timeout(CONNECT_TIMEOUT, self.open()).await {
            Ok(result) => result,
            Err(_) => Err(DialError::Retry(format!(
                "no answer from {} within {} s",
                self.host_port(),
                CONNECT_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn open(&self) -> Result<Socket, DialError> {
        let mut request = self
            .target
            .uri
            .clone()
            .into_client_request()
            .map_err(|err| DialError::Fatal(format!("cannot build the request: {err}")))?;
        let headers = request.headers_mut();
        headers.insert(AUTHORIZATION, self.authorization.clone());
        headers.insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );

        // TCP by hand: tokio-tungstenite's own connect mangles IPv6 literals.
        let host = self.host();
        let tcp = TcpStream::connect((host, self.port()))
            .await
            .map_err(|err| {
                DialError::Retry(format!("cannot connect to {}: {err}", self.host_port()))
            })?;
        // Commands and audio are small and urgent.
        tcp.set_nodelay(true)
            .map_err(|err| DialError::Retry(format!("cannot set up the socket: {err}")))?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_TEXT_FRAME))
            .max_frame_size(Some(MAX_TEXT_FRAME));
        let connector = Some(self.connector.clone());
        match tokio_tungstenite::client_async_tls_with_config(request, tcp, Some(config), connector)
            .await
        {
            Ok((socket, _response)) => Ok(socket),
            Err(err) => Err(self.classify(err)),
        }
    }

    fn classify(&self, err: WsError) -> DialError {
        let url = self.url();
        match err {
            WsError::Http(response) => match response.status().as_u16() {
                401 => DialError::Fatal(format!(
                    "the server refused the token (HTTP 401 Unauthorized) at {url}: check \
                     FLOORWALK_TOKEN, token_file or token_command; the console stopped retrying"
                )),
                403 => DialError::Fatal(format!(
                    "the server refused this supervisor (HTTP 403 Forbidden) at {url}; \
                     the console stopped retrying"
                )),
                status => DialError::Retry(format!(
                    "the server answered HTTP {status} instead of opening the connection"
                )),
            },
            WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(_)) => {
                DialError::Fatal(format!(
                    "the server at {url} does not speak {SUBPROTOCOL} (it did not accept the \
                     WebSocket subprotocol); is this a floorwalk protocol v1 server?"
                ))
            }
            WsError::Io(io) => match io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                Some(rustls::Error::InvalidCertificate(reason)) => DialError::Fatal(format!(
                    "the server's TLS certificate is not trusted ({reason:?}) at {url}: if the \
                     server uses a private certificate authority, set ca_file to its PEM file"
                )),
                Some(tls) => {
                    DialError::Retry(format!("TLS failed with {}: {tls}", self.host_port()))
                }
                None => {
                    DialError::Retry(format!("connection to {} failed: {io}", self.host_port()))
                }
            },
            other => DialError::Retry(format!(
                "connection to {} failed: {other}",
                self.host_port()
            )),
        }
    }

    /// The host without IPv6 brackets, as sockets want it.
    fn host(&self) -> &str {
        let host = self.target.uri.host().unwrap_or_default();
        host.trim_start_matches('[').trim_end_matches(']')
    }

    fn port(&self) -> u16 {
        self.target
            .uri
            .port_u16()
            .unwrap_or(if self.target.tls { 443 } else { 80 })
    }

    fn host_port(&self) -> String {
        let host = self.target.uri.host().unwrap_or_default();
        format!("{host}:{}", self.port())
    }
}
