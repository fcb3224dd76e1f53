//! Workloads: namespaces wired by the `calico` CNI plugin, called the way a
//! container runtime calls it (the `CNI_*` variables and the network
//! configuration on standard input), and the traffic checks between them.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reflex_testlab::Host;
use serde_json::Value;

use crate::error::SceneError;

/// One workload: its namespace, the node it runs on, and its address.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The workload's namespace.
    pub host: Host,
    /// The node's namespace (where the plugin runs and the host-side veth lives).
    pub node: Host,
    /// The container id given to the plugin.
    pub container_id: String,
    /// The IPv4 address IPAM gave it.
    pub ip: IpAddr,
}

/// The network name of the `.conflist` at `path`.
pub fn network_name(path: &Path) -> Result<String, SceneError> {
    let list = read_list(path)?;
    list["name"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| SceneError::Check(format!("{} has no name", path.display())))
}

fn read_list(path: &Path) -> Result<Value, SceneError> {
    let text = std::fs::read_to_string(path).map_err(|source| SceneError::Spawn {
        command: format!("read {}", path.display()),
        source,
    })?;
    serde_json::from_str(&text)
        .map_err(|e| SceneError::Check(format!("{} is not JSON: {e}", path.display())))
}

/// The plugin configuration for one node: the first plugin of the
/// `.conflist` at `path`, with the list's `name` and `cniVersion` (as a
/// runtime passes them), `etcd_endpoints` set for the lab, and
/// `nodename_file` pointing at the file the node's `bgp-client` wrote
/// (`/var/lib/calico/nodename` on a real node; the lab's nodes share one
/// filesystem, so each has its own file).
pub fn plugin_config(path: &Path, etcd: &str, nodename_file: &Path) -> Result<String, SceneError> {
    let list = read_list(path)?;
    let mut plugin = list["plugins"][0].clone();
    if !plugin.is_object() {
        return Err(SceneError::Check(format!(
            "{} has no plugins[0]",
            path.display()
        )));
    }
    plugin["name"] = list["name"].clone();
    plugin["cniVersion"] = list["cniVersion"].clone();
    plugin["etcd_endpoints"] = Value::String(etcd.to_string());
    plugin["nodename_file"] = Value::String(nodename_file.display().to_string());
    Ok(plugin.to_string())
}

/// Runs the `calico` plugin in `node` with `command` (ADD, DEL, CHECK) for
/// the container `container_id` whose namespace is `netns`; its standard
/// output (the result JSON for ADD).
pub fn cni(
    plugin_dir: &Path,
    node: &Host,
    command: &str,
    container_id: &str,
    netns: &Host,
    config: &str,
) -> Result<String, SceneError> {
    let plugin = plugin_dir.join("calico");
    let line = format!(
        "CNI_COMMAND={command} calico ({container_id} on {})",
        node.name
    );
    let mut child = Command::new("ip")
        .args(["netns", "exec", &node.ns])
        .arg(&plugin)
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", container_id)
        .env("CNI_NETNS", format!("/var/run/netns/{}", netns.ns))
        .env("CNI_IFNAME", "eth0")
        .env("CNI_PATH", plugin_dir)
        .env("CNI_ARGS", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| SceneError::Spawn {
            command: line.clone(),
            source,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(config.as_bytes())
            .map_err(|source| SceneError::Spawn {
                command: line.clone(),
                source,
            })?;
    }
    let output = child
        .wait_with_output()
        .map_err(|source| SceneError::Spawn {
            command: line.clone(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(SceneError::Command {
            command: line,
            status: output.status.to_string(),
            output: format!("{stdout}{}", String::from_utf8_lossy(&output.stderr)),
        });
    }
    Ok(stdout)
}

/// The first IPv4 address of an ADD result (any CNI result version).
pub fn first_ipv4(result: &str) -> Option<IpAddr> {
    let value: Value = serde_json::from_str(result).ok()?;
    let mut candidates = Vec::new();
    for ip in value["ips"].as_array().into_iter().flatten() {
        candidates.extend(ip["address"].as_str());
    }
    candidates.extend(value["ip4"]["ip"].as_str());
    candidates
        .into_iter()
        .filter_map(|cidr| cidr.split('/').next()?.parse::<IpAddr>().ok())
        .find(IpAddr::is_ipv4)
}

/// Does one ping from `from` to `to` get an answer within a second?
pub fn ping(from: &Host, to: IpAddr) -> bool {
    ping_within(from, to, "1")
}

/// When the first answer came to pings sent from `from` to `to` every
/// 2 ms for up to `seconds`: the wall-clock time printed by `ping -D`.
/// For measuring when a path starts to work to within a few milliseconds.
pub fn first_reply(from: &Host, to: IpAddr, seconds: u32) -> Option<SystemTime> {
    let deadline = seconds.to_string();
    let out = from
        .run(&[
            "ping",
            "-D",
            "-n",
            "-i",
            "0.002",
            "-c",
            "1",
            "-w",
            &deadline,
            &to.to_string(),
        ])
        .ok()?;
    let line = out.lines().find(|l| l.contains(" bytes from "))?;
    let stamp = line.strip_prefix('[')?.split(']').next()?;
    let seconds: f64 = stamp.parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_secs_f64(seconds))
}

fn ping_within(from: &Host, to: IpAddr, seconds: &str) -> bool {
    from.run(&["ping", "-c1", "-W", seconds, &to.to_string()])
        .map(|out| out.contains(" 0% packet loss"))
        .unwrap_or(false)
}

/// TCP servers in a workload, greeting every connection with its port.
/// They stop when this is dropped.
pub struct Servers {
    stop: Arc<AtomicBool>,
}

impl Servers {
    /// Listens on `ports` on every address of `host`.
    pub fn start(host: &Host, ports: &[u16]) -> Result<Servers, SceneError> {
        let stop = Arc::new(AtomicBool::new(false));
        for &port in ports {
            let listener = host
                .enter(move || TcpListener::bind(("0.0.0.0", port)))?
                .map_err(|source| SceneError::Spawn {
                    command: format!("listen on port {port} in {}", host.name),
                    source,
                })?;
            listener
                .set_nonblocking(true)
                .map_err(|source| SceneError::Spawn {
                    command: format!("listen on port {port}"),
                    source,
                })?;
            let stop = stop.clone();
            std::thread::spawn(move || serve(listener, port, &stop));
        }
        Ok(Servers { stop })
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(listener: TcpListener, port: u16, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((mut stream, _)) => {
                let _ = stream.write_all(format!("port {port}\n").as_bytes());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Does a TCP connection from `from` to `to:port` open and get the greeting?
pub fn tcp_works(from: &Host, to: IpAddr, port: u16) -> bool {
    let addr = SocketAddr::new(to, port);
    from.enter(move || {
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(700)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(700)));
        let mut greeting = String::new();
        let _ = stream.read_to_string(&mut greeting);
        greeting == format!("port {port}\n")
    })
    .unwrap_or(false)
}
