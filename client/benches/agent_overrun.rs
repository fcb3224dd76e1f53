//! A burst large enough to overflow the receive buffer of node A's
//! netlink notification socket (ENOBUFS): the time until every route is
//! in node B's kernel, ours against BIRD 2 in the same run. The agent must
//! notice the overrun and resynchronise with a fresh dump; BIRD notes it
//! and waits for its next kernel scan (`scan time 10` here). See `support`
//! for the cluster.
//!
//! BIRD keeps its default receive buffer (`net.core.rmem_default`,
//! 212,992 bytes here). Ours runs twice: with its default (8 MiB asked,
//! 16 MiB granted), which a burst of this size may not overflow at all,
//! and with `[reader] receive_buffer = SMALL_BUFFER` (106,496: the kernel
//! doubles it to BIRD's 212,992), which it does. Whether A's agent saw an
//! overrun is read from its log and reported per round.
//!
//! ```text
//! cargo bench -p bgp-client --bench agent_overrun
//! ROUTES=50000 ROUNDS=1 SMALL_BUFFER=106496 cargo bench -p bgp-client --bench agent_overrun
//! ```

mod support;

use std::time::Duration;

use support::{Cluster, Options, Stack, env, ms};

fn main() {
    if !support::should_run("agent_overrun") {
        return;
    }
    let routes = env("ROUTES", 30_000) as u32;
    let rounds = env("ROUNDS", 3);
    let timeout = Duration::from_secs(env("TIMEOUT_S", 120));
    let small = env("SMALL_BUFFER", 106_496) as usize;
    println!("agent_overrun: {routes} routes at once, {rounds} rounds per stack");
    let mut variants = Vec::new();
    for stack in Stack::from_env() {
        variants.push((stack, None));
        if stack == Stack::Ours {
            variants.push((stack, Some(small)));
        }
    }
    let mut rows = Vec::new();
    for (stack, receive_buffer) in variants {
        let name = match receive_buffer {
            Some(bytes) => format!("{} (receive_buffer {bytes})", stack.name()),
            None => stack.name().to_string(),
        };
        let options = Options {
            receive_buffer,
            ..Options::default()
        };
        let mut cluster = Cluster::new(stack, options);
        cluster.start_a();
        cluster.ready();
        for round in 0..rounds {
            for add in [true, false] {
                let kind = if add { "add" } else { "delete" };
                let before = cluster.a_overruns();
                let (start, acked) = cluster.adder.burst(0..routes, add);
                let want = if add { routes as usize } else { 0 };
                let Some(done) = cluster.wait_count(want, timeout) else {
                    panic!(
                        "{name}: round {round} {kind}: {} of {routes} routes at B after {timeout:?}\n{}",
                        cluster.monitor.seen().count,
                        cluster.logs()
                    );
                };
                let overran = cluster.a_overruns() > before;
                let burst = Burst {
                    name: name.clone(),
                    round,
                    kind,
                    kernel: acked - start,
                    total: done - start,
                    after: done.saturating_duration_since(acked),
                    overran,
                };
                println!(
                    "{name} round {round} {kind}: A's kernel done after {} ms, B done after {} ms ({} ms after A's kernel), ENOBUFS at A: {overran}",
                    ms(burst.kernel),
                    ms(burst.total),
                    ms(burst.after)
                );
                rows.push(burst);
            }
        }
        let (a, b) = (cluster.a_stat(), cluster.b_stat());
        println!(
            "{name}: CPU A {:.2} s, B {:.2} s; peak RSS A {} KiB, B {} KiB; monitor overruns {}",
            a.cpu_seconds,
            b.cpu_seconds,
            a.peak_rss_kib,
            b.peak_rss_kib,
            cluster.monitor.seen().overruns
        );
    }
    println!(
        "| stack | round | burst | A's kernel done (ms) | B done (ms) | B done after A's kernel (ms) | ENOBUFS at A |"
    );
    println!("|---|---:|---|---:|---:|---:|---|");
    for b in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            b.name,
            b.round,
            b.kind,
            ms(b.kernel),
            ms(b.total),
            ms(b.after),
            if b.overran { "yes" } else { "no" }
        );
    }
}

/// One burst of one round.
struct Burst {
    name: String,
    round: u64,
    kind: &'static str,
    kernel: Duration,
    total: Duration,
    after: Duration,
    overran: bool,
}
