//! Decoding errors and their translation into NOTIFICATION messages.
//!
//! A [`DecodeError`] says where it happened (a path such as `MP_REACH_NLRI`),
//! the byte offset from the start of the message (header included), and what
//! was wrong, with the offending value. [`DecodeError::notification`] gives the
//! exact NOTIFICATION that RFC 4271 section 6 prescribes for it.
//!
//! UPDATE errors are further classified by RFC 7606 into an [`ErrorAction`]:
//! most attribute errors no longer reset the session. Non-fatal errors are
//! returned as [`Finding`]s next to the decoded UPDATE.

use bytes::Bytes;
use std::fmt;

use crate::iana::notification as code;
use crate::message::notification::Notification;

/// A message could not be decoded. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("in {location}: {kind} at offset {offset}")]
pub struct DecodeError {
    /// The part of the message being decoded, e.g. `"OPEN"`, `"MP_REACH_NLRI"`.
    pub location: &'static str,
    /// Byte offset of the offending field from the start of the message.
    pub offset: usize,
    /// What was wrong.
    pub kind: ErrorKind,
}

impl DecodeError {
    /// Build an error.
    pub fn new(location: &'static str, offset: usize, kind: ErrorKind) -> Self {
        DecodeError {
            location,
            offset,
            kind,
        }
    }

    /// The NOTIFICATION to send for this error (RFC 4271 section 6).
    pub fn notification(&self) -> Notification {
        let (error_code, subcode, data) = self.kind.notification_parts();
        Notification {
            code: error_code,
            subcode,
            data,
        }
    }
}

/// What was wrong with a message. Each variant maps to one NOTIFICATION
/// code/subcode pair (see [`ErrorKind::notification_parts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    // ---- Message header (RFC 4271 section 6.1) ----
    /// The 16-octet marker is not all ones.
    ConnectionNotSynchronized,
    /// The Length field is out of range for the message type or session.
    BadMessageLength {
        /// The Length field as received.
        length: u16,
    },
    /// The Type field is unknown.
    BadMessageType {
        /// The Type field as received.
        message_type: u8,
    },

    // ---- OPEN (RFC 4271 section 6.2) ----
    /// Version is not 4.
    UnsupportedVersion {
        /// Version as received.
        version: u8,
    },
    /// The peer's AS is not the one configured (or is 0).
    BadPeerAs {
        /// AS as received.
        asn: u32,
    },
    /// BGP Identifier is not acceptable (0, or equal to ours on iBGP).
    BadBgpIdentifier {
        /// Identifier as received.
        identifier: u32,
    },
    /// An optional parameter type we do not know.
    UnsupportedOptionalParameter {
        /// Parameter type as received.
        parameter_type: u8,
    },
    /// Hold time is 1 or 2 seconds, or otherwise refused.
    UnacceptableHoldTime {
        /// Hold time as received.
        hold_time: u16,
    },
    /// A required capability is missing or unsupported (RFC 5492 section 5).
    UnsupportedCapability {
        /// The capability TLVs to report.
        capabilities: Bytes,
    },
    /// BGP Role capabilities do not match (RFC 9234 section 4.2).
    RoleMismatch,
    /// An OPEN whose structure is inconsistent (lengths overrun, etc.).
    MalformedOpen {
        /// What was inconsistent.
        reason: &'static str,
    },

    // ---- UPDATE (RFC 4271 section 6.3) ----
    /// Lengths of the UPDATE's fields are inconsistent, or an attribute
    /// appears twice.
    MalformedAttributeList {
        /// What was inconsistent.
        reason: &'static str,
    },
    /// A well-known attribute type we do not recognise (never sent by this
    /// crate; all well-known types are known).
    UnrecognizedWellKnownAttribute {
        /// The whole attribute (type, length, value).
        attribute: Bytes,
    },
    /// A mandatory well-known attribute is missing.
    MissingWellKnownAttribute {
        /// The attribute type that is missing.
        type_code: u8,
    },
    /// The attribute flags conflict with the attribute type.
    AttributeFlags {
        /// The attribute type.
        type_code: u8,
        /// The flags as received.
        flags: u8,
        /// The whole attribute (type, length, value).
        attribute: Bytes,
    },
    /// The attribute length is wrong for its type.
    AttributeLength {
        /// The attribute type.
        type_code: u8,
        /// The length as received.
        length: usize,
        /// The whole attribute (type, length, value).
        attribute: Bytes,
    },
    /// ORIGIN is not 0, 1 or 2.
    InvalidOrigin {
        /// The value as received.
        value: u8,
        /// The whole attribute.
        attribute: Bytes,
    },
    /// NEXT_HOP (or MP_REACH next hop) is not a usable address.
    InvalidNextHop {
        /// The whole attribute.
        attribute: Bytes,
    },
    /// An optional attribute is malformed.
    OptionalAttribute {
        /// The attribute type.
        type_code: u8,
        /// What is wrong with it.
        reason: &'static str,
        /// The whole attribute.
        attribute: Bytes,
    },
    /// NLRI or withdrawn routes are malformed (prefix length, overrun).
    InvalidNetworkField {
        /// What is wrong.
        reason: &'static str,
        /// The prefix length octet, when that is what is wrong.
        prefix_len: Option<u8>,
    },
    /// AS_PATH (or AS4_PATH) is malformed.
    MalformedAsPath {
        /// What is wrong.
        reason: &'static str,
    },

    // ---- NOTIFICATION, ROUTE-REFRESH ----
    /// ROUTE-REFRESH message with the wrong length (RFC 7313 section 5).
    RouteRefreshLength {
        /// The whole message.
        message: Bytes,
    },
    /// Fewer bytes than a field needs, where no more specific error applies.
    Truncated {
        /// The field that was being read.
        field: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
}

