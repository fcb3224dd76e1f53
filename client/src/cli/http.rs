//! The CLI's HTTP/1.1 client: one request per connection (`Connection:
//! close`), the body read to the end (`Content-Length` or chunked). Enough
//! for the local API, with nothing beyond tokio. The reflector has the
//! same in `bgp_reflector::client`.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::api::types::{ErrorBody, Finding};

/// How long the CLI waits for the API.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer, or a broken one.
    #[error("cannot talk to the API at {addr}: {message} (is bgp-client running? see --api)")]
    Io {
        /// The API's address.
        addr: SocketAddr,
        /// What happened.
        message: String,
    },
    /// An error status.
    #[error("the API answered {status}: {message}")]
    Status {
        /// The status code.
        status: u16,
        /// The error document's message (or the body).
        message: String,
        /// Configuration findings, for a refused reload.
        findings: Vec<Finding>,
    },
    /// A body that is not the expected JSON.
    #[error("unexpected JSON from the API: {0}")]
    Json(#[from] serde_json::Error),
}

/// Split a raw response into status and body.
pub fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut out = Vec::new();
        loop {
            let line = body.windows(2).position(|w| w == b"\r\n")?;
            let size = std::str::from_utf8(&body[..line]).ok()?;
            let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
            body = &body[line + 2..];
            if size == 0 {
                return Some((status, out));
            }
            out.extend_from_slice(body.get(..size)?);
            body = body.get(size + 2..)?;
        }
    }
    match header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(length) => Some((status, body.get(..length)?.to_vec())),
        None => Some((status, body.to_vec())),
    }
}

/// Send `method path` and return the body of a 2xx answer.
pub async fn request(addr: SocketAddr, method: &str, path: &str) -> Result<Vec<u8>, ClientError> {
    let io = |message: String| ClientError::Io { addr, message };
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| io(format!("no answer within {TIMEOUT:?}")))?
        .map_err(|e| io(e.to_string()))?;
    let (status, body) =
        parse_response(&raw).ok_or_else(|| io("malformed HTTP response".into()))?;
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let (message, findings) = match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(error) => (error.error, error.findings),
        Err(_) => (String::from_utf8_lossy(&body).into_owned(), Vec::new()),
    };
    Err(ClientError::Status {
        status,
        message,
        findings,
    })
}

/// Percent-encode a query value, keeping addresses and prefixes readable.
pub fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b'/' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_and_chunked_bodies() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n[]xx";
        assert_eq!(parse_response(plain), Some((200, b"[]".to_vec())));
        let chunked = b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n2\r\n\"}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked), Some((400, b"{\"a\"}".to_vec())));
        assert!(parse_response(b"garbage").is_none());
        assert_eq!(encode_query("fd00::/64 x"), "fd00::/64%20x");
    }
}
