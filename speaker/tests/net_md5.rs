//! TCP MD5 signatures (RFC 2385) between two peer tasks over loopback:
//! matching passwords establish; a wrong or missing one does not, because
//! the kernel drops the segments. Needs root (we are) and a kernel with
//! `CONFIG_TCP_MD5SIG`.

mod net_support;

use std::time::Duration;

use bgp_proto::iana::AfiSafi;
use bgp_speaker::events::PeerEvent;
use net_support::*;

const V4: AfiSafi = AfiSafi::IPV4_UNICAST;

/// A (127.0.0.`a`, active, password `a_password`) connects to B
/// (127.0.0.`b`, passive, whose listener has `b_password` for A).
fn md5_pair(a: u8, b: u8, a_password: Option<&str>, b_password: Option<&str>) -> (Node, Node) {
    let mut a_opts = options(65000, &[V4]);
    a_opts.md5_password = a_password.map(String::from);
    let mut b_opts = options(65000, &[V4]);
    b_opts.md5_password = b_password.map(String::from);
    b_opts.passive = true;
    let a_spec = Spec::new(a, 65000, a_opts);
    let b_spec = Spec::new(b, 65000, b_opts);
    // The key must be on the listener before A's first SYN.
    let listener = listen(b_spec.ip);
    listener.set_md5(a_spec.ip, b_password).unwrap();
    let b_node = spawn(&b_spec, 2, a_spec.ip, 0, Some(listener.clone()));
    let a_node = spawn(&a_spec, 1, b_spec.ip, port(&listener), None);
    (a_node, b_node)
}

/// No Established on either side during `wait`.
async fn never_established(a: &mut Node, b: &mut Node, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return;
        }
        let event = tokio::select! {
            Some(event) = a.events.recv() => event,
            Some(event) = b.events.recv() => event,
            () = tokio::time::sleep(left) => return,
        };
        assert!(
            !matches!(event, PeerEvent::Established { .. }),
            "established despite the passwords"
        );
    }
}

#[tokio::test]
async fn rfc2385_matching_passwords_establish() {
    init_tracing();
    let (mut a, mut b) = md5_pair(11, 12, Some("s3cret"), Some("s3cret"));
    let (info, _) = established(&mut a).await;
    established(&mut b).await;
    let u = ipv4_update(65000, "127.0.0.11".parse().unwrap(), &[nlri("10.0.0.0/8")]);
    assert!(a.outbox.push(encode(&u, &info.negotiated.encode_ctx())));
    assert_eq!(update(&mut b).await, u);
}

#[tokio::test]
async fn rfc2385_wrong_or_missing_passwords_do_not_establish() {
    init_tracing();
    // Wrong password; password on the connecting side only; on the
    // listening side only. All three at once, on their own addresses.
    let (mut a1, mut b1) = md5_pair(21, 22, Some("one"), Some("two"));
    let (mut a2, mut b2) = md5_pair(23, 24, Some("one"), None);
    let (mut a3, mut b3) = md5_pair(25, 26, None, Some("two"));
    let wait = Duration::from_secs(3);
    tokio::join!(
        never_established(&mut a1, &mut b1, wait),
        never_established(&mut a2, &mut b2, wait),
        never_established(&mut a3, &mut b3, wait),
    );
}
