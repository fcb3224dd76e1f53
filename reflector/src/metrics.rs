//! Prometheus metrics in the text exposition format (version 0.0.4),
//! rendered from a [`Snapshot`] of the speaker's status on each scrape.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `reflex_build_info` | gauge (1) | `version` |
//! | `reflex_uptime_seconds` | gauge | |
//! | `reflex_sessions` | gauge | `state` = `established` / `down` |
//! | `reflex_session_established` | gauge (0/1) | `peer` |
//! | `reflex_session_state_seconds` | gauge | `peer` |
//! | `reflex_prefixes_received` | gauge | `peer` |
//! | `reflex_updates_received_total` | counter | `peer` |
//! | `reflex_out_queue_bytes` | gauge | `peer` |
//! | `reflex_update_groups` | gauge | |
//! | `reflex_group_members` | gauge | `group`, `role` |
//! | `reflex_group_members_behind` | gauge | `group` |
//! | `reflex_group_routes` | gauge | `group` |
//! | `reflex_group_pending_routes` | gauge | `group` |
//! | `reflex_group_messages_encoded_total` | counter | `group` |
//! | `reflex_group_bytes_encoded_total` | counter | `group` |
//! | `reflex_group_pushes_total` | counter | `group` |
//! | `reflex_group_refused_pushes_total` | counter | `group` |
//! | `reflex_group_encode_errors_total` | counter | `group` |
//! | `reflex_config_reloads_total` | counter | `result` = `success` / `failure` |
//!
//! In datastore mode ([`render_datastore`]):
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `reflex_datastore_connected` | gauge (0/1) | |
//! | `reflex_datastore_state_seconds` | gauge | `state` = `connected` / `connecting` / `disconnected` |
//! | `reflex_datastore_revision` | gauge | |
//! | `reflex_datastore_peerings` | gauge | |
//! | `reflex_datastore_updates_applied_total` | counter | |
//! | `reflex_datastore_disconnects_total` | counter | |
//! | `reflex_datastore_status_writes_total` | counter | `result` = `success` / `failure` |
//!
//! Per-peer UPDATEs sent and reflection lag are not reported by the
//! speaker yet, so there are no metrics for them.

use std::fmt::Write;
use std::time::Duration;

use bgp_speaker::adj_out::GroupStats;
use bgp_speaker::speaker::{NeighborState, NeighborStatus};

use crate::api::render::role;

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What one scrape reports.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    /// Every neighbour.
    pub neighbors: &'a [NeighborStatus],
    /// Every update group.
    pub groups: &'a [GroupStats],
    /// Time since the daemon started.
    pub uptime: Duration,
    /// Successful reloads.
    pub reloads_ok: u64,
    /// Refused reloads.
    pub reloads_failed: u64,
}

/// Escape a label value (backslash, double quote, newline).
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A text exposition being written.
#[derive(Debug, Default)]
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (key, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{key}=\"{}\"", escape(val));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A family with one sample per neighbour.
    fn per_peer<T: std::fmt::Display>(
        &mut self,
        neighbors: &[NeighborStatus],
        (name, kind, help): (&str, &str, &str),
        value: impl Fn(&NeighborStatus) -> T,
    ) {
        self.family(name, kind, help);
        for n in neighbors {
            let peer = n.address.to_string();
            self.sample(name, &[("peer", &peer)], value(n));
        }
    }

    /// A family with one sample per group.
    fn per_group<T: std::fmt::Display>(
        &mut self,
        groups: &[GroupStats],
        (name, kind, help): (&str, &str, &str),
        value: impl Fn(&GroupStats) -> T,
    ) {
        self.family(name, kind, help);
        for g in groups {
            let group = g.id.0.to_string();
            self.sample(name, &[("group", &group)], value(g));
        }
    }
}

/// A per-group metric: name, help, value.
type GroupMetric = (&'static str, &'static str, fn(&GroupStats) -> u64);

