//! Explanations of the decision, for the API.

#[path = "rib_support.rs"]
mod support;

use bgp_proto::attribute::PathAttribute;
use bgp_proto::iana::AfiSafi;

use bgp_speaker::rib::{DecisionStep, Outcome};
use bgp_speaker::types::PeerId;

use support::*;

const P: &str = "203.0.113.0/24";

fn lost(rib: &bgp_speaker::rib::Rib, peer: u32) -> bgp_speaker::rib::Lost {
    let explanation = rib.explain(AfiSafi::IPV4_UNICAST, net(P));
    let path = explanation
        .paths
        .into_iter()
        .find(|p| p.path.peer == PeerId(peer))
        .unwrap();
    match path.outcome {
        Outcome::Lost(lost) => lost,
        Outcome::Best => panic!("best"),
    }
}

#[test]
fn each_loser_gets_the_step_and_a_human_reason() {
    let mut rib = rib();
    for id in 1..=4 {
        rib.add_peer(client(id), None, None);
    }
    let mut preferred = base(&[65001]);
    preferred.push(PathAttribute::LocalPref(200));
    apply(&mut rib, 1, &announce(&[P], preferred));
    apply(&mut rib, 2, &announce(&[P], base(&[65001])));
    let mut longer = base(&[65001, 65002, 65003]);
    longer.push(PathAttribute::LocalPref(200));
    apply(&mut rib, 3, &announce(&[P], longer));
    let mut worse_id = base(&[65001]);
    worse_id.push(PathAttribute::LocalPref(200));
    apply(&mut rib, 4, &announce(&[P], worse_id));

    let explanation = rib.explain(AfiSafi::IPV4_UNICAST, net(P));
    assert_eq!(explanation.paths.len(), 4);
    assert_eq!(explanation.paths[0].outcome, Outcome::Best);
    assert_eq!(explanation.paths[0].path.peer, PeerId(1));

    let two = lost(&rib, 2);
    assert_eq!(two.step, DecisionStep::LocalPref);
    assert_eq!(two.reason, "lower LOCAL_PREF (100 < 200)");
    assert_eq!(two.against, (PeerId(1), 0));
    assert_eq!(lost(&rib, 3).reason, "longer AS_PATH (3 > 1)");
    assert_eq!(
        lost(&rib, 4).reason,
        "higher router ID (10.255.0.4 > 10.255.0.1)"
    );
    let text = explanation.to_string();
    assert!(text.contains("#1 from peer#1 path-id 0: best"), "{text}");
    assert!(
        text.contains("at LOCAL_PREF (RFC 4271 section 9.1.1): lower LOCAL_PREF (100 < 200)"),
        "{text}"
    );
}

#[test]
fn med_losers_are_explained_against_their_neighbour_as_best() {
    let mut rib = rib();
    for id in 1..=3 {
        rib.add_peer(client(id), None, None);
    }
    // The MED cycle: 2 is best; 1 lost to 3 (same neighbour AS) on MED,
    // though compared with 2 directly it would win on router ID.
    let mut one = base(&[100, 7]);
    one.push(PathAttribute::MultiExitDisc(20));
    let mut two = base(&[200, 7]);
    two.push(PathAttribute::MultiExitDisc(0));
    let mut three = base(&[100, 8]);
    three.push(PathAttribute::MultiExitDisc(10));
    apply(&mut rib, 1, &announce(&[P], one));
    apply(&mut rib, 2, &announce(&[P], two));
    apply(&mut rib, 3, &announce(&[P], three));
    let one = lost(&rib, 1);
    assert_eq!(one.step, DecisionStep::Med);
    assert_eq!(one.against, (PeerId(3), 0));
    assert_eq!(
        one.reason,
        "higher MED (20 > 10) from the same neighbour AS 100"
    );
    let three = lost(&rib, 3);
    assert_eq!(three.step, DecisionStep::RouterId);
    assert_eq!(three.against, (PeerId(2), 0));
}

#[test]
fn an_unknown_prefix_has_no_paths() {
    let rib = rib();
    assert!(rib.explain(AfiSafi::IPV4_UNICAST, net(P)).paths.is_empty());
}
