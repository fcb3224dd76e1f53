//! `rr-bench`: route-reflector convergence benchmark.
//!
//! A loadgen session announces N prefixes to a route reflector and K client
//! sessions count what it reflects; the time from the loadgen's first byte
//! until every client holds all N is measured, with the reflector's CPU
//! time and peak RSS, for Reflex, BIRD 2, GoBGP, FRR and an ideal replay
//! reflector, on the same machine in the same run. Needs root (network
//! namespaces). See docs/BENCHMARKS.md, "Route reflector convergence".
//!
//! ```text
//! sudo cargo run --release -p reflex-rr-harness -- --shapes all --reflectors ours,bird,gobgp,frr,ideal
//! ```
//!
//! # Layout
//! - [`topology`]: the namespaces, the link and the K+1 addresses;
//! - [`bgp`]: OPEN, KEEPALIVE, framing and the handshake of every session;
//! - [`loadgen`]: the table of N prefixes and the session that sends it;
//! - [`clients`]: the K counting sessions;
//! - [`ideal`]: the replay reflector (`rr-bench ideal-serve`);
//! - [`daemons`]: configurations and launchers of the reflectors;
//! - [`procstat`]: CPU time, peak RSS, load, pinning;
//! - [`run`]: one measured run;
//! - [`report`]: table, CSV, JSON, plot.

mod bgp;
mod clients;
mod daemons;
mod hot_symbols;
mod ideal;
mod loadgen;
mod procstat;
mod report;
mod run;
mod topology;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use daemons::{Programs, Reflector};
use report::Report;
use run::{RunOptions, RunResult, Shape};

#[derive(Debug, Parser)]
#[command(
    name = "rr-bench",
    about = "Route-reflector convergence: Reflex, BIRD 2, GoBGP, FRR and an ideal replay reflector",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the ideal replay reflector (started by the harness itself).
    #[command(hide = true)]
    IdealServe {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        loadgen: Ipv4Addr,
        #[arg(long)]
        id: Ipv4Addr,
    },
    /// Rewrite the table, CSV and plot from a results.json.
    Report {
        /// The results.json of an earlier run.
        #[arg(long)]
        from: PathBuf,
        /// Output directory (default: the file's directory).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// `all` (the four shapes of the issue) or a list of KxN, e.g. 10x100000,1000x10k.
    #[arg(long, default_value = "all")]
    shapes: String,
    /// Reflectors to run, in this order within each shape.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "ours,bird,gobgp,frr,ideal"
    )]
    reflectors: Vec<Reflector>,
    /// Seconds to wait for convergence before reporting "timed out".
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Seconds to wait for all sessions to be established.
    #[arg(long, default_value_t = 180)]
    establish_timeout: u64,
    /// Runs of each (shape, reflector); the table shows medians.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Do not repeat a (shape, reflector) whose earlier run took longer than
    /// this many seconds or timed out (its noise is small next to its time).
    #[arg(long, default_value_t = 30.0)]
    repeat_under: f64,
    /// Output directory (default: target/rr-bench in the workspace).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The bgp-reflector binary (default: built with cargo, beside this one).
    #[arg(long)]
    ours_bin: Option<PathBuf>,
    /// Do not run `cargo build --release -p bgp-reflector` first.
    #[arg(long)]
    no_build: bool,
    /// Core of the harness (loadgen and clients).
    #[arg(long, default_value_t = 0)]
    harness_cpu: usize,
    /// Core of the reflector under test.
    #[arg(long, default_value_t = 1)]
    reflector_cpu: usize,
    /// Do not pin anything.
    #[arg(long)]
    no_pin: bool,
    /// Niceness for the harness and the reflectors (inherited), 0 to leave it.
    #[arg(long, default_value_t = -15, allow_negative_numbers = true)]
    nice: i32,
    /// Do not draw the plot.
    #[arg(long)]
    no_plot: bool,
    /// Record a perf profile (perf record --call-graph dwarf) of these reflectors.
    #[arg(long, value_enum, value_delimiter = ',')]
    perf: Vec<Reflector>,
    /// Run bgp-reflector under this command, e.g. "valgrind --tool=massif
    /// --massif-out-file=/tmp/massif.out" (for profiling; times are then meaningless).
    #[arg(long)]
    ours_wrapper: Option<String>,
    /// Samples per second of --perf.
    #[arg(long, default_value_t = 999)]
    perf_freq: u32,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::IdealServe {
            listen,
            loadgen,
            id,
        }) => ideal_serve(listen, loadgen, id),
        Some(Command::Report { from, out }) => regenerate(&from, out),
        None => match bench(cli.run) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("rr-bench: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn ideal_serve(listen: SocketAddr, loadgen: Ipv4Addr, id: Ipv4Addr) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    match runtime.block_on(ideal::serve(listen, loadgen, id)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ideal-serve: {e}");
            ExitCode::FAILURE
        }
    }
}

