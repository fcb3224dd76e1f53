//! The example configurations in `examples/cni/` parse as the plugin reads
//! them (a network list's plugin entry gets the list's `name` and
//! `cniVersion`, as runtimes pass it).

use std::path::Path;

use reflex_cni::config::NetConf;
use serde_json::Value;

fn example(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/cni")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_dual_stack_tls_example_parses() {
    let v = example("10-calico-dual-stack-tls.conf");
    let c = NetConf::parse(v.to_string().as_bytes(), &|_| None, Path::new("/none")).unwrap();
    assert_eq!(c.etcd.endpoints.len(), 3);
    assert!(c.etcd.tls.as_ref().unwrap().cert_file.is_some());
    assert!(c.ipam.assign_ipv4 && c.ipam.assign_ipv6);
    assert_eq!(c.ipam.ipv6_pools, vec!["fd00:10:244::/64".to_string()]);
}

#[test]
fn the_network_list_example_parses_once_the_node_agent_wrote_the_nodename() {
    let list = example("10-calico.conflist");
    let mut plugin = list["plugins"][0].clone();
    plugin["name"] = list["name"].clone();
    plugin["cniVersion"] = list["cniVersion"].clone();
    let dir = tempfile::tempdir().unwrap();
    let nodename = dir.path().join("nodename");
    std::fs::write(&nodename, "node-7\n").unwrap();
    plugin["nodename_file"] = Value::String(nodename.display().to_string());
    plugin["log_file_path"] = Value::Null;
    let c = NetConf::parse(plugin.to_string().as_bytes(), &|_| None, Path::new("/none")).unwrap();
    assert_eq!(c.nodename, "node-7");
    assert_eq!(c.mtu, Some(1440));
    assert_eq!(c.name, "reflex-pod-network");
}
