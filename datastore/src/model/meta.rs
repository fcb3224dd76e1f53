//! Kubernetes-style object metadata (`metav1.ObjectMeta`) as Calico stores it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Labels of a resource: the input of [`crate::selector`] expressions.
pub type Labels = BTreeMap<String, String>;

/// Object metadata. Fields not modelled here (`ownerReferences`, `finalizers`, ...)
/// are kept in [`ObjectMeta::extra`] and written back unchanged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// The resource's name, unique per kind (and namespace).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The namespace of a namespaced kind (WorkloadEndpoint, NetworkPolicy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The etcd mod revision of the stored value, as a decimal string. Set when read
    /// from a datastore; never stored in the value itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Unique id, when the writer set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// RFC 3339 creation time, when the writer set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// Labels, matched by selectors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Every other metadata field, preserved on write.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ObjectMeta {
    /// Metadata with only a name.
    pub fn named(name: impl Into<String>) -> Self {
        ObjectMeta {
            name: name.into(),
            ..ObjectMeta::default()
        }
    }

    /// The resource version as an etcd revision, when set and numeric.
    pub fn revision(&self) -> Option<i64> {
        self.resource_version.as_deref()?.parse().ok()
    }
}
