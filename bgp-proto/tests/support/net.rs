//! Packet captures: reading TCP segments out of pcap files, and writing
//! synthetic Ethernet + IPv4 + TCP frames with correct checksums.
//!
//! Reading handles the link types of the shared captures (Ethernet with
//! 802.1Q tags, Cisco HDLC, BSD loopback, Linux cooked v1/v2, raw IP), MPLS
//! label stacks, IPv4 and IPv6 (with extension headers). Packets cut short by
//! the capture's snap length are kept, marked as truncated, so reassembly can
//! report the hole instead of inventing bytes.

use std::fs::File;
use std::io::BufReader;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};

/// TCP flag bits.
pub mod tcp_flags {
    /// No more data from sender.
    pub const FIN: u8 = 0x01;
    /// Synchronise sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push function.
    pub const PSH: u8 = 0x08;
    /// Acknowledgment field is significant.
    pub const ACK: u8 = 0x10;
}

/// One endpoint of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// One TCP segment found in a capture.
#[derive(Debug, Clone)]
pub struct TcpSegment {
    /// 1-based frame number in the capture (as tshark counts).
    pub frame: usize,
    /// Sender.
    pub src: Endpoint,
    /// Receiver.
    pub dst: Endpoint,
    /// Sequence number of the first payload byte (or of the SYN/FIN).
    pub seq: u32,
    /// TCP flags.
    pub flags: u8,
    /// The captured payload bytes.
    pub payload: Vec<u8>,
    /// Payload length according to the IP header; larger than
    /// `payload.len()` when the capture's snap length cut the packet.
    pub wire_len: usize,
}

/// What a capture holds: its link type and every TCP segment in it.
#[derive(Debug)]
pub struct Capture {
    /// Link type of the file.
    pub datalink: DataLink,
    /// TCP segments, in capture order.
    pub segments: Vec<TcpSegment>,
    /// Frames that were not TCP over IP, with the reason.
    pub skipped: Vec<(usize, String)>,
}

/// Read every TCP segment of a pcap file.
pub fn read_capture(path: &Path) -> Result<Capture, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader =
        PcapReader::new(BufReader::new(file)).map_err(|e| format!("{}: {e}", path.display()))?;
    let datalink = reader.header().datalink;
    let mut capture = Capture {
        datalink,
        segments: Vec::new(),
        skipped: Vec::new(),
    };
    let mut frame = 0;
    // Raw packets: the typed reader rejects packets longer than the snap
    // length, which is exactly the case truncation handling is for.
    while let Some(packet) = reader.next_raw_packet() {
        frame += 1;
        let packet = packet.map_err(|e| format!("{} frame {frame}: {e}", path.display()))?;
        match parse_frame(datalink, &packet.data, frame) {
            Ok(segment) => capture.segments.push(segment),
            Err(reason) => capture.skipped.push((frame, reason)),
        }
    }
    Ok(capture)
}

/// Ethertypes.
const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MULTICAST: u16 = 0x8848;

fn be16(data: &[u8], at: usize) -> Result<u16, String> {
    data.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| format!("truncated before offset {}", at + 2))
}

fn be32(data: &[u8], at: usize) -> Result<u32, String> {
    data.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("truncated before offset {}", at + 4))
}

