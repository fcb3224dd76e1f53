//! The rule text the ACL compiler writes, turned into nf_tables
//! expressions as `nft` 1.0 would turn it (same loads, same dependencies).
//!
//! Only the grammar the compiler emits is understood; anything else is
//! [`Unsupported`], and the caller falls back to `nft -f` for that change.
//!
//! | text | expressions |
//! |---|---|
//! | `ct state established,related` | ct state, bitwise mask, cmp != 0 |
//! | `meta mark set meta mark & M`, `\| X` | meta mark, bitwise, meta set mark |
//! | `meta mark & M == V`, `!= V` | meta mark, bitwise, cmp |
//! | `meta nfproto ipv4`, `meta l4proto [!=] N` | meta, cmp |
//! | `iifname vmap @m`, `iifname "cali*"` | meta iifname, lookup or cmp |
//! | `ip saddr [!=] 10.0.0.0/8`, `@set`, `{ ... }` | (nfproto), payload, bitwise, cmp / lookup |
//! | `th dport [!=] 80`, `8000-8100`, `{ ... }` | payload, cmp / range / lookup |
//! | `icmp type [!=] N [icmp code C]` | (l4proto), payload, cmp |
//! | `log prefix "p"`, verdicts, `comment "c"` | log, immediate, rule user data |

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::expr::{Base, CmpOp, Expr, MetaKey, SetRef, Verdict};

/// Text this module does not translate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not translatable to nf_tables netlink: {0}")]
pub struct Unsupported(pub String);

/// `NFPROTO_IPV4`, `NFPROTO_IPV6`.
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;
/// nft's datatypes for set keys: `ipv4_addr`, `ipv6_addr`, `inet_service`.
pub const TYPE_IPV4_ADDR: u32 = 7;
/// `ipv6_addr`.
pub const TYPE_IPV6_ADDR: u32 = 8;
/// `inet_service`.
pub const TYPE_INET_SERVICE: u32 = 13;

/// An anonymous interval set a rule needs (`{ 80, 443, 8000-8100 }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnonSet {
    /// Its `NFTA_SET_ID` within the batch.
    pub id: u32,
    /// nft's datatype of the key.
    pub key_type: u32,
    /// Key length in bytes.
    pub key_len: u32,
    /// Inclusive ranges of the key, as numbers.
    pub ranges: Vec<(u128, u128)>,
}

/// One rule, ready to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRule {
    /// Its expressions.
    pub exprs: Vec<Expr>,
    /// The anonymous sets it looks up (sent before it).
    pub anon_sets: Vec<AnonSet>,
    /// Its comment (rule user data).
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Str(String),
}

fn tokens(text: &str) -> Result<Vec<Token>, Unsupported> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => s.push(c),
                    None => return Err(Unsupported(format!("unterminated string in {text:?}"))),
                }
            }
            out.push(Token::Str(s));
        } else {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                s.push(c);
                chars.next();
            }
            out.push(Token::Word(s));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    text: &'a str,
    /// The IP family a match already established (`meta nfproto`).
    nfproto: Option<u8>,
    /// The transport protocol a match already established.
    l4proto: Option<u8>,
    next_set_id: &'a mut u32,
    rule: ParsedRule,
}

