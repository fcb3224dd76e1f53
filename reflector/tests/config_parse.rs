//! Configuration parsing and validation: each mistake is reported with its
//! line, column and field path, and the right problem kind.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bgp_proto::capability::AddPathMode;
use bgp_proto::iana::AfiSafi;
use bgp_proto::session::PeerAs;
use bgp_reflector::config::{self, Location, Problem, Severity};
use bgp_speaker::config::{AddPathSend, NextHopMode, PrefixLimitAction};

/// The findings of `text` as (line, column, path, problem).
fn findings(text: &str) -> Vec<(usize, usize, String, Problem)> {
    let report = match config::parse("t.toml", text) {
        Ok(checked) => checked.report,
        Err(report) => report,
    };
    report
        .diagnostics
        .into_iter()
        .map(|d| {
            let Location { line, column } = d.location.expect("every finding is located");
            (line, column, d.path.to_string(), d.problem)
        })
        .collect()
}

fn schema(message: &str) -> Problem {
    Problem::Schema {
        message: message.to_string(),
    }
}

/// Name, file, expected (line, column, path, problem).
type ErrorCase = (
    &'static str,
    String,
    Vec<(usize, usize, &'static str, Problem)>,
);

/// Name, file, expected (path, problem).
type WarningCase = (&'static str, String, Vec<(&'static str, Problem)>);

const NEIGHBOR: &str = "[[neighbor]]\naddress = \"10.0.0.1\"\nasn = 64512\n";

