//! `bgp-proto`: the BGP-4 wire codec of Reflex.
//!
//! Bytes in, typed messages out, and back: every message of RFC 4271 and its
//! extensions, path attributes with RFC 7606 error handling, capabilities,
//! and MRT files (RFC 6396). The crate does no I/O and knows no clock.
//!
//! # Layout
//! - [`message`]: the header, framing ([`frame_len`]) and one module per message;
//! - [`attribute`]: path attributes, one module per family of attributes;
//! - [`capability`]: OPEN capabilities;
//! - [`nlri`]: prefixes with optional ADD-PATH identifiers;
//! - [`context`]: the negotiated state ([`DecodeCtx`], [`EncodeCtx`]);
//! - [`error`]: typed errors, NOTIFICATION mapping, RFC 7606 actions;
//! - [`iana`]: every code point;
//! - [`packer`]: split prefixes sharing one attribute block into the fewest UPDATEs;
//! - [`mrt`]: MRT reader and writer;
//! - [`session`]: the session state machine of RFC 4271 section 8, sans I/O.
//!
//! # Guarantees
//! No input makes a decoder panic, loop, or allocate more than a small
//! multiple of the input's size; the fuzz targets in `fuzz/` check this.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod attribute;
pub mod capability;
pub mod context;
pub mod error;
pub mod iana;
pub mod message;
pub mod mrt;
pub mod nlri;
pub mod packer;
pub mod session;

pub use attribute::PathAttribute;
pub use context::{AddPathFamilies, CodecCtx, DecodeCtx, EncodeCtx, PeerType};
pub use error::{DecodeError, EncodeError, ErrorAction, ErrorKind, Finding, Findings};
pub use iana::{Afi, AfiSafi, Safi};
pub use message::{Decoded, Message, decode_message, decode_message_into, frame_len};
pub use nlri::Nlri;
/// The inline-vector crate used by attribute values (`smallvec![..]`, `.into()`).
pub use smallvec;
