//! [`EtcdStore`]: Calico's v3 resources in etcd (API v3), in libcalico-go's
//! layout: `/calico/resources/v3/projectcalico.org/<plural>/[<ns>/]<name>`, the
//! value the resource's JSON, the key's mod revision its resource version.

mod config;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, DeleteOptions, GetOptions, PutOptions, Txn, TxnOp, TxnOpResponse,
};
use tracing::warn;

pub use config::{EtcdConfig, EtcdTls};

use super::{Datastore, LeaseId, Listing, Precondition, VersionedValue, WatchStream, prepare};
use crate::error::DatastoreError;
use crate::model::{Kind, Resource, ResourceKey};

/// A datastore on etcd. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct EtcdStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    config: EtcdConfig,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("endpoints", &self.inner.config.endpoints)
            .finish_non_exhaustive()
    }
}

/// Maps etcd-client's errors onto ours: unreachable, compacted, or other.
pub(crate) fn map_err(e: etcd_client::Error) -> DatastoreError {
    use etcd_client::Error as E;
    match e {
        E::TransportError(t) => DatastoreError::Unavailable(t.to_string()),
        E::IoError(io) => DatastoreError::Unavailable(io.to_string()),
        E::GRpcStatus(s) => {
            let msg = s.message().to_string();
            if msg.contains("required revision has been compacted") {
                return DatastoreError::Compacted {
                    requested: 0,
                    compacted: 0,
                };
            }
            // gRPC codes: 1 Cancelled, 4 DeadlineExceeded, 14 Unavailable, and
            // 2 Unknown for a broken HTTP/2 connection.
            let code = s.code() as i32;
            let transport = msg.contains("transport")
                || msg.contains("connection")
                || msg.contains("h2 protocol")
                || msg.contains("broken pipe");
            if matches!(code, 1 | 4 | 14) || (code == 2 && transport) {
                DatastoreError::Unavailable(format!("{msg} (gRPC code {code})"))
            } else {
                DatastoreError::Etcd(format!("{msg} (gRPC code {code})"))
            }
        }
        E::WatchError(m) | E::LeaseKeepAliveError(m) => DatastoreError::Unavailable(m),
        other => DatastoreError::Etcd(other.to_string()),
    }
}

/// Decodes a stored key/value, or says why not.
pub(crate) fn decode(
    key: &[u8],
    value: &[u8],
    mod_revision: i64,
) -> Result<Resource, DatastoreError> {
    let path = String::from_utf8_lossy(key).into_owned();
    Resource::from_stored(value, mod_revision)
        .map_err(|source| DatastoreError::Decode { key: path, source })
}

impl EtcdStore {
    /// Connects (lazily: an unreachable etcd shows in the first request, unless
    /// credentials are set, which are checked now).
    pub async fn connect(config: EtcdConfig) -> Result<Self, DatastoreError> {
        let options = config.connect_options()?;
        let client = Client::connect(&config.endpoints, Some(options))
            .await
            .map_err(map_err)?;
        Ok(EtcdStore {
            inner: Arc::new(Inner { client, config }),
        })
    }

    /// The underlying etcd client (for maintenance such as compaction).
    pub fn client(&self) -> Client {
        self.inner.client.clone()
    }

    /// The settings this store was made with.
    pub fn config(&self) -> &EtcdConfig {
        &self.inner.config
    }

    /// Lists a kind at the current revision, or at `revision` when given, in pages
    /// of [`EtcdConfig::list_page_size`] keys, all at one revision.
    pub(crate) async fn list_at(
        &self,
        kind: Kind,
        revision: Option<i64>,
    ) -> Result<Listing, DatastoreError> {
        let prefix = kind.prefix();
        // The end of the prefix range: its last byte (`/`) plus one.
        let mut end = prefix.clone().into_bytes();
        if let Some(last) = end.last_mut() {
            *last += 1;
        }
        let limit = self.config().list_page_size.max(1) as i64;
        let mut at = revision;
        let mut start = prefix.into_bytes();
        let mut resources = Vec::new();
        loop {
            let mut opts = GetOptions::new().with_range(end.clone()).with_limit(limit);
            if let Some(rev) = at {
                opts = opts.with_revision(rev);
            }
            let resp = self
                .client()
                .get(start.clone(), Some(opts))
                .await
                .map_err(map_err)?;
            if at.is_none() {
                at = resp.header().map(|h| h.revision());
            }
            for kv in resp.kvs() {
                match decode(kv.key(), kv.value(), kv.mod_revision()) {
                    Ok(r) => resources.push(r),
                    Err(e) => warn!(error = %e, "skipping undecodable value"),
                }
            }
            match resp.kvs().last() {
                Some(last) if resp.more() => {
                    // The next page starts just after the last key.
                    start = last.key().to_vec();
                    start.push(0);
                }
                _ => break,
            }
        }
        Ok(Listing {
            resources,
            revision: at.unwrap_or_default(),
        })
    }

