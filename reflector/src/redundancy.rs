//! Warnings about redundancy set-ups that are known to lose routes
//! (RFC 4456 sections 7 and 8), found from the live sessions.
//!
//! Reflectors that share a cluster ID drop each other's reflected routes:
//! a route whose CLUSTER_LIST holds our cluster ID is a loop to us
//! (section 8). That is harmless only while every client is attached to
//! every reflector of the cluster. Two failures can be seen from here:
//!
//! - **A client attached to another reflector of our cluster only.** The
//!   other reflector (a non-client iBGP neighbour of ours) sends us the
//!   client's routes with our cluster ID in CLUSTER_LIST, we drop them, and
//!   no client of ours learns them. The speaker notes the ORIGINATOR_ID of
//!   every such route per neighbour; an originator that is not the router
//!   ID of one of our Established clients is such a client.
//! - **A shared cluster with no other reflector up.** A cluster ID set
//!   explicitly (not our router ID) says "this cluster has several
//!   reflectors", but no non-client iBGP neighbour is Established: either
//!   the cluster has one reflector, or its reflectors are not peered with
//!   each other (or the peering is down), and losing this reflector loses
//!   its clients' routes everywhere else.
//!
//! [`check`] is a pure function of the neighbours as the API reports them,
//! so the API, the metrics and the periodic log all say the same thing.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use bgp_speaker::speaker::NeighborStatus;

use crate::api::types::{Neighbor, SessionState};
use crate::config::ReflectorConfig;

/// One finding of [`check`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RedundancyWarning {
    /// A client reaches another reflector of our cluster but not us.
    ClientOfOtherReflectorOnly {
        /// The client's router ID (the ORIGINATOR_ID of its routes).
        client: Ipv4Addr,
        /// The reflector that sent us its routes.
        reflector: IpAddr,
    },
    /// A shared cluster ID, and no other reflector Established.
    NoOtherReflector {
        /// Our cluster IDs other than the router ID.
        clusters: Vec<Ipv4Addr>,
    },
}

impl std::fmt::Display for RedundancyWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedundancyWarning::ClientOfOtherReflectorOnly { client, reflector } => write!(
                f,
                "the client with router ID {client} sends its routes to {reflector}, a reflector of \
                 our cluster, but has no Established session with us: we drop them as cluster \
                 loops (RFC 4456 section 8), so our clients do not learn them; peer the client \
                 with every reflector of the cluster"
            ),
            RedundancyWarning::NoOtherReflector { clusters } => {
                let list: Vec<String> = clusters.iter().map(Ipv4Addr::to_string).collect();
                write!(
                    f,
                    "cluster ID {} is set explicitly, as for reflectors that share a cluster, but \
                     no other reflector (a non-client iBGP neighbour) is Established: if this \
                     reflector fails, its clients' routes reach no one; peer the reflectors of \
                     the cluster with each other",
                    list.join(", ")
                )
            }
        }
    }
}

/// What the check needs besides the neighbours.
#[derive(Debug, Clone)]
pub struct Context {
    /// Our AS.
    pub local_as: u32,
    /// Our router ID.
    pub router_id: Ipv4Addr,
    /// Every cluster ID we use.
    pub cluster_ids: Vec<Ipv4Addr>,
}

/// [`check`] for the speaker's neighbour statuses under `config`.
pub fn check_statuses(
    statuses: &[NeighborStatus],
    config: &ReflectorConfig,
) -> Vec<RedundancyWarning> {
    let neighbors: Vec<Neighbor> = statuses
        .iter()
        .map(|s| crate::api::render::neighbor(s, config))
        .collect();
    let context = Context {
        local_as: config.speaker.local_as,
        router_id: config.speaker.router_id,
        cluster_ids: config.cluster_ids(),
    };
    check(&context, &neighbors)
}

