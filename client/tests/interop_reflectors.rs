//! The `bgp-client` daemon against real route reflectors, in network
//! namespaces: two nodes A and B, each running the `bgp-client` binary
//! as an iBGP client of one reflector, once BIRD 2 and once GoBGP. A route
//! added with `ip route add` in A's namespace appears in B's kernel via A's
//! address with protocol 186 and the configured metric, the reflector holds
//! it from A, A never installs its own route back, and `ip route del`
//! removes it from B (and from the reflector). The same holds from B to A.

mod common;

use std::time::{Duration, Instant};

use common::ip_routes;
use reflex_testlab::daemons::{Bird, Gobgp};
use reflex_testlab::{Host, Lab, skip_unless};

const BIN: &str = env!("CARGO_BIN_EXE_bgp-client");
const AS: u32 = 64512;
/// The switch: the reflector is .1, node A .11, node B .12.
const NET: &str = "10.0.40";
/// The routes the nodes export (no other test uses 10.74/16).
const POOL: &str = "10.74.0.0/16";
const METRIC: u32 = 37;
const WAIT: Duration = Duration::from_secs(20);

fn addr(last: u8) -> String {
    format!("{NET}.{last}")
}

struct Cluster {
    a: Host,
    b: Host,
    r: Host,
    lab: Lab,
}

/// Nodes A and B and the reflector host on one switch; a "d0" veth in
/// each node to hang routes on.
fn cluster(tag: &str) -> Cluster {
    let mut lab = Lab::new(tag).expect("lab");
    let a = lab.host("a").unwrap();
    let b = lab.host("b").unwrap();
    let r = lab.host("r").unwrap();
    lab.switch(
        "sw",
        &[
            (&r, &format!("{}/24", addr(1))),
            (&a, &format!("{}/24", addr(11))),
            (&b, &format!("{}/24", addr(12))),
        ],
    )
    .unwrap();
    for host in [&a, &b] {
        host.run(&[
            "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p",
        ])
        .unwrap();
        host.run(&["ip", "link", "set", "d0p", "up"]).unwrap();
        host.run(&["ip", "link", "set", "d0", "up"]).unwrap();
    }
    Cluster { a, b, r, lab }
}

/// Start `bgp-client run` in `host` (node address `last`), exporting the
/// unicast routes on d0 within the pool.
fn start_agent(lab: &mut Lab, host: &Host, last: u8) -> String {
    let label = format!("bgp-client-{}", host.name);
    let config = format!(
        r#"[node]
name = "{name}"
asn = {AS}
ipv4 = "{me}"

[[reflector]]
address = "{rr}"

[bgp]
hold_time = 9
connect_retry = 1

[export]
pools = ["{POOL}"]
[[export.rule]]
interfaces = ["d0"]
kinds = ["unicast"]

[install]
metric = {METRIC}
remove_on_stop = true
"#,
        name = host.name,
        me = addr(last),
        rr = addr(1),
    );
    let file = lab.write_file(&format!("{label}.toml"), &config).unwrap();
    lab.spawn(
        host,
        &label,
        &[BIN, "run", "--config", &file.display().to_string()],
    )
    .unwrap();
    label
}

/// Poll `check` every 50 ms until `timeout`; on a timeout panic with
/// `what` and `report()` (logs, tables).
fn wait_or(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> bool,
    report: impl Fn() -> String,
) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "timed out after {timeout:?} waiting for {what}\n{}",
        report()
    );
}

/// The lines of `host`'s main table for `prefix` with protocol 186.
fn ours(host: &Host, prefix: &str) -> Vec<String> {
    ip_routes(host, &[prefix, "proto", "186"])
}

/// Is `prefix` in `host`'s kernel as we install it: via `via`, protocol
/// 186, the configured metric, nothing else for that prefix from us?
fn installed_via(host: &Host, prefix: &str, via: &str) -> bool {
    let lines = ours(host, prefix);
    lines.len() == 1
        && lines[0].contains(&format!("via {via} "))
        && lines[0].contains(&format!("metric {METRIC}"))
}