fn regenerate(from: &Path, out: Option<PathBuf>) -> ExitCode {
    let text = match std::fs::read_to_string(from) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{}: {e}", from.display());
            return ExitCode::FAILURE;
        }
    };
    let mut report: Report = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", from.display());
            return ExitCode::FAILURE;
        }
    };
    report.rows = report::summarize(&report.runs);
    let dir = out.unwrap_or_else(|| from.parent().unwrap_or(Path::new(".")).to_path_buf());
    let timeout = timeout_of(&report.command);
    if let Err(e) = report::write(&dir, &report, timeout) {
        eprintln!("{}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    print!("{}", report::markdown(&report, timeout));
    match report::plot(&dir) {
        Ok(png) => eprintln!("plot: {}", png.display()),
        Err(e) => eprintln!("no plot: {e}"),
    }
    ExitCode::SUCCESS
}

/// The --timeout of a recorded command line (300 if absent).
fn timeout_of(command: &str) -> f64 {
    let words: Vec<&str> = command.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0] == "--timeout")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(300.0)
}

fn workspace_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    dir.canonicalize().unwrap_or(dir)
}

fn utc_now() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M:%S UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The bgp-reflector binary: given, or built with cargo next to this one.
fn ours_binary(args: &RunArgs) -> Result<PathBuf, String> {
    if let Some(path) = &args.ours_bin {
        return Ok(path.clone());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no directory of the harness binary")?;
    let profile = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("release");
    if !args.no_build {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = std::process::Command::new(cargo);
        build
            .current_dir(workspace_root())
            .args(["build", "-p", "bgp-reflector"]);
        if profile == "release" {
            build.arg("--release");
        }
        eprintln!("rr-bench: building bgp-reflector ({profile})");
        match build.status() {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!("rr-bench: cargo build of bgp-reflector failed ({s}); using what exists")
            }
            Err(e) => eprintln!("rr-bench: cannot run cargo ({e}); using what exists"),
        }
    }
    let path = dir.join("bgp-reflector");
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it (cargo build --release -p bgp-reflector) or pass --ours-bin",
            path.display()
        ))
    }
}

fn bench(args: RunArgs) -> Result<(), String> {
    if !reflex_testlab::can_use_netns() {
        return Err("needs root and iproute2 (network namespaces): run it with sudo".into());
    }
    let shapes: Vec<Shape> = if args.shapes == "all" {
        Shape::ALL.to_vec()
    } else {
        args.shapes
            .split(',')
            .map(Shape::parse)
            .collect::<Result<_, _>>()?
    };
    let mut reflectors = Vec::new();
    for &r in &args.reflectors {
        let tool = match r {
            Reflector::Bird => Some("bird"),
            Reflector::Gobgp => Some("gobgpd"),
            Reflector::Frr => None,
            Reflector::Ours | Reflector::Ideal => None,
        };
        let missing = match (r, tool) {
            (_, Some(tool)) => !reflex_testlab::have(tool),
            (Reflector::Frr, _) => !Path::new(reflex_testlab::daemons::frr::FRR_BGPD).is_file(),
            _ => false,
        };
        if missing {
            eprintln!("rr-bench: {} is not installed; skipping it", r.name());
        } else if !reflectors.contains(&r) {
            reflectors.push(r);
        }
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| workspace_root().join("target/rr-bench"));
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    // Run a private copy, so that a concurrent `cargo build` cannot swap
    // the binary between runs.
    let ours = if reflectors.contains(&Reflector::Ours) {
        let built = ours_binary(&args)?;
        let copy = out.join("bgp-reflector");
        std::fs::copy(&built, &copy)
            .map_err(|e| format!("copy {} to {}: {e}", built.display(), copy.display()))?;
        copy
    } else {
        args.ours_bin.clone().unwrap_or_default()
    };
    let programs = Programs {
        ours,
        // Our own image, even if the file is replaced by a rebuild meanwhile.
        harness: PathBuf::from(format!("/proc/{}/exe", std::process::id())),
        ours_wrapper: args
            .ours_wrapper
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(String::from)
            .collect(),
    };

    // Before any thread exists, so that every thread and child inherits.
    if args.nice != 0 {
        let pid = std::process::id().to_string();
        let nice = args.nice.to_string();
        if let Err(e) = reflex_testlab::netns::run(&["renice", "-n", &nice, "-p", &pid]) {
            eprintln!("rr-bench: renice failed: {e}");
        }
    }
    watch_signals()?;
    let machine = procstat::Machine::detect();
    let pin = !args.no_pin && machine.cpus >= 2;
    let pinning = if pin {
        procstat::pin_self(args.harness_cpu)?;
        format!(
            "reflector on CPU {}, harness on CPU {}",
            args.reflector_cpu, args.harness_cpu
        )
    } else {
        "not pinned".to_string()
    };
    let nofile = procstat::raise_nofile(16_384)?;
    eprintln!(
        "rr-bench: {pinning}; open files limit {nofile}; output in {}",
        out.display()
    );

    let opts = RunOptions {
        timeout: Duration::from_secs(args.timeout),
        establish_timeout: Duration::from_secs(args.establish_timeout),
        reflector_cpu: pin.then_some(args.reflector_cpu),
        programs: programs.clone(),
        perf: (!args.perf.is_empty()).then(|| (args.perf.clone(), out.clone())),
        perf_freq: args.perf_freq,
        log_dir: out.join("logs"),
    };
    let mut report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        started: utc_now(),
        finished: String::new(),
        machine,
        versions: daemons::versions(&programs),
        pinning,
        nice: args.nice,
        load: [procstat::load_average(), [0.0; 3]],
        runs: Vec::new(),
        rows: Vec::new(),
    };
    let total = args.repeat * shapes.len() * reflectors.len();
    let mut count = 0;
    for repetition in 0..args.repeat {
        for &shape in &shapes {
            for &reflector in &reflectors {
                count += 1;
                // A run that hit the time limit would only hit it again,
                // and one that took long has little noise to average out.
                let slow = report.runs.iter().any(|r| {
                    r.shape == shape
                        && r.reflector == reflector
                        && (r.status == run::Status::TimedOut
                            || r.seconds.is_some_and(|s| s > args.repeat_under))
                });
                if slow {
                    eprintln!(
                        "[{count}/{total}] {} {}: not repeated (took over {} s or timed out)",
                        reflector.name(),
                        shape.label(),
                        args.repeat_under
                    );
                    continue;
                }
                let load = procstat::load_average();
                eprintln!(
                    "[{count}/{total}] {} {} (load {:.2})",
                    reflector.name(),
                    shape.label(),
                    load[0]
                );
                let result = run::run_one(reflector, shape, repetition, &opts);
                eprintln!("    {}", one_line(&result));
                report.runs.push(result);
                report.rows = report::summarize(&report.runs);
                report.finished = utc_now();
                report.load[1] = procstat::load_average();
                report::write(&out, &report, args.timeout as f64)
                    .map_err(|e| format!("{}: {e}", out.display()))?;
            }
        }
    }
    print!("{}", report::markdown(&report, args.timeout as f64));
    if !args.no_plot {
        match report::plot(&out) {
            Ok(png) => eprintln!("rr-bench: plot {}", png.display()),
            Err(e) => eprintln!("rr-bench: no plot: {e}"),
        }
    }
    eprintln!(
        "rr-bench: results in {}/results.{{md,csv,json}}",
        out.display()
    );
    Ok(())
}

