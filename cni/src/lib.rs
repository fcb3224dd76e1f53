//! `reflex-cni`: the `calico` CNI plugin and the `calico-ipam` IPAM plugin,
//! after Project Calico's `cni-plugin`, for containers on Reflex nodes.
//!
//! A container runtime runs `calico` with `CNI_COMMAND` (`ADD`, `DEL`,
//! `CHECK`, `VERSION`), `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`,
//! `CNI_ARGS`, `CNI_PATH` and the network configuration on stdin, and reads
//! a result (in the configuration's `cniVersion`, 0.1.0 to 1.0.0) or a CNI
//! error from stdout. `calico` asks the IPAM plugin named by `ipam.type` for
//! addresses by running it the same way (delegation), creates the veth pair
//! (`cali<id>` on the host, `CNI_IFNAME` in the container) with rtnetlink,
//! and records the container as a `WorkloadEndpoint` in etcd, where the node
//! agent's Felix finds it. `calico-ipam` assigns addresses with
//! [`reflex_datastore::ipam`] (Calico's block IPAM in etcd).
//!
//! # Layout
//! - [`spec`]: the CNI protocol (versions, environment, `CNI_ARGS`, results
//!   in every version's shape, errors);
//! - [`config`]: Calico's configuration keys, checked;
//! - [`dataplane`]: the veth pair, addresses, routes and sysctls, in the
//!   container's namespace through a `setns` thread;
//! - [`delegate`]: running the IPAM plugin;
//! - [`endpoint`]: the `WorkloadEndpoint` and `Profile` resources;
//! - [`plugin`]: `calico`'s `ADD` / `DEL` / `CHECK` and the binaries' `main`;
//! - [`ipam`]: the `calico-ipam` plugin.
//!
//! # Example
//!
//! What a runtime does, here for `VERSION` and for a configuration with a
//! key of the wrong type (both answered without touching etcd or the kernel):
//!
//! ```
//! use reflex_cni::config::NetConf;
//! use reflex_cni::spec::{CniError, ErrorCode, VersionInfo};
//!
//! let version = serde_json::to_value(VersionInfo::ours()).unwrap();
//! assert_eq!(version["supportedVersions"][5], "1.0.0");
//!
//! let stdin = br#"{"cniVersion": "1.0.0", "name": "net1", "type": "calico",
//!                  "nodename_file_optional": true, "mtu": "1500",
//!                  "ipam": {"type": "calico-ipam"}}"#;
//! let err = NetConf::parse(stdin, &|_| None, std::path::Path::new("/none")).unwrap_err();
//! let err = CniError::from(err);
//! assert_eq!(err.code, ErrorCode::InvalidNetworkConfig);
//! assert!(err.msg.contains("\"mtu\""));
//! ```
#![warn(missing_docs)]

pub mod config;
pub mod dataplane;
pub mod delegate;
pub mod endpoint;
pub mod ipam;
pub mod plugin;
pub mod spec;
