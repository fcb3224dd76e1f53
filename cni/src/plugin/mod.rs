//! The `calico` plugin's commands, and the plumbing both binaries share:
//! reading the environment and stdin, logging, printing a result or a CNI
//! error, and the exit status.
//!
//! # Layout
//! - [`add`]: IPAM, veth, WorkloadEndpoint, profile; everything undone on failure;
//! - [`del`]: IPAM release, WorkloadEndpoint, veth; idempotent;
//! - [`check`]: the veth, addresses, routes and endpoint against `prevResult`;
//! - this module: [`Invocation`], [`main_of`], the datastore connection.

pub mod add;
pub mod check;
pub mod del;

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use reflex_datastore::DatastoreError;
use reflex_datastore::store::etcd::EtcdStore;
use serde_json::Value;

use crate::config::{DEFAULT_MTU_FILE, LogLevel, NetConf};
use crate::spec::{CniCommand, CniEnv, CniError, ErrorCode, VersionInfo};

/// One run of a plugin: its environment, configuration and raw stdin.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The `CNI_*` variables.
    pub env: CniEnv,
    /// The configuration.
    pub conf: NetConf,
    /// stdin as given (passed on to the IPAM plugin unchanged).
    pub stdin: Vec<u8>,
}

/// A command's outcome: a result to print, or nothing (DEL, CHECK).
pub type Outcome = Result<Option<Value>, CniError>;

/// Which binary is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    /// `calico`.
    Calico,
    /// `calico-ipam`.
    CalicoIpam,
}

impl Invocation {
    /// Reads the environment and configuration through `var` and `stdin`.
    pub fn read(
        var: impl Fn(&str) -> Option<String>,
        stdin: Vec<u8>,
    ) -> Result<Invocation, CniError> {
        let env = CniEnv::from_vars(&var)?;
        let conf = NetConf::parse(&stdin, &var, Path::new(DEFAULT_MTU_FILE))?;
        Ok(Invocation { env, conf, stdin })
    }

    /// Calico's IPAM handle: `<network>.<container id>`.
    pub fn handle_id(&self) -> String {
        self.conf.handle_id(&self.env.container_id)
    }
}

/// The CNI error of a datastore failure: an unreachable etcd is worth a retry.
pub fn datastore_error(what: &str, e: DatastoreError) -> CniError {
    let code = match e {
        DatastoreError::Unavailable(_) => ErrorCode::TryAgainLater,
        _ => ErrorCode::Datastore,
    };
    CniError::new(code, format!("datastore: {what}"), e.to_string())
}

/// Connects to etcd.
pub async fn connect(conf: &NetConf) -> Result<Arc<EtcdStore>, CniError> {
    EtcdStore::connect(conf.etcd.clone())
        .await
        .map(Arc::new)
        .map_err(|e| datastore_error("cannot connect to etcd", e))
}

fn init_logging(level: LogLevel, file: Option<&Path>) {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    let level = match level {
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Warning => tracing::Level::WARN,
        LogLevel::Error => tracing::Level::ERROR,
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_target(false);
    let opened = file.and_then(|p| {
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    });
    let _ = match opened {
        Some(f) => builder
            .with_writer(std::io::stderr.and(Arc::new(f)))
            .try_init(),
        None => builder.with_writer(std::io::stderr).try_init(),
    };
}

fn print_json(value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    println!("{text}");
}

fn fail(e: &CniError, cni_version: Option<&str>) -> ExitCode {
    tracing::error!(code = e.code.as_u32(), error = %e, "CNI command failed");
    print_json(&e.to_json(cni_version));
    ExitCode::FAILURE
}

/// The whole of a binary's `main`: reads `CNI_COMMAND`, answers `VERSION`,
/// or reads stdin and runs the command; prints the result or the error.
pub fn main_of(binary: Binary) -> ExitCode {
    let var = |k: &str| std::env::var(k).ok();
    let command = match crate::spec::env::command_from(&var) {
        Ok(c) => c,
        Err(e) => return fail(&e, None),
    };
    if command == CniCommand::Version {
        print_json(&serde_json::to_value(VersionInfo::ours()).unwrap_or(Value::Null));
        return ExitCode::SUCCESS;
    }
    let mut stdin = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut stdin) {
        let e = CniError::new(ErrorCode::IoFailure, "cannot read stdin", e.to_string());
        return fail(&e, None);
    }
    // The version for errors, even when the rest of the configuration is bad.
    let version = serde_json::from_slice::<Value>(&stdin)
        .ok()
        .and_then(|v| v.get("cniVersion")?.as_str().map(str::to_string));
    let invocation = match Invocation::read(var, stdin) {
        Ok(i) => i,
        Err(e) => {
            init_logging(LogLevel::Info, None);
            return fail(&e, version.as_deref());
        }
    };
    init_logging(
        invocation.conf.log_level,
        invocation.conf.log_file_path.as_deref(),
    );
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let e = CniError::new(ErrorCode::Plugin, "cannot start a runtime", e.to_string());
            return fail(&e, version.as_deref());
        }
    };
    let outcome = runtime.block_on(async {
        match binary {
            Binary::Calico => run_calico(&invocation).await,
            Binary::CalicoIpam => crate::ipam::run(&invocation).await,
        }
    });
    match outcome {
        Ok(Some(result)) => {
            print_json(&result);
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => fail(&e, version.as_deref()),
    }
}

async fn run_calico(inv: &Invocation) -> Outcome {
    if let Some((namespace, pod)) = inv.env.args.kubernetes_pod() {
        return Err(CniError::new(
            ErrorCode::UnsupportedField,
            format!(
                "CNI_ARGS names Kubernetes pod {namespace}/{pod}: Calico's Kubernetes orchestrator needs a Kubernetes API server, which Reflex's plugin does not use"
            ),
            "run it without K8S_POD_NAME / K8S_POD_NAMESPACE (orchestrator cni)",
        ));
    }
    match inv.env.command {
        CniCommand::Add => add::run(inv).await,
        CniCommand::Del => del::run(inv).await.map(|()| None),
        CniCommand::Check => check::run(inv).await.map(|()| None),
        CniCommand::Version => Ok(Some(
            serde_json::to_value(VersionInfo::ours()).unwrap_or(Value::Null),
        )),
    }
}
