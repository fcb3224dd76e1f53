//! `bgp-speaker`: BGP sessions over TCP, RIBs, best-path selection, update
//! groups and policy, on tokio. Both Reflex daemons (the route reflector and
//! the node client) are built on it.
//!
//! # Layout
//! - [`config`]: the speaker's and peers' configuration as plain data;
//! - [`net`]: sockets (MD5, GTSM, binding), the listener, and the per-peer
//!   task that runs the [`bgp_proto::session`] state machine over TCP;
//! - [`attrs`]: interned attribute sets, shared by every route that has them;
//! - [`rib`]: Adj-RIB-In, Loc-RIB and the decision process, owned by one task;
//! - [`policy`]: import and export policy as data;
//! - [`adj_out`]: update groups: one encoding per group, written to every member;
//! - [`outbox`]: a peer's bounded queue of encoded messages;
//! - [`backlog`]: the bound on decoded routes on their way to the core;
//! - [`speaker`]: the wiring, and the [`speaker::SpeakerHandle`] API;
//! - [`events`]: the messages between peer tasks and the core;
//! - [`types`]: identifiers and records shared by the parts;
//! - `chunked`: a vector in chunks that growing never copies.
#![warn(missing_docs)]

pub mod adj_out;
pub mod attrs;
pub mod backlog;
mod chunked;
pub mod config;
pub mod events;
pub mod net;
pub mod outbox;
pub mod policy;
pub mod rib;
pub mod speaker;
pub mod types;

pub use attrs::{AttrInterner, Attrs, PathAttrs};
pub use types::{Path, PathList, PeerId, PeerInfo, PeerRole, RibChange};
