//! Golden captures: every BGP message in `shared/data/pcap/*.cap` (sessions
//! between Cisco and Juniper routers, and others) must decode, and must
//! re-encode to the same bytes.
//!
//! Each capture is read in Rust, each TCP direction reassembled by sequence
//! number, and the stream cut into messages with [`frame_len`]. A direction
//! is decoded with [`CodecCtx::pre_open`] until both OPENs of its connection
//! are known, and from its own OPEN on with what the two OPENs negotiate
//! (4-octet AS, ADD-PATH per family and direction, Extended Message, iBGP or
//! eBGP). Connections whose OPENs were not both captured keep the pre-OPEN
//! context (2-octet AS): a wrong guess would show up as a decode error or an
//! RFC 7606 finding, and any finding fails the test.
//!
//! A message that does not re-encode byte for byte must be listed in
//! [`NON_CANONICAL`] with the exact [`Difference`]; for those, undoing that
//! difference on the captured bytes must give our encoding, and decoding our
//! encoding must give the same message. Entries that no longer apply fail
//! the test too, so nothing is excused silently.

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use bgp_proto::capability::Capability;
use bgp_proto::message::Open;
use bgp_proto::{CodecCtx, Decoded, Message, PeerType, decode_message, frame_len};

use support::net::{Endpoint, TcpSegment, read_capture, tcp_flags};
use support::reassembly::{Flow, reassemble};
use support::{FramedMessage, frame_flow, hex, is_bgp_flow, shared_data_dir};

/// How a captured message legitimately differs from our encoding of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Difference {
    /// The sender set the Extended Length flag on attributes shorter than
    /// 256 octets, which RFC 4271 section 4.3 allows; our encoder writes
    /// the one-octet length whenever the value fits (canonical form).
    ExtendedLengthOnShortAttribute,
}

/// Messages that do not re-encode byte for byte: (capture file, message
/// index in the file as the test prints it, the difference). The test
/// checks that applying exactly that difference to the captured bytes gives
/// our encoding, and that our encoding decodes to the same message; an
/// entry that matches no message, or a message that has become canonical,
/// fails the test.
const NON_CANONICAL: &[(&str, usize, Difference)] = &[
    // MP_REACH_NLRI (IPv4 flowspec) of 15 octets with a 2-octet length.
    (
        "BGP_flowspec_dscp.cap",
        0,
        Difference::ExtendedLengthOnShortAttribute,
    ),
    // End-of-RIB markers: MP_UNREACH_NLRI of 3 octets with a 2-octet
    // length, for IPv6 unicast, IPv6 flowspec, IPv4 labelled unicast.
    (
        "BGP_flowspec_redirect.cap",
        5,
        Difference::ExtendedLengthOnShortAttribute,
    ),
    (
        "BGP_flowspec_redirect.cap",
        6,
        Difference::ExtendedLengthOnShortAttribute,
    ),
    (
        "BGP_flowspec_v6.cap",
        3,
        Difference::ExtendedLengthOnShortAttribute,
    ),
    ("bgplu.cap", 3, Difference::ExtendedLengthOnShortAttribute),
];

