//! The lab itself: hosts reach each other, the real daemons start and peer,
//! and everything is gone after the lab is dropped.

use std::time::Duration;

use reflex_testlab::daemons::{Bird, Frr, Gobgp};
use reflex_testlab::{Host, Lab, skip_unless};

fn namespaces() -> String {
    reflex_testlab::netns::run(&["ip", "netns", "list"]).unwrap_or_default()
}

#[test]
fn hosts_on_a_link_reach_each_other_and_vanish_on_drop() {
    if skip_unless(&["ping"]) {
        return;
    }
    let ns_a;
    {
        let mut lab = Lab::new("ping").unwrap();
        let a = lab.host("a").unwrap();
        let b = lab.host("b").unwrap();
        lab.link(&a, "10.201.0.1/24", &b, "10.201.0.2/24").unwrap();
        let out = a
            .run(&["ping", "-c", "1", "-W", "2", "10.201.0.2"])
            .unwrap();
        assert!(out.contains("1 received"), "{out}");
        let seen = b
            .enter(|| std::net::TcpListener::bind("10.201.0.2:0").is_ok())
            .unwrap();
        assert!(seen, "a socket bound inside the namespace sees its address");
        ns_a = a.ns.clone();
        assert!(namespaces().contains(&ns_a));
    }
    assert!(!namespaces().contains(&ns_a), "namespace removed on drop");
}

#[test]
fn bird_gobgp_and_frr_establish_sessions_with_each_other() {
    if skip_unless(&[
        "bird",
        "birdc",
        "gobgpd",
        "gobgp",
        "vtysh",
        reflex_testlab::daemons::frr::FRR_BGPD,
    ]) {
        return;
    }
    let mut lab = Lab::new("daemons").unwrap();
    let a = lab.host("bird").unwrap();
    let b = lab.host("gobgp").unwrap();
    let c = lab.host("frr").unwrap();
    lab.switch(
        "sw",
        &[
            (&a, "10.202.0.1/24"),
            (&b, "10.202.0.2/24"),
            (&c, "10.202.0.3/24"),
        ],
    )
    .unwrap();
    let bird = Bird::start(
        &mut lab,
        &a,
        r#"
router id 10.202.0.1;
protocol device {}
protocol bgp gobgp { local 10.202.0.1 as 65001; neighbor 10.202.0.2 as 65002; ipv4 { import all; export all; }; }
protocol bgp frr { local 10.202.0.1 as 65001; neighbor 10.202.0.3 as 65003; ipv4 { import all; export all; }; }
"#,
    )
    .unwrap();
    let gobgp = Gobgp::start(
        &mut lab,
        &b,
        r#"
[global.config]
  as = 65002
  router-id = "10.202.0.2"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.202.0.1"
    peer-as = 65001
"#,
        50051,
    )
    .unwrap();
    let _frr = Frr::start(
        &mut lab,
        &c,
        r#"
router bgp 65003
 bgp router-id 10.202.0.3
 no bgp ebgp-requires-policy
 neighbor 10.202.0.1 remote-as 65001
"#,
    )
    .unwrap();
    Host::wait_for(Duration::from_secs(30), "BIRD-GoBGP session", || {
        (bird.established("gobgp") && gobgp.established("10.202.0.1")).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}\n{}", lab.log("bird-bird"), lab.log("gobgpd-gobgp")));
    Host::wait_for(Duration::from_secs(30), "BIRD-FRR session", || {
        bird.established("frr").then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}\n{}", lab.log("bird-bird"), lab.log("frr-frr")));
}
