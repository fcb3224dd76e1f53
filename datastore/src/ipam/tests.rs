//! Unit tests of the pure parts: keys, block arithmetic and operations, Calico's
//! JSON, pools.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde_json::{Value, json};

use super::keys::*;
use super::*;
use crate::model::{IpPool, IpPoolSpec};

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn no_attrs() -> BTreeMap<String, String> {
    BTreeMap::new()
}

#[test]
fn keys_follow_calicos_layout_both_ways() {
    let v4 = net("10.65.0.64/26");
    let v6 = net("fd00:1::40/122");
    assert_eq!(
        block_key(&v4),
        "/calico/ipam/v2/assignment/ipv4/block/10.65.0.64-26"
    );
    assert_eq!(
        block_key(&v6),
        "/calico/ipam/v2/assignment/ipv6/block/fd00:1::40-122"
    );
    assert_eq!(
        affinity_key("node1", &v4),
        "/calico/ipam/v2/host/node1/ipv4/block/10.65.0.64-26"
    );
    assert_eq!(
        handle_key("k8s-pod-network.abc"),
        "/calico/ipam/v2/handle/k8s-pod-network.abc"
    );
    assert_eq!(parse_block_key(&block_key(&v4)), Some(v4));
    assert_eq!(parse_block_key(&block_key(&v6)), Some(v6));
    assert_eq!(
        parse_affinity_key(&affinity_key("node1", &v6)),
        Some(("node1".to_string(), v6))
    );
    // Wrong family directory, host bits set, not a CIDR, another tree.
    for bad in [
        "/calico/ipam/v2/assignment/ipv6/block/10.65.0.64-26",
        "/calico/ipam/v2/assignment/ipv4/block/10.65.0.65-26",
        "/calico/ipam/v2/assignment/ipv4/block/10.65.0.64",
        "/calico/resources/v3/projectcalico.org/ippools/x",
    ] {
        assert_eq!(parse_block_key(bad), None, "{bad}");
    }
    assert_eq!(
        parse_affinity_key("/calico/ipam/v2/host//ipv4/block/10.65.0.64-26"),
        None
    );
    assert!(matches!(
        check_segment("host", "a/b"),
        Err(IpamError::InvalidName { what: "host", .. })
    ));
    assert!(check_segment("handle id", "").is_err());
}

#[test]
fn ordinals_and_addresses_ipv4_slash_26() {
    let b = AllocationBlock::new(net("10.65.0.64/26"), Some("n"), false).unwrap();
    assert_eq!(b.size(), 64);
    assert_eq!(b.ordinal_of(ip("10.65.0.64")), Some(0));
    assert_eq!(b.ordinal_of(ip("10.65.0.100")), Some(36));
    assert_eq!(b.ordinal_of(ip("10.65.0.127")), Some(63));
    assert_eq!(b.ordinal_of(ip("10.65.0.128")), None);
    assert_eq!(b.ordinal_of(ip("10.65.0.63")), None);
    assert_eq!(b.ordinal_of(ip("::ffff:10.65.0.64")), None);
    assert_eq!(b.address_at(36), Some(ip("10.65.0.100")));
    assert_eq!(b.address_at(63), Some(ip("10.65.0.127")));
    assert_eq!(b.address_at(64), None);
    for o in 0..64 {
        assert_eq!(b.ordinal_of(b.address_at(o).unwrap()), Some(o));
    }
}

