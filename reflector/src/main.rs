//! The `bgp-reflector` command line.
//!
//! ```text
//! bgp-reflector run [--config FILE] [--listen ADDR:PORT]... [--api ADDR:PORT]
//!                   [--router-id ID] [--log-format text|json] [--log-level FILTER]
//!                   [--datastore none|etcd] [--node NAME] [ETCD]
//! bgp-reflector datastore apply -f FILE [--config FILE] [ETCD]
//! bgp-reflector datastore get KIND [--config FILE] [ETCD]
//! bgp-reflector datastore status [NODE] [--json] [--config FILE] [ETCD]
//!
//! ETCD: [--etcd-endpoints URL[,URL]...] [--etcd-ca-cert-file PEM]
//!       [--etcd-cert-file PEM --etcd-key-file PEM] [--etcd-username USER]
//!       (the password from ETCD_PASSWORD)
//! bgp-reflector check [--config FILE]
//! bgp-reflector neighbors [ADDRESS] [--api ADDR:PORT] [--json]
//! bgp-reflector routes [--prefix P] [--family ipv4|ipv6] [--api ADDR:PORT] [--json]
//! bgp-reflector summary|groups|reload [--api ADDR:PORT] [--json]
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use bgp_reflector::api::types::{Group, Neighbor, ReloadResult, Route, Summary};
use bgp_reflector::client::{self, ClientError};
use bgp_reflector::config::LoadError;
use bgp_reflector::config::schema::{DEFAULT_API, DatastoreType, LogFormat};
use bgp_reflector::datastore::{DatastoreOverrides, settings};
use bgp_reflector::{ConfigSource, DaemonConfig, Overrides, cli, logging};
use reflex_datastore::cli as ds_cli;