impl ErrorKind {
    /// NOTIFICATION error code, subcode and data for this error.
    pub fn notification_parts(&self) -> (u8, u8, Bytes) {
        use code::{header as h, open as o, update as u};
        let none = Bytes::new;
        match self {
            ErrorKind::ConnectionNotSynchronized => (
                code::MESSAGE_HEADER_ERROR,
                h::CONNECTION_NOT_SYNCHRONIZED,
                none(),
            ),
            ErrorKind::BadMessageLength { length } => (
                code::MESSAGE_HEADER_ERROR,
                h::BAD_MESSAGE_LENGTH,
                Bytes::copy_from_slice(&length.to_be_bytes()),
            ),
            ErrorKind::BadMessageType { message_type } => (
                code::MESSAGE_HEADER_ERROR,
                h::BAD_MESSAGE_TYPE,
                Bytes::copy_from_slice(&[*message_type]),
            ),
            // RFC 4271 section 6.2: the data is the largest supported version.
            ErrorKind::UnsupportedVersion { .. } => (
                code::OPEN_MESSAGE_ERROR,
                o::UNSUPPORTED_VERSION_NUMBER,
                Bytes::from_static(&[0, 4]),
            ),
            ErrorKind::BadPeerAs { .. } => (code::OPEN_MESSAGE_ERROR, o::BAD_PEER_AS, none()),
            ErrorKind::BadBgpIdentifier { .. } => {
                (code::OPEN_MESSAGE_ERROR, o::BAD_BGP_IDENTIFIER, none())
            }
            ErrorKind::UnsupportedOptionalParameter { .. } => (
                code::OPEN_MESSAGE_ERROR,
                o::UNSUPPORTED_OPTIONAL_PARAMETER,
                none(),
            ),
            ErrorKind::UnacceptableHoldTime { .. } => {
                (code::OPEN_MESSAGE_ERROR, o::UNACCEPTABLE_HOLD_TIME, none())
            }
            ErrorKind::UnsupportedCapability { capabilities } => (
                code::OPEN_MESSAGE_ERROR,
                o::UNSUPPORTED_CAPABILITY,
                capabilities.clone(),
            ),
            ErrorKind::RoleMismatch => (code::OPEN_MESSAGE_ERROR, o::ROLE_MISMATCH, none()),
            ErrorKind::MalformedOpen { .. } => (code::OPEN_MESSAGE_ERROR, 0, none()),
            ErrorKind::MalformedAttributeList { .. } => (
                code::UPDATE_MESSAGE_ERROR,
                u::MALFORMED_ATTRIBUTE_LIST,
                none(),
            ),
            ErrorKind::UnrecognizedWellKnownAttribute { attribute } => (
                code::UPDATE_MESSAGE_ERROR,
                u::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                attribute.clone(),
            ),
            ErrorKind::MissingWellKnownAttribute { type_code } => (
                code::UPDATE_MESSAGE_ERROR,
                u::MISSING_WELL_KNOWN_ATTRIBUTE,
                Bytes::copy_from_slice(&[*type_code]),
            ),
            ErrorKind::AttributeFlags { attribute, .. } => (
                code::UPDATE_MESSAGE_ERROR,
                u::ATTRIBUTE_FLAGS_ERROR,
                attribute.clone(),
            ),
            ErrorKind::AttributeLength { attribute, .. } => (
                code::UPDATE_MESSAGE_ERROR,
                u::ATTRIBUTE_LENGTH_ERROR,
                attribute.clone(),
            ),
            ErrorKind::InvalidOrigin { attribute, .. } => (
                code::UPDATE_MESSAGE_ERROR,
                u::INVALID_ORIGIN_ATTRIBUTE,
                attribute.clone(),
            ),
            ErrorKind::InvalidNextHop { attribute } => (
                code::UPDATE_MESSAGE_ERROR,
                u::INVALID_NEXT_HOP_ATTRIBUTE,
                attribute.clone(),
            ),
            ErrorKind::OptionalAttribute { attribute, .. } => (
                code::UPDATE_MESSAGE_ERROR,
                u::OPTIONAL_ATTRIBUTE_ERROR,
                attribute.clone(),
            ),
            ErrorKind::InvalidNetworkField { .. } => {
                (code::UPDATE_MESSAGE_ERROR, u::INVALID_NETWORK_FIELD, none())
            }
            ErrorKind::MalformedAsPath { .. } => {
                (code::UPDATE_MESSAGE_ERROR, u::MALFORMED_AS_PATH, none())
            }
            ErrorKind::RouteRefreshLength { message } => (
                code::ROUTE_REFRESH_MESSAGE_ERROR,
                code::route_refresh::INVALID_MESSAGE_LENGTH,
                message.clone(),
            ),
            // A field that overruns its message: the message length was wrong.
            ErrorKind::Truncated { .. } => {
                (code::MESSAGE_HEADER_ERROR, h::BAD_MESSAGE_LENGTH, none())
            }
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::ConnectionNotSynchronized => f.write_str("marker is not all ones"),
            ErrorKind::BadMessageLength { length } => write!(f, "bad message length {length}"),
            ErrorKind::BadMessageType { message_type } => {
                write!(f, "unknown message type {message_type}")
            }
            ErrorKind::UnsupportedVersion { version } => {
                write!(f, "unsupported BGP version {version}")
            }
            ErrorKind::BadPeerAs { asn } => write!(f, "bad peer AS {asn}"),
            ErrorKind::BadBgpIdentifier { identifier } => write!(
                f,
                "bad BGP identifier {}",
                std::net::Ipv4Addr::from(*identifier)
            ),
            ErrorKind::UnsupportedOptionalParameter { parameter_type } => {
                write!(f, "unsupported optional parameter type {parameter_type}")
            }
            ErrorKind::UnacceptableHoldTime { hold_time } => {
                write!(f, "unacceptable hold time {hold_time}")
            }
            ErrorKind::UnsupportedCapability { capabilities } => {
                write!(f, "unsupported capability {:02x?}", &capabilities[..])
            }
            ErrorKind::RoleMismatch => f.write_str("BGP role mismatch"),
            ErrorKind::MalformedOpen { reason } => write!(f, "malformed OPEN: {reason}"),
            ErrorKind::MalformedAttributeList { reason } => {
                write!(f, "malformed attribute list: {reason}")
            }
            ErrorKind::UnrecognizedWellKnownAttribute { attribute } => write!(
                f,
                "unrecognized well-known attribute {}",
                attribute.get(1).copied().unwrap_or(0)
            ),
            ErrorKind::MissingWellKnownAttribute { type_code } => write!(
                f,
                "missing well-known attribute {}",
                crate::iana::attr_type::name(*type_code)
            ),
            ErrorKind::AttributeFlags { flags, .. } => write!(f, "wrong flags 0x{flags:02x}"),
            ErrorKind::AttributeLength { length, .. } => {
                write!(f, "wrong attribute length {length}")
            }
            ErrorKind::InvalidOrigin { value, .. } => write!(f, "invalid ORIGIN value {value}"),
            ErrorKind::InvalidNextHop { attribute } => {
                write!(f, "invalid next hop {:02x?}", &attribute[..])
            }
            ErrorKind::OptionalAttribute { reason, .. } => f.write_str(reason),
            ErrorKind::InvalidNetworkField { reason, prefix_len } => match prefix_len {
                Some(len) => write!(f, "{reason} (prefix length {len})"),
                None => f.write_str(reason),
            },
            ErrorKind::MalformedAsPath { reason } => write!(f, "malformed AS path: {reason}"),
            ErrorKind::RouteRefreshLength { message } => {
                write!(f, "ROUTE-REFRESH length {}", message.len())
            }
            ErrorKind::Truncated {
                field,
                needed,
                available,
            } => write!(f, "{field} needs {needed} bytes, {available} left"),
        }
    }
}

