//! How long Felix takes to apply one change at scale (issue 5's targets:
//! under 1 s from scratch, under 20 ms for one endpoint or one policy).
//!
//! In a network namespace with `FELIX_ENDPOINTS` (1,000) veth interfaces
//! `caliNNNNN`, each a local WorkloadEndpoint, and `FELIX_POLICIES` (20)
//! GlobalNetworkPolicies: the time of `Felix::update` from scratch, then
//! `FELIX_ROUNDS` (20) rounds of three changes of one resource each and a
//! reconcile without change: one endpoint's labels changed (it moves to
//! another policy group), one policy's ports changed, the endpoint's
//! labels changed back (both endpoint changes are counted). Last, drift
//! repair: a rule deleted with `nft` comes back at the next reconcile.
//! Prints median, 90th percentile and worst of each, and the ruleset's
//! size.
//!
//! Run: `cargo bench -p bgp-client --bench felix_update` (root, `ip`, `nft`).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bgp_client::felix::{Felix, FelixConfig, FelixInput, Ruleset, TableOutcome};
use reflex_testlab::{Host, Lab};
use tokio::runtime::Runtime;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The resources: endpoint `moved` sits in the next group; policy
/// `port_policy` allows `extra_port` too.
fn documents(endpoints: usize, policies: usize, moved: usize, extra_port: u16) -> String {
    let mut out = String::new();
    for i in 0..endpoints {
        let group = if i == moved { i + 1 } else { i } % policies.max(1);
        let _ = write!(
            out,
            "apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {{name: w{i}, namespace: ns{}, labels: {{group: g{group}}}}}
spec: {{node: node1, orchestrator: k8s, workload: w{i}, endpoint: eth0, interfaceName: cali{i:05}, ipNetworks: [10.69.{}.{}/32], profiles: [kns.test]}}
---
",
            i % 10,
            i / 250,
            i % 250 + 1
        );
    }
    for p in 0..policies {
        let port = if p == 0 { extra_port } else { 9000 };
        let _ = write!(
            out,
            "apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {{name: p{p}}}
spec:
  selector: group == 'g{p}'
  order: {p}
  ingress:
  - {{action: Allow, protocol: TCP, source: {{selector: group == 'g{}'}}, destination: {{ports: [80, 443, '8000:8100', {port}]}}}}
  - {{action: Deny, protocol: UDP, source: {{nets: [10.0.0.0/8]}}}}
  egress:
  - {{action: Allow, destination: {{notNets: [169.254.0.0/16]}}}}
---
",
            (p + 1) % policies
        );
    }
    out.push_str(
        "apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: kns.test}
spec: {ingress: [{action: Allow}], egress: [{action: Allow}]}
",
    );
    out
}

fn runtime_in(host: &Host) -> Runtime {
    host.enter(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    })
    .expect("enter the namespace")
}

