//! Every key of the configuration and its errors.

use std::path::Path;

use serde_json::{Value, json};

use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse_with(v: Value, env: impl Fn(&str) -> Option<String>) -> Result<NetConf, ConfigError> {
    NetConf::parse(
        v.to_string().as_bytes(),
        &env,
        Path::new("/nonexistent/reflex-cni-mtu"),
    )
}

fn parse(v: Value) -> Result<NetConf, ConfigError> {
    parse_with(v, no_env)
}

/// A minimal valid configuration, plus `extra` keys.
fn base(extra: Value) -> Value {
    let mut v = json!({
        "cniVersion": "1.0.0",
        "name": "net1",
        "type": "calico",
        "nodename": "node1",
        "nodename_file_optional": true,
        "ipam": {"type": "calico-ipam"}
    });
    if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in e {
            m.insert(k.clone(), val.clone());
        }
    }
    v
}

fn key_error(v: Value) -> (String, String) {
    match parse(v) {
        Err(ConfigError::InvalidKey { key, reason }) => (key, reason),
        other => panic!("expected a key error, got {other:?}"),
    }
}

#[test]
fn defaults() {
    let c = parse(base(json!({}))).unwrap();
    assert_eq!(c.cni_version, CniVersion::V1_0_0);
    assert_eq!(c.name, "net1");
    assert_eq!(c.plugin_type, "calico");
    assert_eq!(c.nodename, "node1");
    assert_eq!(c.log_level, LogLevel::Info);
    assert_eq!(c.etcd.endpoints, vec!["http://127.0.0.1:2379".to_string()]);
    assert!(c.etcd.tls.is_none());
    assert_eq!(c.mtu, None);
    assert_eq!(c.ipam.plugin, "calico-ipam");
    assert!(c.ipam.assign_ipv4 && !c.ipam.assign_ipv6);
    assert!(!c.allow_ip_forwarding);
    assert_eq!(c.ipam_lock_file, Path::new("/var/run/calico/ipam.lock"));
    assert!(c.prev_result.is_none());
    assert_eq!(c.handle_id("abc"), "net1.abc");
}

#[test]
fn unknown_keys_are_ignored() {
    let c = parse(base(
        json!({"runtimeConfig": {"portMappings": []}, "whatever": [1, 2]}),
    ));
    assert!(c.is_ok());
}

#[test]
fn versions() {
    let mut v = base(json!({}));
    v.as_object_mut().unwrap().remove("cniVersion");
    assert_eq!(parse(v).unwrap().cni_version, CniVersion::V0_2_0);
    for s in ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0"] {
        assert_eq!(
            parse(base(json!({"cniVersion": s})))
                .unwrap()
                .cni_version
                .as_str(),
            s
        );
    }
    let e = parse(base(json!({"cniVersion": "1.1.0"}))).unwrap_err();
    assert!(matches!(e, ConfigError::Version(_)), "{e}");
    assert_eq!(CniError::from(e).code, ErrorCode::IncompatibleVersion);
}

#[test]
fn name_is_required_and_checked() {
    let mut v = base(json!({}));
    v.as_object_mut().unwrap().remove("name");
    assert_eq!(parse(v).unwrap_err(), ConfigError::Missing("name"));
    let (key, _) = key_error(base(json!({"name": "bad name!"})));
    assert_eq!(key, "name");
    let (key, reason) = key_error(base(json!({"name": 5})));
    assert_eq!(key, "name");
    assert!(reason.contains("string"), "{reason}");
}

#[test]
fn wrong_types_name_the_key() {
    for (extra, expected) in [
        (json!({"mtu": "1500"}), "mtu"),
        (
            json!({"ipam": {"type": "calico-ipam", "assign_ipv4": 1}}),
            "ipam.assign_ipv4",
        ),
        (
            json!({"ipam": {"type": "calico-ipam", "assign_ipv6": "yes"}}),
            "ipam.assign_ipv6",
        ),
        (
            json!({"ipam": {"type": "calico-ipam", "ipv4_pools": "10.0.0.0/8"}}),
            "ipam.ipv4_pools",
        ),
        (json!({"ipam": {"type": 3}}), "ipam.type"),
        (
            json!({"etcd_endpoints": ["http://a:2379"]}),
            "etcd_endpoints",
        ),
        (
            json!({"nodename_file_optional": "true"}),
            "nodename_file_optional",
        ),
        (json!({"log_level": 2}), "log_level"),
        (
            json!({"kubernetes": {"kubeconfig": false}}),
            "kubernetes.kubeconfig",
        ),
        (json!({"policy": {"type": 1}}), "policy.type"),
        (
            json!({"container_settings": {"allow_ip_forwarding": "no"}}),
            "container_settings.allow_ip_forwarding",
        ),
    ] {
        let (key, reason) = key_error(base(extra.clone()));
        assert_eq!(key, expected, "{extra}: {reason}");
        assert!(!reason.contains(" at line "), "{reason}");
    }
}

