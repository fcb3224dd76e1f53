//! Watch fan-in at scale, against a real etcd (Debian's `etcd-server`):
//!
//! 1. A syncer follows an empty etcd; the cluster of `scale` (5,000 nodes,
//!    100 BGPPeers, the default BGPConfiguration) is written with 64 puts in
//!    flight. Measured: the time to write it, and until the syncer's snapshot
//!    holds all of it (every resource came through the watch).
//! 2. One node's labels change, 20 times: the time from the put until the
//!    syncer reports the change, and until every node's peerings have been
//!    computed again from the new snapshot (what a reflector does on a
//!    change; target of the issue: under 50 ms for the computation).
//!
//! `cargo bench -p reflex-datastore --bench watch_fanin`. Without etcd the
//! bench prints a notice and exits.

mod scale;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use reflex_datastore::peering::peerings_at;
use reflex_datastore::store::Precondition;
use reflex_datastore::store::etcd::EtcdStore;
use reflex_datastore::syncer::{SyncChange, SyncStatus, Syncer, SyncerConfig};
use reflex_datastore::testing::EtcdServer;
use reflex_datastore::{Datastore, Kind, Snapshot};
use scale::{NODES, cluster, node};

const IN_FLIGHT: usize = 64;
const CHANGES: usize = 20;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn all_peerings(snap: &Snapshot) -> usize {
    let index = snap.peering_index();
    (0..index.node_count())
        .map(|i| peerings_at(&index, i).len())
        .sum()
}

fn nodes_in(snap: &Snapshot) -> usize {
    snap.of_kind(Kind::Node).count()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn run(etcd: &EtcdServer) {
    let store = Arc::new(EtcdStore::connect(etcd.config()).await.expect("connects"));
    let syncer = Syncer::start(
        store.clone(),
        SyncerConfig {
            kinds: vec![Kind::Node, Kind::BgpPeer, Kind::BgpConfiguration],
            change_capacity: 65_536,
            ..SyncerConfig::default()
        },
    );
    syncer
        .wait_for(|s| matches!(s, SyncStatus::Connected { .. }))
        .await;
    let rss_before = rss_kib();
    let resources = cluster();
    let total = resources.len();
    let mut snapshots = syncer.snapshots();

    let started = Instant::now();
    let writes = futures::stream::iter(resources.into_iter().map(|r| {
        let store = store.clone();
        async move { store.put(&r, Precondition::None).await }
    }))
    .buffer_unordered(IN_FLIGHT)
    .collect::<Vec<_>>()
    .await;
    let written = started.elapsed();
    assert!(writes.iter().all(Result::is_ok), "every put succeeds");
    while snapshots.borrow_and_update().len() < total {
        snapshots.changed().await.expect("the syncer runs");
    }
    let seen = started.elapsed();
    let snap = syncer.snapshot();
    println!(
        "fan-in: {total} resources ({} nodes) written in {:.0} ms ({:.0}/s, {IN_FLIGHT} in flight); \
         all in the syncer's snapshot {:.0} ms after the first put, {:.0} ms after the last; \
         RSS +{:.1} MiB",
        nodes_in(&snap),
        written.as_secs_f64() * 1e3,
        total as f64 / written.as_secs_f64(),
        seen.as_secs_f64() * 1e3,
        (seen - written).as_secs_f64() * 1e3,
        rss_kib().saturating_sub(rss_before) as f64 / 1024.0,
    );
    assert_eq!(nodes_in(&snap), NODES);

    let mut to_change = Vec::new();
    let mut to_peerings = Vec::new();
    let mut changes = syncer.changes();
    for k in 0..CHANGES {
        let name = 100 + k * 37;
        let changed = node(name).with_label("rack", format!("r{}", (k + 7) % 50));
        let at = Instant::now();
        store
            .put(&changed.into(), Precondition::None)
            .await
            .expect("put");
        loop {
            match changes.recv().await.expect("the syncer runs") {
                SyncChange::Upsert { resource, .. }
                    if resource.name() == format!("node-{name:04}") =>
                {
                    break;
                }
                _ => {}
            }
        }
        to_change.push(at.elapsed());
        // The snapshot with the change, then every node's peerings.
        let snap = loop {
            let snap = syncer.snapshot();
            if snap.node(&format!("node-{name:04}")).is_some_and(|n| {
                n.metadata.labels.get("rack") == Some(&format!("r{}", (k + 7) % 50))
            }) {
                break snap;
            }
            snapshots.changed().await.expect("the syncer runs");
        };
        let count = all_peerings(&snap);
        to_peerings.push(at.elapsed());
        assert!(count > 50_000, "{count} peerings");
    }
    println!(
        "one change x {CHANGES}: put -> syncer change median {:.1} ms (max {:.1}); \
         put -> all {NODES} nodes' peerings computed median {:.1} ms (max {:.1})",
        median(to_change.clone()).as_secs_f64() * 1e3,
        to_change.iter().max().unwrap().as_secs_f64() * 1e3,
        median(to_peerings.clone()).as_secs_f64() * 1e3,
        to_peerings.iter().max().unwrap().as_secs_f64() * 1e3,
    );
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse.
    let Some(etcd) = EtcdServer::start() else {
        println!("watch_fanin: etcd is not installed; skipped");
        return;
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(run(&etcd));
}
