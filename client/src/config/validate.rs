//! Semantic checks of a parsed file, and its conversion into an
//! [`AgentConfig`].

use std::net::IpAddr;
use std::time::Duration;

use crate::agent::{AgentConfig, ReflectorPeer};
use crate::kernel::route::{RTPROT_BGP, RouteKind, normalise};
use crate::kernel::select::{SelectRule, Selection};
use crate::kernel::writer::{Placement, WriterConfig};

use super::report::{Diagnostic, FieldPath, Problem};
use super::schema::{ConfigFile, Protocol};

/// Protocol names of `/etc/iproute2/rt_protos` (and `rtnetlink.h`).
const PROTOCOLS: &[(&str, u8)] = &[
    ("unspec", 0),
    ("redirect", 1),
    ("kernel", 2),
    ("boot", 3),
    ("static", 4),
    ("gated", 8),
    ("ra", 9),
    ("mrt", 10),
    ("zebra", 11),
    ("bird", 12),
    ("dnrouted", 13),
    ("xorp", 14),
    ("ntk", 15),
    ("dhcp", 16),
    ("keepalived", 18),
    ("babel", 42),
    ("openr", 99),
    ("bgp", 186),
    ("isis", 187),
    ("ospf", 188),
    ("rip", 189),
    ("eigrp", 192),
];

/// The number of a protocol name or number.
pub fn protocol_number(protocol: &Protocol) -> Option<u8> {
    match protocol {
        Protocol::Number(n) => Some(*n),
        Protocol::Name(name) => PROTOCOLS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v),
    }
}

/// The name of protocol `number` (`/etc/iproute2/rt_protos`), or the number.
pub fn protocol_name(number: u8) -> String {
    PROTOCOLS
        .iter()
        .find(|(_, n)| *n == number)
        .map_or_else(|| number.to_string(), |(name, _)| name.to_string())
}

const DEFAULT_RESTART: u32 = 120;

/// The AS when neither the file nor the datastore names one (Calico's).
pub const DEFAULT_AS: u32 = 64512;

/// Every finding about `file`, not yet located.
pub fn validate(file: &ConfigFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut add = |path: FieldPath, problem| out.push(Diagnostic::new(path, problem));
    let node = FieldPath::of(&["node"]);
    // With a datastore, the AS, the address and the reflectors may come
    // from there (or, for the address, from the route to etcd).
    let datastore = file.datastore.is_some();
    match file.node.asn {
        Some(0) => add(node.key("asn"), Problem::ReservedAs),
        None if !datastore => add(node.key("asn"), Problem::MissingAsn),
        _ => {}
    }
    if file.node.router_id.is_none() && file.node.ipv4.is_none() && !datastore {
        add(node.clone(), Problem::NoRouterId);
    }
    let reflectors = FieldPath::of(&["reflector"]);
    match file.reflector.len() {
        0 if !datastore => add(FieldPath::default(), Problem::NoReflectors),
        1 if !datastore => add(reflectors.clone(), Problem::OneReflector),
        _ => {}
    }
    if let Some(ds) = &file.datastore {
        let path = FieldPath::of(&["datastore"]);
        if ds.endpoints.is_empty() {
            add(path.clone(), Problem::NoEndpoints);
        }
        for (i, endpoint) in ds.endpoints.iter().enumerate() {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                add(
                    path.key("endpoints").index(i),
                    Problem::BadEndpoint(endpoint.clone()),
                );
            }
        }
        if ds.cert_file.is_some() != ds.key_file.is_some() {
            add(path.clone(), Problem::HalfClientCertificate);
        }
        if ds.username.is_some() != ds.password.is_some() {
            add(path.clone(), Problem::HalfCredentials);
        }
        if !file.export.pools.is_empty() {
            add(
                FieldPath::of(&["export", "pools"]),
                Problem::PoolsFromDatastore,
            );
        }
    }
    for (i, reflector) in file.reflector.iter().enumerate() {
        let path = reflectors.index(i).key("address");
        if file.reflector[..i]
            .iter()
            .any(|r| r.address == reflector.address)
        {
            add(path.clone(), Problem::DuplicateReflector(reflector.address));
        }
        match reflector.address {
            IpAddr::V4(_) if file.node.ipv4.is_none() => {
                add(path, Problem::NoLocalAddress { family: "IPv4" })
            }
            IpAddr::V6(_) if file.node.ipv6.is_none() => {
                add(path, Problem::NoLocalAddress { family: "IPv6" })
            }
            _ => {}
        }
    }
    let bgp = FieldPath::of(&["bgp"]);
    if let Some(hold) = file.bgp.hold_time.filter(|h| matches!(h, 1 | 2)) {
        add(bgp.key("hold_time"), Problem::HoldTime(hold));
    }
    if let Some(time) = file.bgp.graceful_restart_time.filter(|t| *t > 4095) {
        add(bgp.key("graceful_restart_time"), Problem::RestartTime(time));
    }
    let export = FieldPath::of(&["export"]);
    for (i, pool) in file.export.pools.iter().enumerate() {
        let network = normalise(*pool);
        if network != *pool {
            add(
                export.key("pools").index(i),
                Problem::HostBits(*pool, network),
            );
        }
    }
    if file.export.blocks == Some(true) && !datastore {
        add(export.key("blocks"), Problem::BlocksNeedDatastore);
    }
    if let Some(protocol) = file
        .export
        .block_protocol
        .filter(|p| matches!(p, 0 | 80 | 186))
    {
        add(
            export.key("block_protocol"),
            Problem::BlockProtocolTaken(protocol),
        );
    }
    if file.export.rule.is_empty() && !datastore && !super::felix::advertises(file) {
        add(export.clone(), Problem::NothingExported);
    }
    for (i, rule) in file.export.rule.iter().enumerate() {
        let path = export.key("rule").index(i);
        for (j, protocol) in rule.protocols.iter().enumerate() {
            match protocol_number(protocol) {
                None => {
                    let Protocol::Name(name) = protocol else {
                        continue;
                    };
                    add(
                        path.key("protocols").index(j),
                        Problem::UnknownProtocol(name.clone()),
                    );
                }
                Some(RTPROT_BGP) => add(path.key("protocols").index(j), Problem::OwnProtocol),
                Some(_) => {}
            }
        }
        for (j, kind) in rule.kinds.iter().enumerate() {
            if RouteKind::from_name(kind).is_none() {
                add(
                    path.key("kinds").index(j),
                    Problem::UnknownKind(kind.clone()),
                );
            }
        }
        for (j, pattern) in rule.interfaces.iter().enumerate() {
            if pattern.is_empty() {
                add(path.key("interfaces").index(j), Problem::EmptyPattern);
            }
        }
        if let Some([min, max]) = rule
            .prefix_lengths
            .filter(|[min, max]| min > max || *max > 128)
        {
            add(path.key("prefix_lengths"), Problem::PrefixLengths(min, max));
        }
    }
    if let Some(table) = file.install.table.filter(|t| matches!(t, 0 | 255)) {
        add(
            FieldPath::of(&["install", "table"]),
            Problem::ReservedTable(table),
        );
    }
    if let Some(listen) = file.api.listen.filter(|a| !a.ip().is_loopback()) {
        add(
            FieldPath::of(&["api", "listen"]),
            Problem::ApiNotLoopback(listen),
        );
    }
    if let Some(level) = &file.logging.level {
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(level) {
            add(
                FieldPath::of(&["logging", "level"]),
                Problem::LogFilter(level.clone(), e.to_string()),
            );
        }
    }
    out.extend(super::felix::validate(file));
    out
}

