//! nf_tables expressions: the kernel's rule bytecode, one register
//! machine step each (`include/uapi/linux/netfilter/nf_tables.h`).
//!
//! A rule is a list of expressions, each an `NFTA_LIST_ELEM` holding its
//! name and its attributes:
//!
//! ```text
//! NFTA_RULE_EXPRESSIONS
//! +- NFTA_LIST_ELEM
//! |  +- NFTA_EXPR_NAME  "payload"
//! |  +- NFTA_EXPR_DATA  { DREG 1, BASE transport, OFFSET 2, LEN 2 }
//! +- NFTA_LIST_ELEM
//!    +- NFTA_EXPR_NAME  "cmp"
//!    +- NFTA_EXPR_DATA  { SREG 1, OP eq, DATA { VALUE 00 50 } }
//! ```

use super::wire::Writer;

/// `NFT_REG_VERDICT`.
pub const REG_VERDICT: u32 = 0;
/// `NFT_REG_1`: the first 16-byte data register.
pub const REG_1: u32 = 1;

/// `NFT_META_*` keys used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    /// `NFT_META_MARK`.
    Mark = 3,
    /// `NFT_META_IIFNAME`.
    IifName = 6,
    /// `NFT_META_OIFNAME`.
    OifName = 7,
    /// `NFT_META_NFPROTO`.
    NfProto = 15,
    /// `NFT_META_L4PROTO`.
    L4Proto = 16,
}

/// `NFT_PAYLOAD_*_HEADER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// `NFT_PAYLOAD_NETWORK_HEADER`.
    Network = 1,
    /// `NFT_PAYLOAD_TRANSPORT_HEADER`.
    Transport = 2,
}

/// `NFT_CMP_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `NFT_CMP_EQ`.
    Eq = 0,
    /// `NFT_CMP_NEQ`.
    Neq = 1,
}

/// A verdict (`NFTA_VERDICT_CODE`, with a chain for jump and goto).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `NF_DROP`.
    Drop,
    /// `NF_ACCEPT`.
    Accept,
    /// `NFT_RETURN`.
    Return,
    /// `NFT_JUMP`.
    Jump(String),
    /// `NFT_GOTO`.
    Goto(String),
}

impl Verdict {
    fn code(&self) -> i32 {
        match self {
            Verdict::Drop => 0,
            Verdict::Accept => 1,
            Verdict::Jump(_) => -3,
            Verdict::Goto(_) => -4,
            Verdict::Return => -5,
        }
    }

    /// Write `NFTA_DATA_VERDICT { CODE, CHAIN }` (the caller opens the
    /// attribute that holds it).
    pub fn write(&self, w: &mut Writer) {
        w.open(2); // NFTA_DATA_VERDICT
        w.u32(1, self.code() as u32); // NFTA_VERDICT_CODE
        if let Verdict::Jump(chain) | Verdict::Goto(chain) = self {
            w.string(2, chain); // NFTA_VERDICT_CHAIN
        }
        w.close();
    }
}

/// Where a lookup finds its set: by name (a set that exists) or by the
/// batch-local id of an anonymous set created in the same batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetRef {
    /// A named set of the table.
    Named(String),
    /// `__set%d` with this `NFTA_SET_ID`.
    Anonymous(u32),
}

/// One expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `meta load KEY => reg 1`.
    Meta(MetaKey),
    /// `meta set mark with reg 1`.
    MetaSetMark,
    /// `ct load state => reg 1`.
    CtState,
    /// `payload load LEN @ BASE + OFFSET => reg 1`.
    Payload {
        /// The header.
        base: Base,
        /// Offset in it, in bytes.
        offset: u32,
        /// Bytes loaded.
        len: u32,
    },
    /// `cmp OP reg 1 DATA`.
    Cmp(CmpOp, Vec<u8>),
    /// `range OP reg 1 FROM TO` (inclusive, compared as big-endian bytes).
    Range {
        /// `NFT_RANGE_NEQ` rather than `NFT_RANGE_EQ`.
        negate: bool,
        /// Lowest value.
        from: Vec<u8>,
        /// Highest value.
        to: Vec<u8>,
    },
    /// `bitwise reg 1 = (reg 1 & MASK) ^ XOR`.
    Bitwise {
        /// And-mask.
        mask: Vec<u8>,
        /// Then exclusive-or.
        xor: Vec<u8>,
    },
    /// `lookup reg 1 set S` (to the verdict register for a vmap).
    Lookup {
        /// The set.
        set: SetRef,
        /// Match when absent.
        negate: bool,
        /// A verdict map: the element's verdict is applied.
        verdict_map: bool,
    },
    /// `log prefix P`.
    Log(String),
    /// `immediate reg 0 VERDICT`.
    Verdict(Verdict),
}

