//! The daemon in-process over real loopback TCP: two bgp-speaker clients
//! get each other's routes through it, the API and the CLI show them,
//! `/metrics` has the session metrics, a reload adds one neighbour and
//! removes another without touching the third, an invalid reload changes
//! nothing, and shutdown closes the sessions with an RFC 9003 message.
//!
//! The reflector listens on 127.0.71.1; clients bind 127.0.71.x so the
//! reflector recognises them by source address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use bgp_proto::attribute::{AsPath, NextHop, Origin, PathAttribute};
use bgp_proto::iana::AfiSafi;
use bgp_proto::session::PeerAs;
use bgp_reflector::api::types::{Neighbor, ReloadResult, Route, SessionState, Summary};
use bgp_reflector::client::{self, ClientError};
use bgp_reflector::{ConfigSource, Daemon, DaemonConfig, Overrides};
use bgp_speaker::PathAttrs;
use bgp_speaker::config::{PeerConfig, PeerOptions, SpeakerConfig};
use bgp_speaker::speaker::{NeighborState, Speaker, SpeakerHandle};
use ipnetwork::IpNetwork;

const PORT: u16 = 11279;

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 71, last)
}

fn config(neighbors: &[u8], hold_time: u16) -> String {
    let mut text = format!(
        r#"
[global]
asn = 64512
router_id = "{r}"
listen = ["{r}:{PORT}"]

[api]
listen = "127.0.0.1:0"

[[template]]
name = "node"
client = true
passive = true
hold_time = {hold_time}
"#,
        r = ip(1)
    );
    for last in neighbors {
        text.push_str(&format!(
            "\n[[neighbor]]\naddress = \"{}\"\nasn = 64512\ntemplate = \"node\"\ndescription = \"c{last}\"\n",
            ip(*last)
        ));
    }
    text
}

