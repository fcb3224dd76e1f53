//! Prefix limits per peer and family (RFC 4486 section 4).

#[path = "rib_support.rs"]
mod support;

use bgp_proto::Findings;
use bgp_proto::iana::AfiSafi;

use bgp_speaker::config::{PrefixLimit, PrefixLimitAction};
use bgp_speaker::rib::PrefixLimitExceeded;
use bgp_speaker::types::PeerId;

use support::*;

fn prefixes(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("10.0.{i}.0/24")).collect()
}

fn update(range: std::ops::Range<u32>) -> bgp_proto::message::Update {
    let names = prefixes(range);
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    announce(&refs, base(&[65001]))
}

fn limit(action: PrefixLimitAction) -> Option<PrefixLimit> {
    Some(PrefixLimit {
        max: 10,
        warn_percent: 80,
        action,
    })
}

#[test]
fn warning_is_reported_once_at_the_threshold() {
    let mut rib = rib();
    rib.add_peer(client(1), None, limit(PrefixLimitAction::Shutdown));
    let mut changes = Vec::new();
    let findings = Findings::default();
    let stats = rib
        .apply_update(PeerId(1), &update(0..7), &findings, &mut changes)
        .unwrap();
    assert_eq!(stats.limit_warning, None);
    let stats = rib
        .apply_update(PeerId(1), &update(7..8), &findings, &mut changes)
        .unwrap();
    assert_eq!(stats.limit_warning, Some(AfiSafi::IPV4_UNICAST));
    let stats = rib
        .apply_update(PeerId(1), &update(8..9), &findings, &mut changes)
        .unwrap();
    assert_eq!(stats.limit_warning, None, "reported once");
    // Below the threshold and back above: reported again.
    rib.apply_update(
        PeerId(1),
        &withdraw(&["10.0.0.0/24", "10.0.1.0/24"]),
        &findings,
        &mut changes,
    )
    .unwrap();
    let stats = rib
        .apply_update(PeerId(1), &update(0..1), &findings, &mut changes)
        .unwrap();
    assert_eq!(stats.limit_warning, Some(AfiSafi::IPV4_UNICAST));
}

#[test]
fn shutdown_returns_the_exceeded_limit() {
    let mut rib = rib();
    rib.add_peer(client(1), None, limit(PrefixLimitAction::Shutdown));
    let mut changes = Vec::new();
    let findings = Findings::default();
    rib.apply_update(PeerId(1), &update(0..10), &findings, &mut changes)
        .unwrap();
    // Replacing held prefixes is not growth.
    rib.apply_update(
        PeerId(1),
        &announce(&["10.0.0.0/24"], base(&[65009])),
        &findings,
        &mut changes,
    )
    .unwrap();
    let error = rib
        .apply_update(PeerId(1), &update(10..12), &findings, &mut changes)
        .unwrap_err();
    assert_eq!(
        error,
        PrefixLimitExceeded {
            family: AfiSafi::IPV4_UNICAST,
            limit: 10
        }
    );
    assert_eq!(error.cease_data(), [0, 1, 1, 0, 0, 0, 10]);
    assert_eq!(rib.counters(PeerId(1)).unwrap().accepted(), 10);
    // The core then removes the peer.
    changes.clear();
    assert_eq!(rib.remove_peer(PeerId(1), &mut changes), 10);
}

#[test]
fn drop_excess_keeps_the_session_and_counts_the_dropped() {
    let mut rib = rib();
    rib.add_peer(client(1), None, limit(PrefixLimitAction::DropExcess));
    let mut changes = Vec::new();
    let stats = rib
        .apply_update(
            PeerId(1),
            &update(0..15),
            &Findings::default(),
            &mut changes,
        )
        .unwrap();
    assert_eq!((stats.accepted, stats.limit_dropped), (10, 5));
    assert_eq!(changes.len(), 10);
    let counters = rib.counters(PeerId(1)).unwrap();
    assert_eq!((counters.accepted(), counters.limit_dropped), (10, 5));
    // After a withdrawal there is room again.
    apply(&mut rib, 1, &withdraw(&["10.0.0.0/24"]));
    let stats = rib
        .apply_update(
            PeerId(1),
            &update(14..15),
            &Findings::default(),
            &mut changes,
        )
        .unwrap();
    assert_eq!(stats.accepted, 1);
}

#[test]
fn limits_are_per_family() {
    let mut rib = rib();
    rib.add_peer(client(1), None, limit(PrefixLimitAction::Shutdown));
    let mut changes = Vec::new();
    let findings = Findings::default();
    rib.apply_update(PeerId(1), &update(0..10), &findings, &mut changes)
        .unwrap();
    let v6: Vec<String> = (0..10).map(|i| format!("2001:db8:{i}::/48")).collect();
    let refs: Vec<&str> = v6.iter().map(String::as_str).collect();
    rib.apply_update(
        PeerId(1),
        &announce_v6(&refs, base(&[65001])),
        &findings,
        &mut changes,
    )
    .unwrap();
    let counters = rib.counters(PeerId(1)).unwrap();
    assert_eq!(counters.paths_in(AfiSafi::IPV6_UNICAST), 10);
    assert_eq!(counters.accepted(), 20);
}
