//! The CLI's tables and the metrics exposition for fixed inputs, compared
//! with golden strings.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use bgp_reflector::api::types::{
    Capabilities, Group, LoopDrops, Neighbor, ReloadResult, Route, RoutePath, SessionState,
    Summary, Warning,
};
use bgp_reflector::cli;
use bgp_reflector::metrics;
use bgp_reflector::redundancy::RedundancyWarning;
use bgp_reflector::reload::Reset;
use bgp_speaker::PeerRole;
use bgp_speaker::adj_out::{GroupId, GroupStats};
use bgp_speaker::rib::PeerCounters;
use bgp_speaker::speaker::{NeighborState, NeighborStatus};

fn neighbor(address: &str, state: SessionState) -> Neighbor {
    Neighbor {
        address: address.parse().unwrap(),
        asn: Some(64512),
        state,
        uptime_seconds: 3725.4,
        dynamic: false,
        client: Some(true),
        description: None,
        router_id: None,
        capabilities: None,
        prefixes_received: 0,
        prefixes_sent: None,
        updates_received: 0,
        updates_sent: None,
        out_queue_bytes: 0,
        out_queue_age_seconds: None,
        last_error: None,
        loop_drops: LoopDrops::default(),
        cluster_loop_originators: Vec::new(),
    }
}

#[test]
fn neighbors_table() {
    let mut up = neighbor("10.0.0.11", SessionState::Established);
    up.prefixes_received = 12;
    up.updates_received = 340;
    up.prefixes_sent = Some(30);
    up.updates_sent = Some(17);
    up.description = Some("node-11".into());
    up.capabilities = Some(Capabilities {
        peer_type: "ibgp".into(),
        families: vec!["ipv4-unicast".into()],
        four_octet_as: true,
        add_path_send: vec![],
        add_path_receive: vec![],
        extended_message: false,
        route_refresh: true,
        enhanced_route_refresh: false,
        graceful_restart: true,
        peer_restart_time: Some(120),
        hold_time: 90,
        keepalive: 30,
    });
    let mut down = neighbor("fd00::1234", SessionState::Down);
    down.uptime_seconds = 2.0 * 86_400.0 + 3.0 * 3600.0 + 4.0 * 60.0;
    down.last_error = Some("connection lost".into());
    down.client = Some(false);
    down.asn = Some(65000);
    let mut dynamic = neighbor("192.168.7.3", SessionState::Established);
    dynamic.dynamic = true;
    dynamic.client = None;
    dynamic.out_queue_bytes = 4096;
    assert_eq!(
        cli::neighbors_table(&[up, down, dynamic]),
        "\
Neighbor     AS     Type     State        Since     PfxRcd  PfxSnt  UpdRcd  UpdSnt  OutQ  Info
10.0.0.11    64512  client   Established  01:02:05  12      30      340     17      0     node-11
fd00::1234   65000  peer     Down         2d03h04m  0       -       0       -       0     connection lost
192.168.7.3  64512  dynamic  Established  01:02:05  0       -       0       -       4096
"
    );
    assert_eq!(
        cli::neighbors_table(&[]),
        "Neighbor  AS  Type  State  Since  PfxRcd  PfxSnt  UpdRcd  UpdSnt  OutQ  Info\n"
    );
}

fn path(from: Option<&str>, best: bool) -> RoutePath {
    RoutePath {
        from: from.map(|f| f.parse::<IpAddr>().unwrap()),
        path_id: 0,
        best,
        stale: false,
        next_hop: from.unwrap_or("10.0.0.1").to_string(),
        as_path: String::new(),
        origin: "IGP".into(),
        local_pref: Some(100),
        med: None,
        communities: vec![],
        large_communities: vec![],
        originator_id: None,
        cluster_list: vec![],
        lost_at: None,
        reason: None,
    }
}

