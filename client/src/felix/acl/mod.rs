//! Policies and profiles compiled into one nftables table, structured as
//! Felix structures its iptables chains.
//!
//! ```text
//! prerouting  (hook) -> jump from-wl-dispatch -> iifname vmap @from-wl -> goto fw-<if>
//!                       (from a workload, to the host or through it: its egress rules)
//!                       clear the accept and pass mark bits (before routing)
//! postrouting (hook) -> jump to-wl-dispatch   -> oifname vmap @to-wl   -> goto tw-<if>
//!                       (to a workload, from the host or through it: its ingress rules)
//!                       clear the accept and pass mark bits
//!
//! fw-<if> / tw-<if>:  ct state established,related accept
//!                     ct state invalid drop
//!                     clear the accept and pass mark bits
//!                     jump <chain>/<tier>      per tier with policies that apply, in tier order:
//!                                              jump pi-|po-<policy> per policy in order,
//!                                              return once one set the accept or pass bit
//!                     accept bit set: return   (allowed: on to the hook's accept)
//!                     pass bit clear: drop     (end of tier: no policy allowed or passed)
//!                     jump pri-|pro-<profile>, accept bit set: return   per profile
//!                     drop                     (nothing allowed the packet)
//! ```
//!
//! A policy's rules live once in its own chain (`pi-` ingress, `po-`
//! egress), shared by every endpoint it applies to. Allow and Pass set a
//! mark bit and return (as Felix's `0x10000` and `0x20000`); Deny drops;
//! Log logs and goes on. Rule selectors become named address sets
//! (`sel4-*`, `sel6-*`) of the matching endpoints' networks. Packets from
//! or to an interface that starts with one of the workload prefixes but is
//! not a known endpoint are dropped.
//!
//! Calico semantics kept: policies sort by order (none: last) then name;
//! a policy without `types` gets Ingress, plus Egress when it has egress
//! rules (Egress alone when it has only those); a NetworkPolicy selects
//! endpoints of its namespace, and its rule selectors see only that
//! namespace unless they have a `namespaceSelector`; a rule with nets of
//! one IP version applies to that version only; ICMP is IPv4 and ICMPv6 is
//! IPv6. Limits: tiers are ordered by name with `default` last (no Tier
//! resources); a namespace selector sees only the label
//! `projectcalico.org/name`; named ports resolve to the port numbers of
//! the selected endpoints (not per address); rules with `http`, service or
//! service-account matches are left out with a warning.

mod rule;
mod ruleset;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use reflex_datastore::model::{PolicyType, Profile, Rule};
use reflex_datastore::selector::Selector;

pub use rule::{fnv, protocol_number};
pub use ruleset::{
    AddressSet, Chain, FnvHasher, FnvMap, InterfaceMap, Op, Ruleset, Stage, Update, listing_blocks,
    net_text, quote,
};

use crate::felix::input::{Endpoint, FelixInput};
use rule::{RuleCtx, Sets, compile_rule};

/// How the table is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclConfig {
    /// The table's name, in family `inet`.
    pub table: String,
    /// Interface name prefixes of workloads: traffic of an interface with
    /// one of them that is no known endpoint is dropped.
    pub interface_prefixes: Vec<String>,
    /// The mark bit that says "allowed" (Felix's `0x10000`).
    pub mark_accept: u32,
    /// The mark bit that says "passed to the next tier" (`0x20000`).
    pub mark_pass: u32,
    /// The prefix of packets logged by Log rules.
    pub log_prefix: String,
}

impl Default for AclConfig {
    /// Table `inet reflex`, prefix `cali`, Felix's mark bits.
    fn default() -> Self {
        AclConfig {
            table: "reflex".into(),
            interface_prefixes: vec!["cali".into()],
            mark_accept: 0x10000,
            mark_pass: 0x20000,
            log_prefix: "reflex-packet: ".into(),
        }
    }
}

/// Ingress or egress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

