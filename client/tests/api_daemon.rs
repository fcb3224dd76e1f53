//! The `bgp-client run` daemon as a real process in a node namespace,
//! with two in-process reflectors (bgp-speaker as RFC 4456 reflectors):
//! its operations API (JSON and `/metrics`), the `neighbors`, `routes`
//! and `kernel` subcommands, and reload on SIGHUP and `POST
//! /api/v1/reload`, with a bad file refused and JSON logs.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

use bgp_client::api::types::{
    InstallState, KernelRoute, Neighbor, ReloadResult, Route, SessionState, Status,
};
use bgp_client::cli::http;
use bgp_proto::attribute::{AsPath, NextHop, Origin, PathAttribute};
use bgp_proto::iana::AfiSafi;
use bgp_speaker::PathAttrs;
use bgp_speaker::speaker::{NeighborState, SpeakerHandle};
use common::nodes::{node_ip, reflector, rr_ip};
use common::{run_in, runtime_in, wait_for};
use reflex_testlab::{Host, Lab, skip_unless};
use serde::de::DeserializeOwned;
use tokio::runtime::Runtime;

const BIN: &str = env!("CARGO_BIN_EXE_bgp-client");
const API: &str = "127.0.0.1:9180";

/// Node n1 (10.0.0.11, the daemon), reflectors r1 and r2 (10.0.0.1, .2)
/// on one switch. n1 has a veth `d0` to hang routes on.
struct Setup {
    lab: Lab,
    node: Host,
    node_rt: Runtime,
    rrs: Vec<SpeakerHandle>,
    rr_rts: Vec<Runtime>,
}

fn setup(tag: &str) -> Setup {
    common::init_logging();
    let mut lab = Lab::new(tag).unwrap();
    let node = lab.host("n1").unwrap();
    let r1 = lab.host("r1").unwrap();
    let r2 = lab.host("r2").unwrap();
    lab.switch(
        "sw",
        &[
            (&node, "10.0.0.11/24"),
            (&r1, "10.0.0.1/24"),
            (&r2, "10.0.0.2/24"),
        ],
    )
    .unwrap();
    node.run(&[
        "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p",
    ])
    .unwrap();
    node.run(&["ip", "link", "set", "d0p", "up"]).unwrap();
    node.run(&["ip", "link", "set", "d0", "up"]).unwrap();
    let mut rrs = Vec::new();
    let mut rr_rts = Vec::new();
    for (i, host) in [(1u8, &r1), (2, &r2)] {
        let rt = runtime_in(host);
        rrs.push(reflector(&rt, rr_ip(i), vec![node_ip(1)]));
        rr_rts.push(rt);
    }
    let node_rt = runtime_in(&node);
    Setup {
        lab,
        node,
        node_rt,
        rrs,
        rr_rts,
    }
}

/// A client.toml for n1: `reflectors` (last octets), `rules` as TOML.
fn config(reflectors: &[u8], rules: &str, extra: &str) -> String {
    let mut text = String::from(
        "[node]\nname = \"n1\"\nasn = 64512\nipv4 = \"10.0.0.11\"\n\n[bgp]\nhold_time = 9\nconnect_retry = 1\n\n",
    );
    for r in reflectors {
        text.push_str(&format!("[[reflector]]\naddress = \"10.0.0.{r}\"\n"));
    }
    text.push_str("\n[export]\npools = [\"10.65.0.0/16\"]\n");
    text.push_str(rules);
    text.push_str("\n[install]\nremove_on_stop = true\n");
    text.push_str(extra);
    text
}

const BLACKHOLES: &str = "[[export.rule]]\nkinds = [\"blackhole\"]\n";
const D0: &str = "[[export.rule]]\ninterfaces = [\"d0\"]\nkinds = [\"unicast\"]\n";

/// `GET`/`POST` on the daemon's API from inside the node: status and body.
fn call(s: &Setup, method: &'static str, path: &str) -> Result<Vec<u8>, String> {
    let path = path.to_string();
    let addr: SocketAddr = API.parse().unwrap();
    run_in(&s.node_rt, async move {
        http::request(addr, method, &path)
            .await
            .map_err(|e| e.to_string())
    })
}

