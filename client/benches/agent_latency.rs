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
//! REFLEX_TRACE_HOPS=1 STACKS=ours cargo bench -p bgp-client --bench agent_latency
//! ```
//!
//! With `REFLEX_TRACE_HOPS=1` (ours only) the agents and the in-process
//! reflector mark each hop of the path with a monotonic timestamp
//! (`bgp_speaker::speaker::hops`), and the bench prints, for adds and for
//! deletes, the median time from the change on A to the first mark of
//! each hop within that change's window (one change is in flight at a
//! time, so every mark in the window is that change's).

mod support;

use std::time::{Duration, Instant};

use bgp_speaker::speaker::hops;

use support::{Cluster, Options, ProcStat, Rng, Stack, Summary, env, ms, unix};

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
    let trace = hops::enabled();
    if trace {
        // The reflector runs in this process: keep its marks for `take`.
        hops::keep_in_memory();
    }
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
        // (start, arrival) of each change, for the hop breakdown.
        let (mut add_windows, mut del_windows) = (Vec::new(), Vec::new());
        let _ = hops::take();
        let (bench_before, r_before) = (ProcStat::this_process(), cluster.r_stat());
        for slot in 0..changes {
            gap(&mut rng);
            let start = cluster.adder.change(slot, true);
            match cluster.monitor.wait_slot(slot, true, timeout) {
                Some(at) => {
                    if diag {
                        println!("diag add {slot} {:.6} {:.6}", unix(start), unix(at));
                    }
                    adds.push(at.saturating_duration_since(start));
                    add_windows.push((start, at));
                }
                None => lost += 1,
            }
            gap(&mut rng);
            let start = cluster.adder.change(slot, false);
            match cluster.monitor.wait_slot(slot, false, timeout) {
                Some(at) => {
                    dels.push(at.saturating_duration_since(start));
                    del_windows.push((start, at));
                }
                None => lost += 1,
            }
        }
        // CPU used while the changes ran by this process (the adder, the
        // monitor and the main thread, and for ours the reflector as
        // well) and by BIRD's reflector: what competes with the agents
        // for the two cores besides other work on the machine.
        let bench_cpu = ProcStat::this_process().cpu_seconds - bench_before.cpu_seconds;
        let bird_r_cpu = match (r_before, cluster.r_stat()) {
            (Some(before), Some(after)) => {
                format!(
                    ", BIRD's reflector {:.2} s",
                    after.cpu_seconds - before.cpu_seconds
                )
            }
            _ => String::new(),
        };
        println!(
            "{:>5}: CPU during the changes: this bench process {bench_cpu:.2} s{bird_r_cpu}",
            stack.name()
        );
        if trace && stack == Stack::Ours {
            // Let the agents' hop writers flush.
            std::thread::sleep(hops::FLUSH_EVERY * 4);
            let sources = [
                ("A", log_marks(&cluster.lab.log(&cluster.a_label))),
                (
                    "R",
                    hops::take()
                        .iter()
                        .map(|m| (m.name.to_string(), m.ns, m.tag))
                        .collect(),
                ),
                ("B", log_marks(&cluster.lab.log(&cluster.b_label))),
            ];
            for (what, windows) in [("add", &add_windows), ("delete", &del_windows)] {
                print_breakdown(what, windows, &sources);
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

/// A hop: where (A, R or B) and its mark's name.
type HopMarks = Vec<(String, u64, u64)>;

/// The marks in an agent's log.
fn log_marks(log: &str) -> HopMarks {
    log.lines()
        .filter_map(hops::parse_line)
        .map(|(name, ns, tag)| (name.to_string(), ns, tag))
        .collect()
}

/// For each hop, the median offset from the change on A to its first
/// mark inside the change's window, over the windows where it appears.
/// The marks of peer tasks are told apart by their tag, the peer's id
/// (in the reflector R: 1 is A, 2 is B).
fn print_breakdown(what: &str, windows: &[(Instant, Instant)], sources: &[(&str, HopMarks)]) {
    let mut offsets: Vec<(String, Vec<u64>)> = Vec::new();
    // Per change: its total, and its largest gap between consecutive
    // marks (which two hops, how long).
    let mut gaps: Vec<(u64, String, u64)> = Vec::new();
    for &(start, end) in windows {
        let (start, end) = (hops::ns_of(start), hops::ns_of(end));
        let mut this: Vec<(String, u64)> = vec![("start".into(), 0)];
        for (node, marks) in sources {
            let mut first: Vec<(String, u64)> = Vec::new();
            for (name, ns, tag) in marks {
                if *ns < start || *ns > end {
                    continue;
                }
                // A peer task's marks carry the peer's id: one row each.
                let name = if name.starts_with("peer.") {
                    format!("{name}#{tag}")
                } else {
                    name.clone()
                };
                if !first.iter().any(|(n, _)| *n == name) {
                    first.push((name, *ns));
                }
            }
            for (name, ns) in first {
                let key = format!("{node} {name}");
                let offset = ns - start;
                this.push((key.clone(), offset));
                match offsets.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, list)) => list.push(offset),
                    None => offsets.push((key, vec![offset])),
                }
            }
        }
        this.push(("B kernel (monitor)".into(), end - start));
        this.sort_by_key(|(_, offset)| *offset);
        let widest = this
            .windows(2)
            .map(|pair| {
                (
                    format!("{} -> {}", pair[0].0, pair[1].0),
                    pair[1].1 - pair[0].1,
                )
            })
            .max_by_key(|(_, gap)| *gap);
        if let Some((label, gap)) = widest {
            gaps.push((end - start, label, gap));
        }
    }
    let total: Vec<u64> = windows
        .iter()
        .map(|(s, e)| hops::ns_of(*e) - hops::ns_of(*s))
        .collect();
    let median = |list: &mut Vec<u64>| {
        list.sort_unstable();
        list[list.len() / 2]
    };
    let mut rows: Vec<(String, usize, u64)> = offsets
        .into_iter()
        .map(|(key, mut list)| (key, list.len(), median(&mut list)))
        .collect();
    rows.push((
        "B kernel (monitor)".into(),
        total.len(),
        median(&mut total.clone()),
    ));
    rows.sort_by_key(|r| r.2);
    print_tail(what, &mut gaps);
    println!(
        "hops of {what} ({} changes): median microseconds from the change on A",
        windows.len()
    );
    println!("| hop | seen in | median (us) | since previous (us) |");
    println!("|---|---:|---:|---:|");
    let mut previous = 0;
    for (key, n, offset) in rows {
        println!(
            "| {key} | {n} | {:.1} | {:.1} |",
            offset as f64 / 1e3,
            offset.saturating_sub(previous) as f64 / 1e3
        );
        previous = offset;
    }
}

/// Where the slowest 2% of changes lost their time: for each, the widest
/// gap between two consecutive marks, counted by the pair of hops.
fn print_tail(what: &str, gaps: &mut [(u64, String, u64)]) {
    if gaps.is_empty() {
        return;
    }
    gaps.sort_by_key(|(total, _, _)| *total);
    let from = gaps.len() * 98 / 100;
    let tail = &gaps[from..];
    let mut counts: Vec<(String, usize, u64)> = Vec::new();
    for (_, label, gap) in tail {
        match counts.iter_mut().find(|(l, _, _)| l == label) {
            Some((_, n, longest)) => {
                *n += 1;
                *longest = (*longest).max(*gap);
            }
            None => counts.push((label.clone(), 1, *gap)),
        }
    }
    counts.sort_by_key(|(_, n, _)| std::cmp::Reverse(*n));
    println!(
        "slowest {} {what}s (from {:.0} us): widest gap between consecutive hops",
        tail.len(),
        tail[0].0 as f64 / 1e3
    );
    for (label, n, longest) in counts {
        println!(
            "  {n:>3} x {label} (longest {:.0} us)",
            longest as f64 / 1e3
        );
    }
}
