//! `[[policy]]` tables and their translation into
//! [`bgp_speaker::policy::Policy`] values (policy is data: the speaker
//! evaluates what this module builds).
//!
//! ```toml
//! [[policy]]
//! name = "from-clients"
//! default = "reject"
//!
//! [[policy.statement]]
//! name = "pod-cidrs"
//! match = { prefix = ["10.244.0.0/16 le 26"] }
//! actions = { local_pref = 200, add_communities = ["64512:1"] }
//! verdict = "accept"
//! ```
//!
//! All conditions of a `match` table must hold; `any = [{...}, {...}]`
//! holds when one of its tables does; `not = {...}` negates a table.

use serde::Deserialize;

use bgp_proto::attribute::Origin;
use bgp_speaker::policy::{Action, Condition, Policy, Statement, Verdict};
use ipnetwork::IpNetwork;

use super::values::{
    CommunityValue, Family, LargeCommunityValue, NextHopActionValue, PrefixRangeValue,
};

/// `[[policy]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDef {
    /// The name neighbours refer to in `import` / `export`.
    pub name: String,
    /// What happens to routes no statement accepted or rejected.
    #[serde(default)]
    pub default: DefaultVerdict,
    /// The statements, in order.
    #[serde(default)]
    pub statement: Vec<StatementDef>,
}

/// A policy's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultVerdict {
    /// Accept.
    Accept,
    /// Reject.
    #[default]
    Reject,
}

/// A statement's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictDef {
    /// Accept the route, stop.
    Accept,
    /// Reject the route, stop.
    Reject,
    /// Keep the changes and go on with the next statement.
    Next,
}

/// `[[policy.statement]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementDef {
    /// For logs.
    #[serde(default)]
    pub name: String,
    /// Conditions; an empty table matches every route.
    #[serde(default, rename = "match")]
    pub conditions: MatchDef,
    /// Actions, applied in the order of [`ActionsDef`]'s fields.
    #[serde(default)]
    pub actions: ActionsDef,
    /// What happens after the actions.
    pub verdict: VerdictDef,
}

/// ORIGIN values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OriginDef {
    /// IGP.
    Igp,
    /// EGP.
    Egp,
    /// INCOMPLETE.
    Incomplete,
}

impl From<OriginDef> for Origin {
    fn from(origin: OriginDef) -> Self {
        match origin {
            OriginDef::Igp => Origin::Igp,
            OriginDef::Egp => Origin::Egp,
            OriginDef::Incomplete => Origin::Incomplete,
        }
    }
}

/// `as_path_length = { min = 1, max = 3 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LengthRange {
    /// Shortest, default 0.
    #[serde(default)]
    pub min: u32,
    /// Longest, default unbounded.
    #[serde(default = "unbounded")]
    pub max: u32,
}

fn unbounded() -> u32 {
    u32::MAX
}

/// `match`: conditions that must all hold.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchDef {
    /// The prefix is in one of the ranges.
    pub prefix: Option<Vec<PrefixRangeValue>>,
    /// The route's family.
    pub family: Option<Family>,
    /// Every listed community is present (RFC 1997).
    pub community: Option<Vec<CommunityValue>>,
    /// Every listed large community is present (RFC 8092).
    pub large_community: Option<Vec<LargeCommunityValue>>,
    /// The AS path contains this AS.
    pub as_path_contains: Option<u32>,
    /// The route originates in this AS (last AS of the path).
    pub origin_as: Option<u32>,
    /// The first AS of the path is this one.
    pub neighbor_as: Option<u32>,
    /// The AS path length is in range.
    pub as_path_length: Option<LengthRange>,
    /// The peer's address is in the prefix.
    pub peer_address: Option<IpNetwork>,
    /// The peer's AS.
    pub peer_as: Option<u32>,
    /// ORIGIN.
    pub origin: Option<OriginDef>,
    /// The next hop is in the prefix.
    pub next_hop_in: Option<IpNetwork>,
    /// One of these tables holds.
    pub any: Option<Vec<MatchDef>>,
    /// This table does not hold.
    pub not: Option<Box<MatchDef>>,
}

/// `prepend = { asn = 64512, count = 2 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrependDef {
    /// The AS; our AS on the session if unset.
    #[serde(default)]
    pub asn: Option<u32>,
    /// How many times.
    pub count: u8,
}

/// `actions`, applied in this order.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsDef {
    /// Set LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Set MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// Set ORIGIN.
    pub origin: Option<OriginDef>,
    /// Replace all communities.
    pub replace_communities: Option<Vec<CommunityValue>>,
    /// Remove communities.
    pub remove_communities: Option<Vec<CommunityValue>>,
    /// Add communities.
    pub add_communities: Option<Vec<CommunityValue>>,
    /// Replace all large communities.
    pub replace_large_communities: Option<Vec<LargeCommunityValue>>,
    /// Remove large communities.
    pub remove_large_communities: Option<Vec<LargeCommunityValue>>,
    /// Add large communities.
    pub add_large_communities: Option<Vec<LargeCommunityValue>>,
    /// Prepend to the AS path.
    pub prepend: Option<PrependDef>,
    /// Set the next hop: `"self"` or an address.
    pub next_hop: Option<NextHopActionValue>,
}

