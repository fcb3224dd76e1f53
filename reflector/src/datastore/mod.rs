//! Datastore mode: the reflector's peers come from Calico's v3 resources in
//! etcd (through [`reflex_datastore`]) as well as from its file, are applied
//! live, and each peer's BGP status goes back to etcd under a lease.
//!
//! - [`settings`]: `[datastore]` and the command line's `--datastore`,
//!   `--etcd-*`, `--node`, resolved into [`DatastoreSettings`];
//! - [`derive`]: the pure function from a snapshot to a [`crate::config::ReflectorConfig`];
//! - [`link`]: the running part: the syncer, the connection state, and the
//!   status writer.
//!
//! # Status keys
//! One key per neighbour, `/reflex/status/v1/reflector/<node>/peers/<address>`
//! ([`peer_status_key`]), whose value is a [`PeerStatus`] document, all
//! attached to one lease of `status_ttl` seconds renewed every third of it,
//! so the keys of a reflector that died disappear on their own. A value is
//! written again only when it changes (the uptime is kept as the time the
//! state began, so a steady session costs no writes).

pub mod derive;
pub mod link;
pub mod settings;

use serde::{Deserialize, Serialize};

pub use derive::{DeriveError, Derived, derive};
pub use link::{DatastoreLink, LinkState};
pub use settings::{DatastoreOverrides, DatastoreSettings};

/// Where the reflectors' status keys live.
pub const STATUS_PREFIX: &str = "/reflex/status/v1/reflector/";

/// The prefix of one reflector's peer status keys.
pub fn peer_status_prefix(node: &str) -> String {
    format!("{STATUS_PREFIX}{node}/peers/")
}

/// The status key of one peer of a reflector.
pub fn peer_status_key(node: &str, peer: std::net::IpAddr) -> String {
    format!("{}{peer}", peer_status_prefix(node))
}

/// The value of a peer's status key (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    /// The peer's address.
    pub address: std::net::IpAddr,
    /// Its AS, when known.
    pub asn: Option<u32>,
    /// `established` or `down`.
    pub state: String,
    /// When the session entered that state (Unix time, seconds): the
    /// uptime is now minus this.
    pub state_since: u64,
    /// Prefixes accepted from the peer.
    pub prefixes_received: u64,
    /// Routes advertised to the peer, while it is in sync with its group.
    pub prefixes_sent: Option<u64>,
    /// Why the session last went down.
    pub last_error: Option<String>,
    /// The reflector that wrote it (its Node name).
    pub reflector: String,
}

/// Every peer status written by the reflector `node`, or by every reflector,
/// ordered by reflector and address. Values that do not decode are skipped.
pub async fn read_status<D: reflex_datastore::Datastore>(
    store: &D,
    node: Option<&str>,
) -> Result<Vec<PeerStatus>, reflex_datastore::DatastoreError> {
    let prefix = node.map_or_else(|| STATUS_PREFIX.to_string(), peer_status_prefix);
    let mut list: Vec<PeerStatus> = store
        .list_raw(&prefix)
        .await?
        .into_iter()
        .filter(|(key, _)| key.contains("/peers/"))
        .filter_map(|(_, value)| serde_json::from_slice(&value).ok())
        .collect();
    list.sort_by(|a, b| (&a.reflector, a.address).cmp(&(&b.reflector, b.address)));
    Ok(list)
}

/// `bgp-reflector datastore status`: one row per peer status; `now` is Unix
/// time in seconds, for the time in state.
pub fn status_table(list: &[PeerStatus], now: u64) -> reflex_datastore::cli::Table {
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
    reflex_datastore::cli::Table {
        headers: vec![
            "REFLECTOR",
            "PEER",
            "ASN",
            "STATE",
            "SINCE",
            "PFXRCD",
            "PFXSNT",
            "INFO",
        ],
        rows: list
            .iter()
            .map(|s| {
                vec![
                    s.reflector.clone(),
                    s.address.to_string(),
                    dash(s.asn.map(|a| a.to_string())),
                    s.state.clone(),
                    crate::cli::duration(now.saturating_sub(s.state_since) as f64),
                    s.prefixes_received.to_string(),
                    dash(s.prefixes_sent.map(|p| p.to_string())),
                    if s.state == "established" {
                        String::new()
                    } else {
                        s.last_error.clone().unwrap_or_default()
                    },
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_table() {
        let up = PeerStatus {
            address: "10.0.0.2".parse().unwrap(),
            asn: Some(64512),
            state: "established".into(),
            state_since: 1_000,
            prefixes_received: 12,
            prefixes_sent: Some(30),
            last_error: Some("old".into()),
            reflector: "rr1".into(),
        };
        let down = PeerStatus {
            address: "10.0.0.3".parse().unwrap(),
            asn: None,
            state: "down".into(),
            state_since: 4_600,
            prefixes_received: 0,
            prefixes_sent: None,
            last_error: Some("connection lost".into()),
            reflector: "rr1".into(),
        };
        assert_eq!(
            status_table(&[up, down], 4_661).to_string(),
            "\
REFLECTOR   PEER       ASN     STATE         SINCE      PFXRCD   PFXSNT   INFO
rr1         10.0.0.2   64512   established   01:01:01   12       30
rr1         10.0.0.3   -       down          00:01:01   0        -        connection lost
"
        );
        assert_eq!(
            peer_status_key("rr1", "10.0.0.2".parse().unwrap()),
            "/reflex/status/v1/reflector/rr1/peers/10.0.0.2"
        );
    }
}
