//! ROUTE-REFRESH (RFC 2918 section 3, RFC 7313 section 3).
//!
//! The body after the common header, 4 octets:
//!
//! ```text
//!  0       7      15      23      31
//! +-------+-------+-------+-------+
//! |      AFI      | Subtp | SAFI  |
//! +-------+-------+-------+-------+
//! ```
//!
//! RFC 2918 called the third octet Reserved; RFC 7313 section 3 made it the
//! Message Subtype: 0 is a normal request, 1 and 2 bracket a refresh
//! (Beginning and End of Route Refresh).
//!
//! A message that is not exactly 23 octets long is
//! [`ErrorKind::RouteRefreshLength`], whose NOTIFICATION carries the whole
//! message (RFC 7313 section 5). This crate does not support Outbound Route
//! Filtering (RFC 5291), whose ROUTE-REFRESH messages are longer.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, ErrorKind};
use crate::iana::{Afi, AfiSafi, Safi};
use crate::message::HEADER_LEN;

/// Length of a whole ROUTE-REFRESH message, header included.
pub const ROUTE_REFRESH_LEN: usize = HEADER_LEN + 4;

/// The Message Subtype of a ROUTE-REFRESH (RFC 7313 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefreshSubtype {
    /// 0: a request to re-advertise the family (RFC 2918).
    Normal,
    /// 1: Beginning of Route Refresh (BoRR).
    BeginningOfRouteRefresh,
    /// 2: End of Route Refresh (EoRR).
    EndOfRouteRefresh,
    /// 3 to 255: reserved. RFC 7313 section 5 has the receiver ignore the
    /// whole message.
    Reserved(u8),
}

impl RefreshSubtype {
    /// The subtype from its wire octet.
    pub fn from_u8(value: u8) -> Self {
        match value {
            0 => RefreshSubtype::Normal,
            1 => RefreshSubtype::BeginningOfRouteRefresh,
            2 => RefreshSubtype::EndOfRouteRefresh,
            other => RefreshSubtype::Reserved(other),
        }
    }

    /// The wire octet.
    pub fn to_u8(self) -> u8 {
        match self {
            RefreshSubtype::Normal => 0,
            RefreshSubtype::BeginningOfRouteRefresh => 1,
            RefreshSubtype::EndOfRouteRefresh => 2,
            RefreshSubtype::Reserved(other) => other,
        }
    }
}

/// A ROUTE-REFRESH message (RFC 2918 section 3, RFC 7313 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteRefresh {
    /// Address family.
    pub afi: Afi,
    /// Message subtype.
    pub subtype: RefreshSubtype,
    /// Sub-family.
    pub safi: Safi,
}

impl RouteRefresh {
    /// A normal refresh request for `family` (RFC 2918 section 3).
    pub fn request(family: AfiSafi) -> Self {
        RouteRefresh::with_subtype(family, RefreshSubtype::Normal)
    }

    /// A message for `family` with `subtype`, e.g. BoRR or EoRR (RFC 7313
    /// section 4).
    pub fn with_subtype(family: AfiSafi, subtype: RefreshSubtype) -> Self {
        RouteRefresh {
            afi: family.afi,
            subtype,
            safi: family.safi,
        }
    }

    /// The address family pair.
    pub fn afi_safi(&self) -> AfiSafi {
        AfiSafi::new(self.afi, self.safi)
    }

    /// Must the receiver ignore this message, its subtype being reserved
    /// (RFC 7313 section 5)?
    pub fn is_ignored(&self) -> bool {
        matches!(self.subtype, RefreshSubtype::Reserved(_))
    }

    /// Decode the whole message, header included (the error data of RFC
    /// 7313 section 5 is the whole message). Anything but 23 octets is
    /// [`ErrorKind::RouteRefreshLength`]; a reserved subtype is not an
    /// error but [`RefreshSubtype::Reserved`].
    pub fn decode(msg: &[u8]) -> Result<RouteRefresh, DecodeError> {
        let body = match msg.len() {
            ROUTE_REFRESH_LEN => msg.get(HEADER_LEN..),
            _ => None,
        };
        match body {
            Some(&[afi_hi, afi_lo, subtype, safi]) => Ok(RouteRefresh {
                afi: Afi(u16::from_be_bytes([afi_hi, afi_lo])),
                subtype: RefreshSubtype::from_u8(subtype),
                safi: Safi(safi),
            }),
            _ => Err(DecodeError::new(
                "ROUTE-REFRESH",
                16,
                ErrorKind::RouteRefreshLength {
                    message: Bytes::copy_from_slice(msg),
                },
            )),
        }
    }

    /// Append the body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.afi.0);
        out.put_u8(self.subtype.to_u8());
        out.put_u8(self.safi.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &[u8]) -> Vec<u8> {
        let mut msg = vec![0xff; 16];
        msg.extend_from_slice(
            &u16::try_from(HEADER_LEN + body.len())
                .unwrap()
                .to_be_bytes(),
        );
        msg.push(5);
        msg.extend_from_slice(body);
        msg
    }

    #[test]
    fn rfc2918_and_rfc7313_messages_round_trip() {
        for (subtype, expected) in [
            (0, RefreshSubtype::Normal),
            (1, RefreshSubtype::BeginningOfRouteRefresh),
            (2, RefreshSubtype::EndOfRouteRefresh),
        ] {
            let msg = message(&[0, 2, subtype, 1]);
            let rr = RouteRefresh::decode(&msg).unwrap();
            assert_eq!(
                rr,
                RouteRefresh::with_subtype(AfiSafi::IPV6_UNICAST, expected)
            );
            assert!(!rr.is_ignored());
            let mut out = BytesMut::new();
            rr.encode(&mut out);
            assert_eq!(&out[..], &msg[HEADER_LEN..]);
        }
    }

    #[test]
    fn reserved_subtypes_are_kept_for_the_caller_to_ignore() {
        let rr = RouteRefresh::decode(&message(&[0, 1, 9, 1])).unwrap();
        assert_eq!(rr.subtype, RefreshSubtype::Reserved(9));
        assert!(rr.is_ignored());
        assert_eq!(rr.afi_safi(), AfiSafi::IPV4_UNICAST);
        for v in 0..=u8::MAX {
            assert_eq!(RefreshSubtype::from_u8(v).to_u8(), v);
        }
    }

    #[test]
    fn wrong_lengths_carry_the_whole_message() {
        for body in [&[][..], &[0, 1, 0], &[0, 1, 0, 1, 0]] {
            let msg = message(body);
            let err = RouteRefresh::decode(&msg).unwrap_err();
            let n = err.notification();
            assert_eq!((n.code, n.subcode), (7, 1));
            assert_eq!(&n.data[..], &msg[..]);
        }
        assert_eq!(
            RouteRefresh::request(AfiSafi::IPV4_UNICAST).subtype,
            RefreshSubtype::Normal
        );
    }
}
