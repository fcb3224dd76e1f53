//! Calico IPAM block affinity keys, read from etcd as raw keys. Pure code.
//!
//! Calico's IPAM (libcalico-go, etcdv3 data model) marks each block a
//! node owns with a key
//! `/calico/ipam/v2/host/<node>/ipv4/block/<network>-<length>` (and
//! `ipv6`), the CIDR with `-` for `/`, whose value is a small JSON
//! document with the affinity's `state` (`pending` while the block is
//! being claimed, `confirmed`, `pendingDeletion` while it is released)
//! and sometimes `deleted`. Only a confirmed affinity (or one with no
//! state, as older writers leave it) makes the block the node's: a pending
//! block may not exist yet and cannot hold allocations, a block pending
//! deletion is on its way out.

use ipnetwork::IpNetwork;

use crate::kernel::route::normalise;

/// Where a node's affinity keys are.
pub fn host_prefix(node: &str) -> String {
    format!("/calico/ipam/v2/host/{node}/")
}

/// Why an affinity key was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AffinityError {
    /// Not `.../ipv4/block/<cidr>` or `.../ipv6/block/<cidr>` under the
    /// node's prefix.
    #[error("not a block affinity key of this node: {0}")]
    NotAnAffinityKey(String),
    /// The CIDR part does not parse, or is of the other family.
    #[error("block affinity key {key}: bad block {block:?}")]
    BadBlock {
        /// The whole key.
        key: String,
        /// Its CIDR part.
        block: String,
    },
    /// The value is not the JSON object Calico writes.
    #[error("block affinity key {key}: value is not a JSON object: {message}")]
    BadValue {
        /// The key.
        key: String,
        /// The parser's words.
        message: String,
    },
}

/// The block a key of `node` names, if its value makes it affine.
/// `Ok(None)`: a well-formed affinity that is not (or no longer) in force.
pub fn parse_affinity(
    node: &str,
    key: &str,
    value: &[u8],
) -> Result<Option<IpNetwork>, AffinityError> {
    let not_ours = || AffinityError::NotAnAffinityKey(key.to_string());
    let rest = key.strip_prefix(&host_prefix(node)).ok_or_else(not_ours)?;
    let (family, block) = rest.split_once("/block/").ok_or_else(not_ours)?;
    let v6 = match family {
        "ipv4" => false,
        "ipv6" => true,
        _ => return Err(not_ours()),
    };
    let bad_block = || AffinityError::BadBlock {
        key: key.to_string(),
        block: block.to_string(),
    };
    let (network, length) = block.rsplit_once('-').ok_or_else(bad_block)?;
    let network: IpNetwork = format!("{network}/{length}")
        .parse()
        .map_err(|_| bad_block())?;
    if network.is_ipv6() != v6 {
        return Err(bad_block());
    }
    if !in_force(value).map_err(|message| AffinityError::BadValue {
        key: key.to_string(),
        message,
    })? {
        return Ok(None);
    }
    Ok(Some(normalise(network)))
}

/// Does the value say the affinity holds (see the module documentation)?
fn in_force(value: &[u8]) -> Result<bool, String> {
    if value.iter().all(u8::is_ascii_whitespace) {
        return Ok(true);
    }
    let parsed: serde_json::Value = serde_json::from_slice(value).map_err(|e| e.to_string())?;
    let object = parsed
        .as_object()
        .ok_or_else(|| "not an object".to_string())?;
    if object.get("deleted").and_then(|d| d.as_bool()) == Some(true) {
        return Ok(false);
    }
    Ok(match object.get("state").and_then(|s| s.as_str()) {
        None | Some("") | Some("confirmed") => true,
        Some(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY4: &str = "/calico/ipam/v2/host/node-a/ipv4/block/10.65.4.0-26";
    const KEY6: &str = "/calico/ipam/v2/host/node-a/ipv6/block/fd00:65::-122";

    #[test]
    fn confirmed_blocks_of_both_families_are_taken() {
        let confirmed = br#"{"state":"confirmed"}"#;
        assert_eq!(
            parse_affinity("node-a", KEY4, confirmed),
            Ok(Some("10.65.4.0/26".parse().unwrap()))
        );
        assert_eq!(
            parse_affinity("node-a", KEY6, b""),
            Ok(Some("fd00:65::/122".parse().unwrap()))
        );
    }

    #[test]
    fn pending_released_and_deleted_affinities_are_not() {
        for value in [
            &br#"{"state":"pending"}"#[..],
            br#"{"state":"pendingDeletion"}"#,
            br#"{"state":"confirmed","deleted":true}"#,
        ] {
            assert_eq!(parse_affinity("node-a", KEY4, value), Ok(None));
        }
    }

    #[test]
    fn other_nodes_and_bad_keys_are_typed_errors() {
        assert!(matches!(
            parse_affinity("node-b", KEY4, b""),
            Err(AffinityError::NotAnAffinityKey(_))
        ));
        let bad = "/calico/ipam/v2/host/node-a/ipv4/block/10.65.4.0";
        assert!(matches!(
            parse_affinity("node-a", bad, b""),
            Err(AffinityError::BadBlock { .. })
        ));
        let wrong_family = "/calico/ipam/v2/host/node-a/ipv6/block/10.65.4.0-26";
        assert!(matches!(
            parse_affinity("node-a", wrong_family, b""),
            Err(AffinityError::BadBlock { .. })
        ));
        assert!(matches!(
            parse_affinity("node-a", KEY4, b"[1"),
            Err(AffinityError::BadValue { .. })
        ));
        let other = "/calico/ipam/v2/host/node-a/ipv4/tunnel";
        assert!(parse_affinity("node-a", other, b"").is_err());
    }
}
