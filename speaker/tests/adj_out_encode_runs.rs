//! The encoder groups a batch's prefixes by attribute set (one run of
//! UPDATEs per set), in the order the routes changed, however the sets
//! interleave in the batch.

#[path = "adj_out_support.rs"]
mod support;

use bgp_proto::attribute::PathAttribute;
use bgp_proto::message::Update;

use support::*;

fn announced(update: &Update) -> Vec<String> {
    update.nlri.iter().map(|n| n.prefix.to_string()).collect()
}

fn med(update: &Update) -> Option<u32> {
    update.attributes.iter().find_map(|a| match a {
        PathAttribute::MultiExitDisc(med) => Some(*med),
        _ => None,
    })
}

#[test]
fn interleaved_sets_give_one_update_per_set_with_prefixes_in_change_order() {
    let mut h = Harness::new();
    h.source(&Peer::client(90));
    h.add(&Peer::client(1));
    h.messages(1);
    let set = |h: &mut Harness, med| {
        h.intern(attrs(
            &[],
            "10.0.0.90",
            vec![PathAttribute::MultiExitDisc(med)],
        ))
    };
    let (a, b, c) = (set(&mut h, 1), set(&mut h, 2), set(&mut h, 3));
    // Runs: a a | b | a | c c | b | a, and one withdrawal in between.
    let batch = [
        ("10.1.0.0/16", Some(&a)),
        ("10.2.0.0/16", Some(&a)),
        ("10.3.0.0/16", Some(&b)),
        ("10.4.0.0/16", Some(&a)),
        ("10.5.0.0/16", Some(&c)),
        ("10.6.0.0/16", None),
        ("10.7.0.0/16", Some(&c)),
        ("10.8.0.0/16", Some(&b)),
        ("10.9.0.0/16", Some(&a)),
    ];
    // 10.6.0.0/16 was advertised before, so its withdrawal is sent.
    let _ = h.send(&[change("10.6.0.0/16", vec![path(90, &c)])]);
    h.messages(1);
    let changes: Vec<_> = batch
        .iter()
        .map(|(prefix, set)| match set {
            Some(set) => change(prefix, vec![path(90, set)]),
            None => withdraw(prefix),
        })
        .collect();
    let _ = h.send(&changes);
    let updates = h.updates(1);
    assert_eq!(updates.len(), 4, "{updates:#?}");
    assert_eq!(
        updates[0]
            .withdrawn
            .iter()
            .map(|n| n.prefix.to_string())
            .collect::<Vec<_>>(),
        ["10.6.0.0/16"]
    );
    let by_set: Vec<(Option<u32>, Vec<String>)> = updates[1..]
        .iter()
        .map(|u| (med(u), announced(u)))
        .collect();
    assert_eq!(
        by_set,
        vec![
            (
                Some(1),
                vec![
                    "10.1.0.0/16".into(),
                    "10.2.0.0/16".into(),
                    "10.4.0.0/16".into(),
                    "10.9.0.0/16".into()
                ]
            ),
            (Some(2), vec!["10.3.0.0/16".into(), "10.8.0.0/16".into()]),
            (Some(3), vec!["10.5.0.0/16".into(), "10.7.0.0/16".into()]),
        ]
    );
}
