//! `bgp-reflector`: the Reflex route-reflector daemon (RFC 4456), built on
//! [`bgp_speaker`]. It reads a TOML configuration (or runs an embedded
//! default that accepts Calico nodes from the private ranges), starts the
//! speaker with its neighbours and dynamic ranges, and serves an
//! operations API with Prometheus metrics; its CLI reads that API.
//!
//! # Layout
//! - `main.rs`: the command line (`run`, `check`, `neighbors`, `routes`,
//!   `summary`, `groups`, `reload`, `datastore apply|get`), with clap;
//! - [`config`]: the file's [`config::schema`], [`config::validate()`] (with
//!   line, column and field path in [`config::errors`]),
//!   [`config::convert()`] into the speaker's types, [`config::policy`],
//!   [`config::values`], [`config::router_id`];
//! - [`reload`]: what a reload changes, as pure functions;
//! - [`daemon`]: the run loop, [`run`], signals, reload, shutdown;
//! - [`datastore`]: datastore mode: peers derived from Calico's resources
//!   in etcd and applied live, per-peer status written back under a lease;
//! - [`api`]: the HTTP routes and their JSON [`api::types`];
//! - [`metrics`]: the Prometheus text exposition;
//! - [`cli`]: aligned tables for the CLI; [`client`]: its HTTP client;
//! - [`logging`]: text or JSON logs.
//!
//! # Features
//! - `datastore` (default): datastore mode against etcd (`--datastore
//!   etcd`, `[datastore] type = "etcd"`, `datastore apply|get|status`),
//!   which links etcd-client with its gRPC and TLS stacks. A build with
//!   `--no-default-features` is smaller (1.3 MiB less mapped text at run
//!   time, docs/BENCHMARKS.md) and refuses datastore mode with
//!   [`datastore::settings::SettingsError::NotBuilt`]; file mode is the
//!   same in both.
//!
//! # Example
//! Parse and validate a configuration, then convert it:
//! ```
//! use bgp_reflector::config;
//!
//! let text = r#"
//! [global]
//! asn = 64512
//! router_id = "192.0.2.10"
//!
//! [[template]]
//! name = "nodes"
//! client = true
//!
//! [[neighbor]]
//! address = "192.0.2.21"
//! template = "nodes"
//! asn = 64512
//! hold_time = 2
//! "#;
//! let report = config::parse("reflector.toml", text).unwrap_err();
//! assert_eq!(
//!     report.lines(),
//!     ["reflector.toml:14:13: neighbor[0].hold_time: must be 0 or at least 3 seconds (RFC 4271 section 4.2), not 2"]
//! );
//!
//! let fixed = text.replace("hold_time = 2", "hold_time = 30");
//! let checked = config::parse("reflector.toml", &fixed).unwrap();
//! assert!(!checked.report.has_errors());
//! let running = config::convert(&checked.file, "192.0.2.10".parse().unwrap());
//! let peer = &running.neighbors[&"192.0.2.21".parse().unwrap()].peer;
//! assert!(peer.options.route_reflector_client);
//! assert_eq!(peer.options.hold_time, 30);
//! ```
#![warn(missing_docs)]

pub mod api;
pub mod cli;
pub mod client;
pub mod config;
pub mod daemon;
pub mod datastore;
pub mod logging;
pub mod metrics;
pub mod redundancy;
pub mod reload;

pub use daemon::{ConfigSource, Daemon, DaemonConfig, DaemonError, Overrides, run};
