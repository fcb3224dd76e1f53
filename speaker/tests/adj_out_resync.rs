//! Slow members: they fall behind, never hold up the others, and are
//! resynchronised from the table with the latest state only. The groups
//! here keep their tables throughout, so that the flush a member refuses
//! is the one it falls behind at; `adj_out_direct` tests a member falling
//! behind a group that had no table.

#[path = "adj_out_support.rs"]
mod support;

use bytes::Bytes;

use bgp_proto::attribute::PathAttribute;
use bgp_proto::iana::attr_type;
use bgp_proto::message::{Message, Update};

use bgp_speaker::adj_out::SyncState;
use bgp_speaker::outbox::Outbox;
use bgp_speaker::types::PeerId;

use support::*;

const SLOW: u32 = 1;
const FAST: u32 = 2;

fn setup() -> Harness {
    let mut h = Harness::tabled();
    h.source(&Peer::client(90));
    h.add(&Peer::client(SLOW));
    h.add(&Peer::client(FAST));
    h.messages(SLOW);
    h.messages(FAST);
    h
}

fn med(h: &mut Harness, value: u32) -> bgp_speaker::Attrs {
    h.intern(attrs(
        &[],
        "10.0.0.90",
        vec![PathAttribute::MultiExitDisc(value)],
    ))
}

/// Fill the outbox past the high-water mark with bytes that are not BGP.
fn clog(h: &Harness, peer: u32, len: usize) {
    h.outbox(peer).force_push(Bytes::from(vec![0u8; len]));
}

/// Take the peer's queue; decode the BGP buffers, skip the filler.
fn drain(h: &Harness, peer: u32) -> (Vec<Update>, bool) {
    let ctx = h.decode_ctx(peer);
    let (buffers, drained) = h.take(peer);
    let updates = buffers
        .iter()
        .filter(|b| b.first() == Some(&0xff))
        .flat_map(|b| decode_all(b, &ctx))
        .filter_map(|m| match m {
            Message::Update(u) => Some(u),
            _ => None,
        })
        .collect();
    (updates, drained)
}

fn med_of(routes: &Routes, prefix: &str) -> Option<u32> {
    match routes.get(prefix)?.get(attr_type::MULTI_EXIT_DISC)? {
        PathAttribute::MultiExitDisc(med) => Some(*med),
        _ => None,
    }
}

#[test]
fn a_lagging_member_gets_the_latest_state_only_and_the_fast_one_everything() {
    let mut h = setup();
    let sets: Vec<_> = (0..6).map(|v| med(&mut h, v)).collect();
    let _ = h.send(&[
        change("10.1.0.0/16", vec![path(90, &sets[0])]),
        change("10.2.0.0/16", vec![path(90, &sets[0])]),
        change("10.3.0.0/16", vec![path(90, &sets[0])]),
    ]);
    h.take(SLOW);
    h.take(FAST);
    clog(&h, SLOW, Outbox::HIGH_WATER + 1);

    let summary = h.send(&[change("10.1.0.0/16", vec![path(90, &sets[1])])]);
    assert_eq!((summary.pushes, summary.newly_behind), (1, 1));
    let _ = h.send(&[
        change("10.1.0.0/16", vec![path(90, &sets[2])]),
        withdraw("10.3.0.0/16"),
        change("10.4.0.0/16", vec![path(90, &sets[2])]),
    ]);
    let _ = h.send(&[
        withdraw("10.4.0.0/16"),
        change("10.2.0.0/16", vec![path(90, &sets[3])]),
    ]);
    // The fast member got every flush, one buffer each.
    let (fast, _) = h.take(FAST);
    assert_eq!(fast.len(), 3);
    let slow = h.adj.member_stats(PeerId(SLOW)).unwrap();
    assert!(matches!(
        slow.state,
        SyncState::Behind { waiting: true, .. }
    ));
    assert!(slow.lagging);
    assert_eq!(slow.times_behind, 1);
    let group = &h.adj.group_stats()[0];
    assert_eq!(group.members_behind, 1);
    assert_eq!(
        group.tombstones, 2,
        "10.3 and 10.4 are kept for the slow member"
    );

    // The slow member's writer catches up; the group resynchronises it.
    let (nothing, drained) = drain(&h, SLOW);
    assert!(nothing.is_empty() && drained);
    assert_eq!(h.adj.member_drained(PeerId(SLOW)), Ok(SyncState::InSync));
    let (updates, _) = drain(&h, SLOW);
    let routes = Routes::from_updates(&updates);
    let mut announced: Vec<_> = routes
        .announced
        .iter()
        .map(|n| n.prefix.to_string())
        .collect();
    announced.sort();
    assert_eq!(announced, vec!["10.1.0.0/16", "10.2.0.0/16"], "each once");
    assert_eq!(med_of(&routes, "10.1.0.0/16"), Some(2));
    assert_eq!(med_of(&routes, "10.2.0.0/16"), Some(3));
    assert!(
        routes
            .withdrawn
            .iter()
            .any(|n| n.prefix == net("10.3.0.0/16"))
    );
    assert!(
        !routes
            .announced
            .iter()
            .any(|n| n.prefix == net("10.4.0.0/16")),
        "never seen alive"
    );
    assert_eq!(h.adj.group_stats()[0].tombstones, 0);
    let slow = h.adj.member_stats(PeerId(SLOW)).unwrap();
    assert_eq!(slow.resyncs, 2, "initial dump and this resync");
    // Back in the stream.
    let _ = h.send(&[change("10.5.0.0/16", vec![path(90, &sets[5])])]);
    let (slow_bufs, _) = h.take(SLOW);
    let (fast_bufs, _) = h.take(FAST);
    assert_eq!(slow_bufs[0].as_ptr(), fast_bufs[0].as_ptr());
}

