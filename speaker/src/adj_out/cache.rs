//! Per-group caches: the export transform of each (attribute set, source,
//! family), and the encoded attribute block of each exported set.
//!
//! Both are keyed by the address of an interned [`Attrs`] and hold a
//! [`Weak`] to it: the allocation cannot be reused while the weak reference
//! lives, so an address seen in the map always means the same set, and the
//! cache never keeps a set alive (the interner can collect it). Entries
//! whose set is gone are swept when a map has doubled since the last sweep,
//! or on [`super::AdjOut::collect_garbage`].

use bytes::Bytes;
use std::sync::{Arc, Weak};

use bgp_proto::EncodeCtx;
use bgp_proto::iana::AfiSafi;

use crate::attrs::{Attrs, PathAttrs};

use super::encode;
use super::export::{NotExported, Source};
use rustc_hash::FxHashMap;

/// Smallest map size at which sweeping starts.
const FIRST_SWEEP: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct TransformKey {
    attrs: usize,
    source: Source,
    family: AfiSafi,
}

/// The cached outcome for one (attribute set, source, family).
#[derive(Debug)]
pub(crate) struct Transformed {
    source: Weak<PathAttrs>,
    /// After the export rules, before the policy.
    pub rules: Result<Attrs, NotExported>,
    /// After the policy too, when the policy does not depend on the prefix
    /// (filled on first use).
    pub exported: Option<Result<Attrs, NotExported>>,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct TransformCache {
    map: FxHashMap<TransformKey, Transformed>,
    sweep_at: usize,
}

impl TransformCache {
    /// The entry of `attrs` from `source` for `family`, computing the rules
    /// with `rules` on first sight.
    pub fn entry(
        &mut self,
        attrs: &Attrs,
        source: Source,
        family: AfiSafi,
        rules: impl FnOnce() -> Result<Attrs, NotExported>,
    ) -> &mut Transformed {
        let key = TransformKey {
            attrs: Arc::as_ptr(attrs) as usize,
            source,
            family,
        };
        self.map.entry(key).or_insert_with(|| Transformed {
            source: Arc::downgrade(attrs),
            rules: rules(),
            exported: None,
        })
    }

    /// Entries cached.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Drop the entries of sets that no longer exist; returns how many.
    pub fn sweep(&mut self) -> usize {
        let before = self.map.len();
        self.map.retain(|_, entry| entry.source.strong_count() > 0);
        self.sweep_at = (self.map.len() * 2).max(FIRST_SWEEP);
        before - self.map.len()
    }

    /// Sweep if the map has doubled since the last sweep.
    pub fn maybe_sweep(&mut self) {
        if self.map.len() > self.sweep_at.max(FIRST_SWEEP) {
            self.sweep();
        }
    }
}

#[derive(Debug)]
struct Block {
    attrs: Weak<PathAttrs>,
    /// `None`: too large for any message with a prefix.
    bytes: Option<Bytes>,
}

/// Encoded attribute blocks, one per exported set and family.
#[derive(Debug, Default)]
pub(crate) struct BlockCache {
    map: FxHashMap<(usize, AfiSafi), Block>,
    sweep_at: usize,
    encoded: u64,
}

impl BlockCache {
    /// The attribute block of `attrs` for `family`, encoded on first use;
    /// `None` if it cannot fit in a message with a prefix.
    pub fn block(&mut self, attrs: &Attrs, family: AfiSafi, ctx: &EncodeCtx) -> Option<Bytes> {
        let key = (Arc::as_ptr(attrs) as usize, family);
        let encoded = &mut self.encoded;
        self.map
            .entry(key)
            .or_insert_with(|| {
                *encoded += 1;
                Block {
                    attrs: Arc::downgrade(attrs),
                    bytes: encode::attribute_block(attrs, family, ctx),
                }
            })
            .bytes
            .clone()
    }

    /// Blocks cached.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Blocks encoded so far.
    pub fn encoded(&self) -> u64 {
        self.encoded
    }

    /// Drop the blocks of sets that no longer exist; returns how many.
    pub fn sweep(&mut self) -> usize {
        let before = self.map.len();
        self.map.retain(|_, block| block.attrs.strong_count() > 0);
        self.sweep_at = (self.map.len() * 2).max(FIRST_SWEEP);
        before - self.map.len()
    }

    /// Sweep if the map has doubled since the last sweep.
    pub fn maybe_sweep(&mut self) {
        if self.map.len() > self.sweep_at.max(FIRST_SWEEP) {
            self.sweep();
        }
    }
}
