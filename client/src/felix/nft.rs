//! Running `nft`: applying a table in one transaction, reading it back,
//! deleting it, and repairing drift.
//!
//! Only the table Reflex owns is ever named; `nft -f` applies a whole
//! file as one transaction (`nft_netlink` batches it between
//! `NFNL_MSG_BATCH_BEGIN` and `END`), so a failure changes nothing.
//! Incremental changes skip `nft` and go to the kernel as one such batch
//! directly ([`crate::felix::nfnl`]), unless [`Nft::netlink`] is off or a
//! rule is outside the grammar that module translates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::felix::acl::{Ruleset, Update, listing_blocks};
use crate::felix::nfnl::{self, NfnlError};

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
    /// The kernel refused an nf_tables netlink batch (or could not be
    /// reached).
    #[error(transparent)]
    Netlink(#[from] NfnlError),
}

/// The `nft` program, and whether incremental changes bypass it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nft {
    /// Path or name of `nft`.
    pub program: PathBuf,
    /// Send incremental changes as nf_tables netlink batches
    /// ([`crate::felix::nfnl`]) instead of running `nft -f` (on by default).
    pub netlink: bool,
}

impl Default for Nft {
    fn default() -> Self {
        Nft {
            program: PathBuf::from("nft"),
            netlink: true,
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

/// Keeps the kernel's table equal to a [`Ruleset`].
///
/// A new ruleset is applied as the difference from the last one
/// ([`Ruleset::update_script`]: only changed chains, sets and maps, in one
/// `nft -f -` transaction), or whole when that does not fit or fails; in
/// both cases nothing is read back then, so a change costs one `nft` run.
/// The blocks it wrote are marked unverified. [`TableSync::verify`] (the
/// reconcile, and Felix shortly after a burst of changes) lists the table
/// once: every block checked before must be exactly as listed then, every
/// unverified chain must hold as many rules as the ruleset gives it and
/// every block of the ruleset must be there (and no other); then the
/// listing becomes the reference. On any difference the whole table is
/// applied again ([`TableOutcome::Repaired`]).
#[derive(Debug, Default)]
pub struct TableSync {
    nft: Nft,
    applied: Option<Applied>,
    /// Incremental changes applied through netlink, and through `nft`.
    batches: (u64, u64),
    /// The next netlink sequence number.
    seq: u32,
    /// The nfnetlink socket, opened at the first change and kept (closing
    /// one waits for the kernel to free the last transaction's garbage).
    socket: Option<nfnl::NfnlSocket>,
}

#[derive(Debug)]
struct Applied {
    /// Shared with the caller: a change costs no copy of the table.
    ruleset: Arc<Ruleset>,
    /// The listing of each block when last verified.
    blocks: BTreeMap<String, String>,
    /// Blocks written since (`chain X`, `set X`, `map X`).
    unverified: BTreeSet<String>,
}

impl Applied {
    fn new(ruleset: &Arc<Ruleset>) -> Self {
        Applied {
            ruleset: ruleset.clone(),
            blocks: BTreeMap::new(),
            unverified: block_keys(ruleset).collect(),
        }
    }
}

/// The listing keys of every block of `ruleset`.
fn block_keys(ruleset: &Ruleset) -> impl Iterator<Item = String> + '_ {
    ruleset
        .sets
        .iter()
        .map(|s| format!("set {}", s.name))
        .chain(ruleset.maps.iter().map(|m| format!("map {}", m.name)))
        .chain(ruleset.chains.iter().map(|c| format!("chain {}", c.name)))
}

/// The rules of a listed chain block (its lines inside the braces but a
/// base chain's `type` line).
fn listed_rules(block: &str) -> usize {
    block
        .lines()
        .filter(|l| l.starts_with("\t\t") && !l.trim_start().starts_with("type "))
        .count()
}

/// How a listing differs from what was applied, or `None` when it holds.
fn drift(applied: &Applied, listed: &BTreeMap<String, String>) -> Option<String> {
    let expected = block_keys(&applied.ruleset).count();
    if listed.len() != expected {
        return Some(format!("{} blocks instead of {expected}", listed.len()));
    }
    for chain in &applied.ruleset.chains {
        let key = format!("chain {}", chain.name);
        let Some(text) = listed.get(&key) else {
            return Some(format!("{key} is missing"));
        };
        if applied.unverified.contains(&key) {
            if listed_rules(text) != chain.rules.len() {
                return Some(format!(
                    "{key} has {} rules instead of {}",
                    listed_rules(text),
                    chain.rules.len()
                ));
            }
        } else if applied.blocks.get(&key) != Some(text) {
            return Some(format!("{key} was changed"));
        }
    }
    for key in block_keys(&applied.ruleset).filter(|k| !k.starts_with("chain ")) {
        match listed.get(&key) {
            None => return Some(format!("{key} is missing")),
            Some(_) if applied.unverified.contains(&key) => {}
            Some(text) if applied.blocks.get(&key) != Some(text) => {
                return Some(format!("{key} was changed"));
            }
            Some(_) => {}
        }
    }
    None
}

impl TableSync {
    /// A syncer using `nft`.
    pub fn new(nft: Nft) -> Self {
        TableSync {
            nft,
            applied: None,
            batches: (0, 0),
            seq: 1,
            socket: None,
        }
    }

    /// How many incremental changes went to the kernel as netlink batches,
    /// and how many through `nft -f`.
    pub fn incremental_counts(&self) -> (u64, u64) {
        self.batches
    }

    /// The `nft` it runs.
    pub fn nft(&self) -> &Nft {
        &self.nft
    }

    /// Whether blocks were written since the last [`TableSync::verify`].
    pub fn has_unverified(&self) -> bool {
        self.applied
            .as_ref()
            .is_some_and(|a| !a.unverified.is_empty())
    }

    async fn full(&mut self, ruleset: &Arc<Ruleset>) -> Result<(), NftError> {
        self.applied = None;
        self.nft.apply(&ruleset.script()).await?;
        self.applied = Some(Applied::new(ruleset));
        Ok(())
    }

    /// Make the kernel's table `ruleset` (or absent when it polices no
    /// endpoint). An unchanged ruleset is [`TableSync::verify`]d.
    pub async fn sync(&mut self, ruleset: &Arc<Ruleset>) -> Result<TableOutcome, NftError> {
        self.sync_with(ruleset, true).await
    }

    /// [`TableSync::sync`], but an unchanged ruleset is only verified when
    /// `verify` (the change path leaves that to the reconcile).
    pub async fn sync_with(
        &mut self,
        ruleset: &Arc<Ruleset>,
        verify: bool,
    ) -> Result<TableOutcome, NftError> {
        if ruleset.endpoints == 0 {
            let had = self.applied.take().is_some();
            if !had && !verify {
                return Ok(TableOutcome::Absent);
            }
            return if self.nft.list_table(&ruleset.table).await?.is_some() {
                self.nft.delete_table(&ruleset.table).await?;
                Ok(TableOutcome::Removed)
            } else {
                Ok(TableOutcome::Absent)
            };
        }
        match self.applied.take() {
            Some(applied) if Arc::ptr_eq(&applied.ruleset, ruleset) => {
                self.applied = Some(applied);
                self.unchanged(verify).await
            }
            Some(mut applied) => {
                // No deep comparison first: an empty difference is "unchanged"
                // (the rulesets may still differ in warnings).
                match ruleset.update_script(&applied.ruleset) {
                    Some(update) if update.is_empty() => {
                        applied.ruleset = ruleset.clone();
                        self.applied = Some(applied);
                        return self.unchanged(verify).await;
                    }
                    Some(update) => match self.incremental(ruleset, applied, &update).await {
                        Ok(()) => return Ok(TableOutcome::Applied),
                        Err(e) => {
                            tracing::warn!(error = %e, "incremental nftables update failed: replacing the table");
                        }
                    },
                    None => {}
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

    async fn unchanged(&mut self, verify: bool) -> Result<TableOutcome, NftError> {
        if verify {
            self.verify().await
        } else {
            Ok(TableOutcome::Unchanged)
        }
    }

    /// List the table once and compare it with what was applied (see the
    /// type's documentation); re-apply it whole on any difference.
    pub async fn verify(&mut self) -> Result<TableOutcome, NftError> {
        let Some(mut applied) = self.applied.take() else {
            return Ok(TableOutcome::Absent);
        };
        let table = applied.ruleset.table.clone();
        let listed = self
            .nft
            .list_table(&table)
            .await?
            .map(|text| listing_blocks(&text));
        let why = match &listed {
            None => Some("the table is gone".to_string()),
            Some(listed) => drift(&applied, listed),
        };
        match (why, listed) {
            (None, Some(listed)) => {
                applied.blocks = listed;
                applied.unverified.clear();
                self.applied = Some(applied);
                Ok(TableOutcome::Unchanged)
            }
            (why, _) => {
                tracing::warn!(%table, reason = %why.unwrap_or_default(), "nftables table changed outside Reflex: re-applied");
                let ruleset = applied.ruleset;
                self.full(&ruleset).await?;
                Ok(TableOutcome::Repaired)
            }
        }
    }

    async fn incremental(
        &mut self,
        ruleset: &Arc<Ruleset>,
        mut applied: Applied,
        update: &Update,
    ) -> Result<(), NftError> {
        self.apply_update(update).await?;
        for key in &update.deleted {
            applied.blocks.remove(key);
            applied.unverified.remove(key);
        }
        for key in &update.changed {
            applied.blocks.remove(key);
            applied.unverified.insert(key.clone());
        }
        applied.ruleset = ruleset.clone();
        self.applied = Some(applied);
        Ok(())
    }

    /// One incremental change: a netlink batch when every rule translates,
    /// else `nft -f`.
    async fn apply_update(&mut self, update: &Update) -> Result<(), NftError> {
        if self.nft.netlink {
            match nfnl::encode(update, self.seq) {
                Ok(batch) if batch.len() <= nfnl::MAX_BATCH => {
                    self.seq = self.seq.wrapping_add(batch.messages() as u32 + 2);
                    let mut socket = match self.socket.take() {
                        Some(socket) => socket,
                        None => nfnl::NfnlSocket::open()?,
                    };
                    // A failed socket is not kept: the next change opens another.
                    socket.send(&batch)?;
                    self.socket = Some(socket);
                    self.batches.0 += 1;
                    return Ok(());
                }
                Ok(batch) => {
                    tracing::debug!(
                        bytes = batch.len(),
                        "felix change too large for one netlink batch: applied with nft"
                    );
                }
                Err(why) => {
                    tracing::debug!(%why, "felix change applied with nft instead of netlink");
                }
            }
        }
        self.nft.apply(&update.script()).await?;
        self.batches.1 += 1;
        Ok(())
    }

    /// Delete the table and forget it.
    pub async fn remove(&mut self, table: &str) -> Result<(), NftError> {
        self.applied = None;
        self.nft.delete_table(table).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::felix::acl::Chain;
    use crate::felix::acl::Stage;

    fn ruleset(rules: usize) -> Ruleset {
        Ruleset {
            table: "t".into(),
            chains: vec![
                Arc::new(Chain {
                    name: "forward".into(),
                    stage: Stage::Base,
                    hook: Some("forward"),
                    rules: vec!["jump x".into()],
                }),
                Arc::new(Chain {
                    name: "x".into(),
                    stage: Stage::Policy,
                    hook: None,
                    rules: (0..rules)
                        .map(|i| format!("tcp dport {i} accept"))
                        .collect(),
                }),
            ],
            endpoints: 1,
            ..Ruleset::default()
        }
    }

    const LISTING: &str = "table inet t {\n\tchain x {\n\t\ttcp dport 0 accept\n\t\ttcp dport 1 accept\n\t}\n\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tjump x\n\t}\n}\n";

    #[test]
    fn unverified_chains_are_checked_by_their_rule_count() {
        let applied = Applied::new(&Arc::new(ruleset(2)));
        let listed = listing_blocks(LISTING);
        assert_eq!(drift(&applied, &listed), None);
        let short = LISTING.replace("\t\ttcp dport 1 accept\n", "");
        assert_eq!(
            drift(&applied, &listing_blocks(&short)).as_deref(),
            Some("chain x has 1 rules instead of 2")
        );
        let other = LISTING.replace("chain forward", "chain other");
        assert!(drift(&applied, &listing_blocks(&other)).is_some());
    }

    #[test]
    fn verified_blocks_must_be_unchanged() {
        let mut applied = Applied::new(&Arc::new(ruleset(2)));
        applied.blocks = listing_blocks(LISTING);
        applied.unverified.clear();
        assert_eq!(drift(&applied, &listing_blocks(LISTING)), None);
        let edited = LISTING.replace("dport 1 accept", "dport 1 drop");
        assert_eq!(
            drift(&applied, &listing_blocks(&edited)).as_deref(),
            Some("chain x was changed")
        );
    }
}
