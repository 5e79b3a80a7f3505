//! The `floorwalk` command line.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cli;

#[derive(Parser)]
#[command(
    name = "floorwalk",
    version,
    about = "Terminal console for contact-center supervisors"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the built-in simulator on loopback and the console against it.
    Demo(cli::DemoArgs),
    /// Run the console against a protocol-v1 server. The token comes from
    /// FLOORWALK_TOKEN, `token_file` or `token_command` in the config, never
    /// from an argument.
    Console(cli::ConsoleArgs),
    /// Run the simulator as a standalone server.
    Sim(cli::SimArgs),
    /// Serve protocol v1 from a real Asterisk, through ARI. The ARI password
    /// comes from FLOORWALK_ARI_PASSWORD, `ari_password_file` or
    /// `ari_password_command` in [gateway], never from an argument.
    Gateway(cli::GatewayArgs),
    /// Summarise the audit journal, or the server's records (--records),
    /// for quality teams.
    Report(cli::ReportOptions),
    /// The server's records of supervisor presence: retention.
    #[command(subcommand)]
    Records(cli::RecordsCommand),
    /// List audio output and input devices.
    Devices,
    /// Check the server, the token and audio, one by one, with a verdict each.
    Doctor(cli::DoctorArgs),
    /// Join calls in each mode, leave them, and measure the server: reply
    /// times, how long after the key the leg and its audio go, the
    /// microphone, recording, and its clock; keeps a calibration for
    /// `report --calibration`.
    Calibrate(cli::CalibrateArgs),
    /// On your own machine: play and capture the audio of a console that
    /// runs on a jump host, through your SSH connection (docs/jump-host.md).
    Companion(cli::CompanionArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Demo(args) => cli::demo(args),
        Command::Console(args) => cli::console(args),
        Command::Sim(args) => cli::sim(args),
        Command::Gateway(args) => cli::gateway(args),
        Command::Report(args) => cli::report(&args),
        Command::Records(command) => cli::records(&command),
        Command::Devices => cli::devices(),
        Command::Doctor(args) => cli::doctor(args),
        Command::Calibrate(args) => cli::calibrate(args),
        Command::Companion(args) => cli::companion(args),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            floorwalk_console::runtime::restore_terminal();
            eprintln!("floorwalk: {err:#}");
            ExitCode::from(2)
        }
    }
}
