//! The CLI's output: aligned tables of the API's documents, in the manner
//! of `birdc show protocols`. Pure functions, so tests compare them with
//! golden strings.

use crate::api::types::{Group, Neighbor, ReloadResult, Route, SessionState, Summary};

/// A table: a header row and rows, each column as wide as its widest cell
/// (in characters), columns two spaces apart, no trailing spaces.
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
        let columns = self.headers.len();
        let cell = |row: &Vec<String>, i: usize| row.get(i).cloned().unwrap_or_default();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, width) in widths.iter_mut().enumerate() {
                *width = (*width).max(cell(row, i).chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate().take(columns) {
                let text = cell(row, i);
                line.push_str(&text);
                if i + 1 < columns {
                    let pad = width - text.chars().count() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
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

/// `bgp-reflector neighbors`.
pub fn neighbors_table(neighbors: &[Neighbor]) -> String {
    let mut table = Table::new(&[
        "Neighbor", "AS", "Type", "State", "Since", "PfxRcd", "PfxSnt", "UpdRcd", "UpdSnt", "OutQ",
        "Info",
    ]);
    for n in neighbors {
        let kind = match (n.client, n.dynamic) {
            (_, true) => "dynamic",
            (Some(true), false) => "client",
            _ => "peer",
        };
        let (state, info) = match n.state {
            SessionState::Established => ("Established", n.description.clone()),
            SessionState::Down => ("Down", n.last_error.clone().or(n.description.clone())),
        };
        table.row(vec![
            n.address.to_string(),
            or_dash(n.asn),
            kind.to_string(),
            state.to_string(),
            duration(n.uptime_seconds),
            n.prefixes_received.to_string(),
            or_dash(n.prefixes_sent),
            n.updates_received.to_string(),
            or_dash(n.updates_sent),
            n.out_queue_bytes.to_string(),
            info.unwrap_or_default(),
        ]);
    }
    table.render()
}

/// `bgp-reflector routes`: one row per path, the prefix on its first row,
/// `*` marking the best path.
pub fn routes_table(routes: &[Route]) -> String {
    let mut table = Table::new(&[
        "Prefix", "", "From", "Next hop", "LocPref", "MED", "AS path", "Origin", "Reason",
    ]);
    for route in routes {
        for (i, path) in route.paths.iter().enumerate() {
            let prefix = if i == 0 {
                route.prefix.to_string()
            } else {
                String::new()
            };
            let as_path = if path.as_path.is_empty() {
                "-".to_string()
            } else {
                path.as_path.clone()
            };
            table.row(vec![
                prefix,
                if path.best { "*" } else { "" }.to_string(),
                path.from
                    .map_or_else(|| "local".to_string(), |a| a.to_string()),
                path.next_hop.clone(),
                or_dash(path.local_pref),
                or_dash(path.med),
                as_path,
                path.origin.clone(),
                path.reason.clone().unwrap_or_default(),
            ]);
        }
    }
    table.render()
}

/// `bgp-reflector summary`: aligned `key: value` lines.
pub fn summary_text(s: &Summary) -> String {
    let count = |key: &str| s.peers.get(key).copied().unwrap_or(0);
    let loc_rib: Vec<String> = s
        .loc_rib_prefixes
        .iter()
        .map(|(family, n)| format!("{family} {n}"))
        .collect();
    let clusters: Vec<String> = s.cluster_ids.iter().map(|c| c.to_string()).collect();
    let mut lines = vec![
        ("Router ID", s.router_id.to_string()),
        ("AS", s.asn.to_string()),
        ("Cluster IDs", clusters.join(", ")),
        ("Uptime", duration(s.uptime_seconds)),
        (
            "Sessions",
            format!(
                "{} established, {} down ({} total, {} dynamic)",
                count("established"),
                count("down"),
                count("total"),
                count("dynamic")
            ),
        ),
        ("Prefixes received", s.prefixes_received.to_string()),
        ("Loc-RIB", loc_rib.join(", ")),
        ("Update groups", s.update_groups.to_string()),
        ("Configuration", s.config.clone()),
        ("Version", s.version.clone()),
    ];
    if !s.restart_pending.is_empty() {
        lines.push(("Restart pending", s.restart_pending.join(", ")));
    }
    for warning in &s.warnings {
        lines.push(("Warning", warning.message.clone()));
    }
    if let Some(d) = &s.datastore {
        lines.push((
            "Datastore",
            format!(
                "{} {} for node {} ({}; revision {}, {} peering(s))",
                d.kind,
                d.state,
                d.node,
                d.endpoints.join(","),
                d.revision,
                d.peerings
            ),
        ));
        if let Some(error) = &d.error {
            lines.push((
                "Datastore error",
                format!("{error} (running on the last known resources)"),
            ));
        }
        if let Some(problem) = &d.problem {
            lines.push(("Datastore problem", problem.clone()));
        }
    }
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    lines
        .iter()
        .map(|(key, value)| format!("{:<width$} {value}\n", format!("{key}:")))
        .collect()
}

/// `bgp-reflector groups`.
pub fn groups_table(groups: &[Group]) -> String {
    let mut table = Table::new(&[
        "Group", "Role", "Members", "Behind", "Routes", "Pending", "Messages", "Bytes",
    ]);
    for g in groups {
        table.row(vec![
            g.id.to_string(),
            g.role.clone(),
            g.members.to_string(),
            g.members_behind.to_string(),
            g.routes.to_string(),
            g.pending.to_string(),
            g.messages_encoded.to_string(),
            g.bytes_encoded.to_string(),
        ]);
    }
    table.render()
}

/// `bgp-reflector reload`.
pub fn reload_text(r: &ReloadResult) -> String {
    let list = |items: &[std::net::IpAddr]| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut out = format!("added: {}\nremoved: {}\n", list(&r.added), list(&r.removed));
    if r.reset.is_empty() {
        out.push_str("reset: none\n");
    }
    for reset in &r.reset {
        out.push_str(&format!(
            "reset: {} ({})\n",
            reset.address,
            reset.changed.join(", ")
        ));
    }
    out.push_str(&format!("unchanged: {}\n", r.unchanged + r.described.len()));
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
