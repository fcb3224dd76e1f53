//! The `bgp-client` command line.
//!
//! ```text
//! bgp-client run --config FILE [--log-level FILTER]
//! bgp-client check --config FILE
//! ```
//!
//! `run` stops cleanly on SIGTERM or SIGINT: advertised routes are
//! withdrawn, sessions closed with Cease, and installed routes removed if
//! `install.remove_on_stop` says so.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};

use bgp_client::agent::Agent;
use bgp_client::config::{self, LoadError};

#[derive(Debug, Parser)]
#[command(
    name = "bgp-client",
    version,
    about = "Reflex node agent: kernel routes to the route reflectors and back"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the agent.
    Run {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// Log filter (`info`, `bgp_client=debug`, ...); RUST_LOG wins.
        #[arg(long, default_value = "info")]
        log_level: String,
    },
    /// Check a configuration file; exit status 1 if it has errors.
    Check {
        /// The file.
        #[arg(long, short)]
        config: PathBuf,
    },
}

fn load(path: &Path) -> Result<config::Checked, ExitCode> {
    match config::load(path) {
        Ok(checked) => {
            eprint!("{}", checked.report);
            Ok(checked)
        }
        Err(LoadError::Invalid(report)) => {
            eprint!("{report}");
            Err(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("{e}");
            Err(ExitCode::FAILURE)
        }
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Check { config } => match load(&config) {
            Ok(checked) => {
                println!(
                    "{}: ok ({} reflectors, {} export rules)",
                    config.display(),
                    checked.config.reflectors.len(),
                    checked.config.export.rules.len()
                );
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Run { config, log_level } => {
            let checked = match load(&config) {
                Ok(checked) => checked,
                Err(code) => return code,
            };
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(log_level));
            tracing_subscriber::fmt().with_env_filter(filter).init();
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime,
                Err(e) => {
                    eprintln!("cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            runtime.block_on(run(checked.config))
        }
    }
}

async fn run(config: bgp_client::agent::AgentConfig) -> ExitCode {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        eprintln!("cannot install signal handlers");
        return ExitCode::FAILURE;
    };
    let mut agent = match Agent::start(config).await {
        Ok(agent) => agent,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        result = agent.finished() => {
            tracing::error!(result = ?result, "the agent stopped by itself");
            return ExitCode::FAILURE;
        }
    }
    tracing::info!("stopping");
    match agent.stop().await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "stopped with an error");
            ExitCode::FAILURE
        }
    }
}
