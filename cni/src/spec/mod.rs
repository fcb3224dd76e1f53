//! The CNI protocol itself, independent of Calico: versions, the `CNI_*`
//! environment, `CNI_ARGS`, results in every version's shape, and errors.
//!
//! # Layout
//! - [`version`]: supported versions, result shapes, the `VERSION` answer;
//! - [`env`]: `CNI_COMMAND`, `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`,
//!   `CNI_PATH` checked as libcni's `skel` does;
//! - [`args`]: `CNI_ARGS` pairs;
//! - [`result`]: [`result::CniResult`], written and read in any version;
//! - [`error`]: [`error::CniError`] and its codes.

pub mod args;
pub mod env;
pub mod error;
pub mod result;
pub mod version;

pub use args::CniArgs;
pub use env::{CniCommand, CniEnv};
pub use error::{CniError, ErrorCode};
pub use result::{CniResult, Dns, Interface, IpConfig, Route};
pub use version::{CniVersion, VersionInfo};
