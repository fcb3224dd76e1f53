//! NOTIFICATION (RFC 4271 section 4.5), with typed error codes and the data
//! formats of RFC 4486, RFC 8538 and RFC 9003.
//!
//! The body after the common header:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`Notification`] keeps the three fields as received; [`Notification::error`]
//! gives a typed view of code and subcode, and `Display` a line for logs:
//! `Cease / Administrative Shutdown: "maintenance"`.
//!
//! Data formats understood here:
//!
//! ```text
//! Cease / Administrative Shutdown or Reset (RFC 9003 section 2):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Length    |  Shutdown Communication (UTF-8, Length octets)|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! Cease / Maximum Number of Prefixes Reached (RFC 4486 section 4):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |              AFI              |     SAFI      | Upper bound.. |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    .. prefix upper bound (4 octets in all)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! Cease / Hard Reset (RFC 8538 section 3): the NOTIFICATION that caused it
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

use crate::capability::fqdn::truncate_str;
use crate::error::{DecodeError, ErrorKind};
use crate::iana::notification::{self as code, cease, fsm, header, open, route_refresh, update};
use crate::iana::{Afi, AfiSafi, Safi};
use crate::message::HEADER_LEN;

/// Longest Shutdown Communication (RFC 9003 section 2; RFC 8203 had 128).
pub const MAX_SHUTDOWN_MESSAGE_LEN: usize = 255;
/// Subcode 0, "Unspecific", of the IANA registry.
const UNSPECIFIC: u8 = 0;

/// A NOTIFICATION message (RFC 4271 section 4.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode (0 where the code has none).
    pub subcode: u8,
    /// Data, whose meaning depends on code and subcode.
    pub data: Bytes,
}

impl Notification {
    /// A NOTIFICATION from its three fields.
    pub fn new(code: u8, subcode: u8, data: Bytes) -> Self {
        Notification {
            code,
            subcode,
            data,
        }
    }

    /// A NOTIFICATION for `error`, without data.
    pub fn from_error(error: NotificationError) -> Self {
        let (code, subcode) = error.codes();
        Notification::new(code, subcode, Bytes::new())
    }

    /// Hold Timer Expired (RFC 4271 section 6.5).
    pub fn hold_timer_expired() -> Self {
        Notification::from_error(NotificationError::HoldTimerExpired)
    }

    /// Send Hold Timer Expired (RFC 9687 section 3).
    pub fn send_hold_timer_expired() -> Self {
        Notification::from_error(NotificationError::SendHoldTimerExpired)
    }

    /// A Cease with `subcode` and no data (RFC 4486 section 4).
    pub fn cease(subcode: CeaseError) -> Self {
        Notification::from_error(NotificationError::Cease(subcode))
    }

    /// A Cease carrying a Shutdown Communication (RFC 9003 section 2).
    ///
    /// `subcode` should be Administrative Shutdown (2) or Administrative
    /// Reset (4), the two that RFC 9003 defines it for. `message` is cut at
    /// a character boundary to fit [`MAX_SHUTDOWN_MESSAGE_LEN`] octets; an
    /// empty message sends no data.
    pub fn cease_shutdown(subcode: u8, message: &str) -> Self {
        let message = truncate_str(message, MAX_SHUTDOWN_MESSAGE_LEN);
        let mut data = BytesMut::with_capacity(1 + message.len());
        if !message.is_empty() {
            data.put_u8(message.len() as u8);
            data.put_slice(message.as_bytes());
        }
        Notification::new(code::CEASE, subcode, data.freeze())
    }

    /// Cease / Maximum Number of Prefixes Reached, with the family and the
    /// configured upper bound (RFC 4486 section 4).
    pub fn max_prefixes(afi_safi: AfiSafi, limit: u32) -> Self {
        let mut data = BytesMut::with_capacity(7);
        data.put_u16(afi_safi.afi.0);
        data.put_u8(afi_safi.safi.0);
        data.put_u32(limit);
        Notification::new(code::CEASE, cease::MAXIMUM_PREFIXES_REACHED, data.freeze())
    }

