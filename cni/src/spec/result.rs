//! CNI results: one model ([`CniResult`], the 1.0.0 fields) written in the
//! shape of any supported version, and read back from any of them (an IPAM
//! plugin's answer, a `prevResult`).
//!
//! Conversions follow libcni's converters: to 0.2.0 only the first address
//! of each family is kept (as `ip4` / `ip6`) and each route goes to the
//! family of its destination; from 0.2.0 the addresses become `ips` and the
//! routes are gathered. `dns` is always written (`{}` when empty), as libcni
//! does.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::version::{CniVersion, ResultShape};

/// An interface the plugin created (`interfaces[]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Its name.
    pub name: String,
    /// Its MAC address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// The namespace path for an interface inside the container; absent for
    /// the host side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
}

/// An address given to an interface (`ips[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpConfig {
    /// The address with its prefix length (`10.1.0.5/32`).
    pub address: IpNetwork,
    /// The gateway, when there is one.
    pub gateway: Option<IpAddr>,
    /// Index into [`CniResult::interfaces`].
    pub interface: Option<usize>,
}

/// A route in the container (`routes[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The destination.
    pub dst: IpNetwork,
    /// The next hop; absent for the default next hop.
    pub gw: Option<IpAddr>,
}

/// DNS settings (`dns`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    /// Name servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    /// The local domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Search domains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<String>,
    /// Resolver options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// A result in any version, as the plugin's model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CniResult {
    /// Interfaces created.
    pub interfaces: Vec<Interface>,
    /// Addresses.
    pub ips: Vec<IpConfig>,
    /// Routes.
    pub routes: Vec<Route>,
    /// DNS.
    pub dns: Dns,
}

/// A result that cannot be written or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResultError {
    /// 0.1.0 / 0.2.0 results need at least one address.
    #[error("cannot write a {0} result without an IP address")]
    NoAddressFor(CniVersion),
    /// The JSON is not a result.
    #[error("invalid result JSON: {0}")]
    Invalid(String),
}

fn family(ip: &IpNetwork) -> &'static str {
    if ip.is_ipv4() { "4" } else { "6" }
}

fn route_json(r: &Route) -> Value {
    let mut m = Map::new();
    m.insert("dst".into(), json!(r.dst.to_string()));
    if let Some(gw) = r.gw {
        m.insert("gw".into(), json!(gw.to_string()));
    }
    Value::Object(m)
}

impl CniResult {
    /// The result as `version` writes it.
    pub fn to_json(&self, version: CniVersion) -> Result<Value, ResultError> {
        match version.shape() {
            ResultShape::Legacy020 => self.to_legacy(version),
            shape => {
                let mut m = Map::new();
                m.insert("cniVersion".into(), json!(version.as_str()));
                if !self.interfaces.is_empty() {
                    m.insert("interfaces".into(), json!(self.interfaces));
                }
                if !self.ips.is_empty() {
                    let ips: Vec<Value> = self
                        .ips
                        .iter()
                        .map(|ip| {
                            let mut o = Map::new();
                            if shape == ResultShape::Versioned04x {
                                o.insert("version".into(), json!(family(&ip.address)));
                            }
                            if let Some(i) = ip.interface {
                                o.insert("interface".into(), json!(i));
                            }
                            o.insert("address".into(), json!(ip.address.to_string()));
                            if let Some(gw) = ip.gateway {
                                o.insert("gateway".into(), json!(gw.to_string()));
                            }
                            Value::Object(o)
                        })
                        .collect();
                    m.insert("ips".into(), Value::Array(ips));
                }
                if !self.routes.is_empty() {
                    m.insert(
                        "routes".into(),
                        Value::Array(self.routes.iter().map(route_json).collect()),
                    );
                }
                m.insert("dns".into(), json!(self.dns));
                Ok(Value::Object(m))
            }
        }
    }

