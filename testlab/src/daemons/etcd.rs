//! A single-member etcd server in a lab host, for tests of the datastore
//! mode: data in the lab directory, the peer port on the host's loopback.

use std::time::{Duration, Instant};

use crate::netns::{Host, Lab, LabError};

/// How long a start may take on a loaded 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts `etcd` in `host` serving clients on `client_url` (such as
/// `http://10.0.0.100:2379`), as the lab process `etcd` (its log is
/// `lab.log("etcd")`), with its data in `<lab dir>/etcd-data`: starting it
/// again after [`Lab::kill`] keeps the data. Returns the process id once
/// etcd serves clients.
pub fn start(lab: &mut Lab, host: &Host, client_url: &str) -> Result<u32, LabError> {
    let data = lab.dir().join("etcd-data");
    let args = [
        "etcd".to_string(),
        "--name=lab".into(),
        format!("--data-dir={}", data.display()),
        format!("--listen-client-urls={client_url}"),
        format!("--advertise-client-urls={client_url}"),
        "--listen-peer-urls=http://127.0.0.1:2380".into(),
        "--initial-advertise-peer-urls=http://127.0.0.1:2380".into(),
        "--initial-cluster=lab=http://127.0.0.1:2380".into(),
        "--logger=zap".into(),
        "--log-outputs=stderr".into(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let pid = lab.spawn(host, "etcd", &args)?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let log = lab.log("etcd");
        if log.contains("serving client traffic") || log.contains("ready to serve client requests")
        {
            return Ok(pid);
        }
        if Instant::now() >= deadline {
            return Err(LabError::Timeout(
                START_TIMEOUT,
                format!("etcd to serve clients; its log:\n{log}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