    /// Cease / Hard Reset wrapping the NOTIFICATION that caused it (RFC 8538
    /// section 3).
    pub fn hard_reset(cause: &Notification) -> Self {
        let mut data = BytesMut::with_capacity(2 + cause.data.len());
        cause.encode(&mut data);
        Notification::new(code::CEASE, cease::HARD_RESET, data.freeze())
    }

    /// Decode the body (after the header). Fewer than 2 octets is
    /// [`ErrorKind::Truncated`].
    pub fn decode(body: &[u8]) -> Result<Notification, DecodeError> {
        match body {
            [code, subcode, data @ ..] => Ok(Notification::new(
                *code,
                *subcode,
                Bytes::copy_from_slice(data),
            )),
            _ => Err(DecodeError::new(
                "NOTIFICATION",
                HEADER_LEN,
                ErrorKind::Truncated {
                    field: "NOTIFICATION error code and subcode",
                    needed: 2,
                    available: body.len(),
                },
            )),
        }
    }

    /// Append the body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.code);
        out.put_u8(self.subcode);
        out.put_slice(&self.data);
    }

    /// The typed error code and subcode.
    pub fn error(&self) -> NotificationError {
        NotificationError::from_codes(self.code, self.subcode)
    }

    /// Is this Cease / Administrative Shutdown or Administrative Reset, the
    /// two that may carry a Shutdown Communication (RFC 9003 section 2)?
    fn is_shutdown(&self) -> bool {
        self.code == code::CEASE
            && matches!(
                self.subcode,
                cease::ADMINISTRATIVE_SHUTDOWN | cease::ADMINISTRATIVE_RESET
            )
    }

    /// The Shutdown Communication of a Cease / Administrative Shutdown or
    /// Reset (RFC 9003 section 2).
    ///
    /// `None` for other NOTIFICATIONs and when there is no communication
    /// (no data, or length 0). A length that disagrees with the data, or
    /// text that is not UTF-8, is `Some(Err(..))`: RFC 9003 section 2 has
    /// the receiver log that and carry on, so it is no [`DecodeError`].
    pub fn shutdown_message(&self) -> Option<Result<&str, ShutdownMessageError>> {
        if !self.is_shutdown() {
            return None;
        }
        let (&declared, text) = self.data.split_first()?;
        if usize::from(declared) != text.len() {
            return Some(Err(ShutdownMessageError::Length {
                declared,
                available: text.len(),
            }));
        }
        if text.is_empty() {
            return None;
        }
        Some(std::str::from_utf8(text).map_err(|_| ShutdownMessageError::InvalidUtf8))
    }

    /// Family and upper bound of a Cease / Maximum Number of Prefixes
    /// Reached, when its data has the 7-octet form of RFC 4486 section 4.
    pub fn max_prefixes_data(&self) -> Option<(AfiSafi, u32)> {
        if (self.code, self.subcode) != (code::CEASE, cease::MAXIMUM_PREFIXES_REACHED) {
            return None;
        }
        match *self.data {
            [a0, a1, safi, l0, l1, l2, l3] => Some((
                AfiSafi::new(Afi(u16::from_be_bytes([a0, a1])), Safi(safi)),
                u32::from_be_bytes([l0, l1, l2, l3]),
            )),
            _ => None,
        }
    }

    /// The NOTIFICATION wrapped by a Cease / Hard Reset (RFC 8538 section 3).
    ///
    /// A Hard Reset inside a Hard Reset is not a cause (RFC 8538 wraps the
    /// NOTIFICATION that would have been sent); it is `None`, so nesting a
    /// hostile peer sends can never recurse (found by fuzzing).
    pub fn hard_reset_cause(&self) -> Option<Notification> {
        if (self.code, self.subcode) != (code::CEASE, cease::HARD_RESET) {
            return None;
        }
        Notification::decode(&self.data)
            .ok()
            .filter(|inner| (inner.code, inner.subcode) != (code::CEASE, cease::HARD_RESET))
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error())?;
        if let Some(message) = self.shutdown_message() {
            return match message {
                // Debug quoting escapes control characters (RFC 9003 section 7).
                Ok(text) => write!(f, ": {text:?}"),
                Err(err) => write!(f, ": {err}"),
            };
        }
        if let Some((family, limit)) = self.max_prefixes_data() {
            return write!(f, ": {family}, limit {limit}");
        }
        if let Some(cause) = self.hard_reset_cause() {
            return write!(f, " ({cause})");
        }
        if !self.data.is_empty() && !self.is_shutdown() {
            const SHOWN: usize = 32;
            f.write_str(" (data")?;
            for byte in self.data.iter().take(SHOWN) {
                write!(f, " {byte:02x}")?;
            }
            if self.data.len() > SHOWN {
                write!(f, " ... {} octets", self.data.len())?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A Shutdown Communication that cannot be read (RFC 9003 section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ShutdownMessageError {
    /// The length octet disagrees with the octets that follow it.
    #[error("malformed shutdown communication: length {declared}, {available} octets follow")]
    Length {
        /// The length octet.
        declared: u8,
        /// Octets after it.
        available: usize,
    },
    /// The text is not UTF-8.
    #[error("malformed shutdown communication: not UTF-8")]
    InvalidUtf8,
}

/// The error code and subcode of a NOTIFICATION (RFC 4271 section 4.5 and
/// the IANA "BGP Error (Notification) Codes" registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationError {
    /// Message Header Error (RFC 4271 section 6.1).
    MessageHeader(HeaderError),
    /// OPEN Message Error (RFC 4271 section 6.2).
    Open(OpenError),
    /// UPDATE Message Error (RFC 4271 section 6.3).
    Update(UpdateError),
    /// Hold Timer Expired (RFC 4271 section 6.5); any subcode.
    HoldTimerExpired,
    /// Finite State Machine Error (RFC 4271 section 6.6, RFC 6608 section 3).
    Fsm(FsmError),
    /// Cease (RFC 4271 section 6.7, RFC 4486 section 4).
    Cease(CeaseError),
    /// ROUTE-REFRESH Message Error (RFC 7313 section 5).
    RouteRefresh(RouteRefreshError),
    /// Send Hold Timer Expired (RFC 9687 section 3); any subcode.
    SendHoldTimerExpired,
    /// An error code this crate does not know.
    Unknown {
        /// Error code.
        code: u8,
        /// Error subcode.
        subcode: u8,
    },
}

impl NotificationError {
    /// The typed view of a code and subcode.
    pub fn from_codes(error_code: u8, subcode: u8) -> Self {
        use NotificationError as E;
        match error_code {
            code::MESSAGE_HEADER_ERROR => E::MessageHeader(HeaderError::from_subcode(subcode)),
            code::OPEN_MESSAGE_ERROR => E::Open(OpenError::from_subcode(subcode)),
            code::UPDATE_MESSAGE_ERROR => E::Update(UpdateError::from_subcode(subcode)),
            code::HOLD_TIMER_EXPIRED => E::HoldTimerExpired,
            code::FSM_ERROR => E::Fsm(FsmError::from_subcode(subcode)),
            code::CEASE => E::Cease(CeaseError::from_subcode(subcode)),
            code::ROUTE_REFRESH_MESSAGE_ERROR => {
                E::RouteRefresh(RouteRefreshError::from_subcode(subcode))
            }
            code::SEND_HOLD_TIMER_EXPIRED => E::SendHoldTimerExpired,
            code => E::Unknown { code, subcode },
        }
    }

    /// The wire code and subcode (subcode 0 for codes without subcodes).
    pub fn codes(self) -> (u8, u8) {
        use NotificationError as E;
        match self {
            E::MessageHeader(s) => (code::MESSAGE_HEADER_ERROR, s.subcode()),
            E::Open(s) => (code::OPEN_MESSAGE_ERROR, s.subcode()),
            E::Update(s) => (code::UPDATE_MESSAGE_ERROR, s.subcode()),
            E::HoldTimerExpired => (code::HOLD_TIMER_EXPIRED, 0),
            E::Fsm(s) => (code::FSM_ERROR, s.subcode()),
            E::Cease(s) => (code::CEASE, s.subcode()),
            E::RouteRefresh(s) => (code::ROUTE_REFRESH_MESSAGE_ERROR, s.subcode()),
            E::SendHoldTimerExpired => (code::SEND_HOLD_TIMER_EXPIRED, 0),
            E::Unknown { code, subcode } => (code, subcode),
        }
    }
}

impl fmt::Display for NotificationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use NotificationError as E;
        match self {
            E::MessageHeader(s) => write!(f, "Message Header Error / {s}"),
            E::Open(s) => write!(f, "OPEN Message Error / {s}"),
            E::Update(s) => write!(f, "UPDATE Message Error / {s}"),
            E::HoldTimerExpired => f.write_str("Hold Timer Expired"),
            E::Fsm(s) => write!(f, "Finite State Machine Error / {s}"),
            E::Cease(s) => write!(f, "Cease / {s}"),
            E::RouteRefresh(s) => write!(f, "ROUTE-REFRESH Message Error / {s}"),
            E::SendHoldTimerExpired => f.write_str("Send Hold Timer Expired"),
            E::Unknown { code, subcode } => write!(f, "error code {code} / subcode {subcode}"),
        }
    }
}

