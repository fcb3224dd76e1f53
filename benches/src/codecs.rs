//! The same job, "decode one framed BGP message completely", for each codec.
//!
//! Each codec gets the whole message (header included) and the session
//! parameters an MRT BGP4MP record implies: 2- or 4-octet AS numbers from the
//! record subtype, ADD-PATH from the ADDPATH subtypes, extended message
//! length allowed. Each decodes every attribute and every prefix into its own
//! owned types; none is asked for less than it does by default.
//!
//! [`Codec::decode`] is what the timed loops run. [`Codec::prefixes`] counts
//! what came out, outside the timed region, to check that every codec saw
//! the same routes.

use std::collections::HashMap;

use crate::mrt::RawMessage;

/// One BGP codec under test.
pub trait Codec {
    /// Name used in benchmark ids and reports.
    const NAME: &'static str;
    /// The decoded message.
    type Output;
    /// Decode one whole message; `Err` carries a short description.
    fn decode(&mut self, msg: &RawMessage) -> Result<Self::Output, String>;
    /// Announced plus withdrawn IP prefixes of a decoded message (IPv4 NLRI
    /// and withdrawn fields, MP_REACH_NLRI and MP_UNREACH_NLRI).
    fn prefixes(output: &Self::Output) -> usize;
}

/// What a codec made of a message set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Messages decoded without error.
    pub ok: usize,
    /// Messages the codec rejected.
    pub failed: usize,
    /// Prefixes in the decoded messages.
    pub prefixes: usize,
    /// The first few errors, for the report.
    pub first_errors: Vec<String>,
}

/// Decode every message once and count results (not timed).
pub fn tally<C: Codec>(codec: &mut C, messages: &[RawMessage]) -> Tally {
    let mut tally = Tally::default();
    for msg in messages {
        match codec.decode(msg) {
            Ok(output) => {
                tally.ok += 1;
                tally.prefixes += C::prefixes(&output);
            }
            Err(error) => {
                tally.failed += 1;
                if tally.first_errors.len() < 5 {
                    tally.first_errors.push(error);
                }
            }
        }
    }
    tally
}

// ---------------------------------------------------------------- bgp-proto

/// This project's codec, `bgp_proto::decode_message`.
#[derive(Debug, Default)]
pub struct BgpProto;

impl BgpProto {
    /// The decode context for a message from an MRT record.
    pub fn ctx(msg: &RawMessage) -> bgp_proto::DecodeCtx {
        bgp_proto::CodecCtx {
            four_octet_as: msg.four_octet_as,
            add_path: if msg.add_path {
                bgp_proto::AddPathFamilies::ALL
            } else {
                bgp_proto::AddPathFamilies::NONE
            },
            extended_message: true,
            peer_type: bgp_proto::PeerType::Internal,
        }
    }
}

impl Codec for BgpProto {
    const NAME: &'static str = "bgp-proto";
    type Output = bgp_proto::Decoded;

    fn decode(&mut self, msg: &RawMessage) -> Result<Self::Output, String> {
        bgp_proto::decode_message(&msg.bytes, &Self::ctx(msg)).map_err(|e| e.to_string())
    }

    fn prefixes(output: &Self::Output) -> usize {
        match &output.message {
            bgp_proto::Message::Update(update) => {
                update.announced().count() + update.withdrawn_routes().count()
            }
            _ => 0,
        }
    }
}

/// This project's codec through `bgp_proto::decode_message_into`: the
/// same complete decode and checks, into one `Update` kept across calls, so
/// the attribute and prefix lists are not reallocated for every message.
/// Its output is the prefix count, read from the reused `Update`.
#[derive(Debug, Default)]
pub struct BgpProtoReused {
    update: bgp_proto::message::Update,
    findings: bgp_proto::Findings,
}

impl Codec for BgpProtoReused {
    const NAME: &'static str = "bgp-proto-reused";
    type Output = usize;

    fn decode(&mut self, msg: &RawMessage) -> Result<Self::Output, String> {
        let other = bgp_proto::decode_message_into(
            &msg.bytes,
            &BgpProto::ctx(msg),
            &mut self.update,
            &mut self.findings,
        )
        .map_err(|e| e.to_string())?;
        Ok(match other {
            Some(_) => 0,
            None => self.update.announced().count() + self.update.withdrawn_routes().count(),
        })
    }

    fn prefixes(output: &Self::Output) -> usize {
        *output
    }
}

// ------------------------------------------------------------ bgpkit-parser

/// `bgpkit_parser::parser::bgp::messages::parse_bgp_message`.
#[derive(Debug, Default)]
pub struct Bgpkit;

impl Codec for Bgpkit {
    const NAME: &'static str = "bgpkit-parser";
    type Output = bgpkit_parser::models::BgpMessage;

