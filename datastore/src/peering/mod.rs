//! The BGP peerings of one node, computed from Nodes, BGPPeers and
//! BGPConfigurations as Calico's confd (`confd/pkg/backends/calico/client.go`,
//! `updatePeersV1`) and its BIRD templates (`bird.cfg.template`) do.
//!
//! For a local node L (which must have `spec.bgp` and an address of the family):
//!
//! 1. **Global BGPPeers** (neither `node` nor `nodeSelector`) apply to every node.
//! 2. **Node-specific BGPPeers** apply when `node` names L or `nodeSelector`
//!    matches L's labels.
//! 3. **Reverse peerings**: a BGPPeer whose `peerSelector` matches L (or whose
//!    `peerIP` and `asNumber` are L's) makes L peer back with the BGPPeer's nodes
//!    (all nodes for a global one), unless `reversePeering: Manual`. A selector
//!    reverses both address families; an address only its own family.
//! 4. **Node-to-node mesh**, when `nodeToNodeMeshEnabled` is not false in the
//!    `default` BGPConfiguration and L is not a route reflector: every other node
//!    that is not a route reflector either, over each family both have.
//!
//! A BGPPeer's other end is `peerIP` (+ optional port, `asNumber`) or, with
//! `peerSelector`, each selected Calico node's IPv4 and IPv6 addresses, with the
//! node's AS (or the global one) and listen port. Peerings are keyed by peer
//! address and port: the first one emitted in the order above wins, so explicit
//! peerings take precedence over reverse ones and both over the mesh. A peering to
//! L's own address is skipped.
//!
//! Route reflection (RFC 4456): a node with `routeReflectorClusterID` is a route
//! reflector; an iBGP peer (same AS) is its **client** when the peer's cluster ID
//! is empty or differs from L's. Unlike confd, a `peerIP` that belongs to a Calico
//! node takes that node's cluster ID, so two reflectors of one cluster peered by
//! address are not each other's clients.
//!
//! The local AS is the node's `spec.bgp.asNumber`, else the `default`
//! BGPConfiguration's `asNumber`, else 64512.

mod index;
mod nodeset;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub use index::{PeeringIndex, parse_peer_ip};
pub use nodeset::NodeSet;

use crate::model::{AsNumber, NextHopMode, SecretKeySelector, SourceAddress};
use crate::snapshot::Snapshot;
use index::{NodeInfo, PeerInfo, Remote, Scope};

/// Why a peering exists.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PeeringOrigin {
    /// The node-to-node mesh.
    Mesh,
    /// A global BGPPeer (no `node`, no `nodeSelector`).
    Global {
        /// The BGPPeer's name.
        bgp_peer: Arc<str>,
    },
    /// A BGPPeer selecting this node.
    Node {
        /// The BGPPeer's name.
        bgp_peer: Arc<str>,
    },
    /// The reverse direction of a BGPPeer selecting this node as its peer.
    Reverse {
        /// The BGPPeer's name.
        bgp_peer: Arc<str>,
    },
}

/// One BGP session the node should have.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Peering {
    /// The peer's address.
    pub peer_ip: IpAddr,
    /// The peer's TCP port; `None` means 179.
    pub port: Option<u16>,
    /// The peer's AS.
    pub peer_as: AsNumber,
    /// Our AS on this session.
    pub local_as: AsNumber,
    /// The Calico node at the peer address, if any.
    pub peer_node: Option<Arc<str>>,
    /// Whether we are a route reflector and the peer is our client (RFC 4456).
    pub rr_client: bool,
    /// The TCP MD5 password (RFC 2385), as a secret reference to resolve.
    pub password: Option<SecretKeySelector>,
    /// GTSM (RFC 5082): hops to the peer.
    pub ttl_security: Option<u8>,
    /// How we set the next hop of routes we send.
    pub next_hop: NextHopMode,
    /// The source address of the TCP connection.
    pub source_address: Option<IpAddr>,
    /// Graceful restart time (RFC 4724).
    pub max_restart_time: Option<Duration>,
    /// Keepalive interval (RFC 4271).
    pub keepalive_time: Option<Duration>,
    /// Accepted occurrences of our AS in received AS paths.
    pub num_allowed_local_as: Option<i32>,
    /// Mesh peerings are one-directional, as in Calico: the end with the lower
    /// address (compared as text, like the BIRD template) connects, the other is
    /// passive.
    pub passive: bool,
    /// Why the peering exists.
    pub origin: PeeringOrigin,
}

