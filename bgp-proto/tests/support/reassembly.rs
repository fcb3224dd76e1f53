//! TCP reassembly for captures: each direction of each connection becomes a
//! byte stream, ordered by sequence number.
//!
//! Retransmitted bytes are dropped (and checked against what was already
//! received), out-of-order segments are put in place, and holes (segments
//! the capture missed, or packets cut by the snap length) are reported as
//! [`Gap`]s: the stream is split into contiguous [`Run`]s at each hole, so
//! no byte is ever guessed.

use std::collections::BTreeMap;

use super::net::{Endpoint, TcpSegment, tcp_flags};

/// One direction of one TCP connection.
#[derive(Debug)]
pub struct Flow {
    /// Index of the connection in the capture (first packet order).
    pub connection: usize,
    /// Sender.
    pub src: Endpoint,
    /// Receiver.
    pub dst: Endpoint,
    /// Whether the sender's SYN was captured (otherwise the stream starts at
    /// the first captured payload byte).
    pub saw_syn: bool,
    /// Contiguous stretches of the stream, in order.
    pub runs: Vec<Run>,
    /// Holes between runs.
    pub gaps: Vec<Gap>,
    /// Segments whose bytes had all been received already.
    pub retransmissions: usize,
    /// Segments that arrived before bytes preceding them.
    pub out_of_order: usize,
}

/// Bytes received without a hole.
#[derive(Debug)]
pub struct Run {
    /// Offset in the stream (0 = first byte after the SYN, or the first
    /// captured byte).
    pub offset: u64,
    /// The bytes.
    pub data: Vec<u8>,
    /// The frame that carried the run's first byte.
    pub first_frame: usize,
}

/// Missing bytes.
#[derive(Debug, Clone, Copy)]
pub struct Gap {
    /// Stream offset of the first missing byte.
    pub offset: u64,
    /// How many bytes are missing.
    pub len: u64,
    /// The frame after the hole (0: the hole runs to the end of the capture).
    pub next_frame: usize,
}

impl Flow {
    /// "10.0.0.1:179 -> 10.0.0.2:11965".
    pub fn label(&self) -> String {
        format!(
            "connection {} {} -> {}",
            self.connection, self.src, self.dst
        )
    }
}

/// (connection index, sender, receiver).
type FlowKey = (usize, Endpoint, Endpoint);

/// Split `segments` into flows and reassemble each.
///
/// A SYN on a 4-tuple that already carried a connection starts a new
/// connection. Flows are returned ordered by connection, then by which
/// direction sent first.
pub fn reassemble(segments: &[TcpSegment]) -> Result<Vec<Flow>, String> {
    // (src, dst) -> connection index; a new SYN after data starts a new one.
    let mut connections: BTreeMap<(Endpoint, Endpoint), usize> = BTreeMap::new();
    let mut count = 0;
    // Segments per (connection, direction), in capture order.
    let mut per_flow: Vec<(FlowKey, Vec<&TcpSegment>)> = Vec::new();
    for segment in segments {
        let key = canonical(segment.src, segment.dst);
        let syn_only = segment.flags & tcp_flags::SYN != 0 && segment.flags & tcp_flags::ACK == 0;
        let connection = match connections.get(&key) {
            Some(&c) if !(syn_only && flow_has_data(&per_flow, c)) => c,
            _ => {
                connections.insert(key, count);
                count += 1;
                count - 1
            }
        };
        let id = (connection, segment.src, segment.dst);
        match per_flow.iter_mut().find(|(k, _)| *k == id) {
            Some((_, list)) => list.push(segment),
            None => per_flow.push((id, vec![segment])),
        }
    }
    per_flow.sort_by_key(|((connection, _, _), list)| (*connection, list[0].frame));
    per_flow
        .into_iter()
        .map(|((connection, src, dst), list)| reassemble_one(connection, src, dst, &list))
        .collect()
}

fn canonical(a: Endpoint, b: Endpoint) -> (Endpoint, Endpoint) {
    if a <= b { (a, b) } else { (b, a) }
}

