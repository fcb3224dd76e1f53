//! One measured run: a fresh topology, one reflector, K clients, N prefixes.
//!
//! 1. build the namespaces and start the reflector pinned to its core;
//! 2. encode the whole table (not timed);
//! 3. in the harness namespace: establish the loadgen and all K clients,
//!    wait until the reflector is idle (its CPU time stops growing);
//! 4. T0 = just before the loadgen writes its first byte; the run ends
//!    when the last client holds all N prefixes, or at the time limit;
//! 5. the reflector's CPU time over [T0, end] and its peak RSS are read
//!    from /proc; then everything is torn down.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::time::Instant as TokioInstant;

use crate::clients::{Event, spawn_clients};
use crate::daemons::{self, Programs, Reflector};
use crate::loadgen::{self, Loadgen};
use crate::procstat;
use crate::topology::{LOADGEN, REFLECTOR, Topology};

/// K clients, N prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// Client sessions.
    pub k: usize,
    /// Prefixes.
    pub n: usize,
}

impl Shape {
    /// The four shapes of the issue.
    pub const ALL: [Shape; 4] = [
        Shape { k: 10, n: 100_000 },
        Shape { k: 100, n: 10_000 },
        Shape { k: 200, n: 100_000 },
        Shape {
            k: 1_000,
            n: 10_000,
        },
    ];

    /// `KxN`, e.g. `10x100000` or `1000x10k`.
    pub fn parse(text: &str) -> Result<Shape, String> {
        let (k, n) = text
            .split_once(['x', 'X'])
            .ok_or_else(|| format!("`{text}` is not KxN"))?;
        let number = |s: &str| -> Result<usize, String> {
            let s = s.trim().replace(['_', ','], "");
            let (digits, scale) = match s.strip_suffix(['k', 'K']) {
                Some(d) => (d.to_string(), 1_000),
                None => (s.clone(), 1),
            };
            digits
                .parse::<usize>()
                .map(|v| v * scale)
                .map_err(|_| format!("`{text}`: `{s}` is not a number"))
        };
        let shape = Shape {
            k: number(k)?,
            n: number(n)?,
        };
        if shape.k == 0 || shape.n == 0 || shape.k > crate::topology::MAX_CLIENTS {
            return Err(format!("`{text}`: K must be 1..=60000 and N at least 1"));
        }
        Ok(shape)
    }

    /// `K=10 N=100,000`.
    pub fn label(&self) -> String {
        format!("K={} N={}", thousands(self.k), thousands(self.n))
    }
}

/// `100000` as `100,000`.
pub fn thousands(v: usize) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Settings shared by every run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Longest convergence wait.
    pub timeout: Duration,
    /// Longest wait for all sessions to come up.
    pub establish_timeout: Duration,
    /// Core of the reflector (`None`: not pinned).
    pub reflector_cpu: Option<usize>,
    /// Where the programs are.
    pub programs: Programs,
    /// Record a `perf` profile of these reflectors into this directory.
    pub perf: Option<(Vec<Reflector>, PathBuf)>,
    /// Samples per second for `perf record -F`.
    pub perf_freq: u32,
    /// Keep the reflector's log here when a run does not converge.
    pub log_dir: PathBuf,
}

/// Outcome of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every client holds every prefix.
    Ok,
    /// The time limit passed first.
    TimedOut,
    /// Something broke (a session, the daemon, the setup).
    Failed,
}

