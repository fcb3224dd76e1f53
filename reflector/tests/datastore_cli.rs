//! The `bgp-reflector` binary with a real etcd: `datastore apply -f` (YAML
//! and JSON) and `datastore get`, and `run --datastore etcd --node NAME`
//! from the embedded default: it waits for its Node, then runs with the
//! peers the resources give it (and no dynamic ranges), shows the datastore
//! in `summary`, writes each peer's status (`datastore status`), and exits
//! 0 on SIGTERM, revoking the status lease.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bgp_reflector::api::types::{Neighbor, Summary};
use bgp_reflector::client;
use reflex_datastore::testing::EtcdServer;

const BIN: &str = env!("CARGO_BIN_EXE_bgp-reflector");

fn cli(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = cli(args);
    assert!(
        out.status.success(),
        "bgp-reflector {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn failing(args: &[&str]) -> String {
    let out = cli(args);
    assert!(!out.status.success(), "bgp-reflector {args:?} succeeded");
    String::from_utf8(out.stderr).unwrap()
}

const YAML: &str = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
spec:
  nodeToNodeMeshEnabled: false
  asNumber: 64512
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: n2
spec:
  bgp:
    ipv4Address: 127.0.73.2/24
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: peer-with-route-reflectors
spec:
  nodeSelector: "!has(route-reflector)"
  peerSelector: has(route-reflector)
"#;

const RR_JSON: &str = r#"{"apiVersion": "projectcalico.org/v3", "kind": "Node",
 "metadata": {"name": "rr1", "labels": {"route-reflector": "true"}},
 "spec": {"bgp": {"ipv4Address": "127.0.73.1/24", "routeReflectorClusterID": "224.0.0.7"}}}"#;