/// The shared scenario: `in_reflector(prefix, from)` says whether the
/// reflector holds `prefix` from node address `from`.
fn routes_cross_the_reflector(
    c: &Cluster,
    in_reflector: impl Fn(&str, &str) -> bool,
    report: impl Fn() -> String,
) {
    let (a, b) = (&c.a, &c.b);
    // A route of B's first: once it reaches A both sessions are up.
    b.run(&["ip", "route", "add", "10.74.2.0/24", "dev", "d0"])
        .unwrap();
    wait_or(
        WAIT,
        "B's 10.74.2.0/24 in A's kernel via B",
        || installed_via(a, "10.74.2.0/24", &addr(12)),
        &report,
    );

    // A route added by hand in A reaches B via A, protocol 186.
    let prefix = "10.74.1.0/24";
    a.run(&["ip", "route", "add", prefix, "dev", "d0"]).unwrap();
    wait_or(
        WAIT,
        "A's 10.74.1.0/24 in B's kernel via A",
        || installed_via(b, prefix, &addr(11)),
        &report,
    );
    assert!(
        in_reflector(prefix, &addr(11)),
        "the reflector holds A's route\n{}",
        report()
    );
    // A host route too (a workload address).
    a.run(&["ip", "route", "add", "10.74.9.7", "dev", "d0"])
        .unwrap();
    wait_or(
        WAIT,
        "A's 10.74.9.7/32 in B's kernel via A",
        || installed_via(b, "10.74.9.7", &addr(11)),
        &report,
    );
    // Nothing of A's own comes back into A's kernel, and A's own route
    // is still the one it added.
    assert!(
        ours(a, prefix).is_empty(),
        "A installs its own route\n{}",
        report()
    );
    assert!(
        ip_routes(a, &[prefix, "proto", "boot"])
            .iter()
            .any(|l| l.contains("dev d0")),
        "A's route is untouched\n{}",
        report()
    );

    // Deleting it in A removes it from B and from the reflector.
    a.run(&["ip", "route", "del", prefix, "dev", "d0"]).unwrap();
    wait_or(
        WAIT,
        "A's 10.74.1.0/24 gone from B's kernel",
        || ip_routes(b, &[prefix]).is_empty(),
        &report,
    );
    wait_or(
        WAIT,
        "A's 10.74.1.0/24 gone from the reflector",
        || !in_reflector(prefix, &addr(11)),
        &report,
    );
    assert!(
        installed_via(b, "10.74.9.7", &addr(11)),
        "the other route stays\n{}",
        report()
    );
    a.run(&["ip", "route", "del", "10.74.9.7", "dev", "d0"])
        .unwrap();
    wait_or(
        WAIT,
        "A's 10.74.9.7/32 gone from B's kernel",
        || ip_routes(b, &["10.74.9.7"]).is_empty(),
        &report,
    );

    // And B's route goes from A.
    b.run(&["ip", "route", "del", "10.74.2.0/24", "dev", "d0"])
        .unwrap();
    wait_or(
        WAIT,
        "B's 10.74.2.0/24 gone from A's kernel",
        || ip_routes(a, &["10.74.2.0/24"]).is_empty(),
        &report,
    );
}

fn logs(lab: &Lab, labels: &[&str], extra: String) -> String {
    let mut out = String::new();
    for label in labels {
        out += &format!("--- {label} ---\n{}\n", lab.log(label));
    }
    out + &extra
}