impl Parser<'_> {
    fn unsupported(&self, what: &str) -> Unsupported {
        Unsupported(format!("{what} in {:?}", self.text))
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn word(&mut self) -> Result<String, Unsupported> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Word(w)) => {
                self.at += 1;
                Ok(w)
            }
            _ => Err(self.unsupported("a word expected")),
        }
    }

    fn string(&mut self) -> Result<String, Unsupported> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Str(s)) => {
                self.at += 1;
                Ok(s)
            }
            _ => Err(self.unsupported("a string expected")),
        }
    }

    fn expect(&mut self, word: &str) -> Result<(), Unsupported> {
        if self.word()? == word {
            Ok(())
        } else {
            Err(self.unsupported(&format!("{word:?} expected")))
        }
    }

    /// `!=` (consumed) or `==` (consumed) or nothing.
    fn negation(&mut self) -> bool {
        match self.peek() {
            Some(Token::Word(w)) if w == "!=" => {
                self.at += 1;
                true
            }
            Some(Token::Word(w)) if w == "==" => {
                self.at += 1;
                false
            }
            _ => false,
        }
    }

    fn push(&mut self, expr: Expr) {
        self.rule.exprs.push(expr);
    }

    fn number(&self, text: &str) -> Result<u32, Unsupported> {
        let parsed = match text.strip_prefix("0x") {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => text.parse(),
        };
        parsed.map_err(|_| self.unsupported(&format!("number {text:?}")))
    }

    /// `{ a, b, c }` (the opening brace already read): the items.
    fn list(&mut self) -> Result<Vec<String>, Unsupported> {
        let mut items = Vec::new();
        loop {
            let w = self.word()?;
            if w == "}" {
                return Ok(items);
            }
            let item = w.trim_end_matches(',');
            if !item.is_empty() {
                items.push(item.to_string());
            }
        }
    }

    fn anon_set(&mut self, key_type: u32, key_len: u32, ranges: Vec<(u128, u128)>) -> u32 {
        let id = *self.next_set_id;
        *self.next_set_id += 1;
        self.rule.anon_sets.push(AnonSet {
            id,
            key_type,
            key_len,
            ranges,
        });
        id
    }

    fn statement(&mut self) -> Result<(), Unsupported> {
        let w = self.word()?;
        match w.as_str() {
            "ct" => self.ct(),
            "meta" => self.meta(),
            "iifname" | "oifname" => self.ifname(w == "iifname"),
            "ip" | "ip6" => self.address(w == "ip6"),
            "th" => self.port(),
            "icmp" | "icmpv6" => self.icmp(w == "icmpv6"),
            "log" => {
                self.expect("prefix")?;
                let prefix = self.string()?;
                self.push(Expr::Log(prefix));
                Ok(())
            }
            "accept" => self.verdict(Verdict::Accept),
            "drop" => self.verdict(Verdict::Drop),
            "return" => self.verdict(Verdict::Return),
            "jump" => {
                let chain = self.word()?;
                self.verdict(Verdict::Jump(chain))
            }
            "goto" => {
                let chain = self.word()?;
                self.verdict(Verdict::Goto(chain))
            }
            "comment" => {
                self.rule.comment = Some(self.string()?);
                if self.peek().is_some() {
                    return Err(self.unsupported("text after the comment"));
                }
                Ok(())
            }
            other => Err(self.unsupported(&format!("statement {other:?}"))),
        }
    }

    fn verdict(&mut self, verdict: Verdict) -> Result<(), Unsupported> {
        self.push(Expr::Verdict(verdict));
        match self.peek() {
            None => Ok(()),
            Some(Token::Word(w)) if w == "comment" => Ok(()),
            Some(_) => Err(self.unsupported("text after the verdict")),
        }
    }

    fn ct(&mut self) -> Result<(), Unsupported> {
        self.expect("state")?;
        let negate = self.negation();
        let mut bits = 0u32;
        for state in self.word()?.split(',') {
            bits |= match state {
                "invalid" => 1,
                "established" => 2,
                "related" => 4,
                "new" => 8,
                "untracked" => 64,
                other => return Err(self.unsupported(&format!("ct state {other:?}"))),
            };
        }
        self.push(Expr::CtState);
        self.push(Expr::Bitwise {
            mask: bits.to_ne_bytes().to_vec(),
            xor: vec![0; 4],
        });
        let op = if negate { CmpOp::Eq } else { CmpOp::Neq };
        self.push(Expr::Cmp(op, vec![0; 4]));
        Ok(())
    }

    fn meta(&mut self) -> Result<(), Unsupported> {
        match self.word()?.as_str() {
            "mark" => self.mark(),
            "nfproto" => {
                let negate = self.negation();
                let proto = match self.word()?.as_str() {
                    "ipv4" => NFPROTO_IPV4,
                    "ipv6" => NFPROTO_IPV6,
                    other => return Err(self.unsupported(&format!("nfproto {other:?}"))),
                };
                if !negate {
                    self.nfproto = Some(proto);
                }
                self.push(Expr::Meta(MetaKey::NfProto));
                self.push(Expr::Cmp(cmp_op(negate), vec![proto]));
                Ok(())
            }
            "l4proto" => {
                let negate = self.negation();
                let text = self.word()?;
                let proto = u8::try_from(self.number(&text)?)
                    .map_err(|_| self.unsupported("l4proto above 255"))?;
                if !negate {
                    self.l4proto = Some(proto);
                }
                self.push(Expr::Meta(MetaKey::L4Proto));
                self.push(Expr::Cmp(cmp_op(negate), vec![proto]));
                Ok(())
            }
            other => Err(self.unsupported(&format!("meta {other:?}"))),
        }
    }

    /// `meta mark set meta mark & M`, `meta mark set meta mark | X`,
    /// `meta mark & M == V`, `meta mark & M != V`.
    fn mark(&mut self) -> Result<(), Unsupported> {
        let set = matches!(self.peek(), Some(Token::Word(w)) if w == "set");
        if set {
            self.at += 1;
            self.expect("meta")?;
            self.expect("mark")?;
        }
        let op = self.word()?;
        let text = self.word()?;
        let operand = self.number(&text)?;
        let (mask, xor) = match op.as_str() {
            "&" => (operand, 0),
            "|" if set => (!operand, operand),
            other => return Err(self.unsupported(&format!("mark operator {other:?}"))),
        };
        self.push(Expr::Meta(MetaKey::Mark));
        self.push(Expr::Bitwise {
            mask: mask.to_ne_bytes().to_vec(),
            xor: xor.to_ne_bytes().to_vec(),
        });
        if set {
            self.push(Expr::MetaSetMark);
            return Ok(());
        }
        let negate = match self.word()?.as_str() {
            "==" => false,
            "!=" => true,
            other => return Err(self.unsupported(&format!("mark comparison {other:?}"))),
        };
        let text = self.word()?;
        let value = self.number(&text)?;
        self.push(Expr::Cmp(cmp_op(negate), value.to_ne_bytes().to_vec()));
        Ok(())
    }

    fn ifname(&mut self, input: bool) -> Result<(), Unsupported> {
        let key = if input {
            MetaKey::IifName
        } else {
            MetaKey::OifName
        };
        if matches!(self.peek(), Some(Token::Word(w)) if w == "vmap") {
            self.at += 1;
            let map = self.word()?;
            let Some(name) = map.strip_prefix('@') else {
                return Err(self.unsupported("an anonymous verdict map"));
            };
            self.push(Expr::Meta(key));
            self.push(Expr::Lookup {
                set: SetRef::Named(name.to_string()),
                negate: false,
                verdict_map: true,
            });
            return Ok(());
        }
        let negate = self.negation();
        let name = self.string()?;
        let data = match name.strip_suffix('*') {
            Some(prefix) if !prefix.is_empty() && !prefix.contains('*') => {
                prefix.as_bytes().to_vec()
            }
            Some(_) => return Err(self.unsupported("an interface pattern")),
            None if name.contains('*') => return Err(self.unsupported("an interface pattern")),
            None => ifname_key(&name).ok_or_else(|| self.unsupported("a long interface name"))?,
        };
        self.push(Expr::Meta(key));
        self.push(Expr::Cmp(cmp_op(negate), data));
        Ok(())
    }

    fn address(&mut self, v6: bool) -> Result<(), Unsupported> {
        let offset = match (self.word()?.as_str(), v6) {
            ("saddr", false) => 12,
            ("daddr", false) => 16,
            ("saddr", true) => 8,
            ("daddr", true) => 24,
            (other, _) => return Err(self.unsupported(&format!("address field {other:?}"))),
        };
        let len: u32 = if v6 { 16 } else { 4 };
        let proto = if v6 { NFPROTO_IPV6 } else { NFPROTO_IPV4 };
        match self.nfproto {
            Some(p) if p == proto => {}
            Some(_) => return Err(self.unsupported("addresses of two IP versions")),
            None => {
                self.push(Expr::Meta(MetaKey::NfProto));
                self.push(Expr::Cmp(CmpOp::Eq, vec![proto]));
                self.nfproto = Some(proto);
            }
        }
        let negate = self.negation();
        let value = self.word()?;
        let payload = Expr::Payload {
            base: Base::Network,
            offset,
            len,
        };
        if let Some(set) = value.strip_prefix('@') {
            self.push(payload);
            self.push(Expr::Lookup {
                set: SetRef::Named(set.to_string()),
                negate,
                verdict_map: false,
            });
            return Ok(());
        }
        if value == "{" {
            let mut ranges = Vec::new();
            for item in self.list()? {
                let net = self.network(&item, v6)?;
                ranges.push(net_range(&net));
            }
            let key_type = if v6 { TYPE_IPV6_ADDR } else { TYPE_IPV4_ADDR };
            let id = self.anon_set(key_type, len, ranges);
            self.push(payload);
            self.push(Expr::Lookup {
                set: SetRef::Anonymous(id),
                negate,
                verdict_map: false,
            });
            return Ok(());
        }
        let net = self.network(&value, v6)?;
        self.push(payload);
        let (first, _) = net_range(&net);
        let width = len as usize;
        let bytes = |v: u128| v.to_be_bytes()[16 - width..].to_vec();
        let full = u32::from(net.prefix()) == len * 8;
        if !full {
            let bits = u32::from(net.prefix());
            let mask = if bits == 0 {
                0
            } else {
                (u128::MAX << (128 - bits)) >> (128 - len * 8)
            };
            self.push(Expr::Bitwise {
                mask: bytes(mask),
                xor: vec![0; width],
            });
        }
        self.push(Expr::Cmp(cmp_op(negate), bytes(first)));
        Ok(())
    }

    fn network(&self, text: &str, v6: bool) -> Result<IpNetwork, Unsupported> {
        let net = text
            .parse::<IpNetwork>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNetwork::from))
            .map_err(|_| self.unsupported(&format!("address {text:?}")))?;
        if net.is_ipv6() != v6 {
            return Err(self.unsupported("an address of the other IP version"));
        }
        Ok(net)
    }

    fn port(&mut self) -> Result<(), Unsupported> {
        let offset = match self.word()?.as_str() {
            "sport" => 0,
            "dport" => 2,
            other => return Err(self.unsupported(&format!("th {other:?}"))),
        };
        let negate = self.negation();
        let value = self.word()?;
        self.push(Expr::Payload {
            base: Base::Transport,
            offset,
            len: 2,
        });
        if value == "{" {
            let mut ranges = Vec::new();
            for item in self.list()? {
                let (a, b) = self.port_range(&item)?;
                ranges.push((u128::from(a), u128::from(b)));
            }
            let id = self.anon_set(TYPE_INET_SERVICE, 2, ranges);
            self.push(Expr::Lookup {
                set: SetRef::Anonymous(id),
                negate,
                verdict_map: false,
            });
            return Ok(());
        }
        let (a, b) = self.port_range(&value)?;
        if a == b {
            self.push(Expr::Cmp(cmp_op(negate), a.to_be_bytes().to_vec()));
        } else {
            self.push(Expr::Range {
                negate,
                from: a.to_be_bytes().to_vec(),
                to: b.to_be_bytes().to_vec(),
            });
        }
        Ok(())
    }

    fn port_range(&self, text: &str) -> Result<(u16, u16), Unsupported> {
        let parse = |t: &str| {
            t.parse::<u16>()
                .map_err(|_| self.unsupported(&format!("port {t:?}")))
        };
        match text.split_once('-') {
            Some((a, b)) => Ok((parse(a)?, parse(b)?)),
            None => {
                let p = parse(text)?;
                Ok((p, p))
            }
        }
    }

    fn icmp(&mut self, v6: bool) -> Result<(), Unsupported> {
        let proto = if v6 { 58 } else { 1 };
        match self.l4proto {
            Some(p) if p == proto => {}
            Some(_) => return Err(self.unsupported("icmp on another protocol")),
            None => {
                self.push(Expr::Meta(MetaKey::L4Proto));
                self.push(Expr::Cmp(CmpOp::Eq, vec![proto]));
                self.l4proto = Some(proto);
            }
        }
        let offset = match self.word()?.as_str() {
            "type" => 0,
            "code" => 1,
            other => return Err(self.unsupported(&format!("icmp {other:?}"))),
        };
        let negate = self.negation();
        let text = self.word()?;
        let value = u8::try_from(self.number(&text)?)
            .map_err(|_| self.unsupported("an ICMP value above 255"))?;
        self.push(Expr::Payload {
            base: Base::Transport,
            offset,
            len: 1,
        });
        self.push(Expr::Cmp(cmp_op(negate), vec![value]));
        Ok(())
    }
}

