//! The generic resource envelope (`apiVersion`, `kind`, `metadata`, `spec`) and the
//! [`Resource`] sum of every modelled kind.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{
    API_VERSION, BgpConfigurationSpec, BgpPeerSpec, GlobalNetworkPolicySpec, IpPoolSpec, Kind,
    NetworkPolicySpec, NodeSpec, ObjectMeta, ProfileSpec, ResourceKey, WorkloadEndpointSpec,
};
use crate::error::ModelError;

/// A spec type, tied to its kind.
pub trait Spec: Clone + Default + Serialize + DeserializeOwned + PartialEq {
    /// The kind whose `spec` this is.
    const KIND: Kind;
}

/// One resource: Calico's envelope around a spec. Top-level fields other than
/// `apiVersion`, `kind`, `metadata` and `spec` (such as `status`) are kept in
/// [`Object::extra`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Object<S> {
    /// Always `projectcalico.org/v3`.
    pub api_version: String,
    /// The kind name (`"Node"`, `"BGPPeer"`, ...).
    pub kind: String,
    /// Name, namespace, labels, resource version, ...
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The kind-specific specification.
    #[serde(default)]
    pub spec: S,
    /// Other top-level fields, preserved on write.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<S: Spec> Object<S> {
    /// A resource with the given name and spec, and no labels.
    pub fn new(name: impl Into<String>, spec: S) -> Self {
        Object {
            api_version: API_VERSION.to_string(),
            kind: S::KIND.name().to_string(),
            metadata: ObjectMeta::named(name),
            spec,
            extra: Map::new(),
        }
    }

    /// The same resource with a label added.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.labels.insert(key.into(), value.into());
        self
    }

    /// The same resource in a namespace.
    pub fn in_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.metadata.namespace = Some(namespace.into());
        self
    }

    /// The resource's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }
}

/// A Node resource.
pub type Node = Object<NodeSpec>;
/// A BGPPeer resource.
pub type BgpPeer = Object<BgpPeerSpec>;
/// A BGPConfiguration resource.
pub type BgpConfiguration = Object<BgpConfigurationSpec>;
/// An IPPool resource.
pub type IpPool = Object<IpPoolSpec>;
/// A WorkloadEndpoint resource.
pub type WorkloadEndpoint = Object<WorkloadEndpointSpec>;
/// A Profile resource.
pub type Profile = Object<ProfileSpec>;
/// A GlobalNetworkPolicy resource.
pub type GlobalNetworkPolicy = Object<GlobalNetworkPolicySpec>;
/// A NetworkPolicy resource.
pub type NetworkPolicy = Object<NetworkPolicySpec>;

macro_rules! resources {
    ($($variant:ident($spec:ident)),* $(,)?) => {
        $(impl Spec for $spec { const KIND: Kind = Kind::$variant; })*

        /// Any resource of a modelled kind.
        #[derive(Clone, Debug, PartialEq)]
        #[allow(missing_docs)] // one variant per kind, documented on `Kind`
        pub enum Resource {
            $($variant(Object<$spec>),)*
        }

        $(impl From<Object<$spec>> for Resource {
            fn from(o: Object<$spec>) -> Self { Resource::$variant(o) }
        })*

        impl Resource {
            /// The resource's kind.
            pub fn kind(&self) -> Kind {
                match self { $(Resource::$variant(_) => Kind::$variant,)* }
            }

            /// The resource's metadata.
            pub fn metadata(&self) -> &ObjectMeta {
                match self { $(Resource::$variant(o) => &o.metadata,)* }
            }

            /// The resource's metadata, mutable.
            pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
                match self { $(Resource::$variant(o) => &mut o.metadata,)* }
            }

            /// Decodes a resource from a JSON value, dispatching on `kind`.
            pub fn from_value(value: Value) -> Result<Resource, ModelError> {
                let api = value.get("apiVersion").and_then(Value::as_str).unwrap_or("");
                if api != API_VERSION {
                    return Err(ModelError::ApiVersion(api.to_string()));
                }
                let name = value.get("kind").and_then(Value::as_str).unwrap_or("");
                let kind = Kind::from_kind_name(name)
                    .ok_or_else(|| ModelError::UnknownKind(name.to_string()))?;
                let json = |source| ModelError::Json { kind: kind.name().to_string(), source };
                Ok(match kind {
                    $(Kind::$variant => Resource::$variant(
                        serde_json::from_value(value).map_err(json)?),)*
                })
            }

            fn to_value_inner(&self) -> Result<Value, serde_json::Error> {
                match self { $(Resource::$variant(o) => serde_json::to_value(o),)* }
            }
        }
    };
}

resources! {
    Node(NodeSpec),
    BgpPeer(BgpPeerSpec),
    BgpConfiguration(BgpConfigurationSpec),
    IpPool(IpPoolSpec),
    WorkloadEndpoint(WorkloadEndpointSpec),
    Profile(ProfileSpec),
    GlobalNetworkPolicy(GlobalNetworkPolicySpec),
    NetworkPolicy(NetworkPolicySpec),
}

impl Resource {
    /// The resource's name.
    pub fn name(&self) -> &str {
        &self.metadata().name
    }

    /// The resource's key, checking that it has a name and that the namespace fits
    /// the kind (namespaced kinds without a namespace get `default`, as calicoctl does).
    pub fn key(&self) -> Result<ResourceKey, ModelError> {
        let meta = self.metadata();
        let kind = self.kind();
        if meta.name.is_empty() {
            return Err(ModelError::MissingName(kind));
        }
        if meta.name.contains('/') {
            return Err(ModelError::InvalidValue {
                what: "name",
                value: meta.name.clone(),
            });
        }
        match (&meta.namespace, kind.is_namespaced()) {
            (Some(ns), true) => Ok(ResourceKey::namespaced(kind, ns.clone(), meta.name.clone())),
            (None, true) => Ok(ResourceKey::namespaced(kind, "default", meta.name.clone())),
            (None, false) => Ok(ResourceKey::global(kind, meta.name.clone())),
            (Some(_), false) => Err(ModelError::Namespace {
                kind,
                name: meta.name.clone(),
                problem: "a global kind cannot have a namespace",
            }),
        }
    }

    /// The resource's JSON value.
    pub fn to_value(&self) -> Value {
        // Serializing these types cannot fail: maps have string keys only.
        self.to_value_inner().unwrap_or(Value::Null)
    }

    /// Decodes a resource from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Resource, ModelError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|source| ModelError::Json {
            kind: "resource".to_string(),
            source,
        })?;
        Resource::from_value(value)
    }

    /// The JSON bytes stored in etcd for this resource: as Calico writes them, without
    /// `metadata.resourceVersion` (the etcd mod revision is the version).
    pub fn to_stored_json(&self) -> Vec<u8> {
        let mut copy = self.clone();
        copy.metadata_mut().resource_version = None;
        serde_json::to_vec(&copy.to_value()).unwrap_or_default()
    }

    /// Decodes a stored value and sets its resource version to `mod_revision`.
    pub fn from_stored(bytes: &[u8], mod_revision: i64) -> Result<Resource, ModelError> {
        let mut r = Resource::from_json(bytes)?;
        r.metadata_mut().resource_version = Some(mod_revision.to_string());
        Ok(r)
    }
}

impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value_inner()
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Resource::from_value(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
