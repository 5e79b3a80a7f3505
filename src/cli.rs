//! What each subcommand does: load configuration, set up logging, start the
//! pieces and run them. Kept out of `main.rs` so `main` is only the parser.

use anyhow::{Context as _, anyhow, bail};
use clap::Args;
use floorwalk::audit::{self, Journal};
use floorwalk::config::{AudioEndpoint, Config, Secret};
use floorwalk::console::{self, ConsoleOptions, Exit};
use floorwalk::feed::{self, FeedEvent, FeedOptions};
use floorwalk::{app, sim};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct DemoArgs {
    /// How many agents the simulated contact center has.
    #[arg(long, default_value_t = 60)]
    agents: usize,
    /// Seed of the simulation: the same seed gives the same contact center.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The shortest simulated call, in seconds.
    #[arg(long, default_value_t = 20)]
    min_call_secs: u64,
    #[command(flatten)]
    audio: AudioArgs,
}

#[derive(Args)]
pub struct ConsoleArgs {
    /// The server, e.g. wss://cc.example.com/v1/supervisor (or `server` in the config).
    #[arg(long)]
    server: Option<String>,
    /// The configuration file (default: the platform config dir's floorwalk/config.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    audio: AudioArgs,
}

#[derive(Args)]
pub struct AudioArgs {
    /// Where call audio plays: none, default, or wav:PATH.
    #[arg(long, value_name = "none|default|wav:PATH")]
    audio_out: Option<AudioEndpoint>,
    /// Where the microphone comes from: none, default, or wav:PATH.
    #[arg(long, value_name = "none|default|wav:PATH")]
    audio_in: Option<AudioEndpoint>,
}

#[derive(Args)]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long)]
    listen: SocketAddr,
    #[arg(long, default_value_t = 60)]
    agents: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// TOML file of `[[supervisor]]` tables (token, id, name, teams, can_end_calls).
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// How long a console may be gone before its legs are removed.
    #[arg(long, default_value_t = 15_000)]
    lease_ms: u64,
    /// Write what each call's customer and agent heard, as WAV files.
    #[arg(long)]
    record_dir: Option<PathBuf>,
    /// The shortest simulated call, in seconds.
    #[arg(long, default_value_t = 20)]
    min_call_secs: u64,
}

#[derive(Args)]
pub struct DoctorArgs {
    #[arg(long)]
    server: Option<String>,
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(None).context("cannot load the configuration")?;
    let _log = init_logging(&config)?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let accounts = sim::demo_accounts();
        let me = accounts
            .first()
            .ok_or_else(|| anyhow!("the demo has no supervisor"))?;
        let token = Secret::new(me.token.clone());
        let options = sim::SimOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            agents: args.agents,
            seed: args.seed,
            accounts: accounts.clone(),
            min_call_secs: args.min_call_secs,
            ..sim::SimOptions::default()
        };
        let simulator = sim::start(options)
            .await
            .context("cannot start the simulator")?;
        // The demo keeps its own journal so it never mixes with real audits.
        let audit_dir = audit::default_dir().map(|dir| dir.with_file_name("demo-audit"));
        let outcome = run_console(&config, simulator.url(), token, audit_dir, &args.audio).await;
        simulator.shutdown().await;
        outcome
    })
}

pub fn console(args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    let _log = init_logging(&config)?;
    let server = args
        .server
        .or_else(|| config.server.clone())
        .ok_or_else(|| anyhow!("no server: pass --server URL, or set `server` in the config"))?;
    let token = config.resolve_token()?;
    let audit_dir = config.audit_dir.clone().or_else(audit::default_dir);
    runtime()?.block_on(run_console(&config, server, token, audit_dir, &args.audio))
}

async fn run_console(
    config: &Config,
    url: String,
    token: Secret,
    audit_dir: Option<PathBuf>,
    audio: &AudioArgs,
) -> anyhow::Result<ExitCode> {
    let keymap = app::KeyMap::with_overrides(&config.keys)
        .map_err(|err| anyhow!("the key map in the configuration is refused: {err}"))?;
    let audit_dir = audit_dir.ok_or_else(|| anyhow!("no data directory for the audit journal"))?;
    // No presence may happen that the journal cannot record.
    let journal = Journal::open(&audit_dir)?;
    let audio_out = audio
        .audio_out
        .clone()
        .unwrap_or(config.audio.output.clone());
    let settings = app::AppSettings {
        keymap,
        reveal_customer_numbers: config.reveal_customer_numbers,
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        server_label: server_label(&url),
        audio_label: format!("audio: {audio_out} (not yet playing)"),
    };
    let feed = FeedOptions {
        url,
        token,
        ca_file: config.ca_file.clone(),
        allow_insecure_remote: config.allow_insecure_remote,
        command_timeout: config.command_timeout(),
        audio_in: None,
    };
    let warnings = config.warnings().to_vec();
    for warning in &warnings {
        eprintln!("floorwalk: warning: {warning}");
        tracing::warn!("{warning}");
    }
    let options = ConsoleOptions {
        feed,
        app: settings,
        journal: Some(journal),
        warnings,
    };
    let exit = console::run(options).await?;
    tracing::info!(?exit, "console stopped");
    Ok(match exit {
        Exit::Quit => ExitCode::SUCCESS,
        Exit::Signal(_) => ExitCode::from(130),
    })
}

