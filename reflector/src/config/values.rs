//! Configuration values written as strings or in more than one form:
//! listen addresses, next hops, communities, prefix ranges, families and
//! the ADD-PATH settings. Each parses with a typed [`ValueError`], which
//! the deserializer reports with the value's line, column and path.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use bgp_proto::attribute::{Community, LargeCommunity};
use bgp_proto::capability::AddPathMode;
use bgp_proto::iana::AfiSafi;
use bgp_speaker::config::NextHopMode;
use bgp_speaker::policy::{NextHopAction, PrefixRange};
use ipnetwork::IpNetwork;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// Why a value did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Not `ADDRESS` nor `ADDRESS:PORT`.
    #[error("`{0}` is neither an IP address nor ADDRESS:PORT ([ADDRESS]:PORT for IPv6)")]
    ListenAddress(String),
    /// Not a next-hop mode.
    #[error("`{0}` is not auto, self, keep or an IP address")]
    NextHop(String),
    /// Not a next-hop action.
    #[error("`{0}` is not self or an IP address")]
    NextHopAction(String),
    /// Not a community.
    #[error(
        "`{0}` is not a community: ASN:VALUE with 16-bit parts, or one of no-export, no-advertise, no-export-subconfed, graceful-shutdown, blackhole, llgr-stale, no-llgr"
    )]
    Community(String),
    /// Not a large community.
    #[error("`{0}` is not a large community: GLOBAL:LOCAL1:LOCAL2 with 32-bit parts")]
    LargeCommunity(String),
    /// Not a prefix range.
    #[error("`{0}` is not a prefix range: PREFIX, optionally followed by `ge N` and/or `le M`")]
    PrefixRange(String),
    /// Lengths out of order or out of range.
    #[error("prefix range `{text}`: lengths must satisfy {own} <= ge <= le <= {max}")]
    PrefixRangeLengths {
        /// The range as written.
        text: String,
        /// The prefix's own length.
        own: u8,
        /// 32 or 128.
        max: u8,
    },
}

/// Implement `Deserialize` for a type with `FromStr<Err = ValueError>`.
macro_rules! deserialize_from_str {
    ($ty:ty, $expecting:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(V)
            }
        }
    };
}

/// An address to listen on: `"10.0.0.1"` (with `[global] port`) or
/// `"10.0.0.1:1179"` / `"[::1]:1179"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenAddr {
    /// An address; the port is `[global] port`.
    Ip(IpAddr),
    /// An address and a port.
    Socket(SocketAddr),
}

impl ListenAddr {
    /// The socket address, with `port` when none was written.
    pub fn socket_addr(self, port: u16) -> SocketAddr {
        match self {
            ListenAddr::Ip(ip) => SocketAddr::new(ip, port),
            ListenAddr::Socket(addr) => addr,
        }
    }
}

impl FromStr for ListenAddr {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(ListenAddr::Socket(addr));
        }
        s.parse::<IpAddr>()
            .map(ListenAddr::Ip)
            .map_err(|_| ValueError::ListenAddress(s.to_string()))
    }
}
deserialize_from_str!(ListenAddr, "an IP address or ADDRESS:PORT");

/// The next hop towards a neighbour (`next_hop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NextHopValue {
    /// `"auto"`: unchanged towards iBGP, ourselves towards eBGP (RFC 4271 section 5.1.3).
    #[default]
    Auto,
    /// `"self"`: always our session address.
    SelfAddress,
    /// `"keep"`: never changed, not even towards eBGP.
    Keep,
    /// An address.
    Address(IpAddr),
}

impl FromStr for NextHopValue {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        match s {
            "auto" => Ok(NextHopValue::Auto),
            "self" => Ok(NextHopValue::SelfAddress),
            "keep" => Ok(NextHopValue::Keep),
            other => other
                .parse()
                .map(NextHopValue::Address)
                .map_err(|_| ValueError::NextHop(s.to_string())),
        }
    }
}
deserialize_from_str!(NextHopValue, "auto, self, keep or an IP address");

impl From<NextHopValue> for NextHopMode {
    fn from(value: NextHopValue) -> Self {
        match value {
            NextHopValue::Auto => NextHopMode::Auto,
            NextHopValue::SelfAddress => NextHopMode::SelfAddress,
            NextHopValue::Keep => NextHopMode::Keep,
            NextHopValue::Address(address) => NextHopMode::Explicit(address),
        }
    }
}

