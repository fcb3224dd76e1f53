//! Helpers shared by the `adj_out_*` tests (included with
//! `#[path = "adj_out_support.rs"] mod support;`). Compiled alone it has no tests.
#![allow(dead_code)]

use bytes::Bytes;
use ipnetwork::IpNetwork;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use bgp_proto::attribute::{AsPath, NextHop, Origin, PathAttribute};
use bgp_proto::context::AddPathFamilies;
use bgp_proto::iana::AfiSafi;
use bgp_proto::message::{Message, Update};
use bgp_proto::session::Negotiated;
use bgp_proto::{DecodeCtx, Nlri, PeerType, decode_message, frame_len};

use bgp_speaker::adj_out::{
    AdjOut, AdjOutConfig, AdjOutError, FlushSummary, GroupId, MemberSpec, PlainLocRib,
};
use bgp_speaker::attrs::{AttrInterner, Attrs, PathAttrs};
use bgp_speaker::config::PeerOptions;
use bgp_speaker::outbox::Outbox;
use bgp_speaker::policy::Policy;
use bgp_speaker::types::{Path, PeerId, PeerInfo, PeerRole, RibChange};

/// Our AS.
pub const LOCAL_AS: u32 = 65000;
/// Our router ID.
pub const ROUTER_ID: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 254);
/// The default cluster ID.
pub const CLUSTER: Ipv4Addr = Ipv4Addr::new(10, 255, 0, 1);
/// Our address on every session unless said otherwise.
pub const LOCAL_ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// A prefix from text.
pub fn net(text: &str) -> IpNetwork {
    text.parse().unwrap()
}

/// A peer to build.
#[derive(Debug, Clone)]
pub struct Peer {
    pub id: u32,
    pub role: PeerRole,
    pub peer_as: u32,
    pub four_octet_as: bool,
    pub families: Vec<AfiSafi>,
    pub add_path_send: AddPathFamilies,
    pub enhanced_route_refresh: bool,
    pub cluster_id: Ipv4Addr,
}

impl Peer {
    fn new(id: u32, role: PeerRole, peer_as: u32) -> Self {
        Peer {
            id,
            role,
            peer_as,
            four_octet_as: true,
            families: vec![AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST],
            add_path_send: AddPathFamilies::NONE,
            enhanced_route_refresh: false,
            cluster_id: CLUSTER,
        }
    }

    /// A route-reflector client.
    pub fn client(id: u32) -> Self {
        Peer::new(id, PeerRole::ReflectorClient, LOCAL_AS)
    }

    /// An iBGP peer that is not a client.
    pub fn internal(id: u32) -> Self {
        Peer::new(id, PeerRole::Internal, LOCAL_AS)
    }

    /// An eBGP peer in `asn`.
    pub fn external(id: u32, asn: u32) -> Self {
        Peer::new(id, PeerRole::External, asn)
    }

    /// Without the 4-octet AS capability.
    pub fn two_octet(mut self) -> Self {
        self.four_octet_as = false;
        self
    }

    /// Only these families.
    pub fn families(mut self, families: &[AfiSafi]) -> Self {
        self.families = families.to_vec();
        self
    }

    /// We send path identifiers for `family`.
    pub fn add_path(mut self, family: AfiSafi) -> Self {
        self.add_path_send.insert(family);
        self
    }

    /// Enhanced route refresh negotiated.
    pub fn enhanced(mut self) -> Self {
        self.enhanced_route_refresh = true;
        self
    }

    /// In another cluster.
    pub fn cluster(mut self, cluster_id: Ipv4Addr) -> Self {
        self.cluster_id = cluster_id;
        self
    }

