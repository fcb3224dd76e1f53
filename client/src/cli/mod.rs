//! The CLI's output: aligned tables of the API's documents, as
//! `bgp-reflector neighbors` prints them (columns two spaces apart, no
//! trailing spaces). Pure functions, so tests compare them with strings.
//! [`http`] is the client that fetches the documents.

pub mod http;

use std::net::IpAddr;

use crate::api::types::{
    InstallState, KernelRoute, Neighbor, ReloadResult, Route, SessionState, Status,
};

/// A table: a header row and rows, each column as wide as its widest cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Add a row (missing cells are empty, extra ones dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The text, one line per row, each ending in a newline.
    pub fn render(&self) -> String {
        let cell = |row: &[String], i: usize| row.get(i).map_or("", String::as_str).to_string();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, width) in widths.iter_mut().enumerate() {
                *width = (*width).max(cell(row, i).chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let line: Vec<String> = widths
                .iter()
                .enumerate()
                .map(|(i, width)| format!("{:<width$}", cell(row, i)))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

/// Seconds as `HH:MM:SS`, or `NdHHhMMm` from one day on.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    let (days, hours, minutes, secs) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if days > 0 {
        format!("{days}d{hours:02}h{minutes:02}m")
    } else {
        format!("{hours:02}:{minutes:02}:{secs:02}")
    }
}

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn list(addresses: &[IpAddr]) -> String {
    if addresses.is_empty() {
        return "-".to_string();
    }
    let text: Vec<String> = addresses.iter().map(IpAddr::to_string).collect();
    text.join(",")
}

/// `bgp-client neighbors`: one row per reflector session.
pub fn neighbors_table(neighbors: &[Neighbor]) -> String {
    let mut table = Table::new(&[
        "Reflector",
        "AS",
        "State",
        "Since",
        "PfxRcd",
        "PfxSent",
        "UpdRcd",
        "OutQ",
        "Info",
    ]);
    for n in neighbors {
        let (state, info) = match n.state {
            SessionState::Established => ("Established", String::new()),
            SessionState::Down => ("Down", n.last_error.clone().unwrap_or_default()),
        };
        table.row(vec![
            n.address.to_string(),
            or_dash(n.asn),
            state.to_string(),
            duration(n.uptime_seconds),
            n.prefixes_received.to_string(),
            n.prefixes_sent.to_string(),
            n.updates_received.to_string(),
            n.out_queue_bytes.to_string(),
            info,
        ]);
    }
    table.render()
}

fn install_state(state: InstallState) -> &'static str {
    match state {
        InstallState::Installed => "installed",
        InstallState::Failed => "failed",
        InstallState::Foreign => "foreign",
        InstallState::Stale => "stale",
        InstallState::None => "-",
    }
}

/// `bgp-client routes`: one row per path (`*` the best one), the prefix
/// and its kernel state on its first row.
pub fn routes_table(routes: &[Route]) -> String {
    let mut table = Table::new(&[
        "Prefix",
        "",
        "From",
        "Next hop",
        "Originator",
        "Kernel",
        "Via",
    ]);
    for route in routes {
        let kernel = [
            install_state(route.kernel).to_string(),
            list(&route.installed),
        ];
        if route.paths.is_empty() {
            let mut row = vec![
                route.prefix.to_string(),
                String::new(),
                "-".into(),
                "-".into(),
                "-".into(),
            ];
            row.extend(kernel);
            table.row(row);
            continue;
        }
        for (i, path) in route.paths.iter().enumerate() {
            let first = i == 0;
            let mut row = vec![
                if first {
                    route.prefix.to_string()
                } else {
                    String::new()
                },
                if path.best { "*" } else { "" }.to_string(),
                or_dash(path.from),
                path.next_hop.clone(),
                or_dash(path.originator_id),
            ];
            if first {
                row.extend(kernel.clone());
            }
            table.row(row);
        }
    }
    table.render()
}

