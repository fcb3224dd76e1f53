//! Shared by the integration tests: a node in its own network namespace
//! with a real etcd inside it, container namespaces, and the built `calico`
//! / `calico-ipam` binaries run in the node's namespace exactly as a
//! container runtime runs them (CNI_* variables, configuration on stdin,
//! result on stdout).
//!
//! The node namespace keeps the tests apart from the machine's own
//! namespace (and from what other tests leave there, such as nftables
//! tables); it has an uplink with default routes, as a real node has, which
//! proxy ARP needs. Everything goes with the lab when the test ends, also
//! when an assertion fails.
#![allow(dead_code)]

use std::future::Future;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reflex_datastore::model::{IpPool, IpPoolSpec, Kind, Resource, ResourceKey};
use reflex_datastore::store::etcd::{EtcdConfig, EtcdStore};
use reflex_datastore::store::{Datastore, Precondition};
use reflex_testlab::{Host, Lab};
use serde_json::{Value, json};

/// Where Debian installs the reference CNI plugins (`host-local`, ...).
pub const REFERENCE_PLUGINS: &str = "/usr/lib/cni";

/// etcd's client URL inside the node namespace (the namespace is ours alone).
pub const ETCD: &str = "http://127.0.0.1:2379";

/// What a plugin run returned.
#[derive(Debug)]
pub struct Run {
    /// Exit status success.
    pub ok: bool,
    /// stdout as JSON (Null when empty).
    pub json: Value,
    /// stderr, for messages.
    pub stderr: String,
}

/// One test's world: the node namespace with etcd, container namespaces,
/// the plugins.
pub struct World {
    pub lab: Lab,
    pub node_host: Host,
    pub node: String,
    pub tag: String,
    pub cni_path: PathBuf,
    pub log_dir: tempfile::TempDir,
}

