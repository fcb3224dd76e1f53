//! Statement order, verdicts, defaults and RFC 8212.

#[path = "rib_support.rs"]
mod support;

use std::borrow::Cow;
use std::net::Ipv4Addr;

use bgp_proto::attribute::{Community, NextHop};
use bgp_proto::iana::AfiSafi;

use bgp_speaker::PathAttrs;
use bgp_speaker::PeerRole;
use bgp_speaker::policy::{
    Action, Condition, Policy, PolicyResult, PrefixRange, RouteContext, Statement, Verdict,
};
use bgp_speaker::types::PeerInfo;

use support::*;

fn attrs() -> PathAttrs {
    PathAttrs {
        next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
        attributes: base(&[65001]),
    }
}

fn eval<'a>(
    policy: Option<&Policy>,
    peer: &PeerInfo,
    prefix: &str,
    attrs: &'a PathAttrs,
) -> PolicyResult<'a> {
    let ctx = RouteContext {
        family: AfiSafi::IPV4_UNICAST,
        prefix: net(prefix),
        peer,
    };
    Policy::evaluate_or_default(policy, &ctx, attrs)
}

#[test]
fn rfc8212_without_policy_ebgp_is_rejected() {
    let a = attrs();
    assert_eq!(
        eval(None, &external(1, 65001), "10.0.0.0/8", &a),
        PolicyResult::Reject
    );
}

#[test]
fn rfc8212_without_policy_ibgp_is_accepted_unchanged() {
    let a = attrs();
    for peer in [client(1), peer(2, PeerRole::Internal, LOCAL_AS)] {
        let result = eval(None, &peer, "10.0.0.0/8", &a);
        assert!(matches!(result, PolicyResult::Accept(Cow::Borrowed(_))));
    }
}

#[test]
fn an_explicit_policy_applies_to_ebgp() {
    let a = attrs();
    let accept = Policy::accept_all("all");
    let result = eval(Some(&accept), &external(1, 65001), "10.0.0.0/8", &a);
    assert!(result.is_accept() && !result.is_modified());
    let reject = Policy::reject_all("none");
    assert_eq!(
        eval(Some(&reject), &client(1), "10.0.0.0/8", &a),
        PolicyResult::Reject
    );
}

#[test]
fn first_terminal_statement_wins_and_next_carries_changes() {
    let policy = Policy::new("p", Verdict::Reject)
        .with(
            Statement::new("tag", Verdict::Next)
                .then(Action::AddCommunities(vec![Community::new(1, 1)])),
        )
        .with(
            Statement::new("tens", Verdict::Accept)
                .when(Condition::Prefix(vec![
                    PrefixRange::new(net("10.0.0.0/8")).le(24),
                ]))
                .then(Action::SetLocalPref(200)),
        )
        .with(
            Statement::new("tagged", Verdict::Accept)
                .when(Condition::Community(Community::new(1, 1)))
                .then(Action::SetLocalPref(50)),
        );
    let a = attrs();
    let tens = eval(Some(&policy), &client(1), "10.1.0.0/16", &a);
    let tens = tens.attrs().unwrap();
    assert_eq!(tens.local_pref(), Some(200));
    assert!(tens.get(8).is_some(), "the Next statement's change is kept");
    // Not in 10/8: the third statement sees the community the first added.
    let other = eval(Some(&policy), &client(1), "192.168.0.0/16", &a);
    assert_eq!(other.attrs().unwrap().local_pref(), Some(50));
}

#[test]
fn default_decides_when_no_statement_does() {
    let a = attrs();
    let only_next = Policy::new("n", Verdict::Next).with(Statement::new("x", Verdict::Next));
    assert_eq!(
        eval(Some(&only_next), &client(1), "10.0.0.0/8", &a),
        PolicyResult::Reject
    );
    let accept = Policy::new("a", Verdict::Accept)
        .with(Statement::new("med", Verdict::Next).then(Action::SetMed(5)));
    let result = eval(Some(&accept), &client(1), "10.0.0.0/8", &a);
    assert!(result.is_modified());
    assert_eq!(result.attrs().unwrap().med(), Some(5));
}

#[test]
fn reject_statement_rejects() {
    let policy = Policy::accept_all("p").with(Statement::new("bogons", Verdict::Reject).when(
        Condition::Prefix(vec![PrefixRange::new(net("0.0.0.0/0")).ge(25)]),
    ));
    let a = attrs();
    assert_eq!(
        eval(Some(&policy), &client(1), "10.0.0.0/25", &a),
        PolicyResult::Reject
    );
    assert!(eval(Some(&policy), &client(1), "10.0.0.0/24", &a).is_accept());
    assert!(policy.depends_on_prefix());
    assert!(!Policy::accept_all("x").depends_on_prefix());
}

#[test]
fn a_statement_without_conditions_matches_everything() {
    let policy = Policy::reject_all("p").with(Statement::new("all", Verdict::Accept));
    let a = attrs();
    assert!(eval(Some(&policy), &external(1, 65001), "2001:db8::/32", &a).is_accept());
}
