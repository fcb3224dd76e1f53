//! The binaries' answers that need neither etcd nor the kernel: VERSION,
//! and CNI errors (JSON on stdout, non-zero exit) for a bad environment, a
//! bad configuration, Kubernetes-only settings, CHECK before 0.4.0 and an
//! unreachable etcd.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

fn run(binary: &str, vars: &[(&str, &str)], stdin: &str) -> (bool, Value) {
    let exe = match binary {
        "calico" => env!("CARGO_BIN_EXE_calico"),
        _ => env!("CARGO_BIN_EXE_calico-ipam"),
    };
    let mut child = Command::new(exe)
        .env_clear()
        .envs(vars.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A binary that rejects its environment answers without reading its
    // standard input and may exit before the write: a broken pipe then.
    match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    let out = child.wait_with_output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.success(), json)
}

const ADD: &[(&str, &str)] = &[
    ("CNI_COMMAND", "ADD"),
    ("CNI_CONTAINERID", "cli0001"),
    ("CNI_NETNS", "/run/netns/reflex-cni-cli-none"),
    ("CNI_IFNAME", "eth0"),
    ("CNI_PATH", "/nonexistent"),
];

fn conf(extra: Value) -> String {
    let mut v = json!({
        "cniVersion": "1.0.0", "name": "net1", "type": "calico",
        "nodename": "n1", "nodename_file_optional": true,
        "etcd_endpoints": "http://127.0.0.1:1",
        "ipam": {"type": "calico-ipam"}
    });
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    v.to_string()
}

#[test]
fn version_lists_every_supported_version() {
    for binary in ["calico", "calico-ipam"] {
        let (ok, json) = run(binary, &[("CNI_COMMAND", "VERSION")], "");
        assert!(ok);
        assert_eq!(
            json,
            json!({"cniVersion": "1.0.0",
                   "supportedVersions": ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"]})
        );
    }
}

#[test]
fn environment_errors_name_the_variable() {
    let (ok, json) = run("calico", &[], "{}");
    assert!(!ok);
    assert_eq!(json["code"], 4);
    assert!(json["msg"].as_str().unwrap().contains("CNI_COMMAND"));
    let (ok, json) = run("calico", &ADD[..2], &conf(json!({})));
    assert!(!ok);
    assert_eq!(json["code"], 4);
    let msg = json["msg"].as_str().unwrap();
    assert!(
        msg.contains("CNI_NETNS") && msg.contains("CNI_IFNAME"),
        "{msg}"
    );
}

#[test]
fn configuration_errors_carry_the_spec_codes() {
    for (extra, code, needle) in [
        (json!({"mtu": "big"}), 7, "\"mtu\""),
        (
            json!({"ipam": {"type": "calico-ipam", "assign_ipv4": 1}}),
            7,
            "ipam.assign_ipv4",
        ),
        (json!({"cniVersion": "9.9.9"}), 1, "9.9.9"),
        (
            json!({"datastore_type": "kubernetes"}),
            2,
            "Kubernetes API server",
        ),
        (
            json!({"kubernetes": {"kubeconfig": "/etc/kube"}}),
            2,
            "kubernetes.kubeconfig",
        ),
        (json!({"policy": {"type": "k8s"}}), 2, "policy.type"),
    ] {
        let (ok, json) = run("calico", ADD, &conf(extra.clone()));
        assert!(!ok, "{extra}");
        assert_eq!(json["code"], code, "{extra}: {json}");
        assert!(
            json["msg"].as_str().unwrap().contains(needle),
            "{extra}: {json}"
        );
    }
    let (ok, json) = run("calico", ADD, "{not json");
    assert!(!ok);
    assert_eq!(json["code"], 6);
    // The error carries the configuration's version.
    let (_, json) = run(
        "calico",
        ADD,
        &conf(json!({"cniVersion": "0.3.1", "mtu": -5})),
    );
    assert_eq!(json["cniVersion"], "0.3.1");
}

#[test]
fn kubernetes_pods_and_early_checks_are_refused_clearly() {
    let mut vars = ADD.to_vec();
    vars.push((
        "CNI_ARGS",
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web",
    ));
    let (ok, json) = run("calico", &vars, &conf(json!({})));
    assert!(!ok);
    assert_eq!(json["code"], 2);
    assert!(
        json["msg"].as_str().unwrap().contains("default/web"),
        "{json}"
    );

    let mut vars = ADD.to_vec();
    vars[0] = ("CNI_COMMAND", "CHECK");
    let (ok, json) = run("calico", &vars, &conf(json!({"cniVersion": "0.3.1"})));
    assert!(!ok);
    assert_eq!(json["code"], 1, "{json}");
    let (ok, json) = run("calico", &vars, &conf(json!({})));
    assert!(!ok);
    assert_eq!(json["code"], 7, "CHECK without prevResult: {json}");
    let (ok, json) = run("calico-ipam", &vars, &conf(json!({"cniVersion": "0.3.1"})));
    assert!(!ok);
    assert_eq!(json["code"], 1, "calico-ipam CHECK in 0.3.1: {json}");
}

#[test]
fn an_unreachable_etcd_is_worth_a_retry() {
    let (ok, json) = run("calico-ipam", ADD, &conf(json!({})));
    assert!(!ok);
    assert_eq!(json["code"], 11, "{json}");
}
