//! What can be wrong with a configuration file, and where: each finding is
//! a [`Diagnostic`] with a [`Problem`] (an enum, so tests tell findings
//! apart without parsing text), the [`FieldPath`] of the value
//! (`reflector[1].address`) and its [`Location`]. A [`Report`] prints them
//! like a compiler, the reflector's format:
//!
//! ```text
//! client.toml:9:11: reflector[1].address: the node has no IPv6 address to reach this reflector from
//! client.toml:1:1: warning: reflector: one reflector only: losing it withdraws every learned route
//! ```

use std::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

/// How bad a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The file is still used.
    Warning,
    /// The file is rejected.
    Error,
}

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A key of a table.
    Key(String),
    /// An element of an array.
    Index(usize),
}

/// Where a value sits in the document: `export.rule[0].kinds[1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The path of `keys` (no indexes).
    pub fn of(keys: &[&str]) -> Self {
        FieldPath(keys.iter().map(|k| Segment::Key(k.to_string())).collect())
    }

    /// This path with a key added.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.to_string()));
        path
    }

    /// This path with an index added.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }

    /// The path `serde_path_to_error` tracked.
    pub fn from_serde(path: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment as S;
        FieldPath(
            path.iter()
                .filter_map(|segment| match segment {
                    S::Seq { index } => Some(Segment::Index(*index)),
                    S::Map { key } => Some(Segment::Key(key.clone())),
                    S::Enum { variant } => Some(Segment::Key(variant.clone())),
                    S::Unknown => None,
                })
                .collect(),
        )
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A position in the file, counted from 1 (columns in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// Line.
    pub line: usize,
    /// Column.
    pub column: usize,
}

impl Location {
    /// The line and column of byte `offset` of `text`.
    pub fn of_offset(text: &str, offset: usize) -> Self {
        let before = text.get(..offset.min(text.len())).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Everything a check can find.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Not TOML.
    #[error("{message}")]
    Syntax {
        /// The parser's words.
        message: String,
    },
    /// TOML, but not of the schema (unknown key, wrong type, bad address).
    #[error("{message}")]
    Schema {
        /// The deserializer's words.
        message: String,
    },
    /// AS 0.
    #[error("AS 0 cannot be used (RFC 7607)")]
    ReservedAs,
    /// Neither `router_id` nor `ipv4`.
    #[error("no router_id, and no ipv4 address to take it from")]
    NoRouterId,
    /// No `[[reflector]]`.
    #[error("no reflectors configured")]
    NoReflectors,
    /// Exactly one reflector.
    #[error("one reflector only: losing it withdraws every learned route after the restart time")]
    OneReflector,
    /// A reflector listed twice.
    #[error("reflector {0} is listed twice")]
    DuplicateReflector(IpAddr),
    /// A reflector of a family the node has no address of.
    #[error("the node has no {family} address to reach this reflector from")]
    NoLocalAddress {
        /// `IPv4` or `IPv6`.
        family: &'static str,
    },
    /// Restart time over 12 bits.
    #[error("must be at most 4095 seconds (RFC 4724 section 3), not {0}")]
    RestartTime(u32),
    /// Hold time 1 or 2.
    #[error("must be 0 or at least 3 seconds (RFC 4271 section 4.2), not {0}")]
    HoldTime(u16),
    /// A route type nobody knows.
    #[error("unknown route type {0:?} (unicast, blackhole, unreachable, prohibit, local, ...)")]
    UnknownKind(String),
    /// A protocol name nobody knows.
    #[error("unknown protocol {0:?} (kernel, boot, static, dhcp, ... or a number)")]
    UnknownProtocol(String),
    /// Protocol 186 in an export rule: never exported anyway.
    #[error("protocol 186 is Reflex's own: such routes are never exported")]
    OwnProtocol,
    /// `[min, max]` out of order or too long.
    #[error("[{0}, {1}] is not a range of prefix lengths (min <= max <= 128)")]
    PrefixLengths(u8, u8),
    /// A pool with host bits.
    #[error("{0} has host bits set; {1} is meant")]
    HostBits(IpNetwork, IpNetwork),
    /// No export rule.
    #[error("no export rules: this node advertises nothing")]
    NothingExported,
    /// Table 0 (unspecified) or 255 (local).
    #[error("table {0} cannot hold learned routes (0 is unspecified, 255 the local table)")]
    ReservedTable(u32),
    /// An empty interface pattern.
    #[error("an empty interface pattern matches nothing")]
    EmptyPattern,
    /// The API on an address other hosts can reach.
    #[error(
        "the API has no authentication: {0} is reachable from other hosts (use a loopback address)"
    )]
    ApiNotLoopback(std::net::SocketAddr),
    /// A log filter that does not parse.
    #[error("invalid log filter {0:?}: {1}")]
    LogFilter(String, String),
    /// No AS and no datastore to take it from.
    #[error("required (it may only be left out with a [datastore])")]
    MissingAsn,
    /// `[datastore]` without endpoints.
    #[error("no endpoints: give at least one etcd client URL")]
    NoEndpoints,
    /// An endpoint that is not an http(s) URL.
    #[error("{0:?} is not an etcd client URL (http://HOST:PORT or https://HOST:PORT)")]
    BadEndpoint(String),
    /// A client certificate without its key, or the other way round.
    #[error("a client certificate needs both cert_file and key_file")]
    HalfClientCertificate,
    /// A user name without a password, or the other way round.
    #[error("etcd authentication needs both username and password")]
    HalfCredentials,
    /// `export.pools` with a datastore: its IPPools are used instead.
    #[error("ignored with a [datastore]: its enabled IPPools are the pools")]
    PoolsFromDatastore,
    /// `[felix]` reading the datastore without a `[datastore]`.
    #[error("source \"datastore\" needs a [datastore] section")]
    FelixWithoutDatastore,
    /// `[felix]` reading a file that is not named.
    #[error("source \"file\" needs `file`, the resources to program")]
    FelixWithoutFile,
    /// Endpoint status keys asked for without a datastore to write them to.
    #[error("endpoint status is written to the datastore only: ignored with source \"file\"")]
    FelixReportsWithoutDatastore,
    /// A reconcile interval out of range.
    #[error("must be 1 to 3600 seconds, not {0}")]
    FelixInterval(u32),
    /// An interface prefix that cannot start an interface name.
    #[error("{0:?} is not an interface name prefix (1 to 14 letters, digits, `-`, `_`, `.`)")]
    FelixPrefix(String),
    /// `export.blocks` without a datastore to read affinities from.
    #[error("ignored without a [datastore]: block affinities are read from it")]
    BlocksNeedDatastore,
    /// A blackhole protocol number that belongs to another route owner.
    #[error("protocol {0} is taken (0 unspecified, 186 the installed routes, 80 Felix)")]
    BlockProtocolTaken(u8),
}

