//! The change log is kept only while a member needs it, and the full walk
//! (a new member, a route refresh) goes through the slots then the log:
//! tests at the [`AdjOut`] level that look at the groups' logs, and one of
//! the last export result's lifetime across batches. The groups here always
//! keep their tables ([`AdjOutConfig::always_keep_tables`]): the tests are
//! about the tables.

use super::*;
use bgp_proto::attribute::{AsPath, NextHop, Origin, PathAttribute};
use bgp_proto::context::AddPathFamilies;
use bgp_proto::message::Message;
use bgp_proto::session::Negotiated;
use bgp_proto::{PeerType, decode_message, frame_len};
use bytes::Bytes;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::attrs::PathAttrs;
use crate::config::PeerOptions;
use crate::outbox::Outbox;
use crate::types::{Path, PeerRole};

const LOCAL_AS: u32 = 65000;
const SOURCE: u32 = 90;
const ROUTES: u32 = 5000;

fn info(id: u32) -> PeerInfo {
    let router_id = Ipv4Addr::new(10, 1, 0, id as u8);
    PeerInfo {
        id: PeerId(id),
        address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, id as u8)),
        peer_as: LOCAL_AS,
        local_as: LOCAL_AS,
        router_id,
        role: PeerRole::ReflectorClient,
        cluster_id: Ipv4Addr::new(10, 255, 0, 1),
        negotiated: Arc::new(Negotiated {
            local_as: LOCAL_AS,
            peer_as: LOCAL_AS,
            local_id: Ipv4Addr::new(192, 0, 2, 254),
            peer_id: router_id,
            peer_type: PeerType::Internal,
            families: vec![AfiSafi::IPV4_UNICAST],
            four_octet_as: true,
            add_path_receive: AddPathFamilies::NONE,
            add_path_send: AddPathFamilies::NONE,
            extended_message: false,
            route_refresh: true,
            enhanced_route_refresh: true,
            peer_graceful_restart: None,
            graceful_restart: false,
            peer_llgr: Vec::new(),
            peer_role: None,
            hold_time: Duration::from_secs(90),
            keepalive: Duration::from_secs(30),
        }),
    }
}

/// What a receiver holds (prefix to MED) and what it saw.
#[derive(Debug, Default)]
struct Received {
    table: BTreeMap<IpNetwork, u32>,
    announced: usize,
    withdrawn: Vec<IpNetwork>,
    /// Index among the messages of each End-of-RIB and EoRR, in order.
    markers: Vec<usize>,
    messages: usize,
}

