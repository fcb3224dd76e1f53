//! Prometheus metrics in the text exposition format (version 0.0.4),
//! rendered from a [`Snapshot`] on each scrape of `GET /metrics`. Names
//! start with `reflex_client_` so that they do not mix with the
//! reflector's `reflex_` ones.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `reflex_client_build_info` | gauge (1) | `version` |
//! | `reflex_client_uptime_seconds` | gauge | |
//! | `reflex_client_sessions` | gauge | `state` = `established` / `down` |
//! | `reflex_client_session_established` | gauge (0/1) | `peer` |
//! | `reflex_client_session_state_seconds` | gauge | `peer` |
//! | `reflex_client_prefixes_received` | gauge | `peer` |
//! | `reflex_client_updates_received_total` | counter | `peer` |
//! | `reflex_client_synced` | gauge (0/1) | |
//! | `reflex_client_routes_advertised` | gauge | |
//! | `reflex_client_routes_installed` | gauge | |
//! | `reflex_client_netlink_notifications_total` | counter | |
//! | `reflex_client_netlink_batches_total` | counter | |
//! | `reflex_client_netlink_undecodable_total` | counter | |
//! | `reflex_client_netlink_resyncs_total` | counter | |
//! | `reflex_client_netlink_overruns_total` | counter | |
//! | `reflex_client_kernel_writes_total` | counter | `op` = `install` / `replace` / `remove` |
//! | `reflex_client_install_errors_total` | counter | |
//! | `reflex_client_install_foreign_total` | counter | |
//! | `reflex_client_config_reloads_total` | counter | `result` = `success` / `failure` |
//! | `reflex_client_datastore_connected` | gauge (0/1) | |
//! | `reflex_client_datastore_disconnects_total` | counter | |
//! | `reflex_client_datastore_updates_applied_total` | counter | |
//! | `reflex_client_datastore_reflectors` | gauge | |
//! | `reflex_client_datastore_pools` | gauge | |
//! | `reflex_client_datastore_node_registered` | gauge (0/1) | |
//! | `reflex_client_felix_endpoints_programmed` | gauge | |
//! | `reflex_client_felix_endpoints_pending` | gauge | |
//! | `reflex_client_felix_rules` | gauge | |
//! | `reflex_client_felix_syncs_total` | counter | |
//! | `reflex_client_felix_sync_errors_total` | counter | |
//! | `reflex_client_felix_last_sync_seconds` | gauge | |
//! | `reflex_client_felix_status_reported` | gauge (0/1) | |
//!
//! The `datastore` ones only in datastore mode, the `felix` ones only with
//! `[felix]` ([`render_felix`], appended to the rest).
//!
//! Resyncs count every full dump (the initial one included); overruns
//! count the times the kernel dropped notifications (`ENOBUFS`), each of
//! which causes a resync.

use std::fmt::Write;
use std::time::Duration;

use bgp_speaker::speaker::{NeighborState, NeighborStatus};

use crate::agent::AgentStatus;
use crate::api::types::{DatastoreState, DatastoreStatus};

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What one scrape reports.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    /// The reflector sessions.
    pub neighbors: &'a [NeighborStatus],
    /// The agent's status and counters.
    pub status: &'a AgentStatus,
    /// Time since the daemon started.
    pub uptime: Duration,
    /// Successful reloads.
    pub reloads_ok: u64,
    /// Refused reloads.
    pub reloads_failed: u64,
    /// The datastore link, in datastore mode.
    pub datastore: Option<&'a DatastoreStatus>,
}

/// Escape a label value (backslash, double quote, newline).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[derive(Debug, Default)]
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = write!(self.out, "{{{}}}", labels.join(","));
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A family of one unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// A per-peer metric: name, type, help, value.
type PeerMetric = (
    &'static str,
    &'static str,
    &'static str,
    fn(&NeighborStatus) -> f64,
);

