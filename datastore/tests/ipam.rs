//! Calico block IPAM end to end, every scenario on a real etcd and on the memory
//! backend: the keys and JSON an assignment writes, release by handle and by
//! address, exhaustion then borrowing across hosts, named pools and node
//! selectors, corrupt data, and concurrent assignment by two hosts, each with two
//! tasks, on two separate connections, with no address handed out twice.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use ipnetwork::IpNetwork;
use reflex_datastore::ipam::{
    AffinityState, AssignIpRequest, AutoAssignRequest, IpVersion, Ipam, IpamConfig, IpamError,
    PoolRef, keys,
};
use reflex_datastore::model::{IpPool, IpPoolSpec, Node, NodeSpec};
use reflex_datastore::store::etcd::EtcdStore;
use reflex_datastore::store::memory::MemoryStore;
use reflex_datastore::store::{Datastore, Precondition};
use reflex_datastore::testing::EtcdServer;
use serde_json::{Value, json};

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

async fn add_pool<D: Datastore>(
    store: &D,
    name: &str,
    cidr: &str,
    edit: impl FnOnce(&mut IpPoolSpec),
) {
    let mut spec = IpPoolSpec {
        cidr: cidr.into(),
        ..IpPoolSpec::default()
    };
    edit(&mut spec);
    store
        .put(&IpPool::new(name, spec).into(), Precondition::None)
        .await
        .unwrap();
}

fn request(host: &str, handle: &str, v4: usize, v6: usize) -> AutoAssignRequest {
    AutoAssignRequest {
        handle_id: Some(handle.into()),
        host: host.into(),
        num_v4: v4,
        num_v6: v6,
        ..AutoAssignRequest::default()
    }
}

async fn raw_json<D: Datastore>(store: &D, key: &str) -> Option<Value> {
    let bytes = store.get_raw(key).await.unwrap()?;
    Some(serde_json::from_slice(&bytes).unwrap())
}

async fn etcd_stores(n: usize) -> Option<(EtcdServer, Vec<EtcdStore>)> {
    let etcd = EtcdServer::start()?;
    let mut stores = Vec::new();
    for _ in 0..n {
        stores.push(EtcdStore::connect(etcd.config()).await.unwrap());
    }
    Some((etcd, stores))
}

// --- scenario: the keys and JSON of an assignment, and its release ---------

