//! Felix's nf_tables netlink batches against `nft` itself: the same
//! incremental change, sent as a netlink batch in one network namespace
//! and as an `nft -f` script in another, must leave tables that `nft list`
//! prints identically. Then the same through [`TableSync`], which must
//! take the netlink path and verify clean afterwards.

mod common;

use std::sync::Arc;

use bgp_client::felix::acl::{Ruleset, Update, compile, listing_blocks};
use bgp_client::felix::input::{local_endpoints, resolve_endpoints};
use bgp_client::felix::nft::{Nft, TableSync};
use bgp_client::felix::{AclConfig, FelixInput, TableOutcome, nfnl};
use common::{run_in, runtime_in};
use reflex_testlab::{Host, Lab, skip_unless};

const ENDPOINTS: &str = r#"
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: a, namespace: prod, labels: {app: client}}
spec: {node: node1, interfaceName: calia, ipNetworks: [10.66.1.2/32, "fd00:66::2/128"], profiles: [kns.prod]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: b, namespace: prod, labels: {app: web}}
spec:
  node: node1
  interfaceName: calib
  ipNetworks: [10.66.1.3/32, 10.66.1.4/32, 10.66.1.5/32]
  ports: [{name: http, protocol: TCP, port: 8080}]
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: c, namespace: dev, labels: {app: client}}
spec: {node: node2, interfaceName: calic, ipNetworks: [10.66.2.0/26]}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: kns.prod}
spec:
  ingress: [{action: Allow, source: {selector: app == 'client'}}]
  egress: [{action: Allow}]
"#;

/// A policy with every rule shape the compiler writes; `ports` is its
/// first rule's port list.
fn policy(ports: &str) -> String {
    format!(
        r#"
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {{name: web}}
spec:
  selector: app == 'web'
  order: 10
  ingress:
  - action: Allow
    protocol: TCP
    source: {{selector: app == 'client'}}
    destination: {{ports: {ports}}}
  - action: Log
    protocol: UDP
    source: {{nets: [10.0.0.0/8, 192.168.7.0/24], notNets: [10.1.0.0/16]}}
  - action: Deny
    protocol: UDP
    source: {{ports: ["1000:2000"]}}
    destination: {{notPorts: [53, 5353]}}
  - action: Allow
    protocol: ICMP
    icmp: {{type: 8, code: 0}}
  - action: Allow
    protocol: ICMPv6
    icmp: {{type: 128}}
  - action: Allow
    ipVersion: 6
    source: {{nets: ["fd00::/8"], notSelector: app == 'web'}}
  - action: Pass
    protocol: 132
  egress:
  - action: Allow
    destination: {{notNets: [169.254.0.0/16]}}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {{name: ns-only, namespace: prod}}
spec:
  selector: all()
  order: 20
  ingress: [{{action: Allow, protocol: TCP, destination: {{ports: [22]}}}}]
"#
    )
}

fn ruleset(docs: &str) -> Ruleset {
    let input = FelixInput::from_documents(docs).expect("documents");
    let mut warnings = Vec::new();
    let endpoints = resolve_endpoints(&input, &mut warnings);
    let local = local_endpoints(&endpoints, Some("node1"), &mut warnings);
    let rs = compile(&input, &endpoints, &local, &AclConfig::default());
    assert!(rs.warnings.is_empty(), "{:?}", rs.warnings);
    rs
}

/// The changes tested: (what, before, after).
fn changes() -> Vec<(&'static str, String, String)> {
    let base = format!(
        "{ENDPOINTS}---\n{}",
        policy("[80, 443, \"8000:8100\", http]")
    );
    vec![
        (
            "a policy's ports",
            base.clone(),
            format!("{ENDPOINTS}---\n{}", policy("[80, 9000]")),
        ),
        (
            "a remote endpoint's label (selector sets change)",
            base.clone(),
            base.replace(
                "name: c, namespace: dev, labels: {app: client}",
                "name: c, namespace: dev, labels: {app: web}",
            ),
        ),
        (
            "an endpoint goes (chains deleted, maps changed)",
            base.clone(),
            base.replace("interfaceName: calib", "interfaceName: ''"),
        ),
        (
            "an endpoint comes",
            base.replace("interfaceName: calib", "interfaceName: ''"),
            base.clone(),
        ),
        (
            "a new selector (a new set)",
            base.clone(),
            base.replace(
                "source: {selector: app == 'client'}\n    destination",
                "source: {selector: app == 'client' || app == 'db'}\n    destination",
            ),
        ),
        (
            "an address added next to others (merged ranges)",
            base.clone(),
            base.replace(
                "ipNetworks: [10.66.2.0/26]",
                "ipNetworks: [10.66.2.0/26, 10.66.2.64/26, 10.66.1.1/32]",
            ),
        ),
    ]
}

