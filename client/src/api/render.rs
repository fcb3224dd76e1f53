//! From the agent's and the speaker's types to the API's JSON types.

use std::net::IpAddr;

use bgp_proto::attribute::NextHop;
use bgp_proto::iana::AfiSafi;
use bgp_speaker::speaker::{NeighborState, NeighborStatus, RouteStatus};
use ipnetwork::IpNetwork;

use super::types::{self, Finding, InstallState, Neighbor, Route, RoutePath, SessionState};
use crate::agent::{Advertised, AgentConfig, InstalledEntry, KernelEntry};
use crate::config::validate::protocol_name;
use crate::config::{Report, Severity};
use crate::kernel::select::Verdict;
use crate::kernel::writer::Placement;

/// A family's name in the API: `ipv4-unicast`.
pub fn family_name(family: AfiSafi) -> String {
    family.to_string()
}

/// The family of a prefix.
pub fn family_of(prefix: IpNetwork) -> AfiSafi {
    crate::agent::routes::family_of(prefix)
}

/// A report's findings.
pub fn findings(report: &Report) -> Vec<Finding> {
    report
        .diagnostics
        .iter()
        .zip(report.lines())
        .map(|(d, text)| Finding {
            severity: match d.problem.severity() {
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

/// One reflector session. `advertised`: the node's advertised prefixes.
pub fn neighbor(status: &NeighborStatus, config: &AgentConfig, advertised: Advertised) -> Neighbor {
    let established = status.state == NeighborState::Established;
    let negotiated = status.negotiated.as_ref().filter(|_| established);
    let prefixes_sent = negotiated.map_or(0, |n| {
        let mut sent = 0;
        if n.families.contains(&AfiSafi::IPV4_UNICAST) {
            sent += advertised.ipv4;
        }
        if n.families.contains(&AfiSafi::IPV6_UNICAST) {
            sent += advertised.ipv6;
        }
        sent as u64
    });
    // The speaker's count of the session's Adj-RIB-Out when it has one.
    let prefixes_sent = match (negotiated, status.prefixes_sent) {
        (Some(_), Some(sent)) => sent,
        _ => prefixes_sent,
    };
    Neighbor {
        address: status.address,
        port: config
            .reflectors
            .iter()
            .find(|r| r.address == status.address)
            .map(|r| r.port),
        asn: status.peer_as,
        state: if established {
            SessionState::Established
        } else {
            SessionState::Down
        },
        uptime_seconds: status.since.as_secs_f64(),
        router_id: negotiated.map(|n| n.peer_id),
        hold_time: negotiated.map(|n| n.hold_time.as_secs()),
        families: negotiated
            .map(|n| n.families.iter().map(|f| family_name(*f)).collect())
            .unwrap_or_default(),
        graceful_restart: negotiated.map(|n| n.graceful_restart),
        prefixes_received: status.prefixes_received,
        prefixes_sent,
        updates_received: status.updates_received,
        updates_sent: status.updates_sent,
        out_queue_bytes: status.out_queue_bytes,
        last_error: status.last_error.clone(),
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
        NextHop::Raw(bytes) => format!("raw {} octets", bytes.len()),
    }
}

/// One learned prefix: its paths from the reflectors (`status`, if the
/// Loc-RIB has it) and what the writer did with it (`entry`).
pub fn route(
    prefix: IpNetwork,
    status: Option<&RouteStatus>,
    entry: Option<&InstalledEntry>,
    placement: Placement,
) -> Route {
    let paths = status
        .map(|s| {
            s.paths
                .iter()
                .enumerate()
                .filter(|(_, (_, from))| from.is_some())
                .map(|(index, (path, from))| RoutePath {
                    from: *from,
                    path_id: path.path_id,
                    best: index == 0,
                    stale: path.stale,
                    next_hop: next_hop(&path.attrs.next_hop),
                    originator_id: path.attrs.originator_id(),
                })
                .collect()
        })
        .unwrap_or_default();
    let installed: Vec<IpAddr> = entry.and_then(|e| e.installed.clone()).unwrap_or_default();
    let wanted: Vec<IpAddr> = entry.and_then(|e| e.wanted.clone()).unwrap_or_default();
    let kernel = match entry {
        None => InstallState::None,
        Some(e) if e.foreign && e.installed.is_none() => InstallState::Foreign,
        Some(e) if e.stale => InstallState::Stale,
        Some(e) if e.wanted.is_some() && e.installed == e.wanted => InstallState::Installed,
        Some(e) if e.wanted.is_some() => InstallState::Failed,
        Some(_) => InstallState::Installed,
    };
    Route {
        family: family_name(family_of(prefix)),
        prefix,
        paths,
        kernel,
        installed,
        wanted,
        table: placement.table,
        metric: placement.metric_for(prefix),
    }
}

/// One kernel route and the selection's verdict.
pub fn kernel_route(entry: &KernelEntry) -> types::KernelRoute {
    let route = &entry.route;
    let (rule, reason) = match entry.verdict {
        Verdict::Selected(index) => (Some(format!("export.rule[{index}]")), None),
        Verdict::OwnProtocol => (None, Some("protocol 186 is Reflex's own".to_string())),
        Verdict::OutsidePools => (None, Some("outside the pools".to_string())),
        Verdict::NoRule => (None, Some("no rule matches".to_string())),
    };
    let reason = match reason {
        None if !entry.advertised => Some("the node has no address of this family".to_string()),
        other => other,
    };
    types::KernelRoute {
        prefix: route.key.prefix,
        table: route.key.table,
        protocol: protocol_name(route.protocol),
        kind: route.kind.name(),
        metric: route.key.metric,
        next_hops: route
            .next_hops
            .iter()
            .map(|h| types::KernelNextHop {
                gateway: h.gateway,
                interface: h.ifname.clone(),
            })
            .collect(),
        advertised: entry.advertised,
        rule,
        reason,
    }
}
