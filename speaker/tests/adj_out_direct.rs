//! Groups without a table of their own (every member in sync, no ADD-PATH):
//! they send what groups with a table send, make their table when a member
//! falls behind, joins or asks for a refresh, and drop it again.

#[path = "adj_out_support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use proptest::prelude::*;

use bgp_proto::attribute::PathAttribute;
use bgp_proto::iana::{AfiSafi, attr_type};
use bgp_proto::message::Message;

use bgp_speaker::Attrs;
use bgp_speaker::adj_out::SyncState;
use bgp_speaker::outbox::Outbox;
use bgp_speaker::types::{Path, PeerId};

use support::*;

/// Sources: two clients and a non-client, whose routes do not go to the
/// non-client member.
const SOURCES: [u32; 3] = [90, 91, 92];
/// Members: a client and a non-client (two groups).
const MEMBERS: [u32; 2] = [1, 2];

fn members_and_sources(h: &mut Harness) {
    h.source(&Peer::client(90));
    h.source(&Peer::client(91));
    h.source(&Peer::internal(92));
    h.add(&Peer::client(1));
    h.add(&Peer::internal(2));
    for member in MEMBERS {
        h.messages(member);
    }
}

fn med(h: &mut Harness, source: u32, value: u32) -> Attrs {
    h.intern(attrs(
        &[],
        &format!("10.0.0.{source}"),
        vec![PathAttribute::MultiExitDisc(value)],
    ))
}

fn prefix(i: u8) -> String {
    format!("10.{i}.0.0/16")
}

/// One step of a window: source `source` sets its path of prefix `prefix`
/// to MED `med`, or removes it (`None`).
#[derive(Debug, Clone)]
struct Step {
    prefix: u8,
    source: usize,
    med: Option<u32>,
}

fn step() -> impl Strategy<Value = Step> {
    (0u8..6, 0usize..SOURCES.len(), prop::option::of(0u32..3)).prop_map(|(prefix, source, med)| {
        Step {
            prefix,
            source,
            med,
        }
    })
}

/// Each source's MED per prefix, as a RIB holds it; paths ranked by MED,
/// then source.
#[derive(Debug, Default)]
struct Paths(BTreeMap<u8, BTreeMap<u32, u32>>);

impl Paths {
    /// Apply a step; the prefix's paths, best first, if they changed.
    fn step(&mut self, h: &mut Harness, step: &Step) -> Option<Vec<Path>> {
        let source = SOURCES[step.source];
        let paths = self.0.entry(step.prefix).or_default();
        let changed = match step.med {
            Some(med) => paths.insert(source, med) != Some(med),
            None => paths.remove(&source).is_some(),
        };
        if !changed {
            return None;
        }
        let mut ranked: Vec<(u32, u32)> = paths.iter().map(|(s, m)| (*m, *s)).collect();
        ranked.sort();
        Some(
            ranked
                .into_iter()
                .map(|(m, s)| path(s, &med(h, s, m)))
                .collect(),
        )
    }
}

/// What one flush brought a member: announced (with MED) and withdrawn.
type Seen = (BTreeMap<String, Option<u32>>, BTreeSet<String>);

fn seen(h: &Harness, member: u32) -> Seen {
    let routes = h.routes(member);
    let announced = routes
        .table
        .iter()
        .map(|(nlri, received)| {
            let med = match received.get(attr_type::MULTI_EXIT_DISC) {
                Some(PathAttribute::MultiExitDisc(med)) => Some(*med),
                _ => None,
            };
            (nlri.prefix.to_string(), med)
        })
        .collect();
    let withdrawn = routes
        .withdrawn
        .iter()
        .map(|n| n.prefix.to_string())
        .collect();
    (announced, withdrawn)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Window by window, each member receives from a group without a table
    /// exactly what it receives from one with a table.
    #[test]
    fn a_group_without_a_table_sends_what_a_group_with_one_sends(
        windows in prop::collection::vec(prop::collection::vec(step(), 0..12), 1..8)
    ) {
        let mut direct = Harness::new();
        let mut tabled = Harness::tabled();
        members_and_sources(&mut direct);
        members_and_sources(&mut tabled);
        let (mut paths_d, mut paths_t) = (Paths::default(), Paths::default());
        for window in &windows {
            for step in window {
                if let Some(paths) = paths_d.step(&mut direct, step) {
                    direct.apply(&[change(&prefix(step.prefix), paths)]);
                }
                if let Some(paths) = paths_t.step(&mut tabled, step) {
                    tabled.apply(&[change(&prefix(step.prefix), paths)]);
                }
            }
            let _ = direct.flush();
            let _ = tabled.flush();
            for member in MEMBERS {
                prop_assert_eq!(seen(&direct, member), seen(&tabled, member));
            }
        }
        let stats = direct.adj.group_stats();
        prop_assert!(stats.iter().all(|g| !g.keeps_table));
        let tabled_stats = tabled.adj.group_stats();
        prop_assert!(tabled_stats.iter().all(|g| g.keeps_table));
        for (d, t) in stats.iter().zip(&tabled_stats) {
            prop_assert_eq!(d.routes, t.routes, "routes advertised");
        }
    }
}