async fn assignment_writes_calicos_keys<D: Datastore + Clone>(store: D) {
    add_pool(&store, "v4", "10.70.0.0/24", |_| {}).await;
    add_pool(&store, "v6", "fd00:70::/120", |_| {}).await;
    let ipam = Ipam::new(store.clone());
    let mut req = request("node1", "k8s-pod-network.aaa", 2, 1);
    req.attributes = BTreeMap::from([
        ("namespace".into(), "default".into()),
        ("node".into(), "node1".into()),
        ("pod".into(), "web-0".into()),
    ]);
    let got = ipam.auto_assign(&req).await.unwrap();
    assert_eq!((got.ipv4.len(), got.ipv6.len()), (2, 1));
    let v4_block = got.ipv4[0].block;
    let v6_block = got.ipv6[0].block;
    assert_eq!((v4_block.prefix(), v6_block.prefix()), (26, 122));
    assert!(
        got.ipv4
            .iter()
            .all(|a| a.block == v4_block && v4_block.contains(a.address))
    );
    assert_eq!(got.ipv4[0].host_network().prefix(), 32);

    // The block: Calico's field names, two allocations sharing one attribute.
    let block = raw_json(&store, &keys::block_key(&v4_block)).await.unwrap();
    assert_eq!(block["cidr"], json!(v4_block.to_string()));
    assert_eq!(block["affinity"], json!("host:node1"));
    assert_eq!(block["strictAffinity"], json!(false));
    assert_eq!(block["deleted"], json!(false));
    let allocations = block["allocations"].as_array().unwrap();
    assert_eq!(allocations.len(), 64);
    assert_eq!(allocations.iter().filter(|a| **a == json!(0)).count(), 2);
    assert_eq!(allocations.iter().filter(|a| a.is_null()).count(), 62);
    assert_eq!(block["unallocated"].as_array().unwrap().len(), 62);
    assert_eq!(
        block["attributes"],
        json!([{"handle_id": "k8s-pod-network.aaa",
                "secondary": {"namespace": "default", "node": "node1", "pod": "web-0"}}])
    );
    // The affinities, confirmed; the handle, counting per block.
    for b in [v4_block, v6_block] {
        assert_eq!(
            raw_json(&store, &keys::affinity_key("node1", &b)).await,
            Some(json!({"state": "confirmed", "deleted": false}))
        );
    }
    assert_eq!(
        raw_json(&store, &keys::handle_key("k8s-pod-network.aaa")).await,
        Some(json!({"handleID": "k8s-pod-network.aaa",
                    "block": {v4_block.to_string(): 2, v6_block.to_string(): 1},
                    "deleted": false}))
    );
    let affine = ipam.affine_blocks("node1").await.unwrap();
    let cidrs: BTreeSet<IpNetwork> = affine.iter().map(|a| a.cidr).collect();
    assert_eq!(cidrs, BTreeSet::from([v4_block, v6_block]));
    assert!(affine.iter().all(|a| a.state == AffinityState::Confirmed));
    assert!(ipam.affine_blocks("node2").await.unwrap().is_empty());
    let mut expected = got.addresses();
    expected.sort();
    assert_eq!(
        ipam.ips_by_handle("k8s-pod-network.aaa").await.unwrap(),
        expected
    );

    // A second workload on the node uses the same block.
    let second = ipam
        .auto_assign(&request("node1", "k8s-pod-network.bbb", 1, 0))
        .await
        .unwrap();
    assert_eq!(second.ipv4[0].block, v4_block);
    assert!(!got.addresses().contains(&second.ipv4[0].address));
    assert_eq!(ipam.affine_blocks("node1").await.unwrap().len(), 2);

    // Release by handle: the addresses are free, the handle is gone, the block
    // and its affinity stay (Calico keeps them).
    let released = ipam.release_by_handle("k8s-pod-network.aaa").await.unwrap();
    assert_eq!(released, expected);
    assert_eq!(
        raw_json(&store, &keys::handle_key("k8s-pod-network.aaa")).await,
        None
    );
    assert!(
        ipam.ips_by_handle("k8s-pod-network.aaa")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        ipam.release_by_handle("k8s-pod-network.aaa")
            .await
            .unwrap()
            .is_empty()
    );
    let block = ipam.block(v4_block).await.unwrap().unwrap();
    assert_eq!(block.free(), 63);
    assert_eq!(block.attributes.len(), 1);
    assert!(block.is_affine_to("node1"));
    assert_eq!(ipam.block(v6_block).await.unwrap().unwrap().free(), 64);

    // Release by address: the last address of a handle takes the handle with it.
    let b_addr = second.ipv4[0].address;
    let not_assigned = ipam
        .release_ips(&[b_addr, ip("10.70.0.250"), ip("192.0.2.1")])
        .await
        .unwrap();
    assert_eq!(not_assigned, [ip("10.70.0.250"), ip("192.0.2.1")]);
    assert_eq!(
        raw_json(&store, &keys::handle_key("k8s-pod-network.bbb")).await,
        None
    );
    assert!(ipam.block(v4_block).await.unwrap().unwrap().is_empty());
    // A released address comes back only after the rest of the block.
    let third = ipam
        .auto_assign(&request("node1", "k8s-pod-network.ccc", 1, 0))
        .await
        .unwrap();
    assert!(!expected.contains(&third.ipv4[0].address));
}

#[tokio::test]
async fn etcd_assignment_writes_calicos_keys() {
    let Some((_etcd, mut stores)) = etcd_stores(1).await else {
        return;
    };
    assignment_writes_calicos_keys(stores.remove(0)).await;
}

