//! OPEN (RFC 4271 section 4.2), with capabilities (RFC 5492) and Extended
//! Optional Parameters Length (RFC 9072).
//!
//! The body after the common header:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+
//! |    Version    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     My Autonomous System      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Hold Time           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         BGP Identifier                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Opt Parm Len  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |             Optional Parameters (variable)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Each optional parameter (RFC 4271 section 4.2):
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Parm. Type   |  Parm. Length |  Parameter Value (variable)   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! With RFC 9072 (section 2), when the parameters need more than 255
//! octets, the one-octet length is set to 255 and followed by a marker type
//! 255 and a two-octet length; every parameter length is then two octets:
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Non-Ext OP Len| Non-Ext OP Type|  Extended Opt. Parm. Length  |
//! |    (255)      |    (255)       |        (2 octets)            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Parm. Type   |  Parameter Length (2 octets)  | Value ...     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The only parameter type in use is 2, Capabilities (RFC 5492 section 4);
//! any other is [`ErrorKind::UnsupportedOptionalParameter`]. Decoding only
//! checks structure: the peer AS, hold time and identifier are judged by
//! the session layer (RFC 4271 section 6.2), which also negotiates the
//! capabilities.

use bytes::{BufMut, BytesMut};
use std::net::Ipv4Addr;

use crate::capability::add_path::AddPathMode;
use crate::capability::wire::Cursor;
use crate::capability::{
    Capability, ExtendedNextHop, Fqdn, GracefulRestart, LlgrFamily, Role, decode_capabilities,
    malformed,
};
use crate::error::{DecodeError, ErrorKind};
use crate::iana::{AS_TRANS, AfiSafi};
use crate::message::HEADER_LEN;

/// The BGP version this crate speaks (RFC 4271 section 4.2).
pub const BGP_VERSION: u8 = 4;
/// Optional parameter type Capabilities (RFC 5492 section 4).
pub const PARAM_CAPABILITIES: u8 = 2;
/// Marker type of the extended parameter format (RFC 9072 section 2).
pub const PARAM_EXTENDED_LENGTH: u8 = 255;
/// Octets of the body before the optional parameters.
const FIXED_LEN: usize = 10;
/// Where the optional parameter length sits, from the message start.
const OPT_PARAM_LEN_AT: usize = HEADER_LEN + 9;

/// How capabilities are spread over optional parameters. RFC 5492 section 4
/// allows both one parameter per capability and several capabilities per
/// parameter; the layout is kept so that a decoded OPEN re-encodes
/// byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ParameterLayout {
    /// Each capability in its own parameter, the most widely understood form.
    #[default]
    OnePerParameter,
    /// All capabilities in one parameter.
    Single,
    /// As received: the number of capabilities in each parameter, in order
    /// (0 for an empty parameter). Capabilities beyond the counts are
    /// written one per parameter.
    Grouped(Vec<usize>),
}

/// An OPEN message (RFC 4271 section 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Open {
    /// Version; always [`BGP_VERSION`] when decoded.
    pub version: u8,
    /// The 2-octet My Autonomous System field: the AS, or [`AS_TRANS`]
    /// when it does not fit (RFC 6793 section 3). See [`Open::asn`].
    pub my_as: u16,
    /// Proposed hold time in seconds (0, or 3 and more; not checked here).
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_identifier: Ipv4Addr,
    /// Every capability of every parameter, in wire order.
    pub capabilities: Vec<Capability>,
    /// How the capabilities are grouped into parameters.
    pub layout: ParameterLayout,
}