/// The agent configuration of a file that passed [`validate`].
pub fn convert(file: &ConfigFile) -> AgentConfig {
    let router_id = file
        .node
        .router_id
        .or(file.node.ipv4)
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
    let asn = file.node.asn.unwrap_or(DEFAULT_AS);
    let mut config = AgentConfig::new(&file.node.name, asn, router_id);
    config.node_v4 = file.node.ipv4;
    config.node_v6 = file.node.ipv6;
    config.reflectors = file
        .reflector
        .iter()
        .map(|r| ReflectorPeer {
            address: r.address,
            port: r.port.unwrap_or(bgp_proto::iana::BGP_PORT),
            password: r.password.clone(),
        })
        .collect();
    let restart = file.bgp.graceful_restart_time.unwrap_or(DEFAULT_RESTART);
    config.graceful_restart_time = Duration::from_secs(u64::from(restart));
    if let Some(hold) = file.bgp.hold_time {
        config.hold_time = hold;
    }
    if let Some(retry) = file.bgp.connect_retry {
        config.connect_retry = Duration::from_secs(u64::from(retry));
    }
    if let Some(multipath) = file.bgp.multipath {
        config.multipath = multipath;
    }
    if let Some(add_path) = file.bgp.add_path {
        config.add_path_receive = add_path;
    }
    config.export = Selection {
        pools: file.export.pools.iter().map(|p| normalise(*p)).collect(),
        rules: file
            .export
            .rule
            .iter()
            .map(|rule| SelectRule {
                tables: rule.tables.clone(),
                protocols: rule.protocols.iter().filter_map(protocol_number).collect(),
                interfaces: rule.interfaces.clone(),
                kinds: rule
                    .kinds
                    .iter()
                    .filter_map(|k| RouteKind::from_name(k))
                    .collect(),
                prefix_lengths: rule.prefix_lengths.map(|[min, max]| (min, max)),
            })
            .collect(),
    };
    let defaults = WriterConfig::default();
    config.install = WriterConfig {
        placement: Placement {
            table: file.install.table.unwrap_or(defaults.placement.table),
            metric: file.install.metric.unwrap_or(defaults.placement.metric),
            protocol: RTPROT_BGP,
        },
        restart_window: Duration::from_secs(u64::from(
            file.install.restart_window.unwrap_or(restart),
        )),
        remove_on_stop: file.install.remove_on_stop.unwrap_or(false),
    };
    if let Some(buffer) = file.reader.receive_buffer {
        config.reader.receive_buffer = buffer;
    }
    if file.datastore.is_some() {
        // The datastore's enabled IPPools are the pools (none yet: nothing
        // is advertised); with no rule, any route of the main table in
        // them is, as Calico's BIRD exports what is in its pools.
        config.require_reflectors = false;
        config.pools_required = true;
        if file.export.blocks == Some(true) {
            let defaults = crate::blocks::BlockRouting::default();
            config.blocks = Some(crate::blocks::BlockRouting {
                protocol: file.export.block_protocol.unwrap_or(defaults.protocol),
                ..defaults
            });
        }
        config.export.pools.clear();
        if config.export.rules.is_empty() {
            config.export.rules.push(SelectRule {
                tables: vec![crate::kernel::route::RT_TABLE_MAIN],
                ..SelectRule::default()
            });
        }
    }
    super::felix::convert(file, &mut config);
    config
}
