//! What the harness measures of a process and of the machine: CPU time
//! (`/proc/PID/stat` utime + stime), peak RSS (`VmHWM` of
//! `/proc/PID/status`), load, CPU pinning and file-descriptor limits.

use std::time::Duration;

use nix::sched::{CpuSet, sched_setaffinity};
use nix::sys::resource::{Resource, UsageWho, getrlimit, getrusage, setrlimit};
use nix::unistd::{Pid, SysconfVar, sysconf};
use serde::{Deserialize, Serialize};

/// CPU time of process `pid` (all its threads, user + system).
///
/// Two readings: `/proc/PID/stat` (utime + stime, every thread that ever
/// ran, in clock ticks of 10 ms) and the sum of `/proc/PID/task/*/schedstat`
/// (nanoseconds, threads alive now). The second is exact for short runs;
/// callers take differences of either ([`CpuSample::since`]).
pub fn cpu_time(pid: u32) -> Option<CpuSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = parse_cpu_ticks(&stat)?;
    let mut sched_ns = 0u64;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let path = task.path().join("schedstat");
            if let Some(ns) = std::fs::read_to_string(path).ok().and_then(|s| {
                s.split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
            }) {
                sched_ns += ns;
            }
        }
    }
    Some(CpuSample {
        ticks: Duration::from_secs_f64(ticks as f64 / clock_ticks()),
        sched: Duration::from_nanos(sched_ns),
    })
}

/// One reading of a process's CPU time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuSample {
    /// utime + stime.
    pub ticks: Duration,
    /// Sum over live threads of the scheduler's run time.
    pub sched: Duration,
}

impl CpuSample {
    /// CPU time used between `earlier` and this sample: the exact
    /// scheduler figure, unless the tick count says more was used (by
    /// threads that have exited since).
    pub fn since(&self, earlier: &CpuSample) -> Duration {
        let ticks = self.ticks.saturating_sub(earlier.ticks);
        let sched = self.sched.saturating_sub(earlier.sched);
        if ticks > sched + Duration::from_millis(20) {
            ticks
        } else {
            sched
        }
    }

    /// Total CPU time so far.
    pub fn total(&self) -> Duration {
        self.ticks.max(self.sched)
    }
}

/// utime + stime, in clock ticks, of a `/proc/PID/stat` line.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks() -> f64 {
    match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => ticks as f64,
        _ => 100.0,
    }
}

/// Context switches of every live thread of `pid` (voluntary, involuntary).
pub fn context_switches(pid: u32) -> (u64, u64) {
    let mut total = (0, 0);
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
                continue;
            };
            total.0 += parse_status_kib(&status, "voluntary_ctxt_switches:").unwrap_or(0);
            total.1 += parse_status_kib(&status, "nonvoluntary_ctxt_switches:").unwrap_or(0);
        }
    }
    total
}

/// Threads of `pid`.
pub fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Peak resident set size of `pid` in KiB (`VmHWM`).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmHWM:")
}

/// Current resident set size of `pid` in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS:")
}

/// Anonymous resident memory of `pid` in KiB (`RssAnon`: heap, stacks).
pub fn rss_anon_kib(pid: u32) -> Option<u64> {
    status_field(pid, "RssAnon:")
}

/// File-backed resident memory of `pid` in KiB (`RssFile`: the mapped
/// binary and libraries).
pub fn rss_file_kib(pid: u32) -> Option<u64> {
    status_field(pid, "RssFile:")
}

fn status_field(pid: u32, name: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&status, name)
}

/// The value in kB of line `name` of a `/proc/PID/status` text.
pub fn parse_status_kib(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// CPU time of this process so far (every thread).
pub fn own_cpu_time() -> Duration {
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|u| {
            let tv = |t: nix::sys::time::TimeVal| {
                Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
            };
            tv(u.user_time()) + tv(u.system_time())
        })
        .unwrap_or_default()
}

/// Pin the calling thread (and the threads and processes it starts later)
/// to `cpu`.
pub fn pin_self(cpu: usize) -> Result<(), String> {
    let mut set = CpuSet::new();
    set.set(cpu).map_err(|e| format!("cpu {cpu}: {e}"))?;
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| format!("pin to cpu {cpu}: {e}"))
}

