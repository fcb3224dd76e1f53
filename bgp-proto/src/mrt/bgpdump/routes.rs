//! The lines of each record type.

use ipnetwork::IpNetwork;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use super::attrs::{AttrView, mp_reach_first_octet, next_hop_octets};
use super::lenient;
use super::text;
use crate::attribute::MpNlri;
use crate::iana::{Afi, AfiSafi, Safi};
use crate::message::{Decoded, HEADER_LEN, Message, decode_message};
use crate::mrt::{
    Bgp4mpMessage, Bgp4mpStateChange, MrtRecord, PeerIndexTable, RibRecord, TableDump,
};
use crate::nlri::Nlri;

/// bgpdump's next hop when there is none: INADDR_NONE.
const NO_NEXT_HOP: Ipv4Addr = Ipv4Addr::BROADCAST;

fn push_ip(addr: &IpAddr, out: &mut String) {
    match addr {
        IpAddr::V4(v4) => text::ipv4(v4, out),
        IpAddr::V6(v6) => text::ipv6(v6, out),
    }
}

fn push_prefix(prefix: &IpNetwork, out: &mut String) {
    push_ip(&prefix.ip(), out);
    let _ = write!(out, "/{}", prefix.prefix());
}

/// How the next hop, LOCAL_PREF and MED of a line are printed.
enum NextHopText {
    V4(Ipv4Addr),
    V6([u8; 16]),
}

/// `as path|origin|next hop|local pref|med|communities|AG|aggregator|`,
/// with LOCAL_PREF and MED as signed numbers when `signed` (bgpdump prints
/// them with `%d` for IPv4 routes of MP_REACH_NLRI).
fn push_route_tail(view: &AttrView<'_>, next_hop: NextHopText, signed: bool, out: &mut String) {
    if let Some(path) = &view.as_path {
        text::as_path(path, out);
    }
    out.push('|');
    out.push_str(text::origin(view.origin));
    out.push('|');
    match next_hop {
        NextHopText::V4(addr) => text::ipv4(&addr, out),
        NextHopText::V6(octets) => text::ipv6_octets(octets, out),
    }
    let pref = view.local_pref.unwrap_or(0);
    let med = view.med.unwrap_or(0);
    if signed {
        let _ = write!(out, "|{}|{}|", pref as i32, med as i32);
    } else {
        let _ = write!(out, "|{pref}|{med}|");
    }
    if let Some(list) = &view.communities {
        text::communities(list, out);
    }
    out.push_str(if view.atomic_aggregate {
        "|AG|"
    } else {
        "|NAG|"
    });
    if let Some(aggregator) = view.aggregator.filter(|a| a.address != NO_NEXT_HOP) {
        let _ = write!(out, "{} {}", aggregator.asn, aggregator.address);
    }
    out.push_str("|\n");
}

/// The next hop of a RIB line: the MP_REACH_NLRI one when bgpdump files it
/// as IPv6 unicast (an IPv6 RIB, or any abbreviated MP_REACH_NLRI), else
/// NEXT_HOP.
fn rib_next_hop(view: &AttrView<'_>, raw_attributes: &[u8]) -> NextHopText {
    if let Some(reach) = view.mp_reach {
        let abbreviated = mp_reach_first_octet(raw_attributes).is_some_and(|octet| octet != 0);
        if abbreviated || reach.afi_safi == AfiSafi::IPV6_UNICAST {
            return NextHopText::V6(next_hop_octets(&reach.next_hop));
        }
    }
    NextHopText::V4(view.next_hop.unwrap_or(NO_NEXT_HOP))
}

