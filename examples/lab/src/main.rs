//! `reflex-lab`: the whole Reflex scene in network namespaces, printed step
//! by step: etcd, two route reflectors sharing a cluster ID, three nodes
//! running `bgp-client` with Felix, workloads added by the `calico` CNI
//! plugin exactly as a container runtime adds them, then pings across
//! nodes, a policy blocking and allowing ports, one reflector killed with
//! nothing lost, and CNI DEL removing every trace.
//!
//! Run it as root with `examples/lab/run.sh` (builds the binaries) or
//! `reflex-lab --bin-dir target/release`. Exit status 0 means every check
//! held; the lab's namespaces and processes are removed either way.
//!
//! # Layout
//! - [`scene`]: the steps and their checks;
//! - [`workload`]: calling the CNI plugin, pings and TCP checks;
//! - [`etcd`]: the etcd server and raw key reads;
//! - [`bins`]: where the programs are.

mod bins;
mod error;
mod etcd;
mod scene;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Command line of `reflex-lab`.
#[derive(Debug, Parser)]
#[command(version, about = "Run the Reflex cluster scene in network namespaces")]
struct Args {
    /// Directory with bgp-reflector, bgp-client, calico and calico-ipam
    /// (default: the directory of this program).
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,
    /// The CNI network configuration list to add workloads with.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CNI_CONFIG)]
    cni_config: PathBuf,
    /// Add this many more workloads after the first four, only to measure
    /// the time from ADD until another node's workload reaches them.
    #[arg(long, value_name = "N", default_value_t = 0)]
    reach_samples: usize,
}

/// The seed-style configuration shipped in `examples/cni/`.
const DEFAULT_CNI_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../cni/10-calico.conflist");

/// Median, 90th percentile and maximum of the ADD-to-reachable times.
fn print_distribution(samples: &[(String, std::time::Duration)]) {
    if samples.len() < 5 {
        return;
    }
    let mut ms: Vec<f64> = samples
        .iter()
        .map(|(_, d)| d.as_secs_f64() * 1000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "ADD to reachable from another node, {} workloads: median {:.0} ms, p90 {:.0} ms, max {:.0} ms",
        ms.len(),
        at(0.5),
        at(0.9),
        at(1.0)
    );
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(dir) = args.bin_dir.or_else(bins::Bins::beside_self) else {
        eprintln!("reflex-lab: cannot tell where the binaries are: pass --bin-dir");
        return ExitCode::FAILURE;
    };
    let outcome = bins::Bins::in_dir(&dir).and_then(|bins| {
        scene::run(scene::Options {
            bins,
            cni_config: args.cni_config,
            reach_samples: args.reach_samples,
        })
    });
    match outcome {
        Ok(outcome) => {
            println!();
            for (workload, took) in outcome.reachable_after_add.iter().take(4) {
                println!(
                    "{workload} was reachable from another node {:.0} ms after its ADD returned",
                    took.as_secs_f64() * 1000.0
                );
            }
            print_distribution(&outcome.reachable_after_add);
            println!("all {} checks held", outcome.checks);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nreflex-lab: {e}");
            ExitCode::FAILURE
        }
    }
}