#[tokio::test]
async fn memory_assignment_writes_calicos_keys() {
    assignment_writes_calicos_keys(MemoryStore::new()).await;
}

// --- scenario: exhaustion, then borrowing across hosts ----------------------

async fn exhaustion_then_borrowing<D: Datastore + Clone>(store: D) {
    // Two /26 blocks: 128 addresses.
    add_pool(&store, "small", "10.71.0.0/25", |_| {}).await;
    let ipam = Ipam::new(store.clone());
    let a = ipam
        .auto_assign(&request("host-a", "a1", 100, 0))
        .await
        .unwrap();
    assert_eq!(a.ipv4.len(), 100);
    assert_eq!(ipam.affine_blocks("host-a").await.unwrap().len(), 2);

    // host-b finds no free block; 28 addresses are free in host-a's blocks, not 50.
    match ipam.auto_assign(&request("host-b", "b1", 50, 0)).await {
        Err(IpamError::Exhausted {
            host,
            version,
            requested,
            available,
        }) => {
            assert_eq!(
                (host.as_str(), version, requested, available),
                ("host-b", IpVersion::V4, 50, 28)
            );
        }
        other => panic!("expected exhaustion, got {other:?}"),
    }
    // All or nothing: nothing was kept of the failed request.
    assert!(ipam.ips_by_handle("b1").await.unwrap().is_empty());
    assert_eq!(ipam.handle("b1").await.unwrap(), None);
    let free: usize = ipam
        .blocks(IpVersion::V4)
        .await
        .unwrap()
        .iter()
        .map(|b| b.free())
        .sum();
    assert_eq!(free, 28);

    // Borrowing: host-b takes the 28 from host-a's block, which stays host-a's.
    let b = ipam
        .auto_assign(&request("host-b", "b2", 28, 0))
        .await
        .unwrap();
    assert_eq!(b.ipv4.len(), 28);
    assert!(ipam.affine_blocks("host-b").await.unwrap().is_empty());
    for assigned in &b.ipv4 {
        let block = ipam.block(assigned.block).await.unwrap().unwrap();
        assert!(block.is_affine_to("host-a"));
        assert_eq!(
            block
                .attributes_of(assigned.address)
                .unwrap()
                .handle_id
                .as_deref(),
            Some("b2")
        );
    }
    let all: BTreeSet<IpAddr> = a.addresses().into_iter().chain(b.addresses()).collect();
    assert_eq!(all.len(), 128);
    assert!(matches!(
        ipam.auto_assign(&request("host-b", "b3", 1, 0)).await,
        Err(IpamError::Exhausted { available: 0, .. })
    ));

    // Released addresses of host-a's block can be borrowed again...
    let back: Vec<IpAddr> = a.addresses()[..5].to_vec();
    assert!(ipam.release_ips(&back).await.unwrap().is_empty());
    assert_eq!(ipam.ips_by_handle("a1").await.unwrap().len(), 95);
    let b4 = ipam
        .auto_assign(&request("host-b", "b4", 5, 0))
        .await
        .unwrap();
    let mut again = b4.addresses();
    again.sort();
    let mut back_sorted = back.clone();
    back_sorted.sort();
    assert_eq!(again, back_sorted);

    // ...but not under strict affinity.
    ipam.release_ips(&back).await.unwrap();
    ipam.set_config(&IpamConfig {
        strict_affinity: true,
        ..IpamConfig::default()
    })
    .await
    .unwrap();
    assert!(matches!(
        ipam.auto_assign(&request("host-b", "b5", 1, 0)).await,
        Err(IpamError::Exhausted { available: 0, .. })
    ));
    // host-a still uses its own blocks.
    assert_eq!(
        ipam.auto_assign(&request("host-a", "a2", 5, 0))
            .await
            .unwrap()
            .ipv4
            .len(),
        5
    );
}

#[tokio::test]
async fn etcd_exhaustion_then_borrowing() {
    let Some((_etcd, mut stores)) = etcd_stores(1).await else {
        return;
    };
    exhaustion_then_borrowing(stores.remove(0)).await;
}

