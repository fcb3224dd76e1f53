//! ADD-PATH send (RFC 7911): the first N eligible paths, with stable ids.

#[path = "adj_out_support.rs"]
mod support;

use std::net::{IpAddr, Ipv4Addr};

use bgp_proto::Nlri;
use bgp_proto::attribute::NextHop;
use bgp_proto::iana::AfiSafi;

use bgp_speaker::config::AddPathSend;

use support::*;

const N2: u32 = 1;
const ALL: u32 = 2;
const PLAIN: u32 = 3;

fn setup() -> Harness {
    let mut h = Harness::new();
    for id in 90..=93 {
        h.source(&Peer::client(id));
    }
    h.source(&Peer::internal(94));
    for (id, mode) in [(N2, AddPathSend::BestN(2)), (ALL, AddPathSend::All)] {
        let peer = Peer::internal(id).add_path(AfiSafi::IPV4_UNICAST);
        let mut opts = options(&peer);
        opts.add_path_send = mode;
        h.add_with(&peer, opts, IpAddr::V4(LOCAL_ADDRESS), &[]);
    }
    h.add(&Peer::internal(PLAIN));
    for id in [N2, ALL, PLAIN] {
        h.messages(id);
    }
    h
}

fn paths(h: &mut Harness, sources: &[u32]) -> Vec<bgp_speaker::Path> {
    sources
        .iter()
        .map(|&id| {
            let set = h.intern(attrs(&[], &format!("10.0.0.{id}"), vec![]));
            path(id, &set)
        })
        .collect()
}

fn next_hop_of(routes: &Routes, id: u32) -> Option<Ipv4Addr> {
    match routes
        .table
        .get(&Nlri::with_path_id(net("10.1.0.0/16"), id))?
        .next_hop
    {
        NextHop::V4(v4) => Some(v4),
        _ => None,
    }
}

#[test]
fn best_n_sends_the_first_n_eligible_paths_with_stable_ids() {
    let mut h = setup();
    let all = paths(&mut h, &[90, 91, 92]);
    let _ = h.send(&[change("10.1.0.0/16", all.clone())]);
    let routes = h.routes(N2);
    assert_eq!(routes.table.len(), 2);
    assert_eq!(next_hop_of(&routes, 1), Some(Ipv4Addr::new(10, 0, 0, 90)));
    assert_eq!(next_hop_of(&routes, 2), Some(Ipv4Addr::new(10, 0, 0, 91)));
    assert_eq!(h.routes(ALL).table.len(), 3);
    // Without ADD-PATH: the best path only.
    let routes = h.routes(PLAIN);
    assert_eq!(routes.table.len(), 1);
    assert!(routes.get("10.1.0.0/16").is_some());

    // The best path goes: 91 keeps id 2, 92 takes the free id 1.
    let _ = h.send(&[change("10.1.0.0/16", all[1..].to_vec())]);
    let routes = h.routes(N2);
    assert_eq!(
        routes.announced,
        vec![Nlri::with_path_id(net("10.1.0.0/16"), 1)]
    );
    assert!(routes.withdrawn.is_empty(), "implicit replacement of id 1");
    assert_eq!(next_hop_of(&routes, 1), Some(Ipv4Addr::new(10, 0, 0, 92)));
    let routes = h.routes(ALL);
    assert_eq!(
        routes.withdrawn,
        vec![Nlri::with_path_id(net("10.1.0.0/16"), 1)]
    );
    assert!(routes.announced.is_empty(), "91 and 92 keep their ids");

    // Everything goes: every id is withdrawn.
    let _ = h.send(&[withdraw("10.1.0.0/16")]);
    let mut withdrawn = h.routes(N2).withdrawn;
    withdrawn.sort();
    assert_eq!(
        withdrawn,
        vec![
            Nlri::with_path_id(net("10.1.0.0/16"), 1),
            Nlri::with_path_id(net("10.1.0.0/16"), 2)
        ]
    );
    assert_eq!(h.routes(PLAIN).withdrawn.len(), 1);
}

#[test]
fn paths_that_may_not_go_to_the_group_are_skipped() {
    let mut h = setup();
    // 94 is a non-client: its path may not go to the non-client members.
    let list = paths(&mut h, &[94, 90, 91]);
    let _ = h.send(&[change("10.1.0.0/16", list)]);
    let routes = h.routes(N2);
    assert_eq!(next_hop_of(&routes, 1), Some(Ipv4Addr::new(10, 0, 0, 90)));
    assert_eq!(next_hop_of(&routes, 2), Some(Ipv4Addr::new(10, 0, 0, 91)));
    // Without ADD-PATH the best is not eligible: nothing, no fallback.
    assert!(h.take(PLAIN).0.is_empty());
}

#[test]
fn add_path_with_best_only_uses_path_id_1() {
    let mut h = Harness::new();
    h.source(&Peer::client(90));
    h.source(&Peer::client(91));
    let peer = Peer::internal(1).add_path(AfiSafi::IPV4_UNICAST);
    h.add(&peer);
    h.messages(1);
    let list = paths(&mut h, &[90, 91]);
    let _ = h.send(&[change("10.1.0.0/16", list.clone())]);
    let routes = h.routes(1);
    assert_eq!(
        routes.announced,
        vec![Nlri::with_path_id(net("10.1.0.0/16"), 1)]
    );
    let _ = h.send(&[change("10.1.0.0/16", vec![list[1].clone()])]);
    let routes = h.routes(1);
    assert_eq!(
        routes.announced,
        vec![Nlri::with_path_id(net("10.1.0.0/16"), 1)]
    );
    assert!(routes.withdrawn.is_empty());
    assert_eq!(next_hop_of(&routes, 1), Some(Ipv4Addr::new(10, 0, 0, 91)));
}