#[test]
fn ordinals_and_addresses_ipv6_slash_122() {
    let b = AllocationBlock::new(net("fd00:1::40/122"), None, false).unwrap();
    assert_eq!(b.size(), 64);
    assert_eq!(b.address_at(0), Some(ip("fd00:1::40")));
    assert_eq!(b.address_at(63), Some(ip("fd00:1::7f")));
    assert_eq!(b.ordinal_of(ip("fd00:1::7f")), Some(63));
    assert_eq!(b.ordinal_of(ip("fd00:1::80")), None);
    assert_eq!(b.ordinal_of(ip("10.0.0.1")), None);
    // A block at the very top of the address space does not overflow.
    let top = AllocationBlock::new(
        net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffc0/122"),
        None,
        false,
    )
    .unwrap();
    assert_eq!(
        top.address_at(63),
        Some(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
    );
    // Host bits of the given CIDR are cleared.
    let b = AllocationBlock::new(net("fd00:1::45/122"), None, false).unwrap();
    assert_eq!(b.cidr, net("fd00:1::40/122"));
    // Too large to hold as one block.
    assert!(AllocationBlock::new(net("10.0.0.0/8"), None, false).is_none());
}

/// A block as Calico writes it, typed by hand from libcalico-go's
/// `model.AllocationBlock` field names: a /30 with ordinal 0 held by a pod,
/// ordinal 2 by the node's IP-in-IP tunnel address, 3 and 1 free (1 released
/// last, so at the back), and a field this crate does not model.
const CALICO_BLOCK: &str = r#"{
  "cidr": "10.65.0.0/30",
  "affinity": "host:node1",
  "strictAffinity": false,
  "allocations": [0, null, 1, null],
  "unallocated": [3, 1],
  "attributes": [
    {"handle_id": "k8s-pod-network.4f0c", "secondary": {"namespace": "default", "node": "node1", "pod": "web-0", "timestamp": "2024-05-01 10:00:00 +0000 UTC"}},
    {"handle_id": "ipip-tunnel-addr-node1", "secondary": {"node": "node1", "type": "ipipTunnelAddress"}}
  ],
  "deleted": false,
  "sequenceNumber": 7
}"#;

#[test]
fn calico_block_json_round_trips() {
    let key = block_key(&net("10.65.0.0/30"));
    let b = AllocationBlock::decode(&key, &net("10.65.0.0/30"), CALICO_BLOCK.as_bytes()).unwrap();
    assert_eq!(b.host(), Some("node1"));
    assert_eq!(b.free(), 2);
    assert_eq!(b.ips_by_handle("k8s-pod-network.4f0c"), [ip("10.65.0.0")]);
    assert_eq!(
        b.attributes_of(ip("10.65.0.2")).unwrap().secondary["type"],
        "ipipTunnelAddress"
    );
    assert_eq!(b.extra["sequenceNumber"], json!(7));
    let written: Value = serde_json::from_slice(&b.to_json()).unwrap();
    let original: Value = serde_json::from_str(CALICO_BLOCK).unwrap();
    assert_eq!(written, original);

    // Go writes nil slices and maps as null: they read as empty.
    let sparse = r#"{"cidr":"10.65.0.0/31","affinity":null,"strictAffinity":false,
        "allocations":[null,null],"unallocated":[0,1],"attributes":null,"deleted":false}"#;
    let b = AllocationBlock::decode("k", &net("10.65.0.0/31"), sparse.as_bytes()).unwrap();
    assert!(b.attributes.is_empty() && b.host().is_none());
    let attr: AllocationAttribute =
        serde_json::from_str(r#"{"handle_id":null,"secondary":null}"#).unwrap();
    assert_eq!(attr, AllocationAttribute::default());
}

