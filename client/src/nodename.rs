//! The node-name file for the CNI plugin.
//!
//! Calico's `calico` CNI plugin learns which node it runs on from
//! `/var/lib/calico/nodename` (its `nodename_file`), which Calico's node
//! agent writes when it starts; the plugin refuses to run while the file
//! is missing, so that a workload is never registered under a name the
//! node agent does not use. `bgp-client` plays that agent's part: at start
//! it writes `[node] name` to `[node] nodename_file`, by default
//! [`DEFAULT_NODENAME_FILE`] when `[felix]` runs (a node with workloads);
//! an empty path turns it off. The file stays after a stop, as Calico's
//! does: the name does not change.

use std::path::{Path, PathBuf};

use crate::config::ConfigFile;

/// Where Calico's node agent writes the node name.
pub const DEFAULT_NODENAME_FILE: &str = "/var/lib/calico/nodename";

/// The file to write for `file`: `[node] nodename_file` (none when empty),
/// else the default when `[felix]` runs, else none.
pub fn path(file: &ConfigFile) -> Option<PathBuf> {
    match &file.node.nodename_file {
        Some(path) if path.as_os_str().is_empty() => None,
        Some(path) => Some(path.clone()),
        None => crate::config::felix::section(file).map(|_| PathBuf::from(DEFAULT_NODENAME_FILE)),
    }
}

/// Writes `node` to `path` (creating its directory), replacing the file
/// in one rename so the plugin never reads half a name.
pub fn write(path: &Path, node: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, node)?;
    std::fs::rename(&temporary, path)
}

/// Writes the file `file` asks for, logging the outcome; a failure is a
/// warning (the CNI plugin will say the file is missing).
pub fn write_for_daemon(file: &ConfigFile, node: &str) {
    let Some(path) = path(file) else {
        return;
    };
    match write(&path, node) {
        Ok(()) => {
            tracing::info!(path = %path.display(), %node, "node name written for the CNI plugin")
        }
        Err(error) => tracing::warn!(
            path = %path.display(),
            %error,
            "cannot write the node name for the CNI plugin"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ConfigFile {
        toml::from_str(text).expect("a valid file")
    }

    const NODE: &str = "[node]\nname = \"n1\"\nasn = 64512\nipv4 = \"10.0.0.1\"\n";

    #[test]
    fn written_by_default_only_for_a_node_with_felix() {
        assert_eq!(path(&parse(NODE)), None);
        let felix = format!("{NODE}[felix]\nsource = \"file\"\nfile = \"w.yaml\"\n");
        assert_eq!(
            path(&parse(&felix)),
            Some(PathBuf::from(DEFAULT_NODENAME_FILE))
        );
    }

    #[test]
    fn the_configured_path_wins_and_empty_turns_it_off() {
        let custom = NODE.replace("[node]\n", "[node]\nnodename_file = \"/run/x/nodename\"\n");
        assert_eq!(
            path(&parse(&custom)),
            Some(PathBuf::from("/run/x/nodename"))
        );
        let off = format!(
            "{}[felix]\nsource = \"file\"\nfile = \"w.yaml\"\n",
            NODE.replace("[node]\n", "[node]\nnodename_file = \"\"\n")
        );
        assert_eq!(path(&parse(&off)), None);
    }

    #[test]
    fn write_creates_the_directory_and_replaces_the_name() {
        let dir = std::env::temp_dir().join(format!("reflex-nodename-{}", std::process::id()));
        let file = dir.join("var/lib/calico/nodename");
        write(&file, "node-a").unwrap();
        write(&file, "node-b").unwrap();
        let written = std::fs::read_to_string(&file).unwrap();
        let leftover = dir.join("var/lib/calico/nodename.tmp").exists();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(written, "node-b");
        assert!(!leftover);
    }
}
