//! Node A's agent starting with ROUTES (100,000) routes already in its
//! kernel: the time until all are in node B's kernel (the dump read,
//! advertised, reflected and installed), and the peak memory of A's
//! agent; ours against BIRD 2 in the same run. See `support`.
//!
//! The reflector and B's agent are up first; the routes are added to A's
//! kernel before A's agent starts, and the clock starts just before it is
//! spawned. "first" is when B installs the first of them, so "first to
//! all" leaves out process start and session establishment (BIRD waits
//! `connect delay time 1` before connecting).
//!
//! ```text
//! cargo bench -p bgp-client --bench agent_dump
//! ROUTES=100000 ROUNDS=3 cargo bench -p bgp-client --bench agent_dump
//! ```

mod support;

use std::time::{Duration, Instant};

use support::{Cluster, Options, ProcStat, Stack, env, median, ms};

fn main() {
    if !support::should_run("agent_dump") {
        return;
    }
    let routes = env("ROUTES", 100_000) as u32;
    let rounds = env("ROUNDS", 3);
    let timeout = Duration::from_secs(env("TIMEOUT_S", 180));
    println!("agent_dump: {routes} kernel routes at A's start, {rounds} rounds per stack");
    let mut rows = Vec::new();
    for stack in Stack::from_env() {
        let (mut alls, mut spans, mut peaks, mut cpus, mut b_peaks) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            // A fresh cluster each round: A's agent starts once per process.
            let mut cluster = Cluster::new(stack, Options::default());
            let deadline = Instant::now() + Duration::from_secs(30);
            while !cluster.b_established() {
                assert!(
                    Instant::now() < deadline,
                    "{}: B's session never came up\n{}",
                    stack.name(),
                    cluster.logs()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            cluster.adder.burst(0..routes, true);
            let start = cluster.start_a();
            let Some(done) = cluster.wait_count(routes as usize, timeout) else {
                panic!(
                    "{}: round {round}: {} of {routes} routes at B after {timeout:?}\n{}",
                    stack.name(),
                    cluster.monitor.seen().count,
                    cluster.logs()
                );
            };
            let first = cluster.monitor.seen().first_add.unwrap_or(done);
            // Let A's agent settle (it may still be freeing memory) before
            // its counters are read.
            std::thread::sleep(Duration::from_millis(500));
            let a: ProcStat = cluster.a_stat();
            let b = cluster.b_stat();
            println!(
                "{:>5} round {round}: all at B after {} ms (first after {} ms, first to all {} ms); A's agent: peak RSS {} KiB, RSS {} KiB, CPU {:.2} s; B's agent: peak RSS {} KiB, CPU {:.2} s",
                stack.name(),
                ms(done - start),
                ms(first - start),
                ms(done - first),
                a.peak_rss_kib,
                a.rss_kib,
                a.cpu_seconds,
                b.peak_rss_kib,
                b.cpu_seconds
            );
            alls.push(done - start);
            spans.push(done - first);
            peaks.push(a.peak_rss_kib);
            cpus.push(Duration::from_secs_f64(a.cpu_seconds));
            b_peaks.push(b.peak_rss_kib);
        }
        peaks.sort();
        b_peaks.sort();
        rows.push((
            stack,
            median(&alls),
            median(&spans),
            peaks[peaks.len() / 2],
            median(&cpus),
            b_peaks[b_peaks.len() / 2],
        ));
    }
    println!(
        "| stack | start to all at B (ms) | first to all at B (ms) | A's agent peak RSS (MiB) | A's agent CPU (s) | B's agent peak RSS (MiB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (stack, all, span, peak, cpu, b_peak) in rows {
        println!(
            "| {} | {} | {} | {:.1} | {:.2} | {:.1} |",
            stack.name(),
            ms(all),
            ms(span),
            peak as f64 / 1024.0,
            cpu.as_secs_f64(),
            b_peak as f64 / 1024.0
        );
    }
}
