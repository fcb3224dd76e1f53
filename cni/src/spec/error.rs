//! The CNI error result: `{"cniVersion", "code", "msg", "details"}` on stdout
//! and a non-zero exit status (CNI `SPEC.md`, "Error").
//!
//! Codes 1-99 are the specification's well-known codes; 100 and above are
//! this plugin's own, as the specification reserves them for plugins.

use serde::Serialize;

/// A CNI error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 1: the configuration's `cniVersion` is not supported.
    IncompatibleVersion,
    /// 2: a configuration field has a value the plugin does not support; the
    /// message names the key and value.
    UnsupportedField,
    /// 3: the container is unknown or gone (no cleanup needed).
    UnknownContainer,
    /// 4: a `CNI_*` environment variable is missing or invalid; the message
    /// names it.
    InvalidEnvironment,
    /// 5: reading stdin or another I/O failure.
    IoFailure,
    /// 6: the configuration (or a result) could not be decoded.
    DecodingFailure,
    /// 7: the configuration decodes but is invalid.
    InvalidNetworkConfig,
    /// 11: a transient condition; the runtime should try again later.
    TryAgainLater,
    /// 100: a failure of this plugin not covered by the codes below.
    Plugin,
    /// 101: the IPAM plugin failed or returned an unusable result.
    Ipam,
    /// 102: the datastore (etcd) refused or could not be reached.
    Datastore,
    /// 103: the kernel refused a netlink or sysctl change.
    Dataplane,
    /// 104: `CHECK` found the container's networking differs from
    /// `prevResult`.
    CheckFailed,
    /// Another code, as returned by a delegated plugin.
    Other(u32),
}

impl ErrorCode {
    /// The numeric code.
    pub fn as_u32(self) -> u32 {
        match self {
            ErrorCode::IncompatibleVersion => 1,
            ErrorCode::UnsupportedField => 2,
            ErrorCode::UnknownContainer => 3,
            ErrorCode::InvalidEnvironment => 4,
            ErrorCode::IoFailure => 5,
            ErrorCode::DecodingFailure => 6,
            ErrorCode::InvalidNetworkConfig => 7,
            ErrorCode::TryAgainLater => 11,
            ErrorCode::Plugin => 100,
            ErrorCode::Ipam => 101,
            ErrorCode::Datastore => 102,
            ErrorCode::Dataplane => 103,
            ErrorCode::CheckFailed => 104,
            ErrorCode::Other(n) => n,
        }
    }

    /// The code for a number.
    pub fn from_u32(n: u32) -> Self {
        match n {
            1 => ErrorCode::IncompatibleVersion,
            2 => ErrorCode::UnsupportedField,
            3 => ErrorCode::UnknownContainer,
            4 => ErrorCode::InvalidEnvironment,
            5 => ErrorCode::IoFailure,
            6 => ErrorCode::DecodingFailure,
            7 => ErrorCode::InvalidNetworkConfig,
            11 => ErrorCode::TryAgainLater,
            100 => ErrorCode::Plugin,
            101 => ErrorCode::Ipam,
            102 => ErrorCode::Datastore,
            103 => ErrorCode::Dataplane,
            104 => ErrorCode::CheckFailed,
            n => ErrorCode::Other(n),
        }
    }
}

/// An error as a CNI plugin prints it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{msg}{}", if details.is_empty() { String::new() } else { format!(": {details}") })]
pub struct CniError {
    /// The code.
    pub code: ErrorCode,
    /// A short message.
    pub msg: String,
    /// Longer details (may be empty).
    pub details: String,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    #[serde(rename = "cniVersion", skip_serializing_if = "Option::is_none")]
    cni_version: Option<&'a str>,
    code: u32,
    msg: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    details: &'a str,
}

impl CniError {
    /// An error with a code, a message and details.
    pub fn new(code: ErrorCode, msg: impl Into<String>, details: impl Into<String>) -> Self {
        CniError {
            code,
            msg: msg.into(),
            details: details.into(),
        }
    }

    /// The JSON printed on stdout; `cniVersion` is the configuration's when
    /// it was read.
    pub fn to_json(&self, cni_version: Option<&str>) -> serde_json::Value {
        let json = ErrorJson {
            cni_version,
            code: self.code.as_u32(),
            msg: &self.msg,
            details: &self.details,
        };
        serde_json::to_value(json).unwrap_or(serde_json::Value::Null)
    }

    /// Decodes the error a delegated plugin printed, if `stdout` is one.
    pub fn from_plugin_output(stdout: &[u8]) -> Option<CniError> {
        let value: serde_json::Value = serde_json::from_slice(stdout).ok()?;
        let code = value.get("code")?.as_u64()?;
        let msg = value.get("msg").and_then(|m| m.as_str()).unwrap_or("");
        let details = value.get("details").and_then(|m| m.as_str()).unwrap_or("");
        Some(CniError::new(
            ErrorCode::from_u32(u32::try_from(code).unwrap_or(u32::MAX)),
            msg,
            details,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_json_has_the_spec_fields() {
        let e = CniError::new(
            ErrorCode::InvalidNetworkConfig,
            "invalid network config",
            "key \"mtu\": expected an integer",
        );
        assert_eq!(
            e.to_json(Some("1.0.0")),
            json!({"cniVersion": "1.0.0", "code": 7, "msg": "invalid network config",
                   "details": "key \"mtu\": expected an integer"})
        );
        let bare = CniError::new(ErrorCode::InvalidEnvironment, "CNI_COMMAND is not set", "");
        assert_eq!(
            bare.to_json(None),
            json!({"code": 4, "msg": "CNI_COMMAND is not set"})
        );
    }

    #[test]
    fn codes_round_trip_and_plugin_errors_decode() {
        for n in [1, 2, 3, 4, 5, 6, 7, 11, 100, 101, 102, 103, 104, 999] {
            assert_eq!(ErrorCode::from_u32(n).as_u32(), n);
        }
        let e = CniError::from_plugin_output(br#"{"code": 7, "msg": "no pool", "details": "x"}"#)
            .unwrap();
        assert_eq!(e.code, ErrorCode::InvalidNetworkConfig);
        assert_eq!(e.to_string(), "no pool: x");
        assert!(CniError::from_plugin_output(b"not json").is_none());
    }
}
