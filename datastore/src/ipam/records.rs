//! The small IPAM records: [`BlockAffinity`] (a host's claim on a block),
//! [`IpamHandle`] (which blocks hold a handle's addresses) and [`IpamConfig`],
//! in Calico's JSON (libcalico-go `model/block_affinity.go`, `ipam_handle.go`,
//! `ipam_config.go`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::error::IpamError;

/// The life cycle of a block affinity. A host writes its claim `pending`, creates
/// the block, then confirms it; `pendingDeletion` marks a claim being released.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum AffinityState {
    /// The block exists and is affine to the host (`confirmed`; also what an
    /// empty state from old data means, as Calico reads it).
    #[serde(rename = "confirmed")]
    Confirmed,
    /// Claimed, block not yet written (`pending`).
    #[serde(rename = "pending")]
    Pending,
    /// Being released (`pendingDeletion`).
    #[serde(rename = "pendingDeletion")]
    PendingDeletion,
}

impl<'de> Deserialize<'de> for AffinityState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        match text.as_str() {
            "" | "confirmed" => Ok(AffinityState::Confirmed),
            "pending" => Ok(AffinityState::Pending),
            "pendingDeletion" => Ok(AffinityState::PendingDeletion),
            other => Err(serde::de::Error::custom(format!(
                "unknown affinity state {other:?}"
            ))),
        }
    }
}

/// The value of `/calico/ipam/v2/host/<node>/ipv4/block/<cidr>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockAffinity {
    /// Where the claim is in its life cycle.
    #[serde(default = "confirmed")]
    pub state: AffinityState,
    /// Set by Calico while an affinity is being deleted.
    #[serde(default)]
    pub deleted: bool,
    /// Fields this crate does not model, preserved on write.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn confirmed() -> AffinityState {
    AffinityState::Confirmed
}

impl BlockAffinity {
    /// An affinity in `state`.
    pub fn new(state: AffinityState) -> Self {
        BlockAffinity {
            state,
            deleted: false,
            extra: Map::new(),
        }
    }
}

/// The value of `/calico/ipam/v2/handle/<id>`: how many addresses of the handle
/// each block holds (`block`: CIDR -> count). A block's entry goes when its count
/// reaches zero, and the handle goes with its last entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IpamHandle {
    /// The handle's id (`handleID`, as Calico's v3 `IPAMHandle` names it).
    #[serde(rename = "handleID", default)]
    pub handle_id: String,
    /// Block CIDR (`10.0.0.0/26`) -> addresses of this handle in it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub block: BTreeMap<String, usize>,
    /// Set by Calico while a handle is being deleted.
    #[serde(default)]
    pub deleted: bool,
    /// Fields this crate does not model, preserved on write.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl IpamHandle {
    /// The total number of addresses of the handle.
    pub fn total(&self) -> usize {
        self.block.values().sum()
    }
}

/// The value of `/calico/ipam/v2/config`. When the key is absent Calico uses
/// `strict_affinity` false and `auto_allocate_blocks` true, as [`Default`] does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IpamConfig {
    /// Hosts take addresses only from their own blocks: no borrowing.
    #[serde(rename = "strict_affinity", default)]
    pub strict_affinity: bool,
    /// Hosts claim new blocks when theirs are full.
    #[serde(rename = "auto_allocate_blocks", default)]
    pub auto_allocate_blocks: bool,
    /// Other fields (`maxBlocksPerHost`, ...), preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for IpamConfig {
    fn default() -> Self {
        IpamConfig {
            strict_affinity: false,
            auto_allocate_blocks: true,
            extra: Map::new(),
        }
    }
}

/// Decodes a stored record, naming the key when it does not decode.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    key: &str,
    bytes: &[u8],
) -> Result<T, IpamError> {
    serde_json::from_slice(bytes).map_err(|source| IpamError::CorruptJson {
        key: key.to_string(),
        source,
    })
}

/// A record as stored JSON.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain data with string keys: serialising cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}
