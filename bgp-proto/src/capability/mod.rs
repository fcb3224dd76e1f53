//! OPEN capabilities (RFC 5492).
//!
//! Capabilities travel in OPEN optional parameters of type 2, each as a
//! code-length-value triple (RFC 5492 section 4):
//!
//! ```text
//! +------------------------------+
//! | Capability Code (1 octet)    |
//! +------------------------------+
//! | Capability Length (1 octet)  |
//! +------------------------------+
//! | Capability Value (variable)  |
//! ~                              ~
//! +------------------------------+
//! ```
//!
//! One parameter may hold several capabilities and several parameters may
//! each hold one; [`crate::message::Open`] keeps them in one flat list, in
//! wire order.
//!
//! Capabilities this crate knows are decoded into typed [`Capability`]
//! variants, and a known capability whose value has the wrong shape is a
//! [`DecodeError`] ([`ErrorKind::MalformedOpen`]). Any other code becomes
//! [`Capability::Unknown`], kept byte for byte, and never fails (RFC 5492
//! section 3: unknown capabilities are ignored, not rejected).
//!
//! Negotiation (intersecting two OPENs) is left to the session layer.
//!
//! # Layout
//! - this file: the [`Capability`] enum and its TLV decoder and encoder;
//! - [`multiprotocol`]: Multiprotocol (RFC 4760) and Extended Next Hop (RFC 8950);
//! - [`add_path`]: ADD-PATH (RFC 7911);
//! - [`graceful_restart`]: Graceful Restart (RFC 4724, RFC 8538) and
//!   Long-Lived Graceful Restart (RFC 9494);
//! - [`role`]: BGP Role (RFC 9234);
//! - [`fqdn`]: FQDN (draft-walton-bgp-hostname-capability).

pub mod add_path;
pub mod fqdn;
pub mod graceful_restart;
pub mod multiprotocol;
pub mod role;
pub(crate) mod wire;

use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

use crate::error::{DecodeError, ErrorKind};
use crate::iana::{AfiSafi, capability_code as cc};
use wire::Cursor;

pub use add_path::AddPathMode;
pub use fqdn::Fqdn;
pub use graceful_restart::{GracefulRestart, LlgrFamily};
pub use multiprotocol::ExtendedNextHop;
pub use role::Role;

/// Largest capability value: the length field is one octet (RFC 5492 section 4).
pub const MAX_VALUE_LEN: usize = 255;

/// One capability of an OPEN message (RFC 5492 section 4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Multiprotocol Extensions (RFC 4760 section 8): the speaker can carry
    /// this address family. One capability per family.
    Multiprotocol(AfiSafi),
    /// Route Refresh (RFC 2918 section 2).
    RouteRefresh,
    /// Extended Next Hop Encoding (RFC 8950 section 3): NLRI families whose
    /// next hop may belong to another address family.
    ExtendedNextHop(Vec<ExtendedNextHop>),
    /// Extended Message (RFC 8654 section 3): messages up to 65535 octets.
    ExtendedMessage,
    /// BGP Role (RFC 9234 section 4.1).
    BgpRole(Role),
    /// Graceful Restart (RFC 4724 section 3, RFC 8538 section 2).
    GracefulRestart(GracefulRestart),
    /// Support for 4-octet AS numbers (RFC 6793 section 3), with the
    /// speaker's real AS.
    FourOctetAs(u32),
    /// ADD-PATH (RFC 7911 section 4): per family, whether the speaker sends
    /// or receives path identifiers.
    AddPath(Vec<(AfiSafi, AddPathMode)>),
    /// Enhanced Route Refresh (RFC 7313 section 3).
    EnhancedRouteRefresh,
    /// Long-Lived Graceful Restart (RFC 9494 section 3).
    LongLivedGracefulRestart(Vec<LlgrFamily>),
    /// Host and domain name (draft-walton-bgp-hostname-capability).
    Fqdn(Fqdn),
    /// Pre-standard route refresh, code 128; same meaning as
    /// [`Capability::RouteRefresh`].
    RouteRefreshCisco,
    /// A capability this crate does not interpret, kept byte for byte.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value.
        value: Bytes,
    },
}

