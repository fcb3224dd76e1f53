//! Semantic checks of a configuration that parsed: references, ranges the
//! RFCs fix, duplicates, and warnings about setups known to misbehave.
//!
//! [`validate`] only records [`FieldPath`]s; [`super::parse`] turns them
//! into lines and columns.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

use super::errors::{Diagnostic, FieldPath, Problem};
use super::schema::{AddPathSetting, ConfigFile, DatastoreType, Family, PeerSettings, Template};

/// Largest restart time the capability can carry (12 bits, RFC 4724 section 3).
pub const MAX_RESTART_TIME: u16 = 4095;

/// Check a parsed file; errors and warnings, in file order.
pub fn validate(file: &ConfigFile) -> Vec<Diagnostic> {
    let mut v = Validator {
        file,
        out: Vec::new(),
        templates: HashMap::new(),
        used_templates: BTreeSet::new(),
        used_policies: BTreeSet::new(),
        used_clusters: BTreeSet::new(),
    };
    v.global();
    v.clusters();
    v.templates();
    v.policies();
    v.neighbors();
    v.dynamic();
    v.datastore();
    v.usage();
    v.out
}

struct Validator<'a> {
    file: &'a ConfigFile,
    out: Vec<Diagnostic>,
    templates: HashMap<&'a str, &'a Template>,
    used_templates: BTreeSet<String>,
    used_policies: BTreeSet<String>,
    used_clusters: BTreeSet<Ipv4Addr>,
}

fn root() -> FieldPath {
    FieldPath::root()
}

impl<'a> Validator<'a> {
    fn push(&mut self, path: FieldPath, problem: Problem) {
        self.out.push(Diagnostic::new(path, problem));
    }

    fn global(&mut self) {
        let global = &self.file.global;
        let path = root().key("global");
        if global.asn == 0 {
            self.push(path.key("asn"), Problem::AsnZero);
        }
        if global.router_id == Some(Ipv4Addr::UNSPECIFIED) {
            self.push(path.key("router_id"), Problem::UnspecifiedId);
        }
        if global.cluster_id == Some(Ipv4Addr::UNSPECIFIED) {
            self.push(path.key("cluster_id"), Problem::UnspecifiedId);
        }
        if let Some(default) = global.cluster_id.or(global.router_id) {
            self.used_clusters.insert(default);
        }
        let api = self.file.api.listen;
        if !api.ip().is_loopback() {
            self.push(
                root().key("api").key("listen"),
                Problem::ApiNotLoopback(api),
            );
        }
        let level = &self.file.logging.level;
        if let Err(error) = tracing_subscriber::EnvFilter::try_new(level) {
            self.push(
                root().key("logging").key("level"),
                Problem::LogLevel {
                    level: level.clone(),
                    message: error.to_string(),
                },
            );
        }
    }

    fn clusters(&mut self) {
        let mut seen: HashMap<Ipv4Addr, FieldPath> = HashMap::new();
        for (i, cluster) in self.file.cluster.iter().enumerate() {
            let path = root().key("cluster").index(i);
            if cluster.id == Ipv4Addr::UNSPECIFIED {
                self.push(path.key("id"), Problem::UnspecifiedId);
            }
            if let Some(first) = seen.get(&cluster.id) {
                let problem = Problem::DuplicateCluster {
                    id: cluster.id,
                    first: first.clone(),
                };
                self.push(path.key("id"), problem);
            } else {
                seen.insert(cluster.id, path);
            }
        }
    }

    fn templates(&mut self) {
        let mut seen: HashMap<&str, FieldPath> = HashMap::new();
        for (i, template) in self.file.template.iter().enumerate() {
            let path = root().key("template").index(i);
            if let Some(first) = seen.get(template.name.as_str()) {
                let problem = Problem::DuplicateTemplate {
                    name: template.name.clone(),
                    first: first.clone(),
                };
                self.push(path.key("name"), problem);
            } else {
                seen.insert(&template.name, path.clone());
                self.templates.insert(&template.name, template);
            }
            self.options(&template.settings(), &path);
            if let Some(id) = template.cluster_id {
                self.used_clusters.insert(id);
            }
        }
    }