fn list(host: &Host) -> String {
    host.run(&["nft", "list", "table", "inet", "reflex"])
        .expect("nft list")
}

#[test]
fn netlink_batches_leave_the_table_nft_scripts_leave() {
    if skip_unless(&["nft"]) {
        return;
    }
    let mut lab = Lab::new("fxnl").expect("lab");
    let by_netlink = lab.host("nl").expect("host");
    let by_nft = lab.host("nft").expect("host");
    for (what, before, after) in changes() {
        let old = ruleset(&before);
        let new = ruleset(&after);
        let update: Update = new.update_script(&old).expect("an incremental change");
        assert!(!update.is_empty(), "{what}: no change");
        let batch = nfnl::encode(&update, 1)
            .unwrap_or_else(|e| panic!("{what}: the compiler's output must translate: {e}"));
        for host in [&by_netlink, &by_nft] {
            let file = lab.write_file("old.nft", &old.script()).expect("file");
            host.run(&["nft", "-f", file.to_str().expect("path")])
                .expect("old table");
        }
        by_netlink
            .enter(move || nfnl::send(&batch))
            .expect("enter")
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let file = lab
            .write_file("update.nft", &update.script())
            .expect("file");
        by_nft
            .run(&["nft", "-f", file.to_str().expect("path")])
            .unwrap_or_else(|e| panic!("{what}: nft refused the script: {e}"));
        let (got, want) = (list(&by_netlink), list(&by_nft));
        assert_eq!(got, want, "{what}: the tables differ");
        // And the change happened at all: the table holds the new one's
        // blocks (in creation order, so compared as a map).
        let file = lab.write_file("new.nft", &new.script()).expect("file");
        by_nft
            .run(&["nft", "-f", file.to_str().expect("path")])
            .expect("new table");
        assert_eq!(
            listing_blocks(&got),
            listing_blocks(&list(&by_nft)),
            "{what}: not the new table"
        );
    }
}

#[test]
fn a_refused_batch_changes_nothing_and_says_what_was_refused() {
    if skip_unless(&["nft"]) {
        return;
    }
    let mut lab = Lab::new("fxnr").expect("lab");
    let host = lab.host("nl").expect("host");
    let (_, before, after) = changes().remove(0);
    let old = ruleset(&before);
    let file = lab.write_file("old.nft", &old.script()).expect("file");
    host.run(&["nft", "-f", file.to_str().expect("path")])
        .expect("old table");
    let listed = list(&host);
    let mut update = ruleset(&after).update_script(&old).expect("a change");
    // Deleting a chain that dispatch still names is refused by the kernel.
    update.ops.push(bgp_client::felix::acl::Op::DeleteChain(
        "from-wl-dispatch".into(),
    ));
    let batch = nfnl::encode(&update, 1).expect("encoded");
    let err = host
        .enter(move || nfnl::send(&batch))
        .expect("enter")
        .expect_err("the kernel refuses it");
    let text = err.to_string();
    assert!(text.contains("delete chain from-wl-dispatch"), "{text}");
    assert_eq!(list(&host), listed, "nothing of the batch applied");
}

#[test]
fn table_sync_takes_the_netlink_path_and_verifies_clean() {
    if skip_unless(&["nft"]) {
        return;
    }
    let mut lab = Lab::new("fxns").expect("lab");
    let host = lab.host("node").expect("host");
    let runtime = runtime_in(&host);
    let mut steps: Vec<Arc<Ruleset>> = changes()
        .into_iter()
        .flat_map(|(_, a, b)| [Arc::new(ruleset(&a)), Arc::new(ruleset(&b))])
        .collect();
    steps.dedup();
    let changes = steps.len() as u64 - 1;
    let counts = run_in(&runtime, async move {
        let mut sync = TableSync::new(Nft::default());
        for (i, rs) in steps.iter().enumerate() {
            let outcome = sync.sync_with(rs, false).await.expect("sync");
            assert_eq!(outcome, TableOutcome::Applied, "step {i}");
            // The kernel's table must pass the drift check: no repair.
            assert_eq!(
                sync.verify().await.expect("verify"),
                TableOutcome::Unchanged
            );
        }
        sync.incremental_counts()
    });
    // The first sync writes the whole table; every later one is a change.
    assert_eq!(counts, (changes, 0), "(netlink, nft) incremental changes");
}