    fn to_legacy(&self, version: CniVersion) -> Result<Value, ResultError> {
        let mut m = Map::new();
        m.insert("cniVersion".into(), json!(version.as_str()));
        for (key, v4) in [("ip4", true), ("ip6", false)] {
            let Some(ip) = self.ips.iter().find(|ip| ip.address.is_ipv4() == v4) else {
                continue;
            };
            let mut o = Map::new();
            o.insert("ip".into(), json!(ip.address.to_string()));
            if let Some(gw) = ip.gateway {
                o.insert("gateway".into(), json!(gw.to_string()));
            }
            let routes: Vec<Value> = self
                .routes
                .iter()
                .filter(|r| r.dst.is_ipv4() == v4)
                .map(route_json)
                .collect();
            if !routes.is_empty() {
                o.insert("routes".into(), Value::Array(routes));
            }
            m.insert(key.into(), Value::Object(o));
        }
        if !m.contains_key("ip4") && !m.contains_key("ip6") {
            return Err(ResultError::NoAddressFor(version));
        }
        m.insert("dns".into(), json!(self.dns));
        Ok(Value::Object(m))
    }

    /// Reads a result of any supported shape (`ips` or `ip4`/`ip6`).
    pub fn from_json(value: &Value) -> Result<CniResult, ResultError> {
        let bad = |what: String| ResultError::Invalid(what);
        let obj = value
            .as_object()
            .ok_or_else(|| bad("a result is a JSON object".into()))?;
        let net = |v: Option<&Value>, what: &str| -> Result<IpNetwork, ResultError> {
            let s = v
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("{what} is missing or not a string")))?;
            s.parse()
                .map_err(|_| bad(format!("{what} {s:?} is not an address/prefix")))
        };
        let addr = |v: Option<&Value>, what: &str| -> Result<Option<IpAddr>, ResultError> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => s
                    .parse()
                    .map(Some)
                    .map_err(|_| bad(format!("{what} {s:?} is not an IP address"))),
                Some(_) => Err(bad(format!("{what} is not a string"))),
            }
        };
        let routes_of = |v: Option<&Value>| -> Result<Vec<Route>, ResultError> {
            let Some(v) = v else { return Ok(Vec::new()) };
            let list = v
                .as_array()
                .ok_or_else(|| bad("routes is not a list".into()))?;
            list.iter()
                .map(|r| {
                    Ok(Route {
                        dst: net(r.get("dst"), "routes[].dst")?,
                        gw: addr(r.get("gw"), "routes[].gw")?,
                    })
                })
                .collect()
        };
        let dns = match obj.get("dns") {
            None | Some(Value::Null) => Dns::default(),
            Some(d) => serde_json::from_value(d.clone()).map_err(|e| bad(format!("dns: {e}")))?,
        };
        let mut result = CniResult {
            dns,
            ..CniResult::default()
        };
        if obj.contains_key("ip4") || obj.contains_key("ip6") {
            for key in ["ip4", "ip6"] {
                let Some(ip) = obj.get(key).filter(|v| !v.is_null()) else {
                    continue;
                };
                result.ips.push(IpConfig {
                    address: net(ip.get("ip"), &format!("{key}.ip"))?,
                    gateway: addr(ip.get("gateway"), &format!("{key}.gateway"))?,
                    interface: None,
                });
                result.routes.extend(routes_of(ip.get("routes"))?);
            }
            return Ok(result);
        }
        if let Some(list) = obj.get("interfaces") {
            result.interfaces = serde_json::from_value(list.clone())
                .map_err(|e| bad(format!("interfaces: {e}")))?;
        }
        if let Some(list) = obj.get("ips") {
            let list = list
                .as_array()
                .ok_or_else(|| bad("ips is not a list".into()))?;
            for ip in list {
                let interface = match ip.get("interface") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(
                        v.as_u64()
                            .and_then(|n| usize::try_from(n).ok())
                            .ok_or_else(|| bad("ips[].interface is not an index".into()))?,
                    ),
                };
                result.ips.push(IpConfig {
                    address: net(ip.get("address"), "ips[].address")?,
                    gateway: addr(ip.get("gateway"), "ips[].gateway")?,
                    interface,
                });
            }
        }
        result.routes = routes_of(obj.get("routes"))?;
        Ok(result)
    }
}

#[cfg(test)]
mod tests;
