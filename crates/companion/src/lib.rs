//! The audio companion: a supervisor on a jump host hears the call and
//! talks through their own laptop's headset, over their SSH connection.
//!
//! ```text
//! jump host                                   laptop
//! console ─ call's Opus frames, controls ─▶  ssh -R  ─▶ companion: jitter,
//!   (client)  ◀─ levels, events, mic frames ─         decode, mix, play;
//!   push-to-talk gate stays here                      mic capture, encode
//! ```
//!
//! `wire` is the framed, versioned protocol (pure); `link` carries it over
//! a stream and exchanges the hellos and the challenge; `key` is the
//! shared secret the challenge proves; `private` holds the checks on who
//! may connect to a Unix socket; `server` is the laptop side (`floorwalk companion`),
//! `client` the console's; `status` the companion's status line.

#[cfg(unix)]
pub mod client;
pub mod key;
pub mod link;
#[cfg(unix)]
pub mod private;
pub mod server;
pub mod status;
pub mod wire;

use floorwalk_audio::endpoint::{COMPANION_PATH_PREFIX, COMPANION_PATH_SUFFIX};
use std::path::Path;

/// The `ssh` command that forwards the companion at `local` (its socket's
/// path, or ADDR:PORT on loopback TCP) to the jump host's default path, a
/// Unix socket either way (OpenSSH turns `%r` into the remote user, the
/// name the console's default path uses).
pub fn ssh_command(local: &str, jump_host: &str) -> String {
    format!(
        "ssh -o ExitOnForwardFailure=yes -o ServerAliveInterval=10 \
         -R {COMPANION_PATH_PREFIX}%r{COMPANION_PATH_SUFFIX}:{local} {jump_host}"
    )
}

/// What runs on the jump host to store the key, in double quotes: they
/// protect it in POSIX shells, cmd.exe and PowerShell alike.
const STORE_KEY: &str =
    "\"umask 077; mkdir -p ~/.config/floorwalk && cat > ~/.config/floorwalk/companion.key\"";

/// The command that puts the companion's key at the console's default path
/// on the jump host: through ssh's standard input, never in an argument.
pub fn key_copy_command(key_file: &Path, jump_host: &str) -> String {
    let key_file = key_file.display();
    if cfg!(windows) {
        // PowerShell has no `<`; `type` pipes in both it and cmd.exe.
        format!("type \"{key_file}\" | ssh {jump_host} {STORE_KEY}")
    } else {
        format!("ssh {jump_host} {STORE_KEY} < \"{key_file}\"")
    }
}

/// This machine's name (for the other end's screen).
pub fn machine_name() -> String {
    #[cfg(unix)]
    let name = private::machine_name();
    #[cfg(not(unix))]
    let name = std::env::var("COMPUTERNAME").unwrap_or_else(|_| "companion".to_owned());
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ssh_line_forwards_to_the_default_path_of_the_remote_user() {
        assert_eq!(
            ssh_command("/run/user/1000/floorwalk/companion.sock", "dana@jump1"),
            "ssh -o ExitOnForwardFailure=yes -o ServerAliveInterval=10 \
             -R /tmp/floorwalk-companion-%r.sock:/run/user/1000/floorwalk/companion.sock dana@jump1"
        );
        assert_eq!(
            ssh_command("127.0.0.1:40123", "dana@jump1"),
            "ssh -o ExitOnForwardFailure=yes -o ServerAliveInterval=10 \
             -R /tmp/floorwalk-companion-%r.sock:127.0.0.1:40123 dana@jump1"
        );
    }

    #[test]
    fn the_key_goes_through_standard_input_not_an_argument() {
        let line = key_copy_command(
            Path::new("/home/dana/.config/floorwalk/companion.key"),
            "jump1",
        );
        let expected = if cfg!(windows) {
            "type \"/home/dana/.config/floorwalk/companion.key\" | ssh jump1 \"umask 077; mkdir \
             -p ~/.config/floorwalk && cat > ~/.config/floorwalk/companion.key\""
        } else {
            "ssh jump1 \"umask 077; mkdir -p ~/.config/floorwalk && cat > \
             ~/.config/floorwalk/companion.key\" < \"/home/dana/.config/floorwalk/companion.key\""
        };
        assert_eq!(line, expected);
    }
}