/// What one run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    /// The reflector.
    pub reflector: Reflector,
    /// The shape.
    pub shape: Shape,
    /// Repetition number (from 0).
    pub repetition: usize,
    /// Outcome.
    pub status: Status,
    /// Why it failed or timed out, if it did.
    pub error: Option<String>,
    /// From the first byte sent until the last client held all N prefixes.
    pub seconds: Option<f64>,
    /// Until the first client held all N.
    pub first_client_seconds: Option<f64>,
    /// Until the first reflected route reached a client.
    #[serde(default)]
    pub first_route_seconds: Option<f64>,
    /// Until the loadgen's last byte was accepted by the kernel.
    pub loadgen_sent_seconds: Option<f64>,
    /// Reflector CPU time (user + system, all threads) over the run.
    pub cpu_seconds: Option<f64>,
    /// Reflector CPU time since it started (startup and sessions included).
    pub cpu_total_seconds: Option<f64>,
    /// Reflector peak RSS (VmHWM), KiB.
    pub peak_rss_kib: Option<u64>,
    /// Reflector RSS at the end, KiB.
    pub end_rss_kib: Option<u64>,
    /// Of `end_rss_kib`: anonymous memory (heap, stacks), KiB (`RssAnon`).
    #[serde(default)]
    pub end_rss_anon_kib: Option<u64>,
    /// Of `end_rss_kib`: file-backed pages (the binary's text and data,
    /// shared libraries), KiB (`RssFile`).
    #[serde(default)]
    pub end_rss_file_kib: Option<u64>,
    /// Reflector RSS at T0 (sessions up, no routes yet), KiB.
    #[serde(default)]
    pub idle_rss_kib: Option<u64>,
    /// Reflector context switches over the run (voluntary, involuntary),
    /// summed over its threads.
    #[serde(default)]
    pub context_switches: Option<(u64, u64)>,
    /// Reflector threads at the end.
    #[serde(default)]
    pub threads: Option<usize>,
    /// Harness CPU time (loadgen and clients) over the run.
    pub harness_cpu_seconds: Option<f64>,
    /// Clients holding all N at the end.
    pub clients_done: usize,
    /// Fewest prefixes any client held at the end.
    pub min_prefixes: usize,
    /// UPDATEs received by all clients.
    pub updates_received: u64,
    /// UPDATE octets received by all clients.
    pub bytes_received: u64,
    /// UPDATEs that announced routes without ORIGINATOR_ID / CLUSTER_LIST.
    pub unreflected_updates: u64,
    /// Announced prefixes that were not the loadgen's.
    pub foreign_prefixes: u64,
    /// Messages the loadgen sent (UPDATEs and End-of-RIB).
    pub loadgen_messages: usize,
    /// Seconds to build the topology, start the reflector and bring up the sessions.
    pub setup_seconds: f64,
    /// Seconds from the first client's connect until all K clients were
    /// Established (the session-scale figure).
    #[serde(default)]
    pub sessions_up_seconds: Option<f64>,
    /// Seconds waited for the reflector to go idle before T0.
    pub settle_seconds: f64,
    /// Load averages when the run started.
    pub load_before: [f64; 3],
    /// Percent of all CPUs' time the hypervisor gave to other guests
    /// during the run (setup included): a run with steal measured the host.
    #[serde(default)]
    pub steal_percent: Option<f64>,
}

impl RunResult {
    fn new(reflector: Reflector, shape: Shape, repetition: usize) -> Self {
        RunResult {
            reflector,
            shape,
            repetition,
            status: Status::Failed,
            error: None,
            seconds: None,
            first_client_seconds: None,
            first_route_seconds: None,
            loadgen_sent_seconds: None,
            cpu_seconds: None,
            cpu_total_seconds: None,
            peak_rss_kib: None,
            end_rss_kib: None,
            end_rss_anon_kib: None,
            end_rss_file_kib: None,
            idle_rss_kib: None,
            context_switches: None,
            threads: None,
            harness_cpu_seconds: None,
            clients_done: 0,
            min_prefixes: 0,
            updates_received: 0,
            bytes_received: 0,
            unreflected_updates: 0,
            foreign_prefixes: 0,
            loadgen_messages: 0,
            setup_seconds: 0.0,
            sessions_up_seconds: None,
            settle_seconds: 0.0,
            load_before: procstat::load_average(),
            steal_percent: None,
        }
    }
}

