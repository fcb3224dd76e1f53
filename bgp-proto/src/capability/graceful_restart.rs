//! Graceful Restart (RFC 4724 section 3, RFC 8538 section 2), code 64, and
//! Long-Lived Graceful Restart (RFC 9494 section 3), code 71.
//!
//! Graceful Restart:
//!
//! ```text
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |R|N| Res.|  Restart Time (s)   |   R = Restart State (RFC 4724)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   N = Notification (RFC 8538)
//! |   Address Family Identifier   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     SAFI      |F|  Reserved   |   F = Forwarding State preserved
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  ... more families (4 octets each) ...
//! ```
//!
//! Long-Lived Graceful Restart, a list of 7-octet entries:
//!
//! ```text
//! +--------------------------------------------------+
//! | Address Family Identifier (16 bits)              |
//! +--------------------------------------------------+
//! | Subsequent Address Family Identifier (8 bits)    |
//! +--------------------------------------------------+
//! | Flags for Address Family (8 bits, F = 0x80)      |
//! +--------------------------------------------------+
//! | Long-lived Stale Time (24 bits, seconds)         |
//! +--------------------------------------------------+
//! | ... more entries ...                             |
//! ```
//!
//! Reserved bits are sent as 0 and ignored on receipt (RFC 4724 section 3).

use bytes::{BufMut, BytesMut};
use std::fmt;

use super::malformed;
use super::wire::Cursor;
use crate::error::DecodeError;
use crate::iana::{Afi, AfiSafi, Safi};

/// Restart State bit of the Restart Flags (RFC 4724 section 3).
const RESTART_STATE: u16 = 0x8000;
/// Notification bit of the Restart Flags (RFC 8538 section 2).
const NOTIFICATION: u16 = 0x4000;
/// The 12 bits of the Restart Time.
const RESTART_TIME_MASK: u16 = 0x0fff;
/// Forwarding State bit of a family's flags (RFC 4724 section 3, RFC 9494).
pub const FORWARDING_PRESERVED: u8 = 0x80;
/// Largest Restart Time (12 bits).
pub const MAX_RESTART_TIME: u16 = RESTART_TIME_MASK;
/// Largest Long-lived Stale Time (24 bits).
pub const MAX_STALE_TIME: u32 = 0x00ff_ffff;
/// Octets of one Long-Lived Graceful Restart entry.
pub(crate) const LLGR_ENTRY_LEN: usize = 7;
/// Most families a Graceful Restart value can hold: (255 - 2) / 4.
pub const MAX_GR_FAMILIES: usize = 63;

/// The Graceful Restart capability (RFC 4724 section 3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct GracefulRestart {
    /// R bit: the speaker has restarted (RFC 4724 section 3).
    pub restart_state: bool,
    /// N bit: the speaker supports Graceful Restart for NOTIFICATION
    /// messages and Hard Reset (RFC 8538 section 2).
    pub notification: bool,
    /// Seconds the peer should keep our routes after the session drops;
    /// 12 bits, larger values are written as [`MAX_RESTART_TIME`].
    pub restart_time: u16,
    /// Families whose state is preserved, each with its F bit (forwarding
    /// state preserved across the restart). At most [`MAX_GR_FAMILIES`] are
    /// written.
    pub families: Vec<(AfiSafi, bool)>,
}

impl GracefulRestart {
    /// Was forwarding state preserved for `family`? `None` if the family is
    /// not listed.
    pub fn forwarding_preserved(&self, family: AfiSafi) -> Option<bool> {
        self.families
            .iter()
            .find(|(f, _)| *f == family)
            .map(|(_, preserved)| *preserved)
    }

    /// Append the value.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        let mut flags = self.restart_time.min(MAX_RESTART_TIME);
        if self.restart_state {
            flags |= RESTART_STATE;
        }
        if self.notification {
            flags |= NOTIFICATION;
        }
        out.put_u16(flags);
        for (family, preserved) in self.families.iter().take(MAX_GR_FAMILIES) {
            out.put_u16(family.afi.0);
            out.put_u8(family.safi.0);
            out.put_u8(if *preserved { FORWARDING_PRESERVED } else { 0 });
        }
    }
}

impl fmt::Display for GracefulRestart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "restart time {}s", self.restart_time)?;
        if self.restart_state {
            f.write_str(", restarting")?;
        }
        if self.notification {
            f.write_str(", notification")?;
        }
        for (family, preserved) in &self.families {
            write!(f, ", {family}{}", if *preserved { " (F)" } else { "" })?;
        }
        Ok(())
    }
}

/// One family of the Long-Lived Graceful Restart capability (RFC 9494
/// section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LlgrFamily {
    /// The family.
    pub afi_safi: AfiSafi,
    /// Flags for the family; only [`FORWARDING_PRESERVED`] is defined, the
    /// other bits are kept as received.
    pub flags: u8,
    /// Seconds stale routes are kept; 24 bits, larger values are written as
    /// [`MAX_STALE_TIME`].
    pub stale_time: u32,
}

