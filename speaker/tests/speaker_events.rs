//! Which best-path changes the speaker reports to its subscribers
//! (`SpeakerEvent::BestChanged`): every change that involves a learned
//! path, and none for a change of the speaker's own origination alone
//! (no learned best path before or after), which the caller made itself.
//! Two speakers over real loopback TCP.

mod loopback_support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bgp_proto::iana::AfiSafi;
use bgp_speaker::PeerId;
use bgp_speaker::config::PeerConfig;
use bgp_speaker::speaker::SpeakerEvent;
use ipnetwork::IpNetwork;
use loopback_support::{established, listening, local_route, options, wait_until};
use tokio::sync::broadcast;

const PORT: u16 = 11301;

fn addr(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 47, last)
}

fn prefix(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

/// The BestChanged events queued now: (prefix, best is learned).
fn best_changes(events: &mut broadcast::Receiver<SpeakerEvent>) -> Vec<(IpNetwork, Option<bool>)> {
    let mut out = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let SpeakerEvent::BestChanged { prefix, best, .. } = event {
            out.push((prefix, best.map(|p| p.peer != PeerId::LOCAL)));
        }
    }
    out
}

/// Wait until an event for `p` is queued; every event seen meanwhile.
async fn until_event_for(
    events: &mut broadcast::Receiver<SpeakerEvent>,
    p: IpNetwork,
) -> Vec<(IpNetwork, Option<bool>)> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            seen.extend(best_changes(events));
            if seen.iter().any(|(q, _)| *q == p) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(found.is_ok(), "no event for {p}; seen {seen:?}");
    seen
}

#[tokio::test]
async fn own_originations_alone_are_not_reported_learned_paths_are() {
    let (a_ip, b_ip) = (addr(1), addr(2));
    let a = listening(64512, a_ip, PORT).await;
    let b = listening(64512, b_ip, PORT).await;
    let mut events = b.subscribe();
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
    let (own, shared, marker) = (
        prefix("10.47.1.0/24"),
        prefix("10.47.2.0/24"),
        prefix("10.47.9.0/24"),
    );
    let v4 = AfiSafi::IPV4_UNICAST;

    // B's own prefix, alone: no event (nor for its withdrawal). A's
    // marker route, sent after, proves the core has handled B's commands.
    b.originate(v4, own, local_route(b_ip)).await.unwrap();
    b.withdraw(v4, own).await.unwrap();
    b.originate(v4, own, local_route(b_ip)).await.unwrap();
    a.originate(v4, marker, local_route(a_ip)).await.unwrap();
    let seen = until_event_for(&mut events, marker).await;
    assert!(
        !seen.iter().any(|(p, _)| *p == own),
        "no event for B's own prefix alone: {seen:?}"
    );
    assert!(seen.contains(&(marker, Some(true))), "{seen:?}");

    // A learned path: reported; B's origination of the same prefix
    // afterwards changes what a learned-route consumer must do (it had a
    // learned best before), so it is reported too, and so is the
    // withdrawal that brings the learned path back.
    a.originate(v4, shared, local_route(a_ip)).await.unwrap();
    let seen = until_event_for(&mut events, shared).await;
    assert!(seen.contains(&(shared, Some(true))), "{seen:?}");
    b.originate(v4, shared, local_route(b_ip)).await.unwrap();
    b.withdraw(v4, shared).await.unwrap();
    let seen = until_event_for(&mut events, shared).await;
    let mut all = seen;
    tokio::time::sleep(Duration::from_millis(200)).await;
    all.extend(best_changes(&mut events));
    let for_shared: Vec<_> = all.iter().filter(|(p, _)| *p == shared).collect();
    assert!(
        for_shared.len() >= 2,
        "origination over a learned path and its withdrawal are reported: {all:?}"
    );
    assert_eq!(
        for_shared.last().map(|(_, learned)| *learned),
        Some(Some(true)),
        "the learned path is best again: {all:?}"
    );

    // The learned path goes while B's own path is there too: reported (a
    // peer's change, not B's command), with B's own path as the best.
    b.originate(v4, shared, local_route(b_ip)).await.unwrap();
    until_event_for(&mut events, shared).await;
    a.withdraw(v4, shared).await.unwrap();
    let seen = until_event_for(&mut events, shared).await;
    assert_eq!(
        seen.iter().rev().find(|(p, _)| *p == shared),
        Some(&(shared, Some(false))),
        "the learned path's withdrawal is reported: {seen:?}"
    );
    a.shutdown("test over").await;
    b.shutdown("test over").await;
}