impl Open {
    /// An OPEN for AS `asn`: My Autonomous System is `asn`, or [`AS_TRANS`]
    /// above 65535, and a [`Capability::FourOctetAs`] carrying `asn` is
    /// appended to `capabilities` (or replaces the value of one already
    /// there), as RFC 6793 section 3 has every 4-octet-capable speaker do.
    pub fn new(
        asn: u32,
        hold_time: u16,
        bgp_identifier: Ipv4Addr,
        mut capabilities: Vec<Capability>,
    ) -> Self {
        let mut found = false;
        for cap in &mut capabilities {
            if let Capability::FourOctetAs(value) = cap {
                *value = asn;
                found = true;
            }
        }
        if !found {
            capabilities.push(Capability::FourOctetAs(asn));
        }
        Open {
            version: BGP_VERSION,
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
            hold_time,
            bgp_identifier,
            capabilities,
            layout: ParameterLayout::default(),
        }
    }

    /// Decode the body (the bytes after the 19-octet header).
    ///
    /// Errors, with offsets from the message start: a version other than 4
    /// is [`ErrorKind::UnsupportedVersion`]; a parameter type other than 2
    /// is [`ErrorKind::UnsupportedOptionalParameter`] (RFC 5492 section 4);
    /// lengths that disagree, and malformed known capabilities, are
    /// [`ErrorKind::MalformedOpen`]; a body shorter than 10 octets is
    /// [`ErrorKind::Truncated`].
    pub fn decode(body: &[u8]) -> Result<Open, DecodeError> {
        let mut c = Cursor::new(body, HEADER_LEN);
        let fixed = (c.u8(), c.u16(), c.u16(), c.u32(), c.u8());
        let (Some(version), Some(my_as), Some(hold_time), Some(id), Some(opt_len)) = fixed else {
            return Err(DecodeError::new(
                "OPEN",
                HEADER_LEN,
                ErrorKind::Truncated {
                    field: "OPEN fixed fields",
                    needed: FIXED_LEN,
                    available: body.len(),
                },
            ));
        };
        if version != BGP_VERSION {
            return Err(DecodeError::new(
                "OPEN",
                HEADER_LEN,
                ErrorKind::UnsupportedVersion { version },
            ));
        }
        // RFC 9072 section 2: 255 followed by type 255 announces the
        // extended format.
        let extended = opt_len == 255 && c.peek_u8() == Some(PARAM_EXTENDED_LENGTH);
        let params_len = if extended {
            let ext = (c.u8(), c.u16());
            let (Some(_), Some(len)) = ext else {
                return Err(malformed(
                    "OPEN",
                    OPT_PARAM_LEN_AT,
                    "extended optional parameters length truncated",
                ));
            };
            usize::from(len)
        } else {
            usize::from(opt_len)
        };
        if c.remaining() != params_len {
            return Err(malformed(
                "OPEN",
                OPT_PARAM_LEN_AT,
                "optional parameters length disagrees with the message length",
            ));
        }

        let mut capabilities = Vec::new();
        let mut groups = Vec::new();
        while !c.is_empty() {
            let start = c.offset();
            let Some(param_type) = c.u8() else { break };
            let len = if extended {
                c.u16().map(usize::from)
            } else {
                c.u8().map(usize::from)
            };
            let value_at = c.offset();
            let Some(value) = len.and_then(|len| c.take(len)) else {
                return Err(malformed(
                    "OPEN",
                    start,
                    "optional parameter overruns the optional parameters",
                ));
            };
            if param_type != PARAM_CAPABILITIES {
                return Err(DecodeError::new(
                    "OPEN",
                    start,
                    ErrorKind::UnsupportedOptionalParameter {
                        parameter_type: param_type,
                    },
                ));
            }
            let before = capabilities.len();
            decode_capabilities(value, value_at, &mut capabilities)?;
            groups.push(capabilities.len() - before);
        }

        Ok(Open {
            version,
            my_as,
            hold_time,
            bgp_identifier: Ipv4Addr::from(id),
            capabilities,
            layout: layout_of(groups),
        })
    }

    /// Append the body (after the header). The RFC 9072 extended format is
    /// used only when the parameters need more than 255 octets.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.version);
        out.put_u16(self.my_as);
        out.put_u16(self.hold_time);
        out.put_u32(u32::from(self.bgp_identifier));

