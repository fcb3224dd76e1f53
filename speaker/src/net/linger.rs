//! Closing a connection after a last message, without holding up the peer
//! task: a NOTIFICATION is written best effort (RFC 4271 section 6, RFC
//! 9687 section 3), then the socket is closed; if the peer does not take the
//! bytes in time, the connection is reset so the kernel frees it.

use bytes::Bytes;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::socket;

/// How long a closing connection may take to write its last bytes.
pub const LINGER: Duration = Duration::from_secs(3);

/// Write `last` (whole messages, or the rest of a message already begun
/// followed by whole messages) and close `stream`, in a task of its own.
/// Without bytes to write the stream is closed at once.
pub(crate) fn close_after(stream: TcpStream, last: Vec<Bytes>) {
    if last.iter().all(Bytes::is_empty) {
        drop(stream);
        return;
    }
    tokio::spawn(async move {
        let mut stream = stream;
        let written = tokio::time::timeout(LINGER, async {
            for bytes in &last {
                stream.write_all(bytes).await?;
            }
            stream.shutdown().await
        })
        .await;
        if !matches!(written, Ok(Ok(()))) {
            // Unsent data would keep the socket alive against a peer that
            // does not read: reset instead.
            let _ = socket::set_abortive_close(&stream);
        }
    });
}
