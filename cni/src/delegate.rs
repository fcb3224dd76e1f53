//! Delegation to the IPAM plugin, the CNI way (`SPEC.md`, "Delegated
//! plugins"; libcni's `invoke`): the binary named by `ipam.type`, found in a
//! `CNI_PATH` directory, run with the same stdin and environment except
//! `CNI_COMMAND`. Like Calico's plugin, `IgnoreUnknown=1` is put in front of
//! `CNI_ARGS` so the IPAM plugin accepts arguments meant for others.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::spec::{CniCommand, CniError, CniResult, ErrorCode};

/// Finds a plugin binary in the `CNI_PATH` directories.
pub fn find_plugin(name: &str, path: &[PathBuf]) -> Result<PathBuf, CniError> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(CniError::new(
            ErrorCode::InvalidNetworkConfig,
            format!("ipam.type {name:?} is not a plugin name"),
            "",
        ));
    }
    path.iter()
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            CniError::new(
                ErrorCode::Ipam,
                format!("IPAM plugin {name:?} not found in CNI_PATH"),
                path.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(":"),
            )
        })
}

/// Runs a delegated plugin; its stdout (a result, or nothing for DEL) on
/// success, its CNI error otherwise.
pub fn exec(
    plugin: &Path,
    command: CniCommand,
    stdin: &[u8],
    cni_args: &str,
) -> Result<Vec<u8>, CniError> {
    let args = if cni_args.is_empty() {
        "IgnoreUnknown=1".to_string()
    } else {
        format!("IgnoreUnknown=1;{cni_args}")
    };
    let name = plugin
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let io_error = |e: std::io::Error| {
        CniError::new(
            ErrorCode::Ipam,
            format!("cannot run IPAM plugin {}", plugin.display()),
            e.to_string(),
        )
    };
    let mut child = Command::new(plugin)
        .env("CNI_COMMAND", command.as_str())
        .env("CNI_ARGS", args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(io_error)?;
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin).map_err(io_error)?;
    }
    let output = child.wait_with_output().map_err(io_error)?;
    if output.status.success() {
        return Ok(output.stdout);
    }
    Err(match CniError::from_plugin_output(&output.stdout) {
        Some(mut e) => {
            e.msg = format!("IPAM plugin {name}: {}", e.msg);
            e
        }
        None => CniError::new(
            ErrorCode::Ipam,
            format!("IPAM plugin {name} failed ({})", output.status),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        ),
    })
}

/// Parses the IPAM plugin's `ADD` answer.
pub fn parse_result(stdout: &[u8]) -> Result<CniResult, CniError> {
    let value: Value = serde_json::from_slice(stdout).map_err(|e| {
        CniError::new(
            ErrorCode::Ipam,
            "the IPAM plugin's result is not JSON",
            e.to_string(),
        )
    })?;
    let result = CniResult::from_json(&value)
        .map_err(|e| CniError::new(ErrorCode::Ipam, "unusable IPAM result", e.to_string()))?;
    if result.ips.is_empty() {
        return Err(CniError::new(
            ErrorCode::Ipam,
            "the IPAM plugin returned no IP addresses",
            "",
        ));
    }
    Ok(result)
}