        // Encode the parameter values first: their sizes pick the format.
        let mut values = BytesMut::new();
        let mut ends = Vec::new();
        for group in self.groups() {
            for cap in group {
                cap.encode(&mut values);
            }
            ends.push(values.len());
        }
        let mut start = 0;
        let params: Vec<&[u8]> = ends
            .iter()
            .map(|&end| {
                let value = values.get(start..end).unwrap_or_default();
                start = end;
                value
            })
            .collect();

        let short_len: usize = params.iter().map(|v| 2 + v.len()).sum();
        if short_len <= 255 {
            out.put_u8(short_len as u8);
            for value in params {
                out.put_u8(PARAM_CAPABILITIES);
                out.put_u8(value.len() as u8);
                out.put_slice(value);
            }
        } else {
            let long_len: usize = params.iter().map(|v| 3 + v.len()).sum();
            out.put_u8(255);
            out.put_u8(PARAM_EXTENDED_LENGTH);
            out.put_u16(u16::try_from(long_len).unwrap_or(u16::MAX));
            for value in params {
                out.put_u8(PARAM_CAPABILITIES);
                out.put_u16(u16::try_from(value.len()).unwrap_or(u16::MAX));
                out.put_slice(value);
            }
        }
    }

    /// The capabilities of each parameter to write, following `layout`.
    fn groups(&self) -> Vec<&[Capability]> {
        let caps = self.capabilities.as_slice();
        match &self.layout {
            ParameterLayout::OnePerParameter => caps.chunks(1).collect(),
            ParameterLayout::Single if caps.is_empty() => Vec::new(),
            ParameterLayout::Single => vec![caps],
            ParameterLayout::Grouped(counts) => {
                let mut rest = caps;
                let mut groups = Vec::with_capacity(counts.len());
                for &count in counts {
                    if count > 0 && rest.is_empty() {
                        continue;
                    }
                    let (group, tail) = rest.split_at(count.min(rest.len()));
                    groups.push(group);
                    rest = tail;
                }
                groups.extend(rest.chunks(1));
                groups
            }
        }
    }

    /// The speaker's AS: the 4-octet AS capability's value if present,
    /// else My Autonomous System (RFC 6793 section 4.1).
    pub fn asn(&self) -> u32 {
        self.four_octet_as().unwrap_or(u32::from(self.my_as))
    }

    /// The AS of the first 4-octet AS capability (RFC 6793 section 3).
    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities.iter().find_map(|cap| match cap {
            Capability::FourOctetAs(asn) => Some(*asn),
            _ => None,
        })
    }

    /// The families of the Multiprotocol capabilities (RFC 4760 section 8),
    /// in order. A speaker without any supports only IPv4 unicast.
    pub fn multiprotocol(&self) -> impl Iterator<Item = AfiSafi> + '_ {
        self.capabilities.iter().filter_map(|cap| match cap {
            Capability::Multiprotocol(family) => Some(*family),
            _ => None,
        })
    }

    /// Every ADD-PATH entry, across all ADD-PATH capabilities (RFC 7911
    /// section 4).
    pub fn add_path(&self) -> impl Iterator<Item = (AfiSafi, AddPathMode)> + '_ {
        self.capabilities
            .iter()
            .filter_map(|cap| match cap {
                Capability::AddPath(entries) => Some(entries.iter().copied()),
                _ => None,
            })
            .flatten()
    }

    /// Every Extended Next Hop entry (RFC 8950 section 3).
    pub fn extended_next_hop(&self) -> impl Iterator<Item = ExtendedNextHop> + '_ {
        self.capabilities
            .iter()
            .filter_map(|cap| match cap {
                Capability::ExtendedNextHop(entries) => Some(entries.iter().copied()),
                _ => None,
            })
            .flatten()
    }

    /// Route Refresh, standard (RFC 2918) or pre-standard code 128?
    pub fn supports_route_refresh(&self) -> bool {
        self.has(|cap| {
            matches!(
                cap,
                Capability::RouteRefresh | Capability::RouteRefreshCisco
            )
        })
    }

    /// Enhanced Route Refresh (RFC 7313 section 3)?
    pub fn supports_enhanced_route_refresh(&self) -> bool {
        self.has(|cap| matches!(cap, Capability::EnhancedRouteRefresh))
    }

    /// Extended Message (RFC 8654 section 3)?
    pub fn extended_message(&self) -> bool {
        self.has(|cap| matches!(cap, Capability::ExtendedMessage))
    }

    /// The first Graceful Restart capability (RFC 4724 section 3).
    pub fn graceful_restart(&self) -> Option<&GracefulRestart> {
        self.capabilities.iter().find_map(|cap| match cap {
            Capability::GracefulRestart(gr) => Some(gr),
            _ => None,
        })
    }

    /// Every Long-Lived Graceful Restart family (RFC 9494 section 3).
    pub fn long_lived_graceful_restart(&self) -> impl Iterator<Item = &LlgrFamily> + '_ {
        self.capabilities
            .iter()
            .filter_map(|cap| match cap {
                Capability::LongLivedGracefulRestart(entries) => Some(entries.iter()),
                _ => None,
            })
            .flatten()
    }

    /// The first BGP Role capability (RFC 9234 section 4.1).
    pub fn role(&self) -> Option<Role> {
        self.capabilities.iter().find_map(|cap| match cap {
            Capability::BgpRole(role) => Some(*role),
            _ => None,
        })
    }

    /// The first FQDN capability.
    pub fn fqdn(&self) -> Option<&Fqdn> {
        self.capabilities.iter().find_map(|cap| match cap {
            Capability::Fqdn(fqdn) => Some(fqdn),
            _ => None,
        })
    }

    /// Every capability with code `code`, e.g. to echo unsupported ones in
    /// a NOTIFICATION (RFC 5492 section 5).
    pub fn capabilities_with_code(&self, code: u8) -> impl Iterator<Item = &Capability> + '_ {
        self.capabilities
            .iter()
            .filter(move |cap| cap.code() == code)
    }

    fn has(&self, pred: impl Fn(&Capability) -> bool) -> bool {
        self.capabilities.iter().any(pred)
    }
}

