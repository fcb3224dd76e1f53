//! Library functions behind the datastore commands of the daemons
//! (`bgp-reflector datastore apply -f FILE`, `... get nodes`), after calicoctl's
//! `apply` and `get`.
//!
//! Files hold Calico resources (`apiVersion: projectcalico.org/v3`, `kind`,
//! `metadata`, `spec`) as JSON (one or more objects, or an array) or YAML (one or
//! more `---`-separated documents); a `kind: List` (or `<Kind>List`) document
//! contributes its `items`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::error::{DatastoreError, ModelError};
use crate::model::{API_VERSION, AsNumber, EncapMode, Kind, Resource, ResourceKey};
use crate::store::{Datastore, Precondition};

/// An error of a datastore command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The file cannot be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A document is not valid JSON or YAML.
    #[error("document {document}: {message}")]
    Syntax {
        /// 1-based document number.
        document: usize,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A document is not a valid resource.
    #[error("document {document}: {source}")]
    Resource {
        /// 1-based document number.
        document: usize,
        /// Why.
        #[source]
        source: ModelError,
    },
    /// A kind name that is not known.
    #[error("unknown resource type {0:?}")]
    UnknownKind(String),
    /// Writing one resource failed (the ones before it were applied).
    #[error("applying {key}: {source}")]
    Apply {
        /// The resource.
        key: ResourceKey,
        /// Why.
        #[source]
        source: Box<DatastoreError>,
    },
    /// A datastore error.
    #[error(transparent)]
    Datastore(Box<DatastoreError>),
}

/// One applied resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// Its key.
    pub key: ResourceKey,
    /// The revision of the write.
    pub revision: i64,
}

/// Parses the resources of a JSON or YAML text.
pub fn parse_documents(text: &str) -> Result<Vec<Resource>, CliError> {
    let trimmed = text.trim_start();
    let mut values = Vec::new();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        for (i, v) in serde_json::Deserializer::from_str(text)
            .into_iter::<Value>()
            .enumerate()
        {
            let v = v.map_err(|e| CliError::Syntax {
                document: i + 1,
                message: e.to_string(),
            })?;
            match v {
                Value::Array(items) => values.extend(items),
                other => values.push(other),
            }
        }
    } else {
        for (i, doc) in serde_norway::Deserializer::from_str(text).enumerate() {
            let v = Value::deserialize(doc).map_err(|e| CliError::Syntax {
                document: i + 1,
                message: e.to_string(),
            })?;
            if !v.is_null() {
                values.push(v);
            }
        }
    }
    let mut resources = Vec::new();
    for (i, v) in values.into_iter().enumerate() {
        let document = i + 1;
        for item in expand_list(v) {
            resources.push(
                Resource::from_value(item)
                    .map_err(|source| CliError::Resource { document, source })?,
            );
        }
    }
    Ok(resources)
}

/// A `List` / `<Kind>List` document's items (filling in their `apiVersion` and
/// `kind` from the list when missing), or the document itself.
fn expand_list(v: Value) -> Vec<Value> {
    let kind = v
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some(base) = kind.strip_suffix("List") else {
        return vec![v];
    };
    let api = v
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or(API_VERSION)
        .to_string();
    let items = match v.get("items") {
        Some(Value::Array(items)) => items.clone(),
        _ => return vec![v],
    };
    items
        .into_iter()
        .map(|mut item| {
            if let Value::Object(map) = &mut item {
                if !base.is_empty() {
                    map.entry("kind").or_insert_with(|| Value::from(base));
                }
                map.entry("apiVersion")
                    .or_insert_with(|| Value::from(api.clone()));
            }
            item
        })
        .collect()
}

/// Creates or replaces every resource of a file, in order (calicoctl `apply`).
/// A resource with a `resourceVersion` is replaced only if it is still that one.
pub async fn apply_file<D: Datastore>(store: &D, path: &Path) -> Result<Vec<Applied>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    apply(store, parse_documents(&text)?).await
}

/// Creates or replaces resources, in order.
pub async fn apply<D: Datastore>(
    store: &D,
    resources: Vec<Resource>,
) -> Result<Vec<Applied>, CliError> {
    let mut applied = Vec::with_capacity(resources.len());
    for r in resources {
        let key = r
            .key()
            .map_err(|e| CliError::Datastore(Box::new(e.into())))?;
        let revision = store
            .put(&r, Precondition::from_resource(&r))
            .await
            .map_err(|source| CliError::Apply {
                key: key.clone(),
                source: Box::new(source),
            })?;
        applied.push(Applied { key, revision });
    }
    Ok(applied)
}

/// A table of resources, as `get` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<&'static str>,
    /// One row per resource.
    pub rows: Vec<Vec<String>>,
}

impl fmt::Display for Table {
    /// Left-aligned columns separated by three spaces, as calicoctl prints them
    /// (without trailing spaces).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: Vec<&str>| -> fmt::Result {
            let mut text = String::new();
            for (cell, w) in cells.iter().zip(&widths) {
                text += &format!("{cell:<w$}   ");
            }
            writeln!(f, "{}", text.trim_end())
        };
        line(f, self.headers.clone())?;
        for row in &self.rows {
            line(f, row.iter().map(String::as_str).collect())?;
        }
        Ok(())
    }
}