    async fn conditional(
        &self,
        key: &str,
        pre: Precondition,
        op: TxnOp,
    ) -> Result<i64, DatastoreError> {
        let compare = match pre {
            Precondition::MustNotExist => Compare::create_revision(key, CompareOp::Equal, 0),
            Precondition::Revision(r) => Compare::mod_revision(key, CompareOp::Equal, r),
            Precondition::None => unreachable!("unconditional writes need no transaction"),
        };
        let txn = Txn::new()
            .when([compare])
            .and_then([op])
            .or_else([TxnOp::get(key, None)]);
        let resp = self.client().txn(txn).await.map_err(map_err)?;
        if resp.succeeded() {
            return Ok(resp.header().map(|h| h.revision()).unwrap_or_default());
        }
        let actual = resp.op_responses().into_iter().find_map(|r| match r {
            TxnOpResponse::Get(g) => g.kvs().first().map(|kv| kv.mod_revision()),
            _ => None,
        });
        Err(DatastoreError::Conflict {
            key: key.to_string(),
            expected: match pre {
                Precondition::Revision(r) => Some(r),
                _ => None,
            },
            actual,
        })
    }
}

impl Datastore for EtcdStore {
    async fn list(&self, kind: Kind) -> Result<Listing, DatastoreError> {
        self.list_at(kind, None).await
    }

    async fn get(&self, key: &ResourceKey) -> Result<Option<Resource>, DatastoreError> {
        let resp = self.client().get(key.path(), None).await.map_err(map_err)?;
        resp.kvs()
            .first()
            .map(|kv| decode(kv.key(), kv.value(), kv.mod_revision()))
            .transpose()
    }

    async fn watch(&self, kind: Kind, from_revision: i64) -> Result<WatchStream, DatastoreError> {
        watch::watch(self.clone(), kind, from_revision).await
    }

    /// One range read: the watcher starts from the listing itself.
    async fn list_and_watch(&self, kind: Kind) -> Result<(Listing, WatchStream), DatastoreError> {
        let listing = self.list_at(kind, None).await?;
        let stream = watch::watch_from_listing(self.clone(), kind, &listing);
        Ok((listing, stream))
    }

    async fn put(&self, resource: &Resource, pre: Precondition) -> Result<i64, DatastoreError> {
        let (key, stored) = prepare(resource)?;
        let (path, value) = (key.path(), stored.to_stored_json());
        if pre == Precondition::None {
            let resp = self
                .client()
                .put(path, value, None)
                .await
                .map_err(map_err)?;
            return Ok(resp.header().map(|h| h.revision()).unwrap_or_default());
        }
        self.conditional(&path, pre, TxnOp::put(path.clone(), value, None))
            .await
    }

    async fn delete(&self, key: &ResourceKey, pre: Precondition) -> Result<i64, DatastoreError> {
        let path = key.path();
        if pre == Precondition::None {
            let resp = self
                .client()
                .delete(path.clone(), None)
                .await
                .map_err(map_err)?;
            if resp.deleted() == 0 {
                return Err(DatastoreError::NotFound(path));
            }
            return Ok(resp.header().map(|h| h.revision()).unwrap_or_default());
        }
        match self
            .conditional(
                &path,
                pre,
                TxnOp::delete(path.clone(), None::<DeleteOptions>),
            )
            .await
        {
            Err(DatastoreError::Conflict { actual: None, .. }) => {
                Err(DatastoreError::NotFound(path))
            }
            other => other,
        }
    }

