//! The scene's etcd server (the lab's launcher), and raw key reads through its JSON gateway
//! (`POST /v3/kv/range`), so the scene can show the IPAM and status keys
//! without an etcd client library.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reflex_testlab::{Host, Lab};
use serde_json::{Value, json};

use crate::error::SceneError;

/// Starts `etcd` in `host`, serving clients on `addr`; returns once it
/// answers a range read.
pub fn start(lab: &mut Lab, host: &Host, addr: SocketAddr) -> Result<(), SceneError> {
    reflex_testlab::daemons::etcd::start(lab, host, &format!("http://{addr}"))?;
    range(host, addr, "/calico/").map(|_| ())
}

/// Every key under `prefix` with its value, read from inside `host`.
pub fn range(
    host: &Host,
    addr: SocketAddr,
    prefix: &str,
) -> Result<Vec<(String, Value)>, SceneError> {
    let body = json!({
        "key": BASE64.encode(prefix),
        "range_end": BASE64.encode(range_end(prefix)),
    })
    .to_string();
    let response = host.enter(move || post(addr, "/v3/kv/range", &body))??;
    let parsed: Value = serde_json::from_str(&response)
        .map_err(|e| SceneError::Etcd(format!("range answer is not JSON ({e}): {response}")))?;
    let mut pairs = Vec::new();
    for kv in parsed["kvs"].as_array().into_iter().flatten() {
        let key = decode(&kv["key"])?;
        let value = decode(&kv["value"])?;
        let value = serde_json::from_slice(&value)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&value).into_owned()));
        pairs.push((String::from_utf8_lossy(&key).into_owned(), value));
    }
    Ok(pairs)
}

/// The first key after every key starting with `prefix`.
fn range_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    end
}

fn decode(field: &Value) -> Result<Vec<u8>, SceneError> {
    let text = field.as_str().unwrap_or_default();
    BASE64
        .decode(text)
        .map_err(|e| SceneError::Etcd(format!("bad base64 {text:?}: {e}")))
}

/// One HTTP/1.0 POST (so the answer is never chunked); the response body.
fn post(addr: SocketAddr, path: &str, body: &str) -> Result<String, SceneError> {
    let io = |e: std::io::Error| SceneError::Etcd(format!("{addr}: {e}"));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).map_err(io)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(io)?;
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(io)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| SceneError::Etcd(format!("no HTTP body in {response:?}")))?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(SceneError::Etcd(format!("{path}: {head}")));
    }
    Ok(body.to_string())
}