/// Parse one captured frame down to its TCP segment.
pub fn parse_frame(datalink: DataLink, data: &[u8], frame: usize) -> Result<TcpSegment, String> {
    let (ethertype, rest) = match datalink {
        DataLink::ETHERNET => {
            let mut ethertype = be16(data, 12)?;
            let mut at = 14;
            while ethertype == ETH_VLAN || ethertype == ETH_QINQ {
                ethertype = be16(data, at + 2)?;
                at += 4;
            }
            (ethertype, &data[at..])
        }
        // Cisco HDLC: address, control, then an ethertype.
        DataLink::C_HDLC => (be16(data, 2)?, data.get(4..).unwrap_or(&[])),
        // BSD loopback: a 4-octet address family in the capturing host's
        // byte order (NULL) or in network order (LOOP).
        DataLink::NULL | DataLink::LOOP => {
            let family = be32(data, 0)?;
            let family = if family > 0xffff {
                family.swap_bytes()
            } else {
                family
            };
            let ethertype = match family {
                2 => ETH_IPV4,
                // AF_INET6 differs between BSDs: 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS).
                24 | 28 | 30 => ETH_IPV6,
                other => return Err(format!("loopback address family {other}")),
            };
            (ethertype, &data[4..])
        }
        DataLink::LINUX_SLL => (be16(data, 14)?, data.get(16..).unwrap_or(&[])),
        DataLink::LINUX_SLL2 => (be16(data, 0)?, data.get(20..).unwrap_or(&[])),
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => match data.first().map(|b| b >> 4) {
            Some(4) => (ETH_IPV4, data),
            Some(6) => (ETH_IPV6, data),
            _ => return Err("raw IP frame with unknown version".into()),
        },
        other => return Err(format!("unsupported link type {other:?}")),
    };
    parse_network(ethertype, rest, frame)
}

fn parse_network(ethertype: u16, data: &[u8], frame: usize) -> Result<TcpSegment, String> {
    match ethertype {
        ETH_IPV4 => parse_ipv4(data, frame),
        ETH_IPV6 => parse_ipv6(data, frame),
        ETH_MPLS | ETH_MPLS_MULTICAST => {
            // Pop labels up to the bottom of the stack, then guess the payload
            // from the IP version nibble (RFC 3032 has no payload type field).
            let mut at = 0;
            loop {
                let entry = be32(data, at)?;
                at += 4;
                if entry & 0x100 != 0 {
                    break;
                }
            }
            let rest = &data[at..];
            match rest.first().map(|b| b >> 4) {
                Some(4) => parse_ipv4(rest, frame),
                Some(6) => parse_ipv6(rest, frame),
                _ => Err("MPLS payload is not IP".into()),
            }
        }
        other => Err(format!("ethertype {other:#06x} is not IP")),
    }
}

fn parse_ipv4(data: &[u8], frame: usize) -> Result<TcpSegment, String> {
    let first = *data.first().ok_or("empty IPv4 packet")?;
    if first >> 4 != 4 {
        return Err("IPv4 header with version other than 4".into());
    }
    let header_len = usize::from(first & 0x0f) * 4;
    let total_len = usize::from(be16(data, 2)?);
    let fragment = be16(data, 6)?;
    if fragment & 0x3fff != 0 {
        return Err("IPv4 fragment".into());
    }
    let protocol = *data.get(9).ok_or("truncated IPv4 header")?;
    if protocol != 6 {
        return Err(format!("IP protocol {protocol} is not TCP"));
    }
    let src = Ipv4Addr::from(be32(data, 12)?);
    let dst = Ipv4Addr::from(be32(data, 16)?);
    if header_len < 20 || total_len < header_len {
        return Err("bad IPv4 lengths".into());
    }
    // The captured bytes may be cut (snap length) or padded (Ethernet minimum).
    let end = total_len.min(data.len());
    let tcp = data.get(header_len..end).ok_or("truncated IPv4 header")?;
    parse_tcp(
        IpAddr::V4(src),
        IpAddr::V4(dst),
        tcp,
        total_len - header_len,
        frame,
    )
}

fn parse_ipv6(data: &[u8], frame: usize) -> Result<TcpSegment, String> {
    if data.first().map(|b| b >> 4) != Some(6) {
        return Err("IPv6 header with version other than 6".into());
    }
    let payload_len = usize::from(be16(data, 4)?);
    let mut next = *data.get(6).ok_or("truncated IPv6 header")?;
    let src: [u8; 16] = data
        .get(8..24)
        .and_then(|b| b.try_into().ok())
        .ok_or("truncated IPv6 header")?;
    let dst: [u8; 16] = data
        .get(24..40)
        .and_then(|b| b.try_into().ok())
        .ok_or("truncated IPv6 header")?;
    let mut at = 40;
    // Hop-by-hop, routing and destination options headers.
    while matches!(next, 0 | 43 | 60) {
        let len = (usize::from(*data.get(at + 1).ok_or("truncated extension header")?) + 1) * 8;
        next = data[at];
        at += len;
    }
    if next != 6 {
        return Err(format!("IPv6 next header {next} is not TCP"));
    }
    let end = (40 + payload_len).min(data.len());
    let tcp = data.get(at..end).ok_or("truncated IPv6 packet")?;
    let tcp_wire_len = (40 + payload_len)
        .checked_sub(at)
        .ok_or("bad IPv6 lengths")?;
    parse_tcp(
        IpAddr::V6(Ipv6Addr::from(src)),
        IpAddr::V6(Ipv6Addr::from(dst)),
        tcp,
        tcp_wire_len,
        frame,
    )
}