    fn policies(&mut self) {
        let mut seen: HashMap<&str, FieldPath> = HashMap::new();
        for (i, policy) in self.file.policy.iter().enumerate() {
            let path = root().key("policy").index(i);
            if let Some(first) = seen.get(policy.name.as_str()) {
                let problem = Problem::DuplicatePolicy {
                    name: policy.name.clone(),
                    first: first.clone(),
                };
                self.push(path.key("name"), problem);
            } else {
                seen.insert(&policy.name, path);
            }
        }
    }

    /// Checks of one section's own options.
    fn options(&mut self, s: &PeerSettings, path: &FieldPath) {
        for (key, asn) in [("asn", s.asn), ("local_asn", s.local_asn)] {
            if asn == Some(0) {
                self.push(path.key(key), Problem::AsnZero);
            }
        }
        if s.cluster_id == Some(Ipv4Addr::UNSPECIFIED) {
            self.push(path.key("cluster_id"), Problem::UnspecifiedId);
        }
        if let Some(hold @ (1 | 2)) = s.hold_time {
            self.push(path.key("hold_time"), Problem::HoldTime(hold));
        }
        if let Some(time) = s.restart_time.filter(|t| *t > MAX_RESTART_TIME) {
            self.push(path.key("restart_time"), Problem::RestartTime(time));
        }
        if let Some(limit) = s.prefix_limit {
            let path = path.key("prefix_limit");
            if limit.max == 0 {
                self.push(path.key("max"), Problem::PrefixLimitZero);
            }
            if limit.warn_percent > 100 {
                self.push(
                    path.key("warn_percent"),
                    Problem::WarnPercent(limit.warn_percent),
                );
            }
        }
        for (key, name) in [("import", &s.import), ("export", &s.export)] {
            if let Some(name) = name {
                self.used_policies.insert(name.clone());
                if !self.file.policy.iter().any(|p| &p.name == name) {
                    self.push(path.key(key), Problem::UnknownPolicy(name.clone()));
                }
            }
        }
    }

    /// The template `name` refers to, reporting an unknown one at `path`.
    fn template(&mut self, name: Option<&'a String>, path: FieldPath) -> PeerSettings {
        let Some(name) = name else {
            return PeerSettings::default();
        };
        self.used_templates.insert(name.clone());
        match self.templates.get(name.as_str()) {
            Some(template) => template.settings(),
            None => {
                self.push(path, Problem::UnknownTemplate(name.clone()));
                PeerSettings::default()
            }
        }
    }

    /// The first of `keys` this section sets itself, else the section.
    fn own_key(own: &PeerSettings, path: &FieldPath, keys: &[&str]) -> FieldPath {
        keys.iter()
            .find(|key| match **key {
                "keepalive" => own.keepalive.is_some(),
                "hold_time" => own.hold_time.is_some(),
                "client" => own.client.is_some(),
                "asn" => own.asn.is_some(),
                "cluster_id" => own.cluster_id.is_some(),
                "local_address" => own.local_address.is_some(),
                "add_path" => own.add_path.is_some(),
                _ => false,
            })
            .map_or_else(|| path.clone(), |key| path.key(key))
    }

