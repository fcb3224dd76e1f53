//! `calico` over the reference `host-local` IPAM plugin (Debian's
//! containernetworking-plugins), as Calico supports it: delegation to a
//! plugin that is not ours, whose result has a /24 and a gateway, gives the
//! container a /32 that answers ping and a WorkloadEndpoint; DEL releases
//! the address in host-local's store. And `calico-ipam`'s results have the
//! shape `host-local`'s have, version by version (an independent oracle of
//! the result formats).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{REFERENCE_PLUGINS, world};
use reflex_cni::dataplane::host_veth_name;
use serde_json::{Value, json};

fn host_local() -> Option<std::path::PathBuf> {
    let p = Path::new(REFERENCE_PLUGINS).join("host-local");
    if p.is_file() {
        return Some(p);
    }
    if reflex_testlab::tools_required() {
        panic!(
            "{} is missing (Debian package containernetworking-plugins)",
            p.display()
        );
    }
    eprintln!("skipping: {} is missing", p.display());
    None
}

fn subnet(n: u32) -> String {
    let pid = std::process::id();
    format!(
        "10.{}.{}.0/24",
        160 + (pid % 30) as u8,
        ((pid / 30) % 64 * 4 + n) as u8
    )
}

#[tokio::test]
async fn calico_delegates_to_host_local() {
    let Some(_) = host_local() else { return };
    let Some(mut w) = world("hostlocal").await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let net = subnet(0);
    let gateway = net.replace(".0/24", ".1");
    let conf = w.conf(
        "0.4.0",
        json!({"ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": net, "gateway": gateway}]],
            "dataDir": data.path()
        }}),
    );
    let id = w.container_id(1);
    let host_if = host_veth_name(&id);
    let (container, netns) = w.container("c1");
    let add = w.calico("ADD", &id, Some(&netns), &conf);
    assert!(add.ok, "ADD: {}\n{}", add.json, add.stderr);
    let address = add.json["ips"][0]["address"].as_str().unwrap().to_string();
    assert!(
        address.ends_with("/32"),
        "host-local's /24 becomes a /32: {address}"
    );
    assert!(add.json["ips"][0].get("gateway").is_none(), "{}", add.json);
    let ip = address.trim_end_matches("/32");
    let stored = data.path().join(format!("net-{}", w.tag)).join(ip);
    assert!(stored.is_file(), "host-local did not record {ip}");
    let ok = w.ping(&[ip]);
    assert!(ok, "no ping answer from {ip}");
    let inside = container.run(&["ip", "addr", "show", "eth0"]).unwrap();
    assert!(inside.contains(&address), "{inside}");
    assert!(w.wep(&id).await.is_some());

    let del = w.calico("DEL", &id, Some(&netns), &conf);
    assert!(del.ok, "DEL: {}", del.json);
    assert!(!stored.exists(), "host-local still holds {ip}");
    assert!(!w.host_link_exists(&host_if));
    assert!(w.wep(&id).await.is_none());
}

/// The keys of a result, and of its first address, that are not optional.
fn shape(v: &Value) -> (Vec<String>, Vec<String>) {
    let obj = v.as_object().unwrap();
    let top: Vec<String> = obj.keys().cloned().collect();
    let first = obj
        .get("ips")
        .and_then(|ips| ips.get(0))
        .or_else(|| obj.get("ip4"))
        .and_then(Value::as_object)
        .unwrap();
    let ip: Vec<String> = first.keys().filter(|k| *k != "gateway").cloned().collect();
    (top, ip)
}

#[tokio::test]
async fn calico_ipam_results_have_host_locals_shape_in_every_version() {
    let Some(host_local) = host_local() else {
        return;
    };
    let Some(mut w) = world("shape").await else {
        return;
    };
    w.pool("v4", &subnet(1), 26).await;
    let data = tempfile::tempdir().unwrap();
    let (_, netns) = w.container("c1");
    for (n, version) in ["0.2.0", "0.3.1", "0.4.0", "1.0.0"].into_iter().enumerate() {
        let id = w.container_id(n as u32);
        let ref_conf = json!({
            "cniVersion": version, "name": "shape", "type": "host-local",
            "ranges": [[{"subnet": subnet(2)}]], "dataDir": data.path()
        });
        let mut child = Command::new(&host_local)
            .env("CNI_COMMAND", "ADD")
            .env("CNI_CONTAINERID", &id)
            .env("CNI_NETNS", &netns)
            .env("CNI_IFNAME", "eth0")
            .env("CNI_PATH", REFERENCE_PLUGINS)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut conf = ref_conf.clone();
        conf["ipam"] = ref_conf.clone();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(conf.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "host-local {version}");
        let reference: Value = serde_json::from_slice(&out.stdout).unwrap();

        let ours = w.run(
            "calico-ipam",
            "ADD",
            &id,
            Some(&netns),
            &w.conf(version, json!({})),
            "",
        );
        assert!(ours.ok, "calico-ipam {version}: {}", ours.json);
        assert_eq!(
            shape(&ours.json),
            shape(&reference),
            "{version}: {} vs {reference}",
            ours.json
        );
        assert_eq!(ours.json["cniVersion"], version);
        let del = w.run(
            "calico-ipam",
            "DEL",
            &id,
            Some(&netns),
            &w.conf(version, json!({})),
            "",
        );
        assert!(del.ok);
    }
}
