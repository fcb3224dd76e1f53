//! Two nodes as two operating-system processes, each with its own etcd
//! connection and two tasks, assigning every address of a pool at once against
//! one real etcd: no address is handed out twice, and every handle is accounted
//! for in the store afterwards. Also the etcd side of the raw compare-and-swap
//! that IPAM is built on.
//!
//! The child processes are this test binary run again with
//! `--ignored --exact ipam_worker_process` and the worker's settings in
//! [`WORKER_ENV`]; [`ipam_worker_process`] does nothing without them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reflex_datastore::error::DatastoreError;
use reflex_datastore::ipam::{AutoAssignRequest, IpVersion, Ipam};
use reflex_datastore::model::{IpPool, IpPoolSpec};
use reflex_datastore::store::etcd::{EtcdConfig, EtcdStore};
use reflex_datastore::store::{Datastore, Precondition};
use reflex_datastore::testing::EtcdServer;

/// `<etcd endpoint> <host> <addresses per task>`, for a worker process.
const WORKER_ENV: &str = "REFLEX_IPAM_TEST_WORKER";
/// 2 processes x 2 tasks x 64: the 256 addresses of the pool.
const PER_TASK: usize = 64;

/// The child side of [`etcd_two_processes_never_share_an_address`]: assigns
/// addresses for one host with two tasks and prints `ASSIGNED <handle> <ip>`
/// lines. Only runs when started by that test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of etcd_two_processes_never_share_an_address"]
async fn ipam_worker_process() {
    let Ok(spec) = std::env::var(WORKER_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split(' ').collect();
    let [endpoint, host, count] = parts[..] else {
        panic!("bad {WORKER_ENV}: {spec:?}");
    };
    let count: usize = count.parse().unwrap();
    let store = EtcdStore::connect(EtcdConfig::new([endpoint]))
        .await
        .unwrap();
    let ipam = Ipam::new(store);
    let mut tasks = Vec::new();
    for task in 0..2 {
        let ipam = ipam.clone();
        let host = host.to_string();
        tasks.push(tokio::spawn(async move {
            let mut lines = Vec::new();
            for i in 0..count {
                let handle = format!("{host}-{task}-{i}");
                let req = AutoAssignRequest {
                    handle_id: Some(handle.clone()),
                    host: host.clone(),
                    num_v4: 1,
                    ..AutoAssignRequest::default()
                };
                match ipam.auto_assign(&req).await {
                    Ok(got) => lines.push(format!("ASSIGNED {handle} {}", got.ipv4[0].address)),
                    Err(e) => lines.push(format!("FAILED {handle} {e}")),
                }
            }
            lines
        }));
    }
    for t in tasks {
        for line in t.await.unwrap() {
            println!("{line}");
        }
    }
    println!("LOST_RACES {}", ipam.lost_races());
}

/// Kills the worker processes if the test fails before they end.
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[tokio::test]
async fn etcd_two_processes_never_share_an_address() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let store = EtcdStore::connect(etcd.config()).await.unwrap();
    let pool = IpPool::new(
        "procs",
        IpPoolSpec {
            cidr: "10.81.0.0/24".into(),
            ..IpPoolSpec::default()
        },
    );
    store.put(&pool.into(), Precondition::None).await.unwrap();

    let exe = std::env::current_exe().unwrap();
    let mut workers = Workers(Vec::new());
    for host in ["proc-a", "proc-b"] {
        let child = Command::new(&exe)
            .args(["ipam_worker_process", "--exact", "--ignored", "--nocapture"])
            .env(WORKER_ENV, format!("{} {host} {PER_TASK}", etcd.endpoint()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        workers.0.push(child);
    }
    let children = std::mem::take(&mut workers.0);
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    });
    let outputs = tokio::time::timeout(Duration::from_secs(300), outputs)
        .await
        .expect("the worker processes did not finish")
        .unwrap();

    let mut assigned: BTreeMap<String, IpAddr> = BTreeMap::new();
    let mut lost = Vec::new();
    for out in &outputs {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "worker failed: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words[..] {
                ["ASSIGNED", handle, ip] => {
                    assert!(
                        assigned
                            .insert(handle.into(), ip.parse().unwrap())
                            .is_none()
                    );
                }
                ["LOST_RACES", n] => lost.push(n.parse::<u64>().unwrap()),
                ["FAILED", ..] => panic!("a worker's assignment failed: {line}"),
                _ => {}
            }
        }
    }
    assert_eq!(assigned.len(), 4 * PER_TASK, "{outputs:?}");
    let distinct: BTreeSet<IpAddr> = assigned.values().copied().collect();
    assert_eq!(
        distinct.len(),
        assigned.len(),
        "an address was handed out twice"
    );
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "lost races per process: {lost:?}");

    // The store agrees with what the processes reported.
    let ipam = Ipam::new(store.clone());
    for (handle, ip) in &assigned {
        assert_eq!(ipam.ips_by_handle(handle).await.unwrap(), [*ip], "{handle}");
        assert_eq!(ipam.handle(handle).await.unwrap().unwrap().total(), 1);
    }
    let blocks = ipam.blocks(IpVersion::V4).await.unwrap();
    assert_eq!(blocks.len(), 4);
    assert!(blocks.iter().all(|b| b.free() == 0));
    let held: usize = blocks
        .iter()
        .flat_map(|b| b.count_by_handle().into_values())
        .sum();
    assert_eq!(held, assigned.len());
}

