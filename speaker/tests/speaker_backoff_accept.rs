//! A peer that comes up while our session waits out its back-off (Idle,
//! idle hold running after failed attempts) is taken at once: its
//! connection ends the wait (RFC 4271 section 8.1.1, AutomaticStart with
//! passive TCP establishment) instead of being refused, so two peers that
//! failed in turn do not keep missing each other for the length of their
//! back-offs.

mod loopback_support;

use std::net::Ipv4Addr;
use std::time::Duration;

use loopback_support::{add_peer, established, listening, options, wait_until};

const PORT: u16 = 11293;
/// Where A looks for B: nothing listens there, so every attempt of A's
/// fails at once and A spends its time waiting out its back-off in Idle.
const CLOSED_PORT: u16 = 11294;

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 79, last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_connects_during_our_back_off_is_accepted() {
    // A's own attempts can never succeed; its idle hold grows (1 s, 2 s,
    // 4 s, ...) and it is in Idle nearly all the time. The session can
    // only come up through B's connections, which arrive while A waits.
    let a = listening(64512, ip(1), PORT).await;
    let mut towards_b = options(64512, ip(1), CLOSED_PORT);
    towards_b.connect_retry = Duration::from_secs(30);
    add_peer(&a, ip(2), towards_b).await;
    let b = listening(64512, ip(2), PORT).await;
    add_peer(&b, ip(1), options(64512, ip(2), PORT)).await;
    wait_until(
        "the session, which A refused while waiting out its back-off",
        || async { established(&a, 1).await && established(&b, 1).await },
    )
    .await;
    a.shutdown("test over").await;
    b.shutdown("test over").await;
}
