//! Bounds-checked reading of record bodies, with absolute stream offsets in
//! every error, and the small writers shared by the record encoders.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::MrtError;

/// A reader over one record body. It owns the body's buffer: slices it
/// hands out share it, and [`Cursor::rest`] moves the tail out, so that
/// nothing is copied and few reference counts are touched.
#[derive(Debug)]
pub(crate) struct Cursor {
    buf: Bytes,
    pos: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
}

impl Cursor {
    pub(crate) fn new(buf: Bytes, base: u64) -> Self {
        Cursor { buf, pos: 0, base }
    }

    /// Stream offset of the next byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn truncated(&self, field: &'static str, needed: usize) -> MrtError {
        MrtError::Truncated {
            offset: self.offset(),
            field,
            needed,
            available: self.remaining(),
        }
    }

    /// The next `n` bytes as a slice.
    pub(crate) fn slice(&mut self, n: usize, field: &'static str) -> Result<&[u8], MrtError> {
        let start = self.pos;
        let end = start.saturating_add(n);
        if end > self.buf.len() {
            return Err(self.truncated(field, n));
        }
        self.pos = end;
        Ok(&self.buf[start..end])
    }

    /// The next `n` bytes, sharing the record buffer.
    pub(crate) fn bytes(&mut self, n: usize, field: &'static str) -> Result<Bytes, MrtError> {
        if n > self.remaining() {
            return Err(self.truncated(field, n));
        }
        let bytes = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(bytes)
    }

    /// Everything that is left, moved out of the cursor (which is then
    /// empty, at the same offset).
    pub(crate) fn rest(&mut self) -> Bytes {
        let mut bytes = std::mem::take(&mut self.buf);
        bytes.advance(self.pos);
        self.base += self.pos as u64;
        self.pos = 0;
        bytes
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], MrtError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.slice(N, field)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, MrtError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, MrtError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, MrtError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// An AS number of 2 or 4 octets.
    pub(crate) fn asn(&mut self, four_octet: bool, field: &'static str) -> Result<u32, MrtError> {
        if four_octet {
            self.u32(field)
        } else {
            self.u16(field).map(u32::from)
        }
    }

    pub(crate) fn ipv4(&mut self, field: &'static str) -> Result<Ipv4Addr, MrtError> {
        Ok(Ipv4Addr::from(self.array::<4>(field)?))
    }

    /// An IPv4 (4 octets) or IPv6 (16 octets) address.
    pub(crate) fn ip(&mut self, ipv6: bool, field: &'static str) -> Result<IpAddr, MrtError> {
        if ipv6 {
            Ok(IpAddr::V6(Ipv6Addr::from(self.array::<16>(field)?)))
        } else {
            self.ipv4(field).map(IpAddr::V4)
        }
    }

    /// A BadField error at the offset of a field of `width` bytes just read.
    pub(crate) fn bad_field(&self, width: usize, field: &'static str, value: u64) -> MrtError {
        MrtError::BadField {
            offset: self.offset() - width as u64,
            field,
            value,
        }
    }

    /// A prefix in NLRI form (RFC 4271 section 4.3): length in bits, then the
    /// fewest octets that hold it. Bits past the length are cleared, so the
    /// network is canonical.
    pub(crate) fn nlri_prefix(&mut self, ipv6: bool) -> Result<IpNetwork, MrtError> {
        let len = self.u8("prefix length")?;
        let max = if ipv6 { 128 } else { 32 };
        if len > max {
            return Err(self.bad_field(1, "prefix length", u64::from(len)));
        }
        let octets = self.slice(usize::from(len).div_ceil(8), "prefix")?;
        Ok(canonical_prefix(octets, len, ipv6))
    }
}

/// The network of `len` bits whose leading octets are `octets` (at most
/// 4 or 16 of them; `len` at most 32 or 128).
fn canonical_prefix(octets: &[u8], len: u8, ipv6: bool) -> IpNetwork {
    if ipv6 {
        let mut bytes = [0u8; 16];
        for (dst, src) in bytes.iter_mut().zip(octets) {
            *dst = *src;
        }
        let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
        let addr = Ipv6Addr::from(u128::from_be_bytes(bytes) & mask);
        IpNetwork::V6(Ipv6Network::new(addr, len).unwrap_or_else(|_| Ipv6Network::from(addr)))
    } else {
        let mut bytes = [0u8; 4];
        for (dst, src) in bytes.iter_mut().zip(octets) {
            *dst = *src;
        }
        let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        let addr = Ipv4Addr::from(u32::from_be_bytes(bytes) & mask);
        IpNetwork::V4(Ipv4Network::new(addr, len).unwrap_or_else(|_| Ipv4Network::from(addr)))
    }
}

/// Append a prefix in NLRI form (the inverse of [`Cursor::nlri_prefix`]).
pub(crate) fn put_nlri_prefix(prefix: &IpNetwork, out: &mut BytesMut) {
    let len = prefix.prefix();
    out.put_u8(len);
    let octets = usize::from(len).div_ceil(8);
    match prefix {
        IpNetwork::V4(net) => out.put_slice(&net.network().octets()[..octets]),
        IpNetwork::V6(net) => out.put_slice(&net.network().octets()[..octets]),
    }
}

/// Append an address: 4 octets for IPv4, 16 for IPv6.
pub(crate) fn put_ip(addr: &IpAddr, out: &mut BytesMut) {
    match addr {
        IpAddr::V4(v4) => out.put_slice(&v4.octets()),
        IpAddr::V6(v6) => out.put_slice(&v6.octets()),
    }
}

/// Append an AS number of 2 or 4 octets; fails if it does not fit in 2.
pub(crate) fn put_asn(
    asn: u32,
    four_octet: bool,
    field: &'static str,
    out: &mut BytesMut,
) -> Result<(), MrtError> {
    if four_octet {
        out.put_u32(asn);
    } else {
        let short = u16::try_from(asn).map_err(|_| MrtError::BadField {
            offset: 0,
            field,
            value: u64::from(asn),
        })?;
        out.put_u16(short);
    }
    Ok(())
}

/// A length that must fit a 2-octet field.
pub(crate) fn u16_len(len: usize, field: &'static str) -> Result<u16, MrtError> {
    u16::try_from(len).map_err(|_| MrtError::BadField {
        offset: 0,
        field,
        value: len as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nlri_prefix_clears_trailing_bits() {
        let buf = Bytes::from_static(&[13, 11, 15]);
        let mut cursor = Cursor::new(buf, 100);
        let prefix = cursor.nlri_prefix(false).unwrap();
        assert_eq!(prefix.to_string(), "11.8.0.0/13");
        assert_eq!(cursor.remaining(), 0);
    }

    #[test]
    fn errors_carry_absolute_offsets() {
        let buf = Bytes::from_static(&[0, 1, 2]);
        let mut cursor = Cursor::new(buf, 1000);
        cursor.u16("first").unwrap();
        match cursor.u32("second") {
            Err(MrtError::Truncated {
                offset,
                needed,
                available,
                ..
            }) => assert_eq!((offset, needed, available), (1002, 4, 1)),
            other => panic!("unexpected {other:?}"),
        }
        let buf = Bytes::from_static(&[33, 1, 2, 3, 4, 5]);
        let mut cursor = Cursor::new(buf, 10);
        assert!(matches!(
            cursor.nlri_prefix(false),
            Err(MrtError::BadField {
                offset: 10,
                value: 33,
                ..
            })
        ));
    }
}