impl Peering {
    /// Whether the session is iBGP.
    pub fn is_ibgp(&self) -> bool {
        self.peer_as == self.local_as
    }

    /// Whether we keep the received next hop (`next hop keep`).
    pub fn keeps_next_hop(&self) -> bool {
        self.next_hop == NextHopMode::Keep
    }
}

/// The node's own BGP settings, as the peerings use them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalBgp {
    /// The node's AS.
    pub asn: AsNumber,
    /// The node's IPv4 address.
    pub ipv4: Option<IpAddr>,
    /// The node's IPv6 address.
    pub ipv6: Option<IpAddr>,
    /// The route-reflector cluster ID, when the node is a route reflector.
    pub cluster_id: Option<String>,
    /// The port BGP listens on, when not 179.
    pub listen_port: Option<u16>,
}

/// The node's own BGP settings, or `None` when the node is unknown or has no
/// `spec.bgp`.
pub fn local_bgp(node: &str, snapshot: &Snapshot) -> Option<LocalBgp> {
    let index = snapshot.peering_index();
    let n = &index.nodes[*index.by_name.get(node)?];
    n.bgp.then(|| LocalBgp {
        asn: n.asn,
        ipv4: n.ipv4,
        ipv6: n.ipv6,
        cluster_id: n.cluster_id.clone(),
        listen_port: n.listen_port,
    })
}

/// The peerings of `node`, sorted by peer address and port. Empty when the node is
/// unknown or has no `spec.bgp`.
pub fn peerings(node: &str, snapshot: &Snapshot) -> Vec<Peering> {
    let index = snapshot.peering_index();
    match index.by_name.get(node) {
        Some(&i) => peerings_at(&index, i),
        None => Vec::new(),
    }
}

/// The peerings of the node at position `local` of the index (see
/// [`PeeringIndex::node_names`]); empty when out of range.
pub fn peerings_at(index: &PeeringIndex, local: usize) -> Vec<Peering> {
    let Some(node) = index.nodes.get(local) else {
        return Vec::new();
    };
    let mut out = Emitter {
        index,
        local: node,
        local_i: local,
        peerings: Vec::new(),
    };
    if !out.local.bgp {
        return Vec::new();
    }
    // 1 and 2: global BGPPeers first, so a node-specific one cannot shadow them.
    for global_pass in [true, false] {
        for peer in &index.peers {
            let applies = match &peer.scope {
                Scope::Global => global_pass,
                Scope::Nodes(set) => !global_pass && set.contains(local),
            };
            if applies {
                out.forward(peer, global_pass);
            }
        }
    }
    // 3: reverse peerings.
    for peer in &index.peers {
        if peer.reverse_from.contains(local) {
            out.reverse(peer);
        }
    }
    // 4: the mesh.
    if index.global.mesh && out.local.cluster_id.is_none() {
        out.mesh();
    }
    // Keyed by (address, port), the first emitted wins: a stable sort keeps the
    // emission order among equal keys, and dedup keeps the first of each run.
    let mut peerings = out.peerings;
    peerings.sort_by_key(|p| (p.peer_ip, p.port));
    peerings.dedup_by_key(|p| (p.peer_ip, p.port));
    peerings
}

/// `a > b` comparing the addresses as text, as the BIRD template's `gt` does
/// (so a Reflex node and a Calico/BIRD node agree on who connects).
fn text_greater(a: IpAddr, b: IpAddr) -> bool {
    /// An address's text, on the stack (at most 45 bytes).
    struct Text([u8; 48], usize);
    impl std::fmt::Write for Text {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let end = self.1 + s.len();
            self.0
                .get_mut(self.1..end)
                .ok_or(std::fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.1 = end;
            Ok(())
        }
    }
    let (mut x, mut y) = (Text([0; 48], 0), Text([0; 48], 0));
    let _ = write!(x, "{a}");
    let _ = write!(y, "{b}");
    x.0[..x.1] > y.0[..y.1]
}

struct Emitter<'a> {
    index: &'a PeeringIndex,
    local: &'a NodeInfo,
    local_i: usize,
    peerings: Vec<Peering>,
}