#[derive(Debug, Parser)]
#[command(
    name = "bgp-reflector",
    version,
    about = "Reflex BGP route reflector (RFC 4456)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the route reflector (the embedded default configuration without --config).
    Run(RunArgs),
    /// Validate a configuration file; exit status 1 if it has errors.
    Check {
        /// The file (the embedded default if omitted).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Show the BGP neighbours.
    Neighbors {
        /// Only this neighbour.
        address: Option<IpAddr>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show routes of the Loc-RIB (with a prefix: every path and why the best won).
    Routes {
        /// One prefix, e.g. 10.0.0.0/24.
        #[arg(long)]
        prefix: Option<String>,
        /// ipv4 or ipv6 (both if omitted).
        #[arg(long)]
        family: Option<String>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show a summary of the reflector.
    Summary {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show the update groups.
    Groups {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Make the running daemon re-read its configuration file.
    Reload {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Load Calico resources into etcd, or list them.
    Datastore {
        #[command(subcommand)]
        command: DatastoreCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DatastoreCommand {
    /// Create or replace the resources of a JSON or YAML file (as calicoctl apply).
    Apply {
        /// The file.
        #[arg(long = "filename", short = 'f')]
        file: PathBuf,
        #[command(flatten)]
        etcd: EtcdArgs,
    },
    /// List resources of a kind: nodes, bgppeers, bgpconfigurations, ippools,
    /// workloadendpoints, profiles, globalnetworkpolicies, networkpolicies.
    Get {
        /// The kind (plural, singular or short name).
        kind: String,
        #[command(flatten)]
        etcd: EtcdArgs,
    },
    /// Show the per-peer BGP status the reflectors write to etcd.
    Status {
        /// Only this reflector (its Node name).
        node: Option<String>,
        /// Print the stored JSON documents instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        etcd: EtcdArgs,
    },
}

/// How to reach etcd (wins over the configuration file's [datastore]).
#[derive(Debug, Args)]
struct EtcdArgs {
    /// A configuration file whose [datastore] table says how to reach etcd.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// etcd client URLs, comma-separated (default http://127.0.0.1:2379).
    #[arg(long, value_name = "URL[,URL]", value_delimiter = ',')]
    etcd_endpoints: Vec<String>,
    /// CA certificate (PEM) of the etcd servers.
    #[arg(long, value_name = "PEM")]
    etcd_ca_cert_file: Option<PathBuf>,
    /// Client certificate (PEM).
    #[arg(long, value_name = "PEM")]
    etcd_cert_file: Option<PathBuf>,
    /// Client key (PEM).
    #[arg(long, value_name = "PEM")]
    etcd_key_file: Option<PathBuf>,
    /// etcd user (the password from ETCD_PASSWORD).
    #[arg(long, value_name = "USER")]
    etcd_username: Option<String>,
}

impl EtcdArgs {
    fn overrides(&self) -> DatastoreOverrides {
        DatastoreOverrides {
            kind: None,
            node: None,
            etcd_endpoints: self.etcd_endpoints.clone(),
            etcd_ca_cert_file: self.etcd_ca_cert_file.clone(),
            etcd_cert_file: self.etcd_cert_file.clone(),
            etcd_key_file: self.etcd_key_file.clone(),
            etcd_username: self.etcd_username.clone(),
            etcd_password: std::env::var("ETCD_PASSWORD").ok(),
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DatastoreArg {
    /// Only the configuration file.
    None,
    /// Also Calico's resources in etcd.
    Etcd,
}

#[derive(Debug, Args)]
struct ApiArgs {
    /// The daemon's operations API.
    #[arg(long, default_value_t = DEFAULT_API)]
    api: SocketAddr,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Configuration file (TOML); the embedded default if omitted.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Accept BGP sessions on ADDR:PORT instead of [global] listen (repeatable).
    #[arg(long = "listen", value_name = "ADDR:PORT")]
    listen: Vec<SocketAddr>,
    /// The operations API's address instead of [api] listen (default 127.0.0.1:8179).
    #[arg(long, value_name = "ADDR:PORT")]
    api: Option<SocketAddr>,
    /// BGP identifier instead of [global] router_id.
    #[arg(long)]
    router_id: Option<Ipv4Addr>,
    /// Log format instead of [logging] format.
    #[arg(long, value_enum)]
    log_format: Option<LogFormatArg>,
    /// Log filter (e.g. info, debug, bgp_speaker=debug); wins over RUST_LOG and [logging] level.
    #[arg(long)]
    log_level: Option<String>,
    /// Where peers come from besides the file, instead of [datastore] type.
    #[arg(long, value_enum)]
    datastore: Option<DatastoreArg>,
    /// The reflector's own Node resource, instead of [datastore] node.
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
    /// etcd client URLs, comma-separated, instead of [datastore] etcd_endpoints.
    #[arg(long, value_name = "URL[,URL]", value_delimiter = ',')]
    etcd_endpoints: Vec<String>,
    /// CA certificate (PEM) of the etcd servers.
    #[arg(long, value_name = "PEM")]
    etcd_ca_cert_file: Option<PathBuf>,
    /// Client certificate (PEM) for etcd.
    #[arg(long, value_name = "PEM")]
    etcd_cert_file: Option<PathBuf>,
    /// Client key (PEM) for etcd.
    #[arg(long, value_name = "PEM")]
    etcd_key_file: Option<PathBuf>,
    /// etcd user (the password from ETCD_PASSWORD).
    #[arg(long, value_name = "USER")]
    etcd_username: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bgp-reflector: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Run(args) => run(&runtime, args),
        Command::Check { config } => check(config),
        Command::Neighbors { address, api } => {
            let path = match address {
                Some(address) => format!("/api/v1/neighbors/{address}"),
                None => "/api/v1/neighbors".to_string(),
            };
            show(&runtime, &api, "GET", &path, |body| match address {
                Some(_) => Ok(cli::neighbors_table(&[serde_json::from_slice::<Neighbor>(
                    body,
                )?])),
                None => Ok(cli::neighbors_table(&serde_json::from_slice::<
                    Vec<Neighbor>,
                >(body)?)),
            })
        }
        Command::Routes {
            prefix,
            family,
            api,
        } => {
            let mut query = Vec::new();
            if let Some(family) = &family {
                query.push(format!("family={}", client::encode_query(family)));
            }
            if let Some(prefix) = &prefix {
                query.push(format!("prefix={}", client::encode_query(prefix)));
            }
            let path = format!("/api/v1/routes?{}", query.join("&"));
            show(&runtime, &api, "GET", &path, |body| {
                Ok(cli::routes_table(&serde_json::from_slice::<Vec<Route>>(
                    body,
                )?))
            })
        }
        Command::Summary { api } => show(&runtime, &api, "GET", "/api/v1/summary", |body| {
            Ok(cli::summary_text(&serde_json::from_slice::<Summary>(body)?))
        }),
        Command::Groups { api } => show(&runtime, &api, "GET", "/api/v1/groups", |body| {
            Ok(cli::groups_table(&serde_json::from_slice::<Vec<Group>>(
                body,
            )?))
        }),
        Command::Reload { api } => show(&runtime, &api, "POST", "/api/v1/reload", |body| {
            Ok(cli::reload_text(&serde_json::from_slice::<ReloadResult>(
                body,
            )?))
        }),
        Command::Datastore { command } => runtime.block_on(datastore_command(command)),
    }
}

/// `datastore apply` and `datastore get`, through reflex-datastore's CLI module.
async fn datastore_command(command: DatastoreCommand) -> ExitCode {
    let etcd = match &command {
        DatastoreCommand::Apply { etcd, .. }
        | DatastoreCommand::Get { etcd, .. }
        | DatastoreCommand::Status { etcd, .. } => etcd,
    };
    let section = match &etcd.config {
        Some(path) => match bgp_reflector::config::load(path) {
            Ok(checked) => checked.file.datastore,
            Err(error) => {
                print_load_error(&error);
                return ExitCode::FAILURE;
            }
        },
        None => Default::default(),
    };
    let config = match settings::etcd_config(&section, &etcd.overrides()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("bgp-reflector: {error}");
            return ExitCode::FAILURE;
        }
    };
    let endpoints = config.endpoints.join(",");
    let store = match bgp_reflector::datastore::link::connect_etcd(config).await {
        Ok(store) => store,
        Err(error) => {
            eprintln!("bgp-reflector: cannot connect to etcd at {endpoints}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = match &command {
        DatastoreCommand::Apply { file, .. } => {
            ds_cli::apply_file(&store, file).await.map(|applied| {
                applied
                    .iter()
                    .map(|a| format!("applied {} (revision {})\n", a.key, a.revision))
                    .collect::<String>()
            })
        }
        DatastoreCommand::Get { kind, .. } => ds_cli::get_by_name(&store, kind)
            .await
            .map(|table| table.to_string()),
        DatastoreCommand::Status { node, json, .. } => {
            match bgp_reflector::datastore::read_status(&store, node.as_deref()).await {
                Ok(list) if *json => Ok(serde_json::to_string_pretty(&list)
                    .map(|t| t + "\n")
                    .unwrap_or_default()),
                Ok(list) => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    Ok(bgp_reflector::datastore::status_table(&list, now).to_string())
                }
                Err(error) => Err(ds_cli::CliError::Datastore(Box::new(error))),
            }
        }
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("bgp-reflector: {error}");
            ExitCode::FAILURE
        }
    }
}

fn source_of(config: Option<PathBuf>) -> ConfigSource {
    config.map_or(ConfigSource::Embedded, ConfigSource::File)
}

fn print_load_error(error: &LoadError) {
    match error {
        LoadError::Invalid(report) => eprint!("{report}"),
        LoadError::Read { .. } => eprintln!("bgp-reflector: {error}"),
    }
}

fn check(config: Option<PathBuf>) -> ExitCode {
    let source = source_of(config);
    match source.load() {
        Ok(checked) => {
            print!("{}", checked.report);
            let warnings = checked.report.warnings().count();
            println!(
                "{}: configuration is valid ({warnings} warning(s))",
                source.name()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            print_load_error(&error);
            if let LoadError::Invalid(report) = &error {
                eprintln!("{}: {} error(s)", source.name(), report.errors().count());
            }
            ExitCode::FAILURE
        }
    }
}

fn run(runtime: &tokio::runtime::Runtime, args: RunArgs) -> ExitCode {
    let source = source_of(args.config);
    // Read the file once before the daemon does, for its [logging] table.
    let checked = match source.load() {
        Ok(checked) => checked,
        Err(error) => {
            print_load_error(&error);
            return ExitCode::FAILURE;
        }
    };
    let file_logging = &checked.file.logging;
    let format = match args.log_format {
        Some(LogFormatArg::Text) => LogFormat::Text,
        Some(LogFormatArg::Json) => LogFormat::Json,
        None => file_logging.format,
    };
    let env = std::env::var("RUST_LOG").ok();
    let filter = logging::choose_filter(
        args.log_level.as_deref(),
        env.as_deref(),
        &file_logging.level,
    );
    if let Err(error) = logging::init(format, &filter) {
        eprintln!("bgp-reflector: {error}");
        return ExitCode::FAILURE;
    }
    let config = DaemonConfig {
        source,
        overrides: Overrides {
            listen: args.listen,
            api: args.api,
            router_id: args.router_id,
            datastore: DatastoreOverrides {
                kind: args.datastore.map(|d| match d {
                    DatastoreArg::None => DatastoreType::None,
                    DatastoreArg::Etcd => DatastoreType::Etcd,
                }),
                node: args.node,
                etcd_endpoints: args.etcd_endpoints,
                etcd_ca_cert_file: args.etcd_ca_cert_file,
                etcd_cert_file: args.etcd_cert_file,
                etcd_key_file: args.etcd_key_file,
                etcd_username: args.etcd_username,
                etcd_password: std::env::var("ETCD_PASSWORD").ok(),
            },
        },
    };
    let shutdown = match runtime.block_on(async { shutdown_signal() }) {
        Ok(shutdown) => shutdown,
        Err(error) => {
            eprintln!("bgp-reflector: cannot handle SIGINT and SIGTERM: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bgp_reflector::run(config, shutdown)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            if let bgp_reflector::DaemonError::Config(error) = &error {
                print_load_error(error);
            }
            ExitCode::FAILURE
        }
    }
}

/// A future that completes on SIGINT or SIGTERM. The handlers are
/// registered now (inside the runtime), so a signal that arrives before the
/// daemon polls the future is not lost, nor does it kill the process.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT received"),
            _ = terminate.recv() => tracing::info!("SIGTERM received"),
        }
    })
}

/// Call the API and print its answer as a table (or JSON with --json).
fn show(
    runtime: &tokio::runtime::Runtime,
    api: &ApiArgs,
    method: &str,
    path: &str,
    table: impl FnOnce(&[u8]) -> Result<String, serde_json::Error>,
) -> ExitCode {
    let result = runtime.block_on(client::request(api.api, method, path));
    let response = match result {
        Ok(response) => response,
        Err(error) => return client_error(&error),
    };
    if let Err(error) = client::decode::<serde_json::Value>(&response) {
        return client_error(&error);
    }
    if api.json {
        println!("{}", String::from_utf8_lossy(&response.body));
        return ExitCode::SUCCESS;
    }
    match table(&response.body) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => client_error(&ClientError::Json(error)),
    }
}

fn client_error(error: &ClientError) -> ExitCode {
    eprintln!("bgp-reflector: {error}");
    if let ClientError::Status { findings, .. } = error {
        for finding in findings {
            eprintln!("{}", finding.text);
        }
    }
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn config_module_is_reachable() {
        assert!(bgp_reflector::config::parse("x", bgp_reflector::config::DEFAULT_CONFIG).is_ok());
    }
}
