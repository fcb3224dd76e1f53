//! Results: a summary table (markdown and CSV), every run as JSON, and a
//! plot drawn by `plot.py` (matplotlib) from the JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::daemons::Reflector;
use crate::procstat::Machine;
use crate::run::{RunResult, Shape, Status};

/// Everything a run of the harness produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The command line.
    pub command: String,
    /// When it started and ended (UTC).
    pub started: String,
    /// When it ended.
    pub finished: String,
    /// The machine.
    pub machine: Machine,
    /// Daemon versions.
    pub versions: Vec<(String, String)>,
    /// Core assignment, e.g. "reflector on CPU 1, harness on CPU 0".
    pub pinning: String,
    /// Niceness of harness and reflectors.
    pub nice: i32,
    /// Load averages at start and end.
    pub load: [[f64; 3]; 2],
    /// Every run.
    pub runs: Vec<RunResult>,
    /// The summary.
    pub rows: Vec<Row>,
}

/// One line of the summary: a reflector on a shape, over its repetitions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// The shape.
    pub shape: Shape,
    /// The reflector.
    pub reflector: Reflector,
    /// "ok", "timed out" or "failed" (the best of the repetitions).
    pub status: String,
    /// Repetitions, and how many converged.
    pub runs: usize,
    /// Repetitions that converged.
    pub converged: usize,
    /// Median convergence time of the converged runs.
    pub seconds: Option<f64>,
    /// `seconds` over the ideal's.
    pub ratio: Option<f64>,
    /// Median reflector CPU seconds over the run.
    pub cpu_seconds: Option<f64>,
    /// Median reflector peak RSS, MiB.
    pub peak_rss_mib: Option<f64>,
    /// Median reflector RSS with the sessions up and no routes, MiB.
    #[serde(default)]
    pub idle_rss_mib: Option<f64>,
    /// Median time until the first reflected route reached a client.
    #[serde(default)]
    pub first_route_seconds: Option<f64>,
    /// Median UPDATEs each client received.
    #[serde(default)]
    pub updates_per_client: Option<f64>,
    /// Median harness CPU seconds (loadgen and clients) over the run.
    #[serde(default)]
    pub harness_cpu_seconds: Option<f64>,
    /// Median seconds until all K client sessions were Established.
    #[serde(default)]
    pub sessions_up_seconds: Option<f64>,
    /// The most CPU time stolen by the hypervisor in any of its runs, in
    /// percent of all CPUs' time.
    #[serde(default)]
    pub max_steal_percent: Option<f64>,
    /// Why runs failed, if any did.
    pub note: String,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// Summarize runs: one row per (shape, reflector), in the order first seen.