impl Received {
    fn fold(&mut self, buffers: &[Bytes]) {
        for buffer in buffers.iter().filter(|b| b.first() == Some(&0xff)) {
            let ctx = info(1).negotiated.encode_ctx();
            let mut buf = &buffer[..];
            while let Some(len) = frame_len(buf, ctx.max_message_len()).unwrap() {
                let message = decode_message(&buf[..len], &ctx).unwrap().message;
                buf = &buf[len..];
                self.messages += 1;
                match message {
                    Message::Update(update) if update.end_of_rib_family().is_some() => {
                        self.markers.push(self.messages);
                    }
                    Message::Update(update) => {
                        for (_, nlri) in update.withdrawn_routes() {
                            self.table.remove(&nlri.prefix);
                            self.withdrawn.push(nlri.prefix);
                        }
                        let med = update.attributes.iter().find_map(|a| match a {
                            PathAttribute::MultiExitDisc(med) => Some(*med),
                            _ => None,
                        });
                        for nlri in &update.nlri {
                            self.table.insert(nlri.prefix, med.unwrap_or(0));
                            self.announced += 1;
                        }
                    }
                    Message::RouteRefresh(_) => self.markers.push(self.messages),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    }
}

struct Harness {
    adj: AdjOut,
    interner: AttrInterner,
    rib: PlainLocRib,
    outboxes: HashMap<u32, Arc<Outbox>>,
}

impl Harness {
    fn new() -> Self {
        let mut rib = PlainLocRib::default();
        rib.peers.insert(PeerId(SOURCE), info(SOURCE));
        Harness {
            adj: AdjOut::new(AdjOutConfig {
                always_keep_tables: true,
                ..AdjOutConfig::default()
            }),
            interner: AttrInterner::default(),
            rib,
            outboxes: HashMap::new(),
        }
    }

    /// Add member `id`; `queued` bytes of filler are in its outbox first.
    fn add(&mut self, id: u32, queued: usize) {
        let outbox = Arc::new(Outbox::new());
        if queued > 0 {
            outbox.force_push(Bytes::from(vec![0u8; queued]));
        }
        self.outboxes.insert(id, outbox.clone());
        let options = PeerOptions::new(bgp_proto::session::PeerAs::Exact(LOCAL_AS));
        let local = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let spec = MemberSpec::new(info(id), local, &options, outbox);
        self.adj
            .add_member(spec, &self.rib, &mut self.interner)
            .unwrap();
    }

    fn med(&mut self, med: u32) -> Attrs {
        self.interner.intern(PathAttrs {
            next_hop: NextHop::V4(Ipv4Addr::new(10, 0, 0, SOURCE as u8)),
            attributes: vec![
                PathAttribute::Origin(Origin::Igp),
                PathAttribute::AsPath(AsPath::from_sequence(vec![])),
                PathAttribute::MultiExitDisc(med),
            ],
        })
    }

    /// Set routes `routes` to MED `med` (`None`: withdraw them), and flush.
    fn send(&mut self, routes: impl IntoIterator<Item = u32>, med: Option<u32>) {
        let attrs = med.map(|m| self.med(m));
        let paths = |a: &Attrs| Path {
            peer: PeerId(SOURCE),
            path_id: 0,
            attrs: a.clone(),
            stale: false,
        };
        let changes: Vec<RibChange> = routes
            .into_iter()
            .map(|i| {
                let paths = attrs.iter().map(paths).collect();
                self.rib.change(AfiSafi::IPV4_UNICAST, prefix(i), paths)
            })
            .collect();
        self.adj.apply(&changes, &self.rib, &mut self.interner);
        self.adj.flush(&self.rib, &mut self.interner);
    }

    /// Take the member's queue into `into`; whether it reported drained.
    fn take(&self, id: u32, into: &mut Received) -> bool {
        let outbox = &self.outboxes[&id];
        let mut taken = VecDeque::new();
        outbox.take_all(&mut taken);
        let buffers: Vec<Bytes> = taken.into_iter().collect();
        into.fold(&buffers);
        outbox.written(buffers.iter().map(Bytes::len).sum())
    }

    /// Change records held by each group.
    fn logs(&self) -> Vec<usize> {
        self.adj.groups.iter().map(|g| g.log_len()).collect()
    }
}

fn prefix(i: u32) -> IpNetwork {
    IpNetwork::new(Ipv4Addr::from((10 << 24) | (i << 8)).into(), 24).unwrap()
}

/// Two members in sync with [`ROUTES`] routes at MED 1.
fn in_sync_group() -> Harness {
    let mut h = Harness::new();
    h.add(1, 0);
    h.add(2, 0);
    h.send(0..ROUTES, Some(1));
    h
}

#[test]
fn the_log_is_empty_while_every_member_is_in_sync() {
    let mut h = in_sync_group();
    assert_eq!(h.logs(), vec![0]);
    h.send(0..100, None);
    h.send(100..200, Some(2));
    assert_eq!(h.logs(), vec![0]);
    let stats = &h.adj.group_stats()[0];
    assert_eq!((stats.routes, stats.tombstones), (ROUTES as usize - 100, 0));
    let mut got = Received::default();
    h.take(1, &mut got);
    assert_eq!(got.table.len(), ROUTES as usize - 100);
    assert_eq!(got.table.get(&prefix(150)), Some(&2));
}

#[test]
fn a_member_joining_after_the_log_was_dropped_gets_every_route_then_end_of_rib() {
    let mut h = in_sync_group();
    h.send(0..10, None);
    assert_eq!(h.logs(), vec![0]);
    h.add(3, 0);
    assert_eq!(
        h.adj.member_stats(PeerId(3)).unwrap().state,
        SyncState::InSync
    );
    let mut got = Received::default();
    h.take(3, &mut got);
    assert_eq!(got.table.len(), ROUTES as usize - 10);
    assert_eq!(got.announced, ROUTES as usize - 10, "each route once");
    assert!(got.withdrawn.is_empty());
    assert_eq!(got.markers, vec![got.messages], "End-of-RIB comes last");
    assert_eq!(h.logs(), vec![0]);
}

#[test]
fn a_member_behind_after_the_log_was_dropped_still_gets_the_withdrawals() {
    let mut h = in_sync_group();
    let mut slow = Received::default();
    h.take(1, &mut slow);
    assert_eq!(h.logs(), vec![0]);
    h.outboxes[&1].force_push(Bytes::from(vec![0u8; Outbox::HIGH_WATER + 1]));
    h.send(0..300, None);
    h.send(300..400, Some(5));
    assert!(
        !h.adj
            .member_stats(PeerId(1))
            .unwrap()
            .state
            .eq(&SyncState::InSync)
    );
    assert_eq!(h.logs(), vec![400], "kept for the member behind");
    assert_eq!(h.adj.group_stats()[0].tombstones, 300);
    h.send(250..350, Some(6));
    assert!(h.take(1, &mut slow), "drained");
    assert_eq!(h.adj.member_drained(PeerId(1)), Ok(SyncState::InSync));
    h.take(1, &mut slow);
    let withdrawn: BTreeSet<IpNetwork> = slow.withdrawn.iter().copied().collect();
    assert_eq!(withdrawn, (0..250).map(prefix).collect());
    assert_eq!(slow.table.len(), ROUTES as usize - 250);
    assert_eq!(slow.table.get(&prefix(260)), Some(&6));
    assert_eq!(slow.table.get(&prefix(360)), Some(&5));
    assert_eq!(slow.table.get(&prefix(400)), Some(&1));
    h.send(400..401, Some(7));
    assert_eq!(h.logs(), vec![0], "in sync again: nothing kept");
    assert_eq!(h.adj.group_stats()[0].tombstones, 0);
}

#[test]
fn a_route_changed_during_a_paused_full_walk_arrives_in_its_latest_state() {
    let mut h = in_sync_group();
    // Nearly full: the walk sends one chunk, then waits for a drain.
    h.add(3, Outbox::HIGH_WATER - 100);
    let SyncState::Behind { waiting: true, .. } = h.adj.member_stats(PeerId(3)).unwrap().state
    else {
        panic!("the walk should be paused");
    };
    let mut got = Received::default();
    assert!(h.take(3, &mut got));
    let first = got.announced;
    assert_eq!(first, super::resync::RESYNC_CHUNK, "one chunk");
    let (sent, unsent) = (prefix(5), prefix(ROUTES - 5));
    assert!(got.table.contains_key(&sent) && !got.table.contains_key(&unsent));
    // Change one route already sent and one not yet, withdraw two alike.
    h.send([5, ROUTES - 5], Some(9));
    h.send([6, ROUTES - 6], None);
    assert_eq!(h.logs(), vec![4], "kept for the walk");
    assert_eq!(h.adj.member_drained(PeerId(3)), Ok(SyncState::InSync));
    h.take(3, &mut got);
    assert_eq!(got.table.len(), ROUTES as usize - 2);
    assert_eq!(
        got.announced, ROUTES as usize,
        "each route once, but twice the one changed after it was sent and \
         never the one withdrawn before"
    );
    assert_eq!(got.table.get(&sent), Some(&9));
    assert_eq!(got.table.get(&unsent), Some(&9));
    assert!(!got.table.contains_key(&prefix(6)));
    assert!(!got.table.contains_key(&prefix(ROUTES - 6)));
    assert_eq!(got.withdrawn, vec![prefix(6), prefix(ROUTES - 6)]);
    assert_eq!(got.markers, vec![got.messages], "End-of-RIB comes last");
    h.send(7..8, Some(3));
    assert_eq!(h.logs(), vec![0]);
}

#[test]
fn a_refresh_during_a_slow_members_walk_resends_the_whole_family_after_borr() {
    let mut h = in_sync_group();
    let mut got = Received::default();
    h.take(1, &mut got);
    h.outboxes[&1].force_push(Bytes::from(vec![0u8; Outbox::HIGH_WATER + 1]));
    h.send(0..3000, Some(2));
    h.send(0..10, None);
    assert!(h.take(1, &mut got));
    // One chunk of the log walk, then paused.
    h.outboxes[&1].force_push(Bytes::from(vec![0u8; Outbox::HIGH_WATER - 100]));
    let state = h.adj.member_drained(PeerId(1)).unwrap();
    assert!(matches!(state, SyncState::Behind { waiting: true, .. }));
    assert!(h.take(1, &mut got));
    // The refresh request, then the Drained that the take reported.
    let mut refreshed = Received::default();
    h.adj
        .route_refresh(PeerId(1), AfiSafi::IPV4_UNICAST, &h.rib, &mut h.interner)
        .unwrap();
    let mut state = h.adj.member_drained(PeerId(1)).unwrap();
    loop {
        let drained = h.take(1, &mut refreshed);
        if state == SyncState::InSync {
            break;
        }
        assert!(drained);
        state = h.adj.member_drained(PeerId(1)).unwrap();
    }
    // BoRR first, EoRR last; every live route between them.
    assert_eq!(refreshed.markers.first(), Some(&1));
    assert_eq!(refreshed.markers.last(), Some(&refreshed.messages));
    assert_eq!(refreshed.table.len(), ROUTES as usize - 10);
    assert_eq!(refreshed.table.get(&prefix(20)), Some(&2));
    assert_eq!(refreshed.table.get(&prefix(4000)), Some(&1));
    h.send(7..8, Some(3));
    assert_eq!(h.logs(), vec![0]);
}

#[test]
fn a_peer_record_changed_between_batches_is_not_hidden_by_the_last_export_cache() {
    let mut h = Harness::new();
    h.add(1, 0);
    h.send(0..1, Some(5));
    let originator = |h: &mut Harness, i: u32| {
        let (rib, interner) = (&h.rib, &mut h.interner);
        let exported = h
            .adj
            .exported(PeerId(1), AfiSafi::IPV4_UNICAST, prefix(i), rib, interner);
        exported
            .first()
            .and_then(|(_, attrs)| attrs.originator_id())
    };
    assert_eq!(originator(&mut h, 0), Some(info(SOURCE).router_id));
    // The source comes back with another router ID (a new session), and
    // sends the same, still interned, attribute set.
    let first = h.med(5);
    let renamed = Ipv4Addr::new(10, 1, 0, 200);
    h.rib.peers.get_mut(&PeerId(SOURCE)).unwrap().router_id = renamed;
    assert!(
        Arc::ptr_eq(&first, &h.med(5)),
        "the same set as in the last batch"
    );
    h.send(1..2, Some(5));
    assert_eq!(
        originator(&mut h, 1),
        Some(renamed),
        "ORIGINATOR_ID of the new record"
    );
    assert_eq!(originator(&mut h, 0), Some(info(SOURCE).router_id));
}