impl Problem {
    /// Error or warning.
    pub fn severity(&self) -> Severity {
        match self {
            Problem::OneReflector
            | Problem::HostBits(..)
            | Problem::NothingExported
            | Problem::OwnProtocol
            | Problem::PoolsFromDatastore
            | Problem::FelixReportsWithoutDatastore
            | Problem::BlocksNeedDatastore
            | Problem::ApiNotLoopback(_) => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The value it is about.
    pub path: FieldPath,
    /// Where that value is.
    pub location: Option<Location>,
    /// What is wrong.
    pub problem: Problem,
}

impl Diagnostic {
    /// A finding about `path`, not located yet.
    pub fn new(path: FieldPath, problem: Problem) -> Self {
        Diagnostic {
            path,
            location: None,
            problem,
        }
    }

    /// Is it an error?
    pub fn is_error(&self) -> bool {
        self.problem.severity() == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `line:column: [warning: ]path: problem`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = self.location {
            write!(f, "{location}: ")?;
        }
        if !self.is_error() {
            f.write_str("warning: ")?;
        }
        if !self.path.0.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.problem)
    }
}

/// The findings about one file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// The file's name as given.
    pub source: String,
    /// Findings in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// Any error?
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Each finding on a line, after the file name.
    pub fn lines(&self) -> Vec<String> {
        self.diagnostics
            .iter()
            .map(|d| match d.location {
                Some(_) => format!("{}:{d}", self.source),
                None => format!("{}: {d}", self.source),
            })
            .collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.lines() {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Report {}
