//! The container's network namespace: opened from `CNI_NETNS` (a bind mount
//! under `/var/run/netns/` or `/proc/<pid>/ns/net`), and entered by a
//! dedicated thread with `setns(2)`, so the plugin's own threads stay in the
//! host namespace. A netlink socket opened on that thread works in the
//! container's namespace.

use std::fs::File;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sched::{CloneFlags, setns};

use super::DataplaneError;

/// An open network namespace.
#[derive(Debug)]
pub struct NetNs {
    file: File,
    path: PathBuf,
}

impl NetNs {
    /// Opens the namespace file. A missing file is [`DataplaneError::NetnsGone`].
    pub fn open(path: &Path) -> Result<NetNs, DataplaneError> {
        match File::open(path) {
            Ok(file) => Ok(NetNs {
                file,
                path: path.to_path_buf(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(DataplaneError::NetnsGone(path.to_path_buf()))
            }
            Err(source) => Err(DataplaneError::NetnsOpen {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The path it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The descriptor, for `IFLA_NET_NS_FD` (moving a link into it).
    pub fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// Runs `f` on a new thread that has joined this namespace, with its own
    /// single-threaded tokio runtime (for a netlink connection opened there),
    /// and returns what it returns.
    pub fn run<T, F, Fut>(&self, f: F) -> Result<T, DataplaneError>
    where
        T: Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<T, DataplaneError>>,
    {
        let file = self
            .file
            .try_clone()
            .map_err(|source| DataplaneError::NetnsOpen {
                path: self.path.clone(),
                source,
            })?;
        let path = self.path.clone();
        let thread = std::thread::Builder::new()
            .name("cni-netns".into())
            .spawn(move || {
                setns(&file, CloneFlags::CLONE_NEWNET).map_err(|errno| DataplaneError::Setns {
                    path: path.clone(),
                    errno,
                })?;
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(DataplaneError::Runtime)?;
                runtime.block_on(f())
            })
            .map_err(DataplaneError::Runtime)?;
        thread.join().map_err(|_| DataplaneError::ThreadPanicked)?
    }
}