/// Run `which` on `shape` once, with the CPU time stolen meanwhile.
pub fn run_one(which: Reflector, shape: Shape, repetition: usize, opts: &RunOptions) -> RunResult {
    let before = procstat::cpu_ticks();
    let mut result = run_measured(which, shape, repetition, opts);
    if let (Some(before), Some(after)) = (before, procstat::cpu_ticks()) {
        result.steal_percent = after.steal_percent_since(before);
    }
    result
}

fn run_measured(which: Reflector, shape: Shape, repetition: usize, opts: &RunOptions) -> RunResult {
    let mut result = RunResult::new(which, shape, repetition);
    let started = Instant::now();
    let mut topo = match Topology::build(shape.k) {
        Ok(topo) => topo,
        Err(e) => {
            result.error = Some(format!("topology: {e}"));
            return result;
        }
    };
    let running = match daemons::start(&mut topo, which, opts.reflector_cpu, &opts.programs) {
        Ok(running) => running,
        Err(e) => {
            result.error = Some(e);
            return result;
        }
    };
    let (payload, messages) = loadgen::encode_table(shape.n, LOADGEN);
    result.loadgen_messages = messages;
    let perf = opts
        .perf
        .as_ref()
        .filter(|(which_ones, _)| which_ones.contains(&which))
        .map(|(_, dir)| {
            dir.join(format!(
                "perf-{}-k{}-n{}-r{}.data",
                which.name(),
                shape.k,
                shape.n,
                repetition
            ))
        });
    let job = Job {
        pid: running.pid,
        addresses: topo.clients.clone(),
        n: shape.n,
        payload,
        timeout: opts.timeout,
        establish_timeout: opts.establish_timeout,
        setup_started: started,
        perf,
        perf_freq: opts.perf_freq,
    };
    let outcome = topo
        .harness
        .spawn_thread(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("runtime: {e}"))?;
            runtime.block_on(measure(job))
        })
        .map_err(|e| e.to_string())
        .and_then(|handle| {
            handle
                .join()
                .map_err(|_| "the harness thread panicked".to_string())
        });
    match outcome {
        Ok(Ok(m)) => m.fill(&mut result),
        Ok(Err(e)) | Err(e) => result.error = Some(e),
    }
    if !daemons::alive(running.pid) {
        let note = format!("{} exited during the run", running.label);
        result.status = Status::Failed;
        result.error = Some(match result.error.take() {
            Some(e) => format!("{note}; {e}"),
            None => note,
        });
    }
    if result.status != Status::Ok {
        let log = daemons::tail(&topo.lab.log(&running.label), 400);
        let name = format!(
            "{}-k{}-n{}-r{}.log",
            which.name(),
            shape.k,
            shape.n,
            repetition
        );
        let _ = std::fs::create_dir_all(&opts.log_dir);
        let _ = std::fs::write(opts.log_dir.join(name), log);
    }
    drop(topo);
    result
}

/// What the harness thread needs.
struct Job {
    pid: u32,
    addresses: Vec<std::net::Ipv4Addr>,
    n: usize,
    payload: bytes::Bytes,
    timeout: Duration,
    establish_timeout: Duration,
    setup_started: Instant,
    perf: Option<PathBuf>,
    perf_freq: u32,
}

/// What the harness thread measured.
#[derive(Debug, Default)]
struct Measured {
    timed_out: bool,
    failure: Option<String>,
    seconds: Option<f64>,
    first: Option<f64>,
    first_route: Option<f64>,
    sent: Option<f64>,
    cpu: Option<f64>,
    cpu_total: Option<f64>,
    peak_rss: Option<u64>,
    end_rss: Option<u64>,
    end_rss_anon: Option<u64>,
    end_rss_file: Option<u64>,
    idle_rss: Option<u64>,
    switches: Option<(u64, u64)>,
    threads: Option<usize>,
    harness_cpu: f64,
    done: usize,
    min_prefixes: usize,
    updates: u64,
    bytes: u64,
    unreflected: u64,
    foreign: u64,
    setup: f64,
    sessions_up: Option<f64>,
    settle: f64,
}

