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
//! a stream and exchanges the hellos; `private` holds the checks on who
//! may connect; `server` is the laptop side (`floorwalk companion`),
//! `client` the console's; `status` the companion's status line.

#[cfg(unix)]
pub mod client;
pub mod link;
#[cfg(unix)]
pub mod private;
#[cfg(unix)]
pub mod server;
pub mod status;
pub mod wire;

use floorwalk_audio::endpoint::{COMPANION_PATH_PREFIX, COMPANION_PATH_SUFFIX};
use std::path::Path;

/// The `ssh` command that forwards the companion's socket at `local` to
/// the jump host's default path (OpenSSH turns `%r` into the remote user,
/// the name the console's default path uses).
pub fn ssh_command(local: &Path, jump_host: &str) -> String {
    format!(
        "ssh -o ExitOnForwardFailure=yes -o ServerAliveInterval=10 \
         -R {COMPANION_PATH_PREFIX}%r{COMPANION_PATH_SUFFIX}:{} {jump_host}",
        local.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ssh_line_forwards_to_the_default_path_of_the_remote_user() {
        assert_eq!(
            ssh_command(
                Path::new("/run/user/1000/floorwalk/companion.sock"),
                "dana@jump1"
            ),
            "ssh -o ExitOnForwardFailure=yes -o ServerAliveInterval=10 \
             -R /tmp/floorwalk-companion-%r.sock:/run/user/1000/floorwalk/companion.sock dana@jump1"
        );
    }
}
