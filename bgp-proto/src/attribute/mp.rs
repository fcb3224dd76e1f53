//! MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 sections 3 and 4).
//!
//! ```text
//! MP_REACH_NLRI                               MP_UNREACH_NLRI
//! +-------------------------------------+     +-------------------------------+
//! | AFI (2 octets)                      |     | AFI (2 octets)                |
//! +-------------------------------------+     +-------------------------------+
//! | SAFI (1 octet)                      |     | SAFI (1 octet)                |
//! +-------------------------------------+     +-------------------------------+
//! | Length of Next Hop (1 octet)        |     | Withdrawn Routes (variable)   |
//! +-------------------------------------+     +-------------------------------+
//! | Next Hop (variable)                 |
//! +-------------------------------------+
//! | Reserved (1 octet)                  |
//! +-------------------------------------+
//! | NLRI (variable)                     |
//! +-------------------------------------+
//! ```
//!
//! NLRI of IPv4/IPv6 unicast and multicast are decoded into [`Nlri`]; other
//! families (VPN, labelled, flowspec, EVPN, ...) are kept as opaque bytes,
//! which a reflector forwards unchanged.

use bytes::{BufMut, Bytes, BytesMut};
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::context::DecodeCtx;
use crate::error::{DecodeError, ErrorKind};
use crate::iana::{Afi, AfiSafi, Safi, attr_type};
use crate::nlri::{self, Nlri};

/// The next hop of an MP_REACH_NLRI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NextHop {
    /// An IPv4 next hop (4 octets).
    V4(Ipv4Addr),
    /// An IPv6 next hop: global address, and the link-local one when 32
    /// octets were sent (RFC 2545 section 3). Also used for IPv4 NLRI with
    /// an IPv6 next hop (RFC 8950).
    V6 {
        /// Global address.
        global: Ipv6Addr,
        /// Link-local address, if present.
        link_local: Option<Ipv6Addr>,
    },
    /// Any other encoding (VPN next hops with a route distinguisher, empty
    /// next hops of flowspec), byte-exact.
    Raw(Bytes),
}

impl NextHop {
    /// Length of the encoded next hop.
    pub fn encoded_len(&self) -> usize {
        match self {
            NextHop::V4(_) => 4,
            NextHop::V6 {
                link_local: None, ..
            } => 16,
            NextHop::V6 {
                link_local: Some(_),
                ..
            } => 32,
            NextHop::Raw(bytes) => bytes.len(),
        }
    }

    fn encode(&self, out: &mut BytesMut) {
        match self {
            NextHop::V4(addr) => out.put_slice(&addr.octets()),
            NextHop::V6 { global, link_local } => {
                out.put_slice(&global.octets());
                if let Some(link_local) = link_local {
                    out.put_slice(&link_local.octets());
                }
            }
            NextHop::Raw(bytes) => out.put_slice(bytes),
        }
    }

    /// Decode the next hop of family `family`. For IP unicast/multicast the
    /// length must be 4 (IPv4 only), 16 or 32 (RFC 4760 section 3, RFC 2545,
    /// RFC 8950); `None` means it is not.
    fn decode(bytes: &[u8], family: AfiSafi) -> Option<NextHop> {
        if !family.has_ip_prefix_nlri() {
            return Some(NextHop::Raw(Bytes::copy_from_slice(bytes)));
        }
        match (bytes.len(), family.afi) {
            (4, Afi::IPV4) => Some(NextHop::V4(Ipv4Addr::new(
                bytes[0], bytes[1], bytes[2], bytes[3],
            ))),
            (16, _) => Some(NextHop::V6 {
                global: ipv6(&bytes[..16]),
                link_local: None,
            }),
            (32, _) => Some(NextHop::V6 {
                global: ipv6(&bytes[..16]),
                link_local: Some(ipv6(&bytes[16..])),
            }),
            _ => None,
        }
    }
}

fn ipv6(bytes: &[u8]) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets.copy_from_slice(bytes);
    Ipv6Addr::from(octets)
}

/// The NLRI of an MP attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MpNlri {
    /// Decoded IP prefixes (IPv4/IPv6 unicast and multicast).
    Prefixes(Vec<Nlri>),
    /// Any other family's NLRI, byte-exact.
    Opaque(Bytes),
}

impl MpNlri {
    /// No NLRI at all (as in an End-of-RIB marker).
    pub fn is_empty(&self) -> bool {
        match self {
            MpNlri::Prefixes(prefixes) => prefixes.is_empty(),
            MpNlri::Opaque(bytes) => bytes.is_empty(),
        }
    }

    /// The decoded prefixes (empty for opaque families).
    pub fn prefixes(&self) -> &[Nlri] {
        match self {
            MpNlri::Prefixes(prefixes) => prefixes,
            MpNlri::Opaque(_) => &[],
        }
    }

