//! The compiler: policies in, rules out.

use super::*;
use crate::felix::input::{EndpointCache, FelixInput, local_endpoints, resolve_endpoints};

fn compile_yaml(yaml: &str) -> Ruleset {
    let input = FelixInput::from_documents(yaml).unwrap();
    let mut warnings = Vec::new();
    let endpoints = resolve_endpoints(&input, &mut warnings);
    let local = local_endpoints(&endpoints, Some("node1"), &mut warnings);
    assert!(warnings.is_empty(), "{warnings:?}");
    compile(&input, &endpoints, &local, &AclConfig::default())
}

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
  ipNetworks: [10.66.1.3/32]
  ports: [{name: http, protocol: TCP, port: 8080}]
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: c, namespace: dev, labels: {app: client}}
spec: {node: node2, interfaceName: calic, ipNetworks: [10.66.2.2/32]}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: kns.prod}
"#;

fn with(extra: &str) -> String {
    format!("{ENDPOINTS}---\n{extra}")
}

fn rules<'a>(rs: &'a Ruleset, chain: &str) -> &'a [String] {
    &rs.chain(chain)
        .unwrap_or_else(|| panic!("no chain {chain}: {:#?}", rs.chains))
        .rules
}

#[test]
fn allow_tcp_80_from_a_selector() {
    let rs = compile_yaml(&with(
        r#"
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  selector: app == 'web'
  order: 10
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: app == 'client'}
    destination: {ports: [80]}
"#,
    ));
    assert!(rs.warnings.is_empty(), "{:?}", rs.warnings);
    assert_eq!(rs.endpoints, 2, "c is on another node");
    let policy = rules(&rs, "pi-gnp/web");
    assert_eq!(policy.len(), 2, "one rule per IP version: {policy:?}");
    let v4 = &policy[0];
    assert!(
        v4.starts_with("meta nfproto ipv4 meta l4proto 6 ip saddr @sel4-"),
        "{v4}"
    );
    assert!(
        v4.contains("th dport 80 meta mark set meta mark | 0x10000 return"),
        "{v4}"
    );
    assert!(v4.ends_with("comment \"GlobalNetworkPolicy web ingress rule 0\""));
    // The set holds every client's address, of any node and namespace.
    let set_name = v4.split('@').nth(1).unwrap().split(' ').next().unwrap();
    let set = rs.set(set_name).unwrap();
    let got: Vec<String> = set.elements.iter().map(|n| n.to_string()).collect();
    assert_eq!(got, ["10.66.1.2/32", "10.66.2.2/32"]);
    assert!(policy[1].contains("ip6 saddr @sel6-"));

    // b's ingress: conntrack first, the tier, end-of-tier drop, default drop.
    let tw = rules(&rs, "tw-calib");
    assert_eq!(tw[0], "ct state established,related accept");
    assert_eq!(tw[1], "ct state invalid drop");
    assert_eq!(tw[3], "jump tw-calib/default");
    assert!(tw[4].starts_with("meta mark & 0x10000 == 0x10000 return"));
    assert!(tw[5].starts_with("meta mark & 0x20000 == 0 drop"));
    assert!(tw.last().unwrap().starts_with("drop comment"));
    assert_eq!(
        rules(&rs, "tw-calib/default"),
        ["jump pi-gnp/web", "meta mark & 0x30000 != 0 return"]
    );
    // a is not selected: no tier, its (empty) profile, then default drop.
    assert!(rs.chain("tw-calia/default").is_none());
    // Dispatch.
    let to = rs.maps.iter().find(|m| m.name == "to-wl").unwrap();
    assert_eq!(
        to.elements,
        [
            ("calia".to_string(), "goto tw-calia".to_string()),
            ("calib".to_string(), "goto tw-calib".to_string())
        ]
    );
    let script = rs.script();
    assert!(
        script.starts_with("table inet reflex {}\ndelete table inet reflex\ntable inet reflex {")
    );
    assert!(script.contains("type filter hook prerouting priority filter; policy accept;"));
    assert!(script.contains("type filter hook postrouting priority filter; policy accept;"));
    assert!(!script.contains("hook forward") && !script.contains("hook input"));
    assert!(script.contains("iifname \"cali*\" drop"));
}

