//! `bgp-client`: the Reflex node agent. It reads the node's kernel routes
//! through rtnetlink, advertises the selected ones to the route reflectors
//! over iBGP (with [`bgp_speaker`]), and installs the best paths the
//! reflectors send back into the kernel with protocol 186 (`RTPROT_BGP`).
//! It plays the part of BIRD on a Calico node.
//!
//! # Layout
//! - [`kernel`]: the kernel side: [`kernel::route`] (routes as data),
//!   [`kernel::reader`] (dump, notifications, coalescing, resync after
//!   `ENOBUFS`), [`kernel::select`] (what to advertise),
//!   [`kernel::writer`] (what to install), [`kernel::netlink`];
//! - [`agent`]: the wiring of reader, selection, speaker and writer,
//!   and its plain-data [`agent::AgentConfig`];
//! - [`blocks`]: routing by Calico IPAM block: blackholes for the
//!   node's affine blocks, one route per block instead of its host routes;
//! - [`config`]: the TOML file, checked with line and column numbers;
//! - [`datastore`]: reflectors and export pools from Calico's resources
//!   in etcd, applied live; the node's own `Node` resource;
//! - [`daemon`]: `bgp-client run`: the agent, the operations [`api`]
//!   (JSON and Prometheus [`metrics`]), SIGHUP reload
//!   ([`agent::reconfig`]), [`logging`] as text or JSON;
//! - [`felix`]: workload interfaces, their /32 and /128 routes, and the
//!   ACLs of Calico's policies compiled into one nftables table; the
//!   daemon runs it with `[felix]`;
//! - [`nodename`]: the node-name file the `calico` CNI plugin reads;
//! - [`cli`]: the tables of `bgp-client neighbors|routes|kernel`;
//! - `main.rs`: the command line (`run`, `check`, `neighbors`, `routes`,
//!   `kernel`, `status`, `reload`).
//!
//! # Example
//! A node that advertises its workloads' routes to two reflectors:
//! ```no_run
//! # async fn demo() -> Result<(), bgp_client::agent::AgentError> {
//! use bgp_client::agent::{Agent, AgentConfig, ReflectorPeer};
//! use bgp_client::kernel::select::{SelectRule, Selection};
//!
//! let mut config = AgentConfig::new("node-a", 64512, "192.0.2.11".parse().unwrap());
//! config.reflectors = vec![
//!     ReflectorPeer::new("192.0.2.1".parse().unwrap()),
//!     ReflectorPeer::new("192.0.2.2".parse().unwrap()),
//! ];
//! config.export = Selection {
//!     pools: vec!["10.65.0.0/16".parse().unwrap()],
//!     rules: vec![SelectRule { interfaces: vec!["cali*".into()], ..SelectRule::main_unicast() }],
//! };
//! let agent = Agent::start(config).await?;
//! // ... until SIGTERM:
//! agent.stop().await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod agent;
pub mod api;
pub mod blocks;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod datastore;
pub mod felix;
pub mod kernel;
pub mod logging;
pub mod metrics;
pub mod nodename;
