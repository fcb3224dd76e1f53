//! Shared by the integration tests: a real etcd, container namespaces, and
//! the built `calico` / `calico-ipam` binaries run exactly as a container
//! runtime runs them (CNI_* variables, configuration on stdin, result on
//! stdout).
//!
//! The plugins run in the test's own (host) network namespace, as under a
//! real runtime; what they create there is named after container ids that
//! carry this process's id, and every test deletes it on drop.
#![allow(dead_code)]

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use reflex_datastore::model::{IpPool, IpPoolSpec, Kind, Resource, ResourceKey};
use reflex_datastore::store::etcd::EtcdStore;
use reflex_datastore::store::{Datastore, Precondition};
use reflex_datastore::testing::EtcdServer;
use reflex_testlab::{Host, Lab};
use serde_json::{Value, json};

/// Where Debian installs the reference CNI plugins (`host-local`, ...).
pub const REFERENCE_PLUGINS: &str = "/usr/lib/cni";

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

/// One test's world: etcd, a lab for container namespaces, the plugins.
pub struct World {
    pub etcd: EtcdServer,
    pub lab: Lab,
    pub store: EtcdStore,
    pub node: String,
    pub tag: String,
    pub cni_path: PathBuf,
    pub log_dir: tempfile::TempDir,
}

/// Skips (returns None) when etcd, ip or root are missing, unless tools are
/// required.
pub async fn world(tag: &str) -> Option<World> {
    if reflex_testlab::skip_unless(&["ip", "ping"]) {
        return None;
    }
    let etcd = EtcdServer::start()?;
    let store = EtcdStore::connect(etcd.config()).await.expect("etcd");
    let lab = Lab::new(&format!("cni-{tag}")).expect("lab");
    let calico = PathBuf::from(env!("CARGO_BIN_EXE_calico"));
    Some(World {
        etcd,
        lab,
        store,
        node: format!("node-{tag}-{}", std::process::id()),
        tag: tag.to_string(),
        cni_path: calico.parent().expect("bin dir").to_path_buf(),
        log_dir: tempfile::tempdir().expect("tempdir"),
    })
}

impl World {
    /// A container id unique to this process and test. Calico names the host
    /// end after the first 11 characters, so those differ: the tag's first
    /// letter (distinct per test), the number, the process id.
    pub fn container_id(&self, n: u32) -> String {
        let letter = self.tag.chars().next().unwrap_or('x');
        format!("{letter}{n:02}{}{}", std::process::id(), self.tag)
    }

    /// A container network namespace (deleted with the lab).
    pub fn container(&mut self, name: &str) -> (Host, PathBuf) {
        let host = self.lab.host(name).expect("netns");
        let path = PathBuf::from("/run/netns").join(&host.ns);
        (host, path)
    }

    /// Stores an IPPool.
    pub async fn pool(&self, name: &str, cidr: &str, block_size: u8) {
        let pool = IpPool::new(
            name,
            IpPoolSpec {
                cidr: cidr.into(),
                block_size: Some(block_size),
                ..IpPoolSpec::default()
            },
        );
        self.store
            .put(&pool.into(), Precondition::None)
            .await
            .expect("pool");
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
            "etcd_endpoints": self.etcd.endpoint(),
            "mtu": 1400,
            "ipam": {"type": "calico-ipam"}
        });
        if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            for (k, val) in e {
                m.insert(k.clone(), val.clone());
            }
        }
        v
    }

    /// Runs a plugin binary as a runtime does.
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
        let mut cmd = Command::new(&exe);
        cmd.env_clear()
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

    /// `CNI_PATH`: our binaries, then the reference plugins of Debian's
    /// containernetworking-plugins.
    pub fn cni_path_var(&self) -> String {
        format!("{}:{REFERENCE_PLUGINS}", self.cni_path.display())
    }

    /// `calico` with this world's CNI_PATH.
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
        self.store
            .get(&ResourceKey::namespaced(
                Kind::WorkloadEndpoint,
                "default",
                name,
            ))
            .await
            .expect("etcd get")
    }

    /// The addresses IPAM holds for a container's handle.
    pub async fn handle_ips(&self, container_id: &str) -> Vec<IpAddr> {
        let ipam = reflex_datastore::ipam::Ipam::new(self.store.clone());
        ipam.ips_by_handle(&format!("net-{}.{container_id}", self.tag))
            .await
            .expect("ips_by_handle")
    }

    /// The plugin log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_dir.path().join("cni.log")).unwrap_or_default()
    }
}

/// Whether a link exists in the host (test) namespace.
pub fn host_link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", "dev", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `ip` in the host namespace; stdout.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Deletes host links named after the test's containers when dropped, so a
/// failed assertion leaves nothing in the host namespace.
pub struct HostLinks(pub Vec<String>);

impl Drop for HostLinks {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("ip")
                .args(["link", "del", "dev", name])
                .stderr(Stdio::null())
                .status();
        }
    }
}
