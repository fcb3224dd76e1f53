//! Multiprotocol Extensions (RFC 4760 section 8) and Extended Next Hop
//! Encoding (RFC 8950 section 3) capabilities.
//!
//! Multiprotocol, code 1, one family per capability:
//!
//! ```text
//!  0       7      15      23      31
//! +-------+-------+-------+-------+
//! |      AFI      | Res.  | SAFI  |
//! +-------+-------+-------+-------+
//! ```
//!
//! The reserved octet is sent as 0 and ignored on receipt (RFC 4760 section 8).
//!
//! Extended Next Hop, code 5, a list of 6-octet entries. Unlike everywhere
//! else, the NLRI SAFI is two octets here:
//!
//! ```text
//! +-----------------------------------------------------+
//! | NLRI AFI (2 octets)                                 |
//! +-----------------------------------------------------+
//! | NLRI SAFI (2 octets)                                |
//! +-----------------------------------------------------+
//! | Nexthop AFI (2 octets)                              |
//! +-----------------------------------------------------+
//! | ... more entries ...                                |
//! ```

use bytes::{BufMut, BytesMut};

use super::malformed;
use super::wire::Cursor;
use crate::error::DecodeError;
use crate::iana::{Afi, AfiSafi, Safi};

/// Octets of one Extended Next Hop entry.
pub(crate) const ENH_ENTRY_LEN: usize = 6;

/// One entry of the Extended Next Hop capability (RFC 8950 section 3): NLRI
/// of `nlri` may carry a next hop of address family `next_hop_afi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtendedNextHop {
    /// The NLRI family (the SAFI is two octets on the wire, RFC 8950 section 3).
    pub nlri: AfiSafi,
    /// The next hop's address family.
    pub next_hop_afi: Afi,
}

impl ExtendedNextHop {
    /// An entry: NLRI of `nlri` with next hops of `next_hop_afi`.
    pub const fn new(nlri: AfiSafi, next_hop_afi: Afi) -> Self {
        ExtendedNextHop { nlri, next_hop_afi }
    }

    /// Append the 6-octet entry.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.nlri.afi.0);
        out.put_u16(u16::from(self.nlri.safi.0));
        out.put_u16(self.next_hop_afi.0);
    }
}

/// Decode a Multiprotocol capability value (RFC 4760 section 8).
pub(crate) fn decode(value: &[u8], offset: usize) -> Result<AfiSafi, DecodeError> {
    match *value {
        [afi_hi, afi_lo, _reserved, safi] => Ok(AfiSafi::new(
            Afi(u16::from_be_bytes([afi_hi, afi_lo])),
            Safi(safi),
        )),
        _ => Err(malformed(
            "Multiprotocol capability",
            offset.saturating_sub(1),
            "length is not 4",
        )),
    }
}

/// Append a Multiprotocol capability value.
pub(crate) fn encode(family: AfiSafi, out: &mut BytesMut) {
    out.put_u16(family.afi.0);
    out.put_u8(0);
    out.put_u8(family.safi.0);
}

/// Decode an Extended Next Hop capability value (RFC 8950 section 3).
pub(crate) fn decode_extended_next_hop(
    value: &[u8],
    offset: usize,
) -> Result<Vec<ExtendedNextHop>, DecodeError> {
    const NAME: &str = "Extended Next Hop capability";
    if value.len() % ENH_ENTRY_LEN != 0 {
        return Err(malformed(
            NAME,
            offset.saturating_sub(1),
            "length is not a multiple of 6",
        ));
    }
    let mut c = Cursor::new(value, offset);
    let mut entries = Vec::with_capacity(value.len() / ENH_ENTRY_LEN);
    while !c.is_empty() {
        let safi_at = c.offset().saturating_add(2);
        let (Some(afi), Some(safi), Some(nh_afi)) = (c.u16(), c.u16(), c.u16()) else {
            return Err(malformed(NAME, c.offset(), "entry truncated"));
        };
        let Ok(safi) = u8::try_from(safi) else {
            return Err(malformed(NAME, safi_at, "NLRI SAFI is above 255"));
        };
        entries.push(ExtendedNextHop::new(
            AfiSafi::new(Afi(afi), Safi(safi)),
            Afi(nh_afi),
        ));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn multiprotocol_ignores_the_reserved_octet() {
        assert_eq!(decode(&[0, 2, 0xaa, 1], 30), Ok(AfiSafi::IPV6_UNICAST));
        let err = decode(&[0, 2, 0], 30).unwrap_err();
        assert_eq!(err.offset, 29);
        assert!(matches!(err.kind, ErrorKind::MalformedOpen { .. }));
    }

    #[test]
    fn extended_next_hop_rejects_a_two_octet_safi_above_255() {
        let err = decode_extended_next_hop(&[0, 1, 1, 0, 0, 2], 40).unwrap_err();
        assert_eq!(err.offset, 42);
        let err = decode_extended_next_hop(&[0, 1, 0, 1, 0], 40).unwrap_err();
        assert_eq!(err.offset, 39);
    }
}