/// The next hop a policy action sets: `"self"` or an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHopActionValue(pub NextHopAction);

impl FromStr for NextHopActionValue {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        match s {
            "self" => Ok(NextHopActionValue(NextHopAction::SelfAddress)),
            other => other
                .parse()
                .map(|a| NextHopActionValue(NextHopAction::Address(a)))
                .map_err(|_| ValueError::NextHopAction(s.to_string())),
        }
    }
}
deserialize_from_str!(NextHopActionValue, "self or an IP address");

/// A standard community (RFC 1997): `"65000:100"` or a well-known name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommunityValue(pub Community);

impl FromStr for CommunityValue {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        let known = match s {
            "no-export" => Some(Community::NO_EXPORT),
            "no-advertise" => Some(Community::NO_ADVERTISE),
            "no-export-subconfed" => Some(Community::NO_EXPORT_SUBCONFED),
            "graceful-shutdown" => Some(Community::GRACEFUL_SHUTDOWN),
            "blackhole" => Some(Community::BLACKHOLE),
            "llgr-stale" => Some(Community::LLGR_STALE),
            "no-llgr" => Some(Community::NO_LLGR),
            _ => None,
        };
        if let Some(community) = known {
            return Ok(CommunityValue(community));
        }
        let bad = || ValueError::Community(s.to_string());
        let (asn, value) = s.split_once(':').ok_or_else(bad)?;
        let asn: u16 = asn.parse().map_err(|_| bad())?;
        let value: u16 = value.parse().map_err(|_| bad())?;
        Ok(CommunityValue(Community::new(asn, value)))
    }
}
deserialize_from_str!(CommunityValue, "a community such as \"65000:100\"");

/// A large community (RFC 8092): `"65000:1:2"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LargeCommunityValue(pub LargeCommunity);

impl FromStr for LargeCommunityValue {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        let bad = || ValueError::LargeCommunity(s.to_string());
        let parts: Vec<&str> = s.split(':').collect();
        let [global, local1, local2] = parts.as_slice() else {
            return Err(bad());
        };
        Ok(LargeCommunityValue(LargeCommunity {
            global: global.parse().map_err(|_| bad())?,
            local1: local1.parse().map_err(|_| bad())?,
            local2: local2.parse().map_err(|_| bad())?,
        }))
    }
}
deserialize_from_str!(
    LargeCommunityValue,
    "a large community such as \"65000:1:2\""
);

/// A prefix range as in a prefix list: `"10.0.0.0/8"`, `"10.0.0.0/8 le 24"`,
/// `"10.0.0.0/8 ge 16 le 24"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixRangeValue(pub PrefixRange);

impl FromStr for PrefixRangeValue {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        let bad = || ValueError::PrefixRange(s.to_string());
        let mut words = s.split_whitespace();
        let prefix: IpNetwork = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let mut range = PrefixRange::new(prefix);
        while let Some(word) = words.next() {
            let len: u8 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
            match word {
                "ge" if range.ge.is_none() && range.le.is_none() => range = range.ge(len),
                "le" if range.le.is_none() => range = range.le(len),
                _ => return Err(bad()),
            }
        }
        let own = prefix.prefix();
        let max = if prefix.is_ipv4() { 32 } else { 128 };
        let (min, top) = range.lengths();
        if min < own || min > top || top > max {
            return Err(ValueError::PrefixRangeLengths {
                text: s.to_string(),
                own,
                max,
            });
        }
        Ok(PrefixRangeValue(range))
    }
}
deserialize_from_str!(
    PrefixRangeValue,
    "a prefix range such as \"10.0.0.0/8 le 24\""
);

/// An address family the reflector carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
pub enum Family {
    /// IPv4 unicast (`"ipv4-unicast"` or `"ipv4"`).
    #[serde(rename = "ipv4-unicast", alias = "ipv4")]
    Ipv4Unicast,
    /// IPv6 unicast (`"ipv6-unicast"` or `"ipv6"`).
    #[serde(rename = "ipv6-unicast", alias = "ipv6")]
    Ipv6Unicast,
    /// IPv4 multicast.
    #[serde(rename = "ipv4-multicast")]
    Ipv4Multicast,
    /// IPv6 multicast.
    #[serde(rename = "ipv6-multicast")]
    Ipv6Multicast,
}