    /// Its BGP identifier.
    pub fn router_id(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 1, 0, self.id as u8)
    }

    /// Its record.
    pub fn info(&self) -> PeerInfo {
        let address = IpAddr::V4(Ipv4Addr::new(10, 0, 0, self.id as u8));
        PeerInfo {
            id: PeerId(self.id),
            address,
            peer_as: self.peer_as,
            local_as: LOCAL_AS,
            router_id: self.router_id(),
            role: self.role,
            cluster_id: self.cluster_id,
            negotiated: Arc::new(Negotiated {
                local_as: LOCAL_AS,
                peer_as: self.peer_as,
                local_id: ROUTER_ID,
                peer_id: self.router_id(),
                peer_type: if self.role == PeerRole::External {
                    PeerType::External
                } else {
                    PeerType::Internal
                },
                families: self.families.clone(),
                four_octet_as: self.four_octet_as,
                add_path_receive: AddPathFamilies::NONE,
                add_path_send: self.add_path_send,
                extended_message: false,
                route_refresh: true,
                enhanced_route_refresh: self.enhanced_route_refresh,
                peer_graceful_restart: None,
                graceful_restart: false,
                peer_llgr: Vec::new(),
                peer_role: None,
                hold_time: Duration::from_secs(90),
                keepalive: Duration::from_secs(30),
            }),
        }
    }
}

/// Peer options: eBGP peers get an accept-all export policy (RFC 8212).
pub fn options(peer: &Peer) -> PeerOptions {
    let mut options = PeerOptions::new(bgp_proto::session::PeerAs::Exact(peer.peer_as));
    if peer.role == PeerRole::External {
        options.export = Some(Policy::accept_all("out"));
    }
    options
}

/// An AdjOut with its surroundings, as the core task holds them: the
/// Loc-RIB (with the sources of paths) is what the applied changes made it.
#[derive(Debug, Default)]
pub struct Harness {
    pub adj: AdjOut,
    pub interner: AttrInterner,
    pub rib: PlainLocRib,
    pub outboxes: HashMap<PeerId, Arc<Outbox>>,
}

impl Harness {
    /// Default configuration.
    pub fn new() -> Self {
        Harness::default()
    }

    /// With `config`.
    pub fn with_config(config: AdjOutConfig) -> Self {
        Harness {
            adj: AdjOut::new(config),
            ..Harness::default()
        }
    }

    /// With every group keeping its table (the groups' other way of
    /// working, for comparisons).
    pub fn tabled() -> Self {
        Harness::with_config(AdjOutConfig {
            always_keep_tables: true,
            ..AdjOutConfig::default()
        })
    }

    /// A peer that is known (a source of routes) but not a member.
    pub fn source(&mut self, peer: &Peer) {
        self.rib.peers.insert(PeerId(peer.id), peer.info());
    }

    /// Add a member with default options and an empty Loc-RIB.
    pub fn add(&mut self, peer: &Peer) -> GroupId {
        self.add_with(peer, options(peer), IpAddr::V4(LOCAL_ADDRESS), &[])
    }

    /// Add a member; `loc_rib` is recorded in the Loc-RIB first (not
    /// applied: a new group takes it from there).
    pub fn add_with(
        &mut self,
        peer: &Peer,
        options: PeerOptions,
        local: IpAddr,
        loc_rib: &[RibChange],
    ) -> GroupId {
        for change in loc_rib {
            self.rib.record(&mut change.clone());
        }
        self.join(peer, options, local).unwrap()
    }

    /// Add a member to the Loc-RIB as it stands.
    pub fn join(
        &mut self,
        peer: &Peer,
        options: PeerOptions,
        local: IpAddr,
    ) -> Result<GroupId, AdjOutError> {
        let outbox = Arc::new(Outbox::new());
        let info = peer.info();
        self.rib.peers.insert(info.id, info.clone());
        self.outboxes.insert(info.id, outbox.clone());
        let spec = MemberSpec::new(info, local, &options, outbox);
        self.adj.add_member(spec, &self.rib, &mut self.interner)
    }

    /// Record changes in the Loc-RIB (which sets their previous best path)
    /// and apply them.
    pub fn apply(&mut self, changes: &[RibChange]) {
        let mut changes = changes.to_vec();
        for change in &mut changes {
            self.rib.record(change);
        }
        self.adj.apply(&changes, &self.rib, &mut self.interner);
    }

