//! Every policy action, and that unchanged routes stay borrowed.

#[path = "rib_support.rs"]
mod support;

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp_proto::attribute::{AsPath, Community, LargeCommunity, NextHop, Origin, PathAttribute};
use bgp_proto::iana::AfiSafi;

use bgp_speaker::PathAttrs;
use bgp_speaker::policy::{Action, NextHopAction, RouteContext, is_next_hop_self};

use support::*;

fn attrs(extra: Vec<PathAttribute>) -> PathAttrs {
    let mut attributes = base(&[65001]);
    attributes.extend(extra);
    attributes.sort_by_key(PathAttribute::type_code);
    PathAttrs {
        next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
        attributes,
    }
}

/// Apply one action; `None` if the attributes stayed borrowed.
fn run(action: Action, attrs: &PathAttrs) -> Option<PathAttrs> {
    let peer = external(1, 65001);
    let ctx = RouteContext {
        family: AfiSafi::IPV4_UNICAST,
        prefix: net("10.0.0.0/24"),
        peer: &peer,
    };
    let mut working = Cow::Borrowed(attrs);
    action.apply(&ctx, &mut working);
    match working {
        Cow::Borrowed(_) => None,
        Cow::Owned(changed) => Some(changed),
    }
}

fn communities(attrs: &PathAttrs) -> Vec<Community> {
    match attrs.get(8) {
        Some(PathAttribute::Communities(list)) => list.to_vec(),
        None => Vec::new(),
        other => panic!("{other:?}"),
    }
}

fn large(attrs: &PathAttrs) -> Vec<LargeCommunity> {
    match attrs.get(32) {
        Some(PathAttribute::LargeCommunities(list)) => list.clone(),
        None => Vec::new(),
        other => panic!("{other:?}"),
    }
}

const fn lc(n: u32) -> LargeCommunity {
    LargeCommunity {
        global: 65000,
        local1: n,
        local2: 0,
    }
}

#[test]
fn set_local_pref_in_type_code_order() {
    let changed = run(Action::SetLocalPref(250), &attrs(vec![])).unwrap();
    assert_eq!(changed.local_pref(), Some(250));
    let codes: Vec<u8> = changed
        .attributes
        .iter()
        .map(PathAttribute::type_code)
        .collect();
    assert_eq!(codes, [1, 2, 5]);
    assert!(
        run(Action::SetLocalPref(250), &changed).is_none(),
        "already set"
    );
}

#[test]
fn set_med() {
    let changed = run(
        Action::SetMed(7),
        &attrs(vec![PathAttribute::MultiExitDisc(1)]),
    )
    .unwrap();
    assert_eq!(changed.med(), Some(7));
    assert_eq!(changed.attributes.len(), 3);
    assert!(run(Action::SetMed(7), &changed).is_none());
}

#[test]
fn add_remove_and_replace_standard_communities() {
    let start = attrs(vec![PathAttribute::Communities(
        bgp_proto::smallvec::smallvec![Community::new(1, 1)],
    )]);
    let added = run(
        Action::AddCommunities(vec![Community::new(1, 1), Community::new(2, 2)]),
        &start,
    )
    .unwrap();
    assert_eq!(
        communities(&added),
        [Community::new(1, 1), Community::new(2, 2)]
    );
    assert!(run(Action::AddCommunities(vec![Community::new(2, 2)]), &added).is_none());
    let removed = run(
        Action::RemoveCommunities(vec![Community::new(1, 1)]),
        &added,
    )
    .unwrap();
    assert_eq!(communities(&removed), [Community::new(2, 2)]);
    let emptied = run(
        Action::RemoveCommunities(vec![Community::new(2, 2)]),
        &removed,
    )
    .unwrap();
    assert!(
        emptied.get(8).is_none(),
        "an empty list removes the attribute"
    );
    let replaced = run(
        Action::ReplaceCommunities(vec![Community::NO_EXPORT]),
        &start,
    )
    .unwrap();
    assert_eq!(communities(&replaced), [Community::NO_EXPORT]);
    assert!(run(Action::ReplaceCommunities(vec![]), &attrs(vec![])).is_none());
    assert!(
        run(
            Action::RemoveCommunities(vec![Community::new(9, 9)]),
            &start
        )
        .is_none()
    );
}

#[test]
fn add_remove_and_replace_large_communities() {
    let start = attrs(vec![]);
    let added = run(Action::AddLargeCommunities(vec![lc(1), lc(2)]), &start).unwrap();
    assert_eq!(large(&added), [lc(1), lc(2)]);
    let removed = run(Action::RemoveLargeCommunities(vec![lc(1)]), &added).unwrap();
    assert_eq!(large(&removed), [lc(2)]);
    let replaced = run(Action::ReplaceLargeCommunities(vec![lc(3)]), &added).unwrap();
    assert_eq!(large(&replaced), [lc(3)]);
    let cleared = run(Action::ReplaceLargeCommunities(vec![]), &added).unwrap();
    assert!(cleared.get(32).is_none());
}

#[test]
fn prepend_as() {
    let ours = run(
        Action::PrependAs {
            asn: None,
            count: 2,
        },
        &attrs(vec![]),
    )
    .unwrap();
    assert_eq!(
        *ours.as_path(),
        AsPath::from_sequence(vec![LOCAL_AS, LOCAL_AS, 65001])
    );
    let theirs = run(
        Action::PrependAs {
            asn: Some(7),
            count: 1,
        },
        &attrs(vec![]),
    )
    .unwrap();
    assert_eq!(theirs.as_path().first_asn(), Some(7));
    assert!(
        run(
            Action::PrependAs {
                asn: None,
                count: 0
            },
            &attrs(vec![])
        )
        .is_none()
    );
}

#[test]
fn set_next_hop_self_and_explicit() {
    let me = run(
        Action::SetNextHop(NextHopAction::SelfAddress),
        &attrs(vec![]),
    )
    .unwrap();
    assert!(is_next_hop_self(&me.next_hop));
    assert!(!is_next_hop_self(&attrs(vec![]).next_hop));
    let v4 = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
    let explicit = run(
        Action::SetNextHop(NextHopAction::Address(v4)),
        &attrs(vec![]),
    )
    .unwrap();
    assert_eq!(
        explicit.next_hop,
        NextHop::V4(Ipv4Addr::new(198, 51, 100, 1))
    );
    let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9);
    let explicit = run(
        Action::SetNextHop(NextHopAction::Address(IpAddr::V6(v6))),
        &attrs(vec![]),
    )
    .unwrap();
    assert_eq!(
        explicit.next_hop,
        NextHop::V6 {
            global: v6,
            link_local: None
        }
    );
    let same = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    assert!(
        run(
            Action::SetNextHop(NextHopAction::Address(same)),
            &attrs(vec![])
        )
        .is_none()
    );
}

#[test]
fn set_origin() {
    let changed = run(Action::SetOrigin(Origin::Incomplete), &attrs(vec![])).unwrap();
    assert_eq!(changed.origin(), Origin::Incomplete);
    assert!(run(Action::SetOrigin(Origin::Igp), &attrs(vec![])).is_none());
}
