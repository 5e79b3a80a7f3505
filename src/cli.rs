//! What each subcommand does: load configuration, set up logging, start the
//! pieces and run them. Kept out of `main.rs` so `main` is only the parser.

mod calibrate;
mod companion;
mod doctor;
mod gateway;
mod records;

pub use calibrate::{CalibrateArgs, calibrate};
pub use companion::{CompanionArgs, companion};
pub use doctor::{DoctorArgs, doctor};
pub use gateway::{GatewayArgs, gateway};
pub use records::{RecordsCommand, ReportOptions, records, report};

use anyhow::{Context as _, anyhow};
use clap::Args;
use floorwalk_audio as audio;
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::ptt::PttConfig;
use floorwalk_console::app;
use floorwalk_console::audit::{self, Journal};
use floorwalk_console::config::{Config, Secret};
use floorwalk_console::feed::FeedOptions;
use floorwalk_console::runtime::{self, ConsoleOptions, Exit};
use floorwalk_server as server;
use floorwalk_sim as sim;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{FilterExt as _, filter_fn};
use tracing_subscriber::layer::Filter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

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
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    audio: AudioArgs,
}

/// Which server and which configuration file: one declaration, so
/// `console` and `doctor` describe them alike.
#[derive(Args)]
pub struct ServerArgs {
    /// The server, e.g. wss://cc.example.com/v1/supervisor (or `server` in the config).
    #[arg(long)]
    server: Option<String>,
    /// The configuration file (default: the platform config dir's floorwalk/config.toml).
    #[arg(long)]
    config: Option<PathBuf>,
}

impl ServerArgs {
    /// The configuration: `--config`, else the default file, else defaults.
    fn load_config(&self) -> Result<Config, floorwalk_console::config::ConfigError> {
        Config::load(self.config.as_deref())
    }

    /// The server: the command line, else the config.
    fn url(&self, config: &Config) -> Option<String> {
        self.server.clone().or_else(|| config.server.clone())
    }
}

#[derive(Args)]
pub struct AudioArgs {
    /// Where call audio plays: none, default, device:NAME (see `floorwalk
    /// devices`) or wav:PATH (default: `[audio] output` in the config).
    #[arg(long, value_name = "none|default|device:NAME|wav:PATH")]
    audio_out: Option<Endpoint>,
    /// Where the microphone comes from: none, default, device:NAME or
    /// wav:PATH, a file played in a loop (default: `[audio] input`).
    #[arg(long, value_name = "none|default|device:NAME|wav:PATH")]
    audio_in: Option<Endpoint>,
}

impl AudioArgs {
    /// The output and the input: the command line, else the config.
    fn endpoints(&self, config: &Config) -> (Endpoint, Endpoint) {
        (
            self.audio_out
                .clone()
                .unwrap_or_else(|| config.audio.output.clone()),
            self.audio_in
                .clone()
                .unwrap_or_else(|| config.audio.input.clone()),
        )
    }
}

#[derive(Args)]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free port. Loopback only,
    /// unless --tls-cert and --tls-key are given.
    #[arg(long)]
    listen: SocketAddr,
    #[command(flatten)]
    tls: TlsArgs,
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
    /// Impair downstream audio, seeded, for tests: e.g.
    /// `drop=0.05,reorder=0.02,delay=40,jitter=30,seed=7`.
    #[arg(long, default_value = "none")]
    impair: server::Impairment,
    /// How many times faster than a real floor calls, waits and breaks go
    /// by (for load tests); the clock stays real.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// How long the simulated carrier takes to release a leg after a
    /// disconnect, in ms, optionally give or take a jitter: e.g. `300,20`.
    /// The leg hears the call until then (what `calibrate` measures).
    #[arg(long, value_name = "MS[,JITTER]", default_value = "0")]
    vendor_delay: sim::VendorDelay,
    /// Names this server in the records (letters, digits, `-`, `_`, `.`):
    /// unique per records database, the same across its restarts.
    #[arg(long, default_value = "sim")]
    name: String,
    #[command(flatten)]
    records: records::RecordsArg,
    /// The configuration file, for [records] (default: the platform config
    /// dir's floorwalk/config.toml).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// The certificate and key a server serves `wss://` with: one declaration