/// The captured UPDATE `msg` with `difference` undone: what a canonical
/// encoder writes for it. `None` if `msg` is not a well-formed UPDATE.
fn undo_difference(msg: &[u8], difference: Difference) -> Option<Vec<u8>> {
    let be16 = |at: usize| {
        msg.get(at..at + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    };
    if msg.get(18) != Some(&2) {
        return None;
    }
    let withdrawn_len = be16(19)?;
    let attrs_len_at = 21 + withdrawn_len;
    let attrs_at = attrs_len_at + 2;
    let attrs_end = attrs_at + be16(attrs_len_at)?;
    let mut attrs = Vec::new();
    let mut pos = attrs_at;
    while pos < attrs_end {
        let mut flags = *msg.get(pos)?;
        let type_code = *msg.get(pos + 1)?;
        let extended = flags & 0x10 != 0;
        let (len, value_at) = if extended {
            (be16(pos + 2)?, pos + 4)
        } else {
            (usize::from(*msg.get(pos + 2)?), pos + 3)
        };
        let value = msg.get(value_at..value_at + len)?;
        match difference {
            Difference::ExtendedLengthOnShortAttribute if extended && len <= 255 => {
                flags &= !0x10;
            }
            _ => {}
        }
        attrs.push(flags);
        attrs.push(type_code);
        if flags & 0x10 != 0 {
            attrs.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            attrs.push(len as u8);
        }
        attrs.extend_from_slice(value);
        pos = value_at + len;
    }
    let mut out = msg[..attrs_len_at].to_vec();
    out.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    out.extend_from_slice(&attrs);
    out.extend_from_slice(msg.get(attrs_end..)?);
    let total = out.len() as u16;
    out[16..18].copy_from_slice(&total.to_be_bytes());
    Some(out)
}

/// Decoded results of one capture.
#[derive(Debug, Default)]
struct FileReport {
    messages: usize,
    by_type: BTreeMap<&'static str, usize>,
    byte_identical: usize,
    excused: usize,
    notes: Vec<String>,
    failures: Vec<String>,
}

/// One framed message with the context to decode it.
#[derive(Debug)]
struct Item {
    index: usize,
    flow: String,
    message: FramedMessage,
    ctx: CodecCtx,
    ctx_source: String,
}

fn type_name(msg_type: u8) -> &'static str {
    match msg_type {
        1 => "OPEN",
        2 => "UPDATE",
        3 => "NOTIFICATION",
        4 => "KEEPALIVE",
        5 => "ROUTE-REFRESH",
        _ => "unknown",
    }
}

fn has_capability(open: &Open, f: impl Fn(&Capability) -> bool) -> bool {
    open.capabilities.iter().any(f)
}

/// The context for messages that `sender` sends to `receiver`, from their
/// OPENs (RFC 6793 section 3, RFC 7911 section 4, RFC 8654 section 3).
fn negotiate(sender: &Open, receiver: &Open) -> CodecCtx {
    let mut ctx = CodecCtx::pre_open()
        .with_four_octet_as(sender.four_octet_as().is_some() && receiver.four_octet_as().is_some())
        .with_extended_message(
            has_capability(sender, |c| matches!(c, Capability::ExtendedMessage))
                && has_capability(receiver, |c| matches!(c, Capability::ExtendedMessage)),
        )
        .with_peer_type(if sender.asn() == receiver.asn() {
            PeerType::Internal
        } else {
            PeerType::External
        });
    // The receiver reads path identifiers for a family iff the sender can
    // send them and the receiver can receive them.
    for (family, mode) in sender.add_path() {
        let receives = receiver
            .add_path()
            .any(|(f, m)| f == family && m.receives());
        if mode.sends() && receives {
            ctx = ctx.with_add_path(family);
        }
    }
    ctx
}

fn describe_ctx(ctx: &CodecCtx) -> String {
    format!(
        "{}-octet AS, ADD-PATH {:?}, {} messages, {:?}",
        if ctx.four_octet_as { 4 } else { 2 },
        ctx.add_path,
        ctx.max_message_len(),
        ctx.peer_type
    )
}

/// The first OPEN of a flow, if it decodes.
fn first_open(messages: &[FramedMessage]) -> Option<(usize, Open)> {
    messages.iter().enumerate().find_map(|(i, m)| {
        if m.bytes.get(18) != Some(&1) {
            return None;
        }
        match decode_message(&m.bytes, &CodecCtx::pre_open()) {
            Ok(Decoded {
                message: Message::Open(open),
                ..
            }) => Some((i, open)),
            _ => None,
        }
    })
}

