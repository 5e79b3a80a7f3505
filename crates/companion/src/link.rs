//! Messages over a byte stream, and the hello both ends exchange first,
//! then the companion's challenge and the console's proof of the key.

use crate::key::{Key, nonce};
use crate::wire::{Message, VERSION, WireError, frame_length};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How long either end waits for the other's hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a connection ended or was refused.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the connection closed")]
    Closed,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("bad message: {0}")]
    Wire(#[from] WireError),
    #[error("no hello within {} s", HELLO_TIMEOUT.as_secs())]
    HelloTimeout,
    #[error("expected a hello first")]
    NoHello,
    #[error(
        "the other end speaks companion protocol version {0}, this floorwalk version {VERSION}: \
         run the same floorwalk version on the laptop and the jump host"
    )]
    Version(u16),
    #[error("refused by the other end: {0}")]
    Refused(String),
    #[error("{0}")]
    Unexpected(&'static str),
    #[error("{0}")]
    Key(String),
}

/// Reads one message (the length is checked against the cap before the
/// body is read).
pub async fn read_message<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Message, LinkError> {
    Ok(read_sized(reader).await?.0)
}

/// Reads one message and says how many bytes it took on the wire.
pub async fn read_sized<R: AsyncRead + Unpin>(
    reader: &mut R,
) -> Result<(Message, usize), LinkError> {
    let mut prefix = [0u8; 4];
    match reader.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(LinkError::Closed),
        Err(e) => return Err(e.into()),
    }
    let mut body = vec![0u8; frame_length(prefix)?];
    reader.read_exact(&mut body).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            LinkError::Wire(WireError::Truncated(body.first().copied().unwrap_or(0)))
        } else {
            e.into()
        }
    })?;
    Ok((Message::decode(&body)?, 4 + body.len()))
}

pub async fn write_message<W: AsyncWrite + Unpin>(
    writer: &mut W,
    message: &Message,
) -> Result<(), LinkError> {
    writer.write_all(&message.encode()?).await?;
    Ok(())
}

/// Sends my hello and reads the other end's: its name, or why not. A wrong
/// version is answered with a refusal before the error is returned.
pub async fn hello<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    my_name: &str,
) -> Result<String, LinkError> {
    let mine = Message::Hello {
        version: VERSION,
        name: my_name.to_owned(),
    };
    write_message(stream, &mine).await?;
    let theirs = tokio::time::timeout(HELLO_TIMEOUT, read_message(stream))
        .await
        .map_err(|_| LinkError::HelloTimeout)?;
    match theirs {
        Ok(Message::Hello { version, name }) if version == VERSION => Ok(name),
        Ok(Message::Hello { version, .. }) => {
            let error = LinkError::Version(version);
            refuse(stream, &error.to_string()).await;
            Err(error)
        }
        Ok(Message::Refused { reason }) => Err(LinkError::Refused(reason)),
        Ok(_) => {
            refuse(stream, "expected a hello first").await;
            Err(LinkError::NoHello)
        }
        Err(error) => {
            if matches!(error, LinkError::Wire(_)) {
                refuse(stream, &error.to_string()).await;
            }
            Err(error)
        }
    }
}

/// Reads one message of the handshake, within [`HELLO_TIMEOUT`].
async fn read_handshake<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Message, LinkError> {
    match tokio::time::timeout(HELLO_TIMEOUT, read_message(reader)).await {
        Ok(Ok(Message::Refused { reason })) => Err(LinkError::Refused(reason)),
        Ok(message) => message,
        Err(_) => Err(LinkError::HelloTimeout),
    }
}

/// The companion's side after the hellos: a fresh nonce out, the proof in.
/// With a key, only a proof made with it for this nonce is admitted; the
/// console is told why it is refused. Without a key (a Unix socket that
/// only this user can reach), every console is admitted.
pub async fn challenge<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    key: Option<&Key>,
) -> Result<(), LinkError> {
    let nonce = nonce().map_err(|e| LinkError::Key(e.to_string()))?;
    write_message(stream, &Message::Challenge(nonce)).await?;
    let proof = match read_handshake(stream).await? {
        Message::Proof(proof) => proof,
        _ => {
            refuse(stream, "expected the proof of the key").await;
            return Err(LinkError::Unexpected("expected the proof of the key"));
        }
    };
    let verdict = match (key, proof) {
        (None, _) => Ok(()),
        (Some(key), Some(proof)) if key.verify(&nonce, &proof) => Ok(()),
        (Some(_), Some(_)) => Err(
            "the console's key is not this companion's: copy the companion's key to the jump \
             host again (the companion prints how)",
        ),
        (Some(_), None) => Err(
            "this companion needs its key and the console has none: copy it to the jump host \
             (the companion prints how)",
        ),
    };
    match verdict {
        Ok(()) => write_message(stream, &Message::Admitted).await,
        Err(reason) => {
            refuse(stream, reason).await;
            Err(LinkError::Key(reason.to_owned()))
        }
    }
}

