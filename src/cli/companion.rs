//! `floorwalk companion`: on the supervisor's own machine, plays the call
//! a console on a jump host forwards through the SSH connection, and
//! captures the microphone for it (see docs/jump-host.md).

use super::{init_logging, runtime, wait_for_stop};
use anyhow::Context as _;
use clap::Args;
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_companion::key::{Key, default_key_path};
use floorwalk_companion::server::{Companion, Listen};
use floorwalk_companion::status::Status;
use floorwalk_console::config::Config;
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// How often the status line is redrawn on a terminal.
const STATUS_EVERY: Duration = Duration::from_millis(200);

#[derive(Args)]
pub struct CompanionArgs {
    /// Where to listen: a Unix socket in a directory only you can enter
    /// (default: $XDG_RUNTIME_DIR/floorwalk/companion.sock, else the temp
    /// dir's floorwalk-UID/companion.sock), or tcp:127.0.0.1:PORT (loopback
    /// only; PORT 0 picks one) where Unix sockets cannot be used, e.g. on
    /// Windows: consoles must then prove they hold the companion's key.
    #[arg(long, value_name = "PATH|tcp:127.0.0.1:PORT")]
    listen: Option<Listen>,
    /// Where the call plays: none, default, device:NAME or wav:PATH.
    #[arg(
        long,
        value_name = "none|default|device:NAME|wav:PATH",
        default_value = "default"
    )]
    audio_out: Endpoint,
    /// The microphone: none, default, device:NAME or wav:PATH (a file
    /// played in a loop). Opened only while the console whispers or barges.
    #[arg(
        long,
        value_name = "none|default|device:NAME|wav:PATH",
        default_value = "default"
    )]
    audio_in: Endpoint,
    /// The jump host as you reach it with ssh (only for the printed line).
    #[arg(long, value_name = "[USER@]HOST", default_value = "JUMP-HOST")]
    jump_host: String,
}

pub fn companion(args: CompanionArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(None).context("cannot load the configuration")?;
    let _log = init_logging(&config)?;
    let listen = match args.listen {
        Some(listen) => listen,
        None => Listen::Unix(default_listen_path()?),
    };
    // TCP needs the key (made on first use); a Unix socket uses it when
    // there is one.
    let key_file = default_key_path();
    let key = match (&listen, &key_file) {
        (Listen::Tcp(_), Some(file)) => Some(Key::load_or_create(file)?),
        (Listen::Tcp(_), None) => anyhow::bail!("no home directory to keep the companion's key in"),
        (Listen::Unix(_), Some(file)) => Key::load(file)?,
        (Listen::Unix(_), None) => None,
    };
    runtime()?.block_on(async {
        let companion =
            Companion::listen(&listen, key, args.audio_out.clone(), args.audio_in.clone()).await?;
        let mut stdout = std::io::stdout();
        writeln!(
            stdout,
            "floorwalk companion: listening on {}",
            companion.local()
        )?;
        writeln!(
            stdout,
            "playing to {}, microphone {} (opened only for whisper and barge)",
            args.audio_out, args.audio_in
        )?;
        if let (true, Some(key_file)) = (companion.needs_key(), &key_file) {
            writeln!(
                stdout,
                "consoles must prove they hold the key in {}; put it on the jump host once with:",
                key_file.display()
            )?;
            writeln!(
                stdout,
                "  {}",
                floorwalk_companion::key_copy_command(key_file, &args.jump_host)
            )?;
        }
        writeln!(stdout, "connect to the jump host with:")?;
        writeln!(
            stdout,
            "  {}",
            floorwalk_companion::ssh_command(companion.local(), &args.jump_host)
        )?;
        writeln!(
            stdout,
            "and there run: floorwalk console --audio-out companion --audio-in companion"
        )?;
        stdout.flush()?;
        let (status_tx, status_rx) = tokio::sync::watch::channel(Status::default());
        let serve = companion.serve(status_tx);
        tokio::select! {
            () = serve => {}
            () = show_status(status_rx) => {}
            () = wait_for_stop() => {}
        }
        if std::io::stdout().is_terminal() {
            println!();
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `$XDG_RUNTIME_DIR/floorwalk/companion.sock`, else a directory of this
/// user's in the temp dir.
#[cfg(unix)]
fn default_listen_path() -> anyhow::Result<PathBuf> {
    let dir = directories::BaseDirs::new()
        .and_then(|dirs| dirs.runtime_dir().map(|d| d.join("floorwalk")))
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!(
                "floorwalk-{}",
                floorwalk_companion::private::my_uid()
            ))
        });
    Ok(dir.join("companion.sock"))
}

#[cfg(not(unix))]
fn default_listen_path() -> anyhow::Result<PathBuf> {
    anyhow::bail!(
        "there are no Unix sockets here: give --listen tcp:127.0.0.1:0 (see docs/jump-host.md, \
         Windows)"
    )
}

/// The status line: redrawn in place on a terminal; otherwise a line each
/// time something other than the levels changes.
async fn show_status(mut status: tokio::sync::watch::Receiver<Status>) {
    let terminal = std::io::stdout().is_terminal();
    let mut every = tokio::time::interval(STATUS_EVERY);
    let mut last = String::new();
    loop {
        if terminal {
            every.tick().await;
        } else if status.changed().await.is_err() {
            return;
        }
        let now = status.borrow_and_update().clone();
        let mut stdout = std::io::stdout().lock();
        if terminal {
            let _ = write!(stdout, "\r\x1b[2K{}", now.line());
        } else {
            let quiet = Status {
                levels: Default::default(),
                ..now
            };
            let line = quiet.line();
            if line != last {
                let _ = writeln!(stdout, "{line}");
                last = line;
            }
        }
        let _ = stdout.flush();
    }
}