/// A GlobalNetworkPolicy or NetworkPolicy, as the compiler needs it.
#[derive(Debug)]
struct PolicyView<'a> {
    label: String,
    chain: String,
    namespace: Option<&'a str>,
    tier: String,
    order: Option<f64>,
    name: String,
    selector: Selector,
    namespace_selector: Option<Selector>,
    ingress: Option<&'a [Rule]>,
    egress: Option<&'a [Rule]>,
}

/// Calico's default `types`: see the module documentation.
fn directions(types: &[PolicyType], ingress: &[Rule], egress: &[Rule]) -> (bool, bool) {
    if types.is_empty() {
        let e = !egress.is_empty();
        (!e || !ingress.is_empty(), e)
    } else {
        (
            types.contains(&PolicyType::Ingress),
            types.contains(&PolicyType::Egress),
        )
    }
}

/// A chain name nft accepts (letters, digits, `_ . / -`; starting with a
/// letter; at most 200 bytes, else shortened with a hash).
pub fn chain_name(prefix: &str, name: &str) -> String {
    let valid = |c: char| c.is_ascii_alphanumeric() || "_./-".contains(c);
    if prefix.len() + name.len() <= 200 && name.chars().all(valid) {
        let mut full = String::with_capacity(prefix.len() + name.len());
        full.push_str(prefix);
        full.push_str(name);
        return full;
    }
    let clean: String = name
        .chars()
        .map(|c| if valid(c) { c } else { '_' })
        .collect();
    let full = format!("{prefix}{clean}");
    let mut short: String = full.chars().take(180).collect();
    short.push_str(&format!("-{:016x}", fnv(name)));
    short
}

fn policies<'a>(input: &'a FelixInput, warnings: &mut Vec<String>) -> Vec<PolicyView<'a>> {
    let mut out = Vec::new();
    for p in &input.global_policies {
        let s = &p.spec;
        let Ok(selector) = Selector::parse(&s.selector) else {
            warnings.push(format!(
                "GlobalNetworkPolicy {}: bad selector: skipped",
                p.name()
            ));
            continue;
        };
        let namespace_selector = if s.namespace_selector.trim().is_empty() {
            None
        } else if let Ok(sel) = Selector::parse(&s.namespace_selector) {
            Some(sel)
        } else {
            warnings.push(format!(
                "GlobalNetworkPolicy {}: bad namespaceSelector: skipped",
                p.name()
            ));
            continue;
        };
        let (i, e) = directions(&s.types, &s.ingress, &s.egress);
        out.push(PolicyView {
            label: format!("GlobalNetworkPolicy {}", p.name()),
            chain: format!("gnp/{}", p.name()),
            namespace: None,
            tier: s.tier.clone(),
            order: s.order,
            name: p.name().to_string(),
            selector,
            namespace_selector,
            ingress: i.then_some(s.ingress.as_slice()),
            egress: e.then_some(s.egress.as_slice()),
        });
    }
    for p in &input.policies {
        let s = &p.spec;
        let ns = p.metadata.namespace.as_deref().unwrap_or("default");
        let Ok(selector) = Selector::parse(&s.selector) else {
            warnings.push(format!(
                "NetworkPolicy {ns}/{}: bad selector: skipped",
                p.name()
            ));
            continue;
        };
        let (i, e) = directions(&s.types, &s.ingress, &s.egress);
        out.push(PolicyView {
            label: format!("NetworkPolicy {ns}/{}", p.name()),
            chain: format!("np/{ns}/{}", p.name()),
            namespace: Some(ns),
            tier: s.tier.clone(),
            order: s.order,
            name: format!("{ns}/{}", p.name()),
            selector,
            namespace_selector: None,
            ingress: i.then_some(s.ingress.as_slice()),
            egress: e.then_some(s.egress.as_slice()),
        });
    }
    for p in &mut out {
        if p.tier.is_empty() {
            p.tier = "default".into();
        }
    }
    out.sort_by(|a, b| {
        let oa = a.order.unwrap_or(f64::INFINITY);
        let ob = b.order.unwrap_or(f64::INFINITY);
        oa.total_cmp(&ob).then_with(|| a.name.cmp(&b.name))
    });
    out
}

