//! A minimal HTTP/1.1 client for the CLI subcommands: one request per
//! connection (`Connection: close`), JSON bodies, `Content-Length` or
//! chunked responses (RFC 9112 sections 6 and 7.1). Enough for a local API,
//! with no dependency beyond tokio.

use std::net::SocketAddr;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::api::types::{ErrorBody, Finding};

/// How long the CLI waits for the API.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection.
    #[error("cannot connect to the API at {addr}: {source} (is bgp-reflector running? see --api)")]
    Connect {
        /// The API's address.
        addr: SocketAddr,
        /// The system's error.
        source: std::io::Error,
    },
    /// The connection failed midway.
    #[error("I/O error talking to the API at {addr}: {source}")]
    Io {
        /// The API's address.
        addr: SocketAddr,
        /// The system's error.
        source: std::io::Error,
    },
    /// No answer in time.
    #[error("the API at {0} did not answer within {TIMEOUT:?}")]
    Timeout(SocketAddr),
    /// Not an HTTP response.
    #[error("malformed HTTP response from {0}")]
    Malformed(SocketAddr),
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

/// A response: status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Body, de-chunked.
    pub body: Vec<u8>,
}

/// Percent-encode a query value (RFC 3986 section 2.1), keeping the
/// characters of addresses and prefixes readable.
pub fn encode_query(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b'/' => {
                out.push(char::from(byte));
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Split a raw response into status and body.
pub fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else if let Some(length) = length {
        body.get(..length)?.to_vec()
    } else {
        body.to_vec()
    };
    Some(Response { status, body })
}

/// Decode a chunked body (RFC 9112 section 7.1).
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// Send one request and read the whole response.
pub async fn request(addr: SocketAddr, method: &str, path: &str) -> Result<Response, ClientError> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|source| ClientError::Connect { addr, source })?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let io = |source| ClientError::Io { addr, source };
        stream.write_all(request.as_bytes()).await.map_err(io)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.map_err(io)?;
        parse_response(&raw).ok_or(ClientError::Malformed(addr))
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| ClientError::Timeout(addr))?
}

/// Check the status and decode the JSON body.
pub fn decode<T: DeserializeOwned>(response: &Response) -> Result<T, ClientError> {
    if !(200..300).contains(&response.status) {
        let (message, findings) = match serde_json::from_slice::<ErrorBody>(&response.body) {
            Ok(body) => (body.error, body.findings),
            Err(_) => (
                String::from_utf8_lossy(&response.body).into_owned(),
                Vec::new(),
            ),
        };
        return Err(ClientError::Status {
            status: response.status,
            message,
            findings,
        });
    }
    Ok(serde_json::from_slice(&response.body)?)
}

/// `GET path`, decoded.
pub async fn get<T: DeserializeOwned>(addr: SocketAddr, path: &str) -> Result<T, ClientError> {
    decode(&request(addr, "GET", path).await?)
}

/// `POST path` without a body, decoded.
pub async fn post<T: DeserializeOwned>(addr: SocketAddr, path: &str) -> Result<T, ClientError> {
    decode(&request(addr, "POST", path).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_and_chunked_bodies() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n[]";
        assert_eq!(parse_response(plain).unwrap().body, b"[]");
        let chunked = b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n2\r\n\"}\r\n0\r\n\r\n";
        let response = parse_response(chunked).unwrap();
        assert_eq!(response.status, 400);
        assert_eq!(response.body, b"{\"a\"}");
        assert!(parse_response(b"garbage").is_none());
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode_query("10.0.0.0/24"), "10.0.0.0/24");
        assert_eq!(encode_query("a b&c"), "a%20b%26c");
    }
}