impl Measured {
    fn fill(self, r: &mut RunResult) {
        r.status = if self.failure.is_some() {
            Status::Failed
        } else if self.timed_out {
            Status::TimedOut
        } else {
            Status::Ok
        };
        r.error = self.failure.or_else(|| {
            self.timed_out.then(|| {
                format!(
                    "timed out: {} of {} clients done, fewest prefixes {}",
                    self.done, r.shape.k, self.min_prefixes
                )
            })
        });
        r.seconds = self.seconds;
        r.first_client_seconds = self.first;
        r.first_route_seconds = self.first_route;
        r.loadgen_sent_seconds = self.sent;
        r.cpu_seconds = self.cpu;
        r.cpu_total_seconds = self.cpu_total;
        r.peak_rss_kib = self.peak_rss;
        r.end_rss_kib = self.end_rss;
        r.end_rss_anon_kib = self.end_rss_anon;
        r.end_rss_file_kib = self.end_rss_file;
        r.idle_rss_kib = self.idle_rss;
        r.context_switches = self.switches;
        r.threads = self.threads;
        r.harness_cpu_seconds = Some(self.harness_cpu);
        r.clients_done = self.done;
        r.min_prefixes = self.min_prefixes;
        r.updates_received = self.updates;
        r.bytes_received = self.bytes;
        r.unreflected_updates = self.unreflected;
        r.foreign_prefixes = self.foreign;
        r.setup_seconds = self.setup;
        r.sessions_up_seconds = self.sessions_up;
        r.settle_seconds = self.settle;
    }
}

fn at(instant: Instant) -> TokioInstant {
    TokioInstant::from_std(instant)
}

async fn measure(job: Job) -> Result<Measured, String> {
    let server = SocketAddr::new(REFLECTOR.into(), 179);
    let k = job.addresses.len();
    let deadline = Instant::now() + job.establish_timeout;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let loadgen =
        Loadgen::connect(LOADGEN, server, job.payload.clone(), deadline, tx.clone()).await?;
    let epoch = Instant::now();
    let stats = spawn_clients(&job.addresses, server, job.n, deadline, epoch, &tx);
    drop(tx);
    let mut established = 0;
    while established < k {
        match tokio::time::timeout_at(at(deadline + Duration::from_secs(1)), rx.recv()).await {
            Ok(Some(Event::Established)) => established += 1,
            Ok(Some(Event::Closed(e))) => {
                return Err(format!("{established} of {k} clients established; {e}"));
            }
            Ok(Some(Event::Done(_))) => {}
            Ok(None) | Err(_) => {
                return Err(format!(
                    "only {established} of {k} clients established in {:?}",
                    job.establish_timeout
                ));
            }
        }
    }
    let sessions_up = epoch.elapsed().as_secs_f64();
    let setup = job.setup_started.elapsed().as_secs_f64();
    let settle_started = Instant::now();
    settle(job.pid).await;
    let settle = settle_started.elapsed().as_secs_f64();

    let perf = job
        .perf
        .as_ref()
        .and_then(|path| start_perf(job.pid, path, job.perf_freq));
    let idle_rss = procstat::rss_kib(job.pid);
    let switches_before = procstat::context_switches(job.pid);
    let cpu_before = procstat::cpu_time(job.pid);
    let harness_before = procstat::own_cpu_time();
    let (t0, mut sent_rx) = loadgen.start().await?;
    let end_deadline = t0 + job.timeout;
    let (mut done, mut first, mut last) = (0, None, None);
    let mut m = Measured::default();
    while done < k {
        match tokio::time::timeout_at(at(end_deadline), rx.recv()).await {
            Ok(Some(Event::Done(when))) => {
                done += 1;
                first.get_or_insert(when);
                last = Some(when);
            }
            Ok(Some(Event::Established)) => {}
            Ok(Some(Event::Closed(e))) => {
                m.failure = Some(format!("a session ended during the run: {e}"));
                break;
            }
            Ok(None) => {
                m.failure = Some("every client task ended".into());
                break;
            }
            Err(_) => {
                m.timed_out = true;
                break;
            }
        }
    }
    let cpu_after = procstat::cpu_time(job.pid);
    let switches_after = procstat::context_switches(job.pid);
    m.harness_cpu = (procstat::own_cpu_time() - harness_before).as_secs_f64();
    if let Some(child) = perf {
        stop_perf(child);
    }
    let since = |when: Instant| when.duration_since(t0).as_secs_f64();
    if done == k {
        m.seconds = last.map(since);
    }
    m.first = first.map(since);
    m.first_route = stats
        .iter()
        .map(|s| s.first_update_ns.load(Ordering::Relaxed))
        .filter(|ns| *ns > 0)
        .min()
        .map(|ns| {
            (epoch + Duration::from_nanos(ns))
                .saturating_duration_since(t0)
                .as_secs_f64()
        });
    m.sent = match sent_rx.try_recv() {
        Ok(Ok(when)) => Some(since(when)),
        _ => None,
    };
    m.cpu = cpu_before
        .zip(cpu_after)
        .map(|(b, a)| a.since(&b).as_secs_f64());
    m.cpu_total = cpu_after.map(|a| a.total().as_secs_f64());
    m.peak_rss = procstat::peak_rss_kib(job.pid);
    m.end_rss = procstat::rss_kib(job.pid);
    m.end_rss_anon = procstat::rss_anon_kib(job.pid);
    m.end_rss_file = procstat::rss_file_kib(job.pid);
    m.idle_rss = idle_rss;
    m.switches = Some((
        switches_after.0.saturating_sub(switches_before.0),
        switches_after.1.saturating_sub(switches_before.1),
    ));
    m.threads = Some(procstat::threads(job.pid));
    m.done = done;
    m.min_prefixes = stats
        .iter()
        .map(|s| s.prefixes.load(Ordering::Relaxed))
        .min()
        .unwrap_or(0);
    for s in &stats {
        m.updates += s.updates.load(Ordering::Relaxed);
        m.bytes += s.bytes.load(Ordering::Relaxed);
        m.unreflected += s.unreflected.load(Ordering::Relaxed);
        m.foreign += s.foreign.load(Ordering::Relaxed);
    }
    m.setup = setup;
    m.sessions_up = Some(sessions_up);
    m.settle = settle;
    Ok(m)
}