fn applies(policy: &PolicyView<'_>, ep: &Endpoint) -> bool {
    if let Some(ns) = policy.namespace
        && ep.namespace != ns
    {
        return false;
    }
    if let Some(ns_sel) = &policy.namespace_selector {
        let labels = BTreeMap::from([(
            crate::felix::input::NAMESPACE_NAME_LABEL.to_string(),
            ep.namespace.clone(),
        )]);
        if !ns_sel.matches(&labels) {
            return false;
        }
    }
    policy.selector.matches(&ep.labels)
}

/// Compile the rules of one policy or profile direction into a chain.
fn rules_chain(
    name: String,
    label: &str,
    direction: &str,
    rules: &[Rule],
    ctx: RuleCtx<'_>,
    sets: &mut Sets,
    warnings: &mut Vec<String>,
) -> Chain {
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let ctx = RuleCtx {
            comment: format!("{label} {direction} rule {i}"),
            ..ctx
        };
        match compile_rule(rule, &ctx, sets) {
            Ok(rules) => out.extend(rules),
            Err(why) => warnings.push(format!("{label}: {direction} rule {i} left out: {why}")),
        }
    }
    Chain {
        name,
        stage: Stage::Policy,
        hook: None,
        rules: out,
    }
}

/// Compile the table for `local` endpoints, with every endpoint of
/// `endpoints` visible to rule selectors.
pub fn compile(
    input: &FelixInput,
    endpoints: &[Arc<Endpoint>],
    local: &[&Arc<Endpoint>],
    config: &AclConfig,
) -> Ruleset {
    compile_with(input, endpoints, local, config, &mut ChainCache::default())
}

/// The per-endpoint chains of the last compile, by name, with what they
/// were built from: an endpoint whose interface, key, policies (per tier)
/// and profiles did not change gets the same chains (shared, not rebuilt),
/// so one change costs the building of the chains it touches, and the diff
/// of two rulesets skips shared chains by pointer.
#[derive(Debug, Default)]
pub struct ChainCache {
    config: Option<AclConfig>,
    /// What decides the plans: see [`applicability`].
    applicability: String,
    endpoints: FnvMap<String, CachedEndpoint>,
}

#[derive(Debug)]
struct CachedEndpoint {
    /// The endpoint it was built for (held, so the pointer stays its own).
    endpoint: Arc<Endpoint>,
    /// Which policies and profiles it jumps to.
    plan: Plan,
    /// What the chains were built from.
    signature: String,
    /// The endpoint chain, then its tier chains.
    chains: Vec<Arc<Chain>>,
}

/// What one endpoint jumps to in one direction: the policies that apply
/// to it (indices into the ordered policies) and its profiles, in order
/// (a profile that does not exist: the warning).
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    policies: Vec<usize>,
    profiles: Vec<Result<(String, String), String>>,
}

/// The policy and profile chains endpoints jump to, each built once per
/// compile, when the first plan that needs it is seen (so chains come in
/// the order of first use).
struct Targets<'p, 'a> {
    policies: &'p [PolicyView<'a>],
    /// Each policy's chain names, ingress and egress.
    policy_names: Vec<[String; 2]>,
    policy_built: Vec<[bool; 2]>,
    profiles: &'p BTreeMap<&'a str, &'a Profile>,
    profile_built: FnvMap<String, ()>,
    endpoints: &'p [Arc<Endpoint>],
    config: &'p AclConfig,
}