/// Raise the open-file limit (inherited by the daemons) so that a thousand
/// sessions fit; not to the hard maximum, since some daemons size tables
/// by it.
pub fn raise_nofile(want: u64) -> Result<u64, String> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(|e| e.to_string())?;
    let target = want.min(hard).max(soft);
    if target != soft {
        setrlimit(Resource::RLIMIT_NOFILE, target, hard).map_err(|e| e.to_string())?;
    }
    Ok(target)
}

/// All CPUs' time so far and the part of it the hypervisor gave to others
/// (steal), in clock ticks, from the first line of `/proc/stat`.
pub fn cpu_ticks() -> Option<CpuTicks> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    parse_steal_line(text.lines().next()?)
}

/// See [`cpu_ticks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTicks {
    /// user + nice + system + idle + iowait + irq + softirq + steal.
    pub total: u64,
    /// steal.
    pub steal: u64,
}

impl CpuTicks {
    /// The share of the CPU time since `earlier` that was stolen, in
    /// percent; `None` when no tick passed.
    pub fn steal_percent_since(self, earlier: CpuTicks) -> Option<f64> {
        let total = self.total.checked_sub(earlier.total)?;
        let steal = self.steal.checked_sub(earlier.steal)?;
        (total > 0).then(|| 100.0 * steal as f64 / total as f64)
    }
}

/// The aggregate `cpu` line of `/proc/stat`.
fn parse_steal_line(line: &str) -> Option<CpuTicks> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let values: Vec<u64> = fields
        .take(8)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    let steal = *values.get(7)?;
    Some(CpuTicks {
        total: values.iter().sum(),
        steal,
    })
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(f64::NAN));
    [
        it.next().unwrap_or(f64::NAN),
        it.next().unwrap_or(f64::NAN),
        it.next().unwrap_or(f64::NAN),
    ]
}

/// The machine the run was on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    /// Online CPUs.
    pub cpus: usize,
    /// CPU model name.
    pub cpu_model: String,
    /// Memory in GiB.
    pub memory_gib: f64,
    /// Kernel release.
    pub kernel: String,
    /// Host name.
    pub hostname: String,
}

impl Machine {
    /// Read it from /proc.
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpus = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_gib = parse_status_kib(&meminfo, "MemTotal:").unwrap_or(0) as f64 / 1048576.0;
        let read = |p: &str| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        Machine {
            cpus,
            cpu_model,
            memory_gib,
            kernel: read("/proc/sys/kernel/osrelease"),
            hostname: read("/proc/sys/kernel/hostname"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_the_eighth_value_of_the_cpu_line() {
        let before = parse_steal_line("cpu  100 0 50 800 10 0 5 35 0 0").unwrap();
        assert_eq!(
            before,
            CpuTicks {
                total: 1000,
                steal: 35
            }
        );
        let after = parse_steal_line("cpu  150 0 60 900 10 0 5 75 0 0").unwrap();
        assert_eq!(after.steal_percent_since(before), Some(20.0));
        assert_eq!(before.steal_percent_since(before), None);
        assert_eq!(parse_steal_line("cpu0 1 2 3 4 5 6 7 8"), None);
        assert_eq!(parse_steal_line("cpu 1 2 3"), None);
    }

    #[test]
    fn parses_stat_and_status() {
        let stat = "1234 (bgp reflector) S 1 2 3 4 5 6 7 8 9 10 250 40 0 0 20 0 3 0 100";
        assert_eq!(parse_cpu_ticks(stat), Some(290));
        let status = "Name:\tbird\nVmPeak:\t  20000 kB\nVmHWM:\t   8123 kB\nVmRSS:\t 8000 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM:"), Some(8123));
        assert_eq!(parse_status_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn own_process_is_measurable() {
        let pid = std::process::id();
        assert!(cpu_time(pid).is_some());
        assert!(peak_rss_kib(pid).unwrap() > 0);
        let (anon, file) = (rss_anon_kib(pid).unwrap(), rss_file_kib(pid).unwrap());
        assert!(anon > 0 && file > 0, "anon {anon} KiB, file {file} KiB");
        assert!(
            anon + file <= rss_kib(pid).unwrap() + 64,
            "the split is of VmRSS"
        );
    }
}