#[test]
fn a_resync_is_paced_by_the_outbox_and_sees_changes_made_meanwhile() {
    let mut h = setup();
    let old = med(&mut h, 1);
    let new = med(&mut h, 2);
    let newer = med(&mut h, 3);
    let prefix = |i: u32| format!("10.{}.{}.0/24", i / 256, i % 256);
    let all = |set: &bgp_speaker::Attrs| -> Vec<_> {
        (0..5000)
            .map(|i| change(&prefix(i), vec![path(90, set)]))
            .collect()
    };
    let _ = h.send(&all(&old));
    h.take(SLOW);
    h.take(FAST);
    clog(&h, SLOW, Outbox::HIGH_WATER + 1);
    let _ = h.send(&all(&new));
    assert!(
        !h.adj
            .member_stats(PeerId(SLOW))
            .unwrap()
            .state
            .eq(&SyncState::InSync)
    );

    // Drained, but the queue is nearly full again when the resync starts:
    // one chunk goes, then the walk waits for the next drain.
    let (_, drained) = drain(&h, SLOW);
    assert!(drained);
    clog(&h, SLOW, Outbox::HIGH_WATER - 100);
    let state = h.adj.member_drained(PeerId(SLOW)).unwrap();
    let SyncState::Behind {
        waiting: true,
        cursor,
        mark,
    } = state
    else {
        panic!("{state:?}");
    };
    assert!(cursor > mark, "one chunk walked");
    assert!(h.outbox(SLOW).is_lagging());
    let (first_part, drained) = drain(&h, SLOW);
    assert!(
        drained,
        "the pause left the outbox lagging, so Drained comes"
    );
    let sent = Routes::from_updates(&first_part);
    assert_eq!(sent.announced.len(), 2048, "one chunk");
    let resent = sent.announced[0].prefix;
    let later = (0..5000)
        .map(|i| net(&prefix(i)))
        .find(|p| !sent.announced.iter().any(|n| n.prefix == *p))
        .unwrap();
    // Meanwhile a prefix already resent and one not yet change again.
    let _ = h.send(&[
        change(&resent.to_string(), vec![path(90, &newer)]),
        change(&later.to_string(), vec![path(90, &newer)]),
    ]);
    assert_eq!(h.adj.member_drained(PeerId(SLOW)), Ok(SyncState::InSync));
    let (rest, _) = drain(&h, SLOW);
    let updates: Vec<Update> = first_part.into_iter().chain(rest).collect();
    let routes = Routes::from_updates(&updates);
    assert_eq!(
        routes.announced.len(),
        5001,
        "one prefix twice, the others once"
    );
    assert_eq!(routes.table.len(), 5000);
    assert_eq!(med_of(&routes, &resent.to_string()), Some(3));
    assert_eq!(med_of(&routes, &later.to_string()), Some(3));
    let untouched = sent.announced[1].prefix.to_string();
    assert_eq!(med_of(&routes, &untouched), Some(2));
    let fast = h.routes(FAST);
    assert_eq!(med_of(&fast, &resent.to_string()), Some(3));
    assert_eq!(fast.table.len(), 5000, "the fast member got every flush");
    let stats = h.adj.member_stats(PeerId(SLOW)).unwrap();
    assert!(stats.resync_messages >= 3);
}

#[test]
fn removing_a_lagging_member_frees_its_tombstones() {
    let mut h = setup();
    let set = med(&mut h, 1);
    let _ = h.send(&[change("10.1.0.0/16", vec![path(90, &set)])]);
    clog(&h, SLOW, Outbox::HIGH_WATER + 1);
    let _ = h.send(&[withdraw("10.1.0.0/16")]);
    assert_eq!(h.adj.group_stats()[0].tombstones, 1);
    h.adj.remove_member(PeerId(SLOW)).unwrap();
    assert_eq!(h.adj.group_stats()[0].tombstones, 0);
}
