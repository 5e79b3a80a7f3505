//! The server check: whether there is a server and a token to try, then
//! the connection and the login ("server" and "login").

use super::super::{feed_options, server_label};
use super::verdict::{Report, Verdict};
use floorwalk_console::config::{Config, Secret};
use floorwalk_console::feed::{self, FeedEvent, FeedHandle, FeedOptions};
use floorwalk_protocol::Hello;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long the server may take to say hello.
const HELLO_WAIT: Duration = Duration::from_secs(8);

/// An open feed, its events and the server's hello.
pub type Connection = (FeedHandle, mpsc::Receiver<FeedEvent>, Hello);

/// How to reach the server, or why it is not tried.
pub fn options(
    config: &Config,
    server: Option<String>,
    token: Option<Secret>,
) -> Result<FeedOptions, Verdict> {
    match (server, token) {
        (None, _) => Err(Verdict::Failed(
            "no server: pass --server URL or set `server` in the config".into(),
        )),
        (Some(_), None) => Err(Verdict::Unverified("not tried without a token".into())),
        (Some(url), Some(token)) => Ok(feed_options(config, url, token)),
    }
}

/// Connects and says how it went ("server" and "login").
pub async fn connect(options: FeedOptions, report: &mut Report) -> Option<Connection> {
    let label = server_label(&options.url);
    let (handle, mut events) = match feed::spawn(options) {
        Ok(feed) => feed,
        Err(err) => {
            report.say("server", Verdict::Failed(format!("{label}: {err}")));
            return None;
        }
    };
    match wait_for_hello(&mut events).await {
        Ok(hello) => {
            report.say(
                "server",
                Verdict::Ok(format!("{label} answers: {}", hello.server)),
            );
            let me = &hello.supervisor;
            let teams = me.teams.join(", ");
            report.say("login", Verdict::Ok(format!("{} ({teams})", me.name)));
            Some((handle, events, hello))
        }
        Err(err) => {
            report.say("server", Verdict::Failed(format!("{label}: {err}")));
            handle.shutdown();
            None
        }
    }
}

/// The server's hello, or why it did not come: a refusal, or a second
/// attempt that failed too.
async fn wait_for_hello(events: &mut mpsc::Receiver<FeedEvent>) -> Result<Hello, String> {
    let deadline = tokio::time::sleep(HELLO_WAIT);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(FeedEvent::Connected { hello, .. }) => return Ok(hello),
                Some(FeedEvent::Fatal(text)) => return Err(text),
                Some(FeedEvent::Connecting { attempt, last_error: Some(err), .. }) if attempt >= 2 => {
                    return Err(err)
                }
                Some(_) => {}
                None => return Err("the connection stopped".into()),
            },
            _ = &mut deadline => return Err(format!("no answer within {} s", HELLO_WAIT.as_secs())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwalk_console::config::Env;

    #[test]
    fn the_server_is_tried_only_with_a_url_and_a_token() {
        let config = Config::load_with(None, None, &Env::default()).unwrap();
        let url = || Some("ws://127.0.0.1:7700/v1/supervisor".to_owned());
        let token = || Some(Secret::new("t"));
        let Err(Verdict::Failed(why)) = options(&config, None, token()) else {
            panic!("no server must fail");
        };
        assert!(why.contains("--server URL"), "{why}");
        assert!(matches!(
            options(&config, url(), None),
            Err(Verdict::Unverified(_))
        ));
        let options = options(&config, url(), token()).unwrap();
        assert_eq!(options.url, "ws://127.0.0.1:7700/v1/supervisor");
        assert_eq!(options.token.expose(), "t");
    }
}