#[test]
fn policies_run_in_order_then_profiles() {
    let rs = compile_yaml(&with(
        r#"
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: zz-last}
spec: {selector: all(), ingress: [{action: Allow}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: b-second}
spec: {selector: all(), order: 100, ingress: [{action: Pass}]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: a-second, namespace: prod}
spec: {selector: all(), order: 100, ingress: [{action: Log}, {action: Deny}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: first}
spec: {selector: all(), order: 1, egress: [{action: Deny, protocol: UDP}]}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: kns.prod}
spec: {ingress: [{action: Allow}], egress: [{action: Allow}]}
"#,
    ));
    assert_eq!(
        rules(&rs, "tw-calia/default")
            .iter()
            .filter(|r| r.starts_with("jump"))
            .collect::<Vec<_>>(),
        [
            "jump pi-gnp/b-second",
            "jump pi-np/prod/a-second",
            "jump pi-gnp/zz-last"
        ],
        "by order, then name (`prod/a-second` for the NetworkPolicy), none last; \
         `first` has egress rules only, so it is Egress only"
    );
    assert_eq!(
        rules(&rs, "fw-calia/default"),
        ["jump po-gnp/first", "meta mark & 0x30000 != 0 return"]
    );
    assert_eq!(
        rules(&rs, "po-gnp/first")[0],
        "meta l4proto 17 drop comment \"GlobalNetworkPolicy first egress rule 0\""
    );
    let np = rules(&rs, "pi-np/prod/a-second");
    assert!(
        np[0].starts_with("log prefix \"reflex-packet: \" comment"),
        "{}",
        np[0]
    );
    assert!(np[1].starts_with("drop comment"));
    assert!(
        rules(&rs, "pi-gnp/b-second")[0].starts_with("meta mark set meta mark | 0x20000 return")
    );
    // Profiles after the tiers, for a only (b has none).
    let tw = rules(&rs, "tw-calia");
    let tier = tw
        .iter()
        .position(|r| r == "jump tw-calia/default")
        .unwrap();
    let profile = tw.iter().position(|r| r == "jump pri-kns.prod").unwrap();
    assert!(tier < profile);
    assert!(!rules(&rs, "tw-calib").iter().any(|r| r.contains("pri-")));
    assert_eq!(
        rules(&rs, "pri-kns.prod")[0],
        "meta mark set meta mark | 0x10000 return comment \"Profile kns.prod ingress rule 0\""
    );
}

#[test]
fn networkpolicy_selectors_stay_in_their_namespace() {
    let rs = compile_yaml(&with(
        r#"
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: np, namespace: prod}
spec:
  selector: app == 'web'
  ingress:
  - {action: Allow, source: {selector: app == 'client'}}
  - {action: Allow, source: {selector: app == 'client', namespaceSelector: "projectcalico.org/name == 'dev'"}}
"#,
    ));
    let chain = rules(&rs, "pi-np/prod/np");
    let set_of = |rule: &str| {
        let name = rule
            .split('@')
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .to_string();
        rs.set(&name)
            .unwrap()
            .elements
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(set_of(&chain[0]), ["10.66.1.2/32"], "prod's client only");
    assert_eq!(set_of(&chain[2]), ["10.66.2.2/32"], "dev's client");
    // The policy selects b (prod), and a has no ingress tier.
    assert!(rs.chain("tw-calib/default").is_some());
    assert!(rs.chain("tw-calia/default").is_none());
}