/// Defines a subcode enum with an `Other(u8)` catch-all, conversions to and
/// from the wire octet, and a `Display` of the registry name.
macro_rules! subcodes {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:path, $text:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A subcode this crate does not know (unassigned or deprecated).
            Other(u8),
        }

        impl $name {
            /// The subcode from its wire octet.
            pub fn from_subcode(subcode: u8) -> Self {
                match subcode {
                    $( $value => $name::$variant, )*
                    other => $name::Other(other),
                }
            }

            /// The wire octet.
            pub fn subcode(self) -> u8 {
                match self {
                    $( $name::$variant => $value, )*
                    $name::Other(other) => other,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $( $name::$variant => f.write_str($text), )*
                    $name::Other(other) => write!(f, "subcode {other}"),
                }
            }
        }
    };
}

subcodes! {
    /// Message Header Error subcodes (RFC 4271 section 4.5).
    HeaderError {
        /// 0, no subcode given.
        Unspecific = UNSPECIFIC, "Unspecific";
        /// The marker is not all ones.
        ConnectionNotSynchronized = header::CONNECTION_NOT_SYNCHRONIZED, "Connection Not Synchronized";
        /// The length field is out of range; data is the length field.
        BadMessageLength = header::BAD_MESSAGE_LENGTH, "Bad Message Length";
        /// The type is unknown; data is the type octet.
        BadMessageType = header::BAD_MESSAGE_TYPE, "Bad Message Type";
    }
}

