//! `tillpilot`: parse the command line, set up logging, and hand over to the library.

use clap::Parser;
use std::process::ExitCode;
use tillpilot::cli::{Cli, Command};

fn main() -> ExitCode {
    tillpilot::telemetry::install_crypto();
    let cli = Cli::parse();
    let level = match cli.command {
        Command::Run => "info",
        _ => "warn",
    };
    tillpilot::telemetry::init(level);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(tillpilot::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            err.exit_code()
        }
    }
}