/// Frame every BGP flow of a capture and attach the decoding context.
fn items_of(segments: &[TcpSegment], report: &mut FileReport) -> Vec<Item> {
    let flows = match reassemble(segments) {
        Ok(flows) => flows,
        Err(e) => {
            report.failures.push(format!("reassembly failed: {e}"));
            return Vec::new();
        }
    };
    // Frame each flow; group by connection.
    let mut framed: Vec<(&Flow, Vec<FramedMessage>)> = Vec::new();
    for flow in &flows {
        if !is_bgp_flow(flow) {
            if !flow.runs.is_empty() {
                report
                    .notes
                    .push(format!("{}: payload is not BGP: ignored", flow.label()));
            }
            continue;
        }
        if flow.retransmissions > 0 || flow.out_of_order > 0 {
            report.notes.push(format!(
                "{}: {} retransmitted and {} out-of-order segments",
                flow.label(),
                flow.retransmissions,
                flow.out_of_order
            ));
        }
        match frame_flow(flow) {
            Ok((messages, notes)) => {
                report.notes.extend(notes);
                framed.push((flow, messages));
            }
            Err(e) => report.failures.push(format!("framing: {e}")),
        }
    }
    let mut items = Vec::new();
    for (flow, messages) in &framed {
        let peer = framed
            .iter()
            .find(|(other, _)| other.connection == flow.connection && other.src == flow.dst);
        let own_open = first_open(messages);
        let peer_open = peer.and_then(|(_, m)| first_open(m));
        let (from, negotiated, source) = match (&own_open, &peer_open) {
            (Some((at, mine)), Some((_, theirs))) => (
                *at,
                negotiate(mine, theirs),
                "negotiated from both OPENs".to_string(),
            ),
            _ => (
                0,
                CodecCtx::pre_open(),
                "pre-OPEN default: the OPENs of this connection are not both in the capture"
                    .to_string(),
            ),
        };
        report.notes.push(format!(
            "{}: {} messages; context {} ({source})",
            flow.label(),
            messages.len(),
            describe_ctx(&negotiated)
        ));
        for (i, message) in messages.iter().enumerate() {
            let (ctx, ctx_source) = if i >= from {
                (negotiated, source.clone())
            } else {
                (
                    CodecCtx::pre_open(),
                    "pre-OPEN: sent before this direction's OPEN".to_string(),
                )
            };
            items.push(Item {
                index: 0,
                flow: flow.label(),
                message: message.clone(),
                ctx,
                ctx_source,
            });
        }
    }
    for (index, item) in items.iter_mut().enumerate() {
        item.index = index;
    }
    items
}

/// Where two encodings first differ, for the failure message.
fn first_difference(ours: &[u8], theirs: &[u8]) -> String {
    let at = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(theirs.len()));
    let window = |b: &[u8]| hex(&b[at.saturating_sub(4)..(at + 8).min(b.len())]);
    format!(
        "lengths {} (re-encoded) vs {} (captured); first difference at offset {at}: \
         re-encoded ..{}.. captured ..{}..",
        ours.len(),
        theirs.len(),
        window(ours),
        window(theirs)
    )
}

