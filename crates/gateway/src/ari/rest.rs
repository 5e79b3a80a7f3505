//! ARI's REST half: the few requests the gateway makes, each with a
//! deadline and an error that says which request failed and what Asterisk
//! answered. The password goes in the Authorization header only.

use super::events::{Bridge, Channel, Endpoint};
use base64::Engine as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// How long one ARI request may take before it counts as failed.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);

/// Where ARI is and who the gateway is there.
#[derive(Clone)]
pub struct AriAccess {
    /// `http://127.0.0.1:8088/ari` (no trailing slash).
    pub url: String,
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for AriAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AriAccess")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

impl AriAccess {
    /// `Basic …` for the Authorization header.
    pub fn authorization(&self) -> String {
        let pair = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    /// The WebSocket form of a path beside ARI's (`ws://host:port/<path>`).
    pub fn ws_url(&self, path: &str) -> String {
        let base = self.url.trim_end_matches('/');
        let root = base.strip_suffix("/ari").unwrap_or(base);
        let root = if let Some(rest) = root.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = root.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            root.to_owned()
        };
        format!("{root}/{}", path.trim_start_matches('/'))
    }
}

/// A failed ARI request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AriError {
    #[error("{what}: Asterisk answered HTTP {status}: {message}")]
    Status {
        what: String,
        status: u16,
        message: String,
    },
    #[error("{what}: {message}")]
    Transport { what: String, message: String },
}

impl AriError {
    /// The object is not there (any more).
    pub fn is_not_found(&self) -> bool {
        matches!(self, AriError::Status { status: 404, .. })
    }