impl Capability {
    /// The capability code (IANA "Capability Codes").
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol(_) => cc::MULTIPROTOCOL,
            Capability::RouteRefresh => cc::ROUTE_REFRESH,
            Capability::ExtendedNextHop(_) => cc::EXTENDED_NEXT_HOP,
            Capability::ExtendedMessage => cc::EXTENDED_MESSAGE,
            Capability::BgpRole(_) => cc::BGP_ROLE,
            Capability::GracefulRestart(_) => cc::GRACEFUL_RESTART,
            Capability::FourOctetAs(_) => cc::FOUR_OCTET_AS,
            Capability::AddPath(_) => cc::ADD_PATH,
            Capability::EnhancedRouteRefresh => cc::ENHANCED_ROUTE_REFRESH,
            Capability::LongLivedGracefulRestart(_) => cc::LONG_LIVED_GRACEFUL_RESTART,
            Capability::Fqdn(_) => cc::FQDN,
            Capability::RouteRefreshCisco => cc::ROUTE_REFRESH_CISCO,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Decode one capability value.
    ///
    /// `offset` is the message offset of the value's first byte (header
    /// included); errors point at the length octet or the offending field.
    /// Unknown codes never fail.
    pub fn decode(code: u8, value: &[u8], offset: usize) -> Result<Capability, DecodeError> {
        let exact = |len: usize, name: &'static str, reason: &'static str| {
            if value.len() == len {
                Ok(())
            } else {
                Err(malformed(name, offset.saturating_sub(1), reason))
            }
        };
        Ok(match code {
            cc::MULTIPROTOCOL => Capability::Multiprotocol(multiprotocol::decode(value, offset)?),
            cc::ROUTE_REFRESH => {
                exact(0, "Route Refresh capability", "length is not 0")?;
                Capability::RouteRefresh
            }
            cc::EXTENDED_NEXT_HOP => {
                Capability::ExtendedNextHop(multiprotocol::decode_extended_next_hop(value, offset)?)
            }
            cc::EXTENDED_MESSAGE => {
                exact(0, "Extended Message capability", "length is not 0")?;
                Capability::ExtendedMessage
            }
            cc::BGP_ROLE => Capability::BgpRole(role::decode(value, offset)?),
            cc::GRACEFUL_RESTART => {
                Capability::GracefulRestart(graceful_restart::decode(value, offset)?)
            }
            cc::FOUR_OCTET_AS => {
                let mut c = Cursor::new(value, offset);
                match (c.u32(), c.is_empty()) {
                    (Some(asn), true) => Capability::FourOctetAs(asn),
                    _ => {
                        return Err(malformed(
                            "4-octet AS capability",
                            offset.saturating_sub(1),
                            "length is not 4",
                        ));
                    }
                }
            }
            cc::ADD_PATH => Capability::AddPath(add_path::decode(value, offset)?),
            cc::ENHANCED_ROUTE_REFRESH => {
                exact(0, "Enhanced Route Refresh capability", "length is not 0")?;
                Capability::EnhancedRouteRefresh
            }
            cc::LONG_LIVED_GRACEFUL_RESTART => {
                Capability::LongLivedGracefulRestart(graceful_restart::decode_llgr(value, offset)?)
            }
            cc::FQDN => Capability::Fqdn(fqdn::decode(value, offset)?),
            cc::ROUTE_REFRESH_CISCO => {
                exact(0, "Cisco Route Refresh capability", "length is not 0")?;
                Capability::RouteRefreshCisco
            }
            code => Capability::Unknown {
                code,
                value: Bytes::copy_from_slice(value),
            },
        })
    }

    /// Append the capability, code and length included.
    ///
    /// A value can hold at most [`MAX_VALUE_LEN`] octets. List capabilities
    /// (ADD-PATH, Extended Next Hop, Long-Lived Graceful Restart) that do
    /// not fit are written as several capabilities with the same code,
    /// which RFC 5492 section 4 allows and those RFCs read as one list.
    /// Graceful Restart keeps its first 63 families; an FQDN or unknown
    /// value is cut to fit.
    pub fn encode(&self, out: &mut BytesMut) {
        let code = self.code();
        match self {
            Capability::Multiprotocol(family) => {
                put_tlv(out, code, |out| multiprotocol::encode(*family, out));
            }
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh
            | Capability::RouteRefreshCisco => put_tlv(out, code, |_| {}),
            Capability::ExtendedNextHop(entries) => {
                put_list(
                    out,
                    code,
                    entries,
                    multiprotocol::ENH_ENTRY_LEN,
                    |e, out| e.encode(out),
                );
            }
            Capability::BgpRole(r) => put_tlv(out, code, |out| out.put_u8(r.to_u8())),
            Capability::GracefulRestart(gr) => put_tlv(out, code, |out| gr.encode(out)),
            Capability::FourOctetAs(asn) => put_tlv(out, code, |out| out.put_u32(*asn)),
            Capability::AddPath(entries) => {
                put_list(out, code, entries, add_path::ENTRY_LEN, |e, out| {
                    add_path::encode_entry(*e, out)
                });
            }
            Capability::LongLivedGracefulRestart(entries) => {
                put_list(
                    out,
                    code,
                    entries,
                    graceful_restart::LLGR_ENTRY_LEN,
                    |e, out| e.encode(out),
                );
            }
            Capability::Fqdn(name) => put_tlv(out, code, |out| name.encode(out)),
            Capability::Unknown { value, .. } => put_tlv(out, code, |out| {
                out.put_slice(value.get(..MAX_VALUE_LEN).unwrap_or(value));
            }),
        }
    }

