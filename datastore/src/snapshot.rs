//! [`Snapshot`]: every resource of every kind at one point, as a syncer sees it.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use crate::model::{BgpConfiguration, BgpPeer, IpPool, Kind, Node, Resource, ResourceKey};
use crate::peering::PeeringIndex;

/// All resources, by key. Cheap to clone (values are shared), and carries a lazily
/// built index for [`crate::peering::peerings`], dropped on every change.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    resources: BTreeMap<ResourceKey, Arc<Resource>>,
    revision: i64,
    index: OnceLock<Arc<PeeringIndex>>,
}

macro_rules! typed_iter {
    ($(#[$doc:meta])* $fn:ident, $kind:ident, $ty:ty) => {
        $(#[$doc])*
        pub fn $fn(&self) -> impl Iterator<Item = &$ty> + '_ {
            self.of_kind(Kind::$kind).filter_map(|r| match r {
                Resource::$kind(x) => Some(x),
                _ => None,
            })
        }
    };
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Self {
        Snapshot::default()
    }

    /// A snapshot holding these resources (later duplicates replace earlier ones).
    pub fn from_resources(resources: impl IntoIterator<Item = Resource>) -> Self {
        let mut s = Snapshot::new();
        for r in resources {
            s.insert(r);
        }
        s
    }

    /// The highest datastore revision applied (0 when built by hand).
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// Records that every change up to `revision` is applied.
    pub fn set_revision(&mut self, revision: i64) {
        self.revision = self.revision.max(revision);
    }

    /// Adds or replaces a resource. Resources without a valid key are ignored
    /// (returns `false`).
    pub fn insert(&mut self, resource: Resource) -> bool {
        self.upsert(resource).is_some()
    }

    /// Adds or replaces a resource, returning it (shared) and the one it replaced;
    /// `None` when the resource has no valid key.
    pub fn upsert(&mut self, resource: Resource) -> Option<(Arc<Resource>, Option<Arc<Resource>>)> {
        let key = resource.key().ok()?;
        if let Some(rev) = resource.metadata().revision() {
            self.set_revision(rev);
        }
        let new = Arc::new(resource);
        let old = self.resources.insert(key, new.clone());
        self.index = OnceLock::new();
        Some((new, old))
    }

    /// The resource at a key, shared.
    pub fn get_shared(&self, key: &ResourceKey) -> Option<Arc<Resource>> {
        self.resources.get(key).cloned()
    }

    /// Removes a resource, returning it.
    pub fn remove(&mut self, key: &ResourceKey) -> Option<Arc<Resource>> {
        let old = self.resources.remove(key);
        if old.is_some() {
            self.index = OnceLock::new();
        }
        old
    }

    /// Removes every resource of a kind.
    pub fn clear_kind(&mut self, kind: Kind) {
        self.resources.retain(|k, _| k.kind != kind);
        self.index = OnceLock::new();
    }

    /// The resource at a key.
    pub fn get(&self, key: &ResourceKey) -> Option<&Resource> {
        self.resources.get(key).map(|r| &**r)
    }

    /// Every resource with its key, ordered by kind, namespace and name.
    pub fn iter(&self) -> impl Iterator<Item = (&ResourceKey, &Resource)> + '_ {
        self.resources.iter().map(|(k, v)| (k, &**v))
    }

    /// Every resource of a kind, ordered by namespace and name.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Resource> + '_ {
        let start = ResourceKey::global(kind, String::new());
        self.resources
            .range(start..)
            .take_while(move |(k, _)| k.kind == kind)
            .map(|(_, v)| &**v)
    }

    /// The number of resources.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether there are no resources.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    typed_iter!(
        /// Every Node, by name.
        nodes, Node, Node
    );
    typed_iter!(
        /// Every BGPPeer, by name.
        bgp_peers, BgpPeer, BgpPeer
    );
    typed_iter!(
        /// Every BGPConfiguration, by name.
        bgp_configurations, BgpConfiguration, BgpConfiguration
    );
    typed_iter!(
        /// Every IPPool, by name.
        ip_pools, IpPool, IpPool
    );

    /// The Node of that name.
    pub fn node(&self, name: &str) -> Option<&Node> {
        match self.get(&ResourceKey::global(Kind::Node, name))? {
            Resource::Node(n) => Some(n),
            _ => None,
        }
    }

    /// The BGPConfiguration of that name (`default`, `node.<name>`).
    pub fn bgp_configuration(&self, name: &str) -> Option<&BgpConfiguration> {
        match self.get(&ResourceKey::global(Kind::BgpConfiguration, name))? {
            Resource::BgpConfiguration(c) => Some(c),
            _ => None,
        }
    }

    /// The index used by the peering computation, built on first use after a change.
    pub fn peering_index(&self) -> Arc<PeeringIndex> {
        self.index
            .get_or_init(|| Arc::new(PeeringIndex::build(self)))
            .clone()
    }
}