fn get<T: DeserializeOwned>(s: &Setup, path: &str) -> T {
    let body = call(s, "GET", path).unwrap_or_else(|e| panic!("GET {path}: {e}"));
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

fn neighbors(s: &Setup) -> Vec<Neighbor> {
    get(s, "/api/v1/neighbors")
}

fn neighbor(s: &Setup, address: &str) -> Option<Neighbor> {
    let address: IpAddr = address.parse().unwrap();
    neighbors(s).into_iter().find(|n| n.address == address)
}

fn established(s: &Setup, address: &str) -> bool {
    neighbor(s, address).is_some_and(|n| n.state == SessionState::Established)
}

/// Run the CLI in the node: exit success, standard output, standard error.
fn cli(s: &Setup, args: &[&str]) -> (bool, String, String) {
    let output = Command::new("ip")
        .args(["netns", "exec", &s.node.ns, BIN])
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The value of a metric sample (the whole `name{labels}` as written).
fn metric(text: &str, sample: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
}

/// Does reflector `rr` hold `prefix` from the node?
fn rr_has(s: &Setup, rr: usize, prefix: &str) -> bool {
    let speaker = s.rrs[rr].clone();
    let prefix: ipnetwork::IpNetwork = prefix.parse().unwrap();
    let runtime = &s.rr_rts[rr];
    run_in(runtime, async move {
        speaker
            .routes(AfiSafi::IPV4_UNICAST, Some(prefix))
            .await
            .unwrap()
            .iter()
            .any(|r| {
                r.paths
                    .iter()
                    .any(|(_, from)| *from == Some(IpAddr::V4(node_ip(1))))
            })
    })
}

/// Reflector `rr` originates 10.64.5.0/24 with another node's next hop.
fn originate_at(s: &Setup, rr: usize) {
    let speaker = s.rrs[rr].clone();
    run_in(&s.rr_rts[rr], async move {
        let attrs = PathAttrs {
            next_hop: NextHop::V4(Ipv4Addr::new(10, 0, 0, 12)),
            attributes: vec![
                PathAttribute::Origin(Origin::Igp),
                PathAttribute::AsPath(AsPath::default()),
            ],
        };
        speaker
            .originate(
                AfiSafi::IPV4_UNICAST,
                "10.64.5.0/24".parse().unwrap(),
                attrs,
            )
            .await
            .unwrap();
    });
}

fn sighup(pid: u32) {
    let status = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn the_api_and_the_cli_show_sessions_routes_and_kernel_routes() {
    if skip_unless(&["ip", "kill"]) {
        return;
    }
    let mut s = setup("client-api");
    for route in [
        &["blackhole", "10.65.3.0/26"][..],
        &["10.65.4.0/24", "dev", "d0"],
        &["10.99.0.0/24", "dev", "d0"],
    ] {
        let mut args = vec!["ip", "route", "add"];
        args.extend_from_slice(route);
        s.node.run(&args).unwrap();
    }
    // Both reflectors originate a route with another node's next hop:
    // learned twice, installed once.
    originate_at(&s, 0);
    originate_at(&s, 1);
    let file = s
        .lab
        .write_file(
            "client.toml",
            &config(&[1, 2], &format!("{BLACKHOLES}{D0}"), ""),
        )
        .unwrap();
    s.lab
        .spawn(
            &s.node,
            "bgp-client",
            &[BIN, "run", "--config", &file.display().to_string()],
        )
        .unwrap();
    wait_for(Duration::from_secs(20), "the API", || {
        call(&s, "GET", "/api/v1/status").is_ok()
    });
    wait_for(Duration::from_secs(20), "both sessions up", || {
        established(&s, "10.0.0.1") && established(&s, "10.0.0.2")
    });
    wait_for(Duration::from_secs(10), "the learned route", || {
        get::<Vec<Route>>(&s, "/api/v1/routes")
            .iter()
            .any(|r| r.kernel == InstallState::Installed && r.paths.len() == 2)
    });

    // Neighbours: state, prefixes in and out.
    let all = neighbors(&s);
    assert_eq!(all.len(), 2);
    for n in &all {
        assert_eq!(n.state, SessionState::Established, "{n:?}");
        assert_eq!(n.asn, Some(64512));
        assert_eq!(n.port, Some(179));
        assert_eq!(n.hold_time, Some(9));
        assert_eq!(n.graceful_restart, Some(true));
        assert_eq!(n.prefixes_received, 1, "{n:?}");
        assert_eq!(n.prefixes_sent, 2, "the blackhole and the d0 route: {n:?}");
        assert!(n.last_error.is_none());
        assert!(
            n.updates_sent.is_some_and(|u| u >= 2),
            "an UPDATE and End-of-RIB at least: {n:?}"
        );
        assert!(n.families.contains(&"ipv4-unicast".to_string()));
    }
    let one: Neighbor = get(&s, "/api/v1/neighbors/10.0.0.2");
    assert_eq!(one.address, "10.0.0.2".parse::<IpAddr>().unwrap());
    assert!(
        call(&s, "GET", "/api/v1/neighbors/10.0.0.9")
            .unwrap_err()
            .contains("404")
    );

    // Routes: two paths, one kernel route through the other node.
    let routes: Vec<Route> = get(&s, "/api/v1/routes");
    assert_eq!(routes.len(), 1, "{routes:?}");
    let route = &routes[0];
    assert_eq!(route.prefix, "10.64.5.0/24".parse().unwrap());
    assert_eq!(route.family, "ipv4-unicast");
    let from: Vec<Option<IpAddr>> = route.paths.iter().map(|p| p.from).collect();
    assert!(from.contains(&Some(rr_ip(1).into())) && from.contains(&Some(rr_ip(2).into())));
    assert_eq!(route.paths.iter().filter(|p| p.best).count(), 1);
    assert_eq!(route.installed, [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 12))]);
    assert_eq!((route.table, route.metric), (254, 20));
    assert!(
        common::ip_routes(&s.node, &["10.64.5.0/24", "proto", "186"])
            .iter()
            .any(|l| l.contains("via 10.0.0.12")),
        "the kernel has it as the API says"
    );
    let filtered: Vec<Route> = get(&s, "/api/v1/routes?prefix=10.64.6.0/24");
    assert!(filtered.is_empty());
    assert!(
        call(&s, "GET", "/api/v1/routes?family=ipx")
            .unwrap_err()
            .contains("400")
    );
    let error = call(&s, "GET", "/api/v1/routes?family=ipv6&prefix=10.64.5.0/24").unwrap_err();
    assert!(error.contains("not in family ipv6"), "{error}");
    let one: Vec<Route> = get(&s, "/api/v1/routes?prefix=10.64.5.0/24");
    assert_eq!(one.len(), 1);

    // Kernel: what is advertised, and the rule that selected it.
    let kernel: Vec<KernelRoute> = get(&s, "/api/v1/kernel");
    let find = |list: &[KernelRoute], prefix: &str| {
        list.iter()
            .find(|k| k.prefix == prefix.parse().unwrap())
            .cloned()
    };
    let blackhole = find(&kernel, "10.65.3.0/26").expect("the blackhole route");
    assert_eq!(blackhole.kind, "blackhole");
    assert_eq!(blackhole.rule.as_deref(), Some("export.rule[0]"));
    assert!(blackhole.advertised);
    assert_eq!(blackhole.protocol, "boot");
    let d0 = find(&kernel, "10.65.4.0/24").expect("the d0 route");
    assert_eq!(d0.rule.as_deref(), Some("export.rule[1]"));
    assert_eq!(d0.next_hops[0].interface.as_deref(), Some("d0"));
    assert!(find(&kernel, "10.99.0.0/24").is_none(), "not selected");
    assert!(find(&kernel, "10.64.5.0/24").is_none(), "ours, installed");
    let every: Vec<KernelRoute> = get(&s, "/api/v1/kernel?all=true");
    let outside = find(&every, "10.99.0.0/24").expect("listed with all");
    assert!(!outside.advertised && outside.rule.is_none());
    assert_eq!(outside.reason.as_deref(), Some("outside the pools"));
    let ours = find(&every, "10.64.5.0/24").expect("our installed route");
    assert_eq!(ours.reason.as_deref(), Some("protocol 186 is Reflex's own"));
    assert!(rr_has(&s, 0, "10.65.4.0/24") && rr_has(&s, 1, "10.65.3.0/26"));

    // Metrics.
    let text = String::from_utf8(call(&s, "GET", "/metrics").unwrap()).unwrap();
    let value =
        |sample: &str| metric(&text, sample).unwrap_or_else(|| panic!("{sample} missing:\n{text}"));
    assert_eq!(value("reflex_client_sessions{state=\"established\"}"), 2.0);
    assert_eq!(value("reflex_client_sessions{state=\"down\"}"), 0.0);
    assert_eq!(
        value("reflex_client_session_established{peer=\"10.0.0.1\"}"),
        1.0
    );
    assert_eq!(value("reflex_client_routes_advertised"), 2.0);
    assert_eq!(value("reflex_client_routes_installed"), 1.0);
    assert_eq!(
        value("reflex_client_kernel_writes_total{op=\"install\"}"),
        1.0
    );
    assert_eq!(value("reflex_client_install_errors_total"), 0.0);
    assert!(value("reflex_client_netlink_resyncs_total") >= 1.0);
    assert!(value("reflex_client_netlink_overruns_total") >= 0.0);
    assert!(value("reflex_client_netlink_notifications_total") >= 1.0);
    assert!(text.contains("# TYPE reflex_client_netlink_overruns_total counter"));

    // The CLI: aligned tables, JSON, errors.
    let (ok, out, err) = cli(&s, &["neighbors"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("Reflector  AS     State"), "{out}");
    let state_column = lines[0].find("State").unwrap();
    let pfx_column = lines[0].find("PfxSent").unwrap();
    for line in &lines[1..] {
        assert_eq!(line.find("Established"), Some(state_column), "{out}");
        assert_eq!(&line[pfx_column..pfx_column + 1], "2", "{out}");
        assert_eq!(line.trim_end(), *line, "no trailing spaces");
    }
    assert!(lines[1].starts_with("10.0.0.1 ") && lines[2].starts_with("10.0.0.2 "));

    let (ok, out, _) = cli(&s, &["routes"]);
    assert!(ok);
    let first = out.lines().nth(1).unwrap();
    assert!(first.starts_with("10.64.5.0/24  *  10.0.0."), "{out}");
    assert!(first.ends_with("installed  10.0.0.12"), "{out}");
    assert_eq!(out.lines().count(), 3, "one row per path: {out}");

    let (ok, out, _) = cli(&s, &["kernel", "--api", API]);
    assert!(ok);
    assert!(
        out.lines().any(|l| l.starts_with("10.65.3.0/26")
            && l.contains("blackhole")
            && l.ends_with("yes  export.rule[0]")),
        "{out}"
    );
    assert!(!out.contains("10.99.0.0/24"), "{out}");
    let (_, out, _) = cli(&s, &["kernel", "--all"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("10.99.0.0/24") && l.ends_with("no   outside the pools")),
        "{out}"
    );

    let (ok, out, _) = cli(&s, &["neighbors", "--json"]);
    assert!(ok);
    let parsed: Vec<Neighbor> = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed.len(), 2);
    let (ok, out, _) = cli(&s, &["status", "--json"]);
    assert!(ok);
    let status: Status = serde_json::from_str(&out).unwrap();
    assert_eq!((status.node.as_str(), status.asn), ("n1", 64512));
    assert!(status.synced);
    assert_eq!(status.routes_installed, 1);

    let (ok, _, err) = cli(&s, &["neighbors", "10.0.0.9"]);
    assert!(!ok);
    assert!(
        err.contains("404") && err.contains("no reflector 10.0.0.9"),
        "{err}"
    );
    let (ok, _, err) = cli(&s, &["routes", "--api", "127.0.0.1:1"]);
    assert!(!ok);
    assert!(
        err.contains("cannot talk to the API at 127.0.0.1:1"),
        "{err}"
    );
}

#[test]
fn sighup_reloads_without_touching_unchanged_sessions_and_refuses_a_bad_file() {
    if skip_unless(&["ip", "kill"]) {
        return;
    }
    let mut s = setup("client-reload");
    s.node
        .run(&["ip", "route", "add", "blackhole", "10.65.3.0/26"])
        .unwrap();
    s.node
        .run(&["ip", "route", "add", "10.65.4.0/24", "dev", "d0"])
        .unwrap();
    originate_at(&s, 1);
    let json_logs = "\n[logging]\nformat = \"json\"\n";
    let file = s
        .lab
        .write_file("client.toml", &config(&[1], BLACKHOLES, json_logs))
        .unwrap();
    let pid = s
        .lab
        .spawn(
            &s.node,
            "bgp-client",
            &[BIN, "run", "--config", &file.display().to_string()],
        )
        .unwrap();
    wait_for(Duration::from_secs(20), "r1's session", || {
        call(&s, "GET", "/api/v1/status").is_ok() && established(&s, "10.0.0.1")
    });
    wait_for(Duration::from_secs(10), "the blackhole at r1", || {
        rr_has(&s, 0, "10.65.3.0/26")
    });
    assert!(!rr_has(&s, 0, "10.65.4.0/24"), "not selected yet");
    assert_eq!(neighbors(&s).len(), 1);

    // Structured logs: JSON lines with flattened fields.
    let log = s.lab.log("bgp-client");
    let started = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["message"] == "bgp-client started")
        .unwrap_or_else(|| panic!("no JSON start line:\n{log}"));
    assert_eq!(started["level"], "INFO");
    assert_eq!(started["api"], API);
    assert_eq!(started["reflectors"], 1);

    // Add r2 and the d0 rule: r1's session stays as it was.
    std::thread::sleep(Duration::from_secs(2));
    let before = neighbor(&s, "10.0.0.1").unwrap();
    let r1_updates = before.updates_received;
    std::fs::write(
        &file,
        config(&[1, 2], &format!("{BLACKHOLES}{D0}"), json_logs),
    )
    .unwrap();
    let reload_at = Instant::now();
    sighup(pid);
    wait_for(Duration::from_secs(20), "r2's session", || {
        established(&s, "10.0.0.2")
    });
    wait_for(Duration::from_secs(10), "the d0 route at both", || {
        rr_has(&s, 0, "10.65.4.0/24") && rr_has(&s, 1, "10.65.4.0/24")
    });
    assert!(rr_has(&s, 1, "10.65.3.0/26"), "r2 got the blackhole too");
    wait_for(Duration::from_secs(10), "r2's route installed", || {
        common::ip_routes(&s.node, &["10.64.5.0/24", "proto", "186"])
            .iter()
            .any(|l| l.contains("via 10.0.0.12") && l.contains("metric 20"))
    });
    let after = neighbor(&s, "10.0.0.1").unwrap();
    assert_eq!(after.state, SessionState::Established);
    assert!(
        after.uptime_seconds >= before.uptime_seconds + reload_at.elapsed().as_secs_f64() - 0.5,
        "r1's session was not reset: {before:?} then {after:?}"
    );
    assert!(after.updates_received >= r1_updates);
    let kernel: Vec<KernelRoute> = get(&s, "/api/v1/kernel");
    let d0 = kernel
        .iter()
        .find(|k| k.prefix == "10.65.4.0/24".parse().unwrap())
        .expect("the d0 route is advertised now");
    assert_eq!(d0.rule.as_deref(), Some("export.rule[1]"));
    let r1_side = {
        let rr = s.rrs[0].clone();
        run_in(&s.rr_rts[0], async move { rr.neighbors().await.unwrap() })
    };
    assert_eq!(r1_side[0].state, NeighborState::Established);

    // A bad file: reported with line and field, the running one kept.
    let mut bad = config(&[1, 2], &format!("{BLACKHOLES}{D0}"), json_logs);
    bad = bad.replace("hold_time = 9", "hold_time = 2");
    let line = bad.lines().position(|l| l == "hold_time = 2").unwrap() + 1;
    std::fs::write(&file, &bad).unwrap();
    sighup(pid);
    let expected = format!(
        "client.toml:{line}:13: bgp.hold_time: must be 0 or at least 3 seconds (RFC 4271 section 4.2), not 2"
    );
    wait_for(Duration::from_secs(10), "the refused reload", || {
        get::<Status>(&s, "/api/v1/status").reloads_failed == 1
    });
    let status: Status = get(&s, "/api/v1/status");
    assert_eq!(status.reloads_ok, 1);
    let error = status.last_reload_error.unwrap();
    assert!(error.ends_with(&expected), "{error}");
    let log = s.lab.log("bgp-client");
    let logged = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["level"] == "ERROR" && v["finding"].as_str().is_some())
        .unwrap_or_else(|| panic!("no JSON error line:\n{log}"));
    assert!(
        logged["finding"].as_str().unwrap().ends_with(&expected),
        "{logged}"
    );
    assert!(log.contains("the running configuration is kept"));
    let text = String::from_utf8(call(&s, "GET", "/metrics").unwrap()).unwrap();
    assert_eq!(
        metric(
            &text,
            "reflex_client_config_reloads_total{result=\"failure\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &text,
            "reflex_client_config_reloads_total{result=\"success\"}"
        ),
        Some(1.0)
    );
    assert!(established(&s, "10.0.0.1") && established(&s, "10.0.0.2"));
    assert_eq!(neighbor(&s, "10.0.0.2").unwrap().hold_time, Some(9));
    // Through the API, the same refusal with its findings.
    let (ok, _, err) = cli(&s, &["reload"]);
    assert!(!ok);
    assert!(err.contains(&expected), "{err}");

    // Remove r1 and the d0 rule, and move the installed routes to metric
    // 30, through the CLI (POST /api/v1/reload).
    let moved =
        config(&[2], BLACKHOLES, json_logs).replace("[install]\n", "[install]\nmetric = 30\n");
    std::fs::write(&file, moved).unwrap();
    let (ok, out, err) = cli(&s, &["reload"]);
    assert!(ok, "{err}");
    assert!(out.contains("added: -\nremoved: 10.0.0.1\n"), "{out}");
    assert!(out.contains("unchanged: 1\n"), "{out}");
    assert!(out.contains("export: 0 advertised, 1 withdrawn"), "{out}");
    assert!(out.contains("install: routes moved"), "{out}");
    let installed = common::ip_routes(&s.node, &["10.64.5.0/24", "proto", "186"]);
    assert_eq!(installed.len(), 1, "{installed:?}");
    assert!(
        installed[0].contains("via 10.0.0.12") && installed[0].contains("metric 30"),
        "{installed:?}"
    );
    let routes: Vec<Route> = get(&s, "/api/v1/routes");
    assert_eq!(routes.len(), 1);
    assert_eq!(
        (routes[0].kernel, routes[0].metric),
        (InstallState::Installed, 30)
    );
    let (ok, out, _) = cli(&s, &["reload", "--json"]);
    assert!(ok);
    let again: ReloadResult = serde_json::from_str(&out).unwrap();
    assert!(again.added.is_empty() && again.removed.is_empty() && !again.export_changed);
    assert_eq!(again.unchanged, 1);
    let left = neighbors(&s);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].address, IpAddr::V4(rr_ip(2)));
    wait_for(
        Duration::from_secs(10),
        "the d0 route withdrawn at r2",
        || !rr_has(&s, 1, "10.65.4.0/24"),
    );
    assert!(rr_has(&s, 1, "10.65.3.0/26"), "the blackhole stays");
    wait_for(Duration::from_secs(10), "r1 sees the session go", || {
        let rr = s.rrs[0].clone();
        run_in(&s.rr_rts[0], async move { rr.neighbors().await.unwrap() })[0].state
            == NeighborState::Down
    });

    // A session setting resets the session; the AS waits for a restart.
    std::thread::sleep(Duration::from_secs(2));
    let before = neighbor(&s, "10.0.0.2").unwrap();
    assert!(before.uptime_seconds >= 2.0, "{before:?}");
    let changed = config(&[2], BLACKHOLES, json_logs)
        .replace("[install]\n", "[install]\nmetric = 30\n")
        .replace("hold_time = 9", "hold_time = 12")
        .replace("asn = 64512", "asn = 64999");
    std::fs::write(&file, changed).unwrap();
    let (ok, out, err) = cli(&s, &["reload", "--json"]);
    assert!(ok, "{err}");
    let result: ReloadResult = serde_json::from_str(&out).unwrap();
    assert_eq!(result.reset.len(), 1, "{result:?}");
    assert_eq!(result.reset[0].address, IpAddr::V4(rr_ip(2)));
    assert_eq!(result.reset[0].changed, ["bgp.hold_time"]);
    assert_eq!(result.unchanged, 0);
    assert_eq!(result.restart_required, ["node.asn"]);
    assert!(!result.install_moved && !result.export_changed);
    wait_for(Duration::from_secs(20), "r2's new session", || {
        neighbor(&s, "10.0.0.2").is_some_and(|n| {
            n.state == SessionState::Established && n.uptime_seconds < before.uptime_seconds
        })
    });
    let status: Status = get(&s, "/api/v1/status");
    assert_eq!(status.asn, 64512, "the running AS is kept");
    assert_eq!(status.restart_pending, ["node.asn"]);
    assert_eq!(neighbor(&s, "10.0.0.2").unwrap().asn, Some(64512));
}