    fn encoded_len(&self, add_path: bool) -> usize {
        match self {
            MpNlri::Prefixes(prefixes) => prefixes.iter().map(|p| p.encoded_len(add_path)).sum(),
            MpNlri::Opaque(bytes) => bytes.len(),
        }
    }

    fn encode(&self, add_path: bool, out: &mut BytesMut) {
        match self {
            MpNlri::Prefixes(prefixes) => nlri::encode_prefixes(prefixes, add_path, out),
            MpNlri::Opaque(bytes) => out.put_slice(bytes),
        }
    }

    fn decode(
        bytes: &[u8],
        family: AfiSafi,
        ctx: &DecodeCtx,
        location: &'static str,
        base: usize,
    ) -> Result<MpNlri, DecodeError> {
        if !family.has_ip_prefix_nlri() {
            return Ok(MpNlri::Opaque(Bytes::copy_from_slice(bytes)));
        }
        let mut prefixes = Vec::new();
        nlri::decode_prefixes(
            bytes,
            family.afi,
            ctx.add_path_for(family),
            location,
            base,
            &mut prefixes,
        )?;
        Ok(MpNlri::Prefixes(prefixes))
    }
}

/// MP_REACH_NLRI: reachable routes of one address family.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpReach {
    /// The address family.
    pub afi_safi: AfiSafi,
    /// The next hop for all NLRI of the attribute.
    pub next_hop: NextHop,
    /// The routes.
    pub nlri: MpNlri,
}

/// MP_UNREACH_NLRI: withdrawn routes of one address family. With no routes it
/// is the End-of-RIB marker of that family (RFC 4724 section 2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpUnreach {
    /// The address family.
    pub afi_safi: AfiSafi,
    /// The withdrawn routes.
    pub withdrawn: MpNlri,
}

fn family_of(value: &[u8]) -> Option<AfiSafi> {
    let [a, b, s, ..] = *value else {
        return None;
    };
    Some(AfiSafi::new(Afi(u16::from_be_bytes([a, b])), Safi(s)))
}

/// An error of the MP attributes. RFC 7606 section 7.11 requires a session
/// reset (or AFI/SAFI disable) for these, which the caller applies.
fn mp_error(type_code: u8, base: usize, reason: &'static str, value: &[u8]) -> DecodeError {
    DecodeError::new(
        attr_type::name(type_code),
        base,
        ErrorKind::OptionalAttribute {
            type_code,
            reason,
            attribute: Bytes::copy_from_slice(value),
        },
    )
}

impl MpReach {
    /// Decode the attribute value; `base` is its offset in the message.
    pub fn decode(value: &[u8], ctx: &DecodeCtx, base: usize) -> Result<Self, DecodeError> {
        const T: u8 = attr_type::MP_REACH_NLRI;
        let Some(afi_safi) = family_of(value) else {
            return Err(mp_error(
                T,
                base,
                "shorter than AFI, SAFI and next hop length",
                value,
            ));
        };
        let Some(&nh_len) = value.get(3) else {
            return Err(mp_error(
                T,
                base,
                "shorter than AFI, SAFI and next hop length",
                value,
            ));
        };
        let nh_end = 4 + usize::from(nh_len);
        let (Some(nh_bytes), Some(_reserved)) = (value.get(4..nh_end), value.get(nh_end)) else {
            return Err(mp_error(
                T,
                base + 3,
                "next hop overruns the attribute",
                value,
            ));
        };
        let Some(next_hop) = NextHop::decode(nh_bytes, afi_safi) else {
            return Err(mp_error(
                T,
                base + 3,
                "next hop length does not fit the address family",
                value,
            ));
        };
        let nlri = MpNlri::decode(
            &value[nh_end + 1..],
            afi_safi,
            ctx,
            "MP_REACH_NLRI",
            base + nh_end + 1,
        )?;
        Ok(MpReach {
            afi_safi,
            next_hop,
            nlri,
        })
    }

    /// Decode the abbreviated form of MRT TABLE_DUMP_V2 RIB entries (RFC 6396
    /// section 4.3.4): only the next-hop length and next hop; the family
    /// comes from the RIB entry.
    pub fn decode_mrt_abbreviated(value: &[u8], afi_safi: AfiSafi) -> Result<Self, DecodeError> {
        const T: u8 = attr_type::MP_REACH_NLRI;
        let Some((&nh_len, rest)) = value.split_first() else {
            return Err(mp_error(T, 0, "empty next hop", value));
        };
        let Some(nh_bytes) = rest.get(..usize::from(nh_len)) else {
            return Err(mp_error(T, 0, "next hop overruns the attribute", value));
        };
        let next_hop = NextHop::decode(nh_bytes, afi_safi)
            .unwrap_or_else(|| NextHop::Raw(Bytes::copy_from_slice(nh_bytes)));
        Ok(MpReach {
            afi_safi,
            next_hop,
            nlri: MpNlri::Prefixes(Vec::new()),
        })
    }