#[test]
fn mistakes_are_reported_with_line_column_and_path() {
    let cases: Vec<ErrorCase> = vec![
        (
            "hold time 2",
            format!("{NEIGHBOR}\n[[neighbor]]\naddress = \"10.0.0.2\"\nasn = 64512\nhold_time = 2\n"),
            vec![(8, 13, "neighbor[1].hold_time", Problem::HoldTime(2))],
        ),
        (
            "unknown key",
            format!("{NEIGHBOR}hold_tme = 3\n"),
            vec![(
                4,
                1,
                "neighbor[0].hold_tme",
                schema("unknown field `hold_tme`, expected one of `address`, `template`, `description`, `asn`, `local_asn`, `client`, `cluster_id`, `families`, `hold_time`, `keepalive`, `connect_retry`, `passive`, `port`, `local_address`, `password`, `ttl_security`, `add_path`, `add_path_send`, `graceful_restart`, `restart_time`, `stale_time`, `prefix_limit`, `next_hop`, `next_hop_self_ipv4`, `next_hop_self_ipv6`, `import`, `export`"),
            )],
        ),
        (
            "unknown top-level table",
            "[neighbour]\naddress = \"10.0.0.1\"\n".to_string(),
            vec![(
                1,
                2,
                "neighbour",
                schema("unknown field `neighbour`, expected one of `global`, `api`, `logging`, `cluster`, `template`, `neighbor`, `dynamic`, `policy`, `datastore`"),
            )],
        ),
        (
            "invalid address",
            "[[neighbor]]\naddress = \"10.0.0.256\"\nasn = 1\n".to_string(),
            vec![(2, 11, "neighbor[0].address", schema("invalid IP address syntax"))],
        ),
        (
            "wrong type",
            "[global]\nasn = \"64512\"\n".to_string(),
            vec![(2, 7, "global.asn", schema("invalid type: string \"64512\", expected u32"))],
        ),
        (
            "TOML syntax",
            "[global\nasn = 1\n".to_string(),
            vec![(1, 8, "", Problem::Syntax { message: "unclosed table, expected `]`".to_string() })],
        ),
        (
            "bad community in a policy",
            format!("{NEIGHBOR}import = \"p\"\n[[policy]]\nname = \"p\"\n[[policy.statement]]\nverdict = \"accept\"\nmatch = {{ community = [\"65000:70000\"] }}\n"),
            vec![(
                9,
                24,
                "policy[0].statement[0].match.community[0]",
                schema("`65000:70000` is not a community: ASN:VALUE with 16-bit parts, or one of no-export, no-advertise, no-export-subconfed, graceful-shutdown, blackhole, llgr-stale, no-llgr"),
            )],
        ),
        (
            "add_path_send 0",
            format!("{NEIGHBOR}add_path_send = 0\n"),
            vec![(4, 17, "neighbor[0].add_path_send", schema("invalid value: integer `0`, expected \"all\" or a number of paths from 1 to 255"))],
        ),
        (
            "duplicate neighbour and unknown template and policy",
            format!("{NEIGHBOR}{NEIGHBOR}template = \"nodes\"\nexport = \"nope\"\n"),
            vec![
                (5, 11, "neighbor[1].address", Problem::DuplicateNeighbor {
                    address: "10.0.0.1".parse().unwrap(),
                    first: config::FieldPath::root().key("neighbor").index(0),
                }),
                (7, 12, "neighbor[1].template", Problem::UnknownTemplate("nodes".into())),
                (8, 10, "neighbor[1].export", Problem::UnknownPolicy("nope".into())),
            ],
        ),
        (
            "missing asn",
            "[[neighbor]]\naddress = \"10.0.0.1\"\n".to_string(),
            vec![(1, 1, "neighbor[0]", Problem::MissingAsn)],
        ),
        (
            "keepalive not below hold time, from a template",
            "[[template]]\nname = \"t\"\nhold_time = 9\n[[neighbor]]\naddress = \"10.0.0.1\"\nasn = 1\ntemplate = \"t\"\nkeepalive = 9\n".to_string(),
            vec![
                (4, 1, "neighbor[0]", Problem::ExternalWithoutPolicy { direction: "import", verb: "accepted" }),
                (4, 1, "neighbor[0]", Problem::ExternalWithoutPolicy { direction: "export", verb: "advertised" }),
                (8, 13, "neighbor[0].keepalive", Problem::KeepaliveNotBelowHold { keepalive: 9, hold_time: 9 }),
            ],
        ),
        (
            "restart time, AS 0, eBGP client",
            "[[neighbor]]\naddress = \"10.0.0.1\"\nasn = 0\n[[neighbor]]\naddress = \"10.0.0.2\"\nasn = 65001\nclient = true\nimport = \"p\"\nexport = \"p\"\nrestart_time = 5000\n[[policy]]\nname = \"p\"\n".to_string(),
            vec![
                (3, 7, "neighbor[0].asn", Problem::AsnZero),
                (7, 10, "neighbor[1].client", Problem::ExternalClient { local_as: 64512, peer_as: 65001 }),
                (10, 16, "neighbor[1].restart_time", Problem::RestartTime(5000)),
            ],
        ),
        (
            "duplicate cluster",
            format!("[[cluster]]\nid = \"10.0.0.9\"\n[[cluster]]\nid = \"10.0.0.9\"\n{NEIGHBOR}cluster_id = \"10.0.0.9\"\nclient = true\n"),
            vec![(4, 6, "cluster[1].id", Problem::DuplicateCluster {
                id: Ipv4Addr::new(10, 0, 0, 9),
                first: config::FieldPath::root().key("cluster").index(0),
            })],
        ),
        (
            "dynamic range with both asn and asn_range, empty range",
            "[[dynamic]]\nprefix = \"10.0.0.0/8\"\nasn = 64512\nasn_range = [5, 2]\nmax_peers = 0\n".to_string(),
            vec![
                (1, 1, "dynamic[0]", Problem::AsnAndRange),
                (4, 13, "dynamic[0].asn_range", Problem::AsnRange { low: 5, high: 2 }),
                (5, 13, "dynamic[0].max_peers", Problem::MaxPeersZero),
            ],
        ),
        (
            "local address of the other family",
            format!("{NEIGHBOR}local_address = \"fd00::1\"\n"),
            vec![(4, 17, "neighbor[0].local_address", Problem::LocalAddressFamily {
                local: "fd00::1".parse().unwrap(),
                peer: "10.0.0.1".parse().unwrap(),
            })],
        ),
        (
            "bad prefix range",
            format!("{NEIGHBOR}import = \"p\"\n[[policy]]\nname = \"p\"\n[[policy.statement]]\nverdict = \"accept\"\nmatch.prefix = [\"10.0.0.0/8 le 4\"]\n"),
            vec![(9, 17, "policy[0].statement[0].match.prefix[0]", schema("prefix range `10.0.0.0/8 le 4`: lengths must satisfy 8 <= ge <= le <= 32"))],
        ),
    ];
    for (name, text, expected) in cases {
        let got = findings(&text);
        let expected: Vec<(usize, usize, String, Problem)> = expected
            .into_iter()
            .map(|(l, c, p, problem)| (l, c, p.to_string(), problem))
            .collect();
        assert_eq!(got, expected, "case `{name}`:\n{text}");
    }
}

