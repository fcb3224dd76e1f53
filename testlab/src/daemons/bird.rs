//! BIRD 2 (`bird`, `birdc`).

use std::path::PathBuf;
use std::time::Duration;

use crate::netns::{Host, Lab, LabError};

/// A running BIRD in a lab host.
#[derive(Debug, Clone)]
pub struct Bird {
    /// The host it runs in.
    pub host: Host,
    /// Its control socket.
    pub socket: PathBuf,
    /// The label of its process in the lab (for [`Lab::kill`] and [`Lab::log`]).
    pub label: String,
}

impl Bird {
    /// Write `config` and start `bird -f` in `host`; waits until `birdc`
    /// answers.
    pub fn start(lab: &mut Lab, host: &Host, config: &str) -> Result<Bird, LabError> {
        let label = format!("bird-{}", host.name);
        let conf = lab.write_file(&format!("{label}.conf"), config)?;
        let socket = lab.dir().join(format!("{label}.ctl"));
        let conf_s = conf.to_string_lossy().into_owned();
        let socket_s = socket.to_string_lossy().into_owned();
        lab.spawn(
            host,
            &label,
            &["bird", "-f", "-c", &conf_s, "-s", &socket_s],
        )?;
        let bird = Bird {
            host: host.clone(),
            socket,
            label,
        };
        Host::wait_for(Duration::from_secs(10), "birdc to answer", || {
            bird.query("show status").ok()
        })?;
        Ok(bird)
    }

    /// Run one `birdc` command; its output.
    pub fn query(&self, command: &str) -> Result<String, LabError> {
        let socket = self.socket.to_string_lossy().into_owned();
        let mut args = vec!["birdc", "-s", &socket];
        args.extend(command.split_whitespace());
        self.host.run(&args)
    }

    /// Is protocol `name` in state Established?
    pub fn established(&self, name: &str) -> bool {
        self.query(&format!("show protocols {name}"))
            .map(|out| out.contains("Established"))
            .unwrap_or(false)
    }
}

impl Bird {
    /// Every route in BIRD's tables (`show route all`), parsed.
    pub fn routes(&self) -> Vec<BirdRoute> {
        parse_routes(&self.query("show route all").unwrap_or_default())
    }
}

/// One route of BIRD 2's `show route all`: its prefix, the protocol it came
/// from, and its lines (header and attributes).
#[derive(Debug, Clone)]
pub struct BirdRoute {
    /// The prefix.
    pub prefix: String,
    /// The protocol (`[name ...]` of the header line).
    pub protocol: String,
    /// The header line and the attribute lines.
    pub text: String,
}

impl BirdRoute {
    /// The value of attribute `name` (`BGP.next_hop`, ...), if shown.
    pub fn attr(&self, name: &str) -> Option<String> {
        let key = format!("{name}:");
        self.text.lines().find_map(|line| {
            line.trim()
                .strip_prefix(&key)
                .map(|value| value.trim().to_string())
        })
    }

    /// ORIGINATOR_ID.
    pub fn originator_id(&self) -> Option<String> {
        self.attr("BGP.originator_id")
    }

    /// CLUSTER_LIST, in order.
    pub fn cluster_list(&self) -> Vec<String> {
        self.attr("BGP.cluster_list")
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// The (global) next hop.
    pub fn next_hop(&self) -> Option<String> {
        self.attr("BGP.next_hop")
            .and_then(|v| v.split_whitespace().next().map(str::to_string))
    }
}

/// Parse BIRD 2's `show route all` output.
pub fn parse_routes(output: &str) -> Vec<BirdRoute> {
    let mut routes: Vec<BirdRoute> = Vec::new();
    let mut prefix = String::new();
    for line in output.lines() {
        if line.trim().is_empty() || line.starts_with("BIRD ") || line.starts_with("Table ") {
            continue;
        }
        if line.starts_with('\t') {
            if let Some(route) = routes.last_mut() {
                route.text.push('\n');
                route.text.push_str(line.trim());
            }
            continue;
        }
        if !line.starts_with(' ') {
            prefix = line
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
        let protocol = line
            .split('[')
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default()
            .trim_end_matches(']')
            .to_string();
        routes.push(BirdRoute {
            prefix: prefix.clone(),
            protocol,
            text: line.trim().to_string(),
        });
    }
    routes
}
