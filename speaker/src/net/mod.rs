//! Sessions over TCP: sockets, the listener, and the per-peer task.
//!
//! # Layout
//! - [`socket`]: socket options: TCP_NODELAY, TCP MD5 signatures (RFC
//!   2385), GTSM (RFC 5082), abortive close;
//! - [`addresses`]: our other-version address on a session's interface;
//! - [`connector`]: opening a session's connection with those options;
//! - [`listener`]: accepting connections, MD5 keys on the listening
//!   sockets, turning unknown peers away;
//! - [`dynamic`]: matching addresses to dynamic-neighbour ranges;
//! - [`peer`]: the peer task that runs the session state machine over a
//!   connection, collisions (RFC 4271 section 6.8) included;
//! - `linger`: closing a connection after a last NOTIFICATION.
//!
//! # Wiring
//! The core binds a [`Listener`], runs [`Listener::run`] into a channel,
//! and for each accepted `(stream, remote)` either calls
//! [`PeerHandle::accept`] on the peer of that address (a configured one, or
//! a new dynamic one admitted by a [`DynamicMatcher`]) or [`reject`]s it.
//! Configured passwords go on the listener with [`Listener::set_md5`]
//! before the peers start.

pub mod addresses;
pub mod connector;
pub mod dynamic;
mod linger;
pub mod listener;
pub mod peer;
pub mod socket;

pub use connector::{ConnectError, ConnectOptions, connect};
pub use dynamic::{DynamicMatcher, DynamicReject, DynamicSlot};
pub use listener::{Listener, NOT_A_NEIGHBOUR, reject};
pub use peer::{PeerGone, PeerHandle, PeerParams, spawn_peer};
pub use socket::{SocketError, SocketOption};
