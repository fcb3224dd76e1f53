//! From the speaker's status types to the API's JSON types.

use std::net::IpAddr;

use bgp_proto::PeerType;
use bgp_proto::attribute::{NextHop, Origin, PathAttribute};
use bgp_proto::iana::{AfiSafi, attr_type};
use bgp_proto::session::Negotiated;
use bgp_speaker::adj_out::GroupStats;
use bgp_speaker::rib::{Explanation, Outcome};
use bgp_speaker::speaker::{NeighborState, NeighborStatus, RouteStatus};
use bgp_speaker::{PeerId, PeerRole};

use super::types::{
    Capabilities, Finding, Group, LoopDrops, Neighbor, Route, RoutePath, SessionState,
};
use crate::config::{ReflectorConfig, Report, Severity};

/// The datastore's state for the summary.
pub fn datastore(link: &crate::datastore::DatastoreLink) -> super::types::DatastoreSummary {
    use std::sync::atomic::Ordering;
    let state = link.state();
    super::types::DatastoreSummary {
        kind: "etcd".to_string(),
        endpoints: link.settings.etcd.endpoints.clone(),
        node: link.settings.node.clone(),
        state: state.state.to_string(),
        connected: state.state == "connected",
        state_seconds: state.since.elapsed().as_secs_f64(),
        error: state.error,
        revision: state.revision,
        peerings: state.peerings,
        updates_applied: link.counters.updates_applied.load(Ordering::Relaxed),
        problem: state.derive_error,
        notes: state.notes,
        status_prefix: crate::datastore::peer_status_prefix(&link.settings.node),
    }
}

/// A family's name in the API: `ipv4-unicast`.
pub fn family_name(family: AfiSafi) -> String {
    family.to_string()
}

/// What a session negotiated.
pub fn capabilities(n: &Negotiated) -> Capabilities {
    let names = |set: bgp_proto::AddPathFamilies| {
        n.families
            .iter()
            .filter(|f| set.contains(**f))
            .map(|f| family_name(*f))
            .collect()
    };
    Capabilities {
        peer_type: match n.peer_type {
            PeerType::Internal => "ibgp",
            PeerType::External => "ebgp",
        }
        .to_string(),
        families: n.families.iter().map(|f| family_name(*f)).collect(),
        four_octet_as: n.four_octet_as,
        add_path_send: names(n.add_path_send),
        add_path_receive: names(n.add_path_receive),
        extended_message: n.extended_message,
        route_refresh: n.route_refresh,
        enhanced_route_refresh: n.enhanced_route_refresh,
        graceful_restart: n.graceful_restart,
        peer_restart_time: n.peer_graceful_restart.as_ref().map(|gr| gr.restart_time),
        hold_time: n.hold_time.as_secs(),
        keepalive: n.keepalive.as_secs(),
    }
}

/// One neighbour, with what the configuration says about it.
pub fn neighbor(status: &NeighborStatus, config: &ReflectorConfig) -> Neighbor {
    let options = config.options_of(status.address);
    let description = match config.neighbors.get(&status.address) {
        Some(plan) => plan.description.clone(),
        None => None,
    };
    Neighbor {
        address: status.address,
        asn: status.peer_as,
        state: match status.state {
            NeighborState::Established => SessionState::Established,
            NeighborState::Down => SessionState::Down,
        },
        uptime_seconds: status.since.as_secs_f64(),
        dynamic: status.dynamic,
        client: options.map(|o| o.route_reflector_client),
        description,
        router_id: status.negotiated.as_ref().map(|n| n.peer_id),
        capabilities: status.negotiated.as_ref().map(capabilities),
        prefixes_received: status.prefixes_received,
        prefixes_sent: status.prefixes_sent,
        updates_received: status.updates_received,
        updates_sent: status.updates_sent,
        out_queue_bytes: status.out_queue_bytes,
        out_queue_age_seconds: status.out_queue_age.map(|age| age.as_secs_f64()),
        last_error: status.last_error.clone(),
        loop_drops: LoopDrops {
            as_path: status.counters.loops.as_path,
            originator_id: status.counters.loops.originator_id,
            cluster_list: status.counters.loops.cluster_list,
        },
        cluster_loop_originators: status.counters.cluster_loop_originators.clone(),
    }
}

