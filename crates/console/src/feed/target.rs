//! Where the feed connects, checked before any socket is opened.

use super::FeedError;
use floorwalk_protocol::PATH;
use http::Uri;
use std::net::IpAddr;

/// A checked server URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    pub uri: Uri,
    pub tls: bool,
    /// Whether the host is this machine (loopback).
    pub loopback: bool,
}

/// Checks `url`: it parses, the scheme is `ws` or `wss`, there are no
/// credentials in it, and `ws://` goes to loopback only unless
/// `allow_insecure_remote` (then a warning is returned). A URL without a path
/// gets the protocol's path.
pub(super) fn check(
    url: &str,
    allow_insecure_remote: bool,
) -> Result<(Target, Option<String>), FeedError> {
    let invalid = |reason: &str| FeedError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: Uri = url
        .trim()
        .parse()
        .map_err(|err: http::uri::InvalidUri| invalid(&err.to_string()))?;
    let scheme = uri
        .scheme_str()
        .ok_or_else(|| invalid("it has no scheme (ws:// or wss://)"))?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "ws" => false,
        "wss" => true,
        _ => return Err(FeedError::UnsupportedScheme(scheme.to_owned())),
    };
    let authority = uri.authority().ok_or_else(|| invalid("it has no host"))?;
    if authority.as_str().contains('@') {
        return Err(FeedError::CredentialsInUrl);
    }
    let host = authority.host();
    if host.is_empty() {
        return Err(invalid("it has no host"));
    }
    // `http` reads an unparsable port as no port; we must not fall back to
    // the default port then.
    let port = authority.as_str().strip_prefix(host).unwrap_or_default();
    if !port.is_empty()
        && !port
            .strip_prefix(':')
            .is_some_and(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
    {
        return Err(invalid("the port is not a number from 1 to 65535"));
    }
    let loopback = is_loopback(host);
    let warning = if !tls && !loopback {
        if !allow_insecure_remote {
            return Err(FeedError::InsecureRemote(host.to_owned()));
        }
        Some(format!(
            "the connection to {host} is not encrypted (ws://, allow_insecure_remote is set): \
             the token and call audio cross the network in the clear"
        ))
    } else {
        None
    };
    let uri = if matches!(uri.path(), "" | "/") && uri.query().is_none() {
        let mut parts = uri.into_parts();
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static(PATH));
        Uri::from_parts(parts).map_err(|err| invalid(&err.to_string()))?
    } else {
        uri
    };
    Ok((Target { uri, tls, loopback }, warning))
}

/// 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.eq_ignore_ascii_case("localhost.") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn loopback_plain_websocket_is_fine() {
        for url in [
            "ws://127.0.0.1:9000/v1/supervisor",
            "ws://127.8.9.10:1/v1/supervisor",
            "ws://[::1]:9000/v1/supervisor",
            "ws://[::ffff:127.0.0.1]:9000/v1/supervisor",
            "ws://localhost:9000/v1/supervisor",
            "WS://LOCALHOST:9000/v1/supervisor",
        ] {
            let (target, warning) = check(url, false).unwrap();
            assert!(!target.tls && target.loopback, "{url}");
            assert_eq!(warning, None);
        }
    }

    #[test]
    fn remote_plain_websocket_is_refused_unless_allowed() {
        for url in [
            "ws://192.0.2.7:9000/v1/supervisor",
            "ws://cc.example.com/v1/supervisor",
            "ws://[2001:db8::1]/v1/supervisor",
            "ws://128.0.0.1/v1/supervisor",
            "ws://localhost.example.com/v1/supervisor",
        ] {
            let err = check(url, false).unwrap_err();
            assert!(matches!(err, FeedError::InsecureRemote(_)), "{url}: {err}");
            assert!(err.to_string().contains("wss://"), "{err}");
            let (target, warning) = check(url, true).unwrap();
            assert!(!target.tls && !target.loopback);
            assert!(warning.unwrap().contains("not encrypted"));
        }
    }

    #[test]
    fn tls_anywhere_is_fine() {
        let (target, warning) = check("wss://cc.example.com/v1/supervisor", false).unwrap();
        assert!(target.tls && !target.loopback);
        assert_eq!(warning, None);
    }

    #[test]
    fn missing_path_gets_the_protocol_path() {
        let (target, _) = check("ws://127.0.0.1:9000", false).unwrap();
        assert_eq!(target.uri.to_string(), "ws://127.0.0.1:9000/v1/supervisor");
        let (target, _) = check("wss://cc.example.com/", false).unwrap();
        assert_eq!(target.uri.to_string(), "wss://cc.example.com/v1/supervisor");
        let (target, _) = check("wss://cc.example.com/custom/path?x=1", false).unwrap();
        assert_eq!(target.uri.path(), "/custom/path");
    }

    #[test]
    fn bad_urls_are_explained() {
        let cases: [(&str, &str); 9] = [
            (
                "ws://127.0.0.1:notaport/v1/supervisor",
                "port is not a number",
            ),
            ("ws://127.0.0.1:0/v1/supervisor", "port is not a number"),
            (
                "ws://127.0.0.1:70000/v1/supervisor",
                "not a valid server URL",
            ),
            ("", "not a valid server URL"),
            ("not a url", "not a valid server URL"),
            ("127.0.0.1:9000", "ws:// or wss://"),
            (
                "http://127.0.0.1:9000/v1/supervisor",
                "`http` is not supported",
            ),
            ("/v1/supervisor", "no scheme"),
            ("ws://user:pw@127.0.0.1:9000/v1/supervisor", "credentials"),
        ];
        for (url, expected) in cases {
            let message = check(url, true).unwrap_err().to_string();
            assert!(message.contains(expected), "{url}: {message}");
            assert!(!message.contains("pw@"), "{message}");
        }
    }
}