#[test]
fn metrics_count_an_overrun_of_the_netlink_socket_and_its_resync() {
    if skip_unless(&["ip"]) {
        return;
    }
    let mut s = setup("client-overrun");
    let count = 20_000u32;
    let mut batch = String::new();
    for i in 0..count {
        batch.push_str(&format!(
            "route add 10.65.{}.{}/32 dev d0\n",
            i / 256 % 256,
            i % 256
        ));
    }
    let batch = s.lab.write_file("add.batch", &batch).unwrap();
    // 4 KiB asked, 8 KiB granted: a few dozen notifications.
    let file = s
        .lab
        .write_file(
            "client.toml",
            &config(&[1], D0, "\n[reader]\nreceive_buffer = 4096\n"),
        )
        .unwrap();
    s.lab
        .spawn(
            &s.node,
            "bgp-client",
            &[BIN, "run", "--config", &file.display().to_string()],
        )
        .unwrap();
    wait_for(Duration::from_secs(20), "r1's session", || {
        call(&s, "GET", "/api/v1/status").is_ok() && established(&s, "10.0.0.1")
    });
    let scrape = || String::from_utf8(call(&s, "GET", "/metrics").unwrap()).unwrap();
    let before = scrape();
    assert_eq!(
        metric(&before, "reflex_client_netlink_resyncs_total"),
        Some(1.0),
        "the initial dump only:\n{before}"
    );
    assert_eq!(
        metric(&before, "reflex_client_netlink_overruns_total"),
        Some(0.0)
    );
    s.node
        .run(&["ip", "-batch", &batch.display().to_string()])
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = scrape();
        if metric(&text, "reflex_client_routes_advertised") == Some(f64::from(count)) {
            break text;
        }
        assert!(Instant::now() < deadline, "not converged:\n{text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let overruns = metric(&text, "reflex_client_netlink_overruns_total").unwrap();
    let resyncs = metric(&text, "reflex_client_netlink_resyncs_total").unwrap();
    assert!(overruns >= 1.0, "the burst overflowed the socket:\n{text}");
    assert!(resyncs >= 2.0, "and a dump recovered it:\n{text}");
    assert!(metric(&text, "reflex_client_netlink_notifications_total").unwrap() >= 1.0);
    wait_for(Duration::from_secs(30), "every route at r1", || {
        let speaker = s.rrs[0].clone();
        let from_node = run_in(&s.rr_rts[0], async move {
            speaker
                .routes(AfiSafi::IPV4_UNICAST, None)
                .await
                .unwrap()
                .iter()
                .filter(|r| {
                    r.paths
                        .iter()
                        .any(|(_, from)| *from == Some(IpAddr::V4(node_ip(1))))
                })
                .count()
        });
        from_node == count as usize
    });
    let neighbor = neighbor(&s, "10.0.0.1").unwrap();
    assert_eq!(neighbor.prefixes_sent, u64::from(count));
}