#[test]
fn warnings_do_not_reject_the_file() {
    let cases: Vec<WarningCase> = vec![
        (
            "unused cluster",
            format!("[global]\nrouter_id = \"10.0.0.1\"\n[[cluster]]\nid = \"10.0.0.9\"\n{NEIGHBOR}"),
            vec![("cluster[0]", Problem::UnusedCluster(Ipv4Addr::new(10, 0, 0, 9)))],
        ),
        (
            "cluster of the default cluster id is used",
            format!("[global]\nrouter_id = \"10.0.0.1\"\n[[cluster]]\nid = \"10.0.0.1\"\n{NEIGHBOR}client = true\n"),
            vec![],
        ),
        (
            "non-client iBGP neighbour with client-to-client off",
            format!("[global]\nrouter_id = \"10.0.0.1\"\n[[cluster]]\nid = \"10.0.0.1\"\nclient_to_client = false\n{NEIGHBOR}"),
            vec![("neighbor[0]", Problem::NonClientWithoutClientToClient { cluster: Ipv4Addr::new(10, 0, 0, 1) })],
        ),
        (
            "dynamic clients with client-to-client off",
            "[global]\nrouter_id = \"10.0.0.1\"\n[[cluster]]\nid = \"10.0.0.1\"\nclient_to_client = false\n[[template]]\nname = \"c\"\nclient = true\n[[dynamic]]\nprefix = \"10.0.0.0/8\"\ntemplate = \"c\"\n".to_string(),
            vec![("dynamic[0]", Problem::DynamicClientsWithoutClientToClient { cluster: Ipv4Addr::new(10, 0, 0, 1) })],
        ),
        (
            "shared cluster id with another reflector",
            format!("[global]\nrouter_id = \"10.0.0.1\"\ncluster_id = \"10.0.0.100\"\n{NEIGHBOR}"),
            vec![("global.cluster_id", Problem::SharedClusterId { cluster: Ipv4Addr::new(10, 0, 0, 100) })],
        ),
        (
            "shared cluster id without another reflector",
            format!("[global]\nrouter_id = \"10.0.0.1\"\ncluster_id = \"10.0.0.100\"\n{NEIGHBOR}client = true\n"),
            vec![("global.cluster_id", Problem::SharedClusterWithoutReflectors { cluster: Ipv4Addr::new(10, 0, 0, 100) })],
        ),
        (
            "cluster id on a non-client",
            format!("{NEIGHBOR}cluster_id = \"10.0.0.9\"\n"),
            vec![("neighbor[0].cluster_id", Problem::ClusterIdOnNonClient)],
        ),
        (
            "unused template and policy, API on all addresses",
            format!("[api]\nlisten = \"0.0.0.0:8179\"\n[[template]]\nname = \"t\"\n[[policy]]\nname = \"p\"\n{NEIGHBOR}"),
            vec![
                ("api.listen", Problem::ApiNotLoopback("0.0.0.0:8179".parse().unwrap())),
                ("template[0]", Problem::UnusedTemplate("t".into())),
                ("policy[0]", Problem::UnusedPolicy("p".into())),
            ],
        ),
        (
            "ADD-PATH for a family not negotiated",
            format!("{NEIGHBOR}families = [\"ipv4\"]\nadd_path = {{ ipv6-unicast = \"send\" }}\n"),
            vec![("neighbor[0].add_path", Problem::AddPathFamilyUnused(config::schema::Family::Ipv6Unicast))],
        ),
        ("nothing to peer with", String::new(), vec![("", Problem::NoPeers)]),
        (
            "MD5 on a dynamic range is fine",
            "[[template]]\nname = \"t\"\npassword = \"x\"\n[[dynamic]]\nprefix = \"10.0.0.0/8\"\ntemplate = \"t\"\n".to_string(),
            vec![],
        ),
    ];
    for (name, text, expected) in cases {
        let checked = config::parse("t.toml", &text)
            .unwrap_or_else(|report| panic!("case `{name}` rejected:\n{report}"));
        let got: Vec<(String, Problem)> = checked
            .report
            .diagnostics
            .iter()
            .map(|d| {
                assert_eq!(d.severity(), Severity::Warning, "case `{name}`");
                (d.path.to_string(), d.problem.clone())
            })
            .collect();
        let expected: Vec<(String, Problem)> = expected
            .into_iter()
            .map(|(p, w)| (p.to_string(), w))
            .collect();
        assert_eq!(got, expected, "case `{name}`");
    }
}