subcodes! {
    /// OPEN Message Error subcodes (RFC 4271 section 4.5, RFC 5492 section 5,
    /// RFC 9234 section 4.2).
    OpenError {
        /// 0, no subcode given.
        Unspecific = UNSPECIFIC, "Unspecific";
        /// Version not supported; data is the largest supported version.
        UnsupportedVersionNumber = open::UNSUPPORTED_VERSION_NUMBER, "Unsupported Version Number";
        /// The peer's AS is not the expected one.
        BadPeerAs = open::BAD_PEER_AS, "Bad Peer AS";
        /// The BGP Identifier is unacceptable.
        BadBgpIdentifier = open::BAD_BGP_IDENTIFIER, "Bad BGP Identifier";
        /// An optional parameter type is not supported.
        UnsupportedOptionalParameter = open::UNSUPPORTED_OPTIONAL_PARAMETER, "Unsupported Optional Parameter";
        /// The hold time is unacceptable.
        UnacceptableHoldTime = open::UNACCEPTABLE_HOLD_TIME, "Unacceptable Hold Time";
        /// A required capability is missing; data lists capabilities (RFC 5492).
        UnsupportedCapability = open::UNSUPPORTED_CAPABILITY, "Unsupported Capability";
        /// The BGP Roles do not match (RFC 9234).
        RoleMismatch = open::ROLE_MISMATCH, "Role Mismatch";
    }
}