    fn decode(&mut self, msg: &RawMessage) -> Result<Self::Output, String> {
        use bgpkit_parser::models::AsnLength;
        let asn_len = if msg.four_octet_as {
            AsnLength::Bits32
        } else {
            AsnLength::Bits16
        };
        // A `Bytes` clone is a reference-count increment, no copy.
        let mut bytes = msg.bytes.clone();
        bgpkit_parser::parser::bgp::messages::parse_bgp_message(&mut bytes, msg.add_path, &asn_len)
            .map_err(|e| e.to_string())
    }

    fn prefixes(output: &Self::Output) -> usize {
        match output {
            bgpkit_parser::models::BgpMessage::Update(update) => {
                let mp = |nlri: Option<&bgpkit_parser::models::Nlri>| {
                    nlri.map_or(0, |n| n.prefixes.len())
                };
                update.announced_prefixes.len()
                    + update.withdrawn_prefixes.len()
                    + mp(update.attributes.get_reachable_nlri())
                    + mp(update.attributes.get_unreachable_nlri())
            }
            _ => 0,
        }
    }
}

// --------------------------------------------------------- netgauze-bgp-pkt

/// `netgauze_bgp_pkt::BgpMessage` parsed from a `SliceReader` with a
/// `BgpParsingContext` (netgauze's `from_wire` of earlier versions).
#[derive(Debug)]
pub struct Netgauze {
    /// Contexts for (four_octet_as, add_path), built once.
    contexts: [netgauze_bgp_pkt::wire::deserializer::BgpParsingContext; 4],
}

impl Netgauze {
    /// With `strict`, a malformed path attribute or a non-unicast IPv4
    /// prefix fails the message (netgauze's default); without, netgauze
    /// records it in the context and goes on, like RFC 7606.
    pub fn new(strict: bool) -> Self {
        use netgauze_bgp_pkt::wire::deserializer::BgpParsingContext;
        use netgauze_iana::address_family::AddressType;
        let ctx = |asn4: bool, add_path: bool| {
            let mut families = HashMap::new();
            if add_path {
                for family in [AddressType::Ipv4Unicast, AddressType::Ipv6Unicast] {
                    families.insert(family, true);
                }
            }
            BgpParsingContext::new(
                asn4,
                HashMap::new(),
                families,
                strict,
                strict,
                strict,
                strict,
            )
        };
        Netgauze {
            contexts: [
                ctx(false, false),
                ctx(false, true),
                ctx(true, false),
                ctx(true, true),
            ],
        }
    }
}

impl Default for Netgauze {
    fn default() -> Self {
        Netgauze::new(true)
    }
}

impl Codec for Netgauze {
    const NAME: &'static str = "netgauze-bgp-pkt";
    type Output = netgauze_bgp_pkt::BgpMessage;

    fn decode(&mut self, msg: &RawMessage) -> Result<Self::Output, String> {
        use netgauze_parse_utils::reader::SliceReader;
        use netgauze_parse_utils::traits::ParseFromWithOneInput;
        let ctx =
            &mut self.contexts[usize::from(msg.four_octet_as) * 2 + usize::from(msg.add_path)];
        let mut reader = SliceReader::new(&msg.bytes);
        let result = netgauze_bgp_pkt::BgpMessage::parse(&mut reader, ctx);
        if !ctx.parsing_errors().path_attr_errors().is_empty()
            || !ctx.parsing_errors().non_unicast_update_nlri().is_empty()
            || !ctx.parsing_errors().non_unicast_withdraw_nlri().is_empty()
        {
            ctx.reset_parsing_errors();
        }
        result.map_err(|e| e.to_string())
    }

    fn prefixes(output: &Self::Output) -> usize {
        use netgauze_bgp_pkt::path_attribute::{MpReach, MpUnreach, PathAttributeValue};
        let netgauze_bgp_pkt::BgpMessage::Update(update) = output else {
            return 0;
        };
        let mut count = update.nlri().len() + update.withdraw_routes().len();
        for attribute in update.path_attributes() {
            count += match attribute.value() {
                PathAttributeValue::MpReach(reach) => match reach {
                    MpReach::Ipv4Unicast { nlri, .. } => nlri.len(),
                    MpReach::Ipv4Multicast { nlri, .. } => nlri.len(),
                    MpReach::Ipv6Unicast { nlri, .. } => nlri.len(),
                    MpReach::Ipv6Multicast { nlri, .. } => nlri.len(),
                    _ => 0,
                },
                PathAttributeValue::MpUnreach(unreach) => match unreach {
                    MpUnreach::Ipv4Unicast { nlri } => nlri.len(),
                    MpUnreach::Ipv4Multicast { nlri } => nlri.len(),
                    MpUnreach::Ipv6Unicast { nlri } => nlri.len(),
                    MpUnreach::Ipv6Multicast { nlri } => nlri.len(),
                    _ => 0,
                },
                _ => 0,
            };
        }
        count
    }
}

// ----------------------------------------------------------------- zettabgp

/// zettabgp: `decode_message_head`, then the message type's `decode_from`.
#[derive(Debug)]
pub struct Zettabgp {
    /// Session parameters for 2- and 4-octet AS numbers.
    params: [zettabgp::BgpSessionParams; 2],
}