fn next_hop(next_hop: &NextHop) -> String {
    match next_hop {
        NextHop::V4(address) => address.to_string(),
        NextHop::V6 {
            global,
            link_local: Some(link_local),
        } => format!("{global} ({link_local})"),
        NextHop::V6 { global, .. } => global.to_string(),
        NextHop::Raw(_) if bgp_speaker::policy::is_next_hop_self(next_hop) => "self".to_string(),
        NextHop::Raw(bytes) => format!("raw {} octets", bytes.len()),
    }
}

fn origin(origin: Origin) -> &'static str {
    match origin {
        Origin::Igp => "IGP",
        Origin::Egp => "EGP",
        Origin::Incomplete => "INCOMPLETE",
    }
}

/// One prefix's paths, with the decision process's explanation if given.
pub fn route(status: &RouteStatus, explanation: Option<&Explanation>) -> Route {
    let address_of = |peer: PeerId| -> String {
        if peer == PeerId::LOCAL {
            return "local".to_string();
        }
        status
            .paths
            .iter()
            .find(|(p, _)| p.peer == peer)
            .and_then(|(_, address)| *address)
            .map_or_else(|| peer.to_string(), |a: IpAddr| a.to_string())
    };
    let paths = status
        .paths
        .iter()
        .enumerate()
        .map(|(index, (path, from))| {
            let attrs = &path.attrs;
            let communities = match attrs.get(attr_type::COMMUNITIES) {
                Some(PathAttribute::Communities(list)) => {
                    list.iter().map(|c| c.to_string()).collect()
                }
                _ => Vec::new(),
            };
            let large_communities = match attrs.get(attr_type::LARGE_COMMUNITIES) {
                Some(PathAttribute::LargeCommunities(list)) => {
                    list.iter().map(|c| format!("{c:?}")).collect()
                }
                _ => Vec::new(),
            };
            let explained = explanation.and_then(|e| {
                e.paths
                    .iter()
                    .find(|p| p.path.peer == path.peer && p.path.path_id == path.path_id)
            });
            let (lost_at, reason) = match explained.map(|p| &p.outcome) {
                Some(Outcome::Best) => (None, Some("best path".to_string())),
                Some(Outcome::Lost(lost)) => (
                    Some(lost.step.to_string()),
                    Some(format!(
                        "lost to {} path-id {} at {} ({}): {}",
                        address_of(lost.against.0),
                        lost.against.1,
                        lost.step,
                        lost.step.reference(),
                        lost.reason
                    )),
                ),
                None => (None, None),
            };
            RoutePath {
                from: *from,
                path_id: path.path_id,
                best: index == 0,
                stale: path.stale,
                next_hop: next_hop(&attrs.next_hop),
                as_path: attrs.as_path().to_string(),
                origin: origin(attrs.origin()).to_string(),
                local_pref: attrs.local_pref(),
                med: attrs.med(),
                communities,
                large_communities,
                originator_id: attrs.originator_id(),
                cluster_list: attrs.cluster_list().to_vec(),
                lost_at,
                reason,
            }
        })
        .collect();
    Route {
        family: family_name(status.family),
        prefix: status.prefix,
        paths,
    }
}

/// One update group.
pub fn group(stats: &GroupStats) -> Group {
    Group {
        id: stats.id.0,
        role: role(stats.role).to_string(),
        members: stats.members,
        members_behind: stats.members_behind,
        keeps_table: stats.keeps_table,
        routes: stats.routes,
        pending: stats.pending,
        messages_encoded: stats.messages_encoded,
        bytes_encoded: stats.bytes_encoded,
        pushes: stats.pushes,
        refused_pushes: stats.refused_pushes,
    }
}

/// A peer role's name.
pub fn role(role: PeerRole) -> &'static str {
    match role {
        PeerRole::External => "external",
        PeerRole::Internal => "internal",
        PeerRole::ReflectorClient => "client",
    }
}

/// A report's findings.
pub fn findings(report: &Report) -> Vec<Finding> {
    report
        .diagnostics
        .iter()
        .zip(report.lines())
        .map(|(d, text)| Finding {
            severity: match d.severity() {
                Severity::Error => "error",
                Severity::Warning => "warning",
            }
            .to_string(),
            line: d.location.map(|l| l.line),
            column: d.location.map(|l| l.column),
            path: d.path.to_string(),
            message: d.problem.to_string(),
            text,
        })
        .collect()
}