fn stats(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "felix_update: {name:<28} median {:>8.2} ms  p90 {:>8.2} ms  max {:>8.2} ms  (n={})",
        at(0.5).as_secs_f64() * 1e3,
        at(0.9).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        times.len()
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if !reflex_testlab::can_use_netns() || !reflex_testlab::have("nft") {
        println!("felix_update: skipped (needs root, iproute2 and nft)");
        return;
    }
    let endpoints = env("FELIX_ENDPOINTS", 1000);
    let policies = env("FELIX_POLICIES", 20);
    let rounds = env("FELIX_ROUNDS", 20);
    let mut lab = Lab::new("fxbench").expect("lab");
    let node = lab.host("node").expect("host");
    let mut batch = String::new();
    for i in 0..endpoints {
        let _ = writeln!(batch, "link add cali{i:05} type veth peer name wl{i:05}");
        let _ = writeln!(batch, "link set wl{i:05} up");
        let _ = writeln!(batch, "link set cali{i:05} up");
    }
    let file = lab.write_file("links.batch", &batch).expect("batch");
    node.run(&["ip", "-batch", file.to_str().expect("path")])
        .expect("interfaces");

    let runtime = runtime_in(&node);
    let mut config = FelixConfig::new("node1");
    config.reconcile_interval = Duration::from_secs(3600);
    // Only the explicit reconciles read the table back here.
    config.verify_delay = Duration::from_secs(3600);
    let felix = Arc::new(runtime.block_on(async move { Felix::spawn(config) }));
    let update = |docs: &str| {
        let input = FelixInput::from_documents(docs).expect("documents");
        let felix = felix.clone();
        let start = Instant::now();
        let report = runtime
            .block_on(runtime.spawn(async move { felix.update(input).await }))
            .expect("task")
            .expect("update");
        (report, start.elapsed())
    };
    let reconcile = || {
        let felix = felix.clone();
        let start = Instant::now();
        let report = runtime
            .block_on(runtime.spawn(async move { felix.reconcile().await }))
            .expect("task")
            .expect("reconcile");
        (report, start.elapsed())
    };

    let (report, scratch) = update(&documents(endpoints, policies, usize::MAX, 9000));
    assert_eq!(report.programmed.len(), endpoints, "{:?}", report.pending);
    let script_bytes = {
        let input =
            FelixInput::from_documents(&documents(endpoints, policies, usize::MAX, 9000)).unwrap();
        let mut warnings = Vec::new();
        let eps = bgp_client::felix::input::resolve_endpoints(&input, &mut warnings);
        let local = bgp_client::felix::input::local_endpoints(&eps, Some("node1"), &mut warnings);
        let start = Instant::now();
        let ruleset = bgp_client::felix::acl::compile(
            &input,
            &eps,
            &local,
            &bgp_client::felix::AclConfig::default(),
        );
        let compile = start.elapsed();
        println!(
            "felix_update: {endpoints} endpoints, {policies} policies: {} rules, {} chains, {} sets, script {} bytes, compile {:.2} ms",
            ruleset.rule_count(),
            ruleset.chains.len(),
            ruleset.sets.len(),
            ruleset.script().len(),
            compile.as_secs_f64() * 1e3
        );
        ruleset.script().len()
    };
    let _ = script_bytes;
    println!(
        "felix_update: from scratch {:.1} ms ({} routes added)",
        scratch.as_secs_f64() * 1e3,
        report.routes_added
    );
    // The first reconcile reads the whole table once.
    let _ = reconcile();

    let (mut one_endpoint, mut one_policy, mut unchanged) = (Vec::new(), Vec::new(), Vec::new());
    let mut changes = (0, 0);
    // Each round starts with no endpoint moved and `port` in policy p0,
    // and makes three changes of one resource each: endpoint `moved`
    // goes to the next group, p0's extra port changes, the endpoint
    // comes back.
    for round in 0..rounds {
        let moved = 7 + round * 13 % endpoints.max(1);
        let (port, next_port) = (9000 + round as u16, 9001 + round as u16);
        let (report, time) = update(&documents(endpoints, policies, moved, port));
        assert_eq!(report.table, TableOutcome::Applied);
        one_endpoint.push(time);
        let (report, time) = update(&documents(endpoints, policies, moved, next_port));
        assert_eq!(report.table, TableOutcome::Applied);
        one_policy.push(time);
        let (report, time) = update(&documents(endpoints, policies, usize::MAX, next_port));
        assert_eq!(report.table, TableOutcome::Applied);
        changes = report.table_changes;
        one_endpoint.push(time);
        let (report, time) = reconcile();
        assert_eq!(report.table, TableOutcome::Unchanged, "round {round}");
        unchanged.push(time);
    }
    println!(
        "felix_update: incremental changes sent as netlink batches {}, with nft -f {}",
        changes.0, changes.1
    );
    // Where one change's time goes: resolve, compile (with the chain cache
    // Felix keeps), diff, and the table change alone (nft -f, netlink).
    {
        let config = bgp_client::felix::AclConfig::default();
        let parsed = [
            FelixInput::from_documents(&documents(endpoints, policies, usize::MAX, 9000)).unwrap(),
            FelixInput::from_documents(&documents(endpoints, policies, 4, 9000)).unwrap(),
        ];
        let mut cache = bgp_client::felix::acl::ChainCache::default();
        let mut endpoint_cache = bgp_client::felix::input::EndpointCache::default();
        let (mut resolved, mut compiled, mut diffed) = (Vec::new(), Vec::new(), Vec::new());
        let mut last: Option<Ruleset> = None;
        for round in 0..21 {
            let input = &parsed[round % 2];
            let start = Instant::now();
            let mut warnings = Vec::new();
            let eps = endpoint_cache.resolve(input, &mut warnings);
            let local =
                bgp_client::felix::input::local_endpoints(&eps, Some("node1"), &mut warnings);
            resolved.push(start.elapsed());
            let start = Instant::now();
            let rs = bgp_client::felix::acl::compile_with(input, &eps, &local, &config, &mut cache);
            compiled.push(start.elapsed());
            if let Some(old) = &last {
                let start = Instant::now();
                let update = rs.update_script(old).expect("a difference");
                diffed.push(start.elapsed());
                assert!(!update.is_empty());
            }
            last = Some(rs);
        }
        stats("resolve endpoints (cached)", resolved);
        stats("compile (cached chains)", compiled);
        stats("diff of two rulesets", diffed);
        let compile = |input: &FelixInput| {
            let mut warnings = Vec::new();
            let eps = bgp_client::felix::input::resolve_endpoints(input, &mut warnings);
            let local =
                bgp_client::felix::input::local_endpoints(&eps, Some("node1"), &mut warnings);
            bgp_client::felix::acl::compile(input, &eps, &local, &config)
        };
        let a = compile(&parsed[0]);
        let b = compile(&parsed[1]);
        let forth = b.update_script(&a).expect("a difference");
        let back = a.update_script(&b).expect("a difference");
        let (mut nft_forth, mut nft_back) = (Vec::new(), Vec::new());
        // `nft` runs in the node's namespace: spawned from a runtime worker
        // (the bench's own thread is in the root namespace).
        let apply =
            |script: String| {
                runtime
                    .block_on(runtime.spawn(async move {
                        bgp_client::felix::Nft::default().apply(&script).await
                    }))
                    .expect("task")
            };
        // The node's table holds `a` after this (the reconcile below puts
        // Felix's back).
        apply(a.script()).expect("apply a");
        for _ in 0..5 {
            let start = Instant::now();
            apply(forth.script()).expect("forth");
            nft_forth.push(start.elapsed());
            let start = Instant::now();
            apply(back.script()).expect("back");
            nft_back.push(start.elapsed());
        }
        if let Ok(dir) = std::env::var("FELIX_DUMP") {
            let _ = std::fs::write(format!("{dir}/a.nft"), a.script());
            let _ = std::fs::write(format!("{dir}/forth.nft"), forth.script());
            let _ = std::fs::write(format!("{dir}/back.nft"), back.script());
        }
        // The same difference as one nf_tables netlink batch (Felix's path:
        // one socket, opened in the namespace, kept open).
        let mut socket = runtime
            .block_on(runtime.spawn(async { bgp_client::felix::nfnl::NfnlSocket::open() }))
            .expect("task")
            .expect("nfnetlink socket");
        let mut netlink = Vec::new();
        let mut batch_bytes = 0;
        for round in 0..5u32 {
            for (i, update) in [&forth, &back].into_iter().enumerate() {
                let start = Instant::now();
                let seq = 1000 * (2 * round + i as u32 + 1);
                let batch = bgp_client::felix::nfnl::encode(update, seq).expect("translates");
                batch_bytes = batch.len();
                socket.send(&batch).expect("netlink batch");
                netlink.push(start.elapsed());
            }
        }
        println!(
            "felix_update: one endpoint's change: script {} bytes ({} blocks)",
            forth.script().len(),
            forth.changed.len()
        );
        nft_forth.append(&mut nft_back);
        stats("nft -f of that difference", nft_forth);
        println!("felix_update: the same as a netlink batch: {batch_bytes} bytes");
        stats("netlink batch of it", netlink);
        // Put the table Felix last applied back.
        let _ = reconcile();
    }
    stats("one endpoint changed", one_endpoint);
    stats("one policy changed", one_policy);
    stats("reconcile without change", unchanged);

    // Drift repair: a rule removed behind Felix's back comes back.
    let listing = node
        .run(&[
            "nft",
            "-a",
            "list",
            "chain",
            "inet",
            "reflex",
            "tw-cali00003",
        ])
        .expect("list");
    let handle = listing
        .lines()
        .filter(|l| !l.contains('{'))
        .find_map(|l| l.split("# handle ").nth(1))
        .expect("a rule handle")
        .trim()
        .to_string();
    node.run(&[
        "nft",
        "delete",
        "rule",
        "inet",
        "reflex",
        "tw-cali00003",
        "handle",
        &handle,
    ])
    .expect("delete a rule");
    let (report, time) = reconcile();
    assert_eq!(report.table, TableOutcome::Repaired);
    println!(
        "felix_update: drift repaired by the reconcile in {:.1} ms",
        time.as_secs_f64() * 1e3
    );
    let felix = Arc::try_unwrap(felix).expect("one owner");
    runtime
        .block_on(runtime.spawn(async move { felix.stop(true).await }))
        .expect("task")
        .expect("stop");
}