fn one_client_source() -> Harness {
    let mut h = Harness::new();
    h.source(&Peer::client(90));
    h.add(&Peer::client(1));
    h.add(&Peer::client(3));
    h.messages(1);
    h.messages(3);
    h
}

#[test]
fn a_path_that_does_not_become_the_best_sends_nothing() {
    let mut h = one_client_source();
    h.source(&Peer::client(91));
    let (best, other) = (med(&mut h, 90, 1), med(&mut h, 91, 5));
    let _ = h.send(&[change(&prefix(1), vec![path(90, &best)])]);
    assert_eq!(h.routes(1).table.len(), 1);
    let summary = h.send(&[change(&prefix(1), vec![path(90, &best), path(91, &other)])]);
    assert_eq!((summary.groups, summary.messages), (0, 0));
    assert!(h.take(1).0.is_empty());
    let summary = h.send(&[change(&prefix(1), vec![path(90, &best)])]);
    assert_eq!(summary.messages, 0, "nor when it goes");
    assert!(!h.adj.group_stats()[0].keeps_table);
}

#[test]
fn a_route_never_exported_is_not_withdrawn() {
    let mut h = Harness::new();
    h.source(&Peer::internal(92));
    h.add(&Peer::internal(2));
    h.messages(2);
    let set = med(&mut h, 92, 1);
    // Non-client to non-client: not reflected (RFC 4456 section 6).
    let summary = h.send(&[change(&prefix(1), vec![path(92, &set)])]);
    assert_eq!(summary.messages, 0);
    let summary = h.send(&[withdraw(&prefix(1))]);
    assert_eq!(summary.messages, 0);
    assert!(h.take(2).0.is_empty());
}

#[test]
fn a_route_whose_source_is_gone_is_withdrawn() {
    let mut h = one_client_source();
    let set = med(&mut h, 90, 1);
    let _ = h.send(&[change(&prefix(1), vec![path(90, &set)])]);
    h.take(1);
    // The source is not known any more when its removal is applied (a
    // caller that forgets it before the groups saw the change).
    h.rib.peers.remove(&PeerId(90));
    let _ = h.send(&[withdraw(&prefix(1))]);
    let routes = h.routes(1);
    assert_eq!(routes.withdrawn.len(), 1);
    assert_eq!(h.adj.group_stats()[0].routes, 0);
}

/// `routes` prefixes at MED `med` from source 90, flushed.
fn send_all(h: &mut Harness, routes: std::ops::Range<u16>, value: Option<u32>) {
    let set = med(h, 90, value.unwrap_or(0));
    let changes: Vec<_> = routes
        .map(|i| {
            let prefix = format!("10.{}.{}.0/24", i / 256, i % 256);
            match value {
                Some(_) => change(&prefix, vec![path(90, &set)]),
                None => withdraw(&prefix),
            }
        })
        .collect();
    let _ = h.send(&changes);
}

/// Fold a member's queue (filler skipped) into `into`: prefix to MED.
fn fold(h: &Harness, member: u32, into: &mut BTreeMap<String, u32>) -> bool {
    let ctx = h.decode_ctx(member);
    let (buffers, drained) = h.take(member);
    for buffer in buffers.iter().filter(|b| b.first() == Some(&0xff)) {
        for message in decode_all(buffer, &ctx) {
            let Message::Update(update) = message else {
                continue;
            };
            for (_, nlri) in update.withdrawn_routes() {
                into.remove(&nlri.prefix.to_string());
            }
            let value = update.attributes.iter().find_map(|a| match a {
                PathAttribute::MultiExitDisc(m) => Some(*m),
                _ => None,
            });
            for nlri in &update.nlri {
                into.insert(nlri.prefix.to_string(), value.unwrap_or(0));
            }
        }
    }
    drained
}

