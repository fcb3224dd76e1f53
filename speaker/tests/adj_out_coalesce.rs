//! Pending changes coalesce: the latest state of a prefix wins.

#[path = "adj_out_support.rs"]
mod support;

use bgp_proto::attribute::PathAttribute;
use bgp_proto::iana::attr_type;

use support::*;

fn setup() -> Harness {
    let mut h = Harness::new();
    h.source(&Peer::client(90));
    h.add(&Peer::client(1));
    h.messages(1);
    h
}

#[test]
fn announce_change_withdraw_of_a_new_prefix_sends_nothing() {
    let mut h = setup();
    let a = h.intern(attrs(
        &[],
        "10.0.0.90",
        vec![PathAttribute::MultiExitDisc(1)],
    ));
    let b = h.intern(attrs(
        &[],
        "10.0.0.90",
        vec![PathAttribute::MultiExitDisc(2)],
    ));
    h.apply(&[change("10.1.0.0/16", vec![path(90, &a)])]);
    h.apply(&[change("10.1.0.0/16", vec![path(90, &b)])]);
    h.apply(&[withdraw("10.1.0.0/16")]);
    let summary = h.flush();
    assert_eq!(summary.groups, 0, "nothing to send");
    assert!(h.take(1).0.is_empty());
    assert_eq!(h.adj.group_stats()[0].pending, 0);
}

#[test]
fn announce_change_withdraw_of_an_advertised_prefix_sends_only_the_withdrawal() {
    let mut h = setup();
    let a = h.intern(attrs(
        &[],
        "10.0.0.90",
        vec![PathAttribute::MultiExitDisc(1)],
    ));
    let b = h.intern(attrs(
        &[],
        "10.0.0.90",
        vec![PathAttribute::MultiExitDisc(2)],
    ));
    let _ = h.send(&[change("10.1.0.0/16", vec![path(90, &a)])]);
    h.messages(1);
    h.apply(&[change("10.1.0.0/16", vec![path(90, &b)])]);
    h.apply(&[change("10.1.0.0/16", vec![path(90, &a)])]);
    h.apply(&[withdraw("10.1.0.0/16")]);
    let _ = h.flush();
    let routes = h.routes(1);
    assert!(routes.announced.is_empty());
    assert_eq!(routes.withdrawn.len(), 1);
    assert_eq!(h.adj.group_stats()[0].tombstones, 0, "nobody is behind");
}

#[test]
fn several_changes_send_the_latest_state_once() {
    let mut h = setup();
    let sets: Vec<_> = (1..=5)
        .map(|med| {
            h.intern(attrs(
                &[],
                "10.0.0.90",
                vec![PathAttribute::MultiExitDisc(med)],
            ))
        })
        .collect();
    for set in &sets {
        h.apply(&[change("10.2.0.0/16", vec![path(90, set)])]);
    }
    let _ = h.flush();
    let routes = h.routes(1);
    assert_eq!(routes.announced.len(), 1);
    let route = routes.get("10.2.0.0/16").unwrap();
    assert_eq!(
        route.get(attr_type::MULTI_EXIT_DISC),
        Some(&PathAttribute::MultiExitDisc(5))
    );
}

#[test]
fn an_unchanged_export_is_not_sent_again() {
    let mut h = setup();
    let a = h.intern(attrs(&[], "10.0.0.90", vec![]));
    let _ = h.send(&[change("10.3.0.0/16", vec![path(90, &a)])]);
    h.messages(1);
    // The Loc-RIB reports a change (say a second path behind the best),
    // but what the group exports is the same.
    h.source(&Peer::client(91));
    let other = h.intern(attrs(&[], "10.0.0.91", vec![]));
    let summary = h.send(&[change("10.3.0.0/16", vec![path(90, &a), path(91, &other)])]);
    assert_eq!(summary.groups, 0);
    assert!(h.take(1).0.is_empty());
}

#[test]
fn prefixes_sharing_attributes_are_packed_together() {
    let mut h = setup();
    let a = h.intern(attrs(&[], "10.0.0.90", vec![]));
    let changes: Vec<_> = (0..2000)
        .map(|i| {
            change(
                &format!("10.{}.{}.0/24", i / 256, i % 256),
                vec![path(90, &a)],
            )
        })
        .collect();
    let summary = h.send(&changes);
    // 2000 x 4 octets of NLRI in 4096-octet messages: 2 UPDATEs.
    assert_eq!(summary.messages, 2);
    assert_eq!(h.routes(1).table.len(), 2000);
}
