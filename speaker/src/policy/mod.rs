//! Import and export policy as data.
//!
//! A [`Policy`] is an ordered list of [`Statement`]s and a default
//! [`Verdict`]. Each statement has conditions (all must match), actions and a
//! verdict. A route is evaluated against the statements in order:
//!
//! - a statement whose conditions all match applies its actions to the
//!   route's working copy of the attributes, then its verdict decides:
//!   [`Verdict::Accept`] and [`Verdict::Reject`] end the evaluation,
//!   [`Verdict::Next`] goes on with the next statement, keeping the changes;
//! - a statement that does not match is skipped;
//! - when no statement ended the evaluation, [`Policy::default`] decides
//!   (a default of [`Verdict::Next`] rejects, since there is nothing next).
//!
//! Later statements see the changes of earlier ones (a statement that sets
//! LOCAL_PREF 200 and continues makes a later "LOCAL_PREF is 200" test
//! true, should such a condition be added).
//!
//! [`Policy::evaluate`] returns [`PolicyResult::Accept`] with a
//! [`Cow`]: borrowed when no action changed anything, so the RIB interns a
//! new attribute set only for routes a policy really modified.
//!
//! Without any policy, [`Policy::evaluate_or_default`] applies RFC 8212
//! section 3: routes from and to eBGP peers are rejected, iBGP routes are
//! accepted unchanged.
//!
//! # Layout
//! - this file: [`Policy`], [`Statement`], [`Verdict`], evaluation;
//! - [`condition`]: [`Condition`] and [`PrefixRange`];
//! - [`action`]: [`Action`], [`NextHopAction`] and the next-hop-self marker.
//!
//! # Example
//! ```
//! use bgp_speaker::policy::{Action, Condition, Policy, PrefixRange, Statement, Verdict};
//!
//! // Accept 10.0.0.0/8 up to /24 with LOCAL_PREF 200, reject everything else.
//! let policy = Policy {
//!     name: "from-clients".into(),
//!     statements: vec![Statement {
//!         name: "tens".into(),
//!         conditions: vec![Condition::Prefix(vec![
//!             PrefixRange::new("10.0.0.0/8".parse().unwrap()).le(24),
//!         ])],
//!         actions: vec![Action::SetLocalPref(200)],
//!         verdict: Verdict::Accept,
//!     }],
//!     default: Verdict::Reject,
//! };
//! assert!(policy.depends_on_prefix());
//! ```

pub mod action;
pub mod condition;

use ipnetwork::IpNetwork;
use std::borrow::Cow;

use bgp_proto::attribute::{Community, LargeCommunity, PathAttribute};
use bgp_proto::iana::{AfiSafi, attr_type};

use crate::attrs::PathAttrs;
use crate::types::{PeerInfo, PeerRole};

pub use action::{Action, NextHopAction, is_next_hop_self, next_hop_self};
pub use condition::{Condition, PrefixRange};

/// An import or export policy: statements tried in order, then a default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The policy's name, for logs and the API.
    pub name: String,
    /// The statements, in evaluation order.
    pub statements: Vec<Statement>,
    /// What happens to a route no statement accepted or rejected.
    /// [`Verdict::Next`] here means reject.
    pub default: Verdict,
}

/// One rule: if all conditions match, apply the actions, then the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Statement {
    /// The statement's name, for logs (may be empty).
    pub name: String,
    /// Conditions that must all match; none means "every route".
    pub conditions: Vec<Condition>,
    /// Actions applied, in order, when the conditions match.
    pub actions: Vec<Action>,
    /// What to do after the actions.
    pub verdict: Verdict,
}

/// The outcome of a statement, or a policy's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    /// Accept the route (with the changes so far).
    Accept,
    /// Reject the route.
    Reject,
    /// Go on with the next statement, keeping the changes.
    #[default]
    Next,
}

/// What a policy evaluates a route in.
#[derive(Debug, Clone, Copy)]
pub struct RouteContext<'a> {
    /// The route's family.
    pub family: AfiSafi,
    /// The route's prefix.
    pub prefix: IpNetwork,
    /// The peer the route came from (import) or goes to (export).
    pub peer: &'a PeerInfo,
}

/// The result of evaluating a policy on one route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyResult<'a> {
    /// The route is rejected.
    Reject,
    /// The route is accepted: the attributes are borrowed when unchanged,
    /// owned when an action changed them.
    Accept(Cow<'a, PathAttrs>),
}

