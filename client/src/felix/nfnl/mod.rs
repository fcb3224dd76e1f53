//! Incremental changes of the nftables table sent to the kernel as one
//! nf_tables netlink batch, without running `nft`.
//!
//! `nft -f` costs a process start and, before it applies anything, a dump
//! of every chain of the table (and of a set's elements for element
//! commands): tens of milliseconds at a thousand endpoints (see
//! docs/BENCHMARKS.md, Felix). The kernel needs none of that: an
//! [`Update`] is turned into `NFT_MSG_*` messages between
//! `NFNL_MSG_BATCH_BEGIN` and `NFNL_MSG_BATCH_END`, which the kernel
//! applies as one transaction (all or nothing, like `nft -f`), while the
//! whole table is still written, listed and repaired by `nft`.
//!
//! # Layout
//! - [`wire`]: message and attribute framing, replies;
//! - [`expr`]: the expressions (meta, ct, payload, cmp, range, bitwise,
//!   lookup, log, immediate);
//! - [`parse`]: the ACL compiler's rule text -> expressions, as `nft`
//!   would compile it; text it does not know is [`Unsupported`] and the
//!   change goes through `nft` instead;
//! - this module: [`encode`] an [`Update`], [`send`] the batch.
//!
//! # Example
//! ```no_run
//! use bgp_client::felix::acl::{Op, Update};
//! use bgp_client::felix::nfnl;
//!
//! let update = Update {
//!     table: "reflex".into(),
//!     ops: vec![
//!         Op::AddChain("fw-cali1".into()),
//!         Op::AddRules("fw-cali1".into(), vec!["ct state invalid drop".into()]),
//!     ],
//!     changed: vec!["chain fw-cali1".into()],
//!     deleted: vec![],
//! };
//! let batch = nfnl::encode(&update, 1).expect("the compiler's grammar");
//! nfnl::send(&batch).expect("the kernel took it");
//! ```

pub mod expr;
pub mod parse;
pub mod wire;

use std::collections::BTreeMap;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};

use crate::felix::acl::{AddressSet, InterfaceMap, Op, Update, quote};
use expr::value;
pub use parse::Unsupported;
use parse::{AnonSet, ParsedRule, TYPE_IPV4_ADDR, TYPE_IPV6_ADDR, net_range, parse_rule};
use wire::{
    F_ACK, F_APPEND, F_CREATE, F_REQUEST, MSG_BATCH_BEGIN, MSG_BATCH_END, NFPROTO_INET,
    SUBSYS_NFTABLES, Writer,
};

/// `NFT_MSG_*`.
const NEWCHAIN: u16 = 3;
const DELCHAIN: u16 = 5;
const NEWRULE: u16 = 6;
const DELRULE: u16 = 8;
const NEWSET: u16 = 9;
const DELSET: u16 = 11;
const NEWSETELEM: u16 = 12;
const DELSETELEM: u16 = 14;

/// `NFT_SET_*` flags.
const SET_ANONYMOUS: u32 = 0x1;
const SET_CONSTANT: u32 = 0x2;
const SET_INTERVAL: u32 = 0x4;
/// `NFT_SET_ELEM_INTERVAL_END`.
const ELEM_INTERVAL_END: u32 = 0x1;

/// A failed batch.
#[derive(Debug, thiserror::Error)]
pub enum NfnlError {
    /// No nfnetlink socket (no `nf_tables` in this kernel, or no right).
    #[error("cannot open an nfnetlink socket: {0}")]
    Socket(std::io::Error),
    /// Sending or receiving failed.
    #[error("nfnetlink I/O failed: {0}")]
    Io(std::io::Error),
    /// The kernel refused a message; nothing of the batch was applied.
    #[error("the kernel refused the nf_tables batch at {what}: {source}")]
    Rejected {
        /// The message refused.
        what: String,
        /// The error it gave.
        source: std::io::Error,
    },
    /// The batch is larger than [`MAX_BATCH`].
    #[error("an nf_tables batch of {0} bytes is above the netlink limit")]
    TooLarge(usize),
    /// No answer to the batch's last message within a second.
    #[error("no acknowledgement of the nf_tables batch")]
    NoAck,
}