/// A client speaker at 127.0.71.`last` that connects to the reflector.
async fn client(last: u8) -> SpeakerHandle {
    let me = ip(last);
    let speaker = Speaker::start(SpeakerConfig::new(64512, me)).await.unwrap();
    let mut options = PeerOptions::new(PeerAs::Exact(64512));
    options.port = PORT;
    options.local_address = Some(IpAddr::V4(me));
    options.connect_retry = Duration::from_secs(1);
    options.hold_time = 9;
    speaker
        .add_peer(PeerConfig {
            address: IpAddr::V4(ip(1)),
            options,
        })
        .await
        .unwrap();
    speaker
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn neighbors(api: SocketAddr) -> Vec<Neighbor> {
    client::get(api, "/api/v1/neighbors").await.unwrap()
}

async fn established(api: SocketAddr, addresses: Vec<Ipv4Addr>) -> bool {
    let list = neighbors(api).await;
    list.len() == addresses.len()
        && addresses.iter().all(|a| {
            list.iter()
                .any(|n| n.address == IpAddr::V4(*a) && n.state == SessionState::Established)
        })
}

fn prefix() -> IpNetwork {
    "10.71.0.0/24".parse().unwrap()
}

async fn paths_at(speaker: &SpeakerHandle) -> Vec<PathAttrs> {
    speaker
        .routes(AfiSafi::IPV4_UNICAST, Some(prefix()))
        .await
        .unwrap()
        .into_iter()
        .flat_map(|r| r.paths.into_iter().map(|(p, _)| (*p.attrs).clone()))
        .collect()
}

fn cli(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bgp-reflector"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_reflects_reports_reloads_and_shuts_down() {
    let file =
        TempFile(std::env::temp_dir().join(format!("reflex-e2e-{}.toml", std::process::id())));
    std::fs::write(&file.0, config(&[2, 3], 9)).unwrap();
    let daemon = Daemon::start(DaemonConfig {
        source: ConfigSource::File(file.0.clone()),
        overrides: Overrides::default(),
    })
    .await
    .unwrap();
    let api = daemon.api_addr();
    assert_eq!(
        daemon.bgp_addrs(),
        [SocketAddr::new(IpAddr::V4(ip(1)), PORT)]
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(daemon.serve(async {
        let _ = stopped.await;
    }));

    // Two clients come up; one's route reaches the other, reflected.
    let c2 = client(2).await;
    let c3 = client(3).await;
    wait_until("both sessions", || established(api, vec![ip(2), ip(3)])).await;
    let attrs = PathAttrs {
        next_hop: NextHop::V4(ip(2)),
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::default()),
        ],
    };
    c2.originate(AfiSafi::IPV4_UNICAST, prefix(), attrs)
        .await
        .unwrap();
    wait_until("the route at c3", || async {
        !paths_at(&c3).await.is_empty()
    })
    .await;
    let reflected = &paths_at(&c3).await[0];
    assert_eq!(reflected.originator_id(), Some(ip(2)), "RFC 4456 section 8");
    assert_eq!(
        reflected.cluster_list(),
        &[ip(1)],
        "the cluster ID is the router ID"
    );
    assert_eq!(reflected.next_hop, NextHop::V4(ip(2)));

    // The API shows the sessions and the route with its explanation.
    let list = neighbors(api).await;
    let n2 = list
        .iter()
        .find(|n| n.address == IpAddr::V4(ip(2)))
        .unwrap();
    assert_eq!(n2.client, Some(true));
    assert_eq!(n2.description.as_deref(), Some("c2"));
    assert_eq!(n2.router_id, Some(ip(2)));
    assert_eq!(n2.prefixes_received, 1);
    let n3 = list
        .iter()
        .find(|n| n.address == IpAddr::V4(ip(3)))
        .unwrap();
    // The reflected route, in c3's group's Adj-RIB-Out; at least that
    // UPDATE and the End-of-RIB were queued to c3.
    assert_eq!(n3.prefixes_sent, Some(1));
    assert!(n3.updates_sent >= Some(2), "{n3:?}");
    let caps = n2.capabilities.as_ref().unwrap();
    assert_eq!(caps.peer_type, "ibgp");
    assert!(caps.families.contains(&"ipv4-unicast".to_string()));
    assert_eq!(caps.hold_time, 9);
    let one: Neighbor = client::get(api, &format!("/api/v1/neighbors/{}", ip(3)))
        .await
        .unwrap();
    assert_eq!(one.state, SessionState::Established);
    match client::get::<Neighbor>(api, "/api/v1/neighbors/127.0.71.99").await {
        Err(ClientError::Status { status: 404, .. }) => {}
        other => panic!("expected 404, got {other:?}"),
    }
    let routes: Vec<Route> = client::get(api, "/api/v1/routes?family=ipv4&prefix=10.71.0.0/24")
        .await
        .unwrap();
    assert_eq!(routes.len(), 1);
    let path = &routes[0].paths[0];
    assert_eq!(path.from, Some(IpAddr::V4(ip(2))));
    assert!(path.best);
    assert_eq!(path.reason.as_deref(), Some("best path"));
    assert_eq!(path.local_pref, Some(100));
    let all: Vec<Route> = client::get(api, "/api/v1/routes").await.unwrap();
    assert_eq!(all.len(), 1);
    match client::get::<Vec<Route>>(api, "/api/v1/routes?family=ipv5").await {
        Err(ClientError::Status {
            status: 400,
            message,
            ..
        }) => {
            assert!(message.contains("ipv5"), "{message}")
        }
        other => panic!("expected 400, got {other:?}"),
    }
    let summary: Summary = client::get(api, "/api/v1/summary").await.unwrap();
    assert_eq!((summary.asn, summary.router_id), (64512, ip(1)));
    assert_eq!(summary.peers["established"], 2);
    assert_eq!(summary.loc_rib_prefixes["ipv4-unicast"], 1);
    assert_eq!(summary.update_groups, 1, "both clients share one group");

    let metrics = client::request(api, "GET", "/metrics").await.unwrap();
    let metrics = String::from_utf8(metrics.body).unwrap();
    for line in [
        "reflex_sessions{state=\"established\"} 2",
        "reflex_prefixes_received{peer=\"127.0.71.2\"} 1",
        "reflex_session_established{peer=\"127.0.71.3\"} 1",
        "reflex_update_groups 1",
        "reflex_build_info{version=",
    ] {
        assert!(metrics.contains(line), "no `{line}` in\n{metrics}");
    }

    // The CLI prints the same as tables.
    let api_arg = api.to_string();
    let table = cli(&["neighbors", "--api", &api_arg]);
    assert!(
        table.starts_with("Neighbor    AS     Type    State"),
        "{table}"
    );
    assert!(
        table.contains("127.0.71.2  64512  client  Established"),
        "{table}"
    );
    let table = cli(&["routes", "--prefix", "10.71.0.0/24", "--api", &api_arg]);
    assert!(
        table.contains("10.71.0.0/24  *  127.0.71.2  127.0.71.2"),
        "{table}"
    );
    let json = cli(&["summary", "--json", "--api", &api_arg]);
    assert!(serde_json::from_str::<Summary>(&json).is_ok(), "{json}");

    // Reload: remove c3, add c4, leave c2 alone.
    let before = client::get::<Neighbor>(api, &format!("/api/v1/neighbors/{}", ip(2)))
        .await
        .unwrap();
    let c4 = client(4).await;
    std::fs::write(&file.0, config(&[2, 4], 9)).unwrap();
    let result: ReloadResult = client::post(api, "/api/v1/reload").await.unwrap();
    assert_eq!(result.added, [IpAddr::V4(ip(4))]);
    assert_eq!(result.removed, [IpAddr::V4(ip(3))]);
    assert!(
        result.reset.is_empty() && result.failed.is_empty(),
        "{result:?}"
    );
    assert_eq!(result.unchanged, 1);
    assert_eq!(result.restart_required, Vec::<String>::new());
    wait_until("c4 up, c3 gone", || established(api, vec![ip(2), ip(4)])).await;
    wait_until("the route at c4", || async {
        !paths_at(&c4).await.is_empty()
    })
    .await;
    wait_until("the route gone at c3", || async {
        paths_at(&c3).await.is_empty()
    })
    .await;
    let after = client::get::<Neighbor>(api, &format!("/api/v1/neighbors/{}", ip(2)))
        .await
        .unwrap();
    assert_eq!(after.state, SessionState::Established);
    assert!(
        after.uptime_seconds >= before.uptime_seconds,
        "c2's session was not reset: {} then {}",
        before.uptime_seconds,
        after.uptime_seconds
    );
    assert!(after.updates_received >= before.updates_received);
    assert_eq!(after.prefixes_received, 1);

    // An invalid file is refused with located errors, and nothing changes.
    std::fs::write(&file.0, config(&[2], 2)).unwrap();
    match client::post::<ReloadResult>(api, "/api/v1/reload").await {
        Err(ClientError::Status {
            status: 400,
            findings,
            ..
        }) => {
            let finding = &findings[0];
            assert_eq!(finding.path, "template[0].hold_time");
            assert_eq!((finding.line, finding.column), (Some(14), Some(13)));
            assert!(
                finding
                    .text
                    .ends_with("must be 0 or at least 3 seconds (RFC 4271 section 4.2), not 2")
            );
        }
        other => panic!("expected 400, got {other:?}"),
    }
    assert!(established(api, vec![ip(2), ip(4)]).await);
    let metrics = client::request(api, "GET", "/metrics").await.unwrap();
    let metrics = String::from_utf8(metrics.body).unwrap();
    assert!(metrics.contains("reflex_config_reloads_total{result=\"success\"} 1"));
    assert!(metrics.contains("reflex_config_reloads_total{result=\"failure\"} 1"));

    // Shutdown: Cease / Administrative Shutdown with the RFC 9003 message.
    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
    wait_until("c2 sees the shutdown", || async {
        c2.neighbors().await.unwrap().iter().any(|n| {
            n.state == NeighborState::Down
                && n.last_error.as_deref().is_some_and(|e| {
                    e.contains("Administrative Shutdown") && e.contains("shutting down")
                })
        })
    })
    .await;
    assert!(
        client::request(api, "GET", "/api/v1/summary")
            .await
            .is_err(),
        "the API is gone"
    );
    for speaker in [c2, c3, c4] {
        speaker.shutdown("test over").await;
    }
}