    /// Asterisk refused because a channel is not in the Stasis application
    /// (yet): "Channel not in Stasis application", with 409, 422 or 400
    /// depending on the request.
    pub fn is_not_in_stasis(&self) -> bool {
        matches!(self, AriError::Status { status: 400 | 409 | 422, message, .. } if message.contains("not in Stasis"))
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    message: String,
}

#[derive(Deserialize)]
struct VariableBody {
    #[serde(default)]
    value: String,
}

/// The REST client.
#[derive(Debug, Clone)]
pub struct Rest {
    access: AriAccess,
    http: reqwest::Client,
}

impl Rest {
    pub fn new(access: AriAccess) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_DEADLINE)
            .connect_timeout(REQUEST_DEADLINE)
            .no_proxy()
            .build()?;
        Ok(Self { access, http })
    }

    pub fn access(&self) -> &AriAccess {
        &self.access
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<String, AriError> {
        let what = format!("{method} {path}");
        tracing::debug!(target: "floorwalk::ari", request = %what, "ARI request");
        let reply = self
            .http
            .request(method, format!("{}{path}", self.access.url))
            .query(query)
            .header("Authorization", self.access.authorization())
            .send()
            .await
            .map_err(|e| AriError::Transport {
                what: what.clone(),
                message: describe(&e),
            })?;
        let status = reply.status();
        let body = reply.text().await.map_err(|e| AriError::Transport {
            what: what.clone(),
            message: describe(&e),
        })?;
        if status.is_success() {
            return Ok(body);
        }
        let message = serde_json::from_str::<ErrorBody>(&body)
            .map(|b| b.message)
            .unwrap_or_else(|_| body.chars().take(200).collect());
        Err(AriError::Status {
            what,
            status: status.as_u16(),
            message,
        })
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, AriError> {
        let what = format!("{method} {path}");
        let body = self.send(method, path, query).await?;
        serde_json::from_str(&body).map_err(|e| AriError::Transport {
            what,
            message: format!("an answer that is not what ARI sends ({e})"),
        })
    }

    pub async fn channels(&self) -> Result<Vec<Channel>, AriError> {
        self.json(reqwest::Method::GET, "/channels", &[]).await
    }

    pub async fn bridges(&self) -> Result<Vec<Bridge>, AriError> {
        self.json(reqwest::Method::GET, "/bridges", &[]).await
    }

    pub async fn endpoints(&self) -> Result<Vec<Endpoint>, AriError> {
        self.json(reqwest::Method::GET, "/endpoints", &[]).await
    }

    /// A snoop on `target` entering application `app` as channel `id`;
    /// `spy` and `whisper` are `none`, `in`, `out` or `both`.
    pub async fn snoop(
        &self,
        target: &str,
        id: &str,
        app: &str,
        spy: &str,
        whisper: &str,
    ) -> Result<Channel, AriError> {
        let path = format!("/channels/{target}/snoop");
        self.json(
            reqwest::Method::POST,
            &path,
            &[
                ("app", app),
                ("spy", spy),
                ("whisper", whisper),
                ("snoopId", id),
            ],
        )
        .await
    }

    /// A WebSocket media channel that waits for the gateway to connect
    /// (`connection_type=server`), slin16; `direction` as the application
    /// sees it: `in` (Asterisk sends), `out` (the gateway sends).
    pub async fn external_media(
        &self,
        id: &str,
        app: &str,
        direction: &str,
    ) -> Result<Channel, AriError> {
        self.json(
            reqwest::Method::POST,
            "/channels/externalMedia",
            &[
                ("channelId", id),
                ("app", app),
                ("external_host", "INCOMING"),
                ("transport", "websocket"),
                ("encapsulation", "none"),
                ("connection_type", "server"),
                ("format", "slin16"),
                ("direction", direction),
            ],
        )
        .await
    }

    pub async fn create_bridge(&self, id: &str) -> Result<Bridge, AriError> {
        self.json(
            reqwest::Method::POST,
            "/bridges",
            &[("type", "mixing"), ("bridgeId", id), ("name", id)],
        )
        .await
    }

    pub async fn add_channels(&self, bridge: &str, channels: &[&str]) -> Result<(), AriError> {
        let list = channels.join(",");
        let path = format!("/bridges/{bridge}/addChannel");
        self.send(reqwest::Method::POST, &path, &[("channel", &list)])
            .await
            .map(drop)
    }

    /// Mutes (`on`) or unmutes the audio going out to a channel.
    pub async fn mute_out(&self, channel: &str, on: bool) -> Result<(), AriError> {
        let path = format!("/channels/{channel}/mute");
        let method = if on {
            reqwest::Method::POST
        } else {
            reqwest::Method::DELETE
        };
        self.send(method, &path, &[("direction", "out")])
            .await
            .map(drop)
    }

    pub async fn hang_up(&self, channel: &str) -> Result<(), AriError> {
        let path = format!("/channels/{channel}");
        self.send(reqwest::Method::DELETE, &path, &[("reason", "normal")])
            .await
            .map(drop)
    }

    pub async fn destroy_bridge(&self, bridge: &str) -> Result<(), AriError> {
        let path = format!("/bridges/{bridge}");
        self.send(reqwest::Method::DELETE, &path, &[])
            .await
            .map(drop)
    }

    /// Plays `media` (e.g. `sound:NAME`) on a channel as playback `id`.
    pub async fn play(&self, channel: &str, media: &str, id: &str) -> Result<(), AriError> {
        let path = format!("/channels/{channel}/play/{id}");
        self.send(reqwest::Method::POST, &path, &[("media", media)])
            .await
            .map(drop)
    }

    /// Evaluates a dialplan expression such as `QUEUE_MEMBER(sales,free)`.
    pub async fn variable(&self, expression: &str) -> Result<String, AriError> {
        let body: VariableBody = self
            .json(
                reqwest::Method::GET,
                "/asterisk/variable",
                &[("variable", expression)],
            )
            .await?;
        Ok(body.value)
    }
}

/// An error with its causes, which reqwest keeps apart.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        format!("no answer within {REQUEST_DEADLINE:?}")
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(url: &str) -> AriAccess {
        AriAccess {
            url: url.to_owned(),
            user: "floorwalk".to_owned(),
            password: "s3cret".to_owned(),
        }
    }

    #[test]
    fn websocket_urls_sit_beside_ari() {
        let plain = access("http://127.0.0.1:8088/ari");
        assert_eq!(plain.ws_url("/media/abc"), "ws://127.0.0.1:8088/media/abc");
        assert_eq!(
            access("https://pbx:8089/ari/").ws_url("ari/events"),
            "wss://pbx:8089/ari/events"
        );
    }

    #[test]
    fn the_password_never_shows_in_debug() {
        let text = format!("{:?}", access("http://127.0.0.1:1/ari"));
        assert!(!text.contains("s3cret"), "{text}");
        assert_eq!(
            access("http://x/ari").authorization(),
            "Basic Zmxvb3J3YWxrOnMzY3JldA=="
        );
    }
}
