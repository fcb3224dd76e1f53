//! The per-kind task of the syncer: list, watch from the listed revision, and
//! start over (after a backoff) whenever the watch ends.

use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::mpsc;

use super::SyncerConfig;
use crate::backoff::Backoff;
use crate::error::DatastoreError;
use crate::model::Kind;
use crate::store::{Datastore, Listing, WatchEvent};

/// What a kind task tells the syncer.
#[allow(clippy::large_enum_variant)] // as `WatchEvent`: events are the common case
#[derive(Debug)]
pub(super) enum Msg {
    /// A full list of the kind: replace what the snapshot has of it (by diff).
    Listed(Kind, Listing),
    /// A change.
    Event(WatchEvent),
    /// The kind is in sync up to a revision.
    Up(Kind, i64),
    /// The kind lost the datastore.
    Down(Kind, String),
}

/// Follows one kind until the syncer goes away.
pub(super) async fn follow<D: Datastore>(
    store: Arc<D>,
    kind: Kind,
    config: SyncerConfig,
    tx: mpsc::Sender<Msg>,
) {
    let mut backoff = Backoff::new(config.initial_backoff, config.max_backoff);
    loop {
        let pause = match round(&*store, kind, &tx, &mut backoff).await {
            Ok(pause) => pause,
            Err(Gone) => return,
        };
        if pause {
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }
}

/// The syncer is gone.
struct Gone;

/// One list-and-watch round. Returns whether to wait before the next one.
async fn round<D: Datastore>(
    store: &D,
    kind: Kind,
    tx: &mpsc::Sender<Msg>,
    backoff: &mut Backoff,
) -> Result<bool, Gone> {
    let send = |m: Msg| async move { tx.send(m).await.map_err(|_| Gone) };
    let mut stream = match store.list_and_watch(kind).await {
        Ok((listing, stream)) => {
            send(Msg::Listed(kind, listing)).await?;
            stream
        }
        // Compacted between the list and the watch: relist at once.
        Err(DatastoreError::Compacted { .. }) => return Ok(false),
        Err(e) => {
            send(Msg::Down(kind, e.to_string())).await?;
            return Ok(true);
        }
    };
    while let Some(item) = stream.next().await {
        match item {
            Ok(WatchEvent::InSync { revision }) => {
                backoff.reset();
                send(Msg::Up(kind, revision)).await?;
            }
            Ok(WatchEvent::Disconnected { error }) => send(Msg::Down(kind, error)).await?,
            Ok(event) => send(Msg::Event(event)).await?,
            Err(DatastoreError::Compacted { .. }) => return Ok(false),
            Err(e) => {
                send(Msg::Down(kind, e.to_string())).await?;
                return Ok(true);
            }
        }
    }
    // The stream ended without an error: relist, after a pause so a store that
    // keeps ending streams cannot make us spin.
    Ok(true)
}
