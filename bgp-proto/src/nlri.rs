//! IP prefixes as they appear in NLRI and withdrawn-routes fields.
//!
//! RFC 4271 section 4.3 encodes each prefix as a length in bits followed by
//! the fewest octets that hold it; RFC 7911 section 3 puts a 4-octet path
//! identifier in front when ADD-PATH was negotiated for the family:
//!
//! ```text
//! +--------------------------------+
//! | Path Identifier (4 octets)     |  only with ADD-PATH
//! +--------------------------------+
//! | Length (1 octet, in bits)      |
//! +--------------------------------+
//! | Prefix (ceil(Length/8) octets) |
//! +--------------------------------+
//! ```
//!
//! Bits past the prefix length are ignored on decode (and cleared), as RFC
//! 4271 section 4.3 says they are irrelevant; the decoded network is always
//! canonical, so it can key a RIB.

use bytes::{BufMut, BytesMut};
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{DecodeError, ErrorKind};
use crate::iana::Afi;

/// One prefix of an NLRI or withdrawn-routes field, with its ADD-PATH path
/// identifier when the session uses one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nlri {
    /// The prefix, with host bits cleared.
    pub prefix: IpNetwork,
    /// ADD-PATH path identifier (RFC 7911), `None` without ADD-PATH.
    pub path_id: Option<u32>,
}

impl Nlri {
    /// A prefix without path identifier.
    pub fn new(prefix: IpNetwork) -> Self {
        Nlri {
            prefix,
            path_id: None,
        }
    }

    /// A prefix with an ADD-PATH path identifier.
    pub fn with_path_id(prefix: IpNetwork, path_id: u32) -> Self {
        Nlri {
            prefix,
            path_id: Some(path_id),
        }
    }

    /// The address family of the prefix.
    pub fn afi(&self) -> Afi {
        match self.prefix {
            IpNetwork::V4(_) => Afi::IPV4,
            IpNetwork::V6(_) => Afi::IPV6,
        }
    }

    /// Bytes this prefix takes on the wire.
    pub fn encoded_len(&self, add_path: bool) -> usize {
        let path_id = if add_path { 4 } else { 0 };
        path_id + 1 + usize::from(self.prefix.prefix()).div_ceil(8)
    }

    /// Append the wire form. With `add_path`, a missing path identifier is
    /// written as 0; without it, any path identifier is left out.
    pub fn encode(&self, add_path: bool, out: &mut BytesMut) {
        if add_path {
            out.put_u32(self.path_id.unwrap_or(0));
        }
        let len = self.prefix.prefix();
        out.put_u8(len);
        let octets = usize::from(len).div_ceil(8);
        // The whole address as one fixed-size store, then the octets past
        // the prefix length cut off again: no copy of a variable length
        // (a call to `memcpy`) per prefix.
        let width = match self.prefix {
            IpNetwork::V4(net) => {
                out.put_u32(u32::from(net.ip()));
                4
            }
            IpNetwork::V6(net) => {
                out.put_u128(u128::from(net.ip()));
                16
            }
        };
        out.truncate(out.len() - (width - octets));
    }
}

impl fmt::Debug for Nlri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path_id {
            Some(id) => write!(f, "{} path-id {id}", self.prefix),
            None => write!(f, "{}", self.prefix),
        }
    }
}

impl fmt::Display for Nlri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<IpNetwork> for Nlri {
    fn from(prefix: IpNetwork) -> Self {
        Nlri::new(prefix)
    }
}

/// Decode a whole field of prefixes of family `afi` and append them to `out`.
///
/// `base` is the offset of `buf` within the message, so errors point at the
/// right byte. A prefix that overruns the field or whose length exceeds the
/// family's address size is an `InvalidNetworkField` error.
#[inline]
pub fn decode_prefixes(
    buf: &[u8],
    afi: Afi,
    add_path: bool,
    location: &'static str,
    base: usize,
    out: &mut Vec<Nlri>,
) -> Result<(), DecodeError> {
    // Most fields are empty (an UPDATE's withdrawn routes, its NLRI when it
    // announces through MP_REACH_NLRI): no call for them.
    if buf.is_empty() {
        return Ok(());
    }
    // One loop per family and ADD-PATH setting, so neither is tested per prefix.
    match (afi == Afi::IPV6, add_path) {
        (false, false) => decode_field::<false, false>(buf, location, base, out),
        (false, true) => decode_field::<false, true>(buf, location, base, out),
        (true, false) => decode_field::<true, false>(buf, location, base, out),
        (true, true) => decode_field::<true, true>(buf, location, base, out),
    }
}

