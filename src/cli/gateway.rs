//! `floorwalk gateway`: serves protocol v1 from a real Asterisk.

use super::{TlsArgs, init_stderr_logging, runtime, wait_for_stop};
use anyhow::{Context as _, anyhow, bail};
use clap::Args;
use floorwalk_console::config::{Config, ENV_ARI_PASSWORD, Secret};
use floorwalk_gateway::{self as gateway, GatewayOptions, ari::AriAccess, model::Marks};
use floorwalk_server as server;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct GatewayArgs {
    /// Where consoles connect, e.g. 127.0.0.1:8765 (or `[gateway] listen`).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// ARI's URL, e.g. http://127.0.0.1:8088/ari (or `[gateway] ari`).
    #[arg(long)]
    ari: Option<String>,
    /// The ARI user (ari.conf); the password comes from FLOORWALK_ARI_PASSWORD,
    /// `ari_password_file` or `ari_password_command`, never an argument.
    #[arg(long)]
    ari_user: Option<String>,
    /// TOML file of `[[supervisor]]` tables (token, id, name, teams, can_end_calls).
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// TOML file of `[[agent]]` and `[[queue]]` tables (names, teams, endpoints).
    #[arg(long)]
    roster: Option<PathBuf>,
    /// How long a console may be gone before its legs are removed.
    #[arg(long)]
    lease_ms: Option<u64>,
    /// Names this gateway on Asterisk (its ARI application and objects).
    #[arg(long)]
    name: Option<String>,
    /// The configuration file (default: the platform config dir's floorwalk/config.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    tls: TlsArgs,
    #[command(flatten)]
    records: super::records::RecordsArg,
}

const DEFAULT_LEASE_MS: u64 = 15_000;
const DEFAULT_NAME: &str = "gw";

pub fn gateway(args: GatewayArgs) -> anyhow::Result<ExitCode> {
    init_stderr_logging();
    let config = Config::load(args.config.as_deref())?;
    let section = &config.gateway;
    let listen = args.listen.or(section.listen).ok_or_else(|| {
        anyhow!("no address to listen on: pass --listen ADDR, or set `listen` in [gateway]")
    })?;
    let url = args
        .ari
        .clone()
        .or_else(|| section.ari.clone())
        .ok_or_else(|| {
            anyhow!(
                "no ARI: pass --ari URL (e.g. http://127.0.0.1:8088/ari), or set `ari` in [gateway]"
            )
        })?;
    let url = check_ari_url(&url)?;
    let user = args
        .ari_user
        .clone()
        .or_else(|| section.ari_user.clone())
        .ok_or_else(|| {
            anyhow!("no ARI user: pass --ari-user USER, or set `ari_user` in [gateway]")
        })?;
    let env_password = std::env::var(ENV_ARI_PASSWORD)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| Secret::new(v.trim()));
    let password = config.resolve_ari_password(env_password)?;
    let tokens = args.tokens.clone().or_else(|| section.tokens.clone()).ok_or_else(|| {
        anyhow!("no supervisors: pass --tokens FILE, or set `tokens` in [gateway] (the same file as `sim --tokens`)")
    })?;
    let accounts = server::load_accounts(&tokens)?;
    let roster = match args.roster.as_ref().or(section.roster.as_ref()) {
        Some(path) => gateway::roster::Roster::load(path)?,
        None => gateway::roster::Roster::default(),
    };
    let lease_ms = args
        .lease_ms
        .or(section.lease_ms)
        .unwrap_or(DEFAULT_LEASE_MS);
    let name = args
        .name
        .clone()
        .or_else(|| section.name.clone())
        .unwrap_or_else(|| DEFAULT_NAME.to_owned());
    // No dashes: `gw` would otherwise take `gw-2`'s objects for its own.
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        bail!("the gateway's name must be letters and digits, not `{name}`");
    }
    let keeper = args.records.keeper(&config, &name)?;
    let tls = args.tls.files().or_else(|| {
        Some(server::TlsFiles {
            cert_chain: section.tls_cert.clone()?,
            private_key: section.tls_key.clone()?,
        })
    });
    if tls.is_none() && (section.tls_cert.is_some() != section.tls_key.is_some()) {
        bail!("[gateway] needs both tls_cert and tls_key, or neither");
    }
    let defaults = Marks::default();
    let vars = &section.variables;
    let pick =
        |set: &Option<String>, default: &str| set.clone().unwrap_or_else(|| default.to_owned());
    let marks = Marks {
        role: pick(&vars.role, &defaults.role),
        agent: pick(&vars.agent, &defaults.agent),
        team: pick(&vars.team, &defaults.team),
        queue: pick(&vars.queue, &defaults.queue),
        recording: pick(&vars.recording, &defaults.recording),
        default_team: pick(&section.default_team, &defaults.default_team),
        sla_secs: section.sla_secs.unwrap_or(defaults.sla_secs),
    };
    let options = GatewayOptions {
        ari: AriAccess {
            url,
            user,
            password: password.expose().to_owned(),
        },
        identity: gateway::Identity {
            notice_sound: section
                .notice_sound
                .clone()
                .unwrap_or_else(|| gateway::DEFAULT_NOTICE_SOUND.to_owned()),
            ..GatewayOptions::identity(&name)
        },
        marks,
        roster,
        server: server::ServerOptions {
            listen,
            accounts,
            lease_ms,
            // Several pings fit in a lease, so a console that only answers
            // pings keeps its legs.
            heartbeat_ms: (lease_ms / 3).clamp(10, 5_000),
            tls,
            records: Some(keeper.clone()),
            ..server::ServerOptions::default()
        },
    };
    let outcome = runtime()?.block_on(async {
        let handle = gateway::start(options)
            .await
            .context("cannot start the gateway")?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "listening on {}", handle.url())?;
        stdout.flush()?;
        wait_for_stop().await;
        handle.shutdown().await;
        Ok(ExitCode::SUCCESS)
    });
    // What is queued is committed (or kept on disk) before the process ends.
    keeper.close();
    outcome
}

/// ARI's URL, without a trailing slash. Plain http carries the ARI
/// password and every call's audio in the clear, so it must stay on this
/// machine.
fn check_ari_url(url: &str) -> anyhow::Result<String> {
    let url = url.trim().trim_end_matches('/');
    let Some(rest) = url.strip_prefix("http://") else {
        bail!(
            "the ARI URL must be http://HOST:PORT/ari on this machine (loopback), not `{url}`: the gateway runs beside Asterisk"
        );
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!(
            "ARI at `{url}` is not on this machine: plain http would carry the ARI password and the calls' audio across the network; run the gateway on the Asterisk host and use http://127.0.0.1:PORT/ari"
        );
    }
    if !url.ends_with("/ari") {
        bail!("the ARI URL must end in /ari (e.g. http://127.0.0.1:8088/ari), not `{url}`");
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::check_ari_url;

    #[test]
    fn ari_must_be_local_plain_http_ending_in_ari() {
        assert_eq!(
            check_ari_url("http://127.0.0.1:8088/ari/").unwrap(),
            "http://127.0.0.1:8088/ari"
        );
        assert!(check_ari_url("http://[::1]:8088/ari").is_ok());
        assert!(check_ari_url("http://localhost:8088/ari").is_ok());
        for (url, why) in [
            ("http://10.0.0.5:8088/ari", "not on this machine"),
            ("https://pbx.example.com/ari", "must be http://"),
            ("http://127.0.0.1:8088/", "must end in /ari"),
        ] {
            let err = check_ari_url(url).unwrap_err().to_string();
            assert!(err.contains(why), "{url}: {err}");
        }
    }
}
