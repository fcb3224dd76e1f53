//! A reflector's writes after a client's UPDATE: to every other client of
//! the update group, and none back to the source client.
//!
//! An update group encodes one stream for all its members, but a member is
//! not sent the routes whose source it is (`bgp_speaker::adj_out`, "A
//! member's own routes"): the source client would only drop them again by
//! their ORIGINATOR_ID (RFC 4456 section 8), and writing them cost the
//! other clients 15-27 us in `agent_latency`. This holds whichever order
//! the members joined the group in and whichever way the runtime orders
//! woken tasks.
//!
//! Observed through the hop marks (`bgp_speaker::speaker::hops`): each
//! peer task marks `peer.write` with its peer's id after it wrote outbox
//! bytes. The reflector R has two clients, C1 (R's peer 1) and C2 (R's
//! peer 2); each client has R as its peer 1. Each client originates a
//! route in turn, so one of the two is the group's first member and the
//! other its last, on a `current_thread` runtime (which runs woken tasks
//! in order) and on a one-worker multi-thread runtime (which runs the last
//! one woken first).

mod loopback_support;

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp_proto::iana::AfiSafi;
use bgp_speaker::speaker::{SpeakerHandle, hops};
use ipnetwork::IpNetwork;
use loopback_support::{local_route, reflector_with_two_clients, wait_until};

const PORT: u16 = 11187;

fn addr(last: u8, base: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, base, last)
}

fn prefix(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

async fn has_route(speaker: &SpeakerHandle, p: &str) -> bool {
    speaker
        .routes(AfiSafi::IPV4_UNICAST, Some(prefix(p)))
        .await
        .is_ok_and(|routes| routes.iter().any(|r| !r.paths.is_empty()))
}

/// The peer ids of the `peer.write` marks recorded since the last call,
/// in time order.
fn writes() -> Vec<u64> {
    let mut marks = hops::take();
    marks.sort_by_key(|m| m.ns);
    marks
        .iter()
        .filter(|m| m.name == "peer.write")
        .map(|m| m.tag)
        .collect()
}

/// R with clients C1 and C2 on 127.0.`base`.0/24; each client originates
/// a route; R writes it to the other client, and nothing to the source.
async fn reflect_both_ways(base: u8) {
    let (r_ip, c1_ip, c2_ip) = (addr(1, base), addr(2, base), addr(3, base));
    let (r, c1, c2) = reflector_with_two_clients(r_ip, c1_ip, c2_ip, PORT).await;
    // Let the End-of-RIB markers and any initial writes go by.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // (source, its id at R, the other client, its id at R, a prefix)
    let cases = [
        (&c1, c1_ip, 1, &c2, 2, "10.87.1.0/24"),
        (&c2, c2_ip, 2, &c1, 1, "10.87.2.0/24"),
    ];
    for (source, source_ip, source_id, other, other_id, p) in cases {
        let _ = writes();
        source
            .originate(AfiSafi::IPV4_UNICAST, prefix(p), local_route(source_ip))
            .await
            .unwrap();
        wait_until("the reflected route", || async {
            has_route(other, p).await
        })
        .await;
        // An echo to the source would follow within microseconds.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let seen = writes();
        assert_eq!(
            seen,
            vec![1, other_id],
            "writes after {p} from R's peer {source_id}: the source's to R, \
             then R's to the other client ({other_id}), and no echo"
        );
    }
    for speaker in [&c1, &c2, &r] {
        speaker.shutdown("test over").await;
    }
}

#[test]
fn a_reflected_route_is_written_to_the_other_client_and_not_back_to_its_source() {
    hops::record_in_memory();
    assert!(hops::enabled(), "hop marks on");

    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    current.block_on(reflect_both_ways(87));
    drop(current);

    let one_worker = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    one_worker.block_on(async { tokio::spawn(reflect_both_ways(88)).await.unwrap() });
}