impl<'p, 'a> Targets<'p, 'a> {
    fn new(
        policies: &'p [PolicyView<'a>],
        profiles: &'p BTreeMap<&'a str, &'a Profile>,
        endpoints: &'p [Arc<Endpoint>],
        config: &'p AclConfig,
    ) -> Self {
        Targets {
            policies,
            policy_names: policies
                .iter()
                .map(|p| [chain_name("pi-", &p.chain), chain_name("po-", &p.chain)])
                .collect(),
            policy_built: vec![[false; 2]; policies.len()],
            profiles,
            profile_built: FnvMap::default(),
            endpoints,
            config,
        }
    }

    fn ctx(&self, namespace: Option<&'p str>) -> RuleCtx<'p> {
        RuleCtx {
            endpoints: self.endpoints,
            namespace,
            config: self.config,
            comment: String::new(),
        }
    }

    /// Build what `plan` jumps to in `direction` and is not built yet;
    /// a missing profile's warning is given again.
    fn build(
        &mut self,
        plan: &Plan,
        direction: Direction,
        chains: &mut Vec<Arc<Chain>>,
        sets: &mut Sets,
        warnings: &mut Vec<String>,
    ) {
        let (d, dir) = match direction {
            Direction::Ingress => (0, "ingress"),
            Direction::Egress => (1, "egress"),
        };
        for &i in &plan.policies {
            if std::mem::replace(&mut self.policy_built[i][d], true) {
                continue;
            }
            let p = &self.policies[i];
            let rules = match direction {
                Direction::Ingress => p.ingress,
                Direction::Egress => p.egress,
            };
            chains.push(Arc::new(rules_chain(
                self.policy_names[i][d].clone(),
                &p.label,
                dir,
                rules.unwrap_or_default(),
                self.ctx(p.namespace),
                sets,
                warnings,
            )));
        }
        for profile in &plan.profiles {
            let (name, chain) = match profile {
                Ok(found) => found,
                Err(missing) => {
                    warnings.push(missing.clone());
                    continue;
                }
            };
            if self.profile_built.contains_key(chain) {
                continue;
            }
            self.profile_built.insert(chain.clone(), ());
            let profile = self.profiles[name.as_str()];
            let rules = match direction {
                Direction::Ingress => &profile.spec.ingress,
                Direction::Egress => &profile.spec.egress,
            };
            // Profiles are global: their selectors see every namespace.
            chains.push(Arc::new(rules_chain(
                chain.clone(),
                &format!("Profile {name}"),
                dir,
                rules,
                self.ctx(None),
                sets,
                warnings,
            )));
        }
    }
}