/// An encoded batch: the bytes, and what each message does (for errors).
#[derive(Debug)]
pub struct Batch {
    bytes: Vec<u8>,
    first_seq: u32,
    what: Vec<String>,
}

impl Batch {
    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The messages between the batch markers.
    pub fn messages(&self) -> usize {
        self.what.len()
    }

    /// Whether it holds no message but the batch markers.
    pub fn is_empty(&self) -> bool {
        self.what.is_empty()
    }
}

struct Encoder<'a> {
    w: Writer,
    table: &'a str,
    seq: u32,
    first_seq: u32,
    what: Vec<String>,
    next_set_id: u32,
    /// Sets created in this batch, by name: their `NFTA_SET_ID`.
    new_sets: BTreeMap<String, u32>,
}

impl Encoder<'_> {
    fn message(&mut self, msg: u16, flags: u16, what: String) {
        self.w.begin(
            SUBSYS_NFTABLES,
            msg,
            F_REQUEST | flags,
            self.seq,
            NFPROTO_INET,
            0,
        );
        self.seq += 1;
        self.what.push(what);
    }

    fn op(&mut self, op: &Op) -> Result<(), Unsupported> {
        let table = self.table;
        match op {
            Op::AddSet(set) => self.add_set(set),
            Op::FlushSet(name) | Op::FlushMap(name) => {
                self.message(DELSETELEM, 0, format!("flush set {name}"));
                self.w.string(1, table); // NFTA_SET_ELEM_LIST_TABLE
                self.w.string(2, name); // NFTA_SET_ELEM_LIST_SET
                self.w.end();
            }
            Op::AddSetElements(set) => self.set_elements(set),
            Op::AddChain(name) => {
                self.message(NEWCHAIN, F_CREATE, format!("add chain {name}"));
                self.w.string(1, table); // NFTA_CHAIN_TABLE
                self.w.string(3, name); // NFTA_CHAIN_NAME
                self.w.end();
            }
            Op::FlushChain(name) => {
                self.message(DELRULE, 0, format!("flush chain {name}"));
                self.w.string(1, table); // NFTA_RULE_TABLE
                self.w.string(2, name); // NFTA_RULE_CHAIN
                self.w.end();
            }
            Op::AddRules(chain, rules) => {
                for rule in rules {
                    let parsed = parse_rule(rule, &mut self.next_set_id)?;
                    self.rule(chain, rule, &parsed);
                }
            }
            Op::AddMapElements(map) => self.map_elements(map)?,
            Op::DeleteChain(name) => {
                self.message(DELCHAIN, 0, format!("delete chain {name}"));
                self.w.string(1, table);
                self.w.string(3, name);
                self.w.end();
            }
            Op::DeleteSet(name) => {
                self.message(DELSET, 0, format!("delete set {name}"));
                self.w.string(1, table); // NFTA_SET_TABLE
                self.w.string(2, name); // NFTA_SET_NAME
                self.w.end();
            }
        }
        Ok(())
    }

    /// A named interval set, as `nft` creates it: key type and byte order
    /// and auto-merge in its user data, so `nft list` shows it as written.
    fn add_set(&mut self, set: &AddressSet) {
        let id = self.next_set_id;
        self.next_set_id += 1;
        self.new_sets.insert(set.name.clone(), id);
        self.message(NEWSET, F_CREATE, format!("add set {}", set.name));
        self.w.string(1, self.table); // NFTA_SET_TABLE
        self.w.string(2, &set.name); // NFTA_SET_NAME
        self.w.u32(3, SET_INTERVAL); // NFTA_SET_FLAGS
        let (key_type, key_len) = if set.ipv6 {
            (TYPE_IPV6_ADDR, 16)
        } else {
            (TYPE_IPV4_ADDR, 4)
        };
        self.w.u32(4, key_type); // NFTA_SET_KEY_TYPE
        self.w.u32(5, key_len); // NFTA_SET_KEY_LEN
        self.w.u32(10, id); // NFTA_SET_ID
        let mut udata = set_udata(true);
        // The text `nft` is given (quote() cleans and shortens it).
        let quoted = quote(&set.comment);
        let mut comment = quoted.as_bytes()[1..quoted.len() - 1].to_vec();
        comment.push(0);
        udata.push(7); // NFTNL_UDATA_SET_COMMENT
        udata.push(comment.len() as u8);
        udata.extend_from_slice(&comment);
        self.w.bytes(13, &udata); // NFTA_SET_USERDATA
        self.w.end();
    }

    fn set_elements(&mut self, set: &AddressSet) {
        let width = if set.ipv6 { 16 } else { 4 };
        let ranges: Vec<(u128, u128)> = set.elements.iter().map(net_range).collect();
        let id = self.new_sets.get(&set.name).copied();
        self.elements(&set.name, id, width, &ranges);
    }

    /// `NEWSETELEM` of interval elements: each range as its first key and
    /// (unless it ends at the top) the key after its last, flagged as an
    /// interval end; a leading end at 0 as `nft` sends it. `id` is the
    /// set's `NFTA_SET_ID` when this batch creates it.
    fn elements(&mut self, name: &str, id: Option<u32>, width: usize, ranges: &[(u128, u128)]) {
        let what = format!("add element {name}");
        self.message(NEWSETELEM, F_CREATE, what);
        self.w.string(1, self.table); // NFTA_SET_ELEM_LIST_TABLE
        self.w.string(2, name); // NFTA_SET_ELEM_LIST_SET
        if let Some(id) = id {
            self.w.u32(4, id); // NFTA_SET_ELEM_LIST_SET_ID
        }
        self.w.open(3); // NFTA_SET_ELEM_LIST_ELEMENTS
        let top = if width == 16 {
            u128::MAX
        } else {
            (1u128 << (width * 8)) - 1
        };
        let key = |v: u128| v.to_be_bytes()[16 - width..].to_vec();
        let merged = merge(ranges);
        let element = |w: &mut Writer, v: u128, end: bool| {
            w.open(1); // NFTA_LIST_ELEM
            if end {
                w.u32(3, ELEM_INTERVAL_END); // NFTA_SET_ELEM_FLAGS
            }
            value(w, 1, &key(v)); // NFTA_SET_ELEM_KEY
            w.close();
        };
        if merged.first().is_some_and(|(a, _)| *a != 0) {
            element(&mut self.w, 0, true);
        }
        for (a, b) in merged {
            element(&mut self.w, a, false);
            if b != top {
                element(&mut self.w, b + 1, true);
            }
        }
        self.w.close();
        self.w.end();
    }

    fn anon_set(&mut self, set: &AnonSet) {
        self.message(NEWSET, F_CREATE, "add anonymous set".into());
        self.w.string(1, self.table);
        self.w.string(2, "__set%d");
        self.w.u32(3, SET_ANONYMOUS | SET_CONSTANT | SET_INTERVAL);
        self.w.u32(4, set.key_type);
        self.w.u32(5, set.key_len);
        self.w.u32(10, set.id);
        self.w.bytes(13, &set_udata(false));
        self.w.end();
        self.elements("__set%d", Some(set.id), set.key_len as usize, &set.ranges);
    }

    fn rule(&mut self, chain: &str, text: &str, rule: &ParsedRule) {
        for set in &rule.anon_sets {
            self.anon_set(set);
        }
        let what = format!("add rule {chain} {text}");
        self.message(NEWRULE, F_CREATE | F_APPEND, what);
        self.w.string(1, self.table); // NFTA_RULE_TABLE
        self.w.string(2, chain); // NFTA_RULE_CHAIN
        self.w.open(4); // NFTA_RULE_EXPRESSIONS
        for e in &rule.exprs {
            e.write(&mut self.w);
        }
        self.w.close();
        if let Some(comment) = &rule.comment {
            // NFTNL_UDATA_RULE_COMMENT: type 0, length, NUL-terminated.
            let mut text: Vec<u8> = comment.bytes().filter(|b| *b != 0).take(126).collect();
            text.push(0);
            let mut udata = vec![0, text.len() as u8];
            udata.extend_from_slice(&text);
            self.w.bytes(7, &udata); // NFTA_RULE_USERDATA
        }
        self.w.end();
    }

    fn map_elements(&mut self, map: &InterfaceMap) -> Result<(), Unsupported> {
        let mut verdicts = Vec::with_capacity(map.elements.len());
        for (name, verdict) in &map.elements {
            let key = parse::ifname_key(name)
                .ok_or_else(|| Unsupported(format!("interface name {name:?}")))?;
            verdicts.push((key, parse::parse_verdict(verdict)?));
        }
        self.message(NEWSETELEM, F_CREATE, format!("add element {}", map.name));
        self.w.string(1, self.table);
        self.w.string(2, &map.name);
        self.w.open(3);
        for (key, verdict) in verdicts {
            self.w.open(1);
            value(&mut self.w, 1, &key); // NFTA_SET_ELEM_KEY
            self.w.open(2); // NFTA_SET_ELEM_DATA
            verdict.write(&mut self.w);
            self.w.close();
            self.w.close();
        }
        self.w.close();
        self.w.end();
        Ok(())
    }
}