fn check_item(file: &str, item: &Item, report: &mut FileReport, used: &mut Vec<(String, usize)>) {
    let bytes = &item.message.bytes;
    let where_ = format!(
        "{file} message #{} ({}, stream offset {}, {}, context: {})",
        item.index,
        item.flow,
        item.message.stream_offset,
        type_name(bytes[18]),
        item.ctx_source
    );
    report.messages += 1;
    *report.by_type.entry(type_name(bytes[18])).or_default() += 1;
    let decoded = match decode_message(bytes, &item.ctx) {
        Ok(decoded) => decoded,
        Err(e) => {
            report.failures.push(format!(
                "{where_}: decode error: {e} (kind {:?}, offset {}); bytes {}",
                e.kind,
                e.offset,
                hex(bytes)
            ));
            return;
        }
    };
    if !decoded.findings.is_empty() {
        report.failures.push(format!(
            "{where_}: RFC 7606 findings on a capture of a working session: {:?}; bytes {}",
            decoded.findings,
            hex(bytes)
        ));
    }
    let reencoded = match decoded.message.to_bytes(&item.ctx) {
        Ok(out) => out.to_vec(),
        Err(e) => {
            report.failures.push(format!(
                "{where_}: re-encoding failed: {e}; bytes {}",
                hex(bytes)
            ));
            return;
        }
    };
    let excuse = NON_CANONICAL
        .iter()
        .find(|(f, i, _)| *f == file && *i == item.index);
    if excuse.is_some() {
        used.push((file.to_string(), item.index));
    }
    if reencoded == *bytes {
        report.byte_identical += 1;
        if excuse.is_some() {
            report.failures.push(format!(
                "{where_}: listed in NON_CANONICAL but now re-encodes byte for byte: \
                 remove the entry"
            ));
        }
        return;
    }
    let difference = first_difference(&reencoded, bytes);
    match decode_message(&reencoded, &item.ctx) {
        Ok(again) if again.message == decoded.message => {}
        Ok(again) => report.failures.push(format!(
            "{where_}: decode(encode(m)) != m: {:?} vs {:?}",
            again.message, decoded.message
        )),
        Err(e) => report.failures.push(format!(
            "{where_}: our own re-encoding does not decode: {e}; re-encoded {}",
            hex(&reencoded)
        )),
    }
    match excuse {
        Some((_, _, difference_kind)) => match undo_difference(bytes, *difference_kind) {
            Some(expected) if expected == reencoded => {
                report.excused += 1;
                report.notes.push(format!(
                    "{where_}: not byte-identical, as listed ({difference_kind:?}): {difference}"
                ));
            }
            _ => report.failures.push(format!(
                "{where_}: listed as {difference_kind:?}, but the re-encoding differs in \
                 other ways too: {difference}; captured {}; re-encoded {}",
                hex(bytes),
                hex(&reencoded)
            )),
        },
        None => report.failures.push(format!(
            "{where_}: re-encoding is not byte-identical and the message is not in \
             NON_CANONICAL: {difference}; captured {}; re-encoded {}",
            hex(bytes),
            hex(&reencoded)
        )),
    }
}