/// The exposition of one snapshot.
pub fn render(s: &Snapshot<'_>) -> String {
    let mut e = Exposition::default();
    e.family("reflex_client_build_info", "gauge", "Build information.");
    e.sample(
        "reflex_client_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    e.single(
        "reflex_client_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
        s.uptime.as_secs_f64(),
    );
    let up = |n: &NeighborStatus| n.state == NeighborState::Established;
    let established = s.neighbors.iter().filter(|n| up(n)).count();
    e.family(
        "reflex_client_sessions",
        "gauge",
        "Reflector sessions by state.",
    );
    e.sample(
        "reflex_client_sessions",
        &[("state", "established")],
        established,
    );
    e.sample(
        "reflex_client_sessions",
        &[("state", "down")],
        s.neighbors.len() - established,
    );
    let per_peer: [PeerMetric; 4] = [
        (
            "reflex_client_session_established",
            "gauge",
            "1 if the reflector session is Established.",
            |n| f64::from(u8::from(n.state == NeighborState::Established)),
        ),
        (
            "reflex_client_session_state_seconds",
            "gauge",
            "Seconds since the session last changed state.",
            |n| n.since.as_secs_f64(),
        ),
        (
            "reflex_client_prefixes_received",
            "gauge",
            "Prefixes accepted from the reflector, all families.",
            |n| n.prefixes_received as f64,
        ),
        (
            "reflex_client_updates_received_total",
            "counter",
            "UPDATE messages received from the reflector.",
            |n| n.updates_received as f64,
        ),
    ];
    for (name, kind, help, value) in per_peer {
        e.family(name, kind, help);
        for n in s.neighbors {
            let peer = n.address.to_string();
            e.sample(name, &[("peer", &peer)], value(n));
        }
    }

    let status = s.status;
    e.single(
        "reflex_client_synced",
        "gauge",
        "1 once the first kernel dump has been advertised.",
        u8::from(status.synced),
    );
    e.single(
        "reflex_client_routes_advertised",
        "gauge",
        "Prefixes advertised to the reflectors.",
        status.exported,
    );
    e.single(
        "reflex_client_routes_installed",
        "gauge",
        "Routes installed in the kernel (protocol 186).",
        status.installed,
    );
    let reader = status.reader;
    let counters = [
        (
            "reflex_client_netlink_notifications_total",
            "Route, link and address notifications read from netlink.",
            reader.notifications,
        ),
        (
            "reflex_client_netlink_batches_total",
            "Batches of coalesced kernel changes.",
            reader.batches,
        ),
        (
            "reflex_client_netlink_undecodable_total",
            "Netlink messages that could not be decoded.",
            reader.undecodable,
        ),
        (
            "reflex_client_netlink_resyncs_total",
            "Full dumps of the routing tables (the initial one included).",
            reader.resyncs,
        ),
        (
            "reflex_client_netlink_overruns_total",
            "Times the kernel dropped notifications (ENOBUFS).",
            reader.overruns,
        ),
    ];
    for (name, help, value) in counters {
        e.single(name, "counter", help, value);
    }
    let writer = status.writer;
    e.family(
        "reflex_client_kernel_writes_total",
        "counter",
        "Routes written to the kernel.",
    );
    for (op, value) in [
        ("install", writer.installed),
        ("replace", writer.replaced),
        ("remove", writer.removed),
    ] {
        e.sample("reflex_client_kernel_writes_total", &[("op", op)], value);
    }
    e.single(
        "reflex_client_install_errors_total",
        "counter",
        "Writes the kernel refused.",
        writer.failed,
    );
    e.single(
        "reflex_client_install_foreign_total",
        "counter",
        "Writes skipped because a route of another protocol holds the prefix.",
        writer.foreign,
    );
    e.family(
        "reflex_client_config_reloads_total",
        "counter",
        "Configuration reloads.",
    );
    e.sample(
        "reflex_client_config_reloads_total",
        &[("result", "success")],
        s.reloads_ok,
    );
    e.sample(
        "reflex_client_config_reloads_total",
        &[("result", "failure")],
        s.reloads_failed,
    );
    if let Some(d) = s.datastore {
        e.single(
            "reflex_client_datastore_connected",
            "gauge",
            "1 while the datastore is in sync; 0 while it is unreachable (the last known state is used).",
            u8::from(d.state == DatastoreState::Connected),
        );
        e.single(
            "reflex_client_datastore_disconnects_total",
            "counter",
            "Times the datastore became unreachable.",
            d.disconnects,
        );
        e.single(
            "reflex_client_datastore_updates_applied_total",
            "counter",
            "Changes of the resources applied to the agent.",
            d.updates_applied,
        );
        e.single(
            "reflex_client_datastore_reflectors",
            "gauge",
            "Reflectors the resources give the node.",
            d.reflectors.len(),
        );
        e.single(
            "reflex_client_datastore_pools",
            "gauge",
            "Enabled IP pools (what may be advertised).",
            d.pools.len(),
        );
        e.single(
            "reflex_client_datastore_node_registered",
            "gauge",
            "1 once the node's Node resource has its addresses.",
            u8::from(d.node_registered),
        );
    }
    e.out
}