/// Wait (at most 30 s, at least 1 s) until the reflector has used under
/// 20 ms of CPU in the last second, so that session setup is not counted.
async fn settle(pid: u32) {
    let started = Instant::now();
    let mut window = std::collections::VecDeque::new();
    loop {
        let now = procstat::cpu_time(pid).unwrap_or_default();
        window.push_back(now);
        if window.len() > 5 {
            window.pop_front();
        }
        if window.len() == 5 && now.since(&window[0]) < Duration::from_millis(20) {
            return;
        }
        if started.elapsed() > Duration::from_secs(30) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn start_perf(pid: u32, path: &std::path::Path, freq: u32) -> Option<Child> {
    let child = Command::new("perf")
        .args(["record", "-e", "cpu-clock", "-F", &freq.to_string()])
        .args(["--call-graph", "dwarf,16384", "-p"])
        .arg(pid.to_string())
        .arg("-o")
        .arg(path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    // Give perf time to attach.
    std::thread::sleep(Duration::from_millis(500));
    Some(child)
}

fn stop_perf(mut child: Child) {
    use nix::sys::signal::{Signal, kill};
    let _ = kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        Signal::SIGINT,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse() {
        assert_eq!(
            Shape::parse("10x100000").unwrap(),
            Shape { k: 10, n: 100_000 }
        );
        assert_eq!(
            Shape::parse("1000x10k").unwrap(),
            Shape { k: 1000, n: 10_000 }
        );
        assert_eq!(
            Shape::parse("200X100_000").unwrap(),
            Shape { k: 200, n: 100_000 }
        );
        assert!(Shape::parse("0x10").is_err());
        assert!(Shape::parse("10").is_err());
        assert_eq!(Shape::ALL[3].label(), "K=1,000 N=10,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
