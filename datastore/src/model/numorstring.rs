//! Calico's "number or string" value types (`numorstring` in the Calico API) and the
//! Kubernetes `metav1.Duration`, read and written in the same JSON forms as Calico.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ModelError;

/// A BGP AS number (RFC 6793: four octets).
///
/// Calico accepts a JSON number, or a string in "asplain" (`"64512"`) or "asdot"
/// (`"1.10"`, RFC 5396) notation, and always writes a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AsNumber(pub u32);

impl AsNumber {
    /// Calico's default AS number when neither the node nor the default
    /// BGPConfiguration sets one.
    pub const CALICO_DEFAULT: AsNumber = AsNumber(64512);
}

impl fmt::Display for AsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for AsNumber {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ModelError::InvalidValue {
            what: "AS number",
            value: s.to_string(),
        };
        match s.split_once('.') {
            // RFC 5396 asdot: <high 16 bits>.<low 16 bits>.
            Some((hi, lo)) => {
                let hi: u16 = hi.parse().map_err(|_| bad())?;
                let lo: u16 = lo.parse().map_err(|_| bad())?;
                Ok(AsNumber((u32::from(hi) << 16) | u32::from(lo)))
            }
            None => s.parse().map(AsNumber).map_err(|_| bad()),
        }
    }
}