/// Set user data as `nft` writes it: key byte order (big endian, 2) and,
/// for a named set, auto-merge. Types are libnftnl's
/// `NFTNL_UDATA_SET_KEYBYTEORDER` (0) and `_MERGE_ELEMENTS` (2).
fn set_udata(merge: bool) -> Vec<u8> {
    let mut out = vec![0, 4];
    out.extend_from_slice(&2u32.to_ne_bytes());
    if merge {
        out.extend_from_slice(&[2, 4]);
        out.extend_from_slice(&1u32.to_ne_bytes());
    }
    out
}

/// Sorted ranges with overlapping and adjacent ones joined (what `nft`'s
/// auto-merge stores).
fn merge(ranges: &[(u128, u128)]) -> Vec<(u128, u128)> {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(sorted.len());
    for (a, b) in sorted {
        match out.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The batch for `update`; message sequence numbers start at `first_seq`.
/// [`Unsupported`] when a rule uses text [`parse`] does not translate.
pub fn encode(update: &Update, first_seq: u32) -> Result<Batch, Unsupported> {
    let mut e = Encoder {
        w: Writer::default(),
        table: &update.table,
        seq: first_seq + 1,
        first_seq: first_seq + 1,
        what: Vec::new(),
        next_set_id: 1,
        new_sets: BTreeMap::new(),
    };
    e.w.begin(0, MSG_BATCH_BEGIN, F_REQUEST, first_seq, 0, SUBSYS_NFTABLES);
    e.w.end();
    for op in &update.ops {
        e.op(op)?;
    }
    let messages = e.what.len();
    let end_seq = e.seq;
    e.w.begin(0, MSG_BATCH_END, F_REQUEST, end_seq, 0, SUBSYS_NFTABLES);
    e.w.end();
    let mut bytes = e.w.into_bytes();
    if messages > 0 {
        set_ack_on_last(&mut bytes, end_seq - 1);
    }
    Ok(Batch {
        bytes,
        first_seq: e.first_seq,
        what: e.what,
    })
}

/// Add `NLM_F_ACK` to the message with sequence number `seq`.
fn set_ack_on_last(bytes: &mut [u8], seq: u32) {
    let mut at = 0;
    while at + 16 <= bytes.len() {
        let len = u32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let this = u32::from_ne_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes"));
        if this == seq {
            let flags = u16::from_ne_bytes([bytes[at + 6], bytes[at + 7]]) | F_ACK;
            bytes[at + 6..at + 8].copy_from_slice(&flags.to_ne_bytes());
            return;
        }
        at += (len + 3) & !3;
    }
}

/// Send `batch` on a new nfnetlink socket of this thread's network
/// namespace (see [`NfnlSocket::send`]). Closing an nfnetlink socket waits
/// for the kernel to free what the last transaction replaced (an RCU grace
/// period, 5-15 ms here), so Felix keeps one [`NfnlSocket`] open instead.
pub fn send(batch: &Batch) -> Result<(), NfnlError> {
    NfnlSocket::open()?.send(batch)
}

/// An nfnetlink socket of the network namespace of the thread that opened
/// it, kept open across batches.
#[derive(Debug)]
pub struct NfnlSocket {
    socket: Socket,
    buf: Vec<u8>,
}

impl NfnlSocket {
    /// Open and bind a socket (the kernel picks its port id).
    pub fn open() -> Result<Self, NfnlError> {
        let mut socket = Socket::new(NETLINK_NETFILTER).map_err(NfnlError::Socket)?;
        socket
            .bind(&SocketAddr::new(0, 0))
            .map_err(NfnlError::Socket)?;
        // Errors carry the header of the refused message, not all of it.
        let _ = socket.set_cap_ack(true);
        // Bound the wait for an answer, once for the socket's life.
        socket2::SockRef::from(&socket)
            .set_read_timeout(Some(std::time::Duration::from_secs(1)))
            .map_err(NfnlError::Socket)?;
        Ok(NfnlSocket {
            socket,
            buf: vec![0u8; 64 * 1024],
        })
    }

    /// Send `batch` and wait for the kernel's answer to its last message.
    /// The kernel handles a batch inside the `sendmsg` call, so the answer
    /// is there at once; the wait (at most a second) is only a safeguard.
    /// Replies to other sequence numbers (an earlier batch) are skipped.
    pub fn send(&mut self, batch: &Batch) -> Result<(), NfnlError> {
        if batch.is_empty() {
            return Ok(());
        }
        if batch.len() > MAX_BATCH {
            return Err(NfnlError::TooLarge(batch.len()));
        }
        grow_send_buffer(&self.socket, batch.bytes.len()).map_err(NfnlError::Socket)?;
        let kernel = SocketAddr::new(0, 0);
        self.socket
            .send_to(&batch.bytes, &kernel, 0)
            .map_err(NfnlError::Io)?;
        let first = batch.first_seq;
        let last = first + batch.what.len() as u32 - 1;
        let mut refused: Option<(u32, i32)> = None;
        loop {
            let n = match self.socket.recv(&mut &mut self.buf[..], 0) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock) => break,
                Err(e) => return Err(NfnlError::Io(e)),
            };
            for reply in wire::replies(&self.buf[..n.min(self.buf.len())]) {
                if !(first..=last).contains(&reply.seq) {
                    continue;
                }
                if reply.error != 0 && refused.is_none() {
                    refused = Some((reply.seq, reply.error));
                }
                if reply.seq == last {
                    return match refused {
                        None => Ok(()),
                        Some((seq, error)) => Err(rejected(batch, seq, error)),
                    };
                }
            }
        }
        match refused {
            Some((seq, error)) => Err(rejected(batch, seq, error)),
            None => Err(NfnlError::NoAck),
        }
    }
}

fn rejected(batch: &Batch, seq: u32, error: i32) -> NfnlError {
    let what = seq
        .checked_sub(batch.first_seq)
        .and_then(|i| batch.what.get(i as usize))
        .cloned()
        .unwrap_or_else(|| format!("message {seq}"));
    NfnlError::Rejected {
        what,
        source: std::io::Error::from_raw_os_error(-error),
    }
}

/// The largest batch sent through netlink: the kernel refuses a message
/// above the socket's send buffer, which `SO_SNDBUF` raises to twice
/// `net.core.wmem_max` at most (425,984 bytes by default). A larger change
/// is many endpoints at once, for which running `nft` costs little more.
pub const MAX_BATCH: usize = 400 * 1024;

/// Raise the send buffer for a large batch (the default holds about
/// 200 kB); smaller batches need no system call.
fn grow_send_buffer(socket: &Socket, len: usize) -> std::io::Result<()> {
    if len > 100 * 1024 {
        socket2::SockRef::from(socket).set_send_buffer_size(len)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
