//! The programs the scene runs, all from one directory (cargo's
//! `target/<profile>`, or wherever they were installed).

use std::path::{Path, PathBuf};

use crate::error::SceneError;

/// The scene's programs.
#[derive(Debug, Clone)]
pub struct Bins {
    /// `bgp-reflector`.
    pub reflector: PathBuf,
    /// `bgp-client`.
    pub client: PathBuf,
    /// The directory holding the CNI plugins `calico` and `calico-ipam`
    /// (the runtime's `CNI_PATH`).
    pub cni_dir: PathBuf,
}

/// The binaries the scene needs, by file name.
pub const NAMES: [&str; 4] = ["bgp-reflector", "bgp-client", "calico", "calico-ipam"];

impl Bins {
    /// The programs in `dir`; an error names the first one missing.
    pub fn in_dir(dir: &Path) -> Result<Bins, SceneError> {
        for name in NAMES {
            let path = dir.join(name);
            if !path.is_file() {
                return Err(SceneError::MissingBinary(path));
            }
        }
        Ok(Bins {
            reflector: dir.join("bgp-reflector"),
            client: dir.join("bgp-client"),
            cni_dir: dir.to_path_buf(),
        })
    }

    /// The directory of the running program: where cargo puts the other
    /// binaries of the workspace too.
    pub fn beside_self() -> Option<PathBuf> {
        std::env::current_exe()
            .ok()?
            .parent()
            .map(Path::to_path_buf)
    }
}