fn parse_tcp(
    src: IpAddr,
    dst: IpAddr,
    tcp: &[u8],
    tcp_wire_len: usize,
    frame: usize,
) -> Result<TcpSegment, String> {
    let src_port = be16(tcp, 0)?;
    let dst_port = be16(tcp, 2)?;
    let seq = be32(tcp, 4)?;
    let offset_byte = *tcp.get(12).ok_or("truncated TCP header")?;
    let flags = *tcp.get(13).ok_or("truncated TCP header")?;
    let header_len = usize::from(offset_byte >> 4) * 4;
    if header_len < 20 || tcp_wire_len < header_len {
        return Err("bad TCP header length".into());
    }
    // Options (MSS, timestamps, MD5 signature, ...) are skipped whole.
    let payload = tcp.get(header_len..).unwrap_or(&[]).to_vec();
    Ok(TcpSegment {
        frame,
        src: Endpoint {
            ip: src,
            port: src_port,
        },
        dst: Endpoint {
            ip: dst,
            port: dst_port,
        },
        seq,
        flags,
        payload,
        wire_len: tcp_wire_len - header_len,
    })
}

/// The Internet checksum (RFC 1071) of `parts`, concatenated.
pub fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &byte in *part {
            match odd.take() {
                Some(high) => sum += u32::from(u16::from_be_bytes([high, byte])),
                None => odd = Some(byte),
            }
        }
    }
    if let Some(high) = odd {
        sum += u32::from(u16::from_be_bytes([high, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// One IPv4 TCP connection between a client and a BGP speaker on port
/// 179, as frames: handshake, one segment per payload (each acknowledged),
/// and an orderly close, with consistent sequence and acknowledgment numbers
/// and valid IPv4 and TCP checksums.
#[derive(Debug)]
pub struct SyntheticSession {
    frames: Vec<Vec<u8>>,
    client: (Ipv4Addr, u16, [u8; 6]),
    server: (Ipv4Addr, u16, [u8; 6]),
    /// Next sequence number of client and server.
    next_seq: [u32; 2],
    ip_id: u16,
}

/// Which side of a [`SyntheticSession`] sends a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The side that connects (ephemeral port).
    Client,
    /// The side that listens on port 179.
    Server,
}

impl SyntheticSession {
    /// A session from 192.0.2.1:`client_port` to 192.0.2.2:179 (TEST-NET-1),
    /// with the three-way handshake already written.
    pub fn new(client_port: u16) -> Self {
        let mut session = SyntheticSession {
            frames: Vec::new(),
            client: (
                Ipv4Addr::new(192, 0, 2, 1),
                client_port,
                [0x02, 0, 0, 0, 0, 1],
            ),
            server: (Ipv4Addr::new(192, 0, 2, 2), 179, [0x02, 0, 0, 0, 0, 2]),
            next_seq: [1_000_000 + u32::from(client_port), 2_000_000],
            ip_id: 1,
        };
        session.segment(Side::Client, tcp_flags::SYN, &[]);
        session.segment(Side::Server, tcp_flags::SYN | tcp_flags::ACK, &[]);
        session.segment(Side::Client, tcp_flags::ACK, &[]);
        session
    }

    /// Send `payload` from `side` in one segment (PSH, ACK), acknowledged by
    /// the other side as a real stack would. Returns the index of the data
    /// frame among this session's frames.
    pub fn send(&mut self, side: Side, payload: &[u8]) -> usize {
        assert!(payload.len() <= 65_000, "one segment per message");
        self.segment(side, tcp_flags::PSH | tcp_flags::ACK, payload);
        let index = self.frames.len() - 1;
        self.segment(side.other(), tcp_flags::ACK, &[]);
        index
    }

    /// Close the connection, `side` first (FIN, FIN, ACK).
    pub fn close(&mut self, side: Side) {
        self.segment(side, tcp_flags::FIN | tcp_flags::ACK, &[]);
        self.segment(side.other(), tcp_flags::FIN | tcp_flags::ACK, &[]);
        self.segment(side, tcp_flags::ACK, &[]);
    }

    /// The frames written so far.
    pub fn frames(&self) -> &[Vec<u8>] {
        &self.frames
    }

    fn segment(&mut self, side: Side, flags: u8, payload: &[u8]) {
        let (from, to, me) = match side {
            Side::Client => (self.client, self.server, 0),
            Side::Server => (self.server, self.client, 1),
        };
        let seq = self.next_seq[me];
        let ack = if flags & tcp_flags::ACK != 0 {
            self.next_seq[1 - me]
        } else {
            0
        };
        let consumed =
            payload.len() as u32 + u32::from(flags & (tcp_flags::SYN | tcp_flags::FIN) != 0);
        self.next_seq[me] = seq.wrapping_add(consumed);

        let mut tcp = Vec::with_capacity(20 + payload.len());
        tcp.extend_from_slice(&from.1.to_be_bytes());
        tcp.extend_from_slice(&to.1.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.push(5 << 4); // data offset: 5 words, no options
        tcp.push(flags);
        tcp.extend_from_slice(&64_240u16.to_be_bytes()); // window
        tcp.extend_from_slice(&[0, 0]); // checksum, below
        tcp.extend_from_slice(&[0, 0]); // urgent pointer
        tcp.extend_from_slice(payload);
        let tcp_len = u16::try_from(tcp.len()).expect("segment fits in IPv4");
        let mut pseudo = Vec::with_capacity(12);
        pseudo.extend_from_slice(&from.0.octets());
        pseudo.extend_from_slice(&to.0.octets());
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&tcp_len.to_be_bytes());
        let checksum = internet_checksum(&[&pseudo, &tcp]);
        tcp[16..18].copy_from_slice(&checksum.to_be_bytes());

        let mut ip = Vec::with_capacity(20);
        ip.push(0x45); // version 4, 5-word header
        ip.push(0xc0); // DSCP CS6 (network control), as routers send BGP
        ip.extend_from_slice(&(20 + tcp_len).to_be_bytes());
        ip.extend_from_slice(&self.ip_id.to_be_bytes());
        ip.extend_from_slice(&0x4000u16.to_be_bytes()); // don't fragment
        ip.push(64); // TTL
        ip.push(6); // TCP
        ip.extend_from_slice(&[0, 0]); // checksum, below
        ip.extend_from_slice(&from.0.octets());
        ip.extend_from_slice(&to.0.octets());
        let checksum = internet_checksum(&[&ip]);
        ip[10..12].copy_from_slice(&checksum.to_be_bytes());
        self.ip_id = self.ip_id.wrapping_add(1);

        let mut frame = Vec::with_capacity(14 + ip.len() + tcp.len());
        frame.extend_from_slice(&to.2);
        frame.extend_from_slice(&from.2);
        frame.extend_from_slice(&ETH_IPV4.to_be_bytes());
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&tcp);
        self.frames.push(frame);
    }
}

/// Write `frames` as a pcap file (Ethernet link type, microsecond
/// timestamps 10 ms apart).
pub fn write_pcap<'a>(
    path: &Path,
    frames: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(), String> {
    let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let header = PcapHeader {
        snaplen: 262_144,
        datalink: DataLink::ETHERNET,
        ..PcapHeader::default()
    };
    let mut writer = PcapWriter::with_header(file, header).map_err(|e| e.to_string())?;
    for (i, frame) in frames.into_iter().enumerate() {
        let timestamp = Duration::from_millis(1_700_000_000_000 + 10 * i as u64);
        let len = u32::try_from(frame.len()).map_err(|e| e.to_string())?;
        writer
            .write_packet(&PcapPacket::new(timestamp, len, frame))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}