#[test]
fn nets_ports_and_icmp() {
    let rs = compile_yaml(&with(
        r#"
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p}
spec:
  selector: all()
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {nets: [10.0.0.0/8, 10.1.2.0/24, 192.168.1.7/24], notNets: ["fd00::/8"]}
    destination: {ports: [80, "8000:8080", "8070:9000", http], notPorts: [8443]}
  - {action: Allow, protocol: ICMP, icmp: {type: 8, code: 0}}
  - {action: Deny, protocol: ICMPv6, notICMP: {type: 128, code: 0}}
  - {action: Allow, protocol: 132, notProtocol: 6, ipVersion: 6}
  - {action: Deny, source: {nets: ["fd00::/64"]}}
  egress:
  - {action: Allow, protocol: UDP, destination: {notNets: [10.0.0.0/8], ports: [53]}}
  - {action: Allow, protocol: TCP, destination: {ports: [nosuchname]}}
"#,
    ));
    assert!(rs.warnings.is_empty(), "{:?}", rs.warnings);
    let r = rules(&rs, "pi-gnp/p");
    assert_eq!(
        r[0],
        "meta nfproto ipv4 meta l4proto 6 ip saddr { 10.0.0.0/8, 192.168.1.0/24 } \
         th dport { 80, 8000-9000 } th dport != 8443 \
         meta mark set meta mark | 0x10000 return comment \"GlobalNetworkPolicy p ingress rule 0\"",
        "nets merged, host bits cleared, a v4-only rule, http (8080) inside the range"
    );
    assert_eq!(r.len(), 5, "{r:#?}");
    assert!(r[1].starts_with("meta nfproto ipv4 meta l4proto 1 icmp type 8 icmp code 0 meta mark"));
    assert!(r[2].starts_with(
        "meta nfproto ipv6 meta l4proto 58 icmpv6 type . icmpv6 code != { 128 . 0 } drop"
    ));
    assert!(r[3].starts_with("meta nfproto ipv6 meta l4proto 132 meta l4proto != 6 meta mark"));
    assert!(r[4].starts_with("meta nfproto ipv6 ip6 saddr fd00::/64 drop"));
    let e = rules(&rs, "po-gnp/p");
    assert_eq!(
        e.len(),
        2,
        "both versions; the unknown named port matches nothing: {e:#?}"
    );
    assert!(e[0].contains("ip daddr != 10.0.0.0/8 th dport 53"));
    assert!(e[1].starts_with("meta nfproto ipv6 meta l4proto 17 th dport 53"));
}

#[test]
fn what_cannot_be_enforced_is_left_out_with_a_warning() {
    let rs = compile_yaml(&with(
        r#"
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: bad}
spec:
  selector: all()
  ingress:
  - {action: Allow, destination: {ports: [80]}}
  - {action: Allow, icmp: {type: 8}}
  - {action: Allow, source: {serviceAccounts: {names: [x]}}}
  - {action: Allow, protocol: TCP, source: {selector: "app = 'x'"}}
  - {action: Deny}
"#,
    ));
    assert_eq!(rs.warnings.len(), 4, "{:#?}", rs.warnings);
    assert!(rs.warnings[0].contains("ports need protocol"));
    assert_eq!(rules(&rs, "pi-gnp/bad").len(), 1);
}

#[test]
fn no_local_endpoint_means_no_table() {
    let input = FelixInput::from_documents(ENDPOINTS).unwrap();
    let mut warnings = Vec::new();
    let endpoints = resolve_endpoints(&input, &mut warnings);
    let local = local_endpoints(&endpoints, Some("node9"), &mut warnings);
    let rs = compile(&input, &endpoints, &local, &AclConfig::default());
    assert_eq!(rs.endpoints, 0);
    assert!(rs.maps.iter().all(|m| m.elements.is_empty()));
}

#[test]
fn chain_names_nft_accepts() {
    assert_eq!(chain_name("pi-", "gnp/a.b-c"), "pi-gnp/a.b-c");
    let odd = chain_name("pi-", "gnp/a b:c");
    assert!(odd.starts_with("pi-gnp/a_b_c-"), "{odd}");
    let long = chain_name("pi-", &"x".repeat(300));
    assert!(long.len() < 210);
}

