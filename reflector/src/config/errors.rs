//! What can be wrong with a configuration file, and where.
//!
//! Every finding is a [`Diagnostic`]: a [`Problem`] (an enum, so tests and
//! the API can tell findings apart without parsing text), the [`FieldPath`]
//! of the value it is about (`neighbor[1].hold_time`), and the
//! [`Location`] (line and column) of that value in the file. Problems are
//! errors or warnings ([`Problem::severity`]); a file with an error is not
//! used. A [`Report`] prints them one per line, like a compiler:
//!
//! ```text
//! reflector.toml:12:13: neighbor[1].hold_time: must be 0 or at least 3 seconds (RFC 4271 section 4.2), not 2
//! reflector.toml:20:1: warning: neighbor[2]: eBGP neighbour without an import policy: ...
//! ```

use ipnetwork::IpNetwork;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::schema::Family;

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
    /// An element of an array (or of an array of tables).
    Index(usize),
}

/// Where a value sits in the document: `neighbor[1].hold_time`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The document itself.
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    /// This path with a key added.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.to_string()));
        path
    }

    /// This path with an array index added.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }

    /// Is this the document itself?
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path of a serde error, as `serde_path_to_error` tracked it.
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

/// A position in the file, both counted from 1 (columns in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// Line.
    pub line: usize,
    /// Column.
    pub column: usize,
}

impl Location {
    /// The line and column of byte `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location { line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Everything that can be wrong with a configuration, errors and warnings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The file is not valid TOML.
    #[error("{message}")]
    Syntax {
        /// The TOML parser's message.
        message: String,
    },
    /// The TOML does not fit the schema: an unknown key, a wrong type, a
    /// value that does not parse (addresses, prefixes, communities).
    #[error("{message}")]
    Schema {
        /// The deserializer's message.
        message: String,
    },
    /// AS 0 is reserved (RFC 7607 section 2).
    #[error("AS 0 is reserved and cannot be used (RFC 7607)")]
    AsnZero,
    /// 0.0.0.0 as BGP identifier or cluster ID (RFC 6286 section 2.1).
    #[error("0.0.0.0 is not a valid BGP identifier or cluster ID (RFC 6286)")]
    UnspecifiedId,
    /// Hold time 1 or 2 (RFC 4271 section 4.2).
    #[error("must be 0 or at least 3 seconds (RFC 4271 section 4.2), not {0}")]
    HoldTime(u16),
    /// Keepalive not below the hold time.
    #[error("keepalive {keepalive} s must be less than the hold time {hold_time} s")]
    KeepaliveNotBelowHold {
        /// Configured keepalive.
        keepalive: u16,
        /// Configured hold time.
        hold_time: u16,
    },
    /// Restart time beyond the 12 bits of the capability (RFC 4724 section 3).
    #[error(
        "restart time {0} s does not fit the capability's 12 bits (at most 4095, RFC 4724 section 3)"
    )]
    RestartTime(u16),
    /// A prefix limit of 0.
    #[error("a prefix limit must be at least 1")]
    PrefixLimitZero,
    /// A warning threshold above 100 %.
    #[error("warn_percent must be between 0 and 100, not {0}")]
    WarnPercent(u8),
    /// Two `[[cluster]]` tables with the same ID.
    #[error("cluster {id} is declared twice (first at {first})")]
    DuplicateCluster {
        /// The ID.
        id: Ipv4Addr,
        /// Where it was declared first.
        first: FieldPath,
    },
    /// Two templates with the same name.
    #[error("template `{name}` is defined twice (first at {first})")]
    DuplicateTemplate {
        /// The name.
        name: String,
        /// Where it was defined first.
        first: FieldPath,
    },
    /// Two policies with the same name.
    #[error("policy `{name}` is defined twice (first at {first})")]
    DuplicatePolicy {
        /// The name.
        name: String,
        /// Where it was defined first.
        first: FieldPath,
    },
    /// Two neighbours with the same address.
    #[error("neighbour {address} is configured twice (first at {first})")]
    DuplicateNeighbor {
        /// The address.
        address: IpAddr,
        /// Where it was configured first.
        first: FieldPath,
    },
    /// Two dynamic ranges with the same prefix.
    #[error("dynamic range {prefix} is configured twice (first at {first})")]
    DuplicateDynamic {
        /// The prefix.
        prefix: IpNetwork,
        /// Where it was configured first.
        first: FieldPath,
    },
    /// A reference to a template that does not exist.
    #[error("no template named `{0}`")]
    UnknownTemplate(String),
    /// A `[datastore]` setting that cannot work.
    #[error("{0}")]
    Datastore(String),
    /// A reference to a policy that does not exist.
    #[error("no policy named `{0}`")]
    UnknownPolicy(String),
    /// A neighbour without an AS, in its table or its template.
    #[error("no asn: set it here or in the neighbour's template")]
    MissingAsn,
    /// A route-reflector client in another AS (RFC 4456 section 2).
    #[error(
        "a route-reflector client must be in our AS {local_as} (RFC 4456 section 2), not AS {peer_as}"
    )]
    ExternalClient {
        /// Our AS on the session.
        local_as: u32,
        /// The neighbour's AS.
        peer_as: u32,
    },
    /// A local address of the other IP version than the neighbour.
    #[error("local address {local} and neighbour {peer} are of different IP versions")]
    LocalAddressFamily {
        /// The local address.
        local: IpAddr,
        /// The neighbour.
        peer: IpAddr,
    },
    /// Both `asn` and `asn_range` on a dynamic range.
    #[error("set either asn or asn_range, not both")]
    AsnAndRange,
    /// An AS range whose low end is above its high end, or that contains 0.
    #[error("AS range {low}-{high} is empty or contains AS 0")]
    AsnRange {
        /// Low end.
        low: u32,
        /// High end.
        high: u32,
    },
    /// A dynamic range that admits no session.
    #[error("max_peers must be at least 1")]
    MaxPeersZero,
    /// A logging level that `tracing-subscriber` cannot parse.
    #[error("invalid log filter `{level}`: {message}")]
    LogLevel {
        /// The configured filter.
        level: String,
        /// The parser's message.
        message: String,
    },

    // ---- warnings ----
    /// An eBGP neighbour without import or export policy exchanges nothing
    /// in that direction (RFC 8212 section 3).
    #[error(
        "eBGP neighbour without an {direction} policy: RFC 8212 means no routes are {verb} (set {direction} = \"<policy>\")"
    )]
    ExternalWithoutPolicy {
        /// "import" or "export".
        direction: &'static str,
        /// "accepted" or "advertised".
        verb: &'static str,
    },
    /// A `[[cluster]]` no client uses.
    #[error(
        "cluster {0} is declared but no client uses it (neither the default cluster_id nor any neighbour's or template's cluster_id)"
    )]
    UnusedCluster(Ipv4Addr),
    /// A cluster ID on a neighbour that is not a client.
    #[error("cluster_id only applies to route-reflector clients (client = true)")]
    ClusterIdOnNonClient,
    /// A non-client iBGP neighbour while a cluster has client-to-client
    /// reflection off.
    #[error(
        "iBGP neighbour without client = true while cluster {cluster} has client_to_client = false: that cluster's clients must be fully meshed (RFC 4456 section 5); if this neighbour is one of them, set client = true, or it gets no routes of the other non-clients (section 6)"
    )]
    NonClientWithoutClientToClient {
        /// The cluster with reflection off.
        cluster: Ipv4Addr,
    },
    /// Dynamic clients in a cluster with client-to-client reflection off.
    #[error(
        "dynamic clients of cluster {cluster} get no routes of each other (client_to_client = false), so they must be fully meshed among themselves, which dynamic clients rarely are"
    )]
    DynamicClientsWithoutClientToClient {
        /// The cluster with reflection off.
        cluster: Ipv4Addr,
    },
    /// A shared cluster ID together with non-client iBGP neighbours (other
    /// reflectors): routes of a client connected to one reflector only are
    /// dropped by the others (RFC 4456 section 8).
    #[error(
        "cluster ID {cluster} is set explicitly, as when reflectors share a cluster: the other reflectors of the cluster drop routes they learn from this one with {cluster} in CLUSTER_LIST (RFC 4456 section 8), so a client connected to this reflector only is unreachable from their clients; connect every client to every reflector of the cluster"
    )]
    SharedClusterId {
        /// The shared cluster ID.
        cluster: Ipv4Addr,
    },
    /// A cluster ID set explicitly, as reflectors that share a cluster do,
    /// but no non-client iBGP neighbour (another reflector) configured.
    #[error(
        "cluster ID {cluster} is set explicitly, as when reflectors share a cluster, but no non-client iBGP neighbor (another reflector of the cluster) is configured: reflectors of one cluster must peer with each other, or a client attached to one of them only is cut off from the others' clients (RFC 4456 section 8); leave cluster_id unset for a cluster of one"
    )]
    SharedClusterWithoutReflectors {
        /// The cluster ID.
        cluster: Ipv4Addr,
    },
    /// ADD-PATH configured for a family the neighbour does not negotiate.
    #[error("add_path is set for {0}, which is not in families")]
    AddPathFamilyUnused(Family),
    /// A template nothing refers to.
    #[error("template `{0}` is not used by any neighbor or dynamic range")]
    UnusedTemplate(String),
    /// A policy nothing refers to.
    #[error("policy `{0}` is not used by any neighbour or template")]
    UnusedPolicy(String),
    /// Neither neighbours nor dynamic ranges.
    #[error("no [[neighbor]] and no [[dynamic]] range: no session can come up")]
    NoPeers,
    /// The operations API on a non-loopback address.
    #[error("the operations API at {0} has no authentication; keep it on a loopback address")]
    ApiNotLoopback(SocketAddr),
}