fn flow_has_data(per_flow: &[(FlowKey, Vec<&TcpSegment>)], c: usize) -> bool {
    per_flow
        .iter()
        .filter(|((connection, _, _), _)| *connection == c)
        .any(|(_, list)| list.iter().any(|s| s.wire_len > 0))
}

fn reassemble_one(
    connection: usize,
    src: Endpoint,
    dst: Endpoint,
    segments: &[&TcpSegment],
) -> Result<Flow, String> {
    let mut flow = Flow {
        connection,
        src,
        dst,
        saw_syn: false,
        runs: Vec::new(),
        gaps: Vec::new(),
        retransmissions: 0,
        out_of_order: 0,
    };
    let syn = segments.iter().find(|s| s.flags & tcp_flags::SYN != 0);
    let data: Vec<&TcpSegment> = segments
        .iter()
        .copied()
        .filter(|s| s.wire_len > 0)
        .collect();
    let base = match (syn, data.first()) {
        (Some(syn), _) => {
            flow.saw_syn = true;
            syn.seq.wrapping_add(1)
        }
        (None, Some(first)) => {
            // The lowest sequence number, allowing for wrap-around.
            let earliest = data
                .iter()
                .map(|s| s.seq.wrapping_sub(first.seq) as i32)
                .min()
                .unwrap_or(0);
            first.seq.wrapping_add(earliest as u32)
        }
        (None, None) => return Ok(flow),
    };

    // Stream offset of every data segment, in capture order.
    let mut placed: Vec<(u64, &TcpSegment)> = Vec::with_capacity(data.len());
    let mut highest_start = 0u64;
    let mut known_end = 0u64; // end of the stream as far as the IP lengths say
    for segment in data {
        let offset = i64::from(segment.seq.wrapping_sub(base) as i32);
        let Ok(offset) = u64::try_from(offset) else {
            return Err(format!(
                "{src} -> {dst} frame {}: data before the initial sequence number",
                segment.frame
            ));
        };
        if offset < highest_start {
            flow.out_of_order += 1;
        }
        highest_start = highest_start.max(offset);
        known_end = known_end.max(offset + segment.wire_len as u64);
        placed.push((offset, segment));
    }
    placed.sort_by_key(|(offset, segment)| (*offset, segment.frame));

    // Merge the captured bytes (a packet cut by the snap length contributes
    // only what was captured) into runs, and every hole into a gap.
    let mut current: Option<Run> = None;
    let mut end = 0u64; // end of the bytes merged so far
    for (offset, segment) in placed {
        let captured_end = offset + segment.payload.len() as u64;
        if let Some(run) = &current {
            check_same_bytes(run, offset, &segment.payload, segment.frame)?;
        }
        if captured_end <= end {
            flow.retransmissions += 1;
            continue;
        }
        if offset > end || current.is_none() {
            if offset > end {
                flow.gaps.push(Gap {
                    offset: end,
                    len: offset - end,
                    next_frame: segment.frame,
                });
            }
            flow.runs.extend(current.take());
            current = Some(Run {
                offset,
                data: Vec::new(),
                first_frame: segment.frame,
            });
        }
        let run = current.as_mut().expect("a run was just started");
        let skip = (end.max(offset) - offset) as usize;
        run.data.extend_from_slice(&segment.payload[skip..]);
        end = captured_end;
    }
    if known_end > end {
        flow.gaps.push(Gap {
            offset: end,
            len: known_end - end,
            next_frame: 0,
        });
    }
    flow.runs.extend(current);
    Ok(flow)
}

/// Bytes received twice must be the same bytes.
fn check_same_bytes(run: &Run, offset: u64, payload: &[u8], frame: usize) -> Result<(), String> {
    for (i, byte) in payload.iter().enumerate() {
        let at = offset + i as u64;
        let Some(index) = at.checked_sub(run.offset) else {
            continue;
        };
        match run.data.get(index as usize) {
            Some(old) if old != byte => {
                return Err(format!(
                    "frame {frame}: retransmitted byte at stream offset {at} is {byte:#04x}, was {old:#04x}"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}