#[test]
fn an_update_touches_only_what_changed() {
    let policy = r#"
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  selector: app == 'web'
  ingress: [{action: Allow, protocol: TCP, source: {selector: app == 'client'}}]
"#;
    let old = compile_yaml(&with(policy));
    assert_eq!(
        old.update_script(&old).unwrap().script(),
        "",
        "no change, no commands"
    );
    // b goes: its chains and map entries go; a's stay untouched.
    let without_b = with(policy).replace("interfaceName: calib", "interfaceName: ''");
    let new = compile_yaml(&without_b);
    let update = new.update_script(&old).unwrap();
    let s = &update.script();
    assert!(
        !s.contains("reflex tw-calia") && !s.contains("reflex fw-calia"),
        "{s}"
    );
    assert!(s.contains("flush map inet reflex to-wl\nadd element inet reflex to-wl { \"calia\" : goto tw-calia }"), "{s}");
    let flush = s.find("flush chain inet reflex tw-calib\n").unwrap();
    let delete = s.find("delete chain inet reflex tw-calib\n").unwrap();
    let map = s.find("flush map inet reflex to-wl").unwrap();
    assert!(
        map < flush && flush < delete,
        "references go before the chain: {s}"
    );
    assert!(
        s.contains("delete chain inet reflex pi-gnp/web"),
        "no endpoint uses it: {s}"
    );
    assert!(
        update
            .deleted
            .contains(&"chain tw-calib/default".to_string())
    );
    assert_eq!(update.changed, ["map from-wl", "map to-wl"]);
    // And back: b's chains are declared before anything jumps to them.
    let back = old.update_script(&new).unwrap().script();
    let declare = back.find("add chain inet reflex tw-calib\n").unwrap();
    let jump = back.find("goto tw-calib").unwrap();
    assert!(declare < jump, "{back}");
    assert!(back.contains("add set inet reflex sel4-"), "{back}");
}

#[test]
fn listings_split_into_blocks() {
    let listing = "table inet reflex {\n\tset s {\n\t\ttype ipv4_addr\n\t}\n\n\tchain c {\n\t\tdrop\n\t}\n}\n";
    let blocks = listing_blocks(listing);
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks["chain c"], "\tchain c {\n\t\tdrop\n\t}\n");
    assert_eq!(blocks["set s"], "\tset s {\n\t\ttype ipv4_addr\n\t}\n");
}

#[test]
fn a_cached_compile_equals_a_fresh_one_and_shares_unchanged_chains() {
    let policy = r#"
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  selector: app == 'web'
  ingress: [{action: Allow, protocol: TCP, source: {selector: app == 'client'}, destination: {ports: [80]}}]
"#;
    let compile_cached = |yaml: &str, cache: &mut ChainCache| {
        let input = FelixInput::from_documents(yaml).unwrap();
        let mut warnings = Vec::new();
        let endpoints = resolve_endpoints(&input, &mut warnings);
        let local = local_endpoints(&endpoints, Some("node1"), &mut warnings);
        compile_with(&input, &endpoints, &local, &AclConfig::default(), cache)
    };
    let mut cache = ChainCache::default();
    let steps = [
        with(policy),
        // a becomes a web server: its chains change, b's stay.
        with(policy).replace(
            "labels: {app: client}}\nspec: {node: node1",
            "labels: {app: web}}\nspec: {node: node1",
        ),
        // a profile is dropped from a.
        with(policy).replace("profiles: [kns.prod]", "profiles: []"),
        // the policy goes: every tier chain goes.
        ENDPOINTS.to_string(),
        with(policy),
    ];
    let mut previous: Option<Ruleset> = None;
    for (i, yaml) in steps.iter().enumerate() {
        let cached = compile_cached(yaml, &mut cache);
        assert_eq!(
            cached,
            compile_yaml(yaml),
            "step {i}: cached differs from fresh"
        );
        if let Some(prev) = &previous {
            let shared = |name: &str| {
                let find = |rs: &Ruleset| rs.chains.iter().find(|c| c.name == name).cloned();
                match (find(prev), find(&cached)) {
                    (Some(a), Some(b)) => std::sync::Arc::ptr_eq(&a, &b),
                    _ => false,
                }
            };
            if i == 1 {
                assert!(
                    shared("tw-calib") && shared("fw-calib"),
                    "b unchanged: shared"
                );
                assert!(!shared("tw-calia"), "a changed: rebuilt");
            }
        }
        previous = Some(cached);
    }
    // Another configuration empties the cache.
    let other = AclConfig {
        mark_accept: 0x40000,
        ..AclConfig::default()
    };
    let input = FelixInput::from_documents(&steps[0]).unwrap();
    let mut warnings = Vec::new();
    let endpoints = resolve_endpoints(&input, &mut warnings);
    let local = local_endpoints(&endpoints, Some("node1"), &mut warnings);
    let fresh = compile(&input, &endpoints, &local, &other);
    assert_eq!(
        compile_with(&input, &endpoints, &local, &other, &mut cache),
        fresh
    );
}