#[test]
fn routes_travel_between_nodes_through_a_bird_reflector() {
    if skip_unless(&["ip", "bird", "birdc"]) {
        return;
    }
    let started = Instant::now();
    let mut c = cluster("client-irr-bird");
    let config = format!(
        r#"
log stderr all;
router id {rr};
protocol device {{ scan time 1; }}
template bgp node {{
  local {rr} as {AS};
  rr client;
  rr cluster id {rr};
  passive on;
  direct;
  ipv4 {{ import all; export all; gateway direct; }};
}}
protocol bgp node_a from node {{ neighbor {a} as {AS}; }}
protocol bgp node_b from node {{ neighbor {b} as {AS}; }}
"#,
        rr = addr(1),
        a = addr(11),
        b = addr(12),
    );
    let r = c.r.clone();
    let bird = Bird::start(&mut c.lab, &r, &config)
        .unwrap_or_else(|e| panic!("BIRD starts: {e}\n{}", c.lab.log("bird-r")));
    let (a, b) = (c.a.clone(), c.b.clone());
    let label_a = start_agent(&mut c.lab, &a, 11);
    let label_b = start_agent(&mut c.lab, &b, 12);

    let in_reflector = |prefix: &str, from: &str| {
        bird.query(&format!("show route {prefix} all"))
            .is_ok_and(|out| out.contains(prefix) && out.contains(&format!("BGP.next_hop: {from}")))
    };
    let report = || {
        logs(
            &c.lab,
            &["bird-r", &label_a, &label_b],
            format!(
                "--- birdc show protocols ---\n{}\n--- birdc show route all ---\n{}\n--- A ---\n{}\n--- B ---\n{}",
                bird.query("show protocols all").unwrap_or_default(),
                bird.query("show route all").unwrap_or_default(),
                ip_routes(&c.a, &[]).join("\n"),
                ip_routes(&c.b, &[]).join("\n"),
            ),
        )
    };
    routes_cross_the_reflector(&c, in_reflector, report);
    assert!(bird.established("node_a") && bird.established("node_b"));
    eprintln!("BIRD reflector: done in {:?}", started.elapsed());
}

#[test]
fn routes_travel_between_nodes_through_a_gobgp_reflector() {
    if skip_unless(&["ip", "gobgpd", "gobgp"]) {
        return;
    }
    let started = Instant::now();
    let mut c = cluster("client-irr-gobgp");
    let mut config = format!(
        r#"
[global.config]
  as = {AS}
  router-id = "{rr}"
  local-address-list = ["{rr}"]
"#,
        rr = addr(1),
    );
    for node in [addr(11), addr(12)] {
        config += &format!(
            r#"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{node}"
    peer-as = {AS}
  [neighbors.transport.config]
    passive-mode = true
    local-address = "{rr}"
  [neighbors.route-reflector.config]
    route-reflector-client = true
    route-reflector-cluster-id = "{rr}"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
"#,
            rr = addr(1),
        );
    }
    let r = c.r.clone();
    let gobgp = Gobgp::start(&mut c.lab, &r, &config, 50051)
        .unwrap_or_else(|e| panic!("gobgpd starts: {e}\n{}", c.lab.log("gobgpd-r")));
    let (a, b) = (c.a.clone(), c.b.clone());
    let label_a = start_agent(&mut c.lab, &a, 11);
    let label_b = start_agent(&mut c.lab, &b, 12);

    let in_reflector = |prefix: &str, from: &str| {
        gobgp
            .query(&["global", "rib", "-a", "ipv4", prefix])
            .is_ok_and(|out| {
                out.lines()
                    .any(|l| l.contains(prefix) && l.contains(&format!(" {from} ")))
            })
    };
    let report = || {
        logs(
            &c.lab,
            &["gobgpd-r", &label_a, &label_b],
            format!(
                "--- gobgp neighbor ---\n{}\n--- gobgp global rib ---\n{}\n--- A ---\n{}\n--- B ---\n{}",
                gobgp.query(&["neighbor"]).unwrap_or_default(),
                gobgp
                    .query(&["global", "rib", "-a", "ipv4"])
                    .unwrap_or_default(),
                ip_routes(&c.a, &[]).join("\n"),
                ip_routes(&c.b, &[]).join("\n"),
            ),
        )
    };
    routes_cross_the_reflector(&c, in_reflector, report);
    assert!(gobgp.established(&addr(11)) && gobgp.established(&addr(12)));
    eprintln!("GoBGP reflector: done in {:?}", started.elapsed());
}
