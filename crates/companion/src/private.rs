//! Who may reach the companion: the checks on sockets and their peers.
//!
//! On the laptop the companion's socket lives in a directory only its user
//! can enter (0700), is itself 0600, and every connection's peer must be
//! that same user (SO_PEERCRED / getpeereid: the local `ssh` client is).
//! On the jump host sshd creates the forwarded socket with the user's
//! `StreamLocalBindMask` (0177 by default: 0600); the console connects only
//! to a socket owned by its own user that nobody else may open.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// This process's user id.
pub fn my_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// This machine's name (for the other end's screen).
pub fn machine_name() -> String {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_string_lossy().into_owned();
    if name.is_empty() {
        "companion".to_owned()
    } else {
        name
    }
}

/// Why a socket or directory is not private enough.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} belongs to user {owner}, not to this user ({me}): refused")]
    Owner { path: String, owner: u32, me: u32 },
    #[error(
        "{path} can be opened by other users (mode {mode:o}): refused, as they could listen in; \
         it must be 0600 (sshd's StreamLocalBindMask 0177, the default)"
    )]
    Open { path: String, mode: u32 },
    #[error("{path} is not a socket")]
    NotSocket { path: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PrivacyError + '_ {
    move |source| PrivacyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Checks that `path` is owned by this user and closed to group and others
/// (`mask`: the permission bits that must be clear).
fn owned_and_closed(path: &Path, meta: &std::fs::Metadata, mask: u32) -> Result<(), PrivacyError> {
    let me = my_uid();
    if meta.uid() != me {
        return Err(PrivacyError::Owner {
            path: path.display().to_string(),
            owner: meta.uid(),
            me,
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & mask != 0 {
        return Err(PrivacyError::Open {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

/// The console's check before it connects to a forwarded socket.
pub fn check_forwarded_socket(path: &Path) -> Result<(), PrivacyError> {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::symlink_metadata(path).map_err(io(path))?;
    if !meta.file_type().is_socket() {
        return Err(PrivacyError::NotSocket {
            path: path.display().to_string(),
        });
    }
    owned_and_closed(path, &meta, 0o077)
}

/// Makes the companion's directory (0700) or checks an existing one.
pub fn private_dir(dir: &Path) -> Result<(), PrivacyError> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
    }
    let meta = std::fs::symlink_metadata(dir).map_err(io(dir))?;
    owned_and_closed(dir, &meta, 0o077)
}

/// Makes a freshly bound socket 0600.
pub fn close_socket(path: &Path) -> Result<(), PrivacyError> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io(path))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn only_a_private_socket_of_mine_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let error = check_forwarded_socket(&path).unwrap_err();
        assert!(
            matches!(error, PrivacyError::Open { mode: 0o666, .. }),
            "{error}"
        );
        close_socket(&path).unwrap();
        check_forwarded_socket(&path).unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, b"").unwrap();
        assert!(matches!(
            check_forwarded_socket(&file),
            Err(PrivacyError::NotSocket { .. })
        ));
        assert!(matches!(
            check_forwarded_socket(&dir.path().join("missing")),
            Err(PrivacyError::Io { .. })
        ));
    }

    #[test]
    fn the_companions_directory_is_made_private_and_an_open_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("a/b");
        private_dir(&private).unwrap();
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(
            private_dir(&private),
            Err(PrivacyError::Open { .. })
        ));
    }
}
