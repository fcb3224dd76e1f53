//! A bounds-checked reader for the OPEN-family decoders.
//!
//! Every read returns `None` instead of panicking when too few bytes are
//! left, and the reader remembers where its slice starts in the message so
//! that errors carry message offsets (header included).

/// Reads big-endian fields from a slice, front to back.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Cursor<'a> {
    /// A reader over `buf`, whose first byte is at message offset `base`.
    pub(crate) fn new(buf: &'a [u8], base: usize) -> Self {
        Cursor { buf, pos: 0, base }
    }

    /// Message offset of the next byte to be read.
    pub(crate) fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Has everything been read?
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next byte, without consuming it.
    pub(crate) fn peek_u8(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    /// One octet.
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    /// Two octets, big-endian.
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let bytes: [u8; 2] = self.take(2)?.try_into().ok()?;
        Some(u16::from_be_bytes(bytes))
    }

    /// Three octets, big-endian.
    pub(crate) fn u24(&mut self) -> Option<u32> {
        match *self.take(3)? {
            [a, b, c] => Some(u32::from_be_bytes([0, a, b, c])),
            _ => None,
        }
    }

    /// Four octets, big-endian.
    pub(crate) fn u32(&mut self) -> Option<u32> {
        let bytes: [u8; 4] = self.take(4)?.try_into().ok()?;
        Some(u32::from_be_bytes(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_tracks_offsets() {
        let mut c = Cursor::new(&[1, 0, 2, 0, 0, 3, 0, 0, 0, 4, 9], 19);
        assert_eq!(c.u8(), Some(1));
        assert_eq!(c.u16(), Some(2));
        assert_eq!(c.u24(), Some(3));
        assert_eq!(c.offset(), 25);
        assert_eq!(c.u32(), Some(4));
        assert_eq!(c.peek_u8(), Some(9));
        assert_eq!(c.take(1), Some(&[9][..]));
        assert!(c.is_empty());
    }

    #[test]
    fn short_reads_return_none_and_consume_nothing() {
        let mut c = Cursor::new(&[1, 2, 3], 0);
        assert_eq!(c.u32(), None);
        assert_eq!(c.take(usize::MAX), None);
        assert_eq!(c.remaining(), 3);
        assert_eq!(c.u24(), Some(0x010203));
        assert_eq!(c.u8(), None);
        assert_eq!(c.peek_u8(), None);
        assert_eq!(c.take(0), Some(&[][..]));
    }
}
