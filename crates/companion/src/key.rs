//! The companion's key: a secret both ends hold, so that only a console
//! that knows it can drive a companion listening on loopback TCP (where
//! every local user can connect and no peer user can be checked).
//!
//! The key never crosses the wire: the companion sends a fresh random
//! nonce, the console answers HMAC-SHA256(key, context ‖ nonce), and the
//! companion checks it in constant time. The file holds the key in hex and
//! is readable only by its user.

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use std::path::{Path, PathBuf};

/// Bytes in a key, a nonce and a proof.
pub const KEY_LEN: usize = 32;
/// What the MAC covers besides the nonce: a proof for anything else
/// (another protocol using the same key) is never one for this.
const CONTEXT: &[u8] = b"floorwalk companion key proof v1";

/// The shared secret. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct Key(hmac::Key);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// A challenge: random bytes, fresh for every connection.
pub type Nonce = [u8; KEY_LEN];

/// Why a key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} is not a floorwalk companion key (64 hex digits)")]
    Malformed(String),
    #[error("{path} can be read by other users (mode {mode:o}): refused; make it 0600 (chmod 600)")]
    Open { path: String, mode: u32 },
    #[error("the system's random number generator failed")]
    Random,
}

/// `companion.key` in the user's config directory (e.g.
/// `~/.config/floorwalk/companion.key` on Linux, `%APPDATA%\floorwalk\
/// config\companion.key` on Windows), if there is a home.
pub fn default_key_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "floorwalk")
        .map(|dirs| dirs.config_dir().join("companion.key"))
}

/// A fresh nonce from the system's CSPRNG.
pub fn nonce() -> Result<Nonce, KeyError> {
    let mut nonce = [0; KEY_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| KeyError::Random)?;
    Ok(nonce)
}

impl Key {
    fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// The proof that I know the key, for this nonce.
    pub fn prove(&self, nonce: &Nonce) -> [u8; KEY_LEN] {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(CONTEXT);
        context.update(nonce);
        let mut proof = [0; KEY_LEN];
        proof.copy_from_slice(context.sign().as_ref());
        proof
    }

    /// Whether `proof` was made with this key for this nonce (constant time).
    pub fn verify(&self, nonce: &Nonce, proof: &[u8]) -> bool {
        let mut message = CONTEXT.to_vec();
        message.extend_from_slice(nonce);
        hmac::verify(&self.0, &message, proof).is_ok()
    }

    /// The key in `path`, or `None` when there is no such file.
    pub fn load(path: &Path) -> Result<Option<Self>, KeyError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(io_error(path, source)),
        };
        check_private(path)?;
        let bytes = from_hex(text.trim()).ok_or_else(|| KeyError::Malformed(shown(path)))?;
        Ok(Some(Self::from_bytes(&bytes)))
    }

    /// The key in `path`, made (random, in a file only this user can read)
    /// when there is none yet.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        if let Some(key) = Self::load(path)? {
            return Ok(key);
        }
        let bytes = nonce()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| io_error(path, e))?;
        std::io::Write::write_all(&mut file, format!("{}\n", to_hex(&bytes)).as_bytes())
            .map_err(|e| io_error(path, e))?;
        Ok(Self::from_bytes(&bytes))
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

fn io_error(path: &Path, source: std::io::Error) -> KeyError {
    KeyError::Io {
        path: shown(path),
        source,
    }
}

/// A key file others can read is no secret (on Windows the profile's
/// access rules keep the config directory the user's own).
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| io_error(path, e))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Open {
            path: shown(path),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), KeyError> {
    Ok(())
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<[u8; KEY_LEN]> {
    if text.len() != 2 * KEY_LEN || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0; KEY_LEN];
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_proof_holds_for_its_key_and_nonce_only() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::load_or_create(&dir.path().join("a/companion.key")).unwrap();
        let other = Key::load_or_create(&dir.path().join("b/companion.key")).unwrap();
        let (n1, n2) = (nonce().unwrap(), nonce().unwrap());
        assert_ne!(n1, n2);
        let proof = key.prove(&n1);
        assert!(key.verify(&n1, &proof));
        assert!(!other.verify(&n1, &proof), "another key's proof");
        assert!(
            !key.verify(&n2, &proof),
            "a proof replayed to another nonce"
        );
        assert!(!key.verify(&n1, &proof[..16]), "a cut proof");
        assert!(!key.verify(&n1, &[]), "no proof");
    }

    #[test]
    fn the_key_file_is_made_private_kept_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("companion.key");
        assert!(Key::load(&path).unwrap().is_none());
        let made = Key::load_or_create(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 2 * KEY_LEN);
        let again = Key::load_or_create(&path).unwrap();
        let nonce = nonce().unwrap();
        assert!(made.verify(&nonce, &again.prove(&nonce)), "the key changed");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(Key::load(&path), Err(KeyError::Open { .. })));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(&path, "not a key\n").unwrap();
        assert!(matches!(Key::load(&path), Err(KeyError::Malformed(_))));
        assert!(format!("{made:?}") == "Key(..)");
    }
}