#[test]
fn report_lines_name_the_file_line_column_and_field() {
    let text = format!(
        "{NEIGHBOR}\n[[neighbor]]\naddress = \"10.0.0.2\"\nasn = 65001\nhold_time = 1\nimport = \"p\"\nexport = \"p\"\n[[policy]]\nname = \"p\"\n"
    );
    let report = config::parse("reflector.toml", &text).unwrap_err();
    assert_eq!(
        report.lines(),
        [
            "reflector.toml:8:13: neighbor[1].hold_time: must be 0 or at least 3 seconds (RFC 4271 section 4.2), not 1"
        ]
    );
}

#[test]
fn the_embedded_default_parses_and_converts() {
    let checked = config::parse(config::DEFAULT_CONFIG_NAME, config::DEFAULT_CONFIG).unwrap();
    assert_eq!(checked.report.diagnostics, []);
    let router_id = Ipv4Addr::new(192, 0, 2, 7);
    let running = config::convert(&checked.file, router_id);
    let speaker = &running.speaker;
    assert_eq!(speaker.local_as, 64512);
    assert_eq!(speaker.router_id, router_id);
    assert_eq!(speaker.cluster_id, None, "the cluster ID is the router ID");
    assert_eq!(running.cluster_ids(), [router_id]);
    let listen: Vec<SocketAddr> = vec!["0.0.0.0:179".parse().unwrap(), "[::]:179".parse().unwrap()];
    assert_eq!(speaker.listen, listen);
    assert_eq!(running.api, "127.0.0.1:8179".parse::<SocketAddr>().unwrap());
    let prefixes: Vec<String> = speaker
        .dynamic_neighbors
        .iter()
        .map(|d| d.prefix.to_string())
        .collect();
    assert_eq!(
        prefixes,
        ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"]
    );
    for range in &speaker.dynamic_neighbors {
        let t = &range.template;
        assert_eq!(t.peer_as, PeerAs::Exact(64512));
        assert!(t.route_reflector_client && t.passive);
        assert_eq!(t.families, [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST]);
        assert_eq!(
            t.add_path,
            [
                (AfiSafi::IPV4_UNICAST, AddPathMode::Both),
                (AfiSafi::IPV6_UNICAST, AddPathMode::Both)
            ]
        );
        assert_eq!(t.add_path_send, AddPathSend::All);
        assert!(t.graceful_restart.enabled);
        assert!(
            t.import.is_none() && t.export.is_none(),
            "iBGP: RFC 8212 does not apply"
        );
    }
    assert!(running.neighbors.is_empty());
}

