//! KEEPALIVE (RFC 4271 section 4.4): a header with no body, 19 octets in all.
//!
//! ```text
//! +---------------------------+
//! | Header (Type = 4)         |
//! +---------------------------+
//! ```
//!
//! It is represented by [`crate::Message::Keepalive`]; this module holds the
//! ready-made bytes, which a speaker sends every keepalive interval.

/// The complete KEEPALIVE message.
pub const KEEPALIVE_BYTES: [u8; 19] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0, 19, 4,
];
