//! A burst of routes added at once in node A's kernel (and then deleted):
//! the time until all are in (gone from) node B's kernel, ours against
//! BIRD 2 in the same run. See `support` for the cluster.
//!
//! The adder keeps up to 512 rtnetlink requests in flight; the clock
//! starts just before the first request and stops when B's netlink
//! monitor sees the last route of the burst installed (removed). A burst
//! that overflowed A's netlink socket (ENOBUFS) is flagged: that case is
//! `agent_overrun`.
//!
//! ```text
//! cargo bench -p bgp-client --bench agent_burst
//! ROUTES=10000 ROUNDS=3 STACKS=bird,ours cargo bench -p bgp-client --bench agent_burst
//! ```

mod support;

use std::time::Duration;

use support::{Cluster, Options, Stack, env, median, ms};

fn main() {
    if !support::should_run("agent_burst") {
        return;
    }
    let routes = env("ROUTES", 10_000) as u32;
    let rounds = env("ROUNDS", 3);
    let timeout = Duration::from_secs(env("TIMEOUT_S", 60));
    println!("agent_burst: {routes} routes at once, {rounds} rounds per stack");
    let mut rows = Vec::new();
    for stack in Stack::from_env() {
        let mut cluster = Cluster::new(stack, Options::default());
        cluster.start_a();
        cluster.ready();
        let (mut ins, mut outs, mut kernel_a, mut firsts) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut overrun_rounds = 0;
        for round in 0..rounds {
            let before = cluster.a_overruns();
            cluster.monitor.reset_first();
            let (start, acked) = cluster.adder.burst(0..routes, true);
            let Some(done) = cluster.wait_count(routes as usize, timeout) else {
                panic!(
                    "{}: round {round}: {} of {routes} routes at B after {timeout:?}\n{}",
                    stack.name(),
                    cluster.monitor.seen().count,
                    cluster.logs()
                );
            };
            let first = cluster.monitor.seen().first_add.unwrap_or(done);
            let add = done - start;
            let (start_del, _) = cluster.adder.burst(0..routes, false);
            let Some(gone) = cluster.wait_count(0, timeout) else {
                panic!(
                    "{}: round {round}: {} routes still at B after {timeout:?}\n{}",
                    stack.name(),
                    cluster.monitor.seen().count,
                    cluster.logs()
                );
            };
            let del = gone - start_del;
            let overrun = cluster.a_overruns() > before;
            overrun_rounds += usize::from(overrun);
            println!(
                "{:>5} round {round}: in B after {} ms (first after {} ms, A's kernel done after {} ms), gone after {} ms{}",
                stack.name(),
                ms(add),
                ms(first - start),
                ms(acked - start),
                ms(del),
                if overrun {
                    ", A's netlink socket overran"
                } else {
                    ""
                }
            );
            ins.push(add);
            outs.push(del);
            kernel_a.push(acked - start);
            firsts.push(first - start);
        }
        let (a, b) = (cluster.a_stat(), cluster.b_stat());
        println!(
            "{:>5}: CPU A {:.2} s, B {:.2} s; peak RSS A {} KiB, B {} KiB",
            stack.name(),
            a.cpu_seconds,
            b.cpu_seconds,
            a.peak_rss_kib,
            b.peak_rss_kib
        );
        rows.push((
            stack,
            median(&kernel_a),
            median(&firsts),
            median(&ins),
            median(&outs),
            overrun_rounds,
        ));
    }
    println!(
        "| stack | A's kernel has all (ms) | first at B (ms) | all at B (ms) | all gone from B (ms) | rounds with ENOBUFS |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (stack, kernel, first, add, del, overruns) in rows {
        println!(
            "| {} | {} | {} | {} | {} | {overruns}/{rounds} |",
            stack.name(),
            ms(kernel),
            ms(first),
            ms(add),
            ms(del)
        );
    }
}
