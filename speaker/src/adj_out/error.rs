//! Errors of the update-group API.

use bgp_proto::iana::AfiSafi;

use crate::types::PeerId;

use super::key::GroupId;

/// A call to [`super::AdjOut`] that could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdjOutError {
    /// The peer is a member already.
    #[error("{peer} is already a member of {group}")]
    AlreadyMember {
        /// The peer.
        peer: PeerId,
        /// Its group.
        group: GroupId,
    },
    /// The peer is not a member of any group.
    #[error("{0} is not a member of any update group")]
    NotAMember(PeerId),
    /// The peer did not negotiate the family (RFC 4760 section 6).
    #[error("{peer} did not negotiate {family}")]
    FamilyNotNegotiated {
        /// The peer.
        peer: PeerId,
        /// The family.
        family: AfiSafi,
    },
}