/// The console's side after the hellos: answers the companion's nonce with
/// the key (or says it has none) and waits to be admitted.
pub async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    key: Option<&Key>,
) -> Result<(), LinkError> {
    let Message::Challenge(nonce) = read_handshake(stream).await? else {
        refuse(stream, "expected a challenge after the hello").await;
        return Err(LinkError::Unexpected(
            "expected a challenge after the hello",
        ));
    };
    let proof = Message::Proof(key.map(|key| key.prove(&nonce)));
    write_message(stream, &proof).await?;
    match read_handshake(stream).await? {
        Message::Admitted => Ok(()),
        _ => Err(LinkError::Unexpected("expected to be admitted")),
    }
}

/// Tells the other end why it is refused (best effort: it may be gone).
pub async fn refuse<W: AsyncWrite + Unpin>(writer: &mut W, reason: &str) {
    let refused = Message::Refused {
        reason: reason.to_owned(),
    };
    let _ = write_message(writer, &refused).await;
    let _ = writer.shutdown().await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[tokio::test]
    async fn both_ends_learn_each_others_name() {
        let (mut a, mut b) = tokio::io::duplex(4096);
        let (x, y) = tokio::join!(hello(&mut a, "console"), hello(&mut b, "laptop"));
        assert_eq!(
            (x.unwrap(), y.unwrap()),
            ("laptop".into(), "console".into())
        );
    }

    /// The challenge and the answer over an in-memory stream.
    async fn handshake(
        companion_key: Option<&Key>,
        console_key: Option<&Key>,
    ) -> (Result<(), LinkError>, Result<(), LinkError>) {
        let (mut a, mut b) = tokio::io::duplex(4096);
        tokio::join!(
            challenge(&mut a, companion_key),
            answer(&mut b, console_key)
        )
    }

    #[tokio::test]
    async fn only_a_console_with_the_key_is_admitted_and_both_ends_say_why_not() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::load_or_create(&dir.path().join("k")).unwrap();
        let other = Key::load_or_create(&dir.path().join("o")).unwrap();
        let (companion, console) = handshake(Some(&key), Some(&key)).await;
        assert!(
            companion.is_ok() && console.is_ok(),
            "{companion:?} {console:?}"
        );
        // A Unix socket without a key file admits as before, key or not.
        for console_key in [None, Some(&key)] {
            let (companion, console) = handshake(None, console_key).await;
            assert!(
                companion.is_ok() && console.is_ok(),
                "{companion:?} {console:?}"
            );
        }
        let (companion, console) = handshake(Some(&key), Some(&other)).await;
        assert!(matches!(&companion, Err(LinkError::Key(r)) if r.contains("not this companion's")));
        assert!(
            matches!(&console, Err(LinkError::Refused(r)) if r.contains("not this companion's")),
            "{console:?}"
        );
        let (companion, console) = handshake(Some(&key), None).await;
        assert!(matches!(&companion, Err(LinkError::Key(r)) if r.contains("has none")));
        assert!(
            matches!(&console, Err(LinkError::Refused(r)) if r.contains("has none")),
            "{console:?}"
        );
    }

    #[tokio::test]
    async fn an_answer_recorded_for_another_nonce_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::load_or_create(&dir.path().join("k")).unwrap();
        // A proof once seen on the wire, for some other connection's nonce.
        let recorded = key.prove(&nonce().unwrap());
        let (mut a, mut b) = tokio::io::duplex(4096);
        let replay = async {
            let challenge = read_message(&mut b).await.unwrap();
            assert!(matches!(challenge, Message::Challenge(_)));
            write_message(&mut b, &Message::Proof(Some(recorded)))
                .await
                .unwrap();
            read_message(&mut b).await.unwrap()
        };
        let (companion, reply) = tokio::join!(challenge(&mut a, Some(&key)), replay);
        assert!(matches!(companion, Err(LinkError::Key(_))), "{companion:?}");
        assert!(matches!(reply, Message::Refused { .. }), "{reply:?}");
    }

    #[tokio::test]
    async fn an_old_version_is_refused_on_both_ends_with_the_reason() {
        let (mut a, mut b) = tokio::io::duplex(4096);
        let old = async {
            write_message(
                &mut b,
                &Message::Hello {
                    version: 0,
                    name: "old".into(),
                },
            )
            .await
            .unwrap();
            let _mine = read_message(&mut b).await.unwrap();
            read_message(&mut b).await.unwrap()
        };
        let (mine, theirs) = tokio::join!(hello(&mut a, "new"), old);
        assert!(matches!(mine, Err(LinkError::Version(0))), "{mine:?}");
        let Message::Refused { reason } = theirs else {
            panic!("{theirs:?}")
        };
        assert!(reason.contains("same floorwalk version"), "{reason}");
    }

    #[tokio::test]
    async fn garbage_and_a_truncated_frame_are_errors_not_panics() {
        let (mut a, mut b) = tokio::io::duplex(4096);
        b.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await.unwrap();
        let error = hello(&mut a, "me").await.unwrap_err();
        assert!(
            error.to_string().contains("not a floorwalk companion peer"),
            "{error}"
        );

        let (mut a, mut b) = tokio::io::duplex(4096);
        let frame = Message::Audio(vec![1; 100]).encode().unwrap();
        b.write_all(&frame[..50]).await.unwrap();
        drop(b);
        let error = read_message(&mut a).await.unwrap_err();
        assert!(
            matches!(error, LinkError::Wire(WireError::Truncated(_))),
            "{error}"
        );
    }
}