impl Emitter<'_> {
    fn forward(&mut self, peer: &PeerInfo, global: bool) {
        let origin = || {
            let bgp_peer = peer.name.clone();
            if global {
                PeeringOrigin::Global { bgp_peer }
            } else {
                PeeringOrigin::Node { bgp_peer }
            }
        };
        match &peer.remote {
            Remote::Nodes(set) => {
                for r in set.iter() {
                    for v6 in [false, true] {
                        self.peer_with_node(r, v6, peer, origin());
                    }
                }
            }
            Remote::Address { ip, port, asn } => {
                let asn = asn.unwrap_or(self.index.global.asn);
                let port = port.or_else(|| self.index.port_for_address(*ip, asn));
                let peer_node = self.index.by_ip.get(ip).and_then(|v| v.first().copied());
                self.emit(*ip, port, asn, peer_node, peer, origin());
            }
            Remote::None => {}
        }
    }

    fn reverse(&mut self, peer: &PeerInfo) {
        // Which families: a selector reverses both, an address its own.
        let families: &[bool] = match &peer.remote {
            Remote::Nodes(_) => &[false, true],
            Remote::Address { ip, .. } if ip.is_ipv6() => &[true],
            Remote::Address { .. } => &[false],
            Remote::None => &[],
        };
        let origin = || PeeringOrigin::Reverse {
            bgp_peer: peer.name.clone(),
        };
        let targets: Box<dyn Iterator<Item = usize>> = match &peer.scope {
            Scope::Global => Box::new(0..self.index.nodes.len()),
            Scope::Nodes(set) => Box::new(set.iter()),
        };
        for r in targets {
            for &v6 in families {
                self.peer_with_node(r, v6, peer, origin());
            }
        }
    }

    fn mesh(&mut self) {
        let g = &self.index.global;
        for (r, node) in self.index.nodes.iter().enumerate() {
            if r == self.local_i || !node.bgp || node.cluster_id.is_some() {
                continue;
            }
            for v6 in [false, true] {
                let (Some(ip), Some(own)) = (node.address(v6), self.local.address(v6)) else {
                    continue;
                };
                if ip == own {
                    continue;
                }
                self.peerings.push(Peering {
                    peer_ip: ip,
                    port: node.listen_port,
                    peer_as: node.asn,
                    local_as: self.local.asn,
                    peer_node: Some(node.name.clone()),
                    rr_client: false,
                    password: g.mesh_password.clone(),
                    ttl_security: None,
                    next_hop: NextHopMode::Auto,
                    source_address: Some(own),
                    max_restart_time: g.mesh_restart_time.as_ref().map(|d| d.duration()),
                    keepalive_time: None,
                    num_allowed_local_as: None,
                    passive: text_greater(ip, own),
                    origin: PeeringOrigin::Mesh,
                });
            }
        }
    }

    /// A peering with node `r` over one family, if both ends have it.
    fn peer_with_node(&mut self, r: usize, v6: bool, peer: &PeerInfo, origin: PeeringOrigin) {
        let node = &self.index.nodes[r];
        if !node.bgp || r == self.local_i {
            return;
        }
        if let Some(ip) = node.address(v6) {
            self.emit(ip, node.listen_port, node.asn, Some(r), peer, origin);
        }
    }

    fn emit(
        &mut self,
        ip: IpAddr,
        port: Option<u16>,
        peer_as: AsNumber,
        peer_node: Option<usize>,
        peer: &PeerInfo,
        origin: PeeringOrigin,
    ) {
        // Only over a family we have, and never to ourselves.
        let Some(own) = self.local.address(ip.is_ipv6()) else {
            return;
        };
        if ip == own {
            return;
        }
        let s = &peer.settings;
        let local_as = s.local_as.unwrap_or(self.local.asn);
        let peer_info = peer_node.map(|i| &self.index.nodes[i]);
        let rr_client = match &self.local.cluster_id {
            Some(ours) => {
                peer_as == local_as && peer_info.and_then(|n| n.cluster_id.as_ref()) != Some(ours)
            }
            None => false,
        };
        let next_hop = match s.next_hop_mode {
            Some(mode) => mode,
            // `keepOriginalNextHop` only acts on eBGP sessions (bird.cfg.template).
            None if s.keep_original_next_hop && peer_as != local_as => NextHopMode::Keep,
            None => NextHopMode::Auto,
        };
        self.peerings.push(Peering {
            peer_ip: ip,
            port,
            peer_as,
            local_as,
            peer_node: peer_info.map(|n| n.name.clone()),
            rr_client,
            password: s.password.clone(),
            ttl_security: s.ttl_security,
            next_hop,
            source_address: match s.source_address {
                SourceAddress::UseNodeIP => Some(own),
                SourceAddress::None => None,
            },
            max_restart_time: s.max_restart_time.as_ref().map(|d| d.duration()),
            keepalive_time: s.keepalive_time.as_ref().map(|d| d.duration()),
            num_allowed_local_as: s.num_allowed_local_as,
            passive: false,
            origin,
        });
    }
}
