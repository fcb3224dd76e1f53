//! Handing the agent's originations and withdrawals to the speaker in
//! batches.
//!
//! A kernel batch (or a block affinity change) yields a list of
//! [`Export`]s in order. [`send`] cuts it into runs of the same kind and
//! family and sends each run as one [`SpeakerHandle::originate_many`] or
//! [`SpeakerHandle::withdraw_many`] command, of at most [`CHUNK`]
//! prefixes: one channel message per few thousand prefixes instead of one
//! per prefix, and the speaker's core still flushes a large burst in
//! chunks. Order is kept, so a prefix withdrawn and then originated in the
//! same batch ends up advertised.

use bgp_speaker::speaker::SpeakerHandle;
use ipnetwork::IpNetwork;

use super::config::AgentConfig;
use super::routes::{self, Export};

/// The most prefixes in one speaker command (the core's flush bound).
pub(crate) const CHUNK: usize = 4096;

/// Send `exports` to the speaker, in order; returns how many prefixes
/// were originated and withdrawn (those without a next hop of their
/// family are logged and skipped).
pub(crate) async fn send(
    speaker: &SpeakerHandle,
    config: &AgentConfig,
    exports: &[Export],
) -> (usize, usize) {
    let mut originated = 0;
    let mut withdrawn = 0;
    for run in runs(exports) {
        let prefixes: Vec<IpNetwork> = run.iter().map(|e| prefix_of(*e)).collect();
        let family = routes::family_of(prefixes[0]);
        match run[0] {
            Export::Originate(first) => {
                let Some(attrs) = routes::origination(config, first) else {
                    tracing::warn!(
                        %first,
                        count = prefixes.len(),
                        "the node has no address of this family: not advertised"
                    );
                    continue;
                };
                originated += prefixes.len();
                let _ = speaker.originate_many(family, prefixes, attrs).await;
            }
            Export::Withdraw(_) => {
                withdrawn += prefixes.len();
                let _ = speaker.withdraw_many(family, prefixes).await;
            }
        }
    }
    (originated, withdrawn)
}

/// The prefix an export names.
pub(crate) fn prefix_of(export: Export) -> IpNetwork {
    match export {
        Export::Originate(p) | Export::Withdraw(p) => p,
    }
}

/// Consecutive exports of the same kind and family, at most [`CHUNK`]
/// each.
fn runs(exports: &[Export]) -> Vec<&[Export]> {
    let class = |e: &Export| (matches!(e, Export::Originate(_)), prefix_of(*e).is_ipv4());
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=exports.len() {
        let cut = i == exports.len()
            || i - start == CHUNK
            || class(&exports[i]) != class(&exports[start]);
        if cut {
            out.push(&exports[start..i]);
            start = i;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    #[test]
    fn runs_keep_order_and_split_by_kind_and_family() {
        let exports = [
            Export::Originate(p("10.0.0.1/32")),
            Export::Originate(p("10.0.0.2/32")),
            Export::Originate(p("2001:db8::1/128")),
            Export::Withdraw(p("10.0.0.1/32")),
            Export::Originate(p("10.0.0.1/32")),
        ];
        let got: Vec<usize> = runs(&exports).iter().map(|r| r.len()).collect();
        assert_eq!(got, vec![2, 1, 1, 1]);
        assert!(runs(&[]).is_empty());
    }

    #[test]
    fn long_runs_are_chunked() {
        let exports: Vec<Export> = (0..(CHUNK as u32 * 2 + 5))
            .map(|i| Export::Withdraw(IpNetwork::V4((std::net::Ipv4Addr::from(i)).into())))
            .collect();
        let got: Vec<usize> = runs(&exports).iter().map(|r| r.len()).collect();
        assert_eq!(got, vec![CHUNK, CHUNK, 5]);
    }
}