/// The warnings that hold for `neighbors` now, sorted, without duplicates.
pub fn check(context: &Context, neighbors: &[Neighbor]) -> Vec<RedundancyWarning> {
    let up = |n: &&Neighbor| n.state == SessionState::Established;
    let internal = |n: &&Neighbor| n.asn == Some(context.local_as);
    let our_clients: BTreeSet<Ipv4Addr> = neighbors
        .iter()
        .filter(up)
        .filter(|n| n.client == Some(true))
        .filter_map(|n| n.router_id)
        .collect();
    let mut found = BTreeSet::new();
    let reflectors: Vec<&Neighbor> = neighbors
        .iter()
        .filter(up)
        .filter(internal)
        .filter(|n| n.client != Some(true))
        .collect();
    for reflector in &reflectors {
        for &client in &reflector.cluster_loop_originators {
            let known = our_clients.contains(&client) || client == context.router_id;
            if !known && reflector.router_id != Some(client) {
                found.insert(RedundancyWarning::ClientOfOtherReflectorOnly {
                    client,
                    reflector: reflector.address,
                });
            }
        }
    }
    let shared: Vec<Ipv4Addr> = context
        .cluster_ids
        .iter()
        .copied()
        .filter(|id| *id != context.router_id)
        .collect();
    if !shared.is_empty() && reflectors.is_empty() {
        found.insert(RedundancyWarning::NoOtherReflector { clusters: shared });
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AS: u32 = 64512;

    fn context(cluster: Ipv4Addr) -> Context {
        Context {
            local_as: AS,
            router_id: Ipv4Addr::new(10, 0, 0, 1),
            cluster_ids: vec![cluster],
        }
    }

    fn neighbor(last: u8, client: bool, loops: &[Ipv4Addr]) -> Neighbor {
        Neighbor {
            address: IpAddr::V4(Ipv4Addr::new(10, 0, 1, last)),
            asn: Some(AS),
            state: SessionState::Established,
            uptime_seconds: 1.0,
            dynamic: false,
            client: Some(client),
            description: None,
            router_id: Some(Ipv4Addr::new(10, 0, 2, last)),
            capabilities: None,
            prefixes_received: 0,
            prefixes_sent: None,
            updates_received: 0,
            updates_sent: None,
            out_queue_bytes: 0,
            out_queue_age_seconds: None,
            last_error: None,
            loop_drops: Default::default(),
            cluster_loop_originators: loops.to_vec(),
        }
    }

    const SHARED: Ipv4Addr = Ipv4Addr::new(10, 255, 0, 1);

    #[test]
    fn a_client_seen_only_through_the_other_reflector_is_named() {
        let ours = neighbor(1, true, &[]);
        let lonely = Ipv4Addr::new(10, 0, 2, 9);
        // The other reflector sent loops of our own client and of one we
        // do not know.
        let other = neighbor(2, false, &[Ipv4Addr::new(10, 0, 2, 1), lonely]);
        let found = check(&context(SHARED), &[ours, other]);
        assert_eq!(
            found,
            vec![RedundancyWarning::ClientOfOtherReflectorOnly {
                client: lonely,
                reflector: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 2)),
            }]
        );
        assert!(found[0].to_string().contains("10.0.2.9"));
    }

    #[test]
    fn a_client_whose_session_with_us_is_down_is_named_too() {
        let mut ours = neighbor(1, true, &[]);
        ours.state = SessionState::Down;
        let other = neighbor(2, false, &[Ipv4Addr::new(10, 0, 2, 1)]);
        assert_eq!(check(&context(SHARED), &[ours, other]).len(), 1);
    }

    #[test]
    fn a_shared_cluster_without_an_established_reflector_peer_is_reported() {
        let clients = [neighbor(1, true, &[]), neighbor(3, true, &[])];
        assert_eq!(
            check(&context(SHARED), &clients),
            vec![RedundancyWarning::NoOtherReflector {
                clusters: vec![SHARED]
            }]
        );
        // The router ID as cluster ID: a cluster of one by design.
        let own = context(Ipv4Addr::new(10, 0, 0, 1));
        assert!(check(&own, &clients).is_empty());
        // An eBGP neighbour is not a reflector of the cluster.
        let mut external = neighbor(2, false, &[]);
        external.asn = Some(65001);
        let mut with_external = clients.to_vec();
        with_external.push(external);
        assert_eq!(check(&context(SHARED), &with_external).len(), 1);
        // Another reflector up: nothing to say.
        let mut with_reflector = clients.to_vec();
        with_reflector.push(neighbor(2, false, &[]));
        assert!(check(&context(SHARED), &with_reflector).is_empty());
    }
}