fn decode_field<const V6: bool, const ADD_PATH: bool>(
    buf: &[u8],
    location: &'static str,
    base: usize,
    out: &mut Vec<Nlri>,
) -> Result<(), DecodeError> {
    let max_len: u8 = if V6 { 128 } else { 32 };
    // A lower bound on the count (a prefix takes at least 1 + 3 octets for
    // the usual lengths, and there is at least one) avoids most
    // reallocations without trusting the input.
    crate::message::update::reserve(out, (buf.len() / if ADD_PATH { 8 } else { 4 }).max(1));
    let mut pos = 0;
    while pos < buf.len() {
        let at = base + pos;
        let path_id = if ADD_PATH {
            let Some(&[a, b, c, d]) = buf.get(pos..pos + 4) else {
                return Err(truncated(location, at));
            };
            pos += 4;
            Some(u32::from_be_bytes([a, b, c, d]))
        } else {
            None
        };
        let Some(&len) = buf.get(pos) else {
            return Err(truncated(location, at));
        };
        pos += 1;
        if len > max_len {
            return Err(DecodeError::new(
                location,
                at,
                ErrorKind::InvalidNetworkField {
                    reason: "prefix length exceeds the address size",
                    prefix_len: Some(len),
                },
            ));
        }
        let octets = usize::from(len).div_ceil(8);
        if buf.len() - pos < octets {
            return Err(DecodeError::new(
                location,
                at,
                ErrorKind::InvalidNetworkField {
                    reason: "prefix overruns the field",
                    prefix_len: Some(len),
                },
            ));
        }
        // `rest` starts with the prefix's `octets` octets; what follows them
        // (the next prefix) is masked off by the prefix length.
        let rest = &buf[pos..];
        pos += octets;
        let prefix = if V6 {
            IpNetwork::V6(ipv6_prefix(rest, octets, len))
        } else {
            IpNetwork::V4(ipv4_prefix(rest, octets, len))
        };
        out.push(Nlri { prefix, path_id });
    }
    Ok(())
}

fn truncated(location: &'static str, offset: usize) -> DecodeError {
    DecodeError::new(
        location,
        offset,
        ErrorKind::InvalidNetworkField {
            reason: "prefix overruns the field",
            prefix_len: None,
        },
    )
}

/// The canonical IPv4 network of length `len` (<= 32) whose `octets`
/// significant octets start `rest`. With 4 octets at hand they are read
/// at once and the host bits masked off; only a prefix at the very end of
/// a field copies its octets one by one.
fn ipv4_prefix(rest: &[u8], octets: usize, len: u8) -> Ipv4Network {
    let bits = match rest.first_chunk::<4>() {
        Some(word) => u32::from_be_bytes(*word),
        None => {
            let mut word = [0u8; 4];
            word[..octets].copy_from_slice(&rest[..octets]);
            u32::from_be_bytes(word)
        }
    };
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    let addr = Ipv4Addr::from(bits & mask);
    // Cannot fail: len <= 32 was checked by the caller.
    Ipv4Network::new(addr, len).unwrap_or_else(|_| Ipv4Network::from(addr))
}

/// The canonical IPv6 network of length `len` (<= 128), like [`ipv4_prefix`].
fn ipv6_prefix(rest: &[u8], octets: usize, len: u8) -> Ipv6Network {
    let bits = match rest.first_chunk::<16>() {
        Some(word) => u128::from_be_bytes(*word),
        None => {
            let mut word = [0u8; 16];
            word[..octets].copy_from_slice(&rest[..octets]);
            u128::from_be_bytes(word)
        }
    };
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    let addr = Ipv6Addr::from(bits & mask);
    // Cannot fail: len <= 128 was checked by the caller.
    Ipv6Network::new(addr, len).unwrap_or_else(|_| Ipv6Network::from(addr))
}

