//! The MRT common header (RFC 6396 section 2) and its extended-timestamp
//! variant (RFC 6396 section 3).

use bytes::{BufMut, BytesMut};

use super::codes::mrt_type;

/// Length of the common header.
pub const HEADER_LEN: usize = 12;

/// The header in front of every MRT record.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                           Timestamp                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             Type              |            Subtype            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                             Length                            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      Microsecond Timestamp (only _ET types, counted in Length) |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      Message... (variable)                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MrtHeader {
    /// Seconds since the Unix epoch.
    pub timestamp: u32,
    /// Record type ([`mrt_type`]).
    pub mrt_type: u16,
    /// Record subtype.
    pub subtype: u16,
    /// Length of everything after the 12-octet header, the microsecond field
    /// of `_ET` types included (RFC 6396 section 3).
    pub length: u32,
}

impl MrtHeader {
    /// Parse the 12 octets of a common header.
    pub fn parse(bytes: [u8; HEADER_LEN]) -> Self {
        let [t0, t1, t2, t3, y0, y1, s0, s1, l0, l1, l2, l3] = bytes;
        MrtHeader {
            timestamp: u32::from_be_bytes([t0, t1, t2, t3]),
            mrt_type: u16::from_be_bytes([y0, y1]),
            subtype: u16::from_be_bytes([s0, s1]),
            length: u32::from_be_bytes([l0, l1, l2, l3]),
        }
    }

    /// Does a microsecond field follow (RFC 6396 section 3)?
    pub fn is_extended(&self) -> bool {
        mrt_type::is_extended(self.mrt_type)
    }

    /// Append the 12 octets.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.timestamp);
        out.put_u16(self.mrt_type);
        out.put_u16(self.subtype);
        out.put_u32(self.length);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_is_the_inverse_of_encode() {
        let header = MrtHeader {
            timestamp: 1_470_931_200,
            mrt_type: mrt_type::BGP4MP_ET,
            subtype: 4,
            length: 77,
        };
        let mut out = BytesMut::new();
        header.encode(&mut out);
        let bytes: [u8; HEADER_LEN] = out[..].try_into().unwrap();
        assert_eq!(MrtHeader::parse(bytes), header);
        assert!(header.is_extended());
    }
}