impl LlgrFamily {
    /// Is the F bit (forwarding state preserved) set?
    pub fn forwarding_preserved(&self) -> bool {
        self.flags & FORWARDING_PRESERVED != 0
    }

    /// Append the 7-octet entry.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.afi_safi.afi.0);
        out.put_u8(self.afi_safi.safi.0);
        out.put_u8(self.flags);
        let stale = self.stale_time.min(MAX_STALE_TIME).to_be_bytes();
        out.put_slice(stale.get(1..).unwrap_or_default());
    }
}

/// Decode a Graceful Restart value (RFC 4724 section 3): 2 octets, then 4
/// per family.
pub(crate) fn decode(value: &[u8], offset: usize) -> Result<GracefulRestart, DecodeError> {
    const NAME: &str = "Graceful Restart capability";
    let mut c = Cursor::new(value, offset);
    let Some(flags) = c.u16() else {
        return Err(malformed(NAME, offset.saturating_sub(1), "shorter than 2"));
    };
    if c.remaining() % 4 != 0 {
        return Err(malformed(
            NAME,
            offset.saturating_sub(1),
            "length is not 2 plus a multiple of 4",
        ));
    }
    let mut families = Vec::with_capacity(c.remaining() / 4);
    while !c.is_empty() {
        let (Some(afi), Some(safi), Some(af_flags)) = (c.u16(), c.u8(), c.u8()) else {
            return Err(malformed(NAME, c.offset(), "family truncated"));
        };
        families.push((
            AfiSafi::new(Afi(afi), Safi(safi)),
            af_flags & FORWARDING_PRESERVED != 0,
        ));
    }
    Ok(GracefulRestart {
        restart_state: flags & RESTART_STATE != 0,
        notification: flags & NOTIFICATION != 0,
        restart_time: flags & RESTART_TIME_MASK,
        families,
    })
}

/// Decode a Long-Lived Graceful Restart value (RFC 9494 section 3).
pub(crate) fn decode_llgr(value: &[u8], offset: usize) -> Result<Vec<LlgrFamily>, DecodeError> {
    const NAME: &str = "Long-Lived Graceful Restart capability";
    if value.len() % LLGR_ENTRY_LEN != 0 {
        return Err(malformed(
            NAME,
            offset.saturating_sub(1),
            "length is not a multiple of 7",
        ));
    }
    let mut c = Cursor::new(value, offset);
    let mut entries = Vec::with_capacity(value.len() / LLGR_ENTRY_LEN);
    while !c.is_empty() {
        let (Some(afi), Some(safi), Some(flags), Some(stale_time)) =
            (c.u16(), c.u8(), c.u8(), c.u24())
        else {
            return Err(malformed(NAME, c.offset(), "entry truncated"));
        };
        entries.push(LlgrFamily {
            afi_safi: AfiSafi::new(Afi(afi), Safi(safi)),
            flags,
            stale_time,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_time_share_two_octets() {
        let gr = decode(&[0x40, 0x78], 0).unwrap();
        assert!(gr.notification && !gr.restart_state);
        assert_eq!(gr.restart_time, 120);
        let gr = decode(&[0x8f, 0xff, 0, 2, 1, 0], 0).unwrap();
        assert!(gr.restart_state && !gr.notification);
        assert_eq!(gr.restart_time, 4095);
        assert_eq!(gr.forwarding_preserved(AfiSafi::IPV6_UNICAST), Some(false));
        assert_eq!(gr.forwarding_preserved(AfiSafi::IPV4_UNICAST), None);
    }

    #[test]
    fn bad_lengths_are_errors() {
        assert!(decode(&[0], 10).is_err());
        assert!(decode(&[0, 0, 0, 1, 1], 10).is_err());
        assert!(decode_llgr(&[0, 1, 1, 0x80, 0, 0], 10).is_err());
    }

    #[test]
    fn out_of_range_times_saturate_on_encode() {
        let gr = GracefulRestart {
            restart_time: 5000,
            ..GracefulRestart::default()
        };
        let mut out = BytesMut::new();
        gr.encode(&mut out);
        assert_eq!(&out[..], &[0x0f, 0xff]);
        let llgr = LlgrFamily {
            afi_safi: AfiSafi::IPV4_UNICAST,
            flags: FORWARDING_PRESERVED,
            stale_time: u32::MAX,
        };
        out.clear();
        llgr.encode(&mut out);
        assert_eq!(&out[..], &[0, 1, 1, 0x80, 0xff, 0xff, 0xff]);
        assert!(llgr.forwarding_preserved());
    }
}