/// Append the wire form of `prefixes`, every one of which takes `size`
/// octets ([`Nlri::encoded_len`]; a run of /24s, say), as [`Nlri::encode`]
/// would one by one. `out` grows once, and each IPv4 prefix is one store
/// of a fixed size instead of three appends that each check the capacity.
///
/// # Panics
/// If a prefix does not take `size` octets.
pub fn encode_uniform(prefixes: &[Nlri], size: usize, add_path: bool, out: &mut BytesMut) {
    let start = out.len();
    out.resize(start + prefixes.len() * size, 0);
    let dst = &mut out[start..];
    match (add_path, size) {
        (false, 1) => write_v4_run::<1, false>(dst, prefixes),
        (false, 2) => write_v4_run::<2, false>(dst, prefixes),
        (false, 3) => write_v4_run::<3, false>(dst, prefixes),
        (false, 4) => write_v4_run::<4, false>(dst, prefixes),
        (false, 5) => write_v4_run::<5, false>(dst, prefixes),
        (true, 5) => write_v4_run::<5, true>(dst, prefixes),
        (true, 6) => write_v4_run::<6, true>(dst, prefixes),
        (true, 7) => write_v4_run::<7, true>(dst, prefixes),
        (true, 8) => write_v4_run::<8, true>(dst, prefixes),
        (true, 9) => write_v4_run::<9, true>(dst, prefixes),
        _ => {
            for (slot, nlri) in dst.chunks_exact_mut(size).zip(prefixes) {
                write_into(nlri, add_path, slot);
            }
        }
    }
}

/// [`encode_uniform`] for prefixes of `S` octets: the first `S` octets of
/// path identifier, length and address (without the path identifier when
/// not `ADD_PATH`); an IPv6 prefix of that size the general way.
#[inline(always)]
fn write_v4_run<const S: usize, const ADD_PATH: bool>(dst: &mut [u8], prefixes: &[Nlri]) {
    let skip = if ADD_PATH { 0 } else { 4 };
    for (slot, nlri) in dst.chunks_exact_mut(S).zip(prefixes) {
        match nlri.prefix {
            IpNetwork::V4(net) => {
                let octets = usize::from(net.prefix()).div_ceil(8);
                assert_eq!(S + skip - 5, octets, "{nlri:?} is not of the run's size");
                let [p0, p1, p2, p3] = nlri.path_id.unwrap_or(0).to_be_bytes();
                let [a, b, c, d] = net.ip().octets();
                let wire = [p0, p1, p2, p3, net.prefix(), a, b, c, d];
                slot.copy_from_slice(&wire[skip..skip + S]);
            }
            IpNetwork::V6(_) => write_into(nlri, ADD_PATH, slot),
        }
    }
}

/// The wire form of `nlri` into `slot`, which is exactly its size.
fn write_into(nlri: &Nlri, add_path: bool, slot: &mut [u8]) {
    let size = nlri.encoded_len(add_path);
    assert_eq!(slot.len(), size, "{nlri:?} is not of the run's size");
    let mut at = 0;
    if add_path {
        slot[..4].copy_from_slice(&nlri.path_id.unwrap_or(0).to_be_bytes());
        at = 4;
    }
    slot[at] = nlri.prefix.prefix();
    let octets = &mut slot[at + 1..];
    match nlri.prefix {
        IpNetwork::V4(net) => octets.copy_from_slice(&net.ip().octets()[..octets.len()]),
        IpNetwork::V6(net) => octets.copy_from_slice(&net.ip().octets()[..octets.len()]),
    }
}

