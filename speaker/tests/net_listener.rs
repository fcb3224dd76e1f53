//! The listener: binding port 0 on several addresses, accepting, and
//! turning unknown peers away with Cease / Connection Rejected.

mod net_support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::sync::mpsc;

use bgp_proto::iana::notification as code;
use bgp_proto::message::Message;
use bgp_speaker::net::{Listener, NOT_A_NEIGHBOUR, reject};
use net_support::*;

#[tokio::test]
async fn binds_port_zero_reports_the_ports_and_accepts_on_each() {
    init_tracing();
    let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0);
    let with_v6 = std::net::TcpListener::bind(v6).is_ok();
    let addrs: Vec<SocketAddr> = if with_v6 { vec![v4, v6] } else { vec![v4] };
    let listener = Listener::bind(&addrs).unwrap();
    let bound = listener.local_addrs().to_vec();
    assert_eq!(bound.len(), addrs.len());
    assert!(bound.iter().all(|a| a.port() != 0));
    listener
        .set_md5(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 77)), Some("pw"))
        .unwrap();
    listener
        .set_md5(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 77)), None)
        .unwrap();
    if with_v6 {
        // Only the IPv6 socket can carry it; the IPv4 one is skipped.
        listener
            .set_md5("2001:db8::7".parse().unwrap(), Some("pw"))
            .unwrap();
    } else {
        assert!(
            listener
                .set_md5("2001:db8::7".parse().unwrap(), Some("pw"))
                .is_err()
        );
    }
    for addr in bound {
        let client =
            tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr))
                .await
                .expect("connect in time")
                .unwrap();
        let (_stream, remote) = listener.accept().await.unwrap();
        assert_eq!(remote, client.local_addr().unwrap());
    }
}

#[tokio::test]
async fn an_unknown_peer_gets_cease_connection_rejected() {
    init_tracing();
    let listener = listen(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let addr = listener.local_addrs()[0];
    let (tx, mut rx) = mpsc::channel(1);
    let running = listener.clone();
    tokio::spawn(async move { running.run(tx).await });
    let mut raw = RawPeer::connect(addr).await;
    let (stream, remote) = rx.recv().await.unwrap();
    reject(stream, remote, NOT_A_NEIGHBOUR);
    match raw.recv(Duration::from_secs(2)).await {
        Some(Message::Notification(n)) => {
            assert_eq!(
                (n.code, n.subcode),
                (code::CEASE, code::cease::CONNECTION_REJECTED)
            );
        }
        other => panic!("expected Cease 5, got {other:?}"),
    }
    assert!(
        raw.recv(Duration::from_secs(2)).await.is_none(),
        "then closed"
    );
}
