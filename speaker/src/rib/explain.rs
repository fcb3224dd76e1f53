//! Why the best path is the best: per path, the step at which it lost.

use ipnetwork::IpNetwork;
use std::fmt;

use bgp_proto::attribute::Origin;
use bgp_proto::iana::AfiSafi;

use crate::types::{Path, PeerId};

use super::decision::{Decider, DecisionStep, RankKey, compare};

/// The decision for one prefix, for the API and the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The family.
    pub family: AfiSafi,
    /// The prefix.
    pub prefix: IpNetwork,
    /// Every path, best first.
    pub paths: Vec<PathExplanation>,
}

/// One path of an [`Explanation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathExplanation {
    /// The path.
    pub path: Path,
    /// In the multipath (equal-cost) set; always false without multipath.
    pub multipath: bool,
    /// Best, or where it lost.
    pub outcome: Outcome,
}

/// How a path fared in the decision process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The best path.
    Best,
    /// Not the best.
    Lost(Lost),
}

/// Where a path lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    /// The first step at which it was worse.
    pub step: DecisionStep,
    /// The path it lost to: the best path, or (MED being compared only
    /// within a neighbour AS, see [`super::decision`]) the best path from
    /// its own neighbour AS when that one eliminated it.
    pub against: (PeerId, u32),
    /// What differed, e.g. "lower LOCAL_PREF (100 < 200)".
    pub reason: String,
}

impl fmt::Display for Explanation {
    /// One line per path: `#rank peer path-id: best` or `... lost: reason`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}:", self.family, self.prefix)?;
        for (rank, path) in self.paths.iter().enumerate() {
            let multipath = if path.multipath { " (multipath)" } else { "" };
            let stale = if path.path.stale { " (stale)" } else { "" };
            write!(
                f,
                "  #{} from {} path-id {}{multipath}{stale}: ",
                rank + 1,
                path.path.peer,
                path.path.path_id
            )?;
            match &path.outcome {
                Outcome::Best => writeln!(f, "best")?,
                Outcome::Lost(lost) => writeln!(
                    f,
                    "lost to {} path-id {} at {} ({}): {}",
                    lost.against.0,
                    lost.against.1,
                    lost.step,
                    lost.step.reference(),
                    lost.reason
                )?,
            }
        }
        Ok(())
    }
}

impl Decider<'_> {
    /// Explain a ranked slice of paths.
    pub(crate) fn explain(
        &self,
        family: AfiSafi,
        prefix: IpNetwork,
        paths: &[Path],
    ) -> Explanation {
        let keys: Vec<RankKey> = paths.iter().map(|p| self.key(p)).collect();
        let multipath = self.equal_cost_len(paths);
        let explained = paths
            .iter()
            .enumerate()
            .map(|(index, path)| {
                let outcome = if index == 0 {
                    Outcome::Best
                } else {
                    let winner = self.eliminator(&keys, index);
                    let (loser, against) = (&keys[index], &keys[winner]);
                    let med = self.med_comparable(loser, against);
                    let (_, step) = compare(loser, against, med);
                    Outcome::Lost(Lost {
                        step,
                        against: (against.peer, against.path_id),
                        reason: reason(step, loser, against),
                    })
                };
                PathExplanation {
                    path: path.clone(),
                    multipath: self.multipath && index < multipath,
                    outcome,
                }
            })
            .collect();
        Explanation {
            family,
            prefix,
            paths: explained,
        }
    }
}

fn origin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::Igp => "IGP",
        Origin::Egp => "EGP",
        Origin::Incomplete => "INCOMPLETE",
    }
}

/// The human text for losing at `step`.
fn reason(step: DecisionStep, loser: &RankKey, winner: &RankKey) -> String {
    let learned = |k: &RankKey| if k.external { "eBGP" } else { "iBGP" };
    let id_kind = |k: &RankKey| if k.originator { "ORIGINATOR_ID " } else { "" };
    match step {
        DecisionStep::LocalPref => format!(
            "lower LOCAL_PREF ({} < {})",
            loser.local_pref, winner.local_pref
        ),
        DecisionStep::LocallyOriginated => "not locally originated".to_string(),
        DecisionStep::AsPathLength => format!(
            "longer AS_PATH ({} > {})",
            loser.as_path_len, winner.as_path_len
        ),
        DecisionStep::Origin => format!(
            "worse ORIGIN ({} > {})",
            origin_name(loser.origin),
            origin_name(winner.origin)
        ),
        DecisionStep::Med => {
            let scope = match (loser.neighbor_as == winner.neighbor_as, loser.neighbor_as) {
                (true, Some(asn)) => format!(" from the same neighbour AS {asn}"),
                (true, None) => " from the same neighbour AS".to_string(),
                (false, _) => " (always-compare-med)".to_string(),
            };
            format!("higher MED ({} > {}){scope}", loser.med, winner.med)
        }
        DecisionStep::ExternalOverInternal => format!(
            "{}-learned, the winner is {}-learned",
            learned(loser),
            learned(winner)
        ),
        DecisionStep::IgpCost => "higher IGP cost".to_string(),
        DecisionStep::RouterId => format!(
            "higher router ID ({}{} > {}{})",
            id_kind(loser),
            loser.router_id,
            id_kind(winner),
            winner.router_id
        ),
        DecisionStep::ClusterListLength => format!(
            "longer CLUSTER_LIST ({} > {})",
            loser.cluster_len, winner.cluster_len
        ),
        DecisionStep::PeerAddress => format!(
            "higher peer address ({} > {})",
            loser.address, winner.address
        ),
        DecisionStep::PathId if loser.path_id == winner.path_id => {
            format!("higher peer handle ({} > {})", loser.peer, winner.peer)
        }
        DecisionStep::PathId => format!(
            "higher path identifier ({} > {})",
            loser.path_id, winner.path_id
        ),
    }
}