subcodes! {
    /// UPDATE Message Error subcodes (RFC 4271 section 4.5).
    UpdateError {
        /// 0, no subcode given.
        Unspecific = UNSPECIFIC, "Unspecific";
        /// Malformed Attribute List.
        MalformedAttributeList = update::MALFORMED_ATTRIBUTE_LIST, "Malformed Attribute List";
        /// Unrecognized Well-known Attribute.
        UnrecognizedWellKnownAttribute = update::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, "Unrecognized Well-known Attribute";
        /// Missing Well-known Attribute.
        MissingWellKnownAttribute = update::MISSING_WELL_KNOWN_ATTRIBUTE, "Missing Well-known Attribute";
        /// Attribute Flags Error.
        AttributeFlagsError = update::ATTRIBUTE_FLAGS_ERROR, "Attribute Flags Error";
        /// Attribute Length Error.
        AttributeLengthError = update::ATTRIBUTE_LENGTH_ERROR, "Attribute Length Error";
        /// Invalid ORIGIN Attribute.
        InvalidOriginAttribute = update::INVALID_ORIGIN_ATTRIBUTE, "Invalid ORIGIN Attribute";
        /// Invalid NEXT_HOP Attribute.
        InvalidNextHopAttribute = update::INVALID_NEXT_HOP_ATTRIBUTE, "Invalid NEXT_HOP Attribute";
        /// Optional Attribute Error.
        OptionalAttributeError = update::OPTIONAL_ATTRIBUTE_ERROR, "Optional Attribute Error";
        /// Invalid Network Field.
        InvalidNetworkField = update::INVALID_NETWORK_FIELD, "Invalid Network Field";
        /// Malformed AS_PATH.
        MalformedAsPath = update::MALFORMED_AS_PATH, "Malformed AS_PATH";
    }
}

subcodes! {
    /// Finite State Machine Error subcodes (RFC 6608 section 3).
    FsmError {
        /// 0, Unspecified Error.
        Unspecified = fsm::UNSPECIFIED, "Unspecified Error";
        /// Unexpected message in OpenSent.
        UnexpectedMessageInOpenSent = fsm::UNEXPECTED_MESSAGE_IN_OPEN_SENT, "Receive Unexpected Message in OpenSent State";
        /// Unexpected message in OpenConfirm.
        UnexpectedMessageInOpenConfirm = fsm::UNEXPECTED_MESSAGE_IN_OPEN_CONFIRM, "Receive Unexpected Message in OpenConfirm State";
        /// Unexpected message in Established.
        UnexpectedMessageInEstablished = fsm::UNEXPECTED_MESSAGE_IN_ESTABLISHED, "Receive Unexpected Message in Established State";
    }
}