    fn neighbors(&mut self) {
        let file = self.file;
        let mut seen = HashMap::new();
        let mut non_clients = false;
        for (i, neighbor) in file.neighbor.iter().enumerate() {
            let path = root().key("neighbor").index(i);
            if let Some(first) = seen.get(&neighbor.address) {
                let problem = Problem::DuplicateNeighbor {
                    address: neighbor.address,
                    first: Clone::clone(first),
                };
                self.push(path.key("address"), problem);
            } else {
                seen.insert(neighbor.address, path.clone());
            }
            let own = neighbor.settings();
            self.options(&own, &path);
            let errors_before = self.out.len();
            let template = self.template(neighbor.template.as_ref(), path.key("template"));
            let template_unknown = self.out.len() > errors_before;
            let merged = own.clone().or(template);
            if let Some(id) = merged.cluster_id {
                self.used_clusters.insert(id);
            }
            let Some(peer_as) = merged.asn else {
                if !template_unknown {
                    self.push(path.clone(), Problem::MissingAsn);
                }
                continue;
            };
            if peer_as == 0 {
                continue;
            }
            if let (Some(local), peer) = (merged.local_address, neighbor.address) {
                if local.is_ipv4() != peer.is_ipv4() {
                    let at = Self::own_key(&own, &path, &["local_address"]);
                    self.push(at, Problem::LocalAddressFamily { local, peer });
                }
            }
            self.session(&own, &merged, peer_as, &path);
            let client = merged.client.unwrap_or(false);
            let local_as = merged.local_asn.unwrap_or(file.global.asn);
            if peer_as == local_as && !client {
                non_clients = true;
                if let Some(cluster) = file.cluster.iter().find(|c| !c.client_to_client) {
                    let problem = Problem::NonClientWithoutClientToClient {
                        cluster: cluster.id,
                    };
                    self.push(path.clone(), problem);
                }
            }
        }
        let global = &file.global;
        if let Some(cluster) = global.cluster_id {
            let path = root().key("global").key("cluster_id");
            if global.router_id != Some(cluster) {
                if non_clients {
                    self.push(path, Problem::SharedClusterId { cluster });
                } else {
                    self.push(path, Problem::SharedClusterWithoutReflectors { cluster });
                }
            }
        }
    }

    /// Checks of the merged options of one session (static or dynamic).
    fn session(
        &mut self,
        own: &PeerSettings,
        merged: &PeerSettings,
        peer_as: u32,
        path: &FieldPath,
    ) {
        let local_as = merged.local_asn.unwrap_or(self.file.global.asn);
        let client = merged.client.unwrap_or(false);
        if let (Some(keepalive), Some(hold)) = (merged.keepalive, merged.hold_time) {
            let own_pair = own.keepalive.is_some() || own.hold_time.is_some();
            if hold != 0 && keepalive >= hold && own_pair {
                let at = Self::own_key(own, path, &["keepalive", "hold_time"]);
                let problem = Problem::KeepaliveNotBelowHold {
                    keepalive,
                    hold_time: hold,
                };
                self.push(at, problem);
            }
        }
        if peer_as != local_as {
            if client {
                let at = Self::own_key(own, path, &["client", "asn"]);
                self.push(at, Problem::ExternalClient { local_as, peer_as });
            }
            for (direction, verb, policy) in [
                ("import", "accepted", &merged.import),
                ("export", "advertised", &merged.export),
            ] {
                if policy.is_none() {
                    let problem = Problem::ExternalWithoutPolicy { direction, verb };
                    self.push(path.clone(), problem);
                }
            }
        }
        if merged.cluster_id.is_some() && !client {
            let at = Self::own_key(own, path, &["cluster_id"]);
            self.push(at, Problem::ClusterIdOnNonClient);
        }
        if let Some(AddPathSetting::PerFamily(map)) = &merged.add_path {
            let families = merged.families.clone().unwrap_or_else(Family::defaults);
            for family in map.keys().filter(|f| !families.contains(f)) {
                let at = Self::own_key(own, path, &["add_path"]);
                self.push(at, Problem::AddPathFamilyUnused(*family));
            }
        }
    }