/// `bgp-client kernel`: the kernel routes and the rule that selected each
/// (or, with `--all`, why one is not advertised).
pub fn kernel_table(routes: &[KernelRoute]) -> String {
    let mut table = Table::new(&[
        "Prefix", "Table", "Proto", "Type", "Metric", "Via", "Dev", "Adv", "Rule",
    ]);
    for route in routes {
        let gateways: Vec<IpAddr> = route.next_hops.iter().filter_map(|h| h.gateway).collect();
        let devices: Vec<&str> = route
            .next_hops
            .iter()
            .filter_map(|h| h.interface.as_deref())
            .collect();
        table.row(vec![
            route.prefix.to_string(),
            route.table.to_string(),
            route.protocol.clone(),
            route.kind.clone(),
            route.metric.to_string(),
            list(&gateways),
            if devices.is_empty() {
                "-".into()
            } else {
                devices.join(",")
            },
            if route.advertised { "yes" } else { "no" }.to_string(),
            route
                .rule
                .clone()
                .or(route.reason.clone())
                .unwrap_or_default(),
        ]);
    }
    table.render()
}

/// `bgp-client status`: aligned `key: value` lines.
pub fn status_text(s: &Status) -> String {
    let count = |key: &str| s.reflectors.get(key).copied().unwrap_or(0);
    let mut lines = vec![
        ("Node", s.node.clone()),
        ("AS", s.asn.to_string()),
        ("Router ID", s.router_id.to_string()),
        ("Uptime", duration(s.uptime_seconds)),
        (
            "Reflectors",
            format!(
                "{} established, {} down",
                count("established"),
                count("down")
            ),
        ),
        ("Advertised", s.routes_advertised.to_string()),
        ("Installed", s.routes_installed.to_string()),
        (
            "Reloads",
            format!("{} ok, {} refused", s.reloads_ok, s.reloads_failed),
        ),
        ("Configuration", s.config.clone()),
        ("Version", s.version.clone()),
    ];
    if let Some(error) = &s.last_reload_error {
        lines.push(("Last reload error", error.clone()));
    }
    if let Some(d) = &s.datastore {
        let state = match d.state {
            crate::api::types::DatastoreState::Connected => "connected",
            crate::api::types::DatastoreState::Connecting => "connecting",
            crate::api::types::DatastoreState::Disconnected => "disconnected",
        };
        lines.push((
            "Datastore",
            format!(
                "{} {} {state} for {}, revision {}",
                d.kind,
                d.endpoints.join(","),
                duration(d.state_seconds),
                d.revision
            ),
        ));
        lines.push((
            "From datastore",
            format!(
                "{} reflectors, {} pools, {} peerings skipped",
                d.reflectors.len(),
                d.pools.len(),
                d.skipped.len()
            ),
        ));
        if let Some(error) = d.last_error.as_ref().filter(|_| state != "connected") {
            lines.push(("Datastore error", error.clone()));
        }
    }
    if !s.restart_pending.is_empty() {
        lines.push(("Restart pending", s.restart_pending.join(", ")));
    }
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    lines
        .iter()
        .map(|(key, value)| format!("{:<width$} {value}\n", format!("{key}:")))
        .collect()
}