#[test]
fn not_json_is_a_decoding_failure() {
    let e = NetConf::parse(b"{not json", &no_env, Path::new("/x")).unwrap_err();
    assert!(matches!(e, ConfigError::NotJson(_)), "{e}");
    assert_eq!(CniError::from(e).code, ErrorCode::DecodingFailure);
    let e = NetConf::parse(b"[1]", &no_env, Path::new("/x")).unwrap_err();
    assert!(
        matches!(e, ConfigError::NotJson(_) | ConfigError::InvalidKey { .. }),
        "{e}"
    );
}

#[test]
fn assign_keys_take_calico_strings_and_booleans() {
    let c = parse(base(json!({"ipam": {"type": "calico-ipam",
        "assign_ipv4": "false", "assign_ipv6": "true"}})))
    .unwrap();
    assert!(!c.ipam.assign_ipv4 && c.ipam.assign_ipv6);
    let c = parse(base(json!({"ipam": {"type": "calico-ipam",
        "assign_ipv4": true, "assign_ipv6": false}})))
    .unwrap();
    assert!(c.ipam.assign_ipv4 && !c.ipam.assign_ipv6);
}

#[test]
fn pools_are_cidrs_of_the_right_family_or_names() {
    let c = parse(base(json!({"ipam": {"type": "calico-ipam",
        "ipv4_pools": ["10.0.0.0/24", "default-ipv4-ippool"], "ipv6_pools": ["fd00::/64"]}})))
    .unwrap();
    assert_eq!(c.ipam.ipv4_pools.len(), 2);
    assert_eq!(c.ipam.ipv6_pools, vec!["fd00::/64".to_string()]);
    let (key, _) = key_error(base(
        json!({"ipam": {"type": "calico-ipam", "ipv4_pools": ["fd00::/64"]}}),
    ));
    assert_eq!(key, "ipam.ipv4_pools");
    let (key, _) = key_error(base(
        json!({"ipam": {"type": "calico-ipam", "ipv6_pools": ["10.0.0.0/8"]}}),
    ));
    assert_eq!(key, "ipam.ipv6_pools");
    let (key, _) = key_error(base(
        json!({"ipam": {"type": "calico-ipam", "ipv4_pools": ["10.0.0.0/99"]}}),
    ));
    assert_eq!(key, "ipam.ipv4_pools");
}

#[test]
fn mtu() {
    assert_eq!(parse(base(json!({"mtu": 1440}))).unwrap().mtu, Some(1440));
    let (key, _) = key_error(base(json!({"mtu": 20})));
    assert_eq!(key, "mtu");
    let (key, _) = key_error(base(json!({"mtu": -1})));
    assert_eq!(key, "mtu");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mtu");
    std::fs::write(&file, "1410\n").unwrap();
    let c = NetConf::parse(base(json!({})).to_string().as_bytes(), &no_env, &file).unwrap();
    assert_eq!(c.mtu, Some(1410));
    let c = NetConf::parse(
        base(json!({"mtu": 1300})).to_string().as_bytes(),
        &no_env,
        &file,
    )
    .unwrap();
    assert_eq!(c.mtu, Some(1300), "the key wins over the file");
}

#[test]
fn log_levels() {
    for (s, l) in [
        ("debug", LogLevel::Debug),
        ("INFO", LogLevel::Info),
        ("warning", LogLevel::Warning),
        ("error", LogLevel::Error),
    ] {
        assert_eq!(parse(base(json!({"log_level": s}))).unwrap().log_level, l);
    }
    let (key, _) = key_error(base(json!({"log_level": "loud"})));
    assert_eq!(key, "log_level");
    let c = parse(base(json!({"log_file_path": "/tmp/cni.log"}))).unwrap();
    assert_eq!(c.log_file_path.as_deref(), Some(Path::new("/tmp/cni.log")));
}

