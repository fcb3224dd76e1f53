//! The `bgp-client` binary: `check` on good and bad files, and `run` as a
//! real process in a node namespace, stopped cleanly by SIGTERM.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::Duration;

use bgp_client::agent::{Agent, AgentConfig, ReflectorPeer};
use bgp_proto::session::PeerAs;
use bgp_speaker::config::{PeerConfig, PeerOptions, SpeakerConfig};
use bgp_speaker::speaker::Speaker;
use common::{ip_routes, run_in, runtime_in, wait_for};
use reflex_testlab::{Lab, skip_unless};

const BIN: &str = env!("CARGO_BIN_EXE_bgp-client");

#[test]
fn check_accepts_the_example_and_rejects_a_bad_file() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/client/client.toml"
    );
    let out = Command::new(BIN)
        .args(["check", "--config", example])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (2 reflectors, 2 export rules)"));

    let dir = std::env::temp_dir().join(format!("bgp-client-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[node]\nname = \"a\"\nasn = 0\nipv4 = \"192.0.2.1\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml:3:7: node.asn: AS 0 cannot be used (RFC 7607)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.toml:1:1: no reflectors configured"),
        "{stderr}"
    );
}

#[test]
fn run_advertises_and_a_sigterm_withdraws() {
    if skip_unless(&["ip", "kill"]) {
        return;
    }
    common::init_logging();
    let mut lab = Lab::new("client-cli").unwrap();
    let (a, b, r) = (
        lab.host("a").unwrap(),
        lab.host("b").unwrap(),
        lab.host("r").unwrap(),
    );
    lab.switch(
        "sw",
        &[
            (&a, "10.0.0.11/24"),
            (&b, "10.0.0.12/24"),
            (&r, "10.0.0.1/24"),
        ],
    )
    .unwrap();
    a.run(&[
        "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p",
    ])
    .unwrap();
    a.run(&["ip", "link", "set", "d0p", "up"]).unwrap();
    a.run(&["ip", "link", "set", "d0", "up"]).unwrap();
    a.run(&["ip", "route", "add", "blackhole", "10.65.3.0/26"])
        .unwrap();

    let r_runtime = runtime_in(&r);
    let rr = run_in(&r_runtime, async {
        let me = Ipv4Addr::new(10, 0, 0, 1);
        let mut config = SpeakerConfig::new(64512, me);
        config.listen = vec![std::net::SocketAddr::new(IpAddr::V4(me), 179)];
        let speaker = Speaker::start(config).await.unwrap();
        for last in [11, 12] {
            let mut options = PeerOptions::new(PeerAs::Exact(64512));
            options.passive = true;
            options.route_reflector_client = true;
            let address = IpAddr::V4(Ipv4Addr::new(10, 0, 0, last));
            speaker
                .add_peer(PeerConfig { address, options })
                .await
                .unwrap();
        }
        speaker
    });
    let b_runtime = runtime_in(&b);
    let agent_b = run_in(&b_runtime, async {
        let mut config = AgentConfig::new("b", 64512, Ipv4Addr::new(10, 0, 0, 12));
        config.reflectors = vec![ReflectorPeer::new("10.0.0.1".parse().unwrap())];
        config.connect_retry = Duration::from_secs(1);
        Agent::start(config).await.unwrap()
    });

    let file = lab
        .write_file(
            "a.toml",
            "[node]\nname = \"a\"\nasn = 64512\nipv4 = \"10.0.0.11\"\n\n[[reflector]]\naddress = \"10.0.0.1\"\n\n\
             [bgp]\nconnect_retry = 1\n\n[export]\npools = [\"10.65.0.0/16\"]\n[[export.rule]]\nkinds = [\"blackhole\"]\n",
        )
        .unwrap();
    let pid = lab
        .spawn(
            &a,
            "bgp-client-a",
            &[BIN, "run", "--config", &file.display().to_string()],
        )
        .unwrap();
    wait_for(Duration::from_secs(20), "A's block at B", || {
        ip_routes(&b, &["10.65.3.0/26", "proto", "186"])
            .iter()
            .any(|l| l.contains("via 10.0.0.11"))
    });
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    wait_for(Duration::from_secs(10), "A's block withdrawn at B", || {
        ip_routes(&b, &["10.65.3.0/26"]).is_empty()
    });
    wait_for(Duration::from_secs(5), "A's log", || {
        lab.log("bgp-client-a").contains("stopping")
    });

    run_in(&b_runtime, async move { agent_b.stop().await.unwrap() });
    run_in(&r_runtime, async move { rr.shutdown("test over").await });
}
