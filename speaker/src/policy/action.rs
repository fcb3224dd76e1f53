//! Policy actions: how a statement changes a route's attributes.
//!
//! Every action first checks whether it would change anything, and only
//! then takes an owned copy of the attributes, so a policy that changes
//! nothing leaves the route's interned set borrowed.

use bytes::Bytes;
use std::borrow::Cow;
use std::net::IpAddr;

use bgp_proto::attribute::{Community, LargeCommunity, NextHop, Origin, PathAttribute};
use bgp_proto::iana::attr_type;

use crate::attrs::PathAttrs;

use super::{RouteContext, communities, large_communities};

/// One action of a [`super::Statement`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Set LOCAL_PREF (RFC 4271 section 5.1.5).
    SetLocalPref(u32),
    /// Set MULTI_EXIT_DISC (RFC 4271 section 5.1.4).
    SetMed(u32),
    /// Add standard communities that are not present yet (RFC 1997).
    AddCommunities(Vec<Community>),
    /// Remove these standard communities.
    RemoveCommunities(Vec<Community>),
    /// Replace all standard communities (an empty list removes the attribute).
    ReplaceCommunities(Vec<Community>),
    /// Add large communities that are not present yet (RFC 8092).
    AddLargeCommunities(Vec<LargeCommunity>),
    /// Remove these large communities.
    RemoveLargeCommunities(Vec<LargeCommunity>),
    /// Replace all large communities (an empty list removes the attribute).
    ReplaceLargeCommunities(Vec<LargeCommunity>),
    /// Prepend an AS to the AS path `count` times (RFC 4271 section 5.1.2).
    PrependAs {
        /// The AS to prepend; `None` for our AS on the session
        /// ([`crate::types::PeerInfo::local_as`]).
        asn: Option<u32>,
        /// How many times.
        count: u8,
    },
    /// Set the next hop.
    SetNextHop(NextHopAction),
    /// Set ORIGIN (RFC 4271 section 5.1.1).
    SetOrigin(Origin),
}

/// The next hop a [`Action::SetNextHop`] sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHopAction {
    /// Our own address on the session. The attribute set gets the
    /// [`next_hop_self`] marker, which the export side replaces with the
    /// session's local address (and the import side with the peer's
    /// address).
    SelfAddress,
    /// This address.
    Address(IpAddr),
}

/// The marker octets of "next hop self": 5 octets, a length no IP family's
/// next hop can have (RFC 4760 section 3: 4, 16 or 32), so a decoded
/// UPDATE never carries it.
const NEXT_HOP_SELF: &[u8] = b"\0self";

/// The next-hop-self marker (see [`NextHopAction::SelfAddress`]).
pub fn next_hop_self() -> NextHop {
    NextHop::Raw(Bytes::from_static(NEXT_HOP_SELF))
}

/// Is this next hop the next-hop-self marker?
pub fn is_next_hop_self(next_hop: &NextHop) -> bool {
    matches!(next_hop, NextHop::Raw(bytes) if bytes.as_ref() == NEXT_HOP_SELF)
}

impl Action {
    /// Apply the action to `attrs`, copying them only if they change.
    pub fn apply(&self, ctx: &RouteContext<'_>, attrs: &mut Cow<'_, PathAttrs>) {
        match self {
            Action::SetLocalPref(pref) => {
                if attrs.local_pref() != Some(*pref) {
                    set(attrs.to_mut(), PathAttribute::LocalPref(*pref));
                }
            }
            Action::SetMed(med) => {
                if attrs.med() != Some(*med) {
                    set(attrs.to_mut(), PathAttribute::MultiExitDisc(*med));
                }
            }
            Action::AddCommunities(add) => {
                let list = communities(attrs);
                if add.iter().any(|c| !list.contains(c)) {
                    let mut list = list.to_vec();
                    for c in add {
                        if !list.contains(c) {
                            list.push(*c);
                        }
                    }
                    set(attrs.to_mut(), PathAttribute::Communities(list.into()));
                }
            }
            Action::RemoveCommunities(remove) => {
                let list = communities(attrs);
                if list.iter().any(|c| remove.contains(c)) {
                    let list = list
                        .iter()
                        .filter(|c| !remove.contains(c))
                        .copied()
                        .collect();
                    set_communities(attrs.to_mut(), list);
                }
            }
            Action::ReplaceCommunities(new) => {
                if communities(attrs) != new.as_slice() {
                    set_communities(attrs.to_mut(), new.clone());
                }
            }
            Action::AddLargeCommunities(add) => {
                let list = large_communities(attrs);
                if add.iter().any(|c| !list.contains(c)) {
                    let mut list = list.to_vec();
                    for c in add {
                        if !list.contains(c) {
                            list.push(*c);
                        }
                    }
                    set(attrs.to_mut(), PathAttribute::LargeCommunities(list));
                }
            }
            Action::RemoveLargeCommunities(remove) => {
                let list = large_communities(attrs);
                if list.iter().any(|c| remove.contains(c)) {
                    let list = list
                        .iter()
                        .filter(|c| !remove.contains(c))
                        .copied()
                        .collect();
                    set_large_communities(attrs.to_mut(), list);
                }
            }
            Action::ReplaceLargeCommunities(new) => {
                if large_communities(attrs) != new.as_slice() {
                    set_large_communities(attrs.to_mut(), new.clone());
                }
            }
            Action::PrependAs { asn, count } => {
                if *count > 0 {
                    let asn = asn.unwrap_or(ctx.peer.local_as);
                    let path = attrs.as_path().prepended(asn, usize::from(*count));
                    set(attrs.to_mut(), PathAttribute::AsPath(path));
                }
            }
            Action::SetNextHop(action) => {
                let next_hop = match action {
                    NextHopAction::SelfAddress => next_hop_self(),
                    NextHopAction::Address(IpAddr::V4(address)) => NextHop::V4(*address),
                    NextHopAction::Address(IpAddr::V6(address)) => NextHop::V6 {
                        global: *address,
                        link_local: None,
                    },
                };
                if attrs.next_hop != next_hop {
                    attrs.to_mut().next_hop = next_hop;
                }
            }
            Action::SetOrigin(origin) => {
                if attrs.get(attr_type::ORIGIN) != Some(&PathAttribute::Origin(*origin)) {
                    set(attrs.to_mut(), PathAttribute::Origin(*origin));
                }
            }
        }
    }
}

/// Replace the attribute of the same type, or insert it in type-code order.
fn set(attrs: &mut PathAttrs, attribute: PathAttribute) {
    let code = attribute.type_code();
    let list = &mut attrs.attributes;
    if let Some(existing) = list.iter_mut().find(|a| a.type_code() == code) {
        *existing = attribute;
        return;
    }
    let at = list
        .iter()
        .position(|a| a.type_code() > code)
        .unwrap_or(list.len());
    list.insert(at, attribute);
}

fn remove(attrs: &mut PathAttrs, code: u8) {
    attrs.attributes.retain(|a| a.type_code() != code);
}

fn set_communities(attrs: &mut PathAttrs, list: Vec<Community>) {
    if list.is_empty() {
        remove(attrs, attr_type::COMMUNITIES);
    } else {
        set(attrs, PathAttribute::Communities(list.into()));
    }
}

fn set_large_communities(attrs: &mut PathAttrs, list: Vec<LargeCommunity>) {
    if list.is_empty() {
        remove(attrs, attr_type::LARGE_COMMUNITIES);
    } else {
        set(attrs, PathAttribute::LargeCommunities(list));
    }
}
