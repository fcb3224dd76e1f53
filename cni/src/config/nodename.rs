//! The node name, chosen as Calico's `DetermineNodename` does: the
//! `nodename` key, else the nodename file (`nodename_file`, by default
//! `/var/lib/calico/nodename`, written by the node agent), else the
//! deprecated `hostname` key, else the OS host name in lower case.
//!
//! Like Calico's plugin, the nodename file must exist unless
//! `nodename_file_optional` is true, even when `nodename` is set: its
//! presence is the sign that the node agent has started.

use std::path::PathBuf;

use super::{ConfigError, DEFAULT_NODENAME_FILE};

/// The keys involved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodenameKeys {
    /// `nodename`.
    pub nodename: Option<String>,
    /// `nodename_file`.
    pub nodename_file: Option<PathBuf>,
    /// `nodename_file_optional`.
    pub nodename_file_optional: bool,
    /// `hostname` (deprecated).
    pub hostname: Option<String>,
}

/// The OS host name (`/proc/sys/kernel/hostname`, of this UTS namespace), in
/// lower case as Calico's `names.Hostname` gives it.
pub fn os_hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
}

/// The node name, or why there is none.
pub fn determine(
    keys: &NodenameKeys,
    hostname: impl Fn() -> Option<String>,
) -> Result<String, ConfigError> {
    let file = keys
        .nodename_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_NODENAME_FILE));
    let from_file = match std::fs::read_to_string(&file) {
        Ok(text) => Some(text.trim().to_string()).filter(|s| !s.is_empty()),
        Err(e) if keys.nodename_file_optional => {
            tracing::debug!(file = %file.display(), error = %e, "no nodename file");
            None
        }
        Err(e) => {
            return Err(ConfigError::NodenameFile {
                path: file,
                reason: e.to_string(),
            });
        }
    };
    keys.nodename
        .clone()
        .or(from_file)
        .or_else(|| keys.hostname.clone())
        .or_else(hostname)
        .ok_or_else(|| ConfigError::InvalidKey {
            key: "nodename".into(),
            reason: "no node name: set nodename or write the nodename file".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_wins_then_the_file_then_hostname_then_the_os() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nodename");
        std::fs::write(&file, "node-from-file\n").unwrap();
        let os = || Some("os-host".to_string());
        let mut keys = NodenameKeys {
            nodename: Some("node-key".into()),
            nodename_file: Some(file.clone()),
            nodename_file_optional: false,
            hostname: Some("old-key".into()),
        };
        assert_eq!(determine(&keys, os).unwrap(), "node-key");
        keys.nodename = None;
        assert_eq!(determine(&keys, os).unwrap(), "node-from-file");
        keys.nodename_file = Some(dir.path().join("absent"));
        keys.nodename_file_optional = true;
        assert_eq!(determine(&keys, os).unwrap(), "old-key");
        keys.hostname = None;
        assert_eq!(determine(&keys, os).unwrap(), "os-host");
    }

    #[test]
    fn a_missing_file_is_an_error_unless_optional() {
        let dir = tempfile::tempdir().unwrap();
        let keys = NodenameKeys {
            nodename: Some("n".into()),
            nodename_file: Some(dir.path().join("absent")),
            ..NodenameKeys::default()
        };
        let e = determine(&keys, || None).unwrap_err();
        assert!(matches!(e, ConfigError::NodenameFile { .. }), "{e}");
        assert!(e.to_string().contains("absent"), "{e}");
    }
}