    fn dynamic(&mut self) {
        let file = self.file;
        let mut seen = HashMap::new();
        for (i, range) in file.dynamic.iter().enumerate() {
            let path = root().key("dynamic").index(i);
            if let Some(first) = seen.get(&range.prefix) {
                let problem = Problem::DuplicateDynamic {
                    prefix: range.prefix,
                    first: Clone::clone(first),
                };
                self.push(path.key("prefix"), problem);
            } else {
                seen.insert(range.prefix, path.clone());
            }
            let template = self.template(range.template.as_ref(), path.key("template"));
            if range.asn.is_some() && range.asn_range.is_some() {
                self.push(path.clone(), Problem::AsnAndRange);
            }
            if range.asn == Some(0) {
                self.push(path.key("asn"), Problem::AsnZero);
            }
            if let Some((low, high)) = range.asn_range {
                if low == 0 || low > high {
                    self.push(path.key("asn_range"), Problem::AsnRange { low, high });
                }
            }
            if range.max_peers == 0 {
                self.push(path.key("max_peers"), Problem::MaxPeersZero);
            }
            let local_as = template.local_asn.unwrap_or(file.global.asn);
            // A range containing our AS admits iBGP peers; check as iBGP.
            let peer_as = match (range.asn, range.asn_range, template.asn) {
                (Some(asn), _, _) => asn,
                (None, Some((low, high)), _) if !(low..=high).contains(&local_as) => low,
                (None, Some(_), _) => local_as,
                (None, None, Some(asn)) => asn,
                (None, None, None) => local_as,
            };
            let own = PeerSettings::default();
            self.session(&own, &template, peer_as, &path);
            let cluster = template
                .cluster_id
                .or(file.global.cluster_id)
                .or(file.global.router_id);
            let client = template.client.unwrap_or(false);
            for c in file.cluster.iter().filter(|c| !c.client_to_client) {
                if client && cluster == Some(c.id) {
                    let problem = Problem::DynamicClientsWithoutClientToClient { cluster: c.id };
                    self.push(path.clone(), problem);
                }
            }
        }
    }

    fn datastore(&mut self) {
        let d = &self.file.datastore;
        let path = root().key("datastore");
        let _ = self.template(d.template.as_ref(), path.key("template"));
        for (i, url) in d.etcd_endpoints.iter().enumerate() {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                let problem = Problem::Datastore(format!(
                    "`{url}` is not an etcd client URL (http://HOST:PORT or https://HOST:PORT)"
                ));
                self.push(path.key("etcd_endpoints").index(i), problem);
            }
        }
        if d.etcd_cert_file.is_some() != d.etcd_key_file.is_some() {
            let key = if d.etcd_cert_file.is_some() {
                "etcd_cert_file"
            } else {
                "etcd_key_file"
            };
            let problem = Problem::Datastore(
                "a client certificate needs both etcd_cert_file and etcd_key_file".into(),
            );
            self.push(path.key(key), problem);
        }
        if d.status_ttl < 3 {
            let problem = Problem::Datastore(format!(
                "status_ttl must be at least 3 seconds, not {}",
                d.status_ttl
            ));
            self.push(path.key("status_ttl"), problem);
        }
    }

    fn usage(&mut self) {
        let file = self.file;
        for (i, cluster) in file.cluster.iter().enumerate() {
            if !self.used_clusters.contains(&cluster.id) {
                let path = root().key("cluster").index(i);
                self.push(path, Problem::UnusedCluster(cluster.id));
            }
        }
        let mut first_template: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, template) in file.template.iter().enumerate() {
            first_template.entry(&template.name).or_insert(i);
        }
        for (name, i) in first_template {
            if !self.used_templates.contains(name) {
                let path = root().key("template").index(i);
                self.push(path, Problem::UnusedTemplate(name.to_string()));
            }
        }
        for (i, policy) in file.policy.iter().enumerate() {
            if !self.used_policies.contains(&policy.name) {
                let path = root().key("policy").index(i);
                self.push(path, Problem::UnusedPolicy(policy.name.clone()));
            }
        }
        let etcd = file.datastore.kind == DatastoreType::Etcd;
        if file.neighbor.is_empty() && file.dynamic.is_empty() && !etcd {
            self.push(root(), Problem::NoPeers);
        }
    }
}
