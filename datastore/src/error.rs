//! Error types of the crate, one enum per concern.

use crate::model::Kind;

/// A resource, key or value that does not fit Calico's data model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A field value that does not parse (AS number, port, duration, CIDR, ...).
    #[error("invalid {what}: {value:?}")]
    InvalidValue {
        /// What the value should have been.
        what: &'static str,
        /// The offending text.
        value: String,
    },
    /// A `kind` this crate does not model.
    #[error("unknown resource kind {0:?}")]
    UnknownKind(String),
    /// An `apiVersion` other than `projectcalico.org/v3`.
    #[error("unsupported apiVersion {0:?} (expected \"projectcalico.org/v3\")")]
    ApiVersion(String),
    /// A resource without `metadata.name`.
    #[error("{0} has no metadata.name")]
    MissingName(Kind),
    /// A namespaced kind without a namespace, or a global kind with one.
    #[error("{kind} {name:?}: {problem}")]
    Namespace {
        /// The resource's kind.
        kind: Kind,
        /// The resource's name.
        name: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// An etcd key outside Calico's v3 layout.
    #[error("not a Calico v3 resource key: {0:?}")]
    InvalidKey(String),
    /// JSON that does not decode into the resource's type.
    #[error("{kind}: {source}")]
    Json {
        /// The kind being decoded (or "resource" when unknown yet).
        kind: String,
        /// The decoder's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
}

/// An error of a [`crate::store::Datastore`] operation.
#[derive(Debug, thiserror::Error)]
pub enum DatastoreError {
    /// The datastore cannot be reached (connection refused, timeout, lost stream).
    #[error("datastore unavailable: {0}")]
    Unavailable(String),
    /// The requested revision has been compacted away (etcd: "required revision has
    /// been compacted"); the caller must relist.
    #[error("revision {requested} has been compacted (oldest available: {compacted})")]
    Compacted {
        /// The revision asked for.
        requested: i64,
        /// The compaction revision.
        compacted: i64,
    },
    /// A compare-and-swap failed: the key's revision was not the expected one.
    #[error("conflict on {key}: expected revision {expected:?}, found {actual:?}")]
    Conflict {
        /// The etcd key.
        key: String,
        /// The revision the caller expected (`None`: expected absent).
        expected: Option<i64>,
        /// The revision found (`None`: absent).
        actual: Option<i64>,
    },
    /// The key does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The lease does not exist (expired or revoked).
    #[error("lease {0} not found (expired or revoked)")]
    LeaseNotFound(i64),
    /// A stored value that does not decode.
    #[error("bad value at {key}: {source}")]
    Decode {
        /// The etcd key.
        key: String,
        /// Why it does not decode.
        #[source]
        source: ModelError,
    },
    /// A resource that cannot be stored (no name, wrong namespace, ...).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The backend's configuration is unusable (unreadable TLS file, bad endpoint).
    #[error("datastore configuration: {0}")]
    Config(String),
    /// Any other error reported by etcd.
    #[error("etcd: {0}")]
    Etcd(String),
}

impl DatastoreError {
    /// Whether retrying later may succeed (the datastore was unreachable).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DatastoreError::Unavailable(_) | DatastoreError::Compacted { .. }
        )
    }
}