/// The layout that reproduces the parameters as received.
fn layout_of(groups: Vec<usize>) -> ParameterLayout {
    if groups.iter().all(|&n| n == 1) {
        return ParameterLayout::OnePerParameter;
    }
    match groups[..] {
        [n] if n > 1 => ParameterLayout::Single,
        _ => ParameterLayout::Grouped(groups),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iana::Afi;

    fn body(open: &Open) -> BytesMut {
        let mut out = BytesMut::new();
        open.encode(&mut out);
        out
    }

    #[test]
    fn new_uses_as_trans_for_large_asns() {
        let open = Open::new(4_200_000_000, 90, Ipv4Addr::new(192, 0, 2, 1), vec![]);
        assert_eq!(open.my_as, AS_TRANS);
        assert_eq!(open.asn(), 4_200_000_000);
        assert_eq!(
            open.capabilities,
            vec![Capability::FourOctetAs(4_200_000_000)]
        );
        let open = Open::new(
            65001,
            90,
            Ipv4Addr::LOCALHOST,
            vec![Capability::FourOctetAs(1)],
        );
        assert_eq!((open.my_as, open.asn()), (65001, 65001));
        assert_eq!(open.capabilities.len(), 1);
    }

    #[test]
    fn minimal_open_round_trips() {
        let open = Open {
            version: 4,
            my_as: 65000,
            hold_time: 180,
            bgp_identifier: Ipv4Addr::new(10, 0, 0, 1),
            capabilities: vec![],
            layout: ParameterLayout::OnePerParameter,
        };
        let wire = body(&open);
        assert_eq!(&wire[..], &[4, 0xfd, 0xe8, 0, 180, 10, 0, 0, 1, 0]);
        assert_eq!(Open::decode(&wire), Ok(open));
    }

    #[test]
    fn layouts_are_detected_and_reproduced() {
        // One parameter with two capabilities, then an empty parameter.
        let wire = [
            4, 0, 1, 0, 90, 1, 2, 3, 4, 12, 2, 8, 2, 0, 65, 4, 0, 0, 0, 1, 2, 0,
        ];
        let open = Open::decode(&wire).unwrap();
        assert_eq!(open.layout, ParameterLayout::Grouped(vec![2, 0]));
        assert_eq!(&body(&open)[..], &wire);
        let mut single = open.clone();
        single.layout = ParameterLayout::Single;
        assert_eq!(&body(&single)[9..], &[10, 2, 8, 2, 0, 65, 4, 0, 0, 0, 1]);
        let decoded = Open::decode(&body(&single)).unwrap();
        assert_eq!(decoded, single);
    }

    #[test]
    fn grouped_layout_survives_inconsistent_counts() {
        let mut open = Open::new(1, 0, Ipv4Addr::LOCALHOST, vec![Capability::RouteRefresh]);
        open.layout = ParameterLayout::Grouped(vec![5, 3]);
        let decoded = Open::decode(&body(&open)).unwrap();
        assert_eq!(decoded.capabilities, open.capabilities);
        assert_eq!(decoded.layout, ParameterLayout::Single);
    }

    #[test]
    fn helpers_find_capabilities() {
        let open = Open::new(
            65001,
            90,
            Ipv4Addr::LOCALHOST,
            vec![
                Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
                Capability::Multiprotocol(AfiSafi::IPV6_UNICAST),
                Capability::RouteRefreshCisco,
                Capability::AddPath(vec![(AfiSafi::IPV6_UNICAST, AddPathMode::Send)]),
                Capability::AddPath(vec![(AfiSafi::IPV4_UNICAST, AddPathMode::Both)]),
                Capability::BgpRole(Role::Peer),
                Capability::ExtendedNextHop(vec![ExtendedNextHop::new(
                    AfiSafi::IPV4_UNICAST,
                    Afi::IPV6,
                )]),
            ],
        );
        assert_eq!(open.multiprotocol().count(), 2);
        assert_eq!(open.add_path().count(), 2);
        assert!(open.supports_route_refresh());
        assert!(!open.supports_enhanced_route_refresh());
        assert!(!open.extended_message());
        assert_eq!(open.graceful_restart(), None);
        assert_eq!(open.role(), Some(Role::Peer));
        assert_eq!(open.extended_next_hop().count(), 1);
        assert_eq!(open.long_lived_graceful_restart().count(), 0);
        assert_eq!(open.capabilities_with_code(69).count(), 2);
        assert_eq!(open.fqdn(), None);
    }

    #[test]
    fn short_bodies_are_truncated_not_panics() {
        for len in 0..FIXED_LEN {
            let err = Open::decode(&[4; FIXED_LEN][..len]).unwrap_err();
            assert!(matches!(err.kind, ErrorKind::Truncated { .. }));
        }
    }

    #[test]
    fn extended_marker_without_length_is_malformed() {
        let mut wire = vec![4, 0, 1, 0, 90, 1, 2, 3, 4, 255, 255];
        wire.resize(FIXED_LEN + 255, 0);
        // 255 octets follow the length, but the first is the marker and
        // the extended length (0x0000) disagrees with what follows.
        let err = Open::decode(&wire).unwrap_err();
        assert!(matches!(err.kind, ErrorKind::MalformedOpen { .. }));
        let err = Open::decode(&[4, 0, 1, 0, 90, 1, 2, 3, 4, 255, 255, 0]).unwrap_err();
        assert!(matches!(err.kind, ErrorKind::MalformedOpen { .. }));
        assert_eq!(err.offset, OPT_PARAM_LEN_AT);
    }
}