/// `TABLE_DUMP|time|B|peer|peer as|prefix|...` (RFC 6396 section 4.2).
pub(super) fn table_dump(record: &MrtRecord, dump: &TableDump, out: &mut String) {
    let Ok((attributes, findings)) = dump.decode_attributes() else {
        return;
    };
    let view = AttrView::new(&attributes, &findings, false);
    let _ = write!(out, "TABLE_DUMP|{}|B|", record.timestamp);
    push_ip(&dump.peer_ip, out);
    let _ = write!(out, "|{}|", dump.peer_as);
    push_prefix(&dump.prefix, out);
    out.push('|');
    push_route_tail(&view, rib_next_hop(&view, &dump.attributes), false, out);
}

/// `TABLE_DUMP2|time|B|peer|peer as|prefix|...` per entry (RFC 6396 section
/// 4.3.2), `TABLE_DUMP2_AP|...|prefix|path id|...` for ADD-PATH RIBs.
pub(super) fn rib(record: &MrtRecord, rib: &RibRecord, peers: &PeerIndexTable, out: &mut String) {
    if rib.multicast {
        return;
    }
    let family = rib.family();
    for entry in &rib.entries {
        let Some(peer) = peers.peer(entry.peer_index) else {
            continue;
        };
        let Ok((attributes, findings)) = entry.decode_attributes(family) else {
            continue;
        };
        let view = AttrView::new(&attributes, &findings, true);
        let kind = if rib.add_path {
            "TABLE_DUMP2_AP"
        } else {
            "TABLE_DUMP2"
        };
        let _ = write!(out, "{kind}|{}|B|", record.timestamp);
        push_ip(&peer.ip, out);
        let _ = write!(out, "|{}|", peer.asn);
        push_prefix(&rib.prefix, out);
        out.push('|');
        if rib.add_path {
            let _ = write!(out, "{}|", entry.path_id.unwrap_or(0));
        }
        push_route_tail(&view, rib_next_hop(&view, &entry.attributes), false, out);
    }
}

/// The type and time columns of BGP4MP lines.
fn bgp4mp_head(record: &MrtRecord, kind: &str, out: &mut String) {
    let _ = write!(out, "{kind}|{}", record.timestamp);
    if let Some(micros) = record.microseconds {
        let _ = write!(out, ".{micros:06}");
    }
    out.push('|');
}

/// bgpdump takes only MESSAGE_LOCAL and MESSAGE_AS4_LOCAL for messages the
/// collector sent: it reads the LOCAL_ADDPATH subtypes as received ones,
/// whose sender is then the local side.
fn sent_by_collector(message: &Bgp4mpMessage) -> bool {
    message.local && !message.add_path
}

fn bgp4mp_kind(record: &MrtRecord, message: &Bgp4mpMessage) -> &'static str {
    let et = record.microseconds.is_some();
    match (et, sent_by_collector(message), message.add_path) {
        (false, false, false) => "BGP4MP",
        (false, false, true) => "BGP4MP_AP",
        (false, true, _) => "BGP4MP_LOCAL",
        (true, false, false) => "BGP4MP_ET",
        (true, false, true) => "BGP4MP_ET_AP",
        (true, true, _) => "BGP4MP_ET_LOCAL",
    }
}

/// The address and AS bgpdump prints for the other end: the peer, except
/// for the LOCAL_ADDPATH subtypes (see [`sent_by_collector`]).
fn bgp4mp_peer(message: &Bgp4mpMessage) -> (IpAddr, u32) {
    let session = &message.session;
    if message.local && message.add_path {
        (session.local_ip, session.local_as)
    } else {
        (session.peer_ip, session.peer_as)
    }
}

/// The families bgpdump prints, in its order.
fn printed_family(family: AfiSafi) -> bool {
    (family.afi == Afi::IPV4 || family.afi == Afi::IPV6)
        && (family.safi == Safi::UNICAST || family.safi == Safi::MULTICAST)
}

