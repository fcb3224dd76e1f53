//! [`PeeringIndex`]: what the peering computation needs from a [`Snapshot`], in a
//! form where every selector has been evaluated once against every node.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tracing::warn;

use super::nodeset::{LabelIndex, NodeSet};
use crate::model::{
    AsNumber, BgpPeer, BgpPeerSpec, GoDuration, NextHopMode, ReversePeering, SecretKeySelector,
    SourceAddress,
};
use crate::selector::Selector;
use crate::snapshot::Snapshot;

/// One node's BGP identity.
#[derive(Clone, Debug)]
pub(crate) struct NodeInfo {
    pub(crate) name: Arc<str>,
    /// Whether the node has a `spec.bgp` at all.
    pub(crate) bgp: bool,
    pub(crate) ipv4: Option<IpAddr>,
    pub(crate) ipv6: Option<IpAddr>,
    pub(crate) asn: AsNumber,
    /// `routeReflectorClusterID`, when the node is a route reflector.
    pub(crate) cluster_id: Option<String>,
    /// The node's BGP port: `node.<name>` listenPort, else the default's, if any.
    pub(crate) listen_port: Option<u16>,
}

impl NodeInfo {
    pub(crate) fn address(&self, v6: bool) -> Option<IpAddr> {
        if v6 { self.ipv6 } else { self.ipv4 }
    }
}

/// Which nodes a BGPPeer applies to (its `node` / `nodeSelector` side).
#[derive(Clone, Debug)]
pub(crate) enum Scope {
    /// Neither field: every node.
    Global,
    /// The selected nodes.
    Nodes(NodeSet),
}

/// The other end of a BGPPeer (its `peerIP` / `peerSelector` side).
#[derive(Clone, Debug)]
pub(crate) enum Remote {
    /// `peerSelector`: Calico nodes.
    Nodes(NodeSet),
    /// `peerIP` (+ port) and `asNumber`.
    Address {
        ip: IpAddr,
        port: Option<u16>,
        asn: Option<AsNumber>,
    },
    /// Unusable (bad selector or address): yields nothing.
    None,
}

/// The per-peering settings a BGPPeer carries.
#[derive(Clone, Debug)]
pub(crate) struct PeerSettings {
    pub(crate) password: Option<SecretKeySelector>,
    pub(crate) ttl_security: Option<u8>,
    pub(crate) next_hop_mode: Option<NextHopMode>,
    pub(crate) keep_original_next_hop: bool,
    pub(crate) source_address: SourceAddress,
    pub(crate) max_restart_time: Option<GoDuration>,
    pub(crate) keepalive_time: Option<GoDuration>,
    pub(crate) local_as: Option<AsNumber>,
    pub(crate) num_allowed_local_as: Option<i32>,
}

/// One BGPPeer, resolved against the nodes.
#[derive(Clone, Debug)]
pub(crate) struct PeerInfo {
    pub(crate) name: Arc<str>,
    pub(crate) scope: Scope,
    pub(crate) remote: Remote,
    /// Nodes that peer back to the scope's nodes (empty with `reversePeering: Manual`).
    pub(crate) reverse_from: NodeSet,
    pub(crate) settings: PeerSettings,
}

/// Cluster-wide BGP settings (the `default` BGPConfiguration).
#[derive(Clone, Debug)]
pub(crate) struct GlobalBgp {
    pub(crate) asn: AsNumber,
    pub(crate) mesh: bool,
    pub(crate) mesh_password: Option<SecretKeySelector>,
    pub(crate) mesh_restart_time: Option<GoDuration>,
}

/// Everything [`super::peerings`] reads, precomputed from a snapshot. Built once per
/// snapshot version ([`Snapshot::peering_index`]); its cost is linear in nodes,
/// labels and BGPPeers.
#[derive(Debug)]
pub struct PeeringIndex {
    pub(crate) nodes: Vec<NodeInfo>,
    pub(crate) by_name: HashMap<String, usize>,
    /// The nodes owning each address (almost always one).
    pub(crate) by_ip: HashMap<IpAddr, Vec<usize>>,
    pub(crate) peers: Vec<PeerInfo>,
    pub(crate) global: GlobalBgp,
}

fn secret(p: &Option<crate::model::BgpPassword>) -> Option<SecretKeySelector> {
    p.as_ref().and_then(|p| p.secret_key_ref.clone())
}

/// Splits `peerIP`: `"10.0.0.1"`, `"10.0.0.1:1179"`, `"fd00::1"`, `"[fd00::1]:1179"`.
pub fn parse_peer_ip(text: &str) -> Option<(IpAddr, Option<u16>)> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some((ip, None));
    }
    text.parse::<SocketAddr>()
        .ok()
        .map(|sa| (sa.ip(), Some(sa.port())))
}

