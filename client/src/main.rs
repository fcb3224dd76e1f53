//! The `bgp-client` command line.
//!
//! ```text
//! bgp-client run --config FILE [--api ADDR:PORT] [--log-format text|json] [--log-level FILTER]
//!                [--datastore etcd --etcd-endpoints URLS] [--node NAME]
//! bgp-client run --datastore etcd --etcd-endpoints URLS --node NAME [...]
//! bgp-client check --config FILE
//! bgp-client neighbors [ADDRESS] [--api ADDR:PORT] [--json]
//! bgp-client routes [--prefix P] [--family ipv4|ipv6] [--api ADDR:PORT] [--json]
//! bgp-client kernel [--all] [--prefix P] [--api ADDR:PORT] [--json]
//! bgp-client status|reload [--api ADDR:PORT] [--json]
//! ```
//!
//! `run` stops cleanly on SIGTERM or SIGINT: advertised routes are
//! withdrawn, sessions closed with Cease, and installed routes removed if
//! `install.remove_on_stop` says so. SIGHUP re-reads the file.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::de::DeserializeOwned;
use tokio::signal::unix::{SignalKind, signal};

use bgp_client::api::types::{KernelRoute, Neighbor, ReloadResult, Route, Status};
use bgp_client::cli::http::{self, ClientError};
use bgp_client::config::schema::{DEFAULT_API, DatastoreKind, LogFormat};
use bgp_client::config::{self, LoadError, Overrides};
use bgp_client::daemon::Daemon;
use bgp_client::{cli, logging};

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
        /// The configuration file (optional with --datastore and --node).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Take the reflectors and export pools from a datastore (replaces [datastore] type).
        #[arg(long, value_enum)]
        datastore: Option<DatastoreArg>,
        /// etcd client URLs, comma-separated (replaces [datastore] endpoints).
        #[arg(long, value_delimiter = ',', value_name = "URLS")]
        etcd_endpoints: Vec<String>,
        /// The node's name (replaces [node] name): its Node resource.
        #[arg(long)]
        node: Option<String>,
        /// The operations API's address instead of [api] listen (default 127.0.0.1:9180).
        #[arg(long, value_name = "ADDR:PORT")]
        api: Option<SocketAddr>,
        /// Log format instead of [logging] format.
        #[arg(long, value_enum)]
        log_format: Option<LogFormatArg>,
        /// Log filter (`info`, `bgp_client=debug`, ...); wins over RUST_LOG and [logging] level.
        #[arg(long)]
        log_level: Option<String>,
    },
    /// Check a configuration file; exit status 1 if it has errors.
    Check {
        /// The file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Show the reflector sessions.
    Neighbors {
        /// Only this reflector.
        address: Option<IpAddr>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show the routes learned from the reflectors and what is installed.
    Routes {
        /// One prefix, e.g. 10.65.1.0/26.
        #[arg(long)]
        prefix: Option<String>,
        /// ipv4 or ipv6 (both if omitted).
        #[arg(long)]
        family: Option<String>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show the kernel routes being advertised and the rule that selected each.
    Kernel {
        /// Every route read from the kernel, with why it is not advertised.
        #[arg(long)]
        all: bool,
        /// One prefix.
        #[arg(long)]
        prefix: Option<String>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show a summary of the agent.
    Status {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Make the running agent re-read its configuration file (as SIGHUP).
    Reload {
        #[command(flatten)]
        api: ApiArgs,
    },
}

#[derive(Debug, Args)]
struct ApiArgs {
    /// The agent's operations API.
    #[arg(long, default_value_t = DEFAULT_API)]
    api: SocketAddr,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DatastoreArg {
    Etcd,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

fn load(path: &Path) -> Result<config::Checked, ExitCode> {
    load_with(path, &Overrides::default())
}

fn load_with(path: &Path, overrides: &Overrides) -> Result<config::Checked, ExitCode> {
    match config::load_with(path, overrides) {
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

fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", http::encode_query(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Check { config } => match load(&config) {
            Ok(checked) => {
                let datastore = if checked.file.datastore.is_some() {
                    " and the datastore's; pools from the datastore"
                } else {
                    ""
                };
                println!(
                    "{}: ok ({} reflectors{datastore}, {} export rules)",
                    config.display(),
                    checked.config.reflectors.len(),
                    checked.config.export.rules.len()
                );
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Run {
            config,
            datastore,
            etcd_endpoints,
            node,
            api,
            log_format,
            log_level,
        } => {
            let overrides = Overrides {
                node,
                datastore: datastore.map(|DatastoreArg::Etcd| DatastoreKind::Etcd),
                etcd_endpoints,
            };
            run(config, overrides, api, log_format, log_level)
        }
        Command::Neighbors { address, api } => match address {
            Some(address) => show(
                &api,
                "GET",
                &format!("/api/v1/neighbors/{address}"),
                |n: Neighbor| cli::neighbors_table(&[n]),
            ),
            None => show(&api, "GET", "/api/v1/neighbors", |n: Vec<Neighbor>| {
                cli::neighbors_table(&n)
            }),
        },
        Command::Routes {
            prefix,
            family,
            api,
        } => {
            let q = query(&[("family", family.as_deref()), ("prefix", prefix.as_deref())]);
            show(
                &api,
                "GET",
                &format!("/api/v1/routes{q}"),
                |r: Vec<Route>| cli::routes_table(&r),
            )
        }
        Command::Kernel { all, prefix, api } => {
            let q = query(&[
                ("all", all.then_some("true")),
                ("prefix", prefix.as_deref()),
            ]);
            show(
                &api,
                "GET",
                &format!("/api/v1/kernel{q}"),
                |k: Vec<KernelRoute>| cli::kernel_table(&k),
            )
        }
        Command::Status { api } => show(&api, "GET", "/api/v1/status", |s: Status| {
            cli::status_text(&s)
        }),
        Command::Reload { api } => show(&api, "POST", "/api/v1/reload", |r: ReloadResult| {
            cli::reload_text(&r)
        }),
    }
}

/// Call the API and print its answer as a table (or its JSON with --json).
fn show<T: DeserializeOwned>(
    api: &ApiArgs,
    method: &str,
    path: &str,
    table: impl FnOnce(T) -> String,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bgp-client: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime
        .block_on(http::request(api.api, method, path))
        .and_then(|body| {
            let document: T = serde_json::from_slice(&body)?;
            Ok((body, document))
        });
    match result {
        Ok((body, _)) if api.json => {
            println!("{}", String::from_utf8_lossy(&body));
            ExitCode::SUCCESS
        }
        Ok((_, document)) => {
            print!("{}", table(document));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("bgp-client: {error}");
            if let ClientError::Status { findings, .. } = &error {
                for finding in findings {
                    eprintln!("{}", finding.text);
                }
            }
            ExitCode::FAILURE
        }
    }
}

fn run(
    path: Option<PathBuf>,
    overrides: Overrides,
    api: Option<SocketAddr>,
    log_format: Option<LogFormatArg>,
    log_level: Option<String>,
) -> ExitCode {
    let loaded = match &path {
        Some(path) => load_with(path, &overrides),
        None => overrides.checked().map_err(|report| {
            eprint!("{report}");
            ExitCode::FAILURE
        }),
    };
    let checked = match loaded {
        Ok(checked) => checked,
        Err(code) => return code,
    };
    let file_logging = &checked.file.logging;
    let format = match log_format {
        Some(LogFormatArg::Text) => LogFormat::Text,
        Some(LogFormatArg::Json) => LogFormat::Json,
        None => file_logging.format.unwrap_or_default(),
    };
    let env = std::env::var("RUST_LOG").ok();
    let filter = logging::choose_filter(
        log_level.as_deref(),
        env.as_deref(),
        file_logging.level.as_deref(),
    );
    if let Err(e) = logging::init(format, &filter) {
        eprintln!("bgp-client: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bgp-client: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            eprintln!("bgp-client: cannot install signal handlers");
            return ExitCode::FAILURE;
        };
        let daemon = match Daemon::start(path, checked, api, overrides).await {
            Ok(daemon) => daemon,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                return ExitCode::FAILURE;
            }
        };
        let shutdown = async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
            }
        };
        match daemon.serve(shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "stopped with an error");
                ExitCode::FAILURE
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
