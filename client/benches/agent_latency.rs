//! Latency of one route change, node A's kernel to node B's, through the
//! reflector: ours (`bgp-client` on A and B, our speaker as reflector)
//! against BIRD 2 doing the same job (BIRD on A, B and as reflector), in
//! the same run. See `support` for the cluster.
//!
//! For each of CHANGES slots: a random gap of 0..GAP_MS ms, the route
//! added in A (timed from just before the rtnetlink request until B's
//! netlink monitor sees the agent's route), a random gap, the route
//! deleted in A (until the monitor sees it removed). One change is in
//! flight at a time.
//!
//! ```text
//! cargo bench -p bgp-client --bench agent_latency
//! CHANGES=200 GAP_MS=5 STACKS=ours cargo bench -p bgp-client --bench agent_latency
//! ```

mod support;

use std::time::Duration;

use support::{Cluster, Options, Rng, Stack, Summary, env, ms, unix};

fn main() {
    if !support::should_run("agent_latency") {
        return;
    }
    let changes = env("CHANGES", 1000) as u32;
    let gap_ms = env("GAP_MS", 5).max(1);
    let timeout = Duration::from_secs(env("TIMEOUT_S", 5));
    // DIAG=1: print each add's start and arrival as Unix times, to line
    // up with a capture on the switch.
    let diag = env("DIAG", 0) == 1;
    println!(
        "agent_latency: {changes} adds and {changes} deletes per stack, gaps uniform in [0, {gap_ms}) ms"
    );
    let mut rows = Vec::new();
    for stack in Stack::from_env() {
        let cluster = {
            let mut c = Cluster::new(stack, Options::default());
            c.start_a();
            c.ready();
            if diag {
                println!("diag lab {}", c.a.ns.trim_end_matches('a'));
                std::thread::sleep(Duration::from_secs(3));
            }
            c
        };
        let mut rng = Rng::new(0x5eed);
        let gap = |rng: &mut Rng| {
            std::thread::sleep(Duration::from_micros(rng.below(gap_ms * 1000)));
        };
        let (mut adds, mut dels, mut lost) = (Vec::new(), Vec::new(), 0);
        for slot in 0..changes {
            gap(&mut rng);
            let start = cluster.adder.change(slot, true);
            match cluster.monitor.wait_slot(slot, true, timeout) {
                Some(at) => {
                    if diag {
                        println!("diag add {slot} {:.6} {:.6}", unix(start), unix(at));
                    }
                    adds.push(at.saturating_duration_since(start))
                }
                None => lost += 1,
            }
            gap(&mut rng);
            let start = cluster.adder.change(slot, false);
            match cluster.monitor.wait_slot(slot, false, timeout) {
                Some(at) => dels.push(at.saturating_duration_since(start)),
                None => lost += 1,
            }
        }
        let overruns = cluster.monitor.seen().overruns;
        for (what, samples) in [("add", &adds), ("delete", &dels)] {
            if let Some(s) = Summary::of(samples) {
                println!(
                    "{:>5} {what:>6}: n={} p50={} ms p90={} ms p99={} ms max={} ms",
                    stack.name(),
                    s.n,
                    ms(s.p50),
                    ms(s.p90),
                    ms(s.p99),
                    ms(s.max)
                );
                rows.push((stack, what, s));
            }
        }
        println!(
            "{:>5}: timed out {lost} (> {timeout:?}), monitor overruns {overruns}, A's agent CPU {:.2} s, B's {:.2} s",
            stack.name(),
            cluster.a_stat().cpu_seconds,
            cluster.b_stat().cpu_seconds
        );
    }
    println!("| stack | change | n | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (stack, what, s) in rows {
        println!(
            "| {} | {what} | {} | {} | {} | {} | {} |",
            stack.name(),
            s.n,
            ms(s.p50),
            ms(s.p90),
            ms(s.p99),
            ms(s.max)
        );
    }
}