#[test]
fn corrupt_blocks_are_typed_errors_naming_the_key() {
    let cidr = net("10.65.0.0/30");
    let key = block_key(&cidr);
    let err = AllocationBlock::decode(&key, &cidr, b"{\"cidr\": 5").unwrap_err();
    assert!(matches!(&err, IpamError::CorruptJson { key: k, .. } if *k == key));
    assert!(err.to_string().contains("10.65.0.0-30"), "{err}");
    let cases = [
        // Free and allocated at once: would hand ordinal 0 out twice.
        (
            r#"{"cidr":"10.65.0.0/30","allocations":[0,null,null,null],"unallocated":[0,1,2,3],"attributes":[{"handle_id":"h","secondary":{}}]}"#,
            "ordinal 0",
        ),
        (
            r#"{"cidr":"10.65.0.0/30","allocations":[null,null],"unallocated":[0,1]}"#,
            "2 allocations",
        ),
        (
            r#"{"cidr":"10.65.0.0/30","allocations":[3,null,null,null],"unallocated":[1,2,3],"attributes":[]}"#,
            "attribute index 3",
        ),
        (
            r#"{"cidr":"10.65.0.4/30","allocations":[null,null,null,null],"unallocated":[0,1,2,3]}"#,
            "does not match",
        ),
        (
            r#"{"cidr":"10.65.0.0/30","allocations":[null,null,null,null],"unallocated":[0,1,1,7]}"#,
            "ordinal 1",
        ),
    ];
    for (json, problem) in cases {
        match AllocationBlock::decode(&key, &cidr, json.as_bytes()) {
            Err(IpamError::CorruptBlock { key: k, problem: p }) => {
                assert_eq!(k, key);
                assert!(p.contains(problem), "{p:?} should mention {problem:?}");
            }
            other => panic!("{json}: expected CorruptBlock, got {other:?}"),
        }
    }
}

