//! ADD-PATH capability (RFC 7911 section 4), code 69.
//!
//! A list of 4-octet entries, one per address family:
//!
//! ```text
//! +------------------------------------------------+
//! | Address Family Identifier (2 octets)           |
//! +------------------------------------------------+
//! | Subsequent Address Family Identifier (1 octet) |
//! +------------------------------------------------+
//! | Send/Receive (1 octet)                         |
//! +------------------------------------------------+
//! | ... more entries ...                           |
//! ```

use bytes::{BufMut, BytesMut};
use std::fmt;

use super::malformed;
use super::wire::Cursor;
use crate::error::DecodeError;
use crate::iana::{Afi, AfiSafi, Safi};

/// Octets of one ADD-PATH entry.
pub(crate) const ENTRY_LEN: usize = 4;

/// The Send/Receive field of an ADD-PATH entry (RFC 7911 section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddPathMode {
    /// The speaker can receive multiple paths for the family.
    Receive = 1,
    /// The speaker can send multiple paths for the family.
    Send = 2,
    /// Both.
    Both = 3,
}

impl AddPathMode {
    /// The mode from its wire octet; RFC 7911 section 4 defines only 1 to 3.
    pub fn from_u8(value: u8) -> Option<Self> {
        match value {
            1 => Some(AddPathMode::Receive),
            2 => Some(AddPathMode::Send),
            3 => Some(AddPathMode::Both),
            _ => None,
        }
    }

    /// The wire octet.
    pub fn to_u8(self) -> u8 {
        self as u8
    }

    /// Can the speaker receive multiple paths?
    pub fn receives(self) -> bool {
        matches!(self, AddPathMode::Receive | AddPathMode::Both)
    }

    /// Can the speaker send multiple paths?
    pub fn sends(self) -> bool {
        matches!(self, AddPathMode::Send | AddPathMode::Both)
    }
}

impl fmt::Display for AddPathMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddPathMode::Receive => "receive",
            AddPathMode::Send => "send",
            AddPathMode::Both => "send-receive",
        })
    }
}

/// Decode an ADD-PATH capability value (RFC 7911 section 4). A
/// Send/Receive value other than 1, 2 or 3 is an error.
pub(crate) fn decode(
    value: &[u8],
    offset: usize,
) -> Result<Vec<(AfiSafi, AddPathMode)>, DecodeError> {
    const NAME: &str = "ADD-PATH capability";
    if value.len() % ENTRY_LEN != 0 {
        return Err(malformed(
            NAME,
            offset.saturating_sub(1),
            "length is not a multiple of 4",
        ));
    }
    let mut c = Cursor::new(value, offset);
    let mut entries = Vec::with_capacity(value.len() / ENTRY_LEN);
    while !c.is_empty() {
        let mode_at = c.offset().saturating_add(3);
        let (Some(afi), Some(safi), Some(mode)) = (c.u16(), c.u8(), c.u8()) else {
            return Err(malformed(NAME, c.offset(), "entry truncated"));
        };
        let Some(mode) = AddPathMode::from_u8(mode) else {
            return Err(malformed(NAME, mode_at, "Send/Receive is not 1, 2 or 3"));
        };
        entries.push((AfiSafi::new(Afi(afi), Safi(safi)), mode));
    }
    Ok(entries)
}

/// Append one 4-octet entry.
pub(crate) fn encode_entry((family, mode): (AfiSafi, AddPathMode), out: &mut BytesMut) {
    out.put_u16(family.afi.0);
    out.put_u8(family.safi.0);
    out.put_u8(mode.to_u8());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_and_answer_direction_questions() {
        for v in 1..=3 {
            assert_eq!(AddPathMode::from_u8(v).map(AddPathMode::to_u8), Some(v));
        }
        assert_eq!(AddPathMode::from_u8(0), None);
        assert!(AddPathMode::Both.sends() && AddPathMode::Both.receives());
        assert!(!AddPathMode::Receive.sends());
    }

    #[test]
    fn bad_mode_points_at_its_octet() {
        let err = decode(&[0, 1, 1, 3, 0, 2, 1, 4], 50).unwrap_err();
        assert_eq!(err.offset, 57);
        assert!(decode(&[0, 1, 1], 50).is_err());
        assert_eq!(decode(&[], 50), Ok(vec![]));
    }
}