/// A running daemon, killed if the test fails midway.
struct Running {
    child: Child,
    log: mpsc::Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// The first log line (JSON) whose message contains `text`, within `secs`.
    fn wait_log(&self, text: &str, secs: u64) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            let Ok(line) = self.log.recv_timeout(Duration::from_millis(100)) else {
                continue;
            };
            let event: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
            if event["message"].as_str().is_some_and(|m| m.contains(text)) {
                return event;
            }
        }
        panic!("no log line with {text:?} within {secs} s");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_get_and_run_from_etcd() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let endpoint = etcd.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("cluster.yaml");
    std::fs::write(&yaml, YAML).unwrap();
    let json = dir.path().join("rr1.json");
    std::fs::write(&json, RR_JSON).unwrap();
    let ds = |cmd: &[&str]| -> Vec<String> {
        let mut args = vec!["datastore"];
        args.extend_from_slice(cmd);
        args.extend_from_slice(&["--etcd-endpoints", &endpoint]);
        args.into_iter().map(String::from).collect()
    };
    let run = |cmd: &[&str]| -> String {
        let args = ds(cmd);
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };

    // apply: one line per resource, in order.
    let applied = run(&["apply", "-f", yaml.to_str().unwrap()]);
    let lines: Vec<&str> = applied.lines().collect();
    assert_eq!(lines.len(), 3, "{applied}");
    assert!(
        lines[0].starts_with("applied BGPConfiguration default (revision "),
        "{applied}"
    );
    assert!(
        lines[1].starts_with("applied Node n2 (revision "),
        "{applied}"
    );

    // get: calicoctl's table.
    let nodes = run(&["get", "nodes"]);
    assert_eq!(
        nodes,
        "NAME   ASN       IPV4            IPV6   RR CLUSTER ID\nn2     (64512)   127.0.73.2/24\n"
    );
    let peers = run(&["get", "bgppeers"]);
    assert!(
        peers.contains("peer-with-route-reflectors   has(route-reflector)   !has(route-reflector)"),
        "{peers}"
    );
    let args = ds(&["get", "nonsense"]);
    let error = failing(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        error.contains("unknown resource type \"nonsense\""),
        "{error}"
    );
    let args = ds(&["apply", "-f", "/nonexistent/file.yaml"]);
    let error = failing(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(error.contains("/nonexistent/file.yaml"), "{error}");
    // The endpoints can come from a configuration file's [datastore].
    let toml = dir.path().join("reflector.toml");
    std::fs::write(
        &toml,
        format!(
            "[datastore]\ntype = \"etcd\"\nnode = \"rr1\"\netcd_endpoints = [\"{endpoint}\"]\n"
        ),
    )
    .unwrap();
    let from_file = ok(&[
        "datastore",
        "get",
        "bgpconfig",
        "--config",
        toml.to_str().unwrap(),
    ]);
    assert!(from_file.contains("default"), "{from_file}");

    // run: waits for its Node, from the embedded default.
    let mut running = spawn(&[
        "--datastore",
        "etcd",
        "--node",
        "rr1",
        "--etcd-endpoints",
        &endpoint,
        "--listen",
        "127.0.73.1:11579",
        "--api",
        "127.0.0.1:0",
    ]);
    let waiting = running.wait_log("waiting for the datastore", 10);
    assert!(
        waiting["message"]
            .as_str()
            .unwrap()
            .contains("no Node resource named \"rr1\""),
        "{waiting}"
    );
    run(&["apply", "-f", json.to_str().unwrap()]);
    let started = running.wait_log("bgp-reflector started", 10);
    assert_eq!(started["dynamic_ranges"], 0, "{started}");
    let api: SocketAddr = started["api"].as_str().unwrap().parse().unwrap();

    let neighbors: Vec<Neighbor> = client::get(api, "/api/v1/neighbors").await.unwrap();
    assert_eq!(neighbors.len(), 1, "{neighbors:?}");
    let n2 = &neighbors[0];
    assert_eq!(n2.address, "127.0.73.2".parse::<IpAddr>().unwrap());
    assert_eq!(n2.client, Some(true));
    assert_eq!(
        n2.description.as_deref(),
        Some("Calico node n2 (BGPPeer peer-with-route-reflectors, reverse)")
    );
    let summary: Summary = client::get(api, "/api/v1/summary").await.unwrap();
    assert_eq!(summary.cluster_ids[0].to_string(), "224.0.0.7");
    assert_eq!(summary.router_id.to_string(), "127.0.73.1");
    let text = ok(&["summary", "--api", &api.to_string()]);
    let line = text
        .lines()
        .find(|l| l.starts_with("Datastore:"))
        .unwrap_or_else(|| panic!("no Datastore line in\n{text}"));
    assert!(
        line.contains(&format!(
            "etcd connected for node rr1 ({endpoint}; revision "
        )),
        "{line}"
    );

    // The per-peer status it writes to etcd.
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        let table = run(&["status", "rr1"]);
        if table.lines().count() == 2 {
            break table;
        }
        assert!(Instant::now() < deadline, "no status row:\n{table}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let row: Vec<&str> = status.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..4], ["rr1", "127.0.73.2", "64512", "down"], "{status}");
    let json = run(&["status", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(list[0]["address"], "127.0.73.2", "{json}");

    terminate(&mut running);
    // A clean shutdown revokes the status lease.
    assert_eq!(run(&["status"]).lines().count(), 1, "only the header");
}

/// SIGTERM, then an exit status of 0 within 10 s.
fn terminate(running: &mut Running) {
    let pid = running.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = running.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "no exit 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Start `bgp-reflector run ARGS` with JSON logs on standard error.
fn spawn(args: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .arg("run")
        .args(args)
        .args(["--log-format", "json", "--log-level", "info"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, log) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Running { child, log }
}

#[test]
fn an_unreachable_etcd_at_start_is_waited_for_and_sigterm_ends_the_wait() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut running = spawn(&[
        "--datastore",
        "etcd",
        "--node",
        "rr1",
        "--etcd-endpoints",
        &endpoint,
        "--listen",
        "127.0.73.9:11580",
        "--api",
        "127.0.0.1:0",
    ]);
    let waiting = running.wait_log("waiting for the datastore", 10);
    let message = waiting["message"].as_str().unwrap();
    assert!(
        message.contains("etcd unreachable") || message.contains("connecting"),
        "{waiting}"
    );
    terminate(&mut running);
}
