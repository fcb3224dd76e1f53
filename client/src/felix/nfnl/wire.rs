//! nfnetlink message framing: headers, attributes, nesting.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     length (whole message)                    |  struct nlmsghdr
//! +-------------------------------+-------------------------------+  (host byte order)
//! |  type (subsys << 8 | message) |             flags             |
//! +-------------------------------+-------------------------------+
//! |                        sequence number                        |
//! +---------------------------------------------------------------+
//! |                            port id                            |
//! +---------------+---------------+-------------------------------+
//! |    family     |    version    |   resource id (big endian)    |  struct nfgenmsg
//! +---------------+---------------+-------------------------------+
//! |    attribute length           |  type (bit 15: nested)        |  struct nlattr,
//! +-------------------------------+-------------------------------+  padded to 4
//! |                     value (integers big endian)               |
//! +---------------------------------------------------------------+
//! ```

/// `NFNL_SUBSYS_NFTABLES`.
pub const SUBSYS_NFTABLES: u16 = 10;
/// `NFNL_MSG_BATCH_BEGIN` (`NLMSG_MIN_TYPE`).
pub const MSG_BATCH_BEGIN: u16 = 0x10;
/// `NFNL_MSG_BATCH_END`.
pub const MSG_BATCH_END: u16 = 0x11;
/// `NFPROTO_INET`: the `inet` family of tables.
pub const NFPROTO_INET: u8 = 1;

/// `NLM_F_REQUEST`.
pub const F_REQUEST: u16 = 0x1;
/// `NLM_F_ACK`.
pub const F_ACK: u16 = 0x4;
/// `NLM_F_APPEND` (a new rule goes last).
pub const F_APPEND: u16 = 0x800;
/// `NLM_F_CREATE`.
pub const F_CREATE: u16 = 0x400;
/// `NLA_F_NESTED`.
const F_NESTED: u16 = 0x8000;
/// `NLMSG_ERROR`: an error or an acknowledgement.
pub const NLMSG_ERROR: u16 = 2;

/// A buffer of netlink messages being written.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
    message: Option<usize>,
    nests: Vec<usize>,
}

impl Writer {
    /// Start a message of `subsys`/`msg` with the nfgenmsg header.
    pub fn begin(&mut self, subsys: u16, msg: u16, flags: u16, seq: u32, family: u8, res_id: u16) {
        debug_assert!(self.message.is_none() && self.nests.is_empty());
        self.message = Some(self.buf.len());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf
            .extend_from_slice(&((subsys << 8) | msg).to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.push(family);
        self.buf.push(0); // NFNETLINK_V0
        self.buf.extend_from_slice(&res_id.to_be_bytes());
    }

    /// Close the message started by [`Writer::begin`].
    pub fn end(&mut self) {
        let start = self.message.take().expect("a message was begun");
        debug_assert!(self.nests.is_empty());
        let len = (self.buf.len() - start) as u32;
        self.buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
    }

    /// An attribute holding `value`.
    pub fn bytes(&mut self, kind: u16, value: &[u8]) {
        let len = 4 + value.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.pad();
    }

    /// A big-endian 32-bit attribute (nf_tables' integers).
    pub fn u32(&mut self, kind: u16, value: u32) {
        self.bytes(kind, &value.to_be_bytes());
    }

    /// A NUL-terminated string attribute.
    pub fn string(&mut self, kind: u16, value: &str) {
        let len = 4 + value.len() + 1;
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value.as_bytes());
        self.buf.push(0);
        self.pad();
    }

    /// Open a nested attribute; close it with [`Writer::close`].
    pub fn open(&mut self, kind: u16) {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&(kind | F_NESTED).to_ne_bytes());
    }

    /// Close the innermost nested attribute.
    pub fn close(&mut self) {
        let start = self.nests.pop().expect("a nest was opened");
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    }

    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    /// The messages written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        debug_assert!(self.message.is_none());
        self.buf
    }
}

/// One `NLMSG_ERROR` reply: the sequence number it answers and the error
/// (0 for an acknowledgement, else a negative errno).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// The sequence number of the message answered.
    pub seq: u32,
    /// 0, or `-errno`.
    pub error: i32,
}

/// The `NLMSG_ERROR` replies in a buffer read from the socket (other
/// messages are skipped; a truncated tail is ignored).
pub fn replies(mut buf: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < 16 || len > buf.len() {
            break;
        }
        let kind = u16::from_ne_bytes([buf[4], buf[5]]);
        if kind == NLMSG_ERROR && len >= 16 + 4 + 16 {
            let body = &buf[16..len];
            let error = i32::from_ne_bytes([body[0], body[1], body[2], body[3]]);
            // The original header follows: its sequence number at 8..12.
            let seq = u32::from_ne_bytes([body[12], body[13], body[14], body[15]]);
            out.push(Reply { seq, error });
        }
        buf = &buf[(len + 3) & !3..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_nests_measured() {
        let mut w = Writer::default();
        w.begin(SUBSYS_NFTABLES, 6, F_REQUEST, 7, NFPROTO_INET, 0);
        w.string(1, "tx");
        w.open(4);
        w.u32(2, 0x10);
        w.close();
        w.end();
        let b = w.into_bytes();
        assert_eq!(b.len(), 16 + 4 + 8 + 4 + 8);
        assert_eq!(
            u32::from_ne_bytes(b[0..4].try_into().unwrap()) as usize,
            b.len()
        );
        assert_eq!(u16::from_ne_bytes([b[4], b[5]]), (10 << 8) | 6);
        assert_eq!(
            &b[16..20],
            &[1, 0, 0, 0],
            "family inet, version 0, res id 0"
        );
        assert_eq!(&b[20..28], &[7, 0, 1, 0, b't', b'x', 0, 0]);
        assert_eq!(&b[28..32], &[12, 0, 4, 0x80], "nested, 12 bytes");
        assert_eq!(&b[32..40], &[8, 0, 2, 0, 0, 0, 0, 0x10]);
    }

    #[test]
    fn replies_name_the_message_they_answer() {
        let mut buf = Vec::new();
        for (seq, error) in [(5u32, 0i32), (6, -2)] {
            buf.extend_from_slice(&36u32.to_ne_bytes());
            buf.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
            buf.extend_from_slice(&[0; 10]);
            buf.extend_from_slice(&error.to_ne_bytes());
            buf.extend_from_slice(&[0; 8]);
            buf.extend_from_slice(&seq.to_ne_bytes());
            buf.extend_from_slice(&[0; 4]);
        }
        assert_eq!(
            replies(&buf),
            [Reply { seq: 5, error: 0 }, Reply { seq: 6, error: -2 }]
        );
        assert!(replies(&buf[..20]).is_empty());
    }
}