    /// Flush.
    pub fn flush(&mut self) -> FlushSummary {
        self.adj.flush(&self.rib, &mut self.interner)
    }

    /// Apply changes and flush.
    pub fn send(&mut self, changes: &[RibChange]) -> FlushSummary {
        self.apply(changes);
        self.flush()
    }

    /// The member asks for `family` again.
    pub fn refresh(&mut self, peer: u32, family: AfiSafi) -> Result<(), AdjOutError> {
        let (rib, interner) = (&self.rib, &mut self.interner);
        self.adj.route_refresh(PeerId(peer), family, rib, interner)
    }

    /// What the member's group advertises for `prefix`.
    pub fn exported(&mut self, peer: u32, prefix: &str) -> Vec<(u32, Attrs)> {
        let prefix = net(prefix);
        let family = family_of(prefix);
        let (rib, interner) = (&self.rib, &mut self.interner);
        self.adj
            .exported(PeerId(peer), family, prefix, rib, interner)
    }

    /// Intern a set.
    pub fn intern(&mut self, attrs: PathAttrs) -> Attrs {
        self.interner.intern(attrs)
    }

    /// The outbox of a member.
    pub fn outbox(&self, peer: u32) -> &Arc<Outbox> {
        &self.outboxes[&PeerId(peer)]
    }

    /// Take what is queued for `peer` and tell the outbox it was written.
    /// Returns the buffers and whether the outbox reported "drained".
    pub fn take(&self, peer: u32) -> (Vec<Bytes>, bool) {
        let outbox = self.outbox(peer);
        let mut taken = VecDeque::new();
        outbox.take_all(&mut taken);
        let len = taken.iter().map(Bytes::len).sum();
        let drained = outbox.written(len);
        (taken.into_iter().collect(), drained)
    }

    /// The context `peer` decodes our messages with (peer type Internal, so
    /// no attribute is discarded on the way).
    pub fn decode_ctx(&self, peer: u32) -> DecodeCtx {
        self.rib.peers[&PeerId(peer)]
            .negotiated
            .encode_ctx()
            .with_peer_type(PeerType::Internal)
    }

    /// Take and decode everything queued for `peer`.
    pub fn messages(&self, peer: u32) -> Vec<Message> {
        let ctx = self.decode_ctx(peer);
        let (buffers, _) = self.take(peer);
        buffers.iter().flat_map(|b| decode_all(b, &ctx)).collect()
    }

    /// Take and decode the UPDATEs queued for `peer`, End-of-RIB markers
    /// left out.
    pub fn updates(&self, peer: u32) -> Vec<Update> {
        self.messages(peer)
            .into_iter()
            .filter_map(|m| match m {
                Message::Update(u) if u.end_of_rib_family().is_none() => Some(u),
                _ => None,
            })
            .collect()
    }

    /// What `peer` ends up with after everything queued (a receiver's view).
    pub fn routes(&self, peer: u32) -> Routes {
        Routes::from_updates(&self.updates(peer))
    }
}

/// The UPDATEs among `messages`, End-of-RIB markers included.
pub fn updates_of(messages: Vec<Message>) -> Vec<Update> {
    messages
        .into_iter()
        .filter_map(|m| match m {
            Message::Update(u) => Some(u),
            _ => None,
        })
        .collect()
}

/// Decode a buffer of back-to-back messages.
pub fn decode_all(mut buf: &[u8], ctx: &DecodeCtx) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(len) = frame_len(buf, ctx.max_message_len()).unwrap() {
        let decoded = decode_message(&buf[..len], ctx).unwrap();
        assert!(decoded.findings.is_empty(), "{:?}", decoded.findings);
        out.push(decoded.message);
        buf = &buf[len..];
    }
    assert!(buf.is_empty(), "trailing bytes");
    out
}

/// One received route: next hop and the attributes without MP_* / NEXT_HOP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub next_hop: NextHop,
    pub attributes: Vec<PathAttribute>,
}

