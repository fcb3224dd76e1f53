//! Property: the ranking depends only on the set of paths, never on their
//! arrival order, and its best path is the one the elimination procedure of
//! RFC 4271 section 9.1.2.2 selects (MED compared only within a neighbour
//! AS).

#[path = "rib_support.rs"]
mod support;

use proptest::prelude::*;

use bgp_proto::attribute::{Origin, PathAttribute};

use support::*;

const P: &str = "198.51.100.0/24";

/// One client's route: LOCAL_PREF, neighbour AS, extra AS path length,
/// ORIGIN, MED.
#[derive(Debug, Clone, Copy)]
struct Route {
    local_pref: u32,
    neighbor: u32,
    extra: usize,
    origin: Origin,
    med: Option<u32>,
}

fn route() -> impl Strategy<Value = Route> {
    (
        prop::sample::select(vec![100u32, 200]),
        1u32..=3,
        0usize..=1,
        prop::sample::select(vec![Origin::Igp, Origin::Egp]),
        prop::option::of(prop::sample::select(vec![0u32, 10, 20])),
    )
        .prop_map(|(local_pref, neighbor, extra, origin, med)| Route {
            local_pref,
            neighbor,
            extra,
            origin,
            med,
        })
}

fn attributes(route: &Route) -> Vec<PathAttribute> {
    let mut path = vec![route.neighbor];
    path.extend(std::iter::repeat_n(64_512, route.extra));
    let mut attributes = base(&path);
    attributes[0] = PathAttribute::Origin(route.origin);
    attributes.push(PathAttribute::LocalPref(route.local_pref));
    if let Some(med) = route.med {
        attributes.push(PathAttribute::MultiExitDisc(med));
    }
    attributes
}

/// RFC 4271 section 9.1.2.2, step by step over the set; peers are iBGP
/// clients whose router IDs grow with their handle.
fn rfc_best(routes: &[(u32, Route)]) -> u32 {
    let mut left: Vec<(u32, Route)> = routes.to_vec();
    let best_pref = left.iter().map(|(_, r)| r.local_pref).max().unwrap();
    left.retain(|(_, r)| r.local_pref == best_pref);
    let shortest = left.iter().map(|(_, r)| r.extra).min().unwrap();
    left.retain(|(_, r)| r.extra == shortest);
    let lowest = left.iter().map(|(_, r)| r.origin).min().unwrap();
    left.retain(|(_, r)| r.origin == lowest);
    let snapshot = left.clone();
    left.retain(|(_, r)| {
        !snapshot
            .iter()
            .any(|(_, o)| o.neighbor == r.neighbor && o.med.unwrap_or(0) < r.med.unwrap_or(0))
    });
    left.iter().map(|(id, _)| *id).min().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn ranking_is_arrival_order_independent_and_matches_rfc(
        routes in prop::collection::vec(route(), 2..=5),
        shuffle in any::<u64>(),
    ) {
        let routes: Vec<(u32, Route)> =
            routes.into_iter().enumerate().map(|(i, r)| (i as u32 + 1, r)).collect();
        let mut arrival = routes.clone();
        // A deterministic shuffle from the seed.
        let mut seed = shuffle;
        for i in (1..arrival.len()).rev() {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            arrival.swap(i, (seed >> 33) as usize % (i + 1));
        }
        let mut in_order = rib();
        let mut shuffled = rib();
        for (id, _) in &routes {
            in_order.add_peer(client(*id), None, None);
            shuffled.add_peer(client(*id), None, None);
        }
        for (id, r) in &routes {
            apply(&mut in_order, *id, &announce(&[P], attributes(r)));
        }
        for (id, r) in &arrival {
            apply(&mut shuffled, *id, &announce(&[P], attributes(r)));
        }
        prop_assert_eq!(order(&in_order, P), order(&shuffled, P));
        prop_assert_eq!(best(&in_order, P), Some(rfc_best(&routes)));
        // Withdrawing in any order keeps the two in step.
        let mut remaining = routes.clone();
        for (id, _) in arrival.iter().take(routes.len() - 1) {
            apply(&mut in_order, *id, &withdraw(&[P]));
            apply(&mut shuffled, *id, &withdraw(&[P]));
            remaining.retain(|(r, _)| r != id);
            prop_assert_eq!(order(&in_order, P), order(&shuffled, P));
            prop_assert_eq!(best(&in_order, P), Some(rfc_best(&remaining)));
        }
    }
}