/// `bgp-client reload`.
pub fn reload_text(r: &ReloadResult) -> String {
    let mut out = format!("added: {}\nremoved: {}\n", list(&r.added), list(&r.removed));
    for reset in &r.reset {
        out.push_str(&format!(
            "reset: {} ({})\n",
            reset.address,
            reset.changed.join(", ")
        ));
    }
    out.push_str(&format!("unchanged: {}\n", r.unchanged));
    if r.export_changed {
        out.push_str(&format!(
            "export: {} advertised, {} withdrawn\n",
            r.originated, r.withdrawn
        ));
    }
    if r.install_moved {
        out.push_str("install: routes moved\n");
    }
    for (address, error) in &r.failed {
        out.push_str(&format!("failed: {address}: {error}\n"));
    }
    if !r.restart_required.is_empty() {
        out.push_str(&format!(
            "restart required for: {}\n",
            r.restart_required.join(", ")
        ));
    }
    for warning in &r.warnings {
        out.push_str(&format!("{}\n", warning.text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{KernelNextHop, RoutePath};

    #[test]
    fn columns_are_aligned_without_trailing_spaces() {
        let neighbors = vec![
            Neighbor {
                address: "10.0.0.1".parse().unwrap(),
                port: Some(179),
                asn: Some(64512),
                state: SessionState::Established,
                uptime_seconds: 3725.0,
                router_id: None,
                hold_time: Some(9),
                families: vec![],
                graceful_restart: Some(true),
                prefixes_received: 12,
                prefixes_sent: 2,
                updates_received: 30,
                updates_sent: Some(3),
                out_queue_bytes: 0,
                last_error: None,
            },
            Neighbor {
                address: "10.0.0.2".parse().unwrap(),
                port: Some(179),
                asn: None,
                state: SessionState::Down,
                uptime_seconds: 5.0,
                router_id: None,
                hold_time: None,
                families: vec![],
                graceful_restart: None,
                prefixes_received: 0,
                prefixes_sent: 0,
                updates_received: 0,
                updates_sent: None,
                out_queue_bytes: 0,
                last_error: Some("connection refused".into()),
            },
        ];
        assert_eq!(
            neighbors_table(&neighbors),
            "Reflector  AS     State        Since     PfxRcd  PfxSent  UpdRcd  OutQ  Info\n\
             10.0.0.1   64512  Established  01:02:05  12      2        30      0\n\
             10.0.0.2   -      Down         00:00:05  0       0        0       0     connection refused\n"
        );
    }

    #[test]
    fn routes_show_paths_and_the_kernel_state() {
        let path = |from: &str, best| RoutePath {
            from: Some(from.parse().unwrap()),
            path_id: 0,
            best,
            stale: false,
            next_hop: "10.0.0.11".into(),
            originator_id: Some("10.0.0.11".parse().unwrap()),
        };
        let routes = vec![Route {
            family: "ipv4-unicast".into(),
            prefix: "10.65.1.0/26".parse().unwrap(),
            paths: vec![path("10.0.0.1", true), path("10.0.0.2", false)],
            kernel: InstallState::Installed,
            installed: vec!["10.0.0.11".parse().unwrap()],
            wanted: vec!["10.0.0.11".parse().unwrap()],
            table: 254,
            metric: 20,
        }];
        assert_eq!(
            routes_table(&routes),
            "Prefix           From      Next hop   Originator  Kernel     Via\n\
             10.65.1.0/26  *  10.0.0.1  10.0.0.11  10.0.0.11   installed  10.0.0.11\n\
             \x20                10.0.0.2  10.0.0.11  10.0.0.11\n"
        );
    }

    #[test]
    fn kernel_rows_name_the_rule() {
        let routes = vec![KernelRoute {
            prefix: "10.65.3.0/26".parse().unwrap(),
            table: 254,
            protocol: "boot".into(),
            kind: "blackhole".into(),
            metric: 0,
            next_hops: vec![KernelNextHop {
                gateway: None,
                interface: None,
            }],
            advertised: true,
            rule: Some("export.rule[0]".into()),
            reason: None,
        }];
        assert_eq!(
            kernel_table(&routes),
            "Prefix        Table  Proto  Type       Metric  Via  Dev  Adv  Rule\n\
             10.65.3.0/26  254    boot   blackhole  0       -    -    yes  export.rule[0]\n"
        );
        assert_eq!(duration(90_061.0), "1d01h01m");
    }

    #[test]
    fn status_shows_the_datastore_and_its_error_while_unreachable() {
        use crate::api::types::{DatastoreState, DatastoreStatus};
        let mut datastore = DatastoreStatus {
            kind: "etcd".into(),
            endpoints: vec!["http://10.0.0.100:2379".into()],
            state: DatastoreState::Disconnected,
            state_seconds: 65.0,
            last_error: Some("connection refused".into()),
            revision: 42,
            node_registered: true,
            reflectors: vec!["10.0.0.1".parse().unwrap()],
            pools: vec!["10.65.0.0/16".parse().unwrap()],
            skipped: vec![],
            updates_applied: 3,
            disconnects: 1,
            restart_required: vec![],
        };
        let mut status = Status {
            version: "0.1.0".into(),
            node: "n1".into(),
            asn: 64512,
            router_id: "10.0.0.11".parse().unwrap(),
            uptime_seconds: 5.0,
            config: "(command line)".into(),
            synced: true,
            reflectors: Default::default(),
            routes_advertised: 0,
            routes_installed: 0,
            reloads_ok: 0,
            reloads_failed: 0,
            last_reload_error: None,
            restart_pending: vec![],
            datastore: Some(datastore.clone()),
        };
        let text = status_text(&status);
        for line in [
            "Datastore:",
            "etcd http://10.0.0.100:2379 disconnected for 00:01:05, revision 42",
            "1 reflectors, 1 pools, 0 peerings skipped",
            "connection refused",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
        datastore.state = DatastoreState::Connected;
        status.datastore = Some(datastore);
        assert!(!status_text(&status).contains("connection refused"));
        status.datastore = None;
        assert!(!status_text(&status).contains("Datastore"));
    }
}