/// On SIGINT, SIGTERM or SIGHUP, kill whatever runs in this process's lab
/// namespaces and delete them (a [`reflex_testlab::Lab`] does that when it
/// is dropped, which an exit by signal skips), then exit.
fn watch_signals() -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut streams = Vec::new();
    for kind in [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
    ] {
        let _guard = runtime.enter();
        streams.push(signal(kind).map_err(|e| format!("signal handler: {e}"))?);
    }
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let waits = streams.iter_mut().map(|s| Box::pin(s.recv()));
            let _ = futures_select_all(waits.collect()).await;
        });
        eprintln!("rr-bench: interrupted; removing the lab namespaces");
        remove_own_namespaces();
        std::process::exit(130);
    });
    Ok(())
}

/// Wait for the first of `futures`.
async fn futures_select_all<F: std::future::Future + Unpin>(futures: Vec<F>) {
    let mut futures = futures;
    std::future::poll_fn(|cx| {
        for f in &mut futures {
            if std::pin::Pin::new(&mut *f).poll(cx).is_ready() {
                return std::task::Poll::Ready(());
            }
        }
        std::task::Poll::Pending
    })
    .await;
}

fn remove_own_namespaces() {
    use reflex_testlab::netns::run as sh;
    let prefix = format!("rx{}n", std::process::id());
    let Ok(list) = sh(&["ip", "netns", "list"]) else {
        return;
    };
    for name in list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&prefix))
    {
        if let Ok(pids) = sh(&["ip", "netns", "pids", name]) {
            for pid in pids.split_whitespace() {
                let _ = sh(&["kill", "-9", pid]);
            }
        }
        let _ = sh(&["ip", "netns", "del", name]);
    }
}

fn one_line(r: &RunResult) -> String {
    let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.3}"));
    format!(
        "{:?}: {} s (first route {} s, first client {} s, loadgen sent {} s), reflector CPU {} s, peak RSS {} MiB, harness CPU {} s, {} updates, {} threads, {:?} context switches{}{}",
        r.status,
        f(r.seconds),
        f(r.first_route_seconds),
        f(r.first_client_seconds),
        f(r.loadgen_sent_seconds),
        f(r.cpu_seconds),
        r.peak_rss_kib
            .map_or("-".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
        f(r.harness_cpu_seconds),
        r.updates_received,
        r.threads.unwrap_or(0),
        r.context_switches.unwrap_or_default(),
        if r.unreflected_updates > 0 {
            format!(
                ", {} UPDATEs without ORIGINATOR_ID/CLUSTER_LIST",
                r.unreflected_updates
            )
        } else {
            String::new()
        },
        r.error
            .as_ref()
            .map_or(String::new(), |e| format!(" [{e}]")),
    )
}