#[tokio::test]
async fn memory_exhaustion_then_borrowing() {
    exhaustion_then_borrowing(MemoryStore::new()).await;
}

// --- scenario: specific addresses, pools by name, selectors, bad input ------

async fn pools_and_errors<D: Datastore + Clone>(store: D) {
    add_pool(&store, "rack1", "10.72.0.0/24", |s| {
        s.node_selector = "rack == 'r1'".into()
    })
    .await;
    add_pool(&store, "spare", "10.73.0.0/24", |s| s.block_size = Some(28)).await;
    add_pool(&store, "off", "10.74.0.0/24", |s| s.disabled = true).await;
    add_pool(&store, "six", "fd00:72::/120", |_| {}).await;
    store
        .put(
            &Node::new("r1-node", NodeSpec::default())
                .with_label("rack", "r1")
                .into(),
            Precondition::None,
        )
        .await
        .unwrap();
    let ipam = Ipam::new(store.clone());

    // The node selector picks rack1 for the rack-1 node; other nodes get "spare".
    let r1 = ipam
        .auto_assign(&request("r1-node", "h1", 1, 0))
        .await
        .unwrap();
    assert!(net("10.72.0.0/24").contains(r1.ipv4[0].address));
    let other = ipam
        .auto_assign(&request("elsewhere", "h2", 1, 0))
        .await
        .unwrap();
    assert_eq!(other.ipv4[0].block.prefix(), 28);
    assert!(net("10.73.0.0/24").contains(other.ipv4[0].address));

    // Named pools are used whatever their selector; by name or CIDR.
    let mut named = request("elsewhere", "h3", 1, 0);
    named.ipv4_pools = vec!["rack1".parse().unwrap()];
    assert!(net("10.72.0.0/24").contains(ipam.auto_assign(&named).await.unwrap().ipv4[0].address));
    named.ipv4_pools = vec![PoolRef::Cidr(net("10.73.0.0/24"))];
    assert!(net("10.73.0.0/24").contains(ipam.auto_assign(&named).await.unwrap().ipv4[0].address));
    named.ipv4_pools = vec!["off".parse().unwrap()];
    assert!(
        matches!(ipam.auto_assign(&named).await, Err(IpamError::PoolNotFound { pool }) if pool == "off")
    );
    named.ipv4_pools = vec!["nope".parse().unwrap()];
    assert!(matches!(
        ipam.auto_assign(&named).await,
        Err(IpamError::PoolNotFound { .. })
    ));
    named.ipv4_pools = vec!["six".parse().unwrap()];
    assert!(matches!(
        ipam.auto_assign(&named).await,
        Err(IpamError::PoolWrongVersion {
            version: IpVersion::V4,
            ..
        })
    ));
    // No IPv6 pool selects... every node: "six" has no selector, so it does; a
    // request failing on IPv6 gives back its IPv4 addresses.
    let mut bad_v6 = request("elsewhere", "h4", 1, 1);
    bad_v6.ipv6_pools = vec!["missing6".parse().unwrap()];
    assert!(matches!(
        ipam.auto_assign(&bad_v6).await,
        Err(IpamError::PoolNotFound { .. })
    ));
    assert!(ipam.ips_by_handle("h4").await.unwrap().is_empty());

    // A given address: its block is claimed for the host; twice is an error.
    let given = AssignIpRequest {
        address: ip("10.73.0.200"),
        handle_id: Some("h5".into()),
        host: "elsewhere".into(),
        attributes: BTreeMap::new(),
    };
    let a = ipam.assign_ip(&given).await.unwrap();
    assert_eq!(a.block, net("10.73.0.192/28"));
    assert!(
        ipam.block(a.block)
            .await
            .unwrap()
            .unwrap()
            .is_affine_to("elsewhere")
    );
    assert!(matches!(
        ipam.assign_ip(&given).await,
        Err(IpamError::AlreadyAllocated { handle: Some(h), .. }) if h == "h5"
    ));
    for outside in ["10.74.0.1", "192.0.2.1"] {
        let req = AssignIpRequest {
            address: ip(outside),
            ..given.clone()
        };
        assert!(matches!(
            ipam.assign_ip(&req).await,
            Err(IpamError::NotInPool(_))
        ));
    }
    assert_eq!(ipam.ips_by_handle("h5").await.unwrap(), [ip("10.73.0.200")]);

    // Bad names are typed errors, before anything is written.
    assert!(matches!(
        ipam.auto_assign(&request("a/b", "h6", 1, 0)).await,
        Err(IpamError::InvalidName { what: "host", .. })
    ));
    assert!(matches!(
        ipam.release_by_handle("").await,
        Err(IpamError::InvalidName {
            what: "handle id",
            ..
        })
    ));
    // An unusable stored pool is skipped, and an error when named.
    add_pool(&store, "broken", "10.75.0.0/24", |s| {
        s.block_size = Some(12)
    })
    .await;
    assert_eq!(
        ipam.auto_assign(&request("elsewhere", "h7", 1, 0))
            .await
            .unwrap()
            .ipv4
            .len(),
        1
    );
    named.ipv4_pools = vec!["broken".parse().unwrap()];
    assert!(
        matches!(ipam.auto_assign(&named).await, Err(IpamError::InvalidPool { pool, .. }) if pool == "broken")
    );

    // A corrupt block is an error naming its key, never a panic or a guess.
    let key = keys::block_key(&r1.ipv4[0].block);
    store
        .put_raw(
            &key,
            b"{\"cidr\": \"10.72.0.0/26\", \"allocations\": 7}",
            None,
        )
        .await
        .unwrap();
    match ipam.auto_assign(&request("r1-node", "h8", 1, 0)).await {
        Err(IpamError::CorruptJson { key: k, .. }) => assert_eq!(k, key),
        other => panic!("expected a corrupt-block error, got {other:?}"),
    }
}

