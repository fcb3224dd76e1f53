//! Running `nft`: applying a table in one transaction, reading it back,
//! deleting it, and repairing drift.
//!
//! Only the table Reflex owns is ever named; `nft -f` applies a whole
//! file as one transaction (`nft_netlink` batches it between
//! `NFNL_MSG_BATCH_BEGIN` and `END`), so a failure changes nothing.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::felix::acl::Ruleset;

/// A failed `nft` run.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    /// `nft` could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// `nft` refused.
    #[error("nft {args} failed: {stderr}")]
    Failed {
        /// Its arguments.
        args: String,
        /// Its standard error.
        stderr: String,
    },
}

/// The `nft` program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nft {
    /// Path or name of `nft`.
    pub program: PathBuf,
}

impl Default for Nft {
    fn default() -> Self {
        Nft {
            program: PathBuf::from("nft"),
        }
    }
}

impl Nft {
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String, NftError> {
        let spawn = |source| NftError::Spawn {
            program: self.program.display().to_string(),
            source,
        };
        let mut child = Command::new(&self.program)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn)?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).await.map_err(spawn)?;
            drop(pipe);
        }
        let output = child.wait_with_output().await.map_err(spawn)?;
        if !output.status.success() {
            return Err(NftError::Failed {
                args: args.join(" "),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Apply a script (`nft -f -`): one transaction.
    pub async fn apply(&self, script: &str) -> Result<(), NftError> {
        self.run(&["-f", "-"], Some(script)).await.map(|_| ())
    }

    /// `nft list table inet TABLE`, or `None` when there is no such table.
    pub async fn list_table(&self, table: &str) -> Result<Option<String>, NftError> {
        match self.run(&["list", "table", "inet", table], None).await {
            Ok(text) => Ok(Some(text)),
            Err(NftError::Failed { stderr, .. })
                if stderr.contains("No such file or directory") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Delete `inet TABLE` if it exists (one transaction).
    pub async fn delete_table(&self, table: &str) -> Result<(), NftError> {
        self.apply(&format!(
            "table inet {table} {{}}\ndelete table inet {table}\n"
        ))
        .await
    }
}

/// What a [`TableSync::sync`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableOutcome {
    /// A new or changed ruleset was applied.
    Applied,
    /// The kernel's table was what was last applied: nothing written.
    Unchanged,
    /// The kernel's table differed from what was applied (someone changed
    /// it): the ruleset was applied again.
    Repaired,
    /// No endpoint left: the table was deleted.
    Removed,
    /// No endpoint and no table: nothing to do.
    Absent,
}

/// Keeps the kernel's table equal to a [`Ruleset`]: applies it when it
/// changes, and otherwise compares `nft list table` with the listing taken
/// right after the last apply, re-applying on any difference.
#[derive(Debug, Default)]
pub struct TableSync {
    nft: Nft,
    applied: Option<(String, String)>,
}

impl TableSync {
    /// A syncer using `nft`.
    pub fn new(nft: Nft) -> Self {
        TableSync { nft, applied: None }
    }

    /// The `nft` it runs.
    pub fn nft(&self) -> &Nft {
        &self.nft
    }

    /// Make the kernel's table `ruleset` (or absent when it polices no
    /// endpoint).
    pub async fn sync(&mut self, ruleset: &Ruleset) -> Result<TableOutcome, NftError> {
        if ruleset.endpoints == 0 {
            self.applied = None;
            return if self.nft.list_table(&ruleset.table).await?.is_some() {
                self.nft.delete_table(&ruleset.table).await?;
                Ok(TableOutcome::Removed)
            } else {
                Ok(TableOutcome::Absent)
            };
        }
        let script = ruleset.script();
        let outcome = match &self.applied {
            Some((applied, listing)) if *applied == script => {
                let now = self.nft.list_table(&ruleset.table).await?;
                if now.as_deref() == Some(listing.as_str()) {
                    return Ok(TableOutcome::Unchanged);
                }
                tracing::warn!(table = %ruleset.table, "nftables table changed outside Reflex: re-applied");
                TableOutcome::Repaired
            }
            _ => TableOutcome::Applied,
        };
        self.applied = None;
        self.nft.apply(&script).await?;
        let listing = self
            .nft
            .list_table(&ruleset.table)
            .await?
            .unwrap_or_default();
        self.applied = Some((script, listing));
        Ok(outcome)
    }

    /// Delete the table and forget it.
    pub async fn remove(&mut self, table: &str) -> Result<(), NftError> {
        self.applied = None;
        self.nft.delete_table(table).await
    }
}