impl Expr {
    /// Write this expression as one `NFTA_LIST_ELEM`.
    pub fn write(&self, w: &mut Writer) {
        w.open(1); // NFTA_LIST_ELEM
        let name = match self {
            Expr::Meta(_) | Expr::MetaSetMark => "meta",
            Expr::CtState => "ct",
            Expr::Payload { .. } => "payload",
            Expr::Cmp(..) => "cmp",
            Expr::Range { .. } => "range",
            Expr::Bitwise { .. } => "bitwise",
            Expr::Lookup { .. } => "lookup",
            Expr::Log(_) => "log",
            Expr::Verdict(_) => "immediate",
        };
        w.string(1, name); // NFTA_EXPR_NAME
        w.open(2); // NFTA_EXPR_DATA
        match self {
            Expr::Meta(key) => {
                w.u32(2, *key as u32); // NFTA_META_KEY
                w.u32(1, REG_1); // NFTA_META_DREG
            }
            Expr::MetaSetMark => {
                w.u32(2, MetaKey::Mark as u32);
                w.u32(3, REG_1); // NFTA_META_SREG
            }
            Expr::CtState => {
                w.u32(2, 0); // NFTA_CT_KEY: NFT_CT_STATE
                w.u32(1, REG_1); // NFTA_CT_DREG
            }
            Expr::Payload { base, offset, len } => {
                w.u32(1, REG_1); // NFTA_PAYLOAD_DREG
                w.u32(2, *base as u32); // NFTA_PAYLOAD_BASE
                w.u32(3, *offset); // NFTA_PAYLOAD_OFFSET
                w.u32(4, *len); // NFTA_PAYLOAD_LEN
            }
            Expr::Cmp(op, data) => {
                w.u32(1, REG_1); // NFTA_CMP_SREG
                w.u32(2, *op as u32); // NFTA_CMP_OP
                value(w, 3, data); // NFTA_CMP_DATA
            }
            Expr::Range { negate, from, to } => {
                w.u32(1, REG_1); // NFTA_RANGE_SREG
                w.u32(2, u32::from(*negate)); // NFTA_RANGE_OP
                value(w, 3, from); // NFTA_RANGE_FROM_DATA
                value(w, 4, to); // NFTA_RANGE_TO_DATA
            }
            Expr::Bitwise { mask, xor } => {
                w.u32(1, REG_1); // NFTA_BITWISE_SREG
                w.u32(2, REG_1); // NFTA_BITWISE_DREG
                w.u32(6, 0); // NFTA_BITWISE_OP: NFT_BITWISE_BOOL
                w.u32(3, mask.len() as u32); // NFTA_BITWISE_LEN
                value(w, 4, mask); // NFTA_BITWISE_MASK
                value(w, 5, xor); // NFTA_BITWISE_XOR
            }
            Expr::Lookup {
                set,
                negate,
                verdict_map,
            } => {
                w.u32(2, REG_1); // NFTA_LOOKUP_SREG
                match set {
                    SetRef::Named(name) => w.string(1, name), // NFTA_LOOKUP_SET
                    SetRef::Anonymous(id) => {
                        w.string(1, "__set%d");
                        w.u32(4, *id); // NFTA_LOOKUP_SET_ID
                    }
                }
                if *verdict_map {
                    w.u32(3, REG_VERDICT); // NFTA_LOOKUP_DREG
                }
                if *negate {
                    w.u32(5, 1); // NFTA_LOOKUP_FLAGS: NFT_LOOKUP_F_INV
                }
            }
            Expr::Log(prefix) => w.string(2, prefix), // NFTA_LOG_PREFIX
            Expr::Verdict(verdict) => {
                w.u32(1, REG_VERDICT); // NFTA_IMMEDIATE_DREG
                w.open(2); // NFTA_IMMEDIATE_DATA
                verdict.write(w);
                w.close();
            }
        }
        w.close();
        w.close();
    }
}

/// `KIND { NFTA_DATA_VALUE bytes }`.
pub fn value(w: &mut Writer, kind: u16, data: &[u8]) {
    w.open(kind);
    w.bytes(1, data); // NFTA_DATA_VALUE
    w.close();
}