/// Lists a kind, by the name a user types (`nodes`, `bgppeer`, `ippools`, ...).
pub async fn get_by_name<D: Datastore>(store: &D, kind: &str) -> Result<Table, CliError> {
    let kind = Kind::from_cli_name(kind).ok_or_else(|| CliError::UnknownKind(kind.to_string()))?;
    get(store, kind).await
}

/// Lists a kind as a table.
pub async fn get<D: Datastore>(store: &D, kind: Kind) -> Result<Table, CliError> {
    let boxed = |e: DatastoreError| CliError::Datastore(Box::new(e));
    let listing = store.list(kind).await.map_err(boxed)?;
    let default_as = if kind == Kind::Node {
        let key = ResourceKey::global(Kind::BgpConfiguration, "default");
        match store.get(&key).await.map_err(boxed)? {
            Some(Resource::BgpConfiguration(c)) => c.spec.as_number,
            _ => None,
        }
        .unwrap_or(AsNumber::CALICO_DEFAULT)
    } else {
        AsNumber::CALICO_DEFAULT
    };
    Ok(table(kind, &listing.resources, default_as))
}

fn encap(m: Option<EncapMode>) -> String {
    match m {
        None | Some(EncapMode::Never) => "Never",
        Some(EncapMode::Always) => "Always",
        Some(EncapMode::CrossSubnet) => "CrossSubnet",
    }
    .to_string()
}

fn or_all(s: &str) -> String {
    if s.is_empty() {
        "all()".to_string()
    } else {
        s.to_string()
    }
}

/// The table of these resources of `kind`; `default_as` is shown in parentheses
/// for nodes that inherit it.
pub fn table(kind: Kind, resources: &[Resource], default_as: AsNumber) -> Table {
    let headers: Vec<&'static str> = match kind {
        Kind::Node => vec!["NAME", "ASN", "IPV4", "IPV6", "RR CLUSTER ID"],
        Kind::BgpPeer => vec!["NAME", "PEERIP", "NODE", "ASN"],
        Kind::BgpConfiguration => vec!["NAME", "LOGSEVERITY", "MESHENABLED", "ASNUMBER"],
        Kind::IpPool => vec![
            "NAME",
            "CIDR",
            "SELECTOR",
            "IPIPMODE",
            "VXLANMODE",
            "NAT",
            "DISABLED",
        ],
        Kind::WorkloadEndpoint => vec!["NAMESPACE", "WORKLOAD", "NODE", "NETWORKS", "INTERFACE"],
        Kind::Profile => vec!["NAME"],
        Kind::GlobalNetworkPolicy => vec!["NAME", "ORDER", "SELECTOR"],
        Kind::NetworkPolicy => vec!["NAMESPACE", "NAME", "ORDER", "SELECTOR"],
    };
    let order = |o: Option<f64>| o.map(|o| o.to_string()).unwrap_or_default();
    let rows = resources
        .iter()
        .filter(|r| r.kind() == kind)
        .map(|r| match r {
            Resource::Node(n) => {
                let bgp = n.spec.bgp.clone().unwrap_or_default();
                vec![
                    n.name().to_string(),
                    bgp.as_number
                        .map_or_else(|| format!("({default_as})"), |a| a.to_string()),
                    bgp.ipv4_address,
                    bgp.ipv6_address,
                    bgp.route_reflector_cluster_id,
                ]
            }
            Resource::BgpPeer(p) => {
                let s = &p.spec;
                let node = if !s.node.is_empty() {
                    s.node.clone()
                } else if !s.node_selector.is_empty() {
                    s.node_selector.clone()
                } else {
                    "(global)".to_string()
                };
                let peer = if s.peer_selector.is_empty() {
                    &s.peer_ip
                } else {
                    &s.peer_selector
                };
                let asn = s.as_number.map(|a| a.to_string()).unwrap_or_default();
                vec![p.name().to_string(), peer.clone(), node, asn]
            }
            Resource::BgpConfiguration(c) => vec![
                c.name().to_string(),
                c.spec.log_severity_screen.clone(),
                c.spec
                    .node_to_node_mesh_enabled
                    .map(|b| b.to_string())
                    .unwrap_or_default(),
                c.spec.as_number.map(|a| a.to_string()).unwrap_or_default(),
            ],
            Resource::IpPool(p) => vec![
                p.name().to_string(),
                p.spec.cidr.clone(),
                or_all(&p.spec.node_selector),
                encap(p.spec.ipip_mode),
                encap(p.spec.vxlan_mode),
                p.spec.nat_outgoing.to_string(),
                p.spec.disabled.to_string(),
            ],
            Resource::WorkloadEndpoint(w) => vec![
                w.metadata.namespace.clone().unwrap_or_default(),
                w.spec.workload.clone(),
                w.spec.node.clone(),
                w.spec.ip_networks.join(","),
                w.spec.interface_name.clone(),
            ],
            Resource::Profile(p) => vec![p.name().to_string()],
            Resource::GlobalNetworkPolicy(g) => vec![
                g.name().to_string(),
                order(g.spec.order),
                or_all(&g.spec.selector),
            ],
            Resource::NetworkPolicy(n) => vec![
                n.metadata.namespace.clone().unwrap_or_default(),
                n.name().to_string(),
                order(n.spec.order),
                or_all(&n.spec.selector),
            ],
        })
        .collect();
    Table { headers, rows }
}
