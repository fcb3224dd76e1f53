//! Launchers for real BGP daemons (and etcd) inside lab hosts, and their
//! query tools.
//!
//! Each launcher takes the daemon's own configuration text (tests write it
//! out explicitly, so what a test checks is visible in the test) and
//! returns a handle whose `query` runs the daemon's CLI in the same host.

pub mod bird;
pub mod etcd;
pub mod frr;
pub mod gobgp;

pub use bird::{Bird, BirdRoute};
pub use frr::Frr;
pub use gobgp::Gobgp;