#[test]
fn options_convert_into_the_speakers_types() {
    let text = r#"
[global]
asn = 64512
router_id = "10.0.0.1"
listen = ["127.0.0.1:1179", "10.0.0.1"]
port = 1790

[[template]]
name = "t"
hold_time = 30
prefix_limit = { max = 100, action = "drop" }

[[neighbor]]
address = "10.0.0.2"
template = "t"
asn = 65001
hold_time = 60
next_hop = "self"
add_path = { ipv4 = "send" }
import = "in"
export = "in"

[[policy]]
name = "in"
default = "accept"
[[policy.statement]]
match = { prefix = ["10.0.0.0/8 le 24"], any = [{ peer_as = 65001 }, { community = ["no-export"], origin = "igp" }] }
actions = { local_pref = 200 }
verdict = "accept"
"#;
    let checked = config::parse("t.toml", text).unwrap();
    let running = config::convert(&checked.file, Ipv4Addr::new(10, 0, 0, 1));
    let listen: Vec<SocketAddr> = vec![
        "127.0.0.1:1179".parse().unwrap(),
        "10.0.0.1:1790".parse().unwrap(),
    ];
    assert_eq!(running.speaker.listen, listen);
    let address: IpAddr = "10.0.0.2".parse().unwrap();
    let o = &running.neighbors[&address].peer.options;
    assert_eq!(o.peer_as, PeerAs::Exact(65001));
    assert_eq!(
        o.hold_time, 60,
        "the neighbour's value wins over the template's"
    );
    assert_eq!(
        o.prefix_limit.unwrap().action,
        PrefixLimitAction::DropExcess
    );
    assert_eq!(o.next_hop, NextHopMode::SelfAddress);
    assert_eq!(o.add_path, [(AfiSafi::IPV4_UNICAST, AddPathMode::Send)]);
    assert_eq!(
        o.add_path_send,
        AddPathSend::All,
        "sending ADD-PATH defaults to all paths"
    );
    let policy = o.import.as_ref().unwrap();
    assert!(running.speaker.dynamic_neighbors.is_empty());
    assert_eq!(policy.name, "in");
    assert_eq!(policy.statements[0].conditions.len(), 2);
    assert!(policy.depends_on_prefix());
}

#[test]
fn dynamic_ranges_take_their_as_from_the_range_then_the_template() {
    let text = r#"
[[template]]
name = "ebgp"
asn = 65010
import = "all"
export = "all"

[[dynamic]]
prefix = "10.1.0.0/16"
template = "ebgp"

[[dynamic]]
prefix = "10.2.0.0/16"
template = "ebgp"
asn = 65020

[[dynamic]]
prefix = "10.3.0.0/16"
template = "ebgp"
asn_range = [65100, 65199]

[[dynamic]]
prefix = "10.4.0.0/16"

[[policy]]
name = "all"
default = "accept"
"#;
    let checked = config::parse("t.toml", text).unwrap();
    assert_eq!(checked.report.diagnostics, []);
    let running = config::convert(&checked.file, Ipv4Addr::new(10, 0, 0, 1));
    let ases: Vec<PeerAs> = running
        .speaker
        .dynamic_neighbors
        .iter()
        .map(|d| d.template.peer_as.clone())
        .collect();
    assert_eq!(
        ases,
        [
            PeerAs::Exact(65010),
            PeerAs::Exact(65020),
            PeerAs::Range(65100, 65199),
            PeerAs::Exact(64512)
        ]
    );
    assert!(
        running
            .speaker
            .dynamic_neighbors
            .iter()
            .all(|d| d.template.passive)
    );
    let options = running.options_of("10.3.1.1".parse().unwrap()).unwrap();
    assert_eq!(options.peer_as, PeerAs::Range(65100, 65199));
    assert!(running.options_of("192.0.2.1".parse().unwrap()).is_none());
}
