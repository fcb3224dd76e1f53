//! The BGP session state machine (RFC 4271 section 8), sans I/O.
//!
//! After quinn-proto: the [`Session`] never touches a socket or a clock.
//! Its owner passes every input with the current time (`handle_*`), drains
//! the outputs ([`Session::poll_output`]: connect, transmit, disconnect,
//! events) and calls [`Session::handle_timeout`] when
//! [`Session::poll_timeout`] says so. That makes every transition testable on
//! a virtual clock; the tests of this module drive two sessions against each
//! other without any network.
//!
//! # Layout
//! - [`config`]: what one session is configured with;
//! - [`negotiated`]: what two OPENs agree on, and the codec contexts from it;
//! - [`fsm`]: the states, inputs, outputs and transitions.
//!
//! # Example
//! ```
//! use std::net::Ipv4Addr;
//! use std::time::Instant;
//! use bgp_proto::session::{Output, PeerAs, Session, SessionConfig, State};
//!
//! let config = SessionConfig::new(64512, Ipv4Addr::new(192, 0, 2, 1), PeerAs::Exact(64512));
//! let mut session = Session::new(config);
//! let now = Instant::now();
//! session.handle_start(now);
//! assert_eq!(session.poll_output(), Some(Output::Connect));
//! assert_eq!(session.state(), State::Connect);
//! session.handle_connected(now);
//! // The OPEN is the first thing written once TCP is up.
//! while let Some(output) = session.poll_output() {
//!     if let Output::Transmit(bytes) = output {
//!         assert_eq!(bytes[18], 1);
//!         break;
//!     }
//! }
//! assert_eq!(session.state(), State::OpenSent);
//! ```

pub mod config;
pub mod fsm;
pub mod negotiated;

#[cfg(test)]
mod tests;

pub use config::{PeerAs, SessionConfig};
pub use fsm::{CollisionWinner, DownReason, Event, Output, Session, State, resolve_collision};
pub use negotiated::Negotiated;
