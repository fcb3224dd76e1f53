//! The reflectors under test: configuration writers and launchers.
//!
//! Every reflector gets the same job: AS 64512, router ID and cluster ID
//! 10.50.255.254, the loadgen and all K clients as passive iBGP
//! route-reflector clients, IPv4 unicast, no ADD-PATH, otherwise the
//! daemon's defaults. Each runs in the reflector namespace under
//! `taskset -c CPU` so that it and every thread it starts stay on its core.
//!
//! - ours: `bgp-reflector run` with one `[[dynamic]]` range of clients;
//! - BIRD 2: one `protocol bgp` per session from a template with `rr client`
//!   (and a static route so its recursive next hops resolve);
//! - GoBGP: one `[[neighbors]]` per session with `route-reflector-client`;
//! - FRR: bgpd without zebra (`-Z`), a peer-group with
//!   `route-reflector-client` and each session as a member;
//! - ideal: `rr-bench ideal-serve` (see [`crate::ideal`]).

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::ValueEnum;
use reflex_testlab::daemons::frr::FRR_BGPD;
use serde::{Deserialize, Serialize};

use crate::bgp::ASN;
use crate::topology::{GATEWAY, LOADGEN, REFLECTOR, SESSIONS_RANGE, Topology};

/// A reflector implementation.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Reflector {
    /// Reflex's `bgp-reflector`.
    Ours,
    /// BIRD 2.
    Bird,
    /// GoBGP's gobgpd.
    Gobgp,
    /// FRR's bgpd.
    Frr,
    /// The ideal replay reflector.
    Ideal,
}

impl Reflector {
    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Reflector::Ours => "ours",
            Reflector::Bird => "bird",
            Reflector::Gobgp => "gobgp",
            Reflector::Frr => "frr",
            Reflector::Ideal => "ideal",
        }
    }
}

/// Where the programs are.
#[derive(Debug, Clone)]
pub struct Programs {
    /// `bgp-reflector`.
    pub ours: PathBuf,
    /// This harness (for `ideal-serve`).
    pub harness: PathBuf,
    /// A command to run `bgp-reflector` under (e.g. `valgrind --tool=massif`).
    pub ours_wrapper: Vec<String>,
}

/// A started reflector.
#[derive(Debug, Clone)]
pub struct Running {
    /// Its process id (the daemon itself: `ip netns exec` and `taskset` exec).
    pub pid: u32,
    /// Its label in the lab (its log is `<label>.log`).
    pub label: String,
}

/// Every session the reflector must accept: the loadgen, then the clients.
fn sessions(clients: &[Ipv4Addr]) -> impl Iterator<Item = Ipv4Addr> + '_ {
    std::iter::once(LOADGEN).chain(clients.iter().copied())
}

/// `bgp-reflector` configuration.
pub fn ours_config() -> String {
    format!(
        r#"# rr-bench: Reflex as a route reflector for the harness sessions.
[global]
asn = {ASN}
router_id = "{REFLECTOR}"
cluster_id = "{REFLECTOR}"
listen = ["{REFLECTOR}"]
port = 179

[api]
listen = "127.0.0.1:8179"

[logging]
format = "text"
level = "info"

[[template]]
name = "bench-client"
client = true
families = ["ipv4-unicast"]

[[dynamic]]
prefix = "{SESSIONS_RANGE}"
template = "bench-client"
asn = {ASN}
max_peers = 60000
"#
    )
}

/// BIRD 2 configuration.
pub fn bird_config(clients: &[Ipv4Addr]) -> String {
    let mut out = format!(
        r#"# rr-bench: BIRD 2 as a route reflector for the harness sessions.
log stderr {{ info, remote, warning, error, auth, fatal, bug }};
router id {REFLECTOR};

protocol device {{ }}

# iBGP next hops are resolved recursively in master4: give them a route.
protocol static {{
  ipv4;
  route {SESSIONS_RANGE} via {GATEWAY};
}}

template bgp rrclient {{
  local {REFLECTOR} as {ASN};
  rr client;
  rr cluster id {REFLECTOR};
  passive on;
  ipv4 {{
    import all;
    export where source = RTS_BGP;
  }};
}}
"#
    );
    for (i, addr) in sessions(clients).enumerate() {
        let _ = writeln!(
            out,
            "protocol bgp s{i} from rrclient {{ neighbor {addr} as {ASN}; }}"
        );
    }
    out
}

