//! BGP Role capability (RFC 9234 section 4.1), code 9.
//!
//! ```text
//! +--------------------+
//! | Role (1 octet)     |
//! +--------------------+
//! ```
//!
//! Checking the two roles against each other (RFC 9234 section 4.2, Role
//! Mismatch) is the session layer's job; [`Role::expected_peer_role`] gives
//! the table it needs.

use std::fmt;

use super::malformed;
use crate::error::DecodeError;

/// The speaker's role on this session (RFC 9234 section 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Provider (0): the peer is our customer.
    Provider,
    /// Route Server (1).
    RouteServer,
    /// Route Server Client (2).
    RouteServerClient,
    /// Customer (3): the peer is our provider.
    Customer,
    /// Lateral peer (4).
    Peer,
    /// A value not assigned by RFC 9234, kept as received.
    Unknown(u8),
}

impl Role {
    /// The role from its wire octet.
    pub fn from_u8(value: u8) -> Self {
        match value {
            0 => Role::Provider,
            1 => Role::RouteServer,
            2 => Role::RouteServerClient,
            3 => Role::Customer,
            4 => Role::Peer,
            other => Role::Unknown(other),
        }
    }

    /// The wire octet.
    pub fn to_u8(self) -> u8 {
        match self {
            Role::Provider => 0,
            Role::RouteServer => 1,
            Role::RouteServerClient => 2,
            Role::Customer => 3,
            Role::Peer => 4,
            Role::Unknown(other) => other,
        }
    }

    /// The only role a peer may announce when we announce `self` (RFC 9234
    /// section 4.2, Table 2); `None` for an unknown role.
    pub fn expected_peer_role(self) -> Option<Role> {
        match self {
            Role::Provider => Some(Role::Customer),
            Role::Customer => Some(Role::Provider),
            Role::RouteServer => Some(Role::RouteServerClient),
            Role::RouteServerClient => Some(Role::RouteServer),
            Role::Peer => Some(Role::Peer),
            Role::Unknown(_) => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Provider => f.write_str("provider"),
            Role::RouteServer => f.write_str("route-server"),
            Role::RouteServerClient => f.write_str("route-server-client"),
            Role::Customer => f.write_str("customer"),
            Role::Peer => f.write_str("peer"),
            Role::Unknown(other) => write!(f, "role-{other}"),
        }
    }
}

/// Decode a BGP Role value: exactly one octet (RFC 9234 section 4.1).
pub(crate) fn decode(value: &[u8], offset: usize) -> Result<Role, DecodeError> {
    match *value {
        [role] => Ok(Role::from_u8(role)),
        _ => Err(malformed(
            "BGP Role capability",
            offset.saturating_sub(1),
            "length is not 1",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_octet_round_trips() {
        for v in 0..=u8::MAX {
            assert_eq!(Role::from_u8(v).to_u8(), v);
        }
        assert_eq!(Role::from_u8(7), Role::Unknown(7));
    }

    #[test]
    fn expected_roles_are_symmetric() {
        for v in 0..=4 {
            let role = Role::from_u8(v);
            let peer = role.expected_peer_role().unwrap();
            assert_eq!(peer.expected_peer_role(), Some(role));
        }
        assert!(decode(&[], 5).is_err());
        assert!(decode(&[1, 2], 5).is_err());
    }
}