/// `BGP4MP|time|W|...` and `BGP4MP|time|A|...` lines of an UPDATE
/// (RFC 6396 section 4.4.2): withdrawals first, then announcements; the
/// NLRI fields before the MP attributes.
pub(super) fn bgp4mp_message(record: &MrtRecord, message: &Bgp4mpMessage, out: &mut String) {
    if message.message_type() != Some(crate::iana::message_type::UPDATE) {
        return;
    }
    // bgpdump reads the message by its own Length field, whatever follows.
    let bytes = &message.message[..];
    let bytes = match bytes.get(16..18) {
        Some(&[hi, lo]) => {
            let length = usize::from(u16::from_be_bytes([hi, lo]));
            bytes
                .get(..length)
                .filter(|b| b.len() >= HEADER_LEN)
                .unwrap_or(bytes)
        }
        _ => bytes,
    };
    let ctx = message.decode_ctx();
    let (update, findings) = match decode_message(bytes, &ctx) {
        Ok(Decoded {
            message: Message::Update(update),
            findings,
        }) => (update, findings),
        Ok(_) => return,
        // Malformed NLRI reset a session, but bgpdump prints what it can.
        Err(_) => match lenient::update(bytes, &ctx) {
            Some(parts) => parts,
            None => return,
        },
    };
    let kind = bgp4mp_kind(record, message);
    let mut peer = String::new();
    let (peer_ip, peer_as) = bgp4mp_peer(message);
    push_ip(&peer_ip, &mut peer);
    let _ = write!(peer, "|{peer_as}|");
    let line_start = |out: &mut String, what: &str| {
        bgp4mp_head(record, kind, out);
        out.push_str(what);
        out.push_str(&peer);
    };
    let push_nlri = |nlri: &Nlri, out: &mut String| {
        push_prefix(&nlri.prefix, out);
        if message.add_path {
            let _ = write!(out, "|{}", nlri.path_id.unwrap_or(0));
        }
    };

    let view = AttrView::new(&update.attributes, &findings, message.as4);
    let mp_withdrawn = view
        .mp_unreach
        .filter(|unreach| printed_family(unreach.afi_safi))
        .map(|unreach| unreach.withdrawn.prefixes())
        .unwrap_or(&[]);
    for nlri in update.withdrawn.iter().chain(mp_withdrawn) {
        line_start(out, "W|");
        push_nlri(nlri, out);
        out.push('\n');
    }

    for nlri in &update.nlri {
        line_start(out, "A|");
        push_nlri(nlri, out);
        out.push('|');
        let next_hop = NextHopText::V4(view.next_hop.unwrap_or(NO_NEXT_HOP));
        push_route_tail(&view, next_hop, false, out);
    }
    let Some(reach) = view.mp_reach.filter(|reach| printed_family(reach.afi_safi)) else {
        return;
    };
    let MpNlri::Prefixes(prefixes) = &reach.nlri else {
        return;
    };
    let octets = next_hop_octets(&reach.next_hop);
    for nlri in prefixes {
        line_start(out, "A|");
        push_nlri(nlri, out);
        out.push('|');
        if reach.afi_safi.afi == Afi::IPV6 {
            push_route_tail(&view, NextHopText::V6(octets), false, out);
        } else {
            let v4 = Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]);
            push_route_tail(&view, NextHopText::V4(v4), true, out);
        }
    }
}

/// `BGP4MP|time|STATE|peer|peer as|old|new` (RFC 6396 section 4.4.1).
pub(super) fn bgp4mp_state_change(
    record: &MrtRecord,
    change: &Bgp4mpStateChange,
    out: &mut String,
) {
    let kind = if record.microseconds.is_some() {
        "BGP4MP_ET"
    } else {
        "BGP4MP"
    };
    bgp4mp_head(record, kind, out);
    out.push_str("STATE|");
    push_ip(&change.session.peer_ip, out);
    let _ = writeln!(
        out,
        "|{}|{}|{}",
        change.session.peer_as, change.old_state, change.new_state
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    #[test]
    fn unspecified_v6_prints_as_bgpdump() {
        let mut out = String::new();
        push_ip(&IpAddr::V6(Ipv6Addr::UNSPECIFIED), &mut out);
        assert_eq!(out, "::");
    }
}