/// The datastore's metrics, appended to [`render`]'s in datastore mode.
pub fn render_datastore(link: &crate::datastore::DatastoreLink) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let state = link.state();
    let c = &link.counters;
    let mut e = Exposition::default();
    e.family(
        "reflex_datastore_connected",
        "gauge",
        "1 while the resources are in step with etcd; 0 while running on the last known ones.",
    );
    e.sample(
        "reflex_datastore_connected",
        &[],
        u8::from(state.state == "connected"),
    );
    e.family(
        "reflex_datastore_state_seconds",
        "gauge",
        "Seconds in the current datastore connection state.",
    );
    e.sample(
        "reflex_datastore_state_seconds",
        &[("state", state.state)],
        state.since.elapsed().as_secs_f64(),
    );
    e.family(
        "reflex_datastore_revision",
        "gauge",
        "etcd revision of the resources applied last.",
    );
    e.sample("reflex_datastore_revision", &[], state.revision);
    e.family(
        "reflex_datastore_peerings",
        "gauge",
        "Neighbours derived from the datastore's resources.",
    );
    e.sample("reflex_datastore_peerings", &[], state.peerings);
    e.family(
        "reflex_datastore_updates_applied_total",
        "counter",
        "Snapshots of the resources applied.",
    );
    e.sample(
        "reflex_datastore_updates_applied_total",
        &[],
        c.updates_applied.load(Relaxed),
    );
    e.family(
        "reflex_datastore_disconnects_total",
        "counter",
        "Times the connection to etcd was lost.",
    );
    e.sample(
        "reflex_datastore_disconnects_total",
        &[],
        c.disconnects.load(Relaxed),
    );
    e.family(
        "reflex_datastore_status_writes_total",
        "counter",
        "Per-peer status keys written or deleted in etcd.",
    );
    e.sample(
        "reflex_datastore_status_writes_total",
        &[("result", "success")],
        c.status_writes.load(Relaxed),
    );
    e.sample(
        "reflex_datastore_status_writes_total",
        &[("result", "failure")],
        c.status_write_failures.load(Relaxed),
    );
    e.out
}