impl Default for Zettabgp {
    fn default() -> Self {
        let params = |as4: bool| {
            let mut params = zettabgp::BgpSessionParams::new(
                64512,
                180,
                // The NLRI and withdrawn fields of an UPDATE are IPv4 whatever the
                // transport; zettabgp's IPv6 mode would read them as IPv6.
                zettabgp::BgpTransportMode::IPv4,
                std::net::Ipv4Addr::new(192, 0, 2, 1),
                Vec::new(),
            );
            params.has_as32bit = as4;
            // Its default guesses ADD-PATH from the bytes; the record says.
            params.fuzzy_pathid = false;
            params
        };
        Zettabgp {
            params: [params(false), params(true)],
        }
    }
}

/// A message decoded by zettabgp.
#[derive(Debug)]
pub enum ZettabgpMessage {
    /// OPEN.
    Open(zettabgp::prelude::BgpOpenMessage),
    /// UPDATE.
    Update(zettabgp::prelude::BgpUpdateMessage),
    /// NOTIFICATION.
    Notification(zettabgp::prelude::BgpNotificationMessage),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(zettabgp::prelude::BgpRouterefreshMessage),
}

fn zettabgp_addrs(addrs: &zettabgp::prelude::BgpAddrs) -> usize {
    use zettabgp::prelude::BgpAddrs;
    match addrs {
        BgpAddrs::IPV4U(v) | BgpAddrs::IPV4M(v) => v.len(),
        BgpAddrs::IPV6U(v) | BgpAddrs::IPV6M(v) => v.len(),
        BgpAddrs::IPV4UP(v) | BgpAddrs::IPV4MP(v) => v.len(),
        BgpAddrs::IPV6UP(v) | BgpAddrs::IPV6MP(v) => v.len(),
        _ => 0,
    }
}

impl Codec for Zettabgp {
    const NAME: &'static str = "zettabgp";
    type Output = ZettabgpMessage;

    fn decode(&mut self, msg: &RawMessage) -> Result<Self::Output, String> {
        use zettabgp::BgpMessage as _;
        use zettabgp::prelude::*;
        let params = &self.params[usize::from(msg.four_octet_as)];
        let err = |e: BgpError| e.to_string();
        let (kind, len) = params.decode_message_head(&msg.bytes).map_err(err)?;
        let body = msg
            .bytes
            .get(19..19 + len)
            .ok_or_else(|| "message shorter than its length".to_string())?;
        Ok(match kind {
            BgpMessageType::Open => {
                let mut open = BgpOpenMessage::new();
                open.decode_from(params, body).map_err(err)?;
                ZettabgpMessage::Open(open)
            }
            BgpMessageType::Update => {
                let mut update = BgpUpdateMessage::new();
                update.decode_from(params, body).map_err(err)?;
                ZettabgpMessage::Update(update)
            }
            BgpMessageType::Notification => {
                let mut notification = BgpNotificationMessage::new();
                notification.decode_from(params, body).map_err(err)?;
                ZettabgpMessage::Notification(notification)
            }
            BgpMessageType::Keepalive => ZettabgpMessage::Keepalive,
            BgpMessageType::Routerefresh => {
                let mut refresh = BgpRouterefreshMessage::new();
                refresh.decode_from(params, body).map_err(err)?;
                ZettabgpMessage::RouteRefresh(refresh)
            }
        })
    }

    fn prefixes(output: &Self::Output) -> usize {
        let ZettabgpMessage::Update(update) = output else {
            return 0;
        };
        let mut count = zettabgp_addrs(&update.updates) + zettabgp_addrs(&update.withdraws);
        if let Some(reach) = update.get_mpupdates() {
            count += zettabgp_addrs(&reach.addrs);
        }
        if let Some(unreach) = update.get_mpwithdraws() {
            count += zettabgp_addrs(&unreach.addrs);
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{mrt, synth};

    fn all_tallies(messages: &[RawMessage]) -> [Tally; 5] {
        [
            tally(&mut BgpProto, messages),
            tally(&mut BgpProtoReused::default(), messages),
            tally(&mut Bgpkit, messages),
            tally(&mut Netgauze::default(), messages),
            tally(&mut Zettabgp::default(), messages),
        ]
    }

    #[test]
    fn every_codec_decodes_the_synthetic_updates_completely() {
        for case in synth::cases() {
            for t in all_tallies(std::slice::from_ref(&case.raw)) {
                assert_eq!(
                    (t.ok, t.prefixes),
                    (1, case.prefixes as usize),
                    "{}",
                    case.name
                );
            }
        }
    }

    /// The real-data benchmark compares like with like only if every codec
    /// decodes every message and finds the same routes.
    #[test]
    fn every_codec_decodes_the_real_data_set_alike() {
        let set = mrt::load_updates_file().expect("the shared MRT data is readable");
        assert!(set.messages.len() > 17_000);
        let tallies = all_tallies(&set.messages);
        for t in &tallies {
            assert_eq!(t, &tallies[0]);
            assert_eq!(t.failed, 0);
        }
    }
}