#[test]
fn affinity_handle_and_config_json() {
    let a: BlockAffinity =
        serde_json::from_str(r#"{"state":"pendingDeletion","deleted":false}"#).unwrap();
    assert_eq!(a.state, AffinityState::PendingDeletion);
    // Old data without a state counts as confirmed, as in Calico.
    let a: BlockAffinity = serde_json::from_str(r#"{"state":"","deleted":false}"#).unwrap();
    assert_eq!(a.state, AffinityState::Confirmed);
    assert_eq!(
        serde_json::to_value(BlockAffinity::new(AffinityState::Pending)).unwrap(),
        json!({"state": "pending", "deleted": false})
    );
    assert!(serde_json::from_str::<BlockAffinity>(r#"{"state":"maybe"}"#).is_err());

    let text = r#"{"handleID":"k8s-pod-network.4f0c","block":{"10.65.0.0/26":2,"fd00:1::/122":1},"deleted":false}"#;
    let h: IpamHandle = serde_json::from_str(text).unwrap();
    assert_eq!(
        (h.handle_id.as_str(), h.total()),
        ("k8s-pod-network.4f0c", 3)
    );
    assert_eq!(
        serde_json::to_value(&h).unwrap(),
        serde_json::from_str::<Value>(text).unwrap()
    );

    let c: IpamConfig = serde_json::from_str(r#"{"strict_affinity":true}"#).unwrap();
    assert!(c.strict_affinity && !c.auto_allocate_blocks);
    let d = IpamConfig::default();
    assert!(!d.strict_affinity && d.auto_allocate_blocks);
}

#[test]
fn block_assign_release_and_attributes() {
    let mut b = AllocationBlock::new(net("10.65.0.0/29"), Some("n1"), false).unwrap();
    let attrs: BTreeMap<String, String> = [("pod".to_string(), "a".to_string())].into();
    let got = b.auto_assign(3, Some("h1"), &attrs);
    assert_eq!(got, [ip("10.65.0.0"), ip("10.65.0.1"), ip("10.65.0.2")]);
    // Equal attributes share one entry.
    assert_eq!(b.attributes.len(), 1);
    b.assign(ip("10.65.0.5"), Some("h2"), &no_attrs()).unwrap();
    assert!(matches!(
        b.assign(ip("10.65.0.5"), Some("h3"), &no_attrs()),
        Err(IpamError::AlreadyAllocated { handle: Some(h), .. }) if h == "h2"
    ));
    assert!(b.assign(ip("10.65.0.9"), None, &no_attrs()).is_err());
    assert_eq!(b.free(), 4);
    assert_eq!(b.unallocated, [3, 4, 6, 7]);
    assert_eq!(
        b.count_by_handle(),
        BTreeMap::from([("h1".to_string(), 3), ("h2".to_string(), 1)])
    );

    let r = b.release(&[
        ip("10.65.0.1"),
        ip("10.65.0.1"),
        ip("10.65.0.3"),
        ip("10.9.9.9"),
    ]);
    assert_eq!(r.released, [ip("10.65.0.1")]);
    assert_eq!(r.not_assigned, [ip("10.9.9.9"), ip("10.65.0.3")]);
    assert_eq!(r.by_handle, BTreeMap::from([("h1".to_string(), 1)]));
    // Released ordinals go to the back of the queue.
    assert_eq!(b.unallocated, [3, 4, 6, 7, 1]);

    // Releasing h1 drops its attribute entry and renumbers h2's.
    assert_eq!(
        b.release_by_handle("h1"),
        [ip("10.65.0.0"), ip("10.65.0.2")]
    );
    assert_eq!(b.attributes.len(), 1);
    assert_eq!(b.attributes[0].handle_id.as_deref(), Some("h2"));
    assert_eq!(b.allocations[5], Some(0));
    assert_eq!(b.ips_by_handle("h2"), [ip("10.65.0.5")]);
    assert!(!b.is_empty());
    b.release_by_handle("h2");
    assert!(b.is_empty() && b.attributes.is_empty() && b.free() == 8);
    // Every ordinal still free exactly once.
    let free: BTreeSet<usize> = b.unallocated.iter().copied().collect();
    assert_eq!(free.len(), 8);

    let mut full = AllocationBlock::new(net("10.65.0.0/31"), None, false).unwrap();
    assert_eq!(full.auto_assign(5, None, &no_attrs()).len(), 2);
    assert!(full.auto_assign(1, None, &no_attrs()).is_empty());
}

fn pool(name: &str, cidr: &str, block: Option<u8>) -> IpPool {
    IpPool::new(
        name,
        IpPoolSpec {
            cidr: cidr.into(),
            block_size: block,
            ..IpPoolSpec::default()
        },
    )
}

#[test]
fn pools_are_checked_and_cut_into_blocks() {
    let p = Pool::from_resource(&pool("p", "10.65.0.0/24", None)).unwrap();
    assert_eq!((p.block_prefix, p.block_count()), (26, 4));
    let v6 = Pool::from_resource(&pool("p6", "fd00:1::/120", None)).unwrap();
    assert_eq!((v6.block_prefix, v6.block_count()), (122, 4));
    assert_eq!(p.block_for(ip("10.65.0.200")), net("10.65.0.192/26"));

    // Every block once, from a start that depends on the host.
    let a: Vec<IpNetwork> = p.candidate_blocks("node-a").collect();
    let set: BTreeSet<IpNetwork> = a.iter().copied().collect();
    assert_eq!(set.len(), 4);
    assert!(
        set.iter()
            .all(|b| b.prefix() == 26 && p.cidr.contains(b.network()))
    );
    let starts: BTreeSet<IpNetwork> = (0..16)
        .map(|i| p.candidate_blocks(&format!("node-{i}")).next().unwrap())
        .collect();
    assert!(starts.len() > 1, "every host starts at the same block");

    // A huge IPv6 pool is walked lazily.
    let big = Pool::from_resource(&pool("big", "fd00::/48", None)).unwrap();
    assert_eq!(big.block_count(), 1 << 74);
    assert_eq!(big.candidate_blocks("n").take(3).count(), 3);

    for (cidr, size, problem) in [
        ("10.65.0.0/24", Some(19), "outside"),
        ("10.65.0.0/24", Some(20), "larger than the pool"),
        ("fd00::/64", Some(112), "outside"),
        ("not-a-cidr", None, "bad cidr"),
    ] {
        match Pool::from_resource(&pool("bad", cidr, size)) {
            Err(IpamError::InvalidPool { pool, problem: p }) => {
                assert_eq!(pool, "bad");
                assert!(p.contains(problem), "{p}");
            }
            other => panic!("{cidr} {size:?}: {other:?}"),
        }
    }

    assert_eq!(
        "10.65.0.0/24".parse::<PoolRef>().unwrap(),
        PoolRef::Cidr(net("10.65.0.0/24"))
    );
    assert_eq!(
        "default-ipv4-ippool".parse::<PoolRef>().unwrap(),
        PoolRef::Name("default-ipv4-ippool".into())
    );
}
