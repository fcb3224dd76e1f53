//! Test support (feature `test-util`): a real etcd (Debian's `etcd-server`,
//! binary `etcd`) on loopback ports with a temporary data directory, killed on
//! drop.
//!
//! When `etcd` is not installed, [`EtcdServer::start`] returns `None` after a
//! notice, so tests skip, unless `CI` or `REFLEX_REQUIRE_TOOLS=1` is set: then it
//! panics, so a missing tool cannot pass for a green run.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::store::etcd::{EtcdConfig, EtcdTls};

/// TLS files for the server side.
#[derive(Clone, Debug)]
pub struct ServerTls {
    /// The server's certificate (PEM), valid for `127.0.0.1` and `localhost`.
    pub cert: PathBuf,
    /// The server's key (PEM).
    pub key: PathBuf,
    /// When set, clients must present a certificate signed by this CA.
    pub client_ca: Option<PathBuf>,
}

/// A running etcd.
#[derive(Debug)]
pub struct EtcdServer {
    child: Option<Child>,
    dir: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
    tls: Option<ServerTls>,
}

/// Whether missing tools fail the test instead of skipping it.
pub fn tools_required() -> bool {
    std::env::var_os("CI").is_some()
        || std::env::var("REFLEX_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

fn etcd_installed() -> bool {
    Command::new("etcd")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

impl EtcdServer {
    /// Starts a plain-HTTP etcd, or returns `None` (after a notice) when etcd is
    /// not installed and tools are not required.
    pub fn start() -> Option<EtcdServer> {
        EtcdServer::start_with(None)
    }

    /// Starts an etcd serving clients over TLS.
    pub fn start_with(tls: Option<ServerTls>) -> Option<EtcdServer> {
        if !etcd_installed() {
            if tools_required() {
                panic!(
                    "etcd is not installed (Debian package etcd-server) and CI or REFLEX_REQUIRE_TOOLS=1 is set"
                );
            }
            // Straight to the stderr handle: libtest captures `eprintln!` of passing tests.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "NOTICE: etcd is not installed (apt-get install etcd-server): skipping this test"
            );
            return None;
        }
        let mut server = EtcdServer {
            child: None,
            dir: tempfile::tempdir().expect("temporary directory"),
            client_port: free_port(),
            peer_port: free_port(),
            tls,
        };
        server.spawn();
        Some(server)
    }

    /// The client URL.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    /// Connection settings for this server (no TLS client settings), with short
    /// retry delays for tests.
    pub fn config(&self) -> EtcdConfig {
        let mut c = EtcdConfig::new([self.endpoint()]);
        c.retry_backoff = (Duration::from_millis(50), Duration::from_millis(500));
        c.connect_timeout = Duration::from_secs(2);
        c.request_timeout = Duration::from_secs(5);
        c
    }

    /// Settings with TLS trusting `ca` and presenting a client certificate.
    pub fn tls_config(&self, ca: &Path, client: Option<(&Path, &Path)>) -> EtcdConfig {
        let mut c = self.config();
        c.tls = Some(EtcdTls {
            ca_file: Some(ca.to_path_buf()),
            cert_file: client.map(|(cert, _)| cert.to_path_buf()),
            key_file: client.map(|(_, key)| key.to_path_buf()),
            domain_name: Some("localhost".to_string()),
        });
        c
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Kills etcd (SIGKILL) and waits for it to exit. The data stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts etcd again on the same ports and data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let log_path = self.dir.path().join("etcd.log");
        let log = File::create(&log_path).expect("etcd log file");
        let mut cmd = Command::new("etcd");
        cmd.arg("--name=reflex-test")
            .arg(format!("--data-dir={}", self.data_dir().display()))
            .arg(format!("--listen-client-urls={}", self.endpoint()))
            .arg(format!("--advertise-client-urls={}", self.endpoint()))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=reflex-test={peer}"))
            .arg("--logger=zap")
            .arg("--log-outputs=stderr")
            .arg("--log-level=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(tls) = &self.tls {
            cmd.arg(format!("--cert-file={}", tls.cert.display()))
                .arg(format!("--key-file={}", tls.key.display()));
            if let Some(ca) = &tls.client_ca {
                cmd.arg("--client-cert-auth")
                    .arg(format!("--trusted-ca-file={}", ca.display()));
            }
        }
        self.child = Some(cmd.spawn().expect("starting etcd"));
        // etcd (3.4, zap logger) logs "serving client traffic [in]securely" once it
        // serves clients; older loggers say "ready to serve client requests".
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            if text.contains("serving client traffic")
                || text.contains("ready to serve client requests")
            {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("etcd exited ({status}) before serving:\n{text}");
            }
            if Instant::now() > deadline {
                panic!("etcd did not become ready within 20 s:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.kill();
    }
}