subcodes! {
    /// Cease subcodes (RFC 4486 section 4, RFC 8538, RFC 9384).
    CeaseError {
        /// 0, no reason given (RFC 4271 section 6.7 predates the subcodes).
        Unspecific = UNSPECIFIC, "Unspecific";
        /// A prefix limit was reached (RFC 4486); see [`Notification::max_prefixes`].
        MaximumPrefixesReached = cease::MAXIMUM_PREFIXES_REACHED, "Maximum Number of Prefixes Reached";
        /// Administrative Shutdown; may carry a message (RFC 9003).
        AdministrativeShutdown = cease::ADMINISTRATIVE_SHUTDOWN, "Administrative Shutdown";
        /// The peer was removed from the configuration.
        PeerDeconfigured = cease::PEER_DECONFIGURED, "Peer De-configured";
        /// Administrative Reset; may carry a message (RFC 9003).
        AdministrativeReset = cease::ADMINISTRATIVE_RESET, "Administrative Reset";
        /// The connection was not accepted.
        ConnectionRejected = cease::CONNECTION_REJECTED, "Connection Rejected";
        /// A configuration change requires a reset.
        OtherConfigurationChange = cease::OTHER_CONFIGURATION_CHANGE, "Other Configuration Change";
        /// Lost the RFC 4271 section 6.8 collision resolution.
        ConnectionCollisionResolution = cease::CONNECTION_COLLISION_RESOLUTION, "Connection Collision Resolution";
        /// Out of resources.
        OutOfResources = cease::OUT_OF_RESOURCES, "Out of Resources";
        /// Hard Reset, not subject to Graceful Restart (RFC 8538 section 3).
        HardReset = cease::HARD_RESET, "Hard Reset";
        /// BFD session down (RFC 9384).
        BfdDown = cease::BFD_DOWN, "BFD Down";
    }
}

subcodes! {
    /// ROUTE-REFRESH Message Error subcodes (RFC 7313 section 5).
    RouteRefreshError {
        /// The message length is not 23; data is the whole message.
        InvalidMessageLength = route_refresh::INVALID_MESSAGE_LENGTH, "Invalid Message Length";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_and_subcode_round_trips() {
        for c in 0..=u8::MAX {
            for s in 0..=u8::MAX {
                let (code, subcode) = NotificationError::from_codes(c, s).codes();
                if c == code::HOLD_TIMER_EXPIRED || c == code::SEND_HOLD_TIMER_EXPIRED {
                    assert_eq!((code, subcode), (c, 0));
                } else {
                    assert_eq!((code, subcode), (c, s));
                }
            }
        }
    }

    #[test]
    fn shutdown_message_is_cut_at_a_character_boundary() {
        let n = Notification::cease_shutdown(4, &"€".repeat(100));
        assert_eq!(n.data.len(), 1 + 255);
        assert_eq!(n.shutdown_message(), Some(Ok("€".repeat(85).as_str())));
        assert_eq!(Notification::cease_shutdown(2, "").data.len(), 0);
        assert_eq!(Notification::cease_shutdown(2, "").shutdown_message(), None);
    }

    #[test]
    fn malformed_shutdown_messages_are_reported_not_fatal() {
        let n = |data: &'static [u8]| Notification::new(6, 2, Bytes::from_static(data));
        assert_eq!(
            n(&[5, b'a', b'b']).shutdown_message(),
            Some(Err(ShutdownMessageError::Length {
                declared: 5,
                available: 2
            }))
        );
        assert_eq!(
            n(&[2, 0xc3, 0x28]).shutdown_message(),
            Some(Err(ShutdownMessageError::InvalidUtf8))
        );
        assert_eq!(n(&[0]).shutdown_message(), None);
        assert_eq!(
            n(&[5, b'a']).to_string(),
            "Cease / Administrative Shutdown: malformed shutdown communication: \
             length 5, 1 octets follow"
        );
        // Other subcodes never carry one.
        let other = Notification::new(6, 3, Bytes::from_static(&[1, b'a']));
        assert_eq!(other.shutdown_message(), None);
    }

    #[test]
    fn decode_needs_two_octets() {
        for body in [&[][..], &[6]] {
            let err = Notification::decode(body).unwrap_err();
            assert!(matches!(err.kind, ErrorKind::Truncated { .. }));
            assert_eq!(err.offset, HEADER_LEN);
        }
        let n = Notification::decode(&[4, 0]).unwrap();
        assert_eq!(n, Notification::hold_timer_expired());
        let mut out = BytesMut::new();
        Notification::send_hold_timer_expired().encode(&mut out);
        assert_eq!(&out[..], &[8, 0]);
    }
}