#[tokio::test]
async fn etcd_pools_and_errors() {
    let Some((_etcd, mut stores)) = etcd_stores(1).await else {
        return;
    };
    pools_and_errors(stores.remove(0)).await;
}

#[tokio::test]
async fn memory_pools_and_errors() {
    pools_and_errors(MemoryStore::new()).await;
}

// --- scenario: two hosts, two tasks each, two connections -------------------

/// Addresses per task; 2 hosts x 2 tasks x 64 = 256, every address of the pool.
const PER_TASK: usize = 64;

async fn concurrent_hosts<D: Datastore + Clone>(connections: [D; 2]) {
    // Four /26 blocks: the hosts claim blocks, race for the last ones and end
    // by borrowing from each other.
    add_pool(&connections[0], "race", "10.80.0.0/24", |_| {}).await;
    let mut tasks = Vec::new();
    let mut clients = Vec::new();
    for (host, store) in ["host-a", "host-b"].into_iter().zip(connections.iter()) {
        let ipam = Arc::new(Ipam::new(store.clone()));
        clients.push(ipam.clone());
        for task in 0..2 {
            let ipam = ipam.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                for i in 0..PER_TASK {
                    let handle = format!("{host}-{task}-{i}");
                    let got = ipam.auto_assign(&request(host, &handle, 1, 0)).await;
                    let got = got.unwrap_or_else(|e| panic!("{handle}: {e}"));
                    mine.push((handle, got.ipv4[0].address));
                }
                mine
            }));
        }
    }
    let mut assigned: BTreeMap<String, IpAddr> = BTreeMap::new();
    for t in tasks {
        assigned.extend(t.await.unwrap());
    }
    assert_eq!(assigned.len(), 4 * PER_TASK);
    let distinct: BTreeSet<IpAddr> = assigned.values().copied().collect();
    assert_eq!(
        distinct.len(),
        4 * PER_TASK,
        "an address was handed out twice"
    );
    let lost: Vec<u64> = clients.iter().map(|c| c.lost_races()).collect();
    // Straight to the stderr handle, so the contention shows with --nocapture.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "compare-and-swap writes lost and retried, per host: {lost:?}"
    );

    // Every handle is accounted for: its record counts one address, in the block
    // that holds it under that handle, and no block holds anything else.
    let ipam = Ipam::new(connections[1].clone());
    let blocks = ipam.blocks(IpVersion::V4).await.unwrap();
    assert_eq!(blocks.len(), 4);
    let mut held: BTreeMap<String, usize> = BTreeMap::new();
    for b in &blocks {
        assert_eq!(b.free(), 0);
        assert!(b.host() == Some("host-a") || b.host() == Some("host-b"));
        for (h, n) in b.count_by_handle() {
            *held.entry(h).or_default() += n;
        }
    }
    assert_eq!(held.len(), assigned.len());
    assert!(held.values().all(|&n| n == 1));
    for (handle, address) in &assigned {
        assert_eq!(
            ipam.ips_by_handle(handle).await.unwrap(),
            [*address],
            "{handle}"
        );
        let record = ipam.handle(handle).await.unwrap().unwrap();
        assert_eq!(record.total(), 1, "{handle}: {record:?}");
    }
    assert_eq!(
        connections[0]
            .list_raw("/calico/ipam/v2/handle/")
            .await
            .unwrap()
            .len(),
        assigned.len()
    );

    // Releasing concurrently from both connections empties everything.
    let mut tasks = Vec::new();
    let handles: Vec<String> = assigned.keys().cloned().collect();
    for (i, chunk) in handles.chunks(handles.len() / 4).enumerate() {
        let ipam = Ipam::new(connections[i % 2].clone());
        let chunk = chunk.to_vec();
        tasks.push(tokio::spawn(async move {
            for h in chunk {
                assert_eq!(ipam.release_by_handle(&h).await.unwrap().len(), 1, "{h}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let blocks = ipam.blocks(IpVersion::V4).await.unwrap();
    assert!(blocks.iter().all(|b| b.is_empty() && b.free() == 64));
    assert!(
        connections[0]
            .list_raw("/calico/ipam/v2/handle/")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn etcd_two_hosts_two_connections_never_share_an_address() {
    let Some((_etcd, stores)) = etcd_stores(2).await else {
        return;
    };
    let [a, b]: [EtcdStore; 2] = stores.try_into().unwrap();
    concurrent_hosts([a, b]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_two_hosts_two_connections_never_share_an_address() {
    let store = MemoryStore::new();
    concurrent_hosts([store.connection(), store.connection()]).await;
}

// --- scenario: claims interrupted half way, and stale affinities ------------

async fn interrupted_claims_are_repaired<D: Datastore + Clone>(store: D) {
    add_pool(&store, "one", "10.76.0.0/26", |_| {}).await;
    add_pool(&store, "two", "10.77.0.0/25", |_| {}).await;
    let ipam = Ipam::new(store.clone());

    // A node wrote its pending affinity and stopped before creating the block.
    let block = net("10.76.0.0/26");
    store
        .put_raw(
            &keys::affinity_key("node1", &block),
            br#"{"state":"pending","deleted":false}"#,
            None,
        )
        .await
        .unwrap();
    let mut req = request("node1", "p1", 1, 0);
    req.ipv4_pools = vec!["one".parse().unwrap()];
    let got = ipam.auto_assign(&req).await.unwrap();
    assert_eq!(got.ipv4[0].block, block);
    assert!(
        ipam.block(block)
            .await
            .unwrap()
            .unwrap()
            .is_affine_to("node1")
    );
    assert_eq!(
        raw_json(&store, &keys::affinity_key("node1", &block)).await,
        Some(json!({"state": "confirmed", "deleted": false}))
    );

    // host-b holds an affinity to a block that is host-a's: it is dropped, and
    // host-b claims the pool's other block.
    let mut a = request("host-a", "s1", 1, 0);
    a.ipv4_pools = vec!["two".parse().unwrap()];
    let a_block = ipam.auto_assign(&a).await.unwrap().ipv4[0].block;
    let stale = keys::affinity_key("host-b", &a_block);
    store
        .put_raw(&stale, br#"{"state":"confirmed","deleted":false}"#, None)
        .await
        .unwrap();
    let mut b = request("host-b", "s2", 1, 0);
    b.ipv4_pools = vec!["two".parse().unwrap()];
    let b_got = ipam.auto_assign(&b).await.unwrap();
    assert_ne!(b_got.ipv4[0].block, a_block);
    assert_eq!(store.get_raw(&stale).await.unwrap(), None);
    let b_blocks: Vec<IpNetwork> = ipam
        .affine_blocks("host-b")
        .await
        .unwrap()
        .iter()
        .map(|x| x.cidr)
        .collect();
    assert_eq!(b_blocks, [b_got.ipv4[0].block]);
    let a_state = ipam.block(a_block).await.unwrap().unwrap();
    assert!(a_state.is_affine_to("host-a") && a_state.free() == 63);
}

#[tokio::test]
async fn etcd_interrupted_claims_are_repaired() {
    let Some((_etcd, mut stores)) = etcd_stores(1).await else {
        return;
    };
    interrupted_claims_are_repaired(stores.remove(0)).await;
}

#[tokio::test]
async fn memory_interrupted_claims_are_repaired() {
    interrupted_claims_are_repaired(MemoryStore::new()).await;
}

// --- scenario: a node gives up its blocks -----------------------------------

async fn affinities_are_released<D: Datastore + Clone>(store: D) {
    add_pool(&store, "one", "10.78.0.0/26", |_| {}).await;
    add_pool(&store, "six", "fd00:78::/122", |_| {}).await;
    let ipam = Ipam::new(store.clone());
    let got = ipam
        .auto_assign(&request("leaving", "w1", 2, 1))
        .await
        .unwrap();
    let v4 = got.ipv4[0].block;
    let v6 = got.ipv6[0].block;
    assert!(!ipam.release_affinity("leaving", v4, true).await.unwrap());
    assert_eq!(ipam.affine_blocks("leaving").await.unwrap().len(), 2);

    // Release the IPv6 address first: that block is empty and goes entirely.
    ipam.release_ips(&[got.ipv6[0].address]).await.unwrap();
    let mut released = ipam.release_host_affinities("leaving").await.unwrap();
    released.sort();
    assert_eq!(released, [v4, v6]);
    assert!(ipam.affine_blocks("leaving").await.unwrap().is_empty());
    assert_eq!(ipam.block(v6).await.unwrap(), None);
    // The IPv4 block keeps its addresses, with no affinity.
    let block = ipam.block(v4).await.unwrap().unwrap();
    assert_eq!(block.affinity, None);
    assert_eq!(block.ips_by_handle("w1").len(), 2);
    assert_eq!(ipam.ips_by_handle("w1").await.unwrap().len(), 2);
    assert!(!ipam.release_affinity("leaving", v4, false).await.unwrap());

    // Its last addresses released, the block is deleted and free to claim.
    assert_eq!(ipam.release_by_handle("w1").await.unwrap().len(), 2);
    assert_eq!(ipam.block(v4).await.unwrap(), None);
    let next = ipam
        .auto_assign(&request("arriving", "w2", 1, 0))
        .await
        .unwrap();
    assert_eq!(next.ipv4[0].block, v4);
    assert!(
        ipam.block(v4)
            .await
            .unwrap()
            .unwrap()
            .is_affine_to("arriving")
    );
}

#[tokio::test]
async fn etcd_affinities_are_released() {
    let Some((_etcd, mut stores)) = etcd_stores(1).await else {
        return;
    };
    affinities_are_released(stores.remove(0)).await;
}

#[tokio::test]
async fn memory_affinities_are_released() {
    affinities_are_released(MemoryStore::new()).await;
}