fn capture_files() -> Vec<PathBuf> {
    let dir = shared_data_dir().join("pcap");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "cap"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.cap files in {}", dir.display());
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Decode every capture; returns the per-file reports.
fn decode_all() -> Vec<(String, FileReport)> {
    let mut reports = Vec::new();
    let mut used = Vec::new();
    for path in capture_files() {
        let file = file_name(&path);
        let mut report = FileReport::default();
        match read_capture(&path) {
            Ok(capture) => {
                let items = items_of(&capture.segments, &mut report);
                for item in &items {
                    check_item(&file, item, &mut report, &mut used);
                }
                if report.messages == 0 {
                    report
                        .failures
                        .push("no BGP message found in the capture".to_string());
                }
            }
            Err(e) => report
                .failures
                .push(format!("cannot read the capture: {e}")),
        }
        reports.push((file, report));
    }
    for (file, index, difference) in NON_CANONICAL {
        if !used.iter().any(|(f, i)| f == file && i == index) {
            let failure = format!(
                "NON_CANONICAL entry ({file}, #{index}, {difference:?}) matches no message"
            );
            match reports.iter_mut().find(|(f, _)| f == file) {
                Some((_, report)) => report.failures.push(failure),
                None => panic!("{failure}: no such capture"),
            }
        }
    }
    reports
}

#[test]
fn every_captured_message_decodes_and_reencodes_to_the_same_bytes() {
    let reports = decode_all();
    let mut summary = String::new();
    let (mut messages, mut identical, mut excused, mut failures) = (0, 0, 0, 0);
    for (file, report) in &reports {
        let counts: Vec<String> = report
            .by_type
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        let _ = writeln!(
            summary,
            "{file}: {} messages ({}), {} byte-identical, {} listed non-canonical, {} failures",
            report.messages,
            counts.join(", "),
            report.byte_identical,
            report.excused,
            report.failures.len()
        );
        for note in &report.notes {
            let _ = writeln!(summary, "    note: {note}");
        }
        for failure in &report.failures {
            let _ = writeln!(summary, "    FAILURE: {failure}");
        }
        messages += report.messages;
        identical += report.byte_identical;
        excused += report.excused;
        failures += report.failures.len();
    }
    let _ = writeln!(
        summary,
        "summary: {} files, {messages} messages decoded, {identical} byte-identical \
         re-encodings, {excused} listed non-canonical, {failures} failures",
        reports.len()
    );
    println!("{summary}");
    assert_eq!(failures, 0, "golden captures failed:\n{summary}");
    assert!(messages > 0);
}

/// tshark's own reassembly and BGP dissector must count the same messages
/// per capture and type as ours does (an independent check of the pcap and
/// TCP code above). Ports other than 179 are decoded as BGP where our
/// framing found BGP on them.
#[test]
fn message_counts_agree_with_tshark() {
    if !support::require_tool("tshark", "message_counts_agree_with_tshark") {
        return;
    }
    let mut mismatches = Vec::new();
    for path in capture_files() {
        let file = file_name(&path);
        let capture = read_capture(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let flows = reassemble(&capture.segments).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut ours: BTreeMap<u8, usize> = BTreeMap::new();
        let mut ports = std::collections::BTreeSet::new();
        for flow in flows.iter().filter(|f| is_bgp_flow(f)) {
            ports.insert(flow.src.port.min(flow.dst.port));
            let (messages, _) = frame_flow(flow).unwrap_or_else(|e| panic!("{file}: {e}"));
            for m in messages {
                *ours.entry(m.bytes[18]).or_default() += 1;
            }
        }
        let mut cmd = Command::new("tshark");
        cmd.arg("-r").arg(&path);
        for port in ports.iter().filter(|p| **p != 179) {
            cmd.arg("-d").arg(format!("tcp.port=={port},bgp"));
        }
        let out = cmd
            .args(["-Y", "bgp", "-T", "fields", "-e", "bgp.type"])
            .output()
            .expect("run tshark");
        assert!(out.status.success(), "tshark failed on {file}");
        let mut theirs: BTreeMap<u8, usize> = BTreeMap::new();
        for t in String::from_utf8_lossy(&out.stdout)
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
        {
            *theirs
                .entry(t.parse().expect("bgp.type is a number"))
                .or_default() += 1;
        }
        println!("{file}: ours {ours:?}, tshark {theirs:?}");
        if ours != theirs {
            mismatches.push(format!("{file}: ours {ours:?}, tshark {theirs:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "message counts differ from tshark:\n{}",
        mismatches.join("\n")
    );
}

// ---- The reassembly and framing helpers, on hand-made segments. ----

fn endpoint(last: u8, port: u16) -> Endpoint {
    Endpoint {
        ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
        port,
    }
}

fn segment(frame: usize, seq: u32, flags: u8, payload: &[u8]) -> TcpSegment {
    TcpSegment {
        frame,
        src: endpoint(1, 40000),
        dst: endpoint(2, 179),
        seq,
        flags,
        payload: payload.to_vec(),
        wire_len: payload.len(),
    }
}

fn keepalive() -> Vec<u8> {
    Message::Keepalive
        .to_bytes(&CodecCtx::default())
        .expect("encode KEEPALIVE")
        .to_vec()
}

#[test]
fn reassembly_reorders_segments_and_drops_retransmissions() {
    let stream: Vec<u8> = [keepalive(), keepalive(), keepalive()].concat();
    let isn = u32::MAX - 10; // the sequence space wraps inside the stream
    let seq = |offset: usize| isn.wrapping_add(1).wrapping_add(offset as u32);
    let segments = vec![
        segment(1, isn, tcp_flags::SYN, &[]),
        segment(2, seq(0), tcp_flags::ACK, &stream[..25]),
        segment(3, seq(38), tcp_flags::ACK, &stream[38..]), // arrives early
        segment(4, seq(25), tcp_flags::ACK, &stream[25..38]),
        segment(5, seq(0), tcp_flags::ACK, &stream[..19]), // retransmission
    ];
    let flows = reassemble(&segments).unwrap();
    assert_eq!(flows.len(), 1);
    let flow = &flows[0];
    assert!(flow.saw_syn);
    assert_eq!(flow.runs.len(), 1);
    assert_eq!(flow.runs[0].data, stream);
    assert!(flow.gaps.is_empty());
    assert_eq!(flow.retransmissions, 1);
    assert_eq!(flow.out_of_order, 2);
    let (messages, notes) = frame_flow(flow).unwrap();
    assert_eq!(messages.len(), 3, "{notes:?}");
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn reassembly_rejects_a_retransmission_with_different_bytes() {
    let ka = keepalive();
    let mut changed = ka.clone();
    changed[18] = 9;
    let segments = vec![
        segment(1, 99, tcp_flags::SYN, &[]),
        segment(2, 100, tcp_flags::ACK, &ka),
        segment(3, 100, tcp_flags::ACK, &changed),
    ];
    let err = reassemble(&segments).unwrap_err();
    assert!(err.contains("frame 3"), "{err}");
}

#[test]
fn a_hole_stops_the_stream_until_a_segment_starts_with_a_header() {
    let ka = keepalive();
    let segments = vec![
        segment(1, 99, tcp_flags::SYN, &[]),
        segment(2, 100, tcp_flags::ACK, &ka),
        // 19 bytes (one message) missing, then a segment that starts mid-message,
        segment(3, 100 + 38 + 5, tcp_flags::ACK, &ka[5..]),
        // then one that starts at a message boundary.
        segment(4, 100 + 57, tcp_flags::ACK, &ka),
    ];
    let flows = reassemble(&segments).unwrap();
    let flow = &flows[0];
    assert_eq!(flow.runs.len(), 2, "{flow:?}");
    assert_eq!(flow.gaps.len(), 1);
    assert_eq!((flow.gaps[0].offset, flow.gaps[0].len), (19, 24));
    let (messages, notes) = frame_flow(flow).unwrap();
    // The message after the hole is cut: only the first survives... and the
    // run after the hole starts mid-message, so it is skipped whole.
    assert_eq!(messages.len(), 1, "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("do not start with a BGP header"))
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("24 bytes missing at stream offset 19"))
    );
}

#[test]
fn a_snapped_packet_is_a_hole_not_data() {
    let stream = [keepalive(), keepalive()].concat();
    let mut cut = segment(2, 100, tcp_flags::ACK, &stream[..30]);
    cut.wire_len = 38; // the capture kept 30 of 38 payload bytes
    let segments = vec![
        segment(1, 99, tcp_flags::SYN, &[]),
        cut,
        segment(3, 138, tcp_flags::ACK, &keepalive()),
    ];
    let flows = reassemble(&segments).unwrap();
    let flow = &flows[0];
    assert_eq!(flow.gaps.len(), 1);
    assert_eq!((flow.gaps[0].offset, flow.gaps[0].len), (30, 8));
    let (messages, notes) = frame_flow(flow).unwrap();
    let offsets: Vec<u64> = messages.iter().map(|m| m.stream_offset).collect();
    assert_eq!(offsets, vec![0, 38], "{notes:?}");
    // The second message lost its last 8 bytes: 11 bytes of it remain, not
    // even a whole header.
    assert!(
        notes
            .iter()
            .any(|n| n.contains("11 bytes of a header at stream offset 19")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("picked up at offset 38")),
        "{notes:?}"
    );
}

#[test]
fn frame_len_agrees_with_the_framing_helper() {
    // The helper must cut exactly where frame_len says a message ends.
    let ka = keepalive();
    assert_eq!(frame_len(&ka, support::MAX_FRAME), Ok(Some(19)));
    assert!(support::starts_with_bgp_header(&ka));
    assert!(!support::starts_with_bgp_header(&ka[1..]));
}
