//! Whole speakers over real loopback TCP: sessions come up, originated
//! routes propagate, reflection sets ORIGINATOR_ID and CLUSTER_LIST, and
//! withdrawals and lost sessions take routes away.
//!
//! Each speaker listens on its own 127.0.0.x address (all of 127/8 is local
//! on Linux) and binds its outgoing connections to it, so peers recognise
//! each other by source address as they would on a network.

mod loopback_support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bgp_proto::attribute::NextHop;
use bgp_proto::iana::AfiSafi;
use bgp_speaker::PathAttrs;
use bgp_speaker::config::PeerConfig;
use bgp_speaker::speaker::SpeakerHandle;
use ipnetwork::IpNetwork;
use loopback_support::{
    established, listening, local_route, options, reflector_with_two_clients, wait_until,
};

const PORT: u16 = 11179;

fn addr(last: u8, base: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, base, last)
}

fn prefix(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

async fn paths_of(speaker: &SpeakerHandle, p: &str) -> Vec<PathAttrs> {
    speaker
        .routes(AfiSafi::IPV4_UNICAST, Some(prefix(p)))
        .await
        .unwrap()
        .into_iter()
        .flat_map(|r| r.paths.into_iter().map(|(path, _)| (*path.attrs).clone()))
        .collect()
}

#[tokio::test]
async fn ibgp_routes_propagate_and_are_withdrawn() {
    let (a_ip, b_ip) = (addr(1, 41), addr(2, 41));
    let a = listening(64512, a_ip, PORT).await;
    let b = listening(64512, b_ip, PORT).await;
    a.add_peer(PeerConfig {
        address: IpAddr::V4(b_ip),
        options: options(64512, a_ip, PORT),
    })
    .await
    .unwrap();
    let mut passive = options(64512, b_ip, PORT);
    passive.passive = true;
    b.add_peer(PeerConfig {
        address: IpAddr::V4(a_ip),
        options: passive,
    })
    .await
    .unwrap();
    wait_until("session", || async {
        established(&a, 1).await && established(&b, 1).await
    })
    .await;

    a.originate(
        AfiSafi::IPV4_UNICAST,
        prefix("10.1.0.0/16"),
        local_route(a_ip),
    )
    .await
    .unwrap();
    wait_until("route at B", || async {
        !paths_of(&b, "10.1.0.0/16").await.is_empty()
    })
    .await;
    let got = paths_of(&b, "10.1.0.0/16").await;
    assert_eq!(
        got[0].next_hop,
        NextHop::V4(a_ip),
        "iBGP keeps the next hop"
    );
    assert_eq!(
        got[0].local_pref(),
        Some(100),
        "LOCAL_PREF added towards iBGP"
    );

    a.withdraw(AfiSafi::IPV4_UNICAST, prefix("10.1.0.0/16"))
        .await
        .unwrap();
    wait_until("withdrawal at B", || async {
        paths_of(&b, "10.1.0.0/16").await.is_empty()
    })
    .await;
    a.shutdown("test over").await;
    b.shutdown("test over").await;
}

#[tokio::test]
async fn a_reflector_reflects_between_clients_with_originator_and_cluster_list() {
    let (r_ip, c1_ip, c2_ip) = (addr(1, 42), addr(2, 42), addr(3, 42));
    let (r, c1, c2) = reflector_with_two_clients(r_ip, c1_ip, c2_ip, PORT).await;

    c1.originate(
        AfiSafi::IPV4_UNICAST,
        prefix("10.2.0.0/24"),
        local_route(c1_ip),
    )
    .await
    .unwrap();
    wait_until("reflected route at C2", || async {
        !paths_of(&c2, "10.2.0.0/24").await.is_empty()
    })
    .await;
    let got = &paths_of(&c2, "10.2.0.0/24").await[0];
    assert_eq!(
        got.originator_id(),
        Some(c1_ip),
        "RFC 4456: ORIGINATOR_ID is the client's id"
    );
    assert_eq!(
        got.cluster_list(),
        &[r_ip],
        "RFC 4456: the cluster id (router id) is prepended"
    );
    assert_eq!(
        got.next_hop,
        NextHop::V4(c1_ip),
        "next hop left as received"
    );

    // C1 goes away without graceful restart: its route vanishes at C2.
    c1.shutdown("bye").await;
    wait_until("route gone at C2", || async {
        paths_of(&c2, "10.2.0.0/24").await.is_empty()
    })
    .await;
    r.shutdown("test over").await;
    c2.shutdown("test over").await;
}

#[tokio::test]
async fn ebgp_without_policy_exchanges_nothing_rfc8212() {
    let (a_ip, b_ip) = (addr(1, 43), addr(2, 43));
    let a = listening(64512, a_ip, PORT).await;
    let b = listening(64513, b_ip, PORT).await;
    a.add_peer(PeerConfig {
        address: IpAddr::V4(b_ip),
        options: options(64513, a_ip, PORT),
    })
    .await
    .unwrap();
    let mut passive = options(64512, b_ip, PORT);
    passive.passive = true;
    b.add_peer(PeerConfig {
        address: IpAddr::V4(a_ip),
        options: passive,
    })
    .await
    .unwrap();
    wait_until("session", || async {
        established(&a, 1).await && established(&b, 1).await
    })
    .await;
    a.originate(
        AfiSafi::IPV4_UNICAST,
        prefix("10.3.0.0/24"),
        local_route(a_ip),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(paths_of(&b, "10.3.0.0/24").await.is_empty());
    a.shutdown("test over").await;
    b.shutdown("test over").await;
}

#[tokio::test]
async fn exceeding_a_prefix_limit_closes_with_rfc4486_data() {
    use bgp_proto::session::DownReason;
    use bgp_speaker::config::{PrefixLimit, PrefixLimitAction};
    use bgp_speaker::speaker::SpeakerEvent;

    let (a_ip, b_ip) = (addr(1, 44), addr(2, 44));
    let a = listening(64512, a_ip, PORT).await;
    let b = listening(64512, b_ip, PORT).await;
    let mut events = a.subscribe();
    a.add_peer(PeerConfig {
        address: IpAddr::V4(b_ip),
        options: options(64512, a_ip, PORT),
    })
    .await
    .unwrap();
    let mut limited = options(64512, b_ip, PORT);
    limited.passive = true;
    limited.prefix_limit = Some(PrefixLimit {
        max: 2,
        warn_percent: 50,
        action: PrefixLimitAction::Shutdown,
    });
    b.add_peer(PeerConfig {
        address: IpAddr::V4(a_ip),
        options: limited,
    })
    .await
    .unwrap();
    wait_until("session", || async { established(&a, 1).await }).await;
    for p in ["10.4.1.0/24", "10.4.2.0/24", "10.4.3.0/24"] {
        a.originate(AfiSafi::IPV4_UNICAST, prefix(p), local_route(a_ip))
            .await
            .unwrap();
    }
    let notification = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(SpeakerEvent::PeerDown {
                reason: DownReason::NotificationReceived(n),
                ..
            }) = events.recv().await
            {
                return n;
            }
        }
    })
    .await
    .expect("A is told why");
    assert_eq!((notification.code, notification.subcode), (6, 1));
    assert_eq!(
        notification.max_prefixes_data(),
        Some((AfiSafi::IPV4_UNICAST, 2))
    );
    assert!(
        paths_of(&b, "10.4.1.0/24").await.is_empty(),
        "B dropped A's routes"
    );
    a.shutdown("test over").await;
    b.shutdown("test over").await;
}
