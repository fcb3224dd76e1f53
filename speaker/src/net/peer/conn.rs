//! One TCP connection of a peer task: non-blocking reads, and writes of
//! whole [`Bytes`] chunks with the state machine's messages first.
//!
//! A chunk, once begun, is always finished before the next one starts, so
//! messages never interleave. Between chunks, messages of the state machine
//! (OPEN, KEEPALIVE, NOTIFICATION, ROUTE-REFRESH) go before the UPDATEs
//! taken from the [`crate::outbox::Outbox`].

use bytes::Bytes;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::TcpStream;

use crate::net::linger;

/// Most bytes written in one go before the task looks at its other inputs.
const WRITE_BUDGET: usize = 1 << 20;

#[derive(Debug)]
struct Chunk {
    bytes: Bytes,
    written: usize,
    from_outbox: bool,
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
    stream: TcpStream,
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
            stream,
            outbound,
            fsm: VecDeque::new(),
            outbox: VecDeque::new(),
            current: None,
            blocked: false,
        })
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

    /// Read what is there without waiting (`Ok(0)` at end of stream,
    /// `WouldBlock` if nothing is).
    ///
    /// Through `poll_read` rather than `TcpStream::try_read`: a read that
    /// fills less than `buf` has drained the socket, and tokio then clears
    /// the socket's readiness, so the task's next wait parks on the next
    /// edge instead of making one more `recv` that returns `EAGAIN`. That
    /// `recv` came right after each UPDATE read, before the task yielded
    /// to the core, so it lay on the path of every route (issue 8).
    pub fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut read = ReadBuf::new(buf);
        match Pin::new(&mut self.stream).poll_read(&mut cx, &mut read) {
            Poll::Ready(Ok(())) => Ok(read.filled().len()),
            Poll::Ready(Err(error)) => Err(error),
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// Write without waiting until everything is written, the socket is
    /// full ([`Connection::is_blocked`]) or the budget is spent.
    pub fn flush(&mut self) -> io::Result<Flushed> {
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
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }

    /// Close after writing the rest of a begun chunk and the state
    /// machine's queued messages (a NOTIFICATION), best effort; outbox data
    /// not yet begun is dropped.
    pub fn close(self) {
        let mut last = Vec::with_capacity(1 + self.fsm.len());
        if let Some(chunk) = self.current {
            if chunk.written > 0 || !chunk.from_outbox {
                last.push(chunk.bytes.slice(chunk.written..));
            }
        }
        last.extend(self.fsm);
        linger::close_after(self.stream, last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    async fn pair() -> (Connection, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (ours, theirs) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (
            Connection::new(ours.unwrap(), true).unwrap(),
            theirs.unwrap().0,
        )
    }

    async fn readable_within(conn: &Connection, wait: Duration) -> bool {
        tokio::time::timeout(wait, conn.readable()).await.is_ok()
    }

    /// A read that takes less than the buffer leaves the socket not
    /// readable (no `recv` is made to find it empty), and the next bytes
    /// make it readable again: nothing is lost by clearing the readiness.
    #[tokio::test]
    async fn a_short_read_waits_for_the_next_bytes() {
        let (mut conn, mut peer) = pair().await;
        let mut buf = vec![0; 4096];
        peer.write_all(b"first").await.unwrap();
        assert!(readable_within(&conn, Duration::from_secs(5)).await);
        assert_eq!(conn.try_read(&mut buf).unwrap(), 5);
        assert!(
            !readable_within(&conn, Duration::from_millis(50)).await,
            "drained by a short read: not readable until more comes"
        );
        peer.write_all(b"second").await.unwrap();
        assert!(readable_within(&conn, Duration::from_secs(5)).await);
        assert_eq!(conn.try_read(&mut buf).unwrap(), 6);
        assert_eq!(&buf[..6], b"second");
        let error = conn.try_read(&mut buf).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
    }

    /// A read that fills the buffer says nothing about the rest: the
    /// socket stays readable and the rest is read at once.
    #[tokio::test]
    async fn a_full_read_leaves_the_rest_readable() {
        let (mut conn, mut peer) = pair().await;
        let mut buf = vec![0; 8];
        peer.write_all(b"0123456789ab").await.unwrap();
        assert!(readable_within(&conn, Duration::from_secs(5)).await);
        // The 12 octets may arrive in more than one segment.
        let mut read = Vec::new();
        while read.len() < 12 {
            assert!(readable_within(&conn, Duration::from_secs(5)).await);
            match conn.try_read(&mut buf) {
                Ok(n) => read.extend_from_slice(&buf[..n]),
                Err(error) => assert_eq!(error.kind(), io::ErrorKind::WouldBlock),
            }
        }
        assert_eq!(read, b"0123456789ab");
        peer.shutdown().await.unwrap();
        assert!(readable_within(&conn, Duration::from_secs(5)).await);
        assert_eq!(conn.try_read(&mut buf).unwrap(), 0, "end of stream");
    }
}
