//! A vector kept in chunks of [`CHUNK`] elements: growing adds a chunk and
//! never moves an element.
//!
//! A `Vec` that doubles copies every element into an array twice the size
//! and holds both while it does; for the large tables of a speaker (the
//! Loc-RIB, an update group's Adj-RIB-Out) that means touching every page
//! of the new array for the first time, so a table of `n` elements has
//! cost page faults for about `2n` by the time it is full, and a transient
//! of three times its size. In chunks, each element is written once, where
//! it stays, and at most one chunk is allocated ahead of use (and not
//! touched until used).
//!
//! The first chunk grows like a `Vec` up to [`CHUNK`], so a small table
//! (a family with three prefixes) allocates little.
//!
//! ```text
//! let mut v = ChunkedVec::default();
//! let at = v.push("a");
//! assert_eq!((v[at], v.len()), ("a", 1));
//! ```

/// Elements per chunk.
pub(crate) const CHUNK: usize = 4096;

/// The elements of a [`ChunkedVec`], in order.
pub(crate) type Iter<'a, T> = std::iter::Flatten<std::slice::Iter<'a, Vec<T>>>;

/// An index for a slab of `entries` entries with room for as many again,
/// filled with `hashed` (each entry's hash and position, in slab order).
///
/// The slabs regrow their `hashbrown` index this way, ahead of `hashbrown`:
/// its own resize would hash each entry through a closure that reads the
/// key at a random place of the slab, where the slab's order reads them
/// sequentially and only the writes into the new index land at random.
pub(crate) fn index_with_room(
    entries: usize,
    hashed: impl IntoIterator<Item = (u64, u32)>,
) -> hashbrown::HashTable<u32> {
    let mut index = hashbrown::HashTable::with_capacity((entries + 1).max(2 * entries));
    for (hash, at) in hashed {
        index.insert_unique(hash, at, |_| {
            unreachable!("the index was made large enough")
        });
    }
    debug_assert_eq!(index.len(), entries, "every entry, once");
    index
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedVec<T> {
    /// Each full (exactly [`CHUNK`] elements) but the last, which is never
    /// empty; never reallocated once it reached [`CHUNK`] capacity.
    chunks: Vec<Vec<T>>,
}

impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        ChunkedVec { chunks: Vec::new() }
    }
}

impl<T> ChunkedVec<T> {
    /// Elements held.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.chunks
            .last()
            .map_or(0, |last| (self.chunks.len() - 1) * CHUNK + last.len())
    }

    /// Elements there is room for without allocating.
    pub(crate) fn capacity(&self) -> usize {
        self.chunks
            .last()
            .map_or(0, |last| (self.chunks.len() - 1) * CHUNK + last.capacity())
    }

    /// Append `value`; its position.
    #[inline]
    pub(crate) fn push(&mut self, value: T) -> usize {
        let full = self.chunks.last().is_none_or(|last| last.len() == CHUNK);
        if full {
            // The first chunk starts small and grows; later ones are whole.
            let capacity = if self.chunks.is_empty() { 0 } else { CHUNK };
            self.chunks.push(Vec::with_capacity(capacity));
        }
        let chunks = self.chunks.len();
        let last = &mut self.chunks[chunks - 1];
        if last.len() == last.capacity() {
            // Only the first chunk gets here: double, up to one chunk.
            let grown = (2 * last.len()).clamp(4, CHUNK);
            last.reserve_exact(grown - last.len());
        }
        last.push(value);
        (chunks - 1) * CHUNK + last.len() - 1
    }

    /// Remove and return the last element.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let last = self.chunks.last_mut()?;
        let value = last.pop();
        if last.is_empty() {
            self.chunks.pop();
        }
        value
    }

    /// Remove the element at `at`, moving the last element into its place
    /// (O(1), the order of the rest is not kept).
    pub(crate) fn swap_remove(&mut self, at: usize) -> T {
        let last = self.pop().expect("swap_remove within the length");
        if at == self.len() {
            last
        } else {
            std::mem::replace(&mut self[at], last)
        }
    }

    /// Every element, in order.
    pub(crate) fn iter(&self) -> Iter<'_, T> {
        self.chunks.iter().flatten()
    }

    /// Every element, in order, to change.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.chunks.iter_mut().flatten()
    }

    /// The elements from position `from` on, each with its position.
    pub(crate) fn iter_from(&self, from: usize) -> impl Iterator<Item = (usize, &T)> {
        self.chunks
            .iter()
            .enumerate()
            .skip(from / CHUNK)
            .flat_map(move |(number, chunk)| {
                let first = number * CHUNK;
                chunk
                    .iter()
                    .enumerate()
                    .skip(from.saturating_sub(first))
                    .map(move |(i, value)| (first + i, value))
            })
    }

    /// Keep the elements `keep` accepts, in order (it may change them), in
    /// place: each kept element moves down over the rejected ones, and the
    /// rejected end is dropped and its chunks freed.
    pub(crate) fn retain_mut(&mut self, mut keep: impl FnMut(&mut T) -> bool) {
        let len = self.len();
        let mut kept = 0;
        for at in 0..len {
            if keep(&mut self.chunks[at / CHUNK][at % CHUNK]) {
                if kept != at {
                    self.swap(kept, at);
                }
                kept += 1;
            }
        }
        self.truncate(kept);
    }

    /// Drop the elements from position `len` on, and the chunks left empty.
    fn truncate(&mut self, len: usize) {
        if len >= self.len() {
            return;
        }
        let chunks = len.div_ceil(CHUNK);
        self.chunks.truncate(chunks);
        if let Some(last) = self.chunks.last_mut() {
            last.truncate(len - (chunks - 1) * CHUNK);
        }
    }

    /// Exchange the elements at `a` and `b` (`a < b`).
    fn swap(&mut self, a: usize, b: usize) {
        let (chunk_a, chunk_b) = (a / CHUNK, b / CHUNK);
        if chunk_a == chunk_b {
            self.chunks[chunk_a].swap(a % CHUNK, b % CHUNK);
        } else {
            let (low, high) = self.chunks.split_at_mut(chunk_b);
            std::mem::swap(&mut low[chunk_a][a % CHUNK], &mut high[0][b % CHUNK]);
        }
    }
}