impl PolicyDef {
    /// The speaker's policy.
    pub fn to_policy(&self) -> Policy {
        Policy {
            name: self.name.clone(),
            statements: self
                .statement
                .iter()
                .map(StatementDef::to_statement)
                .collect(),
            default: match self.default {
                DefaultVerdict::Accept => Verdict::Accept,
                DefaultVerdict::Reject => Verdict::Reject,
            },
        }
    }
}

impl StatementDef {
    fn to_statement(&self) -> Statement {
        Statement {
            name: self.name.clone(),
            conditions: self.conditions.to_conditions(),
            actions: self.actions.to_actions(),
            verdict: match self.verdict {
                VerdictDef::Accept => Verdict::Accept,
                VerdictDef::Reject => Verdict::Reject,
                VerdictDef::Next => Verdict::Next,
            },
        }
    }
}

impl MatchDef {
    /// The conditions, all of which must hold.
    pub fn to_conditions(&self) -> Vec<Condition> {
        let mut out = Vec::new();
        if let Some(ranges) = &self.prefix {
            out.push(Condition::Prefix(ranges.iter().map(|r| r.0).collect()));
        }
        if let Some(family) = self.family {
            out.push(Condition::Family(family.afi_safi()));
        }
        for c in self.community.iter().flatten() {
            out.push(Condition::Community(c.0));
        }
        for c in self.large_community.iter().flatten() {
            out.push(Condition::LargeCommunity(c.0));
        }
        if let Some(asn) = self.as_path_contains {
            out.push(Condition::AsPathContains(asn));
        }
        if let Some(asn) = self.origin_as {
            out.push(Condition::OriginatesFrom(asn));
        }
        if let Some(asn) = self.neighbor_as {
            out.push(Condition::NeighborAs(asn));
        }
        if let Some(LengthRange { min, max }) = self.as_path_length {
            out.push(Condition::AsPathLength { min, max });
        }
        if let Some(net) = self.peer_address {
            out.push(Condition::PeerAddress(net));
        }
        if let Some(asn) = self.peer_as {
            out.push(Condition::PeerAs(asn));
        }
        if let Some(origin) = self.origin {
            out.push(Condition::Origin(origin.into()));
        }
        if let Some(net) = self.next_hop_in {
            out.push(Condition::NextHopIn(net));
        }
        if let Some(tables) = &self.any {
            out.push(Condition::Any(
                tables.iter().map(MatchDef::to_condition).collect(),
            ));
        }
        if let Some(table) = &self.not {
            out.push(Condition::Not(Box::new(table.to_condition())));
        }
        out
    }

    /// The table as one condition: all of its conditions hold. The speaker
    /// has `Any` and `Not`, so "all of" is `not any of (not ...)`; a table
    /// with one condition is that condition.
    pub fn to_condition(&self) -> Condition {
        let mut conditions = self.to_conditions();
        if conditions.len() == 1 {
            return conditions.remove(0);
        }
        if conditions.is_empty() {
            // Holds for every route: "not (any of nothing)".
            return Condition::Not(Box::new(Condition::Any(Vec::new())));
        }
        Condition::Not(Box::new(Condition::Any(
            conditions
                .into_iter()
                .map(|c| Condition::Not(Box::new(c)))
                .collect(),
        )))
    }
}

impl ActionsDef {
    /// The actions, in field order.
    pub fn to_actions(&self) -> Vec<Action> {
        let communities = |list: &Vec<CommunityValue>| list.iter().map(|c| c.0).collect();
        let large = |list: &Vec<LargeCommunityValue>| list.iter().map(|c| c.0).collect();
        let mut out = Vec::new();
        if let Some(pref) = self.local_pref {
            out.push(Action::SetLocalPref(pref));
        }
        if let Some(med) = self.med {
            out.push(Action::SetMed(med));
        }
        if let Some(origin) = self.origin {
            out.push(Action::SetOrigin(origin.into()));
        }
        if let Some(list) = &self.replace_communities {
            out.push(Action::ReplaceCommunities(communities(list)));
        }
        if let Some(list) = &self.remove_communities {
            out.push(Action::RemoveCommunities(communities(list)));
        }
        if let Some(list) = &self.add_communities {
            out.push(Action::AddCommunities(communities(list)));
        }
        if let Some(list) = &self.replace_large_communities {
            out.push(Action::ReplaceLargeCommunities(large(list)));
        }
        if let Some(list) = &self.remove_large_communities {
            out.push(Action::RemoveLargeCommunities(large(list)));
        }
        if let Some(list) = &self.add_large_communities {
            out.push(Action::AddLargeCommunities(large(list)));
        }
        if let Some(PrependDef { asn, count }) = self.prepend {
            out.push(Action::PrependAs { asn, count });
        }
        if let Some(next_hop) = self.next_hop {
            out.push(Action::SetNextHop(next_hop.0));
        }
        out
    }
}