#[test]
fn a_member_that_refuses_a_flush_falls_behind_a_table_made_for_it_and_catches_up() {
    let mut h = one_client_source();
    let (mut slow, mut fast) = (BTreeMap::new(), BTreeMap::new());
    send_all(&mut h, 0..1000, Some(1));
    fold(&h, 1, &mut slow);
    fold(&h, 3, &mut fast);
    assert!(!h.adj.group_stats()[0].keeps_table);
    h.outbox(1)
        .force_push(Bytes::from(vec![0u8; Outbox::HIGH_WATER + 1]));
    // Refused: the member still gets this flush, then falls behind.
    send_all(&mut h, 0..100, None);
    let group = &h.adj.group_stats()[0];
    assert!(group.keeps_table, "the table is made from the Loc-RIB");
    assert_eq!((group.members_behind, group.routes), (1, 900));
    assert_eq!(group.refused_pushes, 1);
    // Changes while it is behind: withdrawals and new attributes.
    send_all(&mut h, 100..200, None);
    send_all(&mut h, 200..300, Some(2));
    assert!(matches!(
        h.adj.member_stats(PeerId(1)).unwrap().state,
        SyncState::Behind { .. }
    ));
    assert!(fold(&h, 1, &mut slow), "drained");
    assert_eq!(h.adj.member_drained(PeerId(1)), Ok(SyncState::InSync));
    fold(&h, 1, &mut slow);
    fold(&h, 3, &mut fast);
    assert_eq!(slow.len(), 800);
    assert_eq!(slow, fast, "the slow member holds what the fast one holds");
    assert_eq!(slow.get("10.0.250.0/24"), Some(&2));
    // The table stays until the group has applied as many changes as it
    // holds routes, then goes.
    send_all(&mut h, 300..800, Some(3));
    assert!(h.adj.group_stats()[0].keeps_table, "500 of 800 changes");
    send_all(&mut h, 0..400, Some(4));
    let group = &h.adj.group_stats()[0];
    assert!(!group.keeps_table, "dropped again");
    assert_eq!((group.routes, group.tombstones), (1000, 0));
    fold(&h, 1, &mut slow);
    fold(&h, 3, &mut fast);
    assert_eq!(slow, fast);
    assert_eq!(slow.len(), 1000);
}

#[test]
fn a_member_joining_a_group_without_a_table_gets_every_route_then_end_of_rib() {
    let mut h = one_client_source();
    send_all(&mut h, 0..300, Some(1));
    send_all(&mut h, 0..50, None);
    assert!(!h.adj.group_stats()[0].keeps_table);
    // A change applied but not flushed when the member joins: the others
    // get it with the join, the new member with the table.
    let set = med(&mut h, 90, 9);
    h.apply(&[change("10.200.0.0/16", vec![path(90, &set)])]);
    h.add(&Peer::client(4));
    assert!(h.adj.group_stats()[0].keeps_table);
    let messages = h.messages(4);
    let end_of_rib: Vec<_> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Update(u) => u.end_of_rib_family(),
            _ => None,
        })
        .collect();
    assert_eq!(
        end_of_rib,
        vec![AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST]
    );
    let routes = Routes::from_updates(&updates_of(messages));
    assert_eq!(routes.table.len(), 251);
    assert!(routes.withdrawn.is_empty());
    let _ = h.flush();
    let first = h.routes(1);
    assert!(first.get("10.200.0.0/16").is_some(), "sent to the others");
    assert_eq!(h.adj.group_stats()[0].routes, 251);
}

#[test]
fn a_route_refresh_of_a_group_without_a_table_resends_the_family() {
    let mut h = one_client_source();
    send_all(&mut h, 0..20, Some(1));
    h.take(1);
    h.take(3);
    assert!(!h.adj.group_stats()[0].keeps_table);
    h.refresh(1, AfiSafi::IPV4_UNICAST).unwrap();
    let routes = h.routes(1);
    assert_eq!(routes.announced.len(), 20);
    assert!(h.take(3).0.is_empty(), "the other member gets nothing");
    assert!(h.adj.group_stats()[0].keeps_table);
}

#[test]
fn exported_answers_from_the_loc_rib_without_a_table() {
    let mut h = one_client_source();
    let set = med(&mut h, 90, 7);
    let _ = h.send(&[change(&prefix(1), vec![path(90, &set)])]);
    assert!(!h.adj.group_stats()[0].keeps_table);
    let exported = h.exported(1, &prefix(1));
    assert_eq!(exported.len(), 1);
    assert_eq!(exported[0].0, 0);
    assert!(exported[0].1.get(attr_type::ORIGINATOR_ID).is_some());
    assert!(h.exported(1, &prefix(2)).is_empty());
}