#[test]
fn unchanged_endpoints_keep_their_plans_only_while_selectors_and_profiles_stay() {
    let policy = r#"
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  selector: app == 'web'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]
"#;
    let other = r#"
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: all}
spec:
  selector: all()
  order: 1
  egress: [{action: Deny, protocol: UDP}]
"#;
    let no_profile = with(policy).replace(
        "---\napiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: kns.prod}\n",
        "",
    );
    assert!(!no_profile.contains("kind: Profile"));
    let steps = [
        with(policy),
        // Only the policy's rules: plans stay, b's chains are shared.
        with(&policy.replace("ports: [80]", "ports: [81]")),
        // The selector: a now gets the policy, b no longer.
        with(&policy.replace("app == 'web'", "app == 'client'")),
        // The profile goes: a's jump to it goes, with a warning.
        no_profile,
        // Another policy, for every endpoint.
        format!("{}{other}", with(policy)),
        with(policy),
    ];
    let (mut endpoint_cache, mut cache) = (EndpointCache::default(), ChainCache::default());
    let mut first_b: Option<Arc<Endpoint>> = None;
    let mut last_endpoints: Option<Vec<Arc<Endpoint>>> = None;
    let mut previous: Option<Ruleset> = None;
    let mut previous_fresh: Option<Ruleset> = None;
    for (i, yaml) in steps.iter().enumerate() {
        let input = FelixInput::from_documents(yaml).unwrap();
        let mut warnings = Vec::new();
        // Without the profile (it gave no labels) the endpoints resolve
        // as before: the last ones are used, so that only the compiler's
        // own check can see that the profile went.
        let endpoints = match (i, &last_endpoints) {
            (3, Some(last)) => last.clone(),
            _ => endpoint_cache.resolve(&input, &mut warnings),
        };
        let local = local_endpoints(&endpoints, Some("node1"), &mut warnings);
        let cached = compile_with(
            &input,
            &endpoints,
            &local,
            &AclConfig::default(),
            &mut cache,
        );

        let fresh_endpoints = resolve_endpoints(&input, &mut Vec::new());
        let fresh_local = local_endpoints(&fresh_endpoints, Some("node1"), &mut Vec::new());
        let fresh = compile(
            &input,
            &fresh_endpoints,
            &fresh_local,
            &AclConfig::default(),
        );
        assert_eq!(cached, fresh, "step {i}: cached differs from fresh");
        // The difference from the last step is the same whether the diff
        // sees shared chains (by pointer) or fresh ones (by content).
        if let (Some(prev), Some(prev_fresh)) = (&previous, &previous_fresh) {
            let by_pointer = cached.update_script(prev).unwrap().script();
            let by_content = fresh.update_script(prev_fresh).unwrap().script();
            assert_eq!(by_pointer, by_content, "step {i}");
            assert!(!by_pointer.is_empty(), "step {i}: a change");
        }
        previous_fresh = Some(fresh);

        // The endpoints themselves never changed: the same Arcs throughout.
        let b = endpoints
            .iter()
            .find(|e| e.key == "prod/b")
            .unwrap()
            .clone();
        assert!(
            Arc::ptr_eq(first_b.get_or_insert(b.clone()), &b),
            "step {i}"
        );
        if i == 1 {
            let prev = previous.as_ref().unwrap();
            let find = |rs: &Ruleset| rs.chains.iter().find(|c| c.name == "tw-calib").cloned();
            assert!(Arc::ptr_eq(&find(prev).unwrap(), &find(&cached).unwrap()));
            assert!(rules(&cached, "pi-gnp/web")[0].contains("81"));
        }
        if i == 2 {
            assert!(rules(&cached, "tw-calia/default")[0].contains("jump pi-gnp/web"));
            assert!(cached.chain("tw-calib/default").is_none());
        }
        if i == 3 {
            assert!(
                cached
                    .warnings
                    .iter()
                    .any(|w| w.contains("profile kns.prod not found"))
            );
            assert!(
                !rules(&cached, "tw-calia")
                    .iter()
                    .any(|r| r.contains("pri-kns.prod"))
            );
        }
        previous = Some(cached);
        last_endpoints = Some(endpoints);
    }
}

#[test]
fn set_and_chain_name_hashes_stay_fnv_1a() {
    // Names in the kernel's table derive from these: they must not change.
    assert_eq!(fnv(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv("a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv("foobar"), 0x85944171f73967e8);
}