#[tokio::test]
async fn etcd_raw_compare_and_swap_on_mod_revision() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let a = EtcdStore::connect(etcd.config()).await.unwrap();
    let b = EtcdStore::connect(etcd.config()).await.unwrap();
    let r1 = a
        .put_raw_if("/t/k", b"one", Precondition::MustNotExist)
        .await
        .unwrap();
    assert!(matches!(
        b.put_raw_if("/t/k", b"two", Precondition::MustNotExist).await,
        Err(DatastoreError::Conflict { actual: Some(r), .. }) if r == r1
    ));
    let read = b.get_raw_versioned("/t/k").await.unwrap().unwrap();
    assert_eq!(
        (read.value.as_slice(), read.mod_revision),
        (&b"one"[..], r1)
    );
    // Both read r1; the first write wins, the second conflicts and names both.
    let r2 = a
        .put_raw_if("/t/k", b"two", Precondition::Revision(r1))
        .await
        .unwrap();
    assert!(matches!(
        b.put_raw_if("/t/k", b"three", Precondition::Revision(r1)).await,
        Err(DatastoreError::Conflict { expected: Some(e), actual: Some(x), .. }) if e == r1 && x == r2
    ));
    assert_eq!(a.get_raw("/t/k").await.unwrap().unwrap(), b"two");
    assert!(matches!(
        a.delete_raw_if("/t/k", Precondition::Revision(r1)).await,
        Err(DatastoreError::Conflict { .. })
    ));
    assert!(matches!(
        a.delete_raw_if("/t/k", Precondition::MustNotExist).await,
        Err(DatastoreError::Conflict { .. })
    ));
    assert!(
        b.delete_raw_if("/t/k", Precondition::Revision(r2))
            .await
            .unwrap()
            > r2
    );
    for pre in [
        Precondition::None,
        Precondition::Revision(r2),
        Precondition::MustNotExist,
    ] {
        assert!(matches!(
            a.delete_raw_if("/t/k", pre).await,
            Err(DatastoreError::NotFound(_))
        ));
    }
    assert!(matches!(
        a.put_raw_if("/t/k", b"x", Precondition::Revision(r2)).await,
        Err(DatastoreError::Conflict { actual: None, .. })
    ));
    a.put_raw_if("/t/p/a", b"1", Precondition::None)
        .await
        .unwrap();
    a.put_raw_if("/t/p/b", b"2", Precondition::None)
        .await
        .unwrap();
    let listed = b.list_raw_versioned("/t/p/").await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["/t/p/a", "/t/p/b"]);
    assert!(listed[0].1.mod_revision < listed[1].1.mod_revision);
    // A plain write moves the mod revision too.
    let before = listed[0].1.mod_revision;
    a.put_raw("/t/p/a", b"1", None).await.unwrap();
    assert!(
        a.get_raw_versioned("/t/p/a")
            .await
            .unwrap()
            .unwrap()
            .mod_revision
            > before
    );
}