#[test]
fn routes_table() {
    let mut second = path(Some("10.0.0.12"), false);
    second.reason = Some("lost to 10.0.0.11 path-id 0 at router ID".into());
    second.as_path = "65001 65002".into();
    second.med = Some(5);
    let mut first = path(Some("10.0.0.11"), true);
    first.reason = Some("best path".into());
    let routes = [
        Route {
            family: "ipv4-unicast".into(),
            prefix: "10.244.1.0/26".parse().unwrap(),
            paths: vec![first, second],
        },
        Route {
            family: "ipv4-unicast".into(),
            prefix: "10.244.2.0/26".parse().unwrap(),
            paths: vec![path(None, true)],
        },
    ];
    assert_eq!(
        cli::routes_table(&routes),
        "\
Prefix            From       Next hop   LocPref  MED  AS path      Origin  Reason
10.244.1.0/26  *  10.0.0.11  10.0.0.11  100      -    -            IGP     best path
                  10.0.0.12  10.0.0.12  100      5    65001 65002  IGP     lost to 10.0.0.11 path-id 0 at router ID
10.244.2.0/26  *  local      10.0.0.1   100      -    -            IGP
"
    );
}

#[test]
fn summary_text() {
    let summary = Summary {
        version: "0.1.0".into(),
        asn: 64512,
        router_id: "10.0.0.1".parse().unwrap(),
        cluster_ids: vec!["10.0.0.1".parse().unwrap(), "10.0.7.254".parse().unwrap()],
        uptime_seconds: 61.0,
        config: "/etc/reflex/reflector.toml".into(),
        peers: BTreeMap::from([
            ("total".to_string(), 3),
            ("established".to_string(), 2),
            ("down".to_string(), 1),
            ("dynamic".to_string(), 1),
        ]),
        prefixes_received: 42,
        loc_rib_prefixes: BTreeMap::from([
            ("ipv4-unicast".to_string(), 40),
            ("ipv6-unicast".to_string(), 2),
        ]),
        update_groups: 1,
        restart_pending: vec!["global.listen".into()],
        warnings: vec![Warning {
            finding: RedundancyWarning::NoOtherReflector {
                clusters: vec!["10.0.7.254".parse().unwrap()],
            },
            message: "no other reflector".into(),
        }],
        datastore: None,
    };
    assert_eq!(
        cli::summary_text(&summary),
        "\
Router ID:         10.0.0.1
AS:                64512
Cluster IDs:       10.0.0.1, 10.0.7.254
Uptime:            00:01:01
Sessions:          2 established, 1 down (3 total, 1 dynamic)
Prefixes received: 42
Loc-RIB:           ipv4-unicast 40, ipv6-unicast 2
Update groups:     1
Configuration:     /etc/reflex/reflector.toml
Version:           0.1.0
Restart pending:   global.listen
Warning:           no other reflector
"
    );
}

#[test]
fn groups_and_reload_text() {
    let group = Group {
        id: 3,
        role: "client".into(),
        members: 120,
        members_behind: 1,
        keeps_table: true,
        routes: 2400,
        pending: 0,
        messages_encoded: 77,
        bytes_encoded: 123_456,
        pushes: 9240,
        refused_pushes: 2,
    };
    assert_eq!(
        cli::groups_table(&[group]),
        "\
Group  Role    Members  Behind  Routes  Pending  Messages  Bytes
3      client  120      1       2400    0        77        123456
"
    );
    let result = ReloadResult {
        added: vec!["10.0.0.4".parse().unwrap()],
        removed: vec![],
        reset: vec![Reset {
            address: "10.0.0.3".parse().unwrap(),
            changed: vec!["hold_time".into(), "import".into()],
        }],
        described: vec!["10.0.0.2".parse().unwrap()],
        unchanged: 5,
        restart_required: vec!["global.listen".into()],
        failed: vec![],
        warnings: vec![],
    };
    assert_eq!(
        cli::reload_text(&result),
        "\
added: 10.0.0.4
removed: none
reset: 10.0.0.3 (hold_time, import)
unchanged: 6
restart required for: global.listen
"
    );
}