/// for every subcommand that serves consoles.
#[derive(Args)]
pub struct TlsArgs {
    /// PEM file of the server's certificate chain, to serve wss:// (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM file of the certificate's private key (with --tls-cert).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl TlsArgs {
    /// The server's TLS files; `None` (plain ws://) when neither is given.
    fn files(&self) -> Option<server::TlsFiles> {
        let (cert_chain, private_key) = (self.tls_cert.clone()?, self.tls_key.clone()?);
        Some(server::TlsFiles {
            cert_chain,
            private_key,
        })
    }
}

pub fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(None).context("cannot load the configuration")?;
    let _log = init_logging(&config)?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let accounts = server::demo_accounts();
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
        let audit_dir = audit::demo_dir();
        let outcome = run_console(&config, simulator.url(), token, audit_dir, &args.audio).await;
        simulator.shutdown().await;
        outcome
    })
}

pub fn console(args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    let config = args.server.load_config()?;
    let _log = init_logging(&config)?;
    let server = args
        .server
        .url(&config)
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
    let (output, input) = audio.endpoints(config);
    let ptt = PttConfig {
        setting: config.ptt.mode,
        max_talk: config.ptt.max_talk(),
        ..PttConfig::default()
    };
    let settings = app::AppSettings {
        keymap,
        reveal_customer_numbers: config.reveal_customer_numbers,
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        server_label: server_label(&url),
        audio_output: output.clone(),
        audio_input: input.clone(),
        ptt,
        rotation: app::RotationSettings {
            dwell: config.rotation.dwell(),
            skip_occupied: config.rotation.skip_occupied,
            min_call_age: config.rotation.min_call_age(),
            skip_left_within: config.rotation.skip_left_within(),
            agents: config.rotation.agents.clone(),
        },
        compliance: config.compliance.clone(),
    };
    let feed = feed_options(config, url, token);
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
        audio: audio::engine::AudioConfig {
            output,
            input,
            ..audio::engine::AudioConfig::default()
        },
        companion_key_file: config.audio.companion_key_file.clone(),
    };
    let exit = runtime::run(options).await?;
    tracing::info!(?exit, "console stopped");
    Ok(match exit {
        Exit::Quit => ExitCode::SUCCESS,
        Exit::Signal(_) => ExitCode::from(130),
    })
}

/// How to reach the server, from the config. The console adds its audio
/// paths; `doctor` sends its test tone without them.
fn feed_options(config: &Config, url: String, token: Secret) -> FeedOptions {
    FeedOptions {
        url,
        token,
        ca_file: config.ca_file.clone(),
        allow_insecure_remote: config.allow_insecure_remote,
        command_timeout: config.command_timeout(),
        audio_in: None,
        audio_gate: None,
    }
}

/// The server URL as shown on screen and in logs: scheme, host and port only.
fn server_label(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    host.rsplit('@').next().unwrap_or(host).to_owned()
}

pub fn sim(args: SimArgs) -> anyhow::Result<ExitCode> {
    init_stderr_logging();
    let config = Config::load(args.config.as_deref())?;
    let keeper = args.records.keeper(&config, &args.name)?;
    let accounts = match &args.tokens {
        Some(path) => server::load_accounts(path)?,
        None => server::demo_accounts(),
    };
    let options = sim::SimOptions {
        listen: args.listen,
        tls: args.tls.files(),
        agents: args.agents,
        seed: args.seed,
        accounts,
        lease_ms: args.lease_ms,
        // Several pings fit in a lease, so a console that only answers pings
        // keeps its legs.
        heartbeat_ms: (args.lease_ms / 3).clamp(10, 5_000),
        record_dir: args.record_dir,
        min_call_secs: args.min_call_secs,
        impair: args.impair,
        speed: args.speed,
        vendor_delay: args.vendor_delay,
        records: Some(keeper.clone()),
    };
    let outcome = runtime()?.block_on(async {
        let simulator = sim::start(options)
            .await
            .context("cannot start the simulator")?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "listening on {}", simulator.url())?;
        stdout.flush()?;
        wait_for_stop().await;
        simulator.shutdown().await;
        Ok(ExitCode::SUCCESS)
    });
    // What is queued is committed (or kept on disk) before the process ends.
    keeper.close();
    outcome
}

/// Lists the audio outputs and inputs, as `device:NAME` takes them.
pub fn devices() -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{}", devices_text(&audio::list_devices()))?;
    Ok(ExitCode::SUCCESS)
}