/// Encode every prefix of `prefixes` into `out`.
pub fn encode_prefixes<'a>(
    prefixes: impl IntoIterator<Item = &'a Nlri>,
    add_path: bool,
    out: &mut BytesMut,
) {
    for nlri in prefixes {
        nlri.encode(add_path, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uniform_run_encodes_as_prefix_by_prefix() {
        let v4 = |len: u8, id: u32| {
            let net = Ipv4Network::new(Ipv4Addr::new(198, 51, 100, 7), len).unwrap();
            let net = Ipv4Network::new(net.network(), len).unwrap();
            Nlri::with_path_id(IpNetwork::V4(net), id)
        };
        let v6 = |len: u8, id: u32| {
            let addr: Ipv6Addr = "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff".parse().unwrap();
            let net = Ipv6Network::new(addr, len).unwrap();
            let net = Ipv6Network::new(net.network(), len).unwrap();
            Nlri::with_path_id(IpNetwork::V6(net), id)
        };
        for add_path in [false, true] {
            let mut runs: Vec<Vec<Nlri>> = (0..=32)
                .map(|len| vec![v4(len, 7), v4(len, 1 << 30)])
                .collect();
            runs.extend((0..=128).map(|len| vec![v6(len, 9), v6(len, 3)]));
            // IPv4 and IPv6 prefixes of one size in one run.
            runs.push(vec![v4(24, 1), v6(24, 2), v4(17, 3)]);
            for run in runs {
                let size = run[0].encoded_len(add_path);
                let mut expected = BytesMut::from(&b"head"[..]);
                encode_prefixes(&run, add_path, &mut expected);
                let mut got = BytesMut::from(&b"head"[..]);
                encode_uniform(&run, size, add_path, &mut got);
                assert_eq!(got, expected, "{run:?} add_path={add_path}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "is not of the run's size")]
    fn a_prefix_of_another_size_in_a_uniform_run_panics() {
        let run = [
            Nlri::new("10.0.0.0/24".parse().unwrap()),
            Nlri::new("10.0.0.1/32".parse().unwrap()),
        ];
        encode_uniform(&run, 4, false, &mut BytesMut::new());
    }

    fn decode(buf: &[u8], afi: Afi, add_path: bool) -> Result<Vec<Nlri>, DecodeError> {
        let mut out = Vec::new();
        decode_prefixes(buf, afi, add_path, "NLRI", 23, &mut out).map(|()| out)
    }

    #[test]
    fn decodes_and_clears_trailing_bits() {
        // 11.15.0.0/13 on the wire has bits past the mask: RFC 4271 4.3 says ignore them.
        let got = decode(&[13, 11, 15], Afi::IPV4, false).unwrap();
        assert_eq!(got, vec![Nlri::new("11.8.0.0/13".parse().unwrap())]);
    }

    #[test]
    fn zero_length_prefix_is_the_default_route() {
        let got = decode(&[0], Afi::IPV6, false).unwrap();
        assert_eq!(got[0].prefix, "::/0".parse::<IpNetwork>().unwrap());
    }

    #[test]
    fn path_identifier_precedes_the_prefix() {
        let got = decode(&[0, 0, 0, 7, 24, 10, 0, 1], Afi::IPV4, true).unwrap();
        assert_eq!(
            got,
            vec![Nlri::with_path_id("10.0.1.0/24".parse().unwrap(), 7)]
        );
    }

    #[test]
    fn rejects_a_prefix_longer_than_the_address() {
        let err = decode(&[33, 1, 2, 3, 4, 5], Afi::IPV4, false).unwrap_err();
        assert_eq!(err.offset, 23);
        assert!(matches!(
            err.kind,
            ErrorKind::InvalidNetworkField {
                prefix_len: Some(33),
                ..
            }
        ));
    }

    #[test]
    fn rejects_a_prefix_that_overruns_the_field() {
        let err = decode(&[24, 10, 0], Afi::IPV4, false).unwrap_err();
        assert_eq!(err.notification().subcode, 10);
    }

    #[test]
    fn encode_is_the_inverse_of_decode() {
        let wire = [0, 0, 0, 1, 64, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 1];
        let got = decode(&wire, Afi::IPV6, true).unwrap();
        let mut out = BytesMut::new();
        encode_prefixes(&got, true, &mut out);
        assert_eq!(&out[..], &wire);
    }
}
