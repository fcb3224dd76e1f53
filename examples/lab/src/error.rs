//! What can stop the scene.

use std::path::PathBuf;
use std::time::Duration;

use reflex_testlab::LabError;

/// Why the scene stopped.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    /// Creating namespaces, links or processes failed.
    #[error(transparent)]
    Lab(#[from] LabError),
    /// A program the scene needs is not in the binary directory.
    #[error("{0} is missing (build it: cargo build --bins, or pass --bin-dir)")]
    MissingBinary(PathBuf),
    /// A command ran but failed.
    #[error("{command} failed (exit {status}): {output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed (stdout and stderr).
        output: String,
    },
    /// A command could not be started at all.
    #[error("cannot run {command}: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The CNI plugin answered with something that is not its result.
    #[error("unexpected CNI result from {workload}: {detail}")]
    CniResult {
        /// The workload.
        workload: String,
        /// What was wrong.
        detail: String,
    },
    /// Talking to etcd failed.
    #[error("etcd: {0}")]
    Etcd(String),
    /// A check of the scene did not hold.
    #[error("check failed: {0}")]
    Check(String),
    /// A state was not reached in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
}
