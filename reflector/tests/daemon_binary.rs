//! The `bgp-reflector run` binary: it starts from the embedded default with
//! nothing else installed, reloads on SIGHUP, and exits 0 on SIGTERM and
//! SIGINT.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bgp_reflector::api::types::Neighbor;
use bgp_reflector::client;

/// A running daemon, killed if the test fails midway.
struct Running {
    child: Child,
    api: SocketAddr,
    log: mpsc::Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `bgp-reflector run ARGS --api 127.0.0.1:0 --log-format json` and
/// read the API address from the "started" log line.
fn start(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bgp-reflector"))
        .arg("run")
        .args(args)
        .args([
            "--api",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--log-level",
            "info",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, log) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut running = Running {
        child,
        api: SocketAddr::from(([0, 0, 0, 0], 0)),
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let Ok(line) = running.log.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        let event: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
        if event["message"] == "bgp-reflector started" {
            running.api = event["api"].as_str().unwrap().parse().unwrap();
            return running;
        }
    }
    panic!("the daemon did not start");
}

/// The rest of the log, up to the end of the process's standard error.
fn rest_of_log(running: &Running) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(line) = running.log.recv_timeout(Duration::from_secs(5)) {
        lines.push(line);
    }
    lines
}

fn signal(running: &Running, name: &str) {
    let pid = running.child.id().to_string();
    let status = Command::new("kill").args([name, &pid]).status().unwrap();
    assert!(status.success());
}

fn wait_exit(running: &mut Running) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(status) = running.child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the daemon did not exit");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_embedded_default_starts_and_sigterm_exits_0() {
    let mut running = start(&["--listen", "127.0.72.1:11281", "--router-id", "192.0.2.77"]);
    let summary: bgp_reflector::api::types::Summary = runtime()
        .block_on(client::get(running.api, "/api/v1/summary"))
        .unwrap();
    assert_eq!(summary.asn, 64512);
    assert_eq!(summary.router_id.to_string(), "192.0.2.77");
    assert_eq!(summary.config, "<embedded default.toml>");
    signal(&running, "-TERM");
    let status = wait_exit(&mut running);
    assert_eq!(status.code(), Some(0));
    let log = rest_of_log(&running);
    assert!(
        log.iter().any(|l| l.contains("SIGTERM received")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("\"message\":\"stopped\"")),
        "{log:?}"
    );
}

#[test]
fn sighup_reloads_the_file_and_sigint_exits_0() {
    let path = std::env::temp_dir().join(format!("reflex-hup-{}.toml", std::process::id()));
    let neighbor = |last: u8| {
        format!("[[neighbor]]\naddress = \"127.0.72.{last}\"\nasn = 64512\npassive = true\n")
    };
    std::fs::write(&path, neighbor(2)).unwrap();
    let config = path.display().to_string();
    let mut running = start(&[
        "--config",
        &config,
        "--listen",
        "127.0.72.1:11282",
        "--router-id",
        "127.0.72.1",
    ]);
    let rt = runtime();
    let addresses = |api| -> Vec<String> {
        let list: Vec<Neighbor> = rt.block_on(client::get(api, "/api/v1/neighbors")).unwrap();
        list.iter().map(|n| n.address.to_string()).collect()
    };
    assert_eq!(addresses(running.api), ["127.0.72.2"]);
    std::fs::write(&path, format!("{}\n{}", neighbor(2), neighbor(3))).unwrap();
    signal(&running, "-HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while addresses(running.api).len() < 2 {
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(addresses(running.api), ["127.0.72.2", "127.0.72.3"]);
    signal(&running, "-INT");
    assert_eq!(wait_exit(&mut running).code(), Some(0));
    std::fs::remove_file(&path).unwrap();
}