#[test]
fn durations() {
    assert_eq!(cli::duration(0.4), "00:00:00");
    assert_eq!(cli::duration(86_399.0), "23:59:59");
    assert_eq!(cli::duration(86_400.0 + 61.0), "1d00h01m");
}

#[test]
fn metrics_exposition() {
    let neighbors = [NeighborStatus {
        id: bgp_speaker::PeerId(1),
        address: "10.0.0.11".parse().unwrap(),
        peer_as: Some(64512),
        state: NeighborState::Established,
        since: Duration::from_millis(1500),
        negotiated: None,
        last_error: None,
        prefixes_received: 7,
        updates_received: 9,
        prefixes_sent: Some(5),
        updates_sent: Some(3),
        out_queue_bytes: 0,
        out_queue_age: None,
        dynamic: false,
        counters: PeerCounters {
            loops: bgp_speaker::rib::LoopDrops {
                cluster_list: 4,
                ..Default::default()
            },
            ..Default::default()
        },
    }];
    let groups = [GroupStats {
        id: GroupId(2),
        role: PeerRole::ReflectorClient,
        members: 1,
        members_behind: 0,
        keeps_table: false,
        routes: 7,
        tombstones: 0,
        pending: 0,
        version: 7,
        flushes: 3,
        messages_encoded: 3,
        bytes_encoded: 300,
        pushes: 3,
        refused_pushes: 0,
        attribute_blocks_encoded: 3,
        cached_transforms: 1,
        cached_blocks: 1,
        encode_errors: 0,
        not_exported: vec![],
    }];
    let text = metrics::render(&metrics::Snapshot {
        neighbors: &neighbors,
        groups: &groups,
        uptime: Duration::from_secs(10),
        reloads_ok: 1,
        reloads_failed: 0,
    });
    let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        samples,
        [
            "reflex_build_info{version=\"0.1.0\"} 1",
            "reflex_uptime_seconds 10",
            "reflex_sessions{state=\"established\"} 1",
            "reflex_sessions{state=\"down\"} 0",
            "reflex_session_established{peer=\"10.0.0.11\"} 1",
            "reflex_session_state_seconds{peer=\"10.0.0.11\"} 1.5",
            "reflex_prefixes_received{peer=\"10.0.0.11\"} 7",
            "reflex_updates_received_total{peer=\"10.0.0.11\"} 9",
            "reflex_out_queue_bytes{peer=\"10.0.0.11\"} 0",
            "reflex_out_queue_age_seconds{peer=\"10.0.0.11\"} 0",
            "reflex_prefixes_sent{peer=\"10.0.0.11\"} 5",
            "reflex_updates_sent_total{peer=\"10.0.0.11\"} 3",
            "reflex_loop_drops_total{peer=\"10.0.0.11\",reason=\"as_path\"} 0",
            "reflex_loop_drops_total{peer=\"10.0.0.11\",reason=\"originator_id\"} 0",
            "reflex_loop_drops_total{peer=\"10.0.0.11\",reason=\"cluster_list\"} 4",
            "reflex_update_groups 1",
            "reflex_group_members{group=\"2\",role=\"client\"} 1",
            "reflex_group_members_behind{group=\"2\"} 0",
            "reflex_group_routes{group=\"2\"} 7",
            "reflex_group_pending_routes{group=\"2\"} 0",
            "reflex_group_messages_encoded_total{group=\"2\"} 3",
            "reflex_group_bytes_encoded_total{group=\"2\"} 300",
            "reflex_group_pushes_total{group=\"2\"} 3",
            "reflex_group_refused_pushes_total{group=\"2\"} 0",
            "reflex_group_encode_errors_total{group=\"2\"} 0",
            "reflex_config_reloads_total{result=\"success\"} 1",
            "reflex_config_reloads_total{result=\"failure\"} 0",
        ]
    );
    assert!(text.contains("# TYPE reflex_updates_received_total counter\n"));
    assert_eq!(metrics::escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}
