//! FRR's `bgpd`, run standalone (no zebra), and `vtysh`.

use std::path::PathBuf;
use std::time::Duration;

use crate::netns::{Host, Lab, LabError};

/// A running FRR bgpd in a lab host.
#[derive(Debug, Clone)]
pub struct Frr {
    /// The host it runs in.
    pub host: Host,
    /// Directory of its vty socket.
    pub vty_dir: PathBuf,
    /// The label of its process in the lab.
    pub label: String,
}

/// Where Debian installs the FRR daemons.
pub const FRR_BGPD: &str = "/usr/lib/frr/bgpd";

impl Frr {
    /// Write `config` (frr.conf syntax) and start bgpd in `host` without
    /// zebra; waits until vtysh answers.
    pub fn start(lab: &mut Lab, host: &Host, config: &str) -> Result<Frr, LabError> {
        let label = format!("frr-{}", host.name);
        let conf = lab.write_file(&format!("{label}.conf"), config)?;
        let vty_dir = lab.dir().join(format!("{label}-vty"));
        std::fs::create_dir_all(&vty_dir).map_err(|source| LabError::Write {
            path: vty_dir.clone(),
            source,
        })?;
        let conf_s = conf.to_string_lossy().into_owned();
        let vty_s = vty_dir.to_string_lossy().into_owned();
        let pid = lab.dir().join(format!("{label}.pid"));
        let pid_s = pid.to_string_lossy().into_owned();
        lab.spawn(
            host,
            &label,
            &[
                FRR_BGPD,
                "-f",
                &conf_s,
                "-Z",
                "-S",
                "--vty_socket",
                &vty_s,
                "-i",
                &pid_s,
                "-P",
                "0",
            ],
        )?;
        let frr = Frr {
            host: host.clone(),
            vty_dir,
            label,
        };
        Host::wait_for(Duration::from_secs(15), "vtysh to answer", || {
            frr.query("show bgp summary").ok()
        })?;
        Ok(frr)
    }

    /// Run one vtysh command; its output.
    pub fn query(&self, command: &str) -> Result<String, LabError> {
        let vty = self.vty_dir.to_string_lossy().into_owned();
        self.host
            .run(&["vtysh", "--vty_socket", &vty, "-d", "bgpd", "-c", command])
    }

    /// A vtysh command's JSON output.
    pub fn query_json(&self, command: &str) -> Result<serde_json::Value, LabError> {
        let out = self.query(command)?;
        Ok(serde_json::from_str(&out).unwrap_or(serde_json::Value::Null))
    }
}
