//! 500 CNI ADDs on one node, as a container runtime runs them: the release
//! `calico` binary (delegating to `calico-ipam`) against a real etcd, one new
//! network namespace per container. Prints the median, p90, p99 and maximum
//! time per ADD and per DEL. Not a test: run it with
//!
//! ```text
//! cargo bench -p reflex-cni --bench cni_add            # 500 ADDs
//! CNI_BENCH_COUNT=100 cargo bench -p reflex-cni --bench cni_add
//! ```
//!
//! Needs root, `ip` and etcd (Debian's etcd-server). Every namespace and
//! host-side veth is removed at the end, also when a step fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reflex_datastore::model::{IpPool, IpPoolSpec};
use reflex_datastore::store::etcd::EtcdStore;
use reflex_datastore::store::{Datastore, Precondition};
use reflex_datastore::testing::EtcdServer;
use serde_json::json;

fn run(exe: &Path, command: &str, id: &str, netns: &Path, conf: &str) -> Duration {
    let start = Instant::now();
    let mut child = Command::new(exe)
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", id)
        .env("CNI_NETNS", netns)
        .env("CNI_IFNAME", "eth0")
        .env("CNI_PATH", exe.parent().expect("bin dir"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run calico");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(conf.as_bytes())
        .expect("stdin");
    let out = child.wait_with_output().expect("calico output");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{command} {id} failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    took
}

fn summary(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label}: n={} median={:.1} ms p90={:.1} ms p99={:.1} ms max={:.1} ms",
        times.len(),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(at(0.99)),
        ms(at(1.0))
    );
}

/// Deletes the namespaces and host links even when the run panics.
struct Cleanup {
    namespaces: Vec<String>,
    links: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for l in &self.links {
            let _ = Command::new("ip")
                .args(["link", "del", l])
                .stderr(Stdio::null())
                .status();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let count: usize = std::env::var("CNI_BENCH_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let Some(etcd) = EtcdServer::start() else {
        eprintln!("etcd is not installed: nothing to measure");
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = EtcdStore::connect(etcd.config()).await.expect("etcd");
        let pool = IpPool::new(
            "bench",
            IpPoolSpec {
                cidr: "10.240.0.0/16".into(),
                block_size: Some(26),
                ..IpPoolSpec::default()
            },
        );
        store
            .put(&pool.into(), Precondition::None)
            .await
            .expect("pool");
    });
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_calico"));
    let lock_dir = tempfile::tempdir().expect("temporary directory");
    let conf = json!({
        "cniVersion": "1.0.0",
        "name": "bench-net",
        "type": "calico",
        "log_level": "error",
        "nodename": "bench-node",
        "nodename_file_optional": true,
        "etcd_endpoints": etcd.endpoint(),
        "ipam_lock_file": lock_dir.path().join("ipam.lock"),
        "ipam": {"type": "calico-ipam"}
    })
    .to_string();

    let pid = std::process::id();
    let mut cleanup = Cleanup {
        namespaces: Vec::new(),
        links: Vec::new(),
    };
    let mut containers = Vec::new();
    for n in 0..count {
        let ns = format!("rxcnib{pid}n{n}");
        let ok = Command::new("ip")
            .args(["netns", "add", &ns])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {ns}");
        cleanup.namespaces.push(ns.clone());
        let id = format!("b{n:04}{pid}");
        cleanup
            .links
            .push(reflex_cni::dataplane::host_veth_name(&id));
        containers.push((id, PathBuf::from("/run/netns").join(ns)));
    }

    let add: Vec<Duration> = containers
        .iter()
        .map(|(id, ns)| run(&exe, "ADD", id, ns, &conf))
        .collect();
    let del: Vec<Duration> = containers
        .iter()
        .map(|(id, ns)| run(&exe, "DEL", id, ns, &conf))
        .collect();
    summary("calico ADD (with calico-ipam, etcd, new veth)", add);
    summary("calico DEL", del);
    drop(cleanup);
}