/// The `reflex_client_felix_*` families of Felix's state.
pub fn render_felix(f: &crate::felix::service::FelixStatus) -> String {
    let mut e = Exposition::default();
    e.single(
        "reflex_client_felix_endpoints_programmed",
        "gauge",
        "Local workload endpoints with their routes, settings and rules in place.",
        f.endpoints_programmed,
    );
    e.single(
        "reflex_client_felix_endpoints_pending",
        "gauge",
        "Local workload endpoints whose interface is missing or down.",
        f.endpoints_pending,
    );
    e.single(
        "reflex_client_felix_rules",
        "gauge",
        "Rules in the nftables table.",
        f.rules,
    );
    e.single(
        "reflex_client_felix_syncs_total",
        "counter",
        "Input changes applied to the dataplane.",
        f.syncs,
    );
    e.single(
        "reflex_client_felix_sync_errors_total",
        "counter",
        "Syncs that failed, and inputs that could not be read.",
        f.sync_errors,
    );
    e.single(
        "reflex_client_felix_last_sync_seconds",
        "gauge",
        "How long the last sync took.",
        f.last_sync_seconds,
    );
    e.single(
        "reflex_client_felix_status_reported",
        "gauge",
        "1 while Felix's status key is written on a live lease.",
        u8::from(f.status_reported),
    );
    e.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn felix_state_is_exposed() {
        let status = crate::felix::service::FelixStatus {
            endpoints_programmed: 3,
            rules: 120,
            syncs: 4,
            sync_errors: 1,
            last_sync_seconds: 0.012,
            ..Default::default()
        };
        let text = render_felix(&status);
        for line in [
            "reflex_client_felix_endpoints_programmed 3",
            "reflex_client_felix_endpoints_pending 0",
            "reflex_client_felix_rules 120",
            "reflex_client_felix_syncs_total 4",
            "reflex_client_felix_sync_errors_total 1",
            "reflex_client_felix_last_sync_seconds 0.012",
            "reflex_client_felix_status_reported 0",
            "# TYPE reflex_client_felix_syncs_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }

    #[test]
    fn counters_and_gauges_are_exposed() {
        let mut status = AgentStatus {
            synced: true,
            exported: 3,
            installed: 7,
            ..AgentStatus::default()
        };
        status.reader.overruns = 2;
        status.reader.resyncs = 3;
        status.writer.failed = 1;
        let text = render(&Snapshot {
            neighbors: &[],
            status: &status,
            uptime: Duration::from_secs(5),
            reloads_ok: 1,
            reloads_failed: 4,
            datastore: None,
        });
        assert!(!text.contains("datastore"));
        for line in [
            "reflex_client_sessions{state=\"established\"} 0",
            "reflex_client_routes_advertised 3",
            "reflex_client_routes_installed 7",
            "reflex_client_netlink_overruns_total 2",
            "reflex_client_netlink_resyncs_total 3",
            "reflex_client_install_errors_total 1",
            "reflex_client_config_reloads_total{result=\"failure\"} 4",
            "# TYPE reflex_client_netlink_overruns_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn the_datastore_link_is_exposed_in_datastore_mode() {
        let datastore = DatastoreStatus {
            kind: "etcd".into(),
            endpoints: vec![],
            state: DatastoreState::Disconnected,
            state_seconds: 1.0,
            last_error: None,
            revision: 7,
            node_registered: true,
            reflectors: vec!["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()],
            pools: vec![],
            skipped: vec![],
            updates_applied: 5,
            disconnects: 2,
            restart_required: vec![],
        };
        let text = render(&Snapshot {
            neighbors: &[],
            status: &AgentStatus::default(),
            uptime: Duration::from_secs(5),
            reloads_ok: 0,
            reloads_failed: 0,
            datastore: Some(&datastore),
        });
        for line in [
            "reflex_client_datastore_connected 0",
            "reflex_client_datastore_disconnects_total 2",
            "reflex_client_datastore_updates_applied_total 5",
            "reflex_client_datastore_reflectors 2",
            "reflex_client_datastore_pools 0",
            "reflex_client_datastore_node_registered 1",
            "# TYPE reflex_client_datastore_disconnects_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }
}