    async fn put_with_lease(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<LeaseId, DatastoreError> {
        let mut c = self.client();
        let secs = ttl.as_secs().max(1) as i64;
        let lease = c.lease_grant(secs, None).await.map_err(map_err)?.id();
        c.put(key, value, Some(PutOptions::new().with_lease(lease)))
            .await
            .map_err(map_err)?;
        Ok(lease)
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<Duration, DatastoreError> {
        let lease_err = |e: etcd_client::Error| {
            if e.to_string().contains("lease not found") {
                DatastoreError::LeaseNotFound(lease)
            } else {
                map_err(e)
            }
        };
        let (mut keeper, mut responses) = self
            .client()
            .lease_keep_alive(lease)
            .await
            .map_err(lease_err)?;
        keeper.keep_alive().await.map_err(lease_err)?;
        match responses.message().await.map_err(lease_err)? {
            Some(r) if r.ttl() > 0 => Ok(Duration::from_secs(r.ttl() as u64)),
            _ => Err(DatastoreError::LeaseNotFound(lease)),
        }
    }

    async fn revoke(&self, lease: LeaseId) -> Result<(), DatastoreError> {
        match self.client().lease_revoke(lease).await {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains("lease not found") => {
                Err(DatastoreError::LeaseNotFound(lease))
            }
            Err(e) => Err(map_err(e)),
        }
    }

    async fn get_raw(&self, key: &str) -> Result<Option<Vec<u8>>, DatastoreError> {
        let resp = self.client().get(key, None).await.map_err(map_err)?;
        Ok(resp.kvs().first().map(|kv| kv.value().to_vec()))
    }

    async fn grant_lease(&self, ttl: Duration) -> Result<LeaseId, DatastoreError> {
        let secs = ttl.as_secs().max(1) as i64;
        let resp = self
            .client()
            .lease_grant(secs, None)
            .await
            .map_err(map_err)?;
        Ok(resp.id())
    }

    async fn put_raw(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
    ) -> Result<(), DatastoreError> {
        let options = lease.map(|l| PutOptions::new().with_lease(l));
        match self.client().put(key, value, options).await {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains("lease not found") => {
                Err(DatastoreError::LeaseNotFound(lease.unwrap_or_default()))
            }
            Err(e) => Err(map_err(e)),
        }
    }

    async fn delete_raw(&self, key: &str) -> Result<bool, DatastoreError> {
        let resp = self.client().delete(key, None).await.map_err(map_err)?;
        Ok(resp.deleted() > 0)
    }

    async fn list_raw(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, DatastoreError> {
        let resp = self
            .client()
            .get(prefix, Some(GetOptions::new().with_prefix()))
            .await
            .map_err(map_err)?;
        Ok(resp
            .kvs()
            .iter()
            .map(|kv| {
                (
                    String::from_utf8_lossy(kv.key()).into_owned(),
                    kv.value().to_vec(),
                )
            })
            .collect())
    }

    async fn get_raw_versioned(&self, key: &str) -> Result<Option<VersionedValue>, DatastoreError> {
        let resp = self.client().get(key, None).await.map_err(map_err)?;
        Ok(resp.kvs().first().map(|kv| VersionedValue {
            value: kv.value().to_vec(),
            mod_revision: kv.mod_revision(),
        }))
    }

    async fn put_raw_if(
        &self,
        key: &str,
        value: &[u8],
        precondition: Precondition,
    ) -> Result<i64, DatastoreError> {
        if precondition == Precondition::None {
            let resp = self.client().put(key, value, None).await.map_err(map_err)?;
            return Ok(resp.header().map(|h| h.revision()).unwrap_or_default());
        }
        self.conditional(key, precondition, TxnOp::put(key, value, None))
            .await
    }

    async fn delete_raw_if(
        &self,
        key: &str,
        precondition: Precondition,
    ) -> Result<i64, DatastoreError> {
        if precondition == Precondition::None {
            let resp = self.client().delete(key, None).await.map_err(map_err)?;
            if resp.deleted() == 0 {
                return Err(DatastoreError::NotFound(key.to_string()));
            }
            return Ok(resp.header().map(|h| h.revision()).unwrap_or_default());
        }
        if precondition == Precondition::MustNotExist {
            // Deleting "only if absent" deletes nothing: say which of the two it is.
            return Err(match self.get_raw_versioned(key).await? {
                Some(v) => DatastoreError::Conflict {
                    key: key.to_string(),
                    expected: None,
                    actual: Some(v.mod_revision),
                },
                None => DatastoreError::NotFound(key.to_string()),
            });
        }
        let op = TxnOp::delete(key, None::<DeleteOptions>);
        match self.conditional(key, precondition, op).await {
            Err(DatastoreError::Conflict { actual: None, .. }) => {
                Err(DatastoreError::NotFound(key.to_string()))
            }
            other => other,
        }
    }

    async fn list_raw_versioned(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, VersionedValue)>, DatastoreError> {
        let resp = self
            .client()
            .get(prefix, Some(GetOptions::new().with_prefix()))
            .await
            .map_err(map_err)?;
        Ok(resp
            .kvs()
            .iter()
            .map(|kv| {
                let value = VersionedValue {
                    value: kv.value().to_vec(),
                    mod_revision: kv.mod_revision(),
                };
                (String::from_utf8_lossy(kv.key()).into_owned(), value)
            })
            .collect())
    }
}