/// A client at `address` (its own listen-less speaker) of the reflector at
/// `reflector`:`port`.
async fn client_of(address: Ipv4Addr, reflector: Ipv4Addr, port: u16) -> SpeakerHandle {
    let speaker = Speaker::start(SpeakerConfig::new(64512, address))
        .await
        .unwrap();
    let mut options = PeerOptions::new(PeerAs::Exact(64512));
    options.port = port;
    options.local_address = Some(IpAddr::V4(address));
    options.connect_retry = Duration::from_secs(1);
    speaker
        .add_peer(PeerConfig {
            address: IpAddr::V4(reflector),
            options,
        })
        .await
        .unwrap();
    speaker
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_clients_are_accepted_and_reflected() {
    let r = Ipv4Addr::new(127, 0, 73, 1);
    let text = format!(
        r#"
[global]
router_id = "{r}"
listen = ["{r}:11283"]

[api]
listen = "127.0.0.1:0"

[[template]]
name = "node"
client = true
add_path = "both"

[[dynamic]]
prefix = "127.0.73.0/24"
template = "node"
max_peers = 10
"#
    );
    let daemon = Daemon::start(DaemonConfig {
        source: ConfigSource::Text {
            name: "dynamic.toml".into(),
            text,
        },
        overrides: Overrides::default(),
    })
    .await
    .unwrap();
    let api = daemon.api_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(daemon.serve(async {
        let _ = stopped.await;
    }));
    let (a, b) = (Ipv4Addr::new(127, 0, 73, 2), Ipv4Addr::new(127, 0, 73, 3));
    let ca = client_of(a, r, 11283).await;
    let cb = client_of(b, r, 11283).await;
    wait_until("two dynamic sessions", || established(api, vec![a, b])).await;
    let list = neighbors(api).await;
    assert!(
        list.iter().all(|n| n.dynamic && n.client == Some(true)),
        "{list:?}"
    );
    let attrs = PathAttrs {
        next_hop: NextHop::V4(a),
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::default()),
        ],
    };
    ca.originate(AfiSafi::IPV4_UNICAST, prefix(), attrs)
        .await
        .unwrap();
    wait_until("the route at b", || async {
        !paths_at(&cb).await.is_empty()
    })
    .await;
    assert_eq!(paths_at(&cb).await[0].originator_id(), Some(a));
    let summary: Summary = client::get(api, "/api/v1/summary").await.unwrap();
    assert_eq!(summary.peers["dynamic"], 2);
    assert_eq!(summary.config, "dynamic.toml");
    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
    ca.shutdown("test over").await;
    cb.shutdown("test over").await;
}
