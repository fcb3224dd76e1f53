//! Graceful restart, receiving speaker (RFC 4724 section 4.2).

#[path = "rib_support.rs"]
mod support;

use bgp_proto::Findings;
use bgp_proto::iana::AfiSafi;
use bgp_proto::message::Update;

use bgp_speaker::types::PeerId;

use support::*;

const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
const V6: AfiSafi = AfiSafi::IPV6_UNICAST;

fn restarted_rib() -> bgp_speaker::rib::Rib {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    rib.add_peer(client(2), None, None);
    apply(
        &mut rib,
        1,
        &announce(&["10.0.0.0/24", "10.0.1.0/24"], base(&[65001])),
    );
    apply(
        &mut rib,
        1,
        &announce_v6(&["2001:db8::/48"], base(&[65001])),
    );
    apply(
        &mut rib,
        2,
        &announce(&["10.0.0.0/24"], base(&[65001, 65002])),
    );
    rib
}

#[test]
fn rfc4724_4_2_paths_are_kept_stale_and_stay_eligible() {
    let mut rib = restarted_rib();
    assert_eq!(rib.mark_stale(PeerId(1)), 3);
    let paths = rib.paths(V4, net("10.0.0.0/24"));
    assert_eq!(paths.len(), 2);
    assert!(
        paths[0].stale && paths[0].peer == PeerId(1),
        "still the best"
    );
    assert!(!paths[1].stale);
    assert_eq!(rib.counters(PeerId(1)).unwrap().stale, 3);
    assert!(
        rib.explain(V4, net("10.0.0.0/24"))
            .to_string()
            .contains("(stale)")
    );
}

#[test]
fn rfc4724_4_2_new_announcements_replace_stale_paths() {
    let mut rib = restarted_rib();
    rib.mark_stale(PeerId(1));
    rib.add_peer(client(1), None, None); // the session is back
    // The same attributes again: no change to report, the mark is cleared.
    let changes = apply(&mut rib, 1, &announce(&["10.0.0.0/24"], base(&[65001])));
    assert!(changes.is_empty());
    assert!(!rib.paths(V4, net("10.0.0.0/24"))[0].stale);
    // New attributes replace the stale path.
    let changes = apply(&mut rib, 1, &announce(&["10.0.1.0/24"], base(&[65001, 7])));
    assert_eq!(changes.len(), 1);
    assert!(!changes[0].paths[0].stale);
    assert_eq!(rib.counters(PeerId(1)).unwrap().stale, 1);
}

#[test]
fn rfc4724_4_2_end_of_rib_flushes_what_is_still_stale() {
    let mut rib = restarted_rib();
    rib.mark_stale(PeerId(1));
    rib.add_peer(client(1), None, None);
    apply(&mut rib, 1, &announce(&["10.0.0.0/24"], base(&[65001])));
    let mut changes = Vec::new();
    let stats = rib
        .apply_update(
            PeerId(1),
            &Update::end_of_rib(V4),
            &Findings::default(),
            &mut changes,
        )
        .unwrap();
    assert_eq!(stats.end_of_rib, Some(V4));
    assert_eq!(
        rib.flush_stale(PeerId(1), stats.end_of_rib, &mut changes),
        1
    );
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].prefix, net("10.0.1.0/24"));
    assert!(changes[0].paths.is_empty());
    assert_eq!(best(&rib, "10.0.0.0/24"), Some(1));
    // The IPv6 family has not seen its End-of-RIB yet.
    assert!(rib.paths(V6, net("2001:db8::/48"))[0].stale);
    assert_eq!(rib.flush_stale(PeerId(1), None, &mut changes), 1);
    assert!(rib.paths(V6, net("2001:db8::/48")).is_empty());
    let counters = rib.counters(PeerId(1)).unwrap();
    assert_eq!((counters.stale, counters.accepted()), (0, 1));
}

#[test]
fn rfc4724_4_2_stale_timer_expiry_flushes_everything() {
    let mut rib = restarted_rib();
    rib.mark_stale(PeerId(1));
    let mut changes = Vec::new();
    assert_eq!(rib.flush_stale(PeerId(1), None, &mut changes), 3);
    assert_eq!(changes.len(), 3);
    assert_eq!(best(&rib, "10.0.0.0/24"), Some(2));
    assert!(
        rib.peer_info(PeerId(1)).is_some(),
        "the peer stays registered"
    );
}

#[test]
fn rfc4724_4_2_end_of_rib_without_stale_paths_changes_nothing_and_a_later_restart_still_flushes() {
    let mut rib = restarted_rib();
    let mut changes = Vec::new();
    // A session that never restarted: its End-of-RIB removes nothing.
    assert_eq!(rib.flush_stale(PeerId(1), Some(V4), &mut changes), 0);
    assert!(changes.is_empty());
    assert_eq!(rib.paths(V4, net("10.0.1.0/24")).len(), 1);
    // A restart whose peer re-announces one path and withdraws another:
    // the stale count follows the flags, so the one left stale is flushed.
    rib.mark_stale(PeerId(1));
    rib.add_peer(client(1), None, None);
    apply(&mut rib, 1, &announce(&["10.0.0.0/24"], base(&[65001])));
    apply(&mut rib, 1, &withdraw_v6(&["2001:db8::/48"]));
    assert_eq!(rib.counters(PeerId(1)).unwrap().stale, 1);
    assert_eq!(rib.flush_stale(PeerId(1), None, &mut changes), 1);
    assert!(rib.paths(V4, net("10.0.1.0/24")).is_empty());
    assert_eq!(rib.counters(PeerId(1)).unwrap().stale, 0);
    // Everything re-announced after a second restart: nothing is flushed.
    rib.mark_stale(PeerId(1));
    apply(&mut rib, 1, &announce(&["10.0.0.0/24"], base(&[65001])));
    changes.clear();
    assert_eq!(rib.flush_stale(PeerId(1), None, &mut changes), 0);
    assert!(changes.is_empty());
    assert!(!rib.paths(V4, net("10.0.0.0/24"))[0].stale);
}