/// GoBGP configuration (TOML).
pub fn gobgp_config(clients: &[Ipv4Addr]) -> String {
    let mut out = format!(
        r#"# rr-bench: GoBGP as a route reflector for the harness sessions.
[global.config]
  as = {ASN}
  router-id = "{REFLECTOR}"
  port = 179
  local-address-list = ["{REFLECTOR}"]
"#
    );
    for addr in sessions(clients) {
        let _ = write!(
            out,
            r#"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{addr}"
    peer-as = {ASN}
  [neighbors.transport.config]
    passive-mode = true
    local-address = "{REFLECTOR}"
  [neighbors.route-reflector.config]
    route-reflector-client = true
    route-reflector-cluster-id = "{REFLECTOR}"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
"#
        );
    }
    out
}

/// FRR configuration (frr.conf syntax).
pub fn frr_config(clients: &[Ipv4Addr]) -> String {
    let mut out = format!(
        r#"! rr-bench: FRR bgpd as a route reflector for the harness sessions.
frr defaults traditional
hostname reflector
log stdout informational
!
router bgp {ASN}
 bgp router-id {REFLECTOR}
 bgp cluster-id {REFLECTOR}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor CLIENTS peer-group
 neighbor CLIENTS remote-as {ASN}
 neighbor CLIENTS passive
"#
    );
    for addr in sessions(clients) {
        let _ = writeln!(out, " neighbor {addr} peer-group CLIENTS");
    }
    out.push_str(
        " !\n address-family ipv4 unicast\n  neighbor CLIENTS activate\n  neighbor CLIENTS route-reflector-client\n exit-address-family\nexit\n",
    );
    out
}

