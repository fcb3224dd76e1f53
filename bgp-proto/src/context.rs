//! Negotiated session state that changes how bytes are read and written.
//!
//! BGP's wire format depends on what the two speakers agreed in their OPEN
//! messages: AS numbers are 2 or 4 octets (RFC 6793), NLRI carry path
//! identifiers for some families (RFC 7911), messages may be up to 65535
//! octets (RFC 8654), and some error handling differs between iBGP and eBGP
//! (RFC 7606). That state is passed explicitly to every codec call as a
//! [`DecodeCtx`] or [`EncodeCtx`]; there are no globals.

use crate::iana::{Afi, AfiSafi, Safi};

/// Maximum BGP message size without Extended Message (RFC 4271 section 4.1).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Maximum BGP message size with Extended Message (RFC 8654 section 3).
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

/// Whether the peer is in our AS (iBGP) or another (eBGP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PeerType {
    /// Same AS: LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are meaningful.
    #[default]
    Internal,
    /// Different AS: those three attributes are discarded if received
    /// (RFC 7606 sections 7.5, 7.9, 7.10).
    External,
}

/// The set of address families for which NLRI carry a 4-octet path
/// identifier (RFC 7911 section 3) in one direction.
///
/// Only families with plain IP prefix NLRI are tracked, since those are the
/// ones this crate decodes; it is a small bit set, so contexts are `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AddPathFamilies(u8);

impl AddPathFamilies {
    /// No family uses path identifiers.
    pub const NONE: AddPathFamilies = AddPathFamilies(0);
    /// Every decodable family uses path identifiers (tests, MRT ADD-PATH records).
    pub const ALL: AddPathFamilies = AddPathFamilies(0b1111);

    fn bit(family: AfiSafi) -> u8 {
        match (family.afi, family.safi) {
            (Afi::IPV4, Safi::UNICAST) => 0b0001,
            (Afi::IPV6, Safi::UNICAST) => 0b0010,
            (Afi::IPV4, Safi::MULTICAST) => 0b0100,
            (Afi::IPV6, Safi::MULTICAST) => 0b1000,
            _ => 0,
        }
    }

    /// Mark `family` as carrying path identifiers.
    pub fn insert(&mut self, family: AfiSafi) {
        self.0 |= Self::bit(family);
    }

    /// This set with `family` added.
    #[must_use]
    pub fn with(mut self, family: AfiSafi) -> Self {
        self.insert(family);
        self
    }

    /// Does `family` carry path identifiers?
    pub fn contains(self, family: AfiSafi) -> bool {
        let bit = Self::bit(family);
        bit != 0 && self.0 & bit != 0
    }

    /// Is the set empty?
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Everything the decoder needs to know about the session (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodecCtx {
    /// Both sides announced the 4-octet AS capability (RFC 6793): AS_PATH and
    /// AGGREGATOR carry 4-octet AS numbers.
    pub four_octet_as: bool,
    /// Families whose NLRI carry path identifiers in this direction.
    pub add_path: AddPathFamilies,
    /// Both sides announced Extended Message (RFC 8654).
    pub extended_message: bool,
    /// iBGP or eBGP.
    pub peer_type: PeerType,
}

/// Context for reading messages a peer sent us.
pub type DecodeCtx = CodecCtx;
/// Context for writing messages to a peer.
pub type EncodeCtx = CodecCtx;

impl Default for CodecCtx {
    /// The modern default: 4-octet AS, no ADD-PATH, 4096-octet messages, iBGP.
    fn default() -> Self {
        CodecCtx {
            four_octet_as: true,
            add_path: AddPathFamilies::NONE,
            extended_message: false,
            peer_type: PeerType::Internal,
        }
    }
}

impl CodecCtx {
    /// The context of a session before OPEN negotiation: 2-octet AS numbers,
    /// 4096-octet messages. OPEN, NOTIFICATION and KEEPALIVE do not depend on
    /// it, so this is what a speaker uses until the OPENs are exchanged.
    pub const fn pre_open() -> Self {
        CodecCtx {
            four_octet_as: false,
            add_path: AddPathFamilies::NONE,
            extended_message: false,
            peer_type: PeerType::Internal,
        }
    }

    /// Largest message allowed on this session (RFC 8654 section 4).
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            MAX_EXTENDED_MESSAGE_LEN
        } else {
            MAX_MESSAGE_LEN
        }
    }

    /// Do NLRI of `family` carry a path identifier?
    pub fn add_path_for(&self, family: AfiSafi) -> bool {
        self.add_path.contains(family)
    }

    /// This context with 4-octet AS numbers on or off.
    #[must_use]
    pub fn with_four_octet_as(mut self, on: bool) -> Self {
        self.four_octet_as = on;
        self
    }

    /// This context with path identifiers for `family`.
    #[must_use]
    pub fn with_add_path(mut self, family: AfiSafi) -> Self {
        self.add_path.insert(family);
        self
    }

    /// This context with Extended Message on or off.
    #[must_use]
    pub fn with_extended_message(mut self, on: bool) -> Self {
        self.extended_message = on;
        self
    }

    /// This context for an iBGP or eBGP peer.
    #[must_use]
    pub fn with_peer_type(mut self, peer_type: PeerType) -> Self {
        self.peer_type = peer_type;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_path_families_track_only_ip_families() {
        let set = AddPathFamilies::NONE.with(AfiSafi::IPV6_UNICAST);
        assert!(set.contains(AfiSafi::IPV6_UNICAST));
        assert!(!set.contains(AfiSafi::IPV4_UNICAST));
        let flowspec = AfiSafi::new(Afi::IPV4, Safi::FLOWSPEC);
        assert!(!AddPathFamilies::ALL.contains(flowspec));
    }

    #[test]
    fn extended_message_raises_the_limit() {
        assert_eq!(CodecCtx::default().max_message_len(), 4096);
        assert_eq!(
            CodecCtx::default()
                .with_extended_message(true)
                .max_message_len(),
            65535
        );
    }
}
