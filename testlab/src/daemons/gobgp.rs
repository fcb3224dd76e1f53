//! GoBGP (`gobgpd`, `gobgp`).

use std::time::Duration;

use crate::netns::{Host, Lab, LabError};

/// A running gobgpd in a lab host.
#[derive(Debug, Clone)]
pub struct Gobgp {
    /// The host it runs in.
    pub host: Host,
    /// Its gRPC API port on the host's loopback.
    pub api_port: u16,
    /// The label of its process in the lab.
    pub label: String,
}

impl Gobgp {
    /// Write `config` (TOML) and start gobgpd in `host`, its API on
    /// 127.0.0.1:`api_port` inside the host; waits until `gobgp` answers.
    pub fn start(
        lab: &mut Lab,
        host: &Host,
        config: &str,
        api_port: u16,
    ) -> Result<Gobgp, LabError> {
        let label = format!("gobgpd-{}", host.name);
        let conf = lab.write_file(&format!("{label}.toml"), config)?;
        let conf_s = conf.to_string_lossy().into_owned();
        let api = format!("127.0.0.1:{api_port}");
        lab.spawn(
            host,
            &label,
            &[
                "gobgpd",
                "-t",
                "toml",
                "-f",
                &conf_s,
                "--api-hosts",
                &api,
                "--log-level",
                "info",
            ],
        )?;
        let gobgp = Gobgp {
            host: host.clone(),
            api_port,
            label,
        };
        Host::wait_for(Duration::from_secs(10), "gobgp to answer", || {
            gobgp.query(&["global"]).ok()
        })?;
        Ok(gobgp)
    }

    /// Run one `gobgp` CLI command (arguments after `gobgp -p PORT`).
    pub fn query(&self, args: &[&str]) -> Result<String, LabError> {
        let port = self.api_port.to_string();
        let mut full = vec!["gobgp", "-u", "127.0.0.1", "-p", &port];
        full.extend_from_slice(args);
        self.host.run(&full)
    }

    /// The global RIB of `family` ("ipv4" or "ipv6") as JSON.
    pub fn rib_json(&self, family: &str) -> Result<serde_json::Value, LabError> {
        let out = self.query(&["global", "rib", "-a", family, "-j"])?;
        Ok(serde_json::from_str(&out).unwrap_or(serde_json::Value::Null))
    }

    /// Is the neighbour at `address` established?
    pub fn established(&self, address: &str) -> bool {
        self.query(&["neighbor", address])
            .map(|out| out.to_lowercase().contains("bgp state = established"))
            .unwrap_or(false)
    }
}