impl PeeringIndex {
    /// Builds the index of a snapshot.
    pub fn build(snapshot: &Snapshot) -> Self {
        let default = snapshot.bgp_configuration("default").map(|c| &c.spec);
        let global = GlobalBgp {
            asn: default
                .and_then(|c| c.as_number)
                .unwrap_or(AsNumber::CALICO_DEFAULT),
            mesh: default
                .and_then(|c| c.node_to_node_mesh_enabled)
                .unwrap_or(true),
            mesh_password: default.and_then(|c| secret(&c.node_mesh_password)),
            mesh_restart_time: default.and_then(|c| c.node_mesh_max_restart_time.clone()),
        };
        let default_port = default.and_then(|c| c.listen_port);
        // `node.<name>` BGPConfigurations: per-node listen ports.
        let node_ports: HashMap<&str, u16> = snapshot
            .bgp_configurations()
            .filter_map(|c| Some((c.name().strip_prefix("node.")?, c.spec.listen_port?)))
            .collect();

        let mut nodes = Vec::new();
        let mut by_name = HashMap::new();
        let mut by_ip = HashMap::new();
        for node in snapshot.nodes() {
            let bgp = node.spec.bgp.as_ref();
            let port = node_ports.get(node.name()).copied().or(default_port);
            let info = NodeInfo {
                name: Arc::from(node.name()),
                bgp: bgp.is_some(),
                ipv4: bgp.and_then(|b| b.ipv4()),
                ipv6: bgp.and_then(|b| b.ipv6()),
                asn: bgp.and_then(|b| b.as_number).unwrap_or(global.asn),
                cluster_id: bgp
                    .map(|b| b.route_reflector_cluster_id.trim())
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
                listen_port: port,
            };
            let i = nodes.len();
            for ip in [info.ipv4, info.ipv6].into_iter().flatten() {
                by_ip.entry(ip).or_insert_with(Vec::new).push(i);
            }
            by_name.insert(node.name().to_string(), i);
            nodes.push(info);
        }
        let labels = LabelIndex::build(
            nodes.len(),
            snapshot
                .nodes()
                .enumerate()
                .map(|(i, n)| (i, &n.metadata.labels)),
        );
        let mut index = PeeringIndex {
            nodes,
            by_name,
            by_ip,
            peers: Vec::new(),
            global,
        };
        index.peers = snapshot
            .bgp_peers()
            .map(|p| index.resolve_peer(p, &labels))
            .collect();
        index
    }

    fn select(&self, labels: &LabelIndex, peer: &str, field: &str, text: &str) -> NodeSet {
        match Selector::parse(text) {
            Ok(sel) => labels.eval(sel.expr()),
            Err(e) => {
                warn!(bgp_peer = peer, field, error = %e, "ignoring BGPPeer with a bad selector");
                NodeSet::empty(self.nodes.len())
            }
        }
    }

    /// Calico's `nodesWithIPPortAndAS`: the nodes that own `ip`, run `asn` (the
    /// global AS when unset) and, when a port is given, listen on it.
    fn nodes_at(&self, ip: IpAddr, asn: Option<AsNumber>, port: Option<u16>) -> NodeSet {
        let mut set = NodeSet::empty(self.nodes.len());
        let asn = asn.filter(|a| a.0 != 0).unwrap_or(self.global.asn);
        for &i in self.by_ip.get(&ip).into_iter().flatten() {
            let n = &self.nodes[i];
            if n.asn != asn {
                continue;
            }
            if let Some(p) = port {
                if n.listen_port.unwrap_or(179) != p {
                    continue;
                }
            }
            set.insert(i);
        }
        set
    }

    fn resolve_peer(&self, peer: &BgpPeer, labels: &LabelIndex) -> PeerInfo {
        let name: Arc<str> = Arc::from(peer.name());
        let spec: &BgpPeerSpec = &peer.spec;
        let n = self.nodes.len();
        let scope = if !spec.node_selector.is_empty() {
            Scope::Nodes(self.select(labels, &name, "nodeSelector", &spec.node_selector))
        } else if !spec.node.is_empty() {
            let mut set = NodeSet::empty(n);
            if let Some(&i) = self.by_name.get(&spec.node) {
                set.insert(i);
            }
            Scope::Nodes(set)
        } else {
            Scope::Global
        };
        let remote = if !spec.peer_selector.is_empty() {
            Remote::Nodes(self.select(labels, &name, "peerSelector", &spec.peer_selector))
        } else {
            match parse_peer_ip(spec.peer_ip.trim()) {
                Some((ip, port)) => Remote::Address {
                    ip,
                    port,
                    asn: spec.as_number.filter(|a| a.0 != 0),
                },
                None => {
                    warn!(bgp_peer = %name, peer_ip = %spec.peer_ip, "ignoring BGPPeer without a usable peerIP or peerSelector");
                    Remote::None
                }
            }
        };
        let reverse_from = match (&remote, spec.reverse_peering.unwrap_or_default()) {
            (_, ReversePeering::Manual) | (Remote::None, _) => NodeSet::empty(n),
            (Remote::Nodes(set), ReversePeering::Auto) => set.clone(),
            (Remote::Address { ip, port, asn }, ReversePeering::Auto) => {
                self.nodes_at(*ip, *asn, *port)
            }
        };
        PeerInfo {
            name,
            scope,
            remote,
            reverse_from,
            settings: PeerSettings {
                password: secret(&spec.password),
                ttl_security: spec.ttl_security,
                next_hop_mode: spec.next_hop_mode,
                keep_original_next_hop: spec.keep_original_next_hop,
                source_address: spec.source_address.unwrap_or_default(),
                max_restart_time: spec.max_restart_time.clone(),
                keepalive_time: spec.keepalive_time.clone(),
                local_as: spec.local_as_number.filter(|a| a.0 != 0),
                num_allowed_local_as: spec.num_allowed_local_as_numbers,
            },
        }
    }

    /// The port to use towards a peer address without an explicit port: the listen
    /// port of the Calico node at that address (with that AS), if any.
    pub(crate) fn port_for_address(&self, ip: IpAddr, asn: AsNumber) -> Option<u16> {
        let node = &self.nodes[*self.by_ip.get(&ip)?.first()?];
        (node.asn == asn).then_some(node.listen_port).flatten()
    }

    /// The number of nodes indexed.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The names of the nodes, in index order.
    pub fn node_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.nodes.iter().map(|n| &*n.name)
    }
}
