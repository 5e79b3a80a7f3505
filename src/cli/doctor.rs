//! `floorwalk doctor`: the token, the server, the audio output and input,
//! and a round trip through the server, each checked with a verdict.
//!
//! The round trip joins a call of the supervisor's teams in whisper, sends
//! one second of a 1 kHz tone on the leg, and leaves. Whether the agent
//! heard it can only be seen where the server records what each party
//! heard: the floorwalk simulator started with `--record-dir DIR` writes
//! `DIR/<call_id>-agent.wav` and `DIR/<call_id>-customer.wav` (48 kHz mono
//! 16-bit). With the same `--record-dir DIR` here, the tone is looked for
//! in the agent's file, and must be absent from the customer's.
//!
//! The exit code is 1 when a check failed: no token, no server, a refused
//! login, a round trip that went wrong. Audio that cannot be used is a
//! warning, as the console runs on without it.

#[cfg(unix)]
mod companion;
mod input;
mod output;
mod recording;
mod round_trip;
pub(super) mod server;
pub(super) mod token;
mod tone;
pub(super) mod verdict;

use super::{AudioArgs, ServerArgs, runtime};
use clap::Args;
use floorwalk_audio::endpoint::Endpoint;
use std::path::PathBuf;
use std::process::ExitCode;
use verdict::{Report, Verdict};

#[derive(Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    audio: AudioArgs,
    /// The simulator's --record-dir: the round trip then checks that the
    /// agent heard the test tone and the customer did not.
    #[arg(long, value_name = "DIR")]
    record_dir: Option<PathBuf>,
}

pub fn doctor(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let config = args.server.load_config()?;
    let mut report = Report::default();
    for warning in config.warnings() {
        report.say("config", Verdict::Warning(warning.clone()));
    }
    let (verdict, token) = token::check_token(&config);
    report.say("token", verdict);
    let connection = match server::options(&config, args.server.url(&config), token) {
        Ok(options) => Some(options),
        Err(verdict) => {
            report.say("server", verdict);
            None
        }
    };
    let (output, input) = args.audio.endpoints(&config);
    runtime()?.block_on(async {
        let feed = match connection {
            Some(options) => server::connect(options, &mut report).await,
            None => None,
        };
        let (output_verdict, input_verdict) = match &output {
            #[cfg(unix)]
            Endpoint::Companion(path) => {
                let microphone = input != Endpoint::None;
                let (out, mic) = companion::check_companion(path, microphone, &config).await;
                (out, mic.unwrap_or_else(|| input::check_input(&input)))
            }
            _ => (output::check_output(&output), input::check_input(&input)),
        };
        report.say("output", output_verdict);
        report.say("input", input_verdict);
        let verdict = match feed {
            Some((handle, mut events, hello)) => {
                let record_dir = args.record_dir.as_deref();
                let verdict =
                    round_trip::round_trip(&handle, &mut events, &hello, record_dir).await;
                handle.shutdown();
                verdict
            }
            None => Verdict::Unverified("no connection to the server".into()),
        };
        report.say("round trip", verdict);
    });
    Ok(if report.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
