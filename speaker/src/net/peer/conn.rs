//! One TCP connection of a peer task: non-blocking reads, and writes of
//! whole [`Bytes`] chunks with the state machine's messages first.
//!
//! A chunk, once begun, is always finished before the next one starts, so
//! messages never interleave. Between chunks, messages of the state machine
//! (OPEN, KEEPALIVE, NOTIFICATION, ROUTE-REFRESH) go before the UPDATEs
//! taken from the [`crate::outbox::Outbox`].
//!
//! While its session is Established the connection is attached to the
//! outbox's [`WriteGate`], through which the core writes UPDATEs itself
//! when nothing here is begun or queued; every flush holds the gate, and
//! what the core left unwritten becomes the current chunk first (see
//! `gate`).

use bytes::Bytes;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;

use super::gate::Leftover;
use crate::net::linger;
use crate::outbox::Outbox;

/// Most bytes written in one go before the task looks at its other inputs.
const WRITE_BUDGET: usize = 1 << 20;

#[derive(Debug)]
struct Chunk {
    bytes: Bytes,
    written: usize,
    from_outbox: bool,
    /// Part of it went out before it became a chunk here (the core's
    /// direct write): finish it even on close.
    begun: bool,
}

impl Chunk {
    fn leftover(leftover: Leftover) -> Self {
        Chunk {
            bytes: leftover.bytes,
            written: 0,
            from_outbox: true,
            begun: leftover.begun,
        }
    }
}

/// What one [`Connection::flush`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flushed {
    /// Some bytes were written.
    pub progress: bool,
    /// Length of the outbox chunks completed (for `Outbox::written`).
    pub outbox_bytes: usize,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Connection {
    /// Shared only with the gate, weakly, while attached.
    stream: Arc<TcpStream>,
    /// The peer's address and port.
    pub remote: SocketAddr,
    /// Ours.
    pub local: SocketAddr,
    /// We opened it (rather than accepted it).
    pub outbound: bool,
    fsm: VecDeque<Bytes>,
    outbox: VecDeque<Bytes>,
    current: Option<Chunk>,
    blocked: bool,
    /// The outbox whose gate the core may write through.
    attached: Option<Arc<Outbox>>,
}

fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

impl Connection {
    /// Wrap a connected stream.
    pub fn new(stream: TcpStream, outbound: bool) -> io::Result<Self> {
        Ok(Connection {
            remote: canonical(stream.peer_addr()?),
            local: canonical(stream.local_addr()?),
            stream: Arc::new(stream),
            outbound,
            fsm: VecDeque::new(),
            outbox: VecDeque::new(),
            current: None,
            blocked: false,
            attached: None,
        })
    }

    /// Let the core write `outbox`'s pushes into this connection while
    /// it is idle (the session is Established on it); `tag` names the
    /// peer in the hop marks.
    pub fn attach(&mut self, outbox: Arc<Outbox>, tag: u64) {
        self.detach();
        outbox
            .gate()
            .attach(Arc::downgrade(&self.stream), tag, !self.wants_write());
        self.attached = Some(outbox);
    }

    /// Stop the core's writes; what it left unwritten becomes the
    /// current chunk, so a begun message is finished before anything else.
    pub fn detach(&mut self) {
        if let Some(outbox) = self.attached.take() {
            if let Some(leftover) = outbox.gate().detach() {
                self.adopt(leftover);
            }
        }
    }

    /// Take what the core left unwritten, if anything: it goes first.
    pub fn claim_leftover(&mut self) {
        let Some(outbox) = self.attached.clone() else {
            return;
        };
        let mut hold = outbox.gate().hold();
        if let Some(leftover) = hold.take_leftover() {
            self.adopt(leftover);
        }
    }

    fn adopt(&mut self, leftover: Leftover) {
        // The core writes only while nothing is begun here, so no chunk
        // is current; if one were, the leftover still goes before every
        // message not yet begun.
        match self.current.take() {
            None => self.current = Some(Chunk::leftover(leftover)),
            Some(current) => {
                self.current = Some(current);
                self.outbox.push_front(leftover.bytes);
            }
        }
    }