fn devices_text(list: &audio::DeviceList) -> String {
    let mut text = String::new();
    for (title, wanted) in [("Outputs", true), ("Inputs", false)] {
        let devices: Vec<&audio::DeviceInfo> = list
            .devices
            .iter()
            .filter(|d| if wanted { d.output } else { d.input })
            .collect();
        text.push_str(&format!(
            "{title} (--audio-{}):\n",
            if wanted { "out" } else { "in" }
        ));
        if devices.is_empty() {
            text.push_str("  (none)\n");
        }
        for device in devices {
            let default = if wanted {
                device.default_output
            } else {
                device.default_input
            };
            let mark = if default { "  [default]" } else { "" };
            let name = format!("device:{}", device.name);
            text.push_str(&format!("  {name:<32} {}{mark}\n", device.description));
        }
    }
    if let Some(note) = &list.note {
        text.push_str(&format!(
            "\nNo audio devices: {note}. floorwalk still runs: use --audio-out none or wav:PATH.\n"
        ));
    }
    text
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
        None => floorwalk_console::config::data_dir()
            .map(|dir| dir.join("floorwalk.log"))
            .ok_or_else(|| anyhow!("no data directory for the log file: set `log_file`"))?,
    };
    let file = open_private_append(&path)
        .with_context(|| format!("cannot open the log file {}", path.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_filter(log_filter());
    tracing_subscriber::registry().with(layer).init();
    Ok(guard)
}

fn init_stderr_logging() {
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(log_filter());
    tracing_subscriber::registry().with(layer).init();
}

/// `FLOORWALK_LOG` (default `info`), never tracing the transport, whose
/// trace output would include the token. The cap is a filter of its own,
/// not a directive added to the user's: a directive loses to a more
/// specific one (`tungstenite::handshake=trace`), and would also turn the
/// transport's debug logs on when the user asked for less.
fn log_filter<S>() -> impl Filter<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let wanted = std::env::var("FLOORWALK_LOG").unwrap_or_else(|_| "info".into());
    let filter = tracing_subscriber::EnvFilter::try_new(wanted)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    filter.and(filter_fn(|meta| !is_transport_trace(meta)))
}

/// A `trace` event of the WebSocket crates, which log the raw upgrade
/// request, `Authorization` header and all, at that level.
fn is_transport_trace(meta: &tracing::Metadata<'_>) -> bool {
    *meta.level() == tracing::Level::TRACE
        && ["tungstenite", "tokio_tungstenite"].iter().any(|name| {
            meta.target()
                .strip_prefix(name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use floorwalk_audio::{DeviceInfo, DeviceList};

    #[test]
    fn devices_are_listed_as_endpoints_with_the_defaults_marked() {
        let device = |name: &str, output, input, default| DeviceInfo {
            name: name.into(),
            description: format!("{name} card"),
            output,
            input,
            default_output: default && output,
            default_input: default && input,
        };
        let list = DeviceList {
            devices: vec![
                device("default", true, true, true),
                device("hw:1,0", true, false, false),
            ],
            note: None,
        };
        let text = devices_text(&list);
        assert!(text.starts_with("Outputs (--audio-out):\n"), "{text}");
        assert!(text.contains("  device:default"), "{text}");
        assert!(text.contains("default card  [default]"), "{text}");
        assert!(text.contains("device:hw:1,0"), "{text}");
        let inputs = text.split("Inputs").nth(1).unwrap();
        assert!(!inputs.contains("hw:1,0"), "{text}");
    }

    #[test]
    fn no_devices_says_why_and_what_still_works() {
        let list = DeviceList {
            devices: Vec::new(),
            note: Some("no audio system: ALSA is missing".into()),
        };
        let text = devices_text(&list);
        for said in [
            "(none)",
            "No audio devices: no audio system: ALSA is missing.",
            "--audio-out none or wav:PATH",
        ] {
            assert!(text.contains(said), "{said:?} is not in {text}");
        }
    }

    #[test]
    fn server_labels_hide_paths_and_credentials() {
        assert_eq!(
            server_label("wss://user@cc.example.com:443/v1/supervisor"),
            "cc.example.com:443"
        );
        assert_eq!(server_label("ws://127.0.0.1:7700"), "127.0.0.1:7700");
    }
}
