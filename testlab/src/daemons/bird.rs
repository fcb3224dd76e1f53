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