    /// Queue a message of the state machine.
    pub fn queue(&mut self, bytes: Bytes) {
        self.fsm.push_back(bytes);
    }

    /// Where to put UPDATEs taken from the outbox.
    pub fn outbox_queue(&mut self) -> &mut VecDeque<Bytes> {
        &mut self.outbox
    }

    /// No outbox data queued or being written: time to take more.
    pub fn outbox_idle(&self) -> bool {
        self.outbox.is_empty() && !self.current.as_ref().is_some_and(|c| c.from_outbox)
    }

    /// Forget outbox data not yet begun (the session went down or restarted).
    pub fn clear_outbox(&mut self) {
        self.outbox.clear();
    }

    /// Anything left to write?
    pub fn wants_write(&self) -> bool {
        self.current.is_some() || !self.fsm.is_empty() || !self.outbox.is_empty()
    }

    /// The last write found the socket's send buffer full.
    pub fn is_blocked(&self) -> bool {
        self.blocked
    }

    /// Wait until the socket may be read.
    pub async fn readable(&self) -> io::Result<()> {
        self.stream.readable().await
    }

    /// Wait until the socket may be written.
    pub async fn writable(&self) -> io::Result<()> {
        self.stream.writable().await
    }

    /// Read what is there without waiting (`Ok(0)` at end of stream).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.try_read(buf)
    }

    /// Write without waiting until everything is written, the socket is
    /// full ([`Connection::is_blocked`]) or the budget is spent.
    pub fn flush(&mut self) -> io::Result<Flushed> {
        let Some(outbox) = self.attached.clone() else {
            return self.flush_held();
        };
        let mut hold = outbox.gate().hold();
        if let Some(leftover) = hold.take_leftover() {
            self.adopt(leftover);
        }
        let result = self.flush_held();
        hold.set_idle(result.is_ok() && !self.wants_write());
        result
    }

    /// [`Connection::flush`] with the gate held (or none attached).
    fn flush_held(&mut self) -> io::Result<Flushed> {
        let mut flushed = Flushed::default();
        let mut budget = WRITE_BUDGET;
        self.blocked = false;
        while budget > 0 {
            let mut chunk = match self.current.take() {
                Some(chunk) => chunk,
                None => {
                    let next = match self.fsm.pop_front() {
                        Some(bytes) => Some((bytes, false)),
                        None => self.outbox.pop_front().map(|bytes| (bytes, true)),
                    };
                    let Some((bytes, from_outbox)) = next else {
                        return Ok(flushed);
                    };
                    Chunk {
                        bytes,
                        written: 0,
                        from_outbox,
                        begun: false,
                    }
                }
            };
            if chunk.written < chunk.bytes.len() {
                match self.stream.try_write(&chunk.bytes[chunk.written..]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => {
                        chunk.written += n;
                        budget = budget.saturating_sub(n);
                        flushed.progress = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.blocked = true;
                        self.current = Some(chunk);
                        return Ok(flushed);
                    }
                    Err(e) => return Err(e),
                }
            }
            if chunk.written == chunk.bytes.len() {
                if chunk.from_outbox {
                    flushed.outbox_bytes += chunk.bytes.len();
                }
            } else {
                self.current = Some(chunk);
            }
        }
        Ok(flushed)
    }

    /// Give up the wrapper (to close the stream another way).
    pub fn into_stream(mut self) -> Option<TcpStream> {
        self.detach();
        // Detached: the gate's weak reference can no longer be upgraded.
        Arc::into_inner(self.stream)
    }

    /// Close after writing the rest of a begun chunk and the state
    /// machine's queued messages (a NOTIFICATION), best effort; outbox data
    /// not yet begun is dropped.
    pub fn close(mut self) {
        self.detach();
        let mut last = Vec::with_capacity(1 + self.fsm.len());
        if let Some(chunk) = self.current {
            if chunk.written > 0 || chunk.begun || !chunk.from_outbox {
                last.push(chunk.bytes.slice(chunk.written..));
            }
        }
        last.extend(self.fsm);
        if let Some(stream) = Arc::into_inner(self.stream) {
            linger::close_after(stream, last);
        }
    }
}