pub fn summarize(runs: &[RunResult]) -> Vec<Row> {
    let mut order: Vec<(Shape, Reflector)> = Vec::new();
    for r in runs {
        if !order.contains(&(r.shape, r.reflector)) {
            order.push((r.shape, r.reflector));
        }
    }
    let mut rows: Vec<Row> = order
        .iter()
        .map(|&(shape, reflector)| {
            let mine: Vec<&RunResult> = runs
                .iter()
                .filter(|r| r.shape == shape && r.reflector == reflector)
                .collect();
            let ok: Vec<&RunResult> = mine
                .iter()
                .copied()
                .filter(|r| r.status == Status::Ok)
                .collect();
            let basis = if ok.is_empty() { &mine } else { &ok };
            let status = if !ok.is_empty() {
                "ok"
            } else if mine.iter().any(|r| r.status == Status::TimedOut) {
                "timed out"
            } else {
                "failed"
            };
            let mut notes: Vec<String> = mine.iter().filter_map(|r| r.error.clone()).collect();
            notes.dedup();
            Row {
                shape,
                reflector,
                status: status.into(),
                runs: mine.len(),
                converged: ok.len(),
                seconds: median(ok.iter().filter_map(|r| r.seconds).collect()),
                ratio: None,
                cpu_seconds: median(basis.iter().filter_map(|r| r.cpu_seconds).collect()),
                peak_rss_mib: median(
                    basis
                        .iter()
                        .filter_map(|r| r.peak_rss_kib)
                        .map(|k| k as f64 / 1024.0)
                        .collect(),
                ),
                idle_rss_mib: median(
                    basis
                        .iter()
                        .filter_map(|r| r.idle_rss_kib)
                        .map(|k| k as f64 / 1024.0)
                        .collect(),
                ),
                first_route_seconds: median(
                    basis.iter().filter_map(|r| r.first_route_seconds).collect(),
                ),
                updates_per_client: median(
                    basis
                        .iter()
                        .map(|r| r.updates_received as f64 / r.shape.k as f64)
                        .collect(),
                ),
                harness_cpu_seconds: median(
                    basis.iter().filter_map(|r| r.harness_cpu_seconds).collect(),
                ),
                sessions_up_seconds: median(
                    basis.iter().filter_map(|r| r.sessions_up_seconds).collect(),
                ),
                max_steal_percent: mine
                    .iter()
                    .filter_map(|r| r.steal_percent)
                    .max_by(f64::total_cmp),
                note: notes.join("; "),
            }
        })
        .collect();
    let ideal: BTreeMap<(usize, usize), f64> = rows
        .iter()
        .filter(|r| r.reflector == Reflector::Ideal)
        .filter_map(|r| r.seconds.map(|s| ((r.shape.k, r.shape.n), s)))
        .collect();
    for row in &mut rows {
        if let (Some(s), Some(i)) = (row.seconds, ideal.get(&(row.shape.k, row.shape.n))) {
            row.ratio = Some(s / i);
        }
    }
    rows
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

/// The summary as a markdown table, with a limit for runs that did not converge.
pub fn markdown_table(rows: &[Row], timeout_s: f64) -> String {
    let mut out = String::from(
        "| shape | reflector | time (s) | × ideal | CPU (s) | peak RSS (MiB) | runs |\n|---|---|---:|---:|---:|---:|---|\n",
    );
    for row in rows {
        let (time, ratio) = match row.status.as_str() {
            "ok" => (
                opt(row.seconds, 3),
                opt(
                    row.ratio,
                    if row.ratio.unwrap_or(0.0) < 10.0 {
                        2
                    } else {
                        1
                    },
                ),
            ),
            "timed out" => (format!("timed out (> {timeout_s:.0})"), "-".into()),
            _ => ("failed".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {}/{} |",
            row.shape.label(),
            row.reflector.name(),
            time,
            ratio,
            opt(row.cpu_seconds, 2),
            opt(row.peak_rss_mib, 1),
            row.converged,
            row.runs,
        );
    }
    out
}

/// Where the time and memory go: a second table.
pub fn details_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| shape | reflector | sessions up (s) | first route (s) | UPDATEs per client | idle RSS (MiB) | harness CPU (s) | most steal (%) |\n|---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            row.shape.label(),
            row.reflector.name(),
            opt(row.sessions_up_seconds, 2),
            opt(row.first_route_seconds, 3),
            opt(row.updates_per_client, 0),
            opt(row.idle_rss_mib, 1),
            opt(row.harness_cpu_seconds, 2),
            opt(row.max_steal_percent, 1),
        );
    }
    out
}

/// The summary as CSV.
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "k,n,reflector,status,runs,converged,seconds,ratio_to_ideal,cpu_seconds,peak_rss_mib,idle_rss_mib,first_route_seconds,updates_per_client,harness_cpu_seconds,note\n",
    );
    for row in rows {
        let f = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},\"{}\"",
            row.shape.k,
            row.shape.n,
            row.reflector.name(),
            row.status,
            row.runs,
            row.converged,
            f(row.seconds),
            f(row.ratio),
            f(row.cpu_seconds),
            f(row.peak_rss_mib),
            f(row.idle_rss_mib),
            f(row.first_route_seconds),
            f(row.updates_per_client),
            f(row.harness_cpu_seconds),
            row.note.replace('"', "'"),
        );
    }
    out
}