impl PolicyResult<'_> {
    /// Was the route accepted?
    pub fn is_accept(&self) -> bool {
        matches!(self, PolicyResult::Accept(_))
    }

    /// The accepted attributes, `None` if rejected.
    pub fn attrs(&self) -> Option<&PathAttrs> {
        match self {
            PolicyResult::Accept(attrs) => Some(attrs),
            PolicyResult::Reject => None,
        }
    }

    /// Accepted with changed attributes?
    pub fn is_modified(&self) -> bool {
        matches!(self, PolicyResult::Accept(Cow::Owned(_)))
    }
}

impl Statement {
    /// A statement with no conditions, no actions and `verdict`.
    pub fn new(name: impl Into<String>, verdict: Verdict) -> Self {
        Statement {
            name: name.into(),
            conditions: Vec::new(),
            actions: Vec::new(),
            verdict,
        }
    }

    /// This statement with one more condition.
    #[must_use]
    pub fn when(mut self, condition: Condition) -> Self {
        self.conditions.push(condition);
        self
    }

    /// This statement with one more action.
    #[must_use]
    pub fn then(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }

    /// Do all conditions match?
    pub fn matches(&self, ctx: &RouteContext<'_>, attrs: &PathAttrs) -> bool {
        self.conditions.iter().all(|c| c.matches(ctx, attrs))
    }
}

impl Policy {
    /// A policy without statements.
    pub fn new(name: impl Into<String>, default: Verdict) -> Self {
        Policy {
            name: name.into(),
            statements: Vec::new(),
            default,
        }
    }

    /// Accept every route unchanged (an explicit policy, so RFC 8212 is
    /// satisfied for eBGP peers).
    pub fn accept_all(name: impl Into<String>) -> Self {
        Policy::new(name, Verdict::Accept)
    }

    /// Reject every route.
    pub fn reject_all(name: impl Into<String>) -> Self {
        Policy::new(name, Verdict::Reject)
    }

    /// This policy with one more statement at the end.
    #[must_use]
    pub fn with(mut self, statement: Statement) -> Self {
        self.statements.push(statement);
        self
    }

    /// Evaluate the policy on one route (see the module doc for the order).
    pub fn evaluate<'a>(&self, ctx: &RouteContext<'_>, attrs: &'a PathAttrs) -> PolicyResult<'a> {
        let mut working = Cow::Borrowed(attrs);
        for statement in &self.statements {
            if !statement.matches(ctx, &working) {
                continue;
            }
            for action in &statement.actions {
                action.apply(ctx, &mut working);
            }
            match statement.verdict {
                Verdict::Accept => return PolicyResult::Accept(working),
                Verdict::Reject => return PolicyResult::Reject,
                Verdict::Next => {}
            }
        }
        match self.default {
            Verdict::Accept => PolicyResult::Accept(working),
            Verdict::Reject | Verdict::Next => PolicyResult::Reject,
        }
    }

    /// Evaluate `policy`, or apply the defaults of RFC 8212 section 3 when
    /// there is none: reject for eBGP peers, accept unchanged for iBGP
    /// peers (internal and route-reflector clients). Import and export use
    /// the same rule; `ctx.peer` is the source or the target.
    pub fn evaluate_or_default<'a>(
        policy: Option<&Policy>,
        ctx: &RouteContext<'_>,
        attrs: &'a PathAttrs,
    ) -> PolicyResult<'a> {
        match policy {
            Some(policy) => policy.evaluate(ctx, attrs),
            None if ctx.peer.role == PeerRole::External => PolicyResult::Reject,
            None => PolicyResult::Accept(Cow::Borrowed(attrs)),
        }
    }

    /// Could the result differ between two prefixes of one family with the
    /// same attributes? False lets the RIB evaluate the policy once per
    /// UPDATE instead of once per prefix.
    pub fn depends_on_prefix(&self) -> bool {
        self.statements
            .iter()
            .any(|s| s.conditions.iter().any(Condition::depends_on_prefix))
    }
}

/// COMMUNITIES of a set (empty if absent).
pub(crate) fn communities(attrs: &PathAttrs) -> &[Community] {
    match attrs.get(attr_type::COMMUNITIES) {
        Some(PathAttribute::Communities(list)) => list,
        _ => &[],
    }
}

/// LARGE_COMMUNITY of a set (empty if absent).
pub(crate) fn large_communities(attrs: &PathAttrs) -> &[LargeCommunity] {
    match attrs.get(attr_type::LARGE_COMMUNITIES) {
        Some(PathAttribute::LargeCommunities(list)) => list,
        _ => &[],
    }
}
