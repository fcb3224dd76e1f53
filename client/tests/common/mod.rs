//! Shared helpers of the namespace tests: a tokio runtime whose threads
//! live in a host's network namespace, and reading `ip route` output.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

use reflex_testlab::Host;
use tokio::runtime::Runtime;

/// A multi-thread runtime built inside `host`: its worker threads (and
/// every thread and process they start) are in the host's namespace.
/// Futures must be run through [`run_in`], never `block_on` directly, so
/// they run on those workers.
pub fn runtime_in(host: &Host) -> Runtime {
    host.enter(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    })
    .expect("enter the namespace")
}

/// Run `future` on `runtime`'s workers (inside its namespace) and wait.
pub fn run_in<T: Send + 'static>(
    runtime: &Runtime,
    future: impl Future<Output = T> + Send + 'static,
) -> T {
    runtime
        .block_on(runtime.spawn(future))
        .expect("the task completes")
}

/// Log to the test output when `RUST_LOG` is set.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Lines of `ip [-6] route show <args>` in `host`.
pub fn ip_routes(host: &Host, args: &[&str]) -> Vec<String> {
    let mut full = vec!["ip", "route", "show"];
    full.extend_from_slice(args);
    host.run(&full)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The destinations of `ip -o route show <args>`, with `/32` or `/128`
/// added to host routes.
pub fn route_prefixes(host: &Host, v6: bool, args: &[&str]) -> BTreeSet<String> {
    let mut full = vec!["ip"];
    if v6 {
        full.push("-6");
    }
    full.extend(["-o", "route", "show"]);
    full.extend_from_slice(args);
    host.run(&full)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let mut first = words.next()?;
            if matches!(
                first,
                "blackhole" | "unreachable" | "prohibit" | "unicast" | "local" | "broadcast"
            ) {
                first = words.next()?;
            }
            Some(if first.contains('/') || first == "default" {
                first.to_string()
            } else if v6 {
                format!("{first}/128")
            } else {
                format!("{first}/32")
            })
        })
        .collect()
}

/// Poll `check` every 50 ms for up to `timeout`; panics with `what`.
pub fn wait_for(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}
pub mod nodes;