impl Family {
    /// The AFI/SAFI pair.
    pub fn afi_safi(self) -> AfiSafi {
        match self {
            Family::Ipv4Unicast => AfiSafi::IPV4_UNICAST,
            Family::Ipv6Unicast => AfiSafi::IPV6_UNICAST,
            Family::Ipv4Multicast => AfiSafi::IPV4_MULTICAST,
            Family::Ipv6Multicast => AfiSafi::IPV6_MULTICAST,
        }
    }

    /// IPv4 and IPv6 unicast, the default.
    pub fn defaults() -> Vec<Family> {
        vec![Family::Ipv4Unicast, Family::Ipv6Unicast]
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4Unicast => "ipv4-unicast",
            Family::Ipv6Unicast => "ipv6-unicast",
            Family::Ipv4Multicast => "ipv4-multicast",
            Family::Ipv6Multicast => "ipv6-multicast",
        })
    }
}

/// ADD-PATH capability mode for one family (RFC 7911 section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddPathModeValue {
    /// Not announced.
    Off,
    /// We receive several paths.
    Receive,
    /// We send several paths.
    Send,
    /// Both.
    Both,
}

impl AddPathModeValue {
    /// The capability's mode, `None` for off.
    pub fn mode(self) -> Option<AddPathMode> {
        match self {
            AddPathModeValue::Off => None,
            AddPathModeValue::Receive => Some(AddPathMode::Receive),
            AddPathModeValue::Send => Some(AddPathMode::Send),
            AddPathModeValue::Both => Some(AddPathMode::Both),
        }
    }
}

/// `add_path`: one mode for every family (`"send"`), or one per family
/// (`{ ipv4-unicast = "both", ipv6-unicast = "off" }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddPathSetting {
    /// The same mode for every configured family.
    All(AddPathModeValue),
    /// A mode per family; families not listed are off.
    PerFamily(BTreeMap<Family, AddPathModeValue>),
}

impl AddPathSetting {
    /// The capability entries for `families`.
    pub fn entries(&self, families: &[Family]) -> Vec<(AfiSafi, AddPathMode)> {
        families
            .iter()
            .filter_map(|&family| {
                let mode = match self {
                    AddPathSetting::All(mode) => *mode,
                    AddPathSetting::PerFamily(map) => {
                        map.get(&family).copied().unwrap_or(AddPathModeValue::Off)
                    }
                };
                mode.mode().map(|m| (family.afi_safi(), m))
            })
            .collect()
    }

    /// Does any family send paths?
    pub fn sends(&self) -> bool {
        let sends =
            |m: &AddPathModeValue| matches!(m, AddPathModeValue::Send | AddPathModeValue::Both);
        match self {
            AddPathSetting::All(mode) => sends(mode),
            AddPathSetting::PerFamily(map) => map.values().any(sends),
        }
    }
}

impl<'de> Deserialize<'de> for AddPathSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AddPathSetting;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("off, receive, send or both, or a table of them per family")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AddPathSetting, E> {
                AddPathModeValue::deserialize(de::value::StrDeserializer::new(v))
                    .map(AddPathSetting::All)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<AddPathSetting, A::Error> {
                BTreeMap::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(AddPathSetting::PerFamily)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `add_path_send`: `"all"` paths, or at most N (RFC 7911 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddPathCount {
    /// Every path.
    All,
    /// At most this many, best first.
    Paths(u8),
}

impl<'de> Deserialize<'de> for AddPathCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AddPathCount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"all\" or a number of paths from 1 to 255")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AddPathCount, E> {
                match v {
                    "all" => Ok(AddPathCount::All),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AddPathCount, E> {
                match u8::try_from(v) {
                    Ok(n) if n >= 1 => Ok(AddPathCount::Paths(n)),
                    _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AddPathCount, E> {
                match u8::try_from(v) {
                    Ok(n) if n >= 1 => Ok(AddPathCount::Paths(n)),
                    _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}