/// The plan of `ep` in `direction`: the selectors evaluated.
fn plan(
    ep: &Endpoint,
    direction: Direction,
    policies: &[PolicyView<'_>],
    profiles: &BTreeMap<&str, &Profile>,
    prof_prefix: &str,
) -> Plan {
    let policies = policies
        .iter()
        .enumerate()
        .filter(|(_, p)| match direction {
            Direction::Ingress => p.ingress.is_some(),
            Direction::Egress => p.egress.is_some(),
        })
        .filter(|(_, p)| applies(p, ep))
        .map(|(i, _)| i)
        .collect();
    let profiles = ep
        .profiles
        .iter()
        .map(|name| {
            if profiles.contains_key(name.as_str()) {
                Ok((name.clone(), chain_name(prof_prefix, name)))
            } else {
                Err(format!("endpoint {}: profile {name} not found", ep.key))
            }
        })
        .collect();
    Plan { policies, profiles }
}

/// Everything a plan depends on besides the endpoint: each policy's
/// chain, tier, scope, selectors and directions, in order, and which
/// profiles exist.
fn applicability(policies: &[PolicyView<'_>], profiles: &BTreeMap<&str, &Profile>) -> String {
    let mut out = String::new();
    for p in policies {
        let _ = writeln!(
            out,
            "{}\0{}\0{:?}\0{}\0{}\0{}{}",
            p.chain,
            p.tier,
            p.namespace,
            p.selector,
            p.namespace_selector
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            u8::from(p.ingress.is_some()),
            u8::from(p.egress.is_some()),
        );
    }
    for name in profiles.keys() {
        out.push_str(name);
        out.push('\n');
    }
    out
}

/// What an endpoint's chains are built from: its key and interface, its
/// tiers with their policy chains, its profiles.
fn chain_signature(
    ep: &Endpoint,
    tiers: &BTreeMap<(bool, &str), Vec<&str>>,
    profiles: &[&(String, String)],
) -> String {
    let mut signature = format!("{}\0{}\0", ep.key, ep.interface);
    for ((_, tier), names) in tiers {
        signature.push_str(tier);
        for name in names {
            signature.push('\0');
            signature.push_str(name);
        }
        signature.push('\n');
    }
    for (name, _) in profiles {
        signature.push_str(name);
        signature.push('\n');
    }
    signature
}

/// [`compile`], reusing (and refreshing) `cache`.
pub fn compile_with(
    input: &FelixInput,
    endpoints: &[Arc<Endpoint>],
    local: &[&Arc<Endpoint>],
    config: &AclConfig,
    cache: &mut ChainCache,
) -> Ruleset {
    if cache.config.as_ref() != Some(config) {
        cache.config = Some(config.clone());
        cache.endpoints.clear();
    }
    let mut previous = std::mem::take(&mut cache.endpoints);
    let mut warnings = Vec::new();
    let mut sets = Sets::new();
    let mut chains: Vec<Arc<Chain>> = Vec::new();
    let policies = policies(input, &mut warnings);
    let profiles: BTreeMap<&str, _> = input.profiles.iter().map(|p| (p.name(), p)).collect();
    let mut targets = Targets::new(&policies, &profiles, endpoints, config);
    let both = config.mark_accept | config.mark_pass;
    let mut from_map = Vec::new();
    let mut to_map = Vec::new();
    // An endpoint that is the same `Arc` as at the last compile, with the
    // same policy selectors and profiles, gets the same plan: no selector
    // is evaluated for it.
    let applicability = applicability(&policies, &profiles);
    let plans_valid = cache.applicability == applicability;
    cache.applicability = applicability;

    for ep in local {
        for direction in [Direction::Ingress, Direction::Egress] {
            let (ep_prefix, prof_prefix, dir, d) = match direction {
                Direction::Ingress => ("tw-", "pri-", "ingress", 0),
                Direction::Egress => ("fw-", "pro-", "egress", 1),
            };
            let ep_chain = chain_name(ep_prefix, &ep.interface);
            let verdict = format!("goto {ep_chain}");
            match direction {
                Direction::Ingress => to_map.push((ep.interface.clone(), verdict)),
                Direction::Egress => from_map.push((ep.interface.clone(), verdict)),
            }
            let mut cached = previous.remove(&ep_chain);
            if let Some(c) = cached.take_if(|c| plans_valid && Arc::ptr_eq(&c.endpoint, ep)) {
                targets.build(&c.plan, direction, &mut chains, &mut sets, &mut warnings);
                chains.extend(c.chains.iter().cloned());
                cache.endpoints.insert(ep_chain, c);
                continue;
            }
            let plan = plan(ep, direction, &policies, &profiles, prof_prefix);
            targets.build(&plan, direction, &mut chains, &mut sets, &mut warnings);
            // Tiers in order, each with the policies that apply here.
            let mut tiers: BTreeMap<(bool, &str), Vec<&str>> = BTreeMap::new();
            for &i in &plan.policies {
                let p = &policies[i];
                tiers
                    .entry((p.tier == "default", p.tier.as_str()))
                    .or_default()
                    .push(&targets.policy_names[i][d]);
            }
            let found_profiles: Vec<&(String, String)> = plan
                .profiles
                .iter()
                .filter_map(|p| p.as_ref().ok())
                .collect();
            // Another endpoint (or plan) whose chains would be the same:
            // last time's chains.
            let signature = chain_signature(ep, &tiers, &found_profiles);
            if let Some(mut c) = cached.take_if(|c| c.signature == signature) {
                chains.extend(c.chains.iter().cloned());
                c.endpoint = Arc::clone(ep);
                c.plan = plan;
                cache.endpoints.insert(ep_chain, c);
                continue;
            }
            let mut rules = vec![
                "ct state established,related accept".to_string(),
                "ct state invalid drop".to_string(),
                format!("meta mark set meta mark & {:#x}", !both),
            ];
            let mut built = Vec::new();
            for ((_, tier), names) in tiers {
                let tier_chain = chain_name(&format!("{ep_chain}/"), tier);
                let mut tier_rules = Vec::new();
                for name in names {
                    tier_rules.push(format!("jump {name}"));
                    tier_rules.push(format!("meta mark & {both:#x} != 0 return"));
                }
                built.push(Arc::new(Chain {
                    name: tier_chain.clone(),
                    stage: Stage::Tier,
                    hook: None,
                    rules: tier_rules,
                }));
                let accept = config.mark_accept;
                let pass = config.mark_pass;
                rules.push(format!("jump {tier_chain}"));
                rules.push(format!(
                    "meta mark & {accept:#x} == {accept:#x} return comment \"allowed by tier {tier}\""
                ));
                rules.push(format!(
                    "meta mark & {pass:#x} == 0 drop comment \"end of tier {tier}: no policy allowed or passed\""
                ));
                rules.push(format!("meta mark set meta mark & {:#x}", !pass));
            }
            for (name, chain) in found_profiles {
                let accept = config.mark_accept;
                rules.push(format!("jump {chain}"));
                rules.push(format!(
                    "meta mark & {accept:#x} == {accept:#x} return comment \"allowed by profile {name}\""
                ));
            }
            rules.push(format!(
                "drop comment \"{} {}: nothing allowed the packet\"",
                ep.key.replace('"', "_"),
                dir
            ));
            built.insert(
                0,
                Arc::new(Chain {
                    name: ep_chain.clone(),
                    stage: Stage::Endpoint,
                    hook: None,
                    rules,
                }),
            );
            chains.extend(built.iter().cloned());
            cache.endpoints.insert(
                ep_chain,
                CachedEndpoint {
                    endpoint: Arc::clone(ep),
                    plan,
                    signature,
                    chains: built,
                },
            );
        }
    }

    let unknown = |dir: &str| -> Vec<String> {
        config
            .interface_prefixes
            .iter()
            .map(|p| {
                format!(
                    "{dir}name {} drop comment \"unknown workload interface\"",
                    ruleset::quote(&format!("{p}*"))
                )
            })
            .collect()
    };
    let mut from_rules = vec!["iifname vmap @from-wl".to_string()];
    from_rules.extend(unknown("iif"));
    let mut to_rules = vec!["oifname vmap @to-wl".to_string()];
    to_rules.extend(unknown("oif"));
    let dispatch = |name: &str, rules| Chain {
        name: name.into(),
        stage: Stage::Dispatch,
        hook: None,
        rules,
    };
    chains.push(Arc::new(dispatch("from-wl-dispatch", from_rules)));
    chains.push(Arc::new(dispatch("to-wl-dispatch", to_rules)));
    let base = |hook: &'static str, rules: Vec<&str>| {
        Arc::new(Chain {
            name: hook.into(),
            stage: Stage::Base,
            hook: Some(hook),
            rules: rules.into_iter().map(String::from).collect(),
        })
    };
    // Egress policy where packets from workloads enter (to the host or on
    // through it), ingress where packets to workloads leave: one pass over
    // each endpoint's chains per packet, and the kernel validates each
    // endpoint chain once per change (see docs/BENCHMARKS.md, Felix).
    // Our mark bits are cleared before routing sees the packet.
    let clear = format!("meta mark set meta mark & {:#x}", !both);
    chains.push(base(
        "prerouting",
        vec![
            "icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept",
            "jump from-wl-dispatch",
            &clear,
        ],
    ));
    chains.push(base(
        "postrouting",
        vec![
            "icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept",
            "jump to-wl-dispatch",
            &clear,
        ],
    ));
    Ruleset {
        table: config.table.clone(),
        sets: sets.into_values().collect(),
        maps: vec![
            InterfaceMap {
                name: "from-wl".into(),
                elements: from_map,
            },
            InterfaceMap {
                name: "to-wl".into(),
                elements: to_map,
            },
        ],
        chains,
        endpoints: local.len(),
        warnings,
    }
}