fn cmp_op(negate: bool) -> CmpOp {
    if negate { CmpOp::Neq } else { CmpOp::Eq }
}

/// An interface name as the kernel compares it: 16 bytes, NUL padded.
pub fn ifname_key(name: &str) -> Option<Vec<u8>> {
    if name.len() >= 16 {
        return None;
    }
    let mut key = name.as_bytes().to_vec();
    key.resize(16, 0);
    Some(key)
}

/// The first and last address of a network, as numbers.
pub fn net_range(net: &IpNetwork) -> (u128, u128) {
    match net {
        IpNetwork::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNetwork::V6(n) => {
            let first = u128::from(n.network());
            let host_bits = 128 - u32::from(n.prefix());
            let last = if host_bits == 128 {
                u128::MAX
            } else {
                first | ((1u128 << host_bits) - 1)
            };
            (first, last)
        }
    }
}

/// Parse one rule; `next_set_id` numbers its anonymous sets.
pub fn parse_rule(text: &str, next_set_id: &mut u32) -> Result<ParsedRule, Unsupported> {
    let mut parser = Parser {
        tokens: tokens(text)?,
        at: 0,
        text,
        nfproto: None,
        l4proto: None,
        next_set_id,
        rule: ParsedRule {
            exprs: Vec::new(),
            anon_sets: Vec::new(),
            comment: None,
        },
    };
    while parser.peek().is_some() {
        parser.statement()?;
    }
    Ok(parser.rule)
}

/// Parse a map element's verdict (`goto fw-cali1`, `accept`...).
pub fn parse_verdict(text: &str) -> Result<Verdict, Unsupported> {
    let mut words = text.split_whitespace();
    let verdict = match (words.next(), words.next()) {
        (Some("accept"), None) => Verdict::Accept,
        (Some("drop"), None) => Verdict::Drop,
        (Some("return"), None) => Verdict::Return,
        (Some("jump"), Some(chain)) => Verdict::Jump(chain.to_string()),
        (Some("goto"), Some(chain)) => Verdict::Goto(chain.to_string()),
        _ => return Err(Unsupported(format!("verdict {text:?}"))),
    };
    if words.next().is_some() {
        return Err(Unsupported(format!("verdict {text:?}")));
    }
    Ok(verdict)
}