#[test]
fn kubernetes_settings_are_refused_clearly() {
    for (extra, key) in [
        (json!({"datastore_type": "kubernetes"}), "datastore_type"),
        (
            json!({"kubernetes": {"kubeconfig": "/etc/cni/net.d/calico-kubeconfig"}}),
            "kubernetes.kubeconfig",
        ),
        (
            json!({"kubernetes": {"k8s_api_root": "https://10.0.0.1:443"}}),
            "kubernetes.k8s_api_root",
        ),
        (json!({"policy": {"type": "k8s"}}), "policy.type"),
        (
            json!({"ipam": {"type": "host-local", "subnet": "usePodCidr"}}),
            "ipam.subnet",
        ),
    ] {
        let e = parse(base(extra)).unwrap_err();
        match &e {
            ConfigError::NeedsKubernetes { key: k, .. } => assert_eq!(*k, key),
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("Kubernetes API server"), "{e}");
        assert_eq!(CniError::from(e).code, ErrorCode::UnsupportedField);
    }
    let (key, _) = key_error(base(json!({"datastore_type": "consul"})));
    assert_eq!(key, "datastore_type");
    let (key, _) = key_error(base(json!({"policy": {"type": "other"}})));
    assert_eq!(key, "policy.type");
    // The environment's DATASTORE_TYPE counts when the key is absent.
    let env = |k: &str| (k == "DATASTORE_TYPE").then(|| "kubernetes".to_string());
    assert!(matches!(
        parse_with(base(json!({})), env),
        Err(ConfigError::NeedsKubernetes { .. })
    ));
}

#[test]
fn etcd_keys_and_environment() {
    let c = parse(base(json!({
        "datastore_type": "etcdv3",
        "etcd_endpoints": "https://10.0.0.1:2379, https://10.0.0.2:2379",
        "etcd_key_file": "/k.pem", "etcd_cert_file": "/c.pem", "etcd_ca_cert_file": "/ca.pem"
    })))
    .unwrap();
    assert_eq!(
        c.etcd.endpoints,
        vec!["https://10.0.0.1:2379", "https://10.0.0.2:2379"]
    );
    let tls = c.etcd.tls.unwrap();
    assert_eq!(tls.key_file.as_deref(), Some(Path::new("/k.pem")));
    assert_eq!(tls.cert_file.as_deref(), Some(Path::new("/c.pem")));
    assert_eq!(tls.ca_file.as_deref(), Some(Path::new("/ca.pem")));

    let env = |k: &str| (k == "ETCD_ENDPOINTS").then(|| "http://10.9.9.9:2379".to_string());
    let c = parse_with(base(json!({})), env).unwrap();
    assert_eq!(c.etcd.endpoints, vec!["http://10.9.9.9:2379"]);
    let c = parse_with(base(json!({"etcd_endpoints": "http://10.1.1.1:2379"})), env).unwrap();
    assert_eq!(
        c.etcd.endpoints,
        vec!["http://10.1.1.1:2379"],
        "the key wins"
    );
    let c = parse(base(json!({"etcd_authority": "10.2.2.2:2379"}))).unwrap();
    assert_eq!(c.etcd.endpoints, vec!["http://10.2.2.2:2379"]);

    let (key, _) = key_error(base(json!({"etcd_endpoints": "10.0.0.1:2379"})));
    assert_eq!(key, "etcd_endpoints");
    let (key, _) = key_error(base(json!({"etcd_cert_file": "/c.pem"})));
    assert_eq!(key, "etcd_cert_file");
}

#[test]
fn nodename_file_default_is_calicos() {
    let mut v = base(json!({}));
    let m = v.as_object_mut().unwrap();
    m.remove("nodename_file_optional");
    m.insert(
        "nodename_file".into(),
        json!("/nonexistent/reflex/nodename"),
    );
    let e = parse(v).unwrap_err();
    assert!(matches!(e, ConfigError::NodenameFile { .. }), "{e}");
    assert_eq!(CniError::from(e).code, ErrorCode::TryAgainLater);
    assert_eq!(DEFAULT_NODENAME_FILE, "/var/lib/calico/nodename");
}

#[test]
fn prev_result_is_kept() {
    let c = parse(base(
        json!({"prevResult": {"cniVersion": "1.0.0", "ips": []}}),
    ))
    .unwrap();
    assert!(c.prev_result.is_some());
    let (key, _) = key_error(base(json!({"container_settings": "on"})));
    assert_eq!(key, "container_settings");
}

#[test]
fn ipam_lock_file() {
    let c = parse(base(json!({"ipam_lock_file": "/tmp/x/ipam.lock"}))).unwrap();
    assert_eq!(c.ipam_lock_file, Path::new("/tmp/x/ipam.lock"));
    let (key, _) = key_error(base(json!({"ipam_lock_file": 3})));
    assert_eq!(key, "ipam_lock_file");
}