/// The whole report as markdown: setup, table, failures.
pub fn markdown(report: &Report, timeout_s: f64) -> String {
    let m = &report.machine;
    let mut out = String::new();
    let _ = writeln!(out, "# Route reflector convergence\n");
    let _ = writeln!(out, "- command: `{}`", report.command);
    let _ = writeln!(out, "- run: {} to {}", report.started, report.finished);
    let _ = writeln!(
        out,
        "- machine: {} CPUs, {}, {:.1} GiB, kernel {}",
        m.cpus, m.cpu_model, m.memory_gib, m.kernel
    );
    let _ = writeln!(out, "- pinning: {}; nice {}", report.pinning, report.nice);
    let [a, b] = report.load;
    let _ = writeln!(
        out,
        "- load average at start {:.2} {:.2} {:.2}, at end {:.2} {:.2} {:.2}",
        a[0], a[1], a[2], b[0], b[1], b[2]
    );
    let steal = report
        .runs
        .iter()
        .filter_map(|r| r.steal_percent)
        .max_by(f64::total_cmp);
    let _ = writeln!(
        out,
        "- CPU time stolen by the hypervisor: at most {}% of a run (times measured under steal measure the host too)",
        opt(steal, 1)
    );
    for (name, version) in &report.versions {
        let _ = writeln!(out, "- {name}: {version}");
    }
    out.push('\n');
    out.push_str(&markdown_table(&report.rows, timeout_s));
    out.push('\n');
    out.push_str(&details_table(&report.rows));
    let notes: Vec<&Row> = report.rows.iter().filter(|r| !r.note.is_empty()).collect();
    if !notes.is_empty() {
        out.push_str("\nNotes:\n");
        for row in notes {
            let _ = writeln!(
                out,
                "- {} {}: {}",
                row.reflector.name(),
                row.shape.label(),
                row.note
            );
        }
    }
    out
}

/// Write `results.json`, `results.csv` and `results.md` into `dir`.
pub fn write(dir: &Path, report: &Report, timeout_s: f64) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("results.json"), json)?;
    std::fs::write(dir.join("results.csv"), csv(&report.rows))?;
    std::fs::write(dir.join("results.md"), markdown(report, timeout_s))?;
    Ok(())
}

/// Draw `rr-convergence.png` in `dir` with `plot.py`; the error if python3
/// or matplotlib is missing.
pub fn plot(dir: &Path) -> Result<std::path::PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("plot.py");
    let png = dir.join("rr-convergence.png");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(dir.join("results.json"))
        .arg(&png)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if out.status.success() {
        Ok(png)
    } else {
        Err(format!(
            "{} failed (pip install matplotlib?): {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(reflector: Reflector, seconds: Option<f64>, status: Status) -> RunResult {
        let json = serde_json::json!({
            "reflector": reflector, "shape": {"k": 10, "n": 1000}, "repetition": 0,
            "status": status, "error": null, "seconds": seconds,
            "first_client_seconds": null, "first_route_seconds": null, "loadgen_sent_seconds": null,
            "cpu_seconds": 1.5, "cpu_total_seconds": 2.0, "peak_rss_kib": 10240,
            "end_rss_kib": 10000, "harness_cpu_seconds": 0.1, "clients_done": 10,
            "min_prefixes": 1000, "updates_received": 1, "bytes_received": 1,
            "unreflected_updates": 0, "foreign_prefixes": 0, "loadgen_messages": 3,
            "setup_seconds": 1.0, "settle_seconds": 1.0, "load_before": [0.0, 0.0, 0.0]
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn rows_take_medians_and_ratios_to_the_ideal() {
        let runs = vec![
            run(Reflector::Ideal, Some(0.5), Status::Ok),
            run(Reflector::Ours, Some(0.9), Status::Ok),
            run(Reflector::Ours, Some(1.1), Status::Ok),
            run(Reflector::Ours, Some(5.0), Status::Ok),
            run(Reflector::Gobgp, None, Status::TimedOut),
        ];
        let rows = summarize(&runs);
        assert_eq!(rows.len(), 3);
        let ours = &rows[1];
        assert_eq!(ours.seconds, Some(1.1));
        assert!((ours.ratio.unwrap() - 2.2).abs() < 1e-9);
        assert_eq!(ours.peak_rss_mib, Some(10.0));
        assert_eq!(rows[2].status, "timed out");
        let table = markdown_table(&rows, 300.0);
        assert!(table.contains("| K=10 N=1,000 | ours | 1.100 | 2.20 | 1.50 | 10.0 | 3/3 |"));
        assert!(table.contains("timed out (> 300)"));
        assert_eq!(csv(&rows).lines().count(), 4);
    }
}