/// Write the configuration of `which` and start it pinned to `cpu`; waits
/// until it listens on port 179.
pub fn start(
    topo: &mut Topology,
    which: Reflector,
    cpu: Option<usize>,
    programs: &Programs,
) -> Result<Running, String> {
    let dir = topo.lab.dir().to_path_buf();
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let write = |name: &str, text: &str| -> Result<String, String> {
        topo.lab
            .write_file(name, text)
            .map(|p| p.to_string_lossy().into_owned())
            .map_err(|e| e.to_string())
    };
    let clients = topo.clients.clone();
    let ours = programs.ours.to_string_lossy().into_owned();
    let harness = programs.harness.to_string_lossy().into_owned();
    let args: Vec<String> = match which {
        Reflector::Ours => {
            let conf = write("ours.toml", &ours_config())?;
            check_ours(&programs.ours, &conf)?;
            let mut v = programs.ours_wrapper.clone();
            v.extend([ours, "run".into(), "--config".into(), conf]);
            v
        }
        Reflector::Bird => {
            let conf = write("bird.conf", &bird_config(&clients))?;
            vec![
                "bird".into(),
                "-f".into(),
                "-c".into(),
                conf,
                "-s".into(),
                path("bird.ctl"),
            ]
        }
        Reflector::Gobgp => {
            let conf = write("gobgpd.toml", &gobgp_config(&clients))?;
            let args = "-t toml --api-hosts 127.0.0.1:50051 --pprof-disable -p --log-level info";
            let mut v = vec!["gobgpd".to_string(), "-f".into(), conf];
            v.extend(args.split(' ').map(String::from));
            v
        }
        Reflector::Frr => {
            let conf = write("frr.conf", &frr_config(&clients))?;
            let vty = path("frr-vty");
            std::fs::create_dir_all(&vty).map_err(|e| format!("{vty}: {e}"))?;
            vec![
                FRR_BGPD.into(),
                "-f".into(),
                conf,
                "-Z".into(),
                "-S".into(),
                "--vty_socket".into(),
                vty,
                "-i".into(),
                path("frr.pid"),
                "-P".into(),
                "0".into(),
            ]
        }
        Reflector::Ideal => vec![
            harness,
            "ideal-serve".into(),
            "--listen".into(),
            format!("{REFLECTOR}:179"),
            "--loadgen".into(),
            LOADGEN.to_string(),
            "--id".into(),
            REFLECTOR.to_string(),
        ],
    };
    let mut full: Vec<String> = Vec::new();
    if let Some(cpu) = cpu {
        full.extend(["taskset".into(), "-c".into(), cpu.to_string()]);
    }
    full.extend(args);
    let refs: Vec<&str> = full.iter().map(String::as_str).collect();
    let label = which.name().to_string();
    let reflector = topo.reflector.clone();
    let pid = topo
        .lab
        .spawn(&reflector, &label, &refs)
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if !alive(pid) {
            return Err(format!(
                "{label} exited at start: {}",
                tail(&topo.lab.log(&label), 20)
            ));
        }
        if topo.reflector_listening() {
            return Ok(Running { pid, label });
        }
        if Instant::now() >= deadline {
            return Err(format!("{label} not listening on port 179 after 60 s"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Run `bgp-reflector check` on the configuration.
fn check_ours(program: &Path, conf: &str) -> Result<(), String> {
    let out = std::process::Command::new(program)
        .args(["check", "--config", conf])
        .output()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "bgp-reflector check rejected the configuration: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Is `pid` running (not gone, not a zombie)?
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rfind(')')
                .and_then(|i| s[i + 1..].split_whitespace().next())
                .is_some_and(|state| state != "Z" && state != "X")
        })
        .unwrap_or(false)
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// One line naming the version of each daemon.
pub fn versions(programs: &Programs) -> Vec<(String, String)> {
    let first_line = |cmd: &str, args: &[&str]| -> String {
        std::process::Command::new(cmd)
            .args(args)
            .output()
            .map(|o| {
                let text = if o.stdout.is_empty() {
                    o.stderr
                } else {
                    o.stdout
                };
                String::from_utf8_lossy(&text)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string()
            })
            .unwrap_or_else(|e| format!("unavailable: {e}"))
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.to_string_lossy();
    let tree = first_line("git", &["-C", &root, "describe", "--always", "--dirty"]);
    let sum = first_line("sha256sum", &[&programs.ours.to_string_lossy()]);
    let sum = sum
        .split_whitespace()
        .next()
        .unwrap_or("")
        .get(..16)
        .unwrap_or("");
    vec![
        (
            "ours".into(),
            format!(
                "{} (workspace at {tree}, binary sha256 {sum}..., {})",
                first_line(&programs.ours.to_string_lossy(), &["--version"]),
                crate::hot_symbols::coverage(&programs.ours, Path::new(root.as_ref()))
            ),
        ),
        ("bird".into(), first_line("bird", &["--version"])),
        ("gobgp".into(), first_line("gobgpd", &["--version"])),
        ("frr".into(), first_line(FRR_BGPD, &["--version"])),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::client_address;

    fn clients(k: usize) -> Vec<Ipv4Addr> {
        (0..k).map(client_address).collect()
    }

    #[test]
    fn every_session_is_a_route_reflector_client() {
        let c = clients(3);
        let bird = bird_config(&c);
        assert_eq!(bird.matches("from rrclient").count(), 4);
        assert!(bird.contains("neighbor 10.50.0.1 as 64512"));
        assert!(bird.contains("rr client;"));
        let gobgp = gobgp_config(&c);
        assert_eq!(gobgp.matches("route-reflector-client = true").count(), 4);
        assert!(gobgp.contains(r#"neighbor-address = "10.50.0.4""#));
        let frr = frr_config(&c);
        assert_eq!(frr.matches("peer-group CLIENTS").count(), 4);
        assert!(frr.contains("neighbor CLIENTS route-reflector-client"));
        let ours = ours_config();
        assert!(ours.contains("client = true"));
        assert!(ours.contains(r#"prefix = "10.50.0.0/16""#));
    }
}