    /// Length of the encoded value.
    pub fn encoded_len(&self, add_path: bool) -> usize {
        5 + self.next_hop.encoded_len() + self.nlri.encoded_len(add_path)
    }

    /// Append the attribute value.
    pub fn encode(&self, add_path: bool, out: &mut BytesMut) {
        out.put_u16(self.afi_safi.afi.0);
        out.put_u8(self.afi_safi.safi.0);
        out.put_u8(self.next_hop.encoded_len() as u8);
        self.next_hop.encode(out);
        out.put_u8(0);
        self.nlri.encode(add_path, out);
    }
}

impl MpUnreach {
    /// Decode the attribute value; `base` is its offset in the message.
    pub fn decode(value: &[u8], ctx: &DecodeCtx, base: usize) -> Result<Self, DecodeError> {
        let Some(afi_safi) = family_of(value) else {
            return Err(mp_error(
                attr_type::MP_UNREACH_NLRI,
                base,
                "shorter than AFI and SAFI",
                value,
            ));
        };
        let withdrawn = MpNlri::decode(&value[3..], afi_safi, ctx, "MP_UNREACH_NLRI", base + 3)?;
        Ok(MpUnreach {
            afi_safi,
            withdrawn,
        })
    }

    /// The End-of-RIB marker of `afi_safi` (RFC 4724 section 2).
    pub fn end_of_rib(afi_safi: AfiSafi) -> Self {
        MpUnreach {
            afi_safi,
            withdrawn: if afi_safi.has_ip_prefix_nlri() {
                MpNlri::Prefixes(Vec::new())
            } else {
                MpNlri::Opaque(Bytes::new())
            },
        }
    }

    /// Length of the encoded value.
    pub fn encoded_len(&self, add_path: bool) -> usize {
        3 + self.withdrawn.encoded_len(add_path)
    }

    /// Append the attribute value.
    pub fn encode(&self, add_path: bool, out: &mut BytesMut) {
        out.put_u16(self.afi_safi.afi.0);
        out.put_u8(self.afi_safi.safi.0);
        self.withdrawn.encode(add_path, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CodecCtx;

    fn v6_reach(next_hop_len: u8) -> Vec<u8> {
        let mut value = vec![0, 2, 1, next_hop_len];
        value.extend(std::iter::repeat_n(0x20, usize::from(next_hop_len)));
        value.push(0);
        value.extend([32, 0x20, 0x01, 0x0d, 0xb8]);
        value
    }

    #[test]
    fn ipv6_next_hop_of_16_and_32_octets() {
        let ctx = CodecCtx::default();
        let one = MpReach::decode(&v6_reach(16), &ctx, 0).unwrap();
        assert!(matches!(
            one.next_hop,
            NextHop::V6 {
                link_local: None,
                ..
            }
        ));
        let two = MpReach::decode(&v6_reach(32), &ctx, 0).unwrap();
        assert!(matches!(
            two.next_hop,
            NextHop::V6 {
                link_local: Some(_),
                ..
            }
        ));
        assert_eq!(two.nlri.prefixes()[0].prefix.to_string(), "2001:db8::/32");
    }

    #[test]
    fn rfc7606_7_11_wrong_next_hop_length_is_an_error() {
        let err = MpReach::decode(&v6_reach(9), &CodecCtx::default(), 57).unwrap_err();
        assert_eq!(err.offset, 60);
        assert_eq!(err.location, "MP_REACH_NLRI");
        assert_eq!(err.notification().subcode, 9);
    }

    #[test]
    fn rfc8950_ipv4_nlri_with_ipv6_next_hop() {
        let mut value = vec![0, 1, 1, 16];
        value.extend([0xfe; 16]);
        value.push(0);
        value.extend([24, 10, 0, 0]);
        let reach = MpReach::decode(&value, &CodecCtx::default(), 0).unwrap();
        assert!(matches!(reach.next_hop, NextHop::V6 { .. }));
        let mut out = BytesMut::new();
        reach.encode(false, &mut out);
        assert_eq!(&out[..], &value[..]);
    }

    #[test]
    fn opaque_families_round_trip() {
        // A flowspec NLRI with an empty next hop.
        let value = [0, 1, 133, 0, 0, 5, 1, 24, 10, 0, 0];
        let reach = MpReach::decode(&value, &CodecCtx::default(), 0).unwrap();
        assert!(matches!(reach.nlri, MpNlri::Opaque(_)));
        let mut out = BytesMut::new();
        reach.encode(false, &mut out);
        assert_eq!(&out[..], &value);
    }

    #[test]
    fn end_of_rib_is_an_empty_unreach() {
        let eor = MpUnreach::end_of_rib(AfiSafi::IPV6_UNICAST);
        let mut out = BytesMut::new();
        eor.encode(false, &mut out);
        assert_eq!(&out[..], &[0, 2, 1]);
        let back = MpUnreach::decode(&out, &CodecCtx::default(), 0).unwrap();
        assert!(back.withdrawn.is_empty());
    }
}
