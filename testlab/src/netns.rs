//! Network namespaces as test hosts, joined by veth links.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Errors of the lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A command could not be started.
    #[error("cannot run {command}: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// A command exited with an error.
    #[error("{command} failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// Exit status.
        status: String,
        /// Its standard error.
        stderr: String,
    },
    /// Entering a namespace failed.
    #[error("cannot enter namespace {name}: {reason}")]
    Enter {
        /// The namespace.
        name: String,
        /// Why.
        reason: String,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Waiting for a condition timed out.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
}

static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Run a command to completion; its standard output on success.
pub fn run(args: &[&str]) -> Result<String, LabError> {
    let command = args.join(" ");
    let output = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| LabError::Spawn {
            command: command.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(LabError::Failed {
            command,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A set of hosts and processes that is torn down when dropped.
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    hosts: Vec<String>,
    children: Vec<(String, Child)>,
    dir: PathBuf,
    links: u32,
}

/// One host: a network namespace of a [`Lab`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The namespace name (`ip netns` name).
    pub ns: String,
    /// The short name given to [`Lab::host`].
    pub name: String,
}

impl Lab {
    /// A new, empty lab. `tag` names it in namespace names and its
    /// temporary directory. Namespaces left by earlier crashed runs are
    /// removed first.
    pub fn new(tag: &str) -> Result<Lab, LabError> {
        remove_stale_namespaces();
        let n = LAB_COUNTER.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("rx{}n{}", std::process::id(), n);
        let dir = std::env::temp_dir().join(format!("reflex-lab-{tag}-{prefix}"));
        std::fs::create_dir_all(&dir).map_err(|source| LabError::Write {
            path: dir.clone(),
            source,
        })?;
        Ok(Lab {
            prefix,
            hosts: Vec::new(),
            children: Vec::new(),
            dir,
            links: 0,
        })
    }

    /// The lab's temporary directory (configs, sockets, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Create a host with loopback up.
    pub fn host(&mut self, name: &str) -> Result<Host, LabError> {
        let ns = format!("{}{}", self.prefix, name);
        run(&["ip", "netns", "add", &ns])?;
        self.hosts.push(ns.clone());
        let host = Host {
            ns,
            name: name.to_string(),
        };
        host.run(&["ip", "link", "set", "lo", "up"])?;
        Ok(host)
    }

    /// Join `a` and `b` with a veth pair and give each end an address
    /// (`"10.0.0.1/24"` or an IPv6 one; more with [`Host::add_address`]).
    /// Returns the interface names in `a` and in `b`.
    pub fn link(
        &mut self,
        a: &Host,
        a_addr: &str,
        b: &Host,
        b_addr: &str,
    ) -> Result<(String, String), LabError> {
        self.links += 1;
        let a_if = format!("v{}{}", self.links, trim(&b.name));
        let b_if = format!("v{}{}", self.links, trim(&a.name));
        run(&[
            "ip", "link", "add", "name", &a_if, "netns", &a.ns, "type", "veth", "peer", "name",
            &b_if, "netns", &b.ns,
        ])?;
        for (host, ifname, addr) in [(a, &a_if, a_addr), (b, &b_if, b_addr)] {
            host.add_address(ifname, addr)?;
            host.run(&["ip", "link", "set", ifname, "up"])?;
        }
        Ok((a_if, b_if))
    }

    /// A bridge host (a switch) that `hosts` are linked to, each with its
    /// address from `addrs`. Returns the switch.
    pub fn switch(&mut self, name: &str, hosts: &[(&Host, &str)]) -> Result<Host, LabError> {
        let switch = self.host(name)?;
        switch.run(&["ip", "link", "add", "br0", "type", "bridge"])?;
        switch.run(&["ip", "link", "set", "br0", "up"])?;
        for (host, addr) in hosts {
            self.links += 1;
            let host_if = format!("eth{}", self.links);
            let port = format!("p{}", self.links);
            run(&[
                "ip", "link", "add", "name", &host_if, "netns", &host.ns, "type", "veth", "peer",
                "name", &port, "netns", &switch.ns,
            ])?;
            switch.run(&["ip", "link", "set", &port, "master", "br0"])?;
            switch.run(&["ip", "link", "set", &port, "up"])?;
            host.add_address(&host_if, addr)?;
            host.run(&["ip", "link", "set", &host_if, "up"])?;
        }
        Ok(switch)
    }

    /// Start a long-running process in `host`; it is killed when the lab is
    /// dropped (or by [`Lab::kill`]). Output goes to `<dir>/<label>.log`.
    pub fn spawn(&mut self, host: &Host, label: &str, args: &[&str]) -> Result<u32, LabError> {
        let log_path = self.dir.join(format!("{label}.log"));
        let log = File::create(&log_path).map_err(|source| LabError::Write {
            path: log_path.clone(),
            source,
        })?;
        let err_log = log.try_clone().map_err(|source| LabError::Write {
            path: log_path,
            source,
        })?;
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &host.ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log);
        let child = command.spawn().map_err(|source| LabError::Spawn {
            command: args.join(" "),
            source,
        })?;
        let pid = child.id();
        self.children.push((label.to_string(), child));
        Ok(pid)
    }

    /// Kill the process started with `label` (SIGKILL, like `kill -9`).
    pub fn kill(&mut self, label: &str) {
        self.children.retain_mut(|(name, child)| {
            if name == label {
                let _ = child.kill();
                let _ = child.wait();
                false
            } else {
                true
            }
        });
    }

    /// The log of the process started with `label`.
    pub fn log(&self, label: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{label}.log"))).unwrap_or_default()
    }

    /// Write a file in the lab directory; returns its path.
    pub fn write_file(&self, name: &str, contents: &str) -> Result<PathBuf, LabError> {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).map_err(|source| LabError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            // SIGTERM first so daemons clean up their sockets; then make sure.
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        for (_, child) in &mut self.children {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in self.hosts.drain(..).rev() {
            // Kill anything else still inside, then delete the namespace.
            if let Ok(pids) = run(&["ip", "netns", "pids", &ns]) {
                for pid in pids
                    .split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok())
                {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
            let _ = run(&["ip", "netns", "del", &ns]);
        }
        if std::env::var_os("REFLEX_KEEP_LAB").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Host {
    /// Run a command inside the host; its standard output.
    pub fn run(&self, args: &[&str]) -> Result<String, LabError> {
        let mut full = vec!["ip", "netns", "exec", &self.ns];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Add an address to an interface of this host.
    pub fn add_address(&self, ifname: &str, addr: &str) -> Result<(), LabError> {
        let mut args = vec!["ip"];
        if addr.contains(':') {
            args.push("-6");
        }
        args.extend(["addr", "add", addr, "dev", ifname]);
        if addr.contains(':') {
            args.push("nodad");
        }
        self.run(&args).map(|_| ())
    }

    /// Run `f` on a new thread inside this host's network namespace and wait
    /// for its result. Sockets it creates (and threads it starts, such as a
    /// tokio runtime's workers) stay in the namespace.
    pub fn enter<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, LabError> {
        self.spawn_thread(f)?.join().map_err(|_| LabError::Enter {
            name: self.ns.clone(),
            reason: "the thread panicked".into(),
        })
    }

    /// Like [`Host::enter`] but returns at once with the thread's handle.
    pub fn spawn_thread<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<std::thread::JoinHandle<T>, LabError> {
        let path = format!("/var/run/netns/{}", self.ns);
        let file = File::open(&path).map_err(|e| LabError::Enter {
            name: self.ns.clone(),
            reason: e.to_string(),
        })?;
        let name = self.ns.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || {
            let entered = setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| e.to_string());
            let failed = entered.is_err();
            let _ = ready_tx.send(entered);
            // Never run `f` outside the namespace; the caller has the error.
            assert!(!failed, "could not enter the namespace");
            f()
        });
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(handle),
            Ok(Err(reason)) => Err(LabError::Enter { name, reason }),
            Err(_) => Err(LabError::Enter {
                name,
                reason: "the thread ended before entering".into(),
            }),
        }
    }

    /// Poll `check` every 50 ms until it returns `Some`, or time out.
    pub fn wait_for<T>(
        timeout: Duration,
        what: &str,
        mut check: impl FnMut() -> Option<T>,
    ) -> Result<T, LabError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = check() {
                return Ok(value);
            }
            if Instant::now() >= deadline {
                return Err(LabError::Timeout(timeout, what.to_string()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn trim(name: &str) -> String {
    name.chars().take(8).collect()
}

/// Delete `rx<pid>n...` namespaces whose creating process is gone.
fn remove_stale_namespaces() {
    let Ok(list) = run(&["ip", "netns", "list"]) else {
        return;
    };
    for line in list.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix("rx") else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let Ok(pid) = pid.parse::<i32>() else {
            continue;
        };
        let alive = Path::new(&format!("/proc/{pid}")).exists();
        if !alive {
            let _ = run(&["ip", "netns", "del", name]);
        }
    }
}
