//! CNI specification versions and the `VERSION` command's answer.
//!
//! The plugin speaks the versions Calico's plugins declare (`0.1.0` to
//! `1.0.0`). Results come in three shapes (CNI `SPEC.md` and libcni's
//! `types/020`, `types/040`, `types/100`): `0.1.0`/`0.2.0` (`ip4`/`ip6`
//! objects), `0.3.0`/`0.3.1`/`0.4.0` (`interfaces`, `ips` with a `version`
//! field, `routes`), and `1.0.0` (the same without `version`).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A CNI specification version this plugin supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CniVersion {
    /// `0.1.0`: answered in the 0.2.0 shape.
    V0_1_0,
    /// `0.2.0`: `ip4` / `ip6` results.
    V0_2_0,
    /// `0.3.0`: `interfaces` / `ips` / `routes`.
    V0_3_0,
    /// `0.3.1`: as 0.3.0.
    V0_3_1,
    /// `0.4.0`: adds `CHECK` and `prevResult` on `DEL`.
    V0_4_0,
    /// `1.0.0`: `ips` lose their `version` field.
    V1_0_0,
}

/// The shape a result takes in a given version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultShape {
    /// `{"ip4": {"ip", "gateway", "routes"}, "ip6": ..., "dns"}`.
    Legacy020,
    /// `{"interfaces", "ips": [{"version", "address", ...}], "routes", "dns"}`.
    Versioned04x,
    /// `{"interfaces", "ips": [{"address", ...}], "routes", "dns"}`.
    Current100,
}

impl CniVersion {
    /// Every supported version, oldest first (the `supportedVersions` list).
    pub const ALL: [CniVersion; 6] = [
        CniVersion::V0_1_0,
        CniVersion::V0_2_0,
        CniVersion::V0_3_0,
        CniVersion::V0_3_1,
        CniVersion::V0_4_0,
        CniVersion::V1_0_0,
    ];

    /// The newest supported version.
    pub const LATEST: CniVersion = CniVersion::V1_0_0;

    /// The version string.
    pub fn as_str(self) -> &'static str {
        match self {
            CniVersion::V0_1_0 => "0.1.0",
            CniVersion::V0_2_0 => "0.2.0",
            CniVersion::V0_3_0 => "0.3.0",
            CniVersion::V0_3_1 => "0.3.1",
            CniVersion::V0_4_0 => "0.4.0",
            CniVersion::V1_0_0 => "1.0.0",
        }
    }

    /// How results look in this version.
    pub fn shape(self) -> ResultShape {
        match self {
            CniVersion::V0_1_0 | CniVersion::V0_2_0 => ResultShape::Legacy020,
            CniVersion::V0_3_0 | CniVersion::V0_3_1 | CniVersion::V0_4_0 => {
                ResultShape::Versioned04x
            }
            CniVersion::V1_0_0 => ResultShape::Current100,
        }
    }

    /// Whether `CHECK` exists in this version (0.4.0 and later).
    pub fn has_check(self) -> bool {
        self >= CniVersion::V0_4_0
    }

    /// The version of a configuration: an absent `cniVersion` means `0.2.0`,
    /// as Calico's plugin assumes (libcni treats it as 0.1.0; both are
    /// answered in the same shape).
    pub fn of_config(value: Option<&str>) -> Result<CniVersion, UnsupportedVersion> {
        match value {
            None | Some("") => Ok(CniVersion::V0_2_0),
            Some(v) => v.parse(),
        }
    }
}

impl fmt::Display for CniVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `cniVersion` this plugin does not speak.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("CNI version {0:?} is not supported (supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0)")]
pub struct UnsupportedVersion(pub String);

impl FromStr for CniVersion {
    type Err = UnsupportedVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CniVersion::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnsupportedVersion(s.to_string()))
    }
}

/// The answer to `CNI_COMMAND=VERSION` (CNI `SPEC.md`, "Version").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    /// The version of this answer (the newest we speak).
    #[serde(rename = "cniVersion")]
    pub cni_version: &'static str,
    /// Every version the plugin accepts.
    #[serde(rename = "supportedVersions")]
    pub supported_versions: Vec<&'static str>,
}

impl VersionInfo {
    /// This plugin's versions.
    pub fn ours() -> Self {
        VersionInfo {
            cni_version: CniVersion::LATEST.as_str(),
            supported_versions: CniVersion::ALL.iter().map(|v| v.as_str()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        for v in CniVersion::ALL {
            assert_eq!(v.as_str().parse::<CniVersion>(), Ok(v));
        }
        assert!(CniVersion::V0_3_1 < CniVersion::V0_4_0);
        assert!("1.1.0".parse::<CniVersion>().is_err());
        assert!("0.4".parse::<CniVersion>().is_err());
        assert_eq!(CniVersion::of_config(None), Ok(CniVersion::V0_2_0));
        assert!(!CniVersion::V0_3_1.has_check());
        assert!(CniVersion::V0_4_0.has_check());
    }

    #[test]
    fn version_answer_matches_the_spec() {
        let json = serde_json::to_value(VersionInfo::ours()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "cniVersion": "1.0.0",
                "supportedVersions": ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"]
            })
        );
    }
}