impl<T> std::ops::Index<usize> for ChunkedVec<T> {
    type Output = T;
    #[inline]
    fn index(&self, at: usize) -> &T {
        &self.chunks[at / CHUNK][at % CHUNK]
    }
}

impl<T> std::ops::IndexMut<usize> for ChunkedVec<T> {
    #[inline]
    fn index_mut(&mut self, at: usize) -> &mut T {
        &mut self.chunks[at / CHUNK][at % CHUNK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_stay_where_they_were_pushed_across_chunks() {
        let mut v = ChunkedVec::default();
        let n = 2 * CHUNK + 5;
        for i in 0..n {
            assert_eq!(v.push(i), i);
        }
        assert_eq!(v.len(), n);
        assert_eq!(v.chunks.len(), 3);
        assert!(v.chunks.iter().all(|c| c.capacity() == CHUNK));
        assert_eq!(v.capacity(), 3 * CHUNK);
        assert!((0..n).all(|i| v[i] == i));
        assert_eq!(
            v.iter().copied().collect::<Vec<_>>(),
            (0..n).collect::<Vec<_>>()
        );
        let from: Vec<(usize, usize)> = v.iter_from(CHUNK - 1).map(|(i, x)| (i, *x)).collect();
        assert_eq!(from.len(), n - CHUNK + 1);
        assert!(from.iter().all(|(i, x)| i == x));
        v[CHUNK] = 7;
        assert_eq!(v[CHUNK], 7);
    }

    #[test]
    fn a_small_vector_allocates_little() {
        let mut v = ChunkedVec::default();
        for i in 0..5u32 {
            v.push(i);
        }
        assert_eq!(v.capacity(), 8);
    }

    #[test]
    fn swap_remove_and_pop_keep_the_rest_and_free_empty_chunks() {
        let mut v = ChunkedVec::default();
        for i in 0..CHUNK + 1 {
            v.push(i);
        }
        assert_eq!(v.swap_remove(3), 3);
        assert_eq!((v[3], v.len(), v.chunks.len()), (CHUNK, CHUNK, 1));
        assert_eq!(v.swap_remove(CHUNK - 1), CHUNK - 1, "the last one");
        assert_eq!(v.len(), CHUNK - 1);
        while v.pop().is_some() {}
        assert_eq!((v.len(), v.chunks.len()), (0, 0));
        assert_eq!(v.pop(), None);
    }

    #[test]
    fn retain_keeps_the_order_and_the_changes() {
        let mut v = ChunkedVec::default();
        for i in 0..3 * CHUNK {
            v.push(i);
        }
        v.retain_mut(|x| {
            *x += 1;
            *x % 3 == 0
        });
        assert_eq!(v.len(), CHUNK);
        assert!((0..CHUNK).all(|i| v[i] == 3 * (i + 1)));
        assert_eq!(v.chunks.len(), 1, "the emptied chunks are freed");
        v.retain_mut(|_| false);
        assert_eq!((v.len(), v.chunks.len()), (0, 0));
    }
}
