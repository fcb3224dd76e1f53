//! Running `nft`: applying a table in one transaction, reading it back,
//! deleting it, and repairing drift.
//!
//! Only the table Reflex owns is ever named; `nft -f` applies a whole
//! file as one transaction (`nft_netlink` batches it between
//! `NFNL_MSG_BATCH_BEGIN` and `END`), so a failure changes nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::felix::acl::{Ruleset, Update, listing_blocks};

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

/// Keeps the kernel's table equal to a [`Ruleset`]. A new ruleset is
/// applied as the difference from the last one ([`Ruleset::update_script`]:
/// only changed chains, sets and maps, in one transaction), or whole when
/// that does not fit or fails. Right after, the touched blocks are listed
/// and kept; an unchanged ruleset is checked by listing the table and
/// comparing every block with what was kept, and re-applied whole on any
/// difference.
#[derive(Debug, Default)]
pub struct TableSync {
    nft: Nft,
    applied: Option<Applied>,
}

#[derive(Debug)]
struct Applied {
    ruleset: Ruleset,
    blocks: BTreeMap<String, String>,
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

    async fn full(&mut self, ruleset: &Ruleset) -> Result<(), NftError> {
        self.nft.apply(&ruleset.script()).await?;
        let listing = self
            .nft
            .list_table(&ruleset.table)
            .await?
            .unwrap_or_default();
        self.applied = Some(Applied {
            ruleset: ruleset.clone(),
            blocks: listing_blocks(&listing),
        });
        Ok(())
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
        match self.applied.take() {
            Some(applied) if applied.ruleset == *ruleset => {
                let now = self.nft.list_table(&ruleset.table).await?;
                if now.is_some_and(|now| listing_blocks(&now) == applied.blocks) {
                    self.applied = Some(applied);
                    return Ok(TableOutcome::Unchanged);
                }
                tracing::warn!(table = %ruleset.table, "nftables table changed outside Reflex: re-applied");
                self.full(ruleset).await?;
                Ok(TableOutcome::Repaired)
            }
            Some(applied) => {
                if let Some(update) = ruleset.update_script(&applied.ruleset) {
                    match self.incremental(ruleset, applied, &update).await {
                        Ok(()) => return Ok(TableOutcome::Applied),
                        Err(e) => {
                            tracing::warn!(error = %e, "incremental nftables update failed: replacing the table");
                        }
                    }
                }
                self.full(ruleset).await?;
                Ok(TableOutcome::Applied)
            }
            None => {
                self.full(ruleset).await?;
                Ok(TableOutcome::Applied)
            }
        }
    }

    async fn incremental(
        &mut self,
        ruleset: &Ruleset,
        mut applied: Applied,
        update: &Update,
    ) -> Result<(), NftError> {
        if !update.script.is_empty() {
            self.nft.apply(&update.script).await?;
        }
        for key in &update.deleted {
            applied.blocks.remove(key);
        }
        if update.changed.len() > 32 {
            // Many blocks: one listing of the table is cheaper.
            let listing = self
                .nft
                .list_table(&ruleset.table)
                .await?
                .unwrap_or_default();
            applied.blocks = listing_blocks(&listing);
        } else {
            // One `nft list` per block: several list commands in one
            // `nft -f` share one cache filter (nft 1.0.6), so they fail.
            for key in &update.changed {
                let (kind, name) = key.split_once(' ').unwrap_or((key, ""));
                let listing = self
                    .nft
                    .run(&["list", kind, "inet", &ruleset.table, name], None)
                    .await?;
                applied.blocks.extend(listing_blocks(&listing));
            }
        }
        applied.ruleset = ruleset.clone();
        self.applied = Some(applied);
        Ok(())
    }

    /// Delete the table and forget it.
    pub async fn remove(&mut self, table: &str) -> Result<(), NftError> {
        self.applied = None;
        self.nft.delete_table(table).await
    }
}
