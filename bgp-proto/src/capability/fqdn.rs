//! FQDN capability (draft-walton-bgp-hostname-capability section 3), code 73.
//!
//! ```text
//! +--------------------------------+
//! | Hostname Length (1 octet)      |
//! +--------------------------------+
//! | Hostname (variable)            |
//! +--------------------------------+
//! | Domain Name Length (1 octet)   |
//! +--------------------------------+
//! | Domain Name (variable)         |
//! +--------------------------------+
//! ```
//!
//! The names are kept as the octets received, so that a decoded OPEN
//! re-encodes identically even when they are not valid UTF-8;
//! [`Fqdn::hostname_lossy`] and [`Fqdn::domain_lossy`] give text for logs.

use bytes::{BufMut, Bytes, BytesMut};
use std::borrow::Cow;
use std::fmt;

use super::wire::Cursor;
use super::{MAX_VALUE_LEN, malformed};
use crate::error::DecodeError;

/// Room for both names in one value: 255 minus the two length octets.
pub const MAX_NAMES_LEN: usize = MAX_VALUE_LEN - 2;

/// The FQDN capability: the speaker's host and domain names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Fqdn {
    /// Hostname octets (normally UTF-8).
    pub hostname: Bytes,
    /// Domain name octets (normally UTF-8); may be empty.
    pub domain: Bytes,
}

impl Fqdn {
    /// A capability for `hostname` and `domain`. Together they must fit in
    /// [`MAX_NAMES_LEN`] octets: the hostname is cut first to that length,
    /// then the domain to what is left, both at a character boundary.
    pub fn new(hostname: &str, domain: &str) -> Self {
        let hostname = truncate_str(hostname, MAX_NAMES_LEN);
        let domain = truncate_str(domain, MAX_NAMES_LEN - hostname.len());
        Fqdn {
            hostname: Bytes::copy_from_slice(hostname.as_bytes()),
            domain: Bytes::copy_from_slice(domain.as_bytes()),
        }
    }

    /// The hostname as text, invalid UTF-8 replaced.
    pub fn hostname_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.hostname)
    }

    /// The domain name as text, invalid UTF-8 replaced.
    pub fn domain_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.domain)
    }

    /// Append the value. Names set directly to more than fits are cut
    /// (the hostname first keeps up to [`MAX_NAMES_LEN`] octets).
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        let host = self.hostname.get(..MAX_NAMES_LEN).unwrap_or(&self.hostname);
        let room = MAX_NAMES_LEN - host.len();
        let domain = self.domain.get(..room).unwrap_or(&self.domain);
        for name in [host, domain] {
            out.put_u8(u8::try_from(name.len()).unwrap_or(u8::MAX));
            out.put_slice(name);
        }
    }
}

impl fmt::Display for Fqdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.domain.is_empty() {
            write!(f, "{:?}", self.hostname_lossy())
        } else {
            write!(
                f,
                "{:?}",
                format!("{}.{}", self.hostname_lossy(), self.domain_lossy())
            )
        }
    }
}

/// The longest prefix of `s` of at most `max` octets ending at a character
/// boundary.
pub(crate) fn truncate_str(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Decode an FQDN value: both length-prefixed names, filling it exactly.
pub(crate) fn decode(value: &[u8], offset: usize) -> Result<Fqdn, DecodeError> {
    const NAME: &str = "FQDN capability";
    let mut c = Cursor::new(value, offset);
    let mut name = |what: &'static str| {
        let at = c.offset();
        let len = c.u8().ok_or_else(|| malformed(NAME, at, what))?;
        c.take(usize::from(len))
            .map(Bytes::copy_from_slice)
            .ok_or_else(|| malformed(NAME, at, what))
    };
    let hostname = name("hostname length overruns the capability")?;
    let domain = name("domain name length overruns the capability")?;
    if !c.is_empty() {
        return Err(malformed(NAME, c.offset(), "octets after the domain name"));
    }
    Ok(Fqdn { hostname, domain })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_cuts_at_a_character_boundary() {
        let long = "é".repeat(200);
        let fqdn = Fqdn::new(&long, "example.net");
        assert_eq!(fqdn.hostname.len(), 252);
        assert_eq!(&fqdn.domain[..], b"e");
        assert_eq!(fqdn.hostname_lossy(), "é".repeat(126));
        assert_eq!(truncate_str("abc", 10), "abc");
    }

    #[test]
    fn lossy_decode_keeps_the_octets() {
        let fqdn = decode(&[2, 0xff, b'a', 0], 0).unwrap();
        assert_eq!(&fqdn.hostname[..], &[0xff, b'a']);
        assert_eq!(fqdn.hostname_lossy(), "\u{fffd}a");
        let mut out = BytesMut::new();
        fqdn.encode(&mut out);
        assert_eq!(&out[..], &[2, 0xff, b'a', 0]);
    }

    #[test]
    fn inconsistent_lengths_are_errors() {
        assert!(decode(&[], 0).is_err());
        assert!(decode(&[3, b'a'], 0).is_err());
        assert!(decode(&[1, b'a'], 0).is_err());
        assert!(decode(&[1, b'a', 0, 9], 0).is_err());
    }

    #[test]
    fn oversized_fields_are_cut_on_encode() {
        let fqdn = Fqdn {
            hostname: Bytes::from(vec![b'h'; 300]),
            domain: Bytes::from_static(b"d"),
        };
        let mut out = BytesMut::new();
        fqdn.encode(&mut out);
        assert_eq!(out.len(), MAX_VALUE_LEN);
        assert_eq!(decode(&out, 0).unwrap().hostname.len(), MAX_NAMES_LEN);
    }
}