    /// The capability's wire form, e.g. for the data of an Unsupported
    /// Capability NOTIFICATION (RFC 5492 section 5).
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(8);
        self.encode(&mut out);
        out.freeze()
    }

    /// The registry name of a capability code, for logs.
    pub fn name(code: u8) -> &'static str {
        match code {
            cc::MULTIPROTOCOL => "Multiprotocol",
            cc::ROUTE_REFRESH => "Route Refresh",
            cc::EXTENDED_NEXT_HOP => "Extended Next Hop",
            cc::EXTENDED_MESSAGE => "Extended Message",
            cc::BGP_ROLE => "BGP Role",
            cc::GRACEFUL_RESTART => "Graceful Restart",
            cc::FOUR_OCTET_AS => "4-octet AS",
            cc::ADD_PATH => "ADD-PATH",
            cc::ENHANCED_ROUTE_REFRESH => "Enhanced Route Refresh",
            cc::LONG_LIVED_GRACEFUL_RESTART => "Long-Lived Graceful Restart",
            cc::FQDN => "FQDN",
            cc::ROUTE_REFRESH_CISCO => "Route Refresh (Cisco)",
            _ => "unknown capability",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Capability::name(self.code());
        match self {
            Capability::Multiprotocol(family) => write!(f, "{name} {family}"),
            Capability::ExtendedNextHop(entries) => {
                f.write_str(name)?;
                for e in entries {
                    write!(f, " {}/{}", e.nlri, e.next_hop_afi)?;
                }
                Ok(())
            }
            Capability::BgpRole(r) => write!(f, "{name} {r}"),
            Capability::GracefulRestart(gr) => write!(f, "{name} {gr}"),
            Capability::FourOctetAs(asn) => write!(f, "{name} {asn}"),
            Capability::AddPath(entries) => {
                f.write_str(name)?;
                for (family, mode) in entries {
                    write!(f, " {family}/{mode}")?;
                }
                Ok(())
            }
            Capability::LongLivedGracefulRestart(entries) => {
                f.write_str(name)?;
                for e in entries {
                    write!(f, " {}/{}s", e.afi_safi, e.stale_time)?;
                }
                Ok(())
            }
            Capability::Fqdn(name_value) => write!(f, "{name} {name_value}"),
            Capability::Unknown { code, value } => {
                write!(f, "capability {code} ({} octets)", value.len())
            }
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh
            | Capability::RouteRefreshCisco => f.write_str(name),
        }
    }
}

/// Decode the capabilities of one optional parameter's value (RFC 5492
/// section 4), appending them to `out` in wire order.
///
/// `offset` is the message offset of `value`'s first byte. A capability
/// whose length overruns the parameter is [`ErrorKind::MalformedOpen`].
pub fn decode_capabilities(
    value: &[u8],
    offset: usize,
    out: &mut Vec<Capability>,
) -> Result<(), DecodeError> {
    let mut c = Cursor::new(value, offset);
    while !c.is_empty() {
        let start = c.offset();
        let (Some(code), Some(len)) = (c.u8(), c.u8()) else {
            return Err(malformed(
                "OPEN capability",
                start,
                "capability header overruns its optional parameter",
            ));
        };
        let value_offset = c.offset();
        let Some(cap_value) = c.take(usize::from(len)) else {
            return Err(malformed(
                "OPEN capability",
                start.saturating_add(1),
                "capability length overruns its optional parameter",
            ));
        };
        out.push(Capability::decode(code, cap_value, value_offset)?);
    }
    Ok(())
}

/// Append every capability of `capabilities`, in order.
pub fn encode_capabilities(capabilities: &[Capability], out: &mut BytesMut) {
    for capability in capabilities {
        capability.encode(out);
    }
}

/// A [`ErrorKind::MalformedOpen`] error.
pub(crate) fn malformed(
    location: &'static str,
    offset: usize,
    reason: &'static str,
) -> DecodeError {
    DecodeError::new(location, offset, ErrorKind::MalformedOpen { reason })
}

/// Write code, a length placeholder and the value, then fix the length.
/// Values are limited to [`MAX_VALUE_LEN`] by the callers.
fn put_tlv(out: &mut BytesMut, code: u8, value: impl FnOnce(&mut BytesMut)) {
    out.put_u8(code);
    let len_at = out.len();
    out.put_u8(0);
    value(out);
    let len = out.len().saturating_sub(len_at + 1);
    if let Some(slot) = out.get_mut(len_at) {
        *slot = u8::try_from(len).unwrap_or(u8::MAX);
    }
}

/// Write a list capability as one TLV per chunk that fits in a value.
fn put_list<T>(
    out: &mut BytesMut,
    code: u8,
    entries: &[T],
    entry_len: usize,
    mut encode: impl FnMut(&T, &mut BytesMut),
) {
    if entries.is_empty() {
        put_tlv(out, code, |_| {});
        return;
    }
    for chunk in entries.chunks((MAX_VALUE_LEN / entry_len).max(1)) {
        put_tlv(out, code, |out| {
            for entry in chunk {
                encode(entry, out);
            }
        });
    }
}

#[cfg(test)]
mod tests;