impl Received {
    /// The attribute of type `code`.
    pub fn get(&self, code: u8) -> Option<&PathAttribute> {
        self.attributes.iter().find(|a| a.type_code() == code)
    }
}

/// Routes as a receiver holds them, and what it saw on the way.
#[derive(Debug, Default)]
pub struct Routes {
    /// Current state.
    pub table: BTreeMap<Nlri, Received>,
    /// Every announcement seen, in order.
    pub announced: Vec<Nlri>,
    /// Every withdrawal seen, in order.
    pub withdrawn: Vec<Nlri>,
}

impl Routes {
    /// Fold UPDATEs as a receiver would.
    pub fn from_updates(updates: &[Update]) -> Self {
        let mut routes = Routes::default();
        for update in updates {
            for (_, nlri) in update.withdrawn_routes() {
                routes.table.remove(nlri);
                routes.withdrawn.push(*nlri);
            }
            let attributes: Vec<PathAttribute> = update
                .attributes
                .iter()
                .filter(|a| {
                    !matches!(
                        a,
                        PathAttribute::NextHop(_)
                            | PathAttribute::MpReach(_)
                            | PathAttribute::MpUnreach(_)
                    )
                })
                .cloned()
                .collect();
            let mut announced: Vec<(Nlri, NextHop)> = Vec::new();
            if let Some(next_hop) = update.next_hop() {
                announced.extend(update.nlri.iter().map(|n| (*n, NextHop::V4(next_hop))));
            }
            if let Some(reach) = update.mp_reach() {
                let prefixes = reach.nlri.prefixes().iter();
                announced.extend(prefixes.map(|n| (*n, reach.next_hop.clone())));
            }
            for (nlri, next_hop) in announced {
                routes.table.insert(
                    nlri,
                    Received {
                        next_hop,
                        attributes: attributes.clone(),
                    },
                );
                routes.announced.push(nlri);
            }
        }
        routes
    }

    /// The route of `prefix` without path id.
    pub fn get(&self, prefix: &str) -> Option<&Received> {
        self.table.get(&Nlri::new(net(prefix)))
    }
}

/// A set with ORIGIN IGP, `as_path`, next hop `next_hop`, then `extra`.
pub fn attrs(as_path: &[u32], next_hop: &str, extra: Vec<PathAttribute>) -> PathAttrs {
    let next_hop = match next_hop.parse::<IpAddr>().unwrap() {
        IpAddr::V4(v4) => NextHop::V4(v4),
        IpAddr::V6(v6) => NextHop::V6 {
            global: v6,
            link_local: None,
        },
    };
    let mut attributes = vec![
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::from_sequence(as_path.to_vec())),
    ];
    attributes.extend(extra);
    attributes.sort_by_key(PathAttribute::type_code);
    PathAttrs {
        next_hop,
        attributes,
    }
}

/// A path from `peer` (0: local).
pub fn path(peer: u32, attrs: &Attrs) -> Path {
    Path {
        peer: PeerId(peer),
        path_id: 0,
        attrs: attrs.clone(),
        stale: false,
    }
}

/// The unicast family of `prefix`.
pub fn family_of(prefix: IpNetwork) -> AfiSafi {
    match prefix {
        IpNetwork::V4(_) => AfiSafi::IPV4_UNICAST,
        IpNetwork::V6(_) => AfiSafi::IPV6_UNICAST,
    }
}

/// A change of `prefix` to `paths` (best first, none: withdrawn); its
/// previous best path is set when [`Harness::apply`] records it.
pub fn change(prefix: &str, paths: Vec<Path>) -> RibChange {
    let prefix = net(prefix);
    RibChange {
        family: family_of(prefix),
        prefix,
        paths: paths.into(),
        previous_best: None,
    }
}

/// A withdrawal of `prefix`.
pub fn withdraw(prefix: &str) -> RibChange {
    change(prefix, Vec::new())
}