/// How RFC 7606 says an UPDATE error must be handled (RFC 7606 section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorAction {
    /// Drop the attribute and process the UPDATE without it.
    AttributeDiscard,
    /// Handle every NLRI of the UPDATE as if it had been withdrawn.
    TreatAsWithdraw,
    /// Send the NOTIFICATION and close the session.
    SessionReset,
}

/// A non-fatal error found while decoding an UPDATE (RFC 7606). The decoded
/// UPDATE no longer contains the offending attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The attribute type the error was in (0 for the NLRI fields).
    pub type_code: u8,
    /// `AttributeDiscard` or `TreatAsWithdraw`.
    pub action: ErrorAction,
    /// The error itself, for logs and counters.
    pub error: DecodeError,
}

/// The non-fatal findings of one UPDATE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    /// No findings.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Must the UPDATE's reachable NLRI be handled as withdrawn
    /// (RFC 7606 section 2, "treat-as-withdraw")?
    pub fn treat_as_withdraw(&self) -> bool {
        self.0
            .iter()
            .any(|finding| finding.action == ErrorAction::TreatAsWithdraw)
    }

    /// Iterate over the findings.
    pub fn iter(&self) -> std::slice::Iter<'_, Finding> {
        self.0.iter()
    }

    pub(crate) fn push(&mut self, type_code: u8, action: ErrorAction, error: DecodeError) {
        self.0.push(Finding {
            type_code,
            action,
            error,
        });
    }
}

/// An error while encoding a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message would exceed the session's maximum size.
    #[error("message of {length} bytes exceeds the maximum of {max}")]
    TooLong {
        /// Encoded length.
        length: usize,
        /// Session maximum.
        max: usize,
    },
    /// A field's value cannot be represented on the wire.
    #[error("{field} cannot be encoded: {reason}")]
    Unrepresentable {
        /// The field.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_path_and_offset() {
        let err = DecodeError::new(
            "MP_REACH_NLRI",
            57,
            ErrorKind::OptionalAttribute {
                type_code: 14,
                reason: "next hop length 9",
                attribute: Bytes::new(),
            },
        );
        assert_eq!(
            err.to_string(),
            "in MP_REACH_NLRI: next hop length 9 at offset 57"
        );
    }

    #[test]
    fn bad_message_length_carries_the_length_field() {
        let err = DecodeError::new("header", 16, ErrorKind::BadMessageLength { length: 5000 });
        let n = err.notification();
        assert_eq!((n.code, n.subcode), (1, 2));
        assert_eq!(&n.data[..], &5000u16.to_be_bytes());
    }
}
