//! The one place update groups call the export policy ([`crate::policy`]).
//!
//! A group evaluates its policy once per route for all members, with the
//! group's first member as [`RouteContext::peer`] (the target on export).
//! That is only exact when the policy cannot tell the members apart, so the
//! group key includes the member's address and AS whenever the policy tests
//! them ([`depends_on_peer`]), and the member's local address whenever the
//! policy sets next-hop-self ([`sets_next_hop_self`]).

use ipnetwork::IpNetwork;
use std::borrow::Cow;

use bgp_proto::iana::AfiSafi;

use crate::attrs::PathAttrs;
use crate::policy::{Action, Condition, NextHopAction, Policy, PolicyResult, RouteContext};
use crate::types::PeerInfo;

/// What the export policy did to a route.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Not exported (including RFC 8212: no policy towards eBGP).
    Reject,
    /// Exported with the attributes as they were.
    Unchanged,
    /// Exported with these attributes.
    Modified(PathAttrs),
}

/// Evaluate `policy` (or the RFC 8212 section 3 default when `None`) for
/// one route towards `target`.
pub(crate) fn evaluate(
    policy: Option<&Policy>,
    family: AfiSafi,
    prefix: IpNetwork,
    target: &PeerInfo,
    attrs: &PathAttrs,
) -> Verdict {
    let ctx = RouteContext {
        family,
        prefix,
        peer: target,
    };
    match Policy::evaluate_or_default(policy, &ctx, attrs) {
        PolicyResult::Reject => Verdict::Reject,
        PolicyResult::Accept(Cow::Borrowed(_)) => Verdict::Unchanged,
        PolicyResult::Accept(Cow::Owned(modified)) => Verdict::Modified(modified),
    }
}

/// Does the result depend on the prefix? If not, a group caches it per
/// attribute set.
pub(crate) fn depends_on_prefix(policy: Option<&Policy>) -> bool {
    policy.is_some_and(Policy::depends_on_prefix)
}

/// Does the policy test the target peer's address or AS?
pub(crate) fn depends_on_peer(policy: &Policy) -> bool {
    fn condition(c: &Condition) -> bool {
        match c {
            Condition::PeerAddress(_) | Condition::PeerAs(_) => true,
            Condition::Any(list) => list.iter().any(condition),
            Condition::Not(inner) => condition(inner),
            _ => false,
        }
    }
    policy
        .statements
        .iter()
        .any(|s| s.conditions.iter().any(condition))
}

/// Does the policy set next-hop-self (whose marker the group replaces with
/// the member's session address)?
pub(crate) fn sets_next_hop_self(policy: &Policy) -> bool {
    policy.statements.iter().any(|s| {
        s.actions
            .iter()
            .any(|a| matches!(a, Action::SetNextHop(NextHopAction::SelfAddress)))
    })
}