/// The server URL as shown on screen and in logs: scheme, host and port only.
fn server_label(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    host.rsplit('@').next().unwrap_or(host).to_owned()
}

pub fn sim(args: SimArgs) -> anyhow::Result<ExitCode> {
    init_stderr_logging();
    let accounts = match &args.tokens {
        Some(path) => sim::load_accounts(path)?,
        None => sim::demo_accounts(),
    };
    let options = sim::SimOptions {
        listen: args.listen,
        agents: args.agents,
        seed: args.seed,
        accounts,
        lease_ms: args.lease_ms,
        // Several pings fit in a lease, so a console that only answers pings
        // keeps its legs.
        heartbeat_ms: (args.lease_ms / 3).clamp(10, 5_000),
        record_dir: args.record_dir,
        min_call_secs: args.min_call_secs,
    };
    runtime()?.block_on(async {
        let simulator = sim::start(options)
            .await
            .context("cannot start the simulator")?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "listening on {}", simulator.url())?;
        stdout.flush()?;
        wait_for_stop().await;
        simulator.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn report(args: &audit::ReportArgs) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    audit::run_report(args, &mut stdout)?;
    Ok(ExitCode::SUCCESS)
}

pub fn devices() -> anyhow::Result<ExitCode> {
    bail!("audio devices are not supported by this build yet")
}

/// Checks the server and the token one by one, each with a verdict.
pub fn doctor(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    let mut all_ok = true;
    let mut verdict = |what: &str, result: Result<String, String>| {
        match &result {
            Ok(detail) => println!("{what:<8} OK      {detail}"),
            Err(detail) => println!("{what:<8} FAILED  {detail}"),
        }
        all_ok &= result.is_ok();
    };
    for warning in config.warnings() {
        println!("warning  {warning}");
    }
    let server = args.server.or_else(|| config.server.clone());
    let Some(server) = server else {
        verdict(
            "server",
            Err("no server: pass --server URL or set `server` in the config".into()),
        );
        return Ok(ExitCode::FAILURE);
    };
    let token = match config.resolve_token() {
        Ok(token) => {
            verdict("token", Ok("found (not shown)".into()));
            token
        }
        Err(err) => {
            verdict("token", Err(err.to_string()));
            return Ok(ExitCode::FAILURE);
        }
    };
    let options = FeedOptions {
        url: server.clone(),
        token,
        ca_file: config.ca_file.clone(),
        allow_insecure_remote: config.allow_insecure_remote,
        command_timeout: config.command_timeout(),
        audio_in: None,
    };
    let outcome = runtime()?.block_on(check_server(options));
    let label = server_label(&server);
    match outcome {
        Ok(hello) => {
            verdict("server", Ok(format!("{label} answers: {}", hello.server)));
            let teams = hello.supervisor.teams.join(", ");
            verdict("login", Ok(format!("{} ({teams})", hello.supervisor.name)));
        }
        Err(err) => verdict("server", Err(format!("{label}: {err}"))),
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn check_server(options: FeedOptions) -> Result<floorwalk::protocol::Hello, String> {
    let (handle, mut events) = feed::spawn(options).map_err(|e| e.to_string())?;
    let deadline = tokio::time::sleep(Duration::from_secs(8));
    tokio::pin!(deadline);
    let outcome = loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(FeedEvent::Connected { hello, .. }) => break Ok(hello),
                Some(FeedEvent::Fatal(text)) => break Err(text),
                Some(FeedEvent::Connecting { attempt, last_error: Some(err), .. }) if attempt >= 2 => {
                    break Err(err)
                }
                Some(_) => {}
                None => break Err("the connection stopped".into()),
            },
            _ = &mut deadline => break Err("no answer within 8 s".into()),
        }
    };
    handle.shutdown();
    outcome
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Logs go to a file, never to the screen the console draws on.
fn init_logging(config: &Config) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    let path = match &config.log_file {
        Some(path) => path.clone(),
        None => directories::ProjectDirs::from("", "", "floorwalk")
            .map(|dirs| dirs.data_dir().join("floorwalk.log"))
            .ok_or_else(|| anyhow!("no data directory for the log file: set `log_file`"))?,
    };
    let file = open_private_append(&path)
        .with_context(|| format!("cannot open the log file {}", path.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(writer)
        .with_ansi(false)
        .init();
    Ok(guard)
}

fn init_stderr_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(std::io::stderr)
        .init();
}

/// `FLOORWALK_LOG` (default `info`), never tracing the transport, whose
/// trace output would include the token.
fn log_filter() -> tracing_subscriber::EnvFilter {
    let wanted = std::env::var("FLOORWALK_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::EnvFilter::try_new(format!("{wanted},{}", feed::QUIET_TRANSPORT_LOGS))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

fn open_private_append(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}