/// The exposition of one snapshot.
pub fn render(s: &Snapshot<'_>) -> String {
    let mut e = Exposition::default();
    e.family("reflex_build_info", "gauge", "Build information.");
    e.sample(
        "reflex_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    e.family(
        "reflex_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
    );
    e.sample("reflex_uptime_seconds", &[], s.uptime.as_secs_f64());

    let up = |n: &NeighborStatus| n.state == NeighborState::Established;
    let established = s.neighbors.iter().filter(|n| up(n)).count();
    e.family("reflex_sessions", "gauge", "BGP sessions by state.");
    e.sample("reflex_sessions", &[("state", "established")], established);
    e.sample(
        "reflex_sessions",
        &[("state", "down")],
        s.neighbors.len() - established,
    );
    let n = s.neighbors;
    e.per_peer(
        n,
        (
            "reflex_session_established",
            "gauge",
            "1 if the session is Established.",
        ),
        |n| u8::from(up(n)),
    );
    e.per_peer(
        n,
        (
            "reflex_session_state_seconds",
            "gauge",
            "Seconds since the session last changed state.",
        ),
        |n| n.since.as_secs_f64(),
    );
    e.per_peer(
        n,
        (
            "reflex_prefixes_received",
            "gauge",
            "Prefixes accepted from the peer, all families.",
        ),
        |n| n.prefixes_received,
    );
    e.per_peer(
        n,
        (
            "reflex_updates_received_total",
            "counter",
            "UPDATE messages received from the peer.",
        ),
        |n| n.updates_received,
    );
    e.per_peer(
        n,
        (
            "reflex_out_queue_bytes",
            "gauge",
            "Bytes queued towards the peer, not yet written.",
        ),
        |n| n.out_queue_bytes,
    );
    e.per_peer(
        n,
        (
            "reflex_out_queue_age_seconds",
            "gauge",
            "How long the oldest byte queued towards the peer has waited (0: nothing queued).",
        ),
        |n| n.out_queue_age.map_or(0.0, |age| age.as_secs_f64()),
    );
    let sent: Vec<&NeighborStatus> = s
        .neighbors
        .iter()
        .filter(|n| n.updates_sent.is_some())
        .collect();
    e.family(
        "reflex_prefixes_sent",
        "gauge",
        "Routes advertised to the peer (its update group's Adj-RIB-Out), while in sync.",
    );
    for n in sent.iter().filter(|n| n.prefixes_sent.is_some()) {
        let peer = n.address.to_string();
        let value = n.prefixes_sent.unwrap_or(0);
        e.sample("reflex_prefixes_sent", &[("peer", &peer)], value);
    }
    e.family(
        "reflex_updates_sent_total",
        "counter",
        "Messages queued to the peer in its current session (UPDATEs, End-of-RIB).",
    );
    for n in &sent {
        let peer = n.address.to_string();
        let value = n.updates_sent.unwrap_or(0);
        e.sample("reflex_updates_sent_total", &[("peer", &peer)], value);
    }
    e.family(
        "reflex_loop_drops_total",
        "counter",
        "Prefixes from the peer dropped by loop detection (RFC 4271 9.1.2, RFC 4456 8).",
    );
    for n in s.neighbors {
        let peer = n.address.to_string();
        let loops = &n.counters.loops;
        for (reason, value) in [
            ("as_path", loops.as_path),
            ("originator_id", loops.originator_id),
            ("cluster_list", loops.cluster_list),
        ] {
            let labels = [("peer", peer.as_str()), ("reason", reason)];
            e.sample("reflex_loop_drops_total", &labels, value);
        }
    }

    let g = s.groups;
    e.family("reflex_update_groups", "gauge", "Update groups.");
    e.sample("reflex_update_groups", &[], g.len());
    e.family(
        "reflex_group_members",
        "gauge",
        "Members of each update group.",
    );
    for group in g {
        let id = group.id.0.to_string();
        e.sample(
            "reflex_group_members",
            &[("group", &id), ("role", role(group.role))],
            group.members,
        );
    }
    let gauges: [GroupMetric; 3] = [
        (
            "reflex_group_members_behind",
            "Members catching up from the table.",
            |g| g.members_behind as u64,
        ),
        (
            "reflex_group_routes",
            "Routes in the group's Adj-RIB-Out.",
            |g| g.routes as u64,
        ),
        (
            "reflex_group_pending_routes",
            "Routes changed since the last flush.",
            |g| g.pending as u64,
        ),
    ];
    for (name, help, value) in gauges {
        e.per_group(g, (name, "gauge", help), value);
    }
    let counters: [GroupMetric; 5] = [
        (
            "reflex_group_messages_encoded_total",
            "UPDATEs encoded, once for all members.",
            |g| g.messages_encoded,
        ),
        (
            "reflex_group_bytes_encoded_total",
            "Bytes encoded, once for all members.",
            |g| g.bytes_encoded,
        ),
        (
            "reflex_group_pushes_total",
            "Encodings pushed into members' outboxes.",
            |g| g.pushes,
        ),
        (
            "reflex_group_refused_pushes_total",
            "Pushes refused by a full outbox.",
            |g| g.refused_pushes,
        ),
        (
            "reflex_group_encode_errors_total",
            "Routes that could not be encoded.",
            |g| g.encode_errors,
        ),
    ];
    for (name, help, value) in counters {
        e.per_group(g, (name, "counter", help), value);
    }

    e.family(
        "reflex_config_reloads_total",
        "counter",
        "Configuration reloads.",
    );
    e.sample(
        "reflex_config_reloads_total",
        &[("result", "success")],
        s.reloads_ok,
    );
    e.sample(
        "reflex_config_reloads_total",
        &[("result", "failure")],
        s.reloads_failed,
    );
    e.out
}