impl Serialize for AsNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for AsNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AsNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AS number (integer, \"64512\" or \"1.10\")")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AsNumber, E> {
                u32::try_from(v)
                    .map(AsNumber)
                    .map_err(|_| E::custom(format!("AS number {v} is out of range")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AsNumber, E> {
                u32::try_from(v)
                    .map(AsNumber)
                    .map_err(|_| E::custom(format!("AS number {v} is out of range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AsNumber, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A port match in a policy rule (`numorstring.Port`): one port, an inclusive range,
/// or a named port of the endpoint.
///
/// JSON: a number (`80`), a string range (`"8000:8080"`) or a name (`"http"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Port {
    /// One port number.
    Single(u16),
    /// An inclusive range `min:max`.
    Range(u16, u16),
    /// A named port, resolved against the endpoint's `ports`.
    Named(String),
}

impl FromStr for Port {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ModelError::InvalidValue {
            what: "port",
            value: s.to_string(),
        };
        if let Some((a, b)) = s.split_once(':') {
            let (min, max) = (
                a.parse::<u16>().map_err(|_| bad())?,
                b.parse::<u16>().map_err(|_| bad())?,
            );
            if min > max {
                return Err(bad());
            }
            return Ok(if min == max {
                Port::Single(min)
            } else {
                Port::Range(min, max)
            });
        }
        if let Ok(n) = s.parse::<u16>() {
            return Ok(Port::Single(n));
        }
        if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(bad());
        }
        Ok(Port::Named(s.to_string()))
    }
}

impl Serialize for Port {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Port::Single(p) => s.serialize_u16(*p),
            Port::Range(a, b) => s.serialize_str(&format!("{a}:{b}")),
            Port::Named(n) => s.serialize_str(n),
        }
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Port;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port (80), a range (\"80:90\") or a port name")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Port, E> {
                u16::try_from(v)
                    .map(Port::Single)
                    .map_err(|_| E::custom(format!("port {v} is out of range")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Port, E> {
                u16::try_from(v)
                    .map(Port::Single)
                    .map_err(|_| E::custom(format!("port {v} is out of range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Port, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// An IP protocol in a policy rule (`numorstring.Protocol`): a name such as `"TCP"`,
/// `"UDP"`, `"ICMP"`, `"ICMPv6"`, `"SCTP"`, `"UDPLite"`, or a number 1–255.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Protocol {
    /// A protocol number (IANA "Assigned Internet Protocol Numbers").
    Number(u8),
    /// A protocol name, written as given.
    Name(String),
}

/// A Kubernetes `metav1.Duration`: Go's duration syntax (`"90s"`, `"2m30s"`,
/// `"1h"`, `"500ms"`).
///
/// The text is kept as written, so a resource is written back exactly as it was read;
/// [`GoDuration::duration`] is its value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GoDuration {
    text: String,
    value: Duration,
}

impl GoDuration {
    /// The duration's value.
    pub fn duration(&self) -> Duration {
        self.value
    }

    /// The text as written in the resource.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A duration written in whole seconds (`"120s"`).
    pub fn from_secs(secs: u64) -> Self {
        GoDuration {
            text: format!("{secs}s"),
            value: Duration::from_secs(secs),
        }
    }
}

impl FromStr for GoDuration {
    type Err = ModelError;

    /// Parses Go's `time.ParseDuration` syntax; negative durations are refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ModelError::InvalidValue {
            what: "duration",
            value: s.to_string(),
        };
        let mut rest = s.strip_prefix('+').unwrap_or(s);
        if rest == "0" {
            return Ok(GoDuration {
                text: s.to_string(),
                value: Duration::ZERO,
            });
        }
        if rest.is_empty() {
            return Err(bad());
        }
        let mut nanos: f64 = 0.0;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(bad)?;
            let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
            rest = &rest[num_len..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let scale = match &rest[..unit_len] {
                "ns" => 1.0,
                "us" | "µs" | "μs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                _ => return Err(bad()),
            };
            nanos += number * scale;
            rest = &rest[unit_len..];
        }
        Ok(GoDuration {
            text: s.to_string(),
            value: Duration::from_nanos(nanos.round() as u64),
        })
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_numbers() {
        for (json, want) in [
            ("64512", 64512),
            ("\"64512\"", 64512),
            ("\"1.10\"", 65546),
            ("4294967295", u32::MAX),
        ] {
            let got: AsNumber = serde_json::from_str(json).unwrap();
            assert_eq!(got, AsNumber(want), "{json}");
        }
        assert!(serde_json::from_str::<AsNumber>("4294967296").is_err());
        assert!(serde_json::from_str::<AsNumber>("\"1.70000\"").is_err());
        assert_eq!(serde_json::to_string(&AsNumber(65546)).unwrap(), "65546");
    }

    #[test]
    fn ports() {
        for (json, want) in [
            ("80", Port::Single(80)),
            ("\"80\"", Port::Single(80)),
            ("\"8000:8080\"", Port::Range(8000, 8080)),
            ("\"http\"", Port::Named("http".into())),
        ] {
            let got: Port = serde_json::from_str(json).unwrap();
            assert_eq!(got, want, "{json}");
        }
        for bad in ["\"90:80\"", "70000", "\"\"", "\"1:x\""] {
            assert!(serde_json::from_str::<Port>(bad).is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&Port::Single(80)).unwrap(), "80");
        assert_eq!(
            serde_json::to_string(&Port::Range(1, 2)).unwrap(),
            "\"1:2\""
        );
    }

    #[test]
    fn protocols() {
        assert_eq!(
            serde_json::from_str::<Protocol>("\"TCP\"").unwrap(),
            Protocol::Name("TCP".into())
        );
        assert_eq!(
            serde_json::from_str::<Protocol>("6").unwrap(),
            Protocol::Number(6)
        );
    }

    #[test]
    fn durations() {
        for (text, want) in [
            ("120s", Duration::from_secs(120)),
            ("2m30s", Duration::from_secs(150)),
            ("1h", Duration::from_secs(3600)),
            ("1.5s", Duration::from_millis(1500)),
            ("500ms", Duration::from_millis(500)),
            ("0", Duration::ZERO),
        ] {
            let d: GoDuration = text.parse().unwrap();
            assert_eq!(d.duration(), want, "{text}");
            assert_eq!(d.as_str(), text);
        }
        for bad in ["", "10", "-1s", "1x", "s"] {
            assert!(bad.parse::<GoDuration>().is_err(), "{bad}");
        }
    }
}
