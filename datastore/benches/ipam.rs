//! Calico block IPAM against a real etcd (Debian's `etcd-server`) and in memory:
//!
//! 1. One node, one at a time: 1,000 `auto_assign`s of one IPv4 address (a pod
//!    start; the node claims a new /26 every 64), then 1,000
//!    `release_by_handle`s (a pod stop). Per-call latency, median and 99th
//!    percentile, and calls per second.
//! 2. Four nodes, each with its own etcd connection and four tasks: 4,000
//!    assignments at once in a /20 (the nodes race for blocks and, at the end,
//!    borrow). Throughput, and the compare-and-swap writes that lost and were
//!    retried.
//! 3. The same as 1 on the memory backend: the CPU cost without etcd.
//!
//! `cargo bench -p reflex-datastore --bench ipam`. Without etcd the bench prints
//! a notice and runs the memory part only.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reflex_datastore::ipam::{AutoAssignRequest, Ipam};
use reflex_datastore::model::{IpPool, IpPoolSpec};
use reflex_datastore::store::etcd::EtcdStore;
use reflex_datastore::store::memory::MemoryStore;
use reflex_datastore::store::{Datastore, Precondition};
use reflex_datastore::testing::EtcdServer;

const SEQUENTIAL: usize = 1_000;
const NODES: usize = 4;
const TASKS: usize = 4;
const PER_TASK: usize = 250;

fn request(host: &str, handle: String) -> AutoAssignRequest {
    AutoAssignRequest {
        handle_id: Some(handle),
        host: host.into(),
        num_v4: 1,
        ..AutoAssignRequest::default()
    }
}

async fn add_pool<D: Datastore>(store: &D, cidr: &str) {
    let pool = IpPool::new(
        "bench",
        IpPoolSpec {
            cidr: cidr.into(),
            ..IpPoolSpec::default()
        },
    );
    store.put(&pool.into(), Precondition::None).await.unwrap();
}

fn percentiles(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

fn report(what: &str, lat: Vec<Duration>, total: Duration) {
    let n = lat.len();
    let (p50, p99) = percentiles(lat);
    println!(
        "{what}: {n} calls in {:.2} s = {:.0}/s; median {:.2} ms, p99 {:.2} ms",
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
}

async fn sequential<D: Datastore + Clone>(label: &str, store: D) {
    add_pool(&store, "10.100.0.0/16").await;
    let ipam = Ipam::new(store);
    let mut lat = Vec::with_capacity(SEQUENTIAL);
    let start = Instant::now();
    for i in 0..SEQUENTIAL {
        let t = Instant::now();
        ipam.auto_assign(&request("node-0", format!("pod-{i}")))
            .await
            .unwrap();
        lat.push(t.elapsed());
    }
    report(
        &format!("{label} auto_assign (1 node, sequential)"),
        lat,
        start.elapsed(),
    );
    let mut lat = Vec::with_capacity(SEQUENTIAL);
    let start = Instant::now();
    for i in 0..SEQUENTIAL {
        let t = Instant::now();
        let released = ipam.release_by_handle(&format!("pod-{i}")).await.unwrap();
        assert_eq!(released.len(), 1);
        lat.push(t.elapsed());
    }
    report(
        &format!("{label} release_by_handle (sequential)"),
        lat,
        start.elapsed(),
    );
}

async fn concurrent(etcd: &EtcdServer) {
    let first = EtcdStore::connect(etcd.config()).await.unwrap();
    // 4,096 addresses for 4,000 requests: the last blocks are contended.
    add_pool(&first, "10.101.0.0/20").await;
    let mut clients = Vec::new();
    for _ in 0..NODES {
        clients.push(Arc::new(Ipam::new(
            EtcdStore::connect(etcd.config()).await.unwrap(),
        )));
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (n, ipam) in clients.iter().enumerate() {
        for t in 0..TASKS {
            let ipam = ipam.clone();
            tasks.push(tokio::spawn(async move {
                let host = format!("node-{n}");
                let mut got = Vec::with_capacity(PER_TASK);
                for i in 0..PER_TASK {
                    let r = ipam
                        .auto_assign(&request(&host, format!("{host}-{t}-{i}")))
                        .await;
                    got.push(r.unwrap().ipv4[0].address);
                }
                got
            }));
        }
    }
    let mut all = BTreeSet::new();
    let mut count = 0;
    for t in tasks {
        for a in t.await.unwrap() {
            all.insert(a);
            count += 1;
        }
    }
    let total = start.elapsed();
    assert_eq!(all.len(), count, "an address was handed out twice");
    let lost: Vec<u64> = clients.iter().map(|c| c.lost_races()).collect();
    println!(
        "etcd auto_assign ({NODES} nodes x {TASKS} tasks, own connection per node): {count} in {:.2} s = {:.0}/s; lost races per node {lost:?}",
        total.as_secs_f64(),
        count as f64 / total.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is configurable.
    sequential("memory", MemoryStore::new()).await;
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let store = EtcdStore::connect(etcd.config()).await.unwrap();
    sequential("etcd", store).await;
    concurrent(&etcd).await;
}