/// Skips (returns None) when etcd, ip, ping or root are missing, unless
/// tools are required.
pub async fn world(tag: &str) -> Option<World> {
    if reflex_testlab::skip_unless(&["ip", "ping", "etcd"]) {
        return None;
    }
    let mut lab = Lab::new(&format!("cni-{tag}")).expect("lab");
    let node_host = lab.host("node").expect("node namespace");
    for cmd in [
        &[
            "ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1",
        ][..],
        &["ip", "link", "set", "up0", "up"],
        &["ip", "link", "set", "up1", "up"],
    ] {
        node_host.run(cmd).expect("uplink");
    }
    node_host
        .add_address("up0", "192.168.255.1/30")
        .expect("uplink v4");
    node_host
        .add_address("up0", "fd5f::1/64")
        .expect("uplink v6");
    node_host
        .run(&["ip", "route", "add", "default", "via", "192.168.255.2"])
        .expect("default route");
    node_host
        .run(&["ip", "-6", "route", "add", "default", "via", "fd5f::2"])
        .expect("default v6 route");

    let data = lab.dir().join("etcd-data");
    let etcd_pid = lab
        .spawn(
            &node_host,
            "etcd",
            &[
                "etcd",
                "--name=cni-test",
                &format!("--data-dir={}", data.display()),
                &format!("--listen-client-urls={ETCD}"),
                &format!("--advertise-client-urls={ETCD}"),
                "--listen-peer-urls=http://127.0.0.1:2380",
                "--initial-advertise-peer-urls=http://127.0.0.1:2380",
                "--initial-cluster=cni-test=http://127.0.0.1:2380",
            ],
        )
        .expect("etcd");
    let log = lab.dir().join("etcd.log");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("serving client traffic") || text.contains("ready to serve client") {
            break;
        }
        let stat = std::fs::read_to_string(format!("/proc/{etcd_pid}/stat")).unwrap_or_default();
        let exited = stat.is_empty() || stat.contains(") Z ");
        assert!(!exited, "etcd exited before serving:\n{text}");
        assert!(
            Instant::now() < deadline,
            "etcd did not start within 60 s:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let calico = PathBuf::from(env!("CARGO_BIN_EXE_calico"));
    Some(World {
        lab,
        node_host,
        node: format!("node-{tag}-{}", std::process::id()),
        tag: tag.to_string(),
        cni_path: calico.parent().expect("bin dir").to_path_buf(),
        log_dir: tempfile::tempdir().expect("tempdir"),
    })
}

impl World {
    /// A container id unique to this test. Calico names the host end after
    /// the first 11 characters, so those differ per container.
    pub fn container_id(&self, n: u32) -> String {
        format!("{}{n:02}{}", self.tag, std::process::id())
    }

    /// A container network namespace (deleted with the lab).
    pub fn container(&mut self, name: &str) -> (Host, PathBuf) {
        let host = self.lab.host(name).expect("netns");
        let path = PathBuf::from("/run/netns").join(&host.ns);
        (host, path)
    }

    /// Runs `f` with an etcd client opened inside the node namespace.
    pub fn with_store<T, F, Fut>(&self, f: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(EtcdStore) -> Fut + Send + 'static,
        Fut: Future<Output = T>,
    {
        self.node_host
            .enter(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    let store = EtcdStore::connect(EtcdConfig::new([ETCD]))
                        .await
                        .expect("etcd");
                    f(store).await
                })
            })
            .expect("enter the node namespace")
    }

    /// Stores an IPPool.
    pub async fn pool(&self, name: &str, cidr: &str, block_size: u8) {
        let pool: Resource = IpPool::new(
            name,
            IpPoolSpec {
                cidr: cidr.into(),
                block_size: Some(block_size),
                ..IpPoolSpec::default()
            },
        )
        .into();
        self.with_store(move |s| async move {
            s.put(&pool, Precondition::None).await.expect("pool");
        });
    }

    /// A resource, if stored.
    pub async fn get(&self, key: ResourceKey) -> Option<Resource> {
        self.with_store(move |s| async move { s.get(&key).await.expect("etcd get") })
    }

    /// The network configuration, with `extra` keys merged in (an `ipam`
    /// object replaces the default one).
    pub fn conf(&self, version: &str, extra: Value) -> Value {
        let mut v = json!({
            "cniVersion": version,
            "name": format!("net-{}", self.tag),
            "type": "calico",
            "log_level": "debug",
            "log_file_path": self.log_dir.path().join("cni.log"),
            "nodename": self.node,
            "nodename_file_optional": true,
            "datastore_type": "etcdv3",
            "etcd_endpoints": ETCD,
            "mtu": 1400,
            "ipam_lock_file": self.log_dir.path().join("ipam.lock"),
            "ipam": {"type": "calico-ipam"}
        });
        if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            for (k, val) in e {
                m.insert(k.clone(), val.clone());
            }
        }
        v
    }

    /// `CNI_PATH`: our binaries, then the reference plugins of Debian's
    /// containernetworking-plugins.
    pub fn cni_path_var(&self) -> String {
        format!("{}:{REFERENCE_PLUGINS}", self.cni_path.display())
    }

    /// Runs a plugin binary in the node namespace as a runtime does.
    pub fn run(
        &self,
        binary: &str,
        command: &str,
        container_id: &str,
        netns: Option<&Path>,
        conf: &Value,
        cni_args: &str,
    ) -> Run {
        let exe = self.cni_path.join(binary);
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.node_host.ns])
            .arg(&exe)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", container_id)
            .env("CNI_IFNAME", "eth0")
            .env("CNI_PATH", self.cni_path_var())
            .env("CNI_ARGS", cni_args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(ns) = netns {
            cmd.env("CNI_NETNS", ns);
        }
        let mut child = cmd.spawn().expect("run plugin");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(conf.to_string().as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("plugin output");
        let json = if out.stdout.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!(
                    "stdout is not JSON ({e}): {}",
                    String::from_utf8_lossy(&out.stdout)
                )
            })
        };
        Run {
            ok: out.status.success(),
            json,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `calico`.
    pub fn calico(&self, command: &str, id: &str, netns: Option<&Path>, conf: &Value) -> Run {
        self.run("calico", command, id, netns, conf, "")
    }

    /// `calico` with `CNI_ARGS`.
    pub fn calico_with_args(
        &self,
        command: &str,
        id: &str,
        netns: Option<&Path>,
        conf: &Value,
        cni_args: &str,
    ) -> Run {
        self.run("calico", command, id, netns, conf, cni_args)
    }

    /// The WEP of a container, if stored.
    pub async fn wep(&self, container_id: &str) -> Option<Resource> {
        let name = reflex_cni::endpoint::wep_name(&self.node, container_id, "eth0").unwrap();
        self.get(ResourceKey::namespaced(
            Kind::WorkloadEndpoint,
            "default",
            name,
        ))
        .await
    }

    /// The addresses IPAM holds for a container's handle.
    pub async fn handle_ips(&self, container_id: &str) -> Vec<IpAddr> {
        let handle = format!("net-{}.{container_id}", self.tag);
        self.with_store(move |s| async move {
            reflex_datastore::ipam::Ipam::new(s)
                .ips_by_handle(&handle)
                .await
                .expect("ips_by_handle")
        })
    }

    /// Whether a link exists in the node namespace.
    pub fn host_link_exists(&self, name: &str) -> bool {
        self.node_host
            .run(&["ip", "link", "show", "dev", name])
            .is_ok()
    }

    /// `ip ARGS` in the node namespace; stdout (empty on failure).
    pub fn ip(&self, args: &[&str]) -> String {
        let mut full = vec!["ip"];
        full.extend_from_slice(args);
        self.node_host.run(&full).unwrap_or_default()
    }

    /// One ping from the node namespace; whether it was answered.
    pub fn ping(&self, args: &[&str]) -> bool {
        let mut full = vec!["ping", "-c", "1", "-W", "2"];
        full.extend_from_slice(args);
        self.node_host.run(&full).is_ok()
    }

    /// The plugin log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_dir.path().join("cni.log")).unwrap_or_default()
    }
}