impl Problem {
    /// Error or warning.
    pub fn severity(&self) -> Severity {
        use Problem as P;
        match self {
            P::ExternalWithoutPolicy { .. }
            | P::UnusedCluster(_)
            | P::ClusterIdOnNonClient
            | P::NonClientWithoutClientToClient { .. }
            | P::DynamicClientsWithoutClientToClient { .. }
            | P::SharedClusterId { .. }
            | P::SharedClusterWithoutReflectors { .. }
            | P::AddPathFamilyUnused(_)
            | P::UnusedTemplate(_)
            | P::UnusedPolicy(_)
            | P::NoPeers
            | P::ApiNotLoopback(_) => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// One finding: what, about which value, and where in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The value it is about.
    pub path: FieldPath,
    /// Where that value is (filled in by [`super::parse`]).
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

    /// Error or warning.
    pub fn severity(&self) -> Severity {
        self.problem.severity()
    }

    /// Is it an error?
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `line:column: [warning: ]path: problem` (the file name is the
    /// [`Report`]'s).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = self.location {
            write!(f, "{location}: ")?;
        }
        if self.severity() == Severity::Warning {
            f.write_str("warning: ")?;
        }
        if !self.path.is_root() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.problem)
    }
}

/// The findings about one file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// The file's name as given (e.g. `reflector.toml`).
    pub source: String,
    /// Findings, in file order (errors and warnings mixed).
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }

    /// Any error?
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// Each finding on its own line, prefixed with the file name.
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
