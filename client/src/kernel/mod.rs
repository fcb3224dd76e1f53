//! The node's kernel routing tables: reading them, choosing what to
//! advertise, and writing what was learned.
//!
//! - [`route`]: routes as plain data ([`route::KernelRoute`]), decoded from
//!   rtnetlink messages;
//! - [`reader`]: dump plus notifications, coalesced, resynchronised after
//!   `ENOBUFS`;
//! - [`select`]: which routes are advertised;
//! - [`writer`]: installing learned routes with protocol 186;
//! - [`netlink`]: connections and dumps shared by the reader and writer.

pub mod netlink;
pub mod reader;
pub mod route;
pub mod select;
pub mod writer;

pub use reader::{Batch, ReaderConfig, ReaderError, ReaderStats, RouteReader};
pub use route::{KernelNextHop, KernelRoute, RTPROT_BGP, RouteChange, RouteKey, RouteKind};
pub use select::{SelectRule, Selection, Verdict};
pub use writer::{Outcome, Placement, RouteWriter, WriterConfig, WriterError};
