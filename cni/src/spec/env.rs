//! The `CNI_*` environment of one plugin invocation (CNI `SPEC.md`,
//! "Parameters"), validated as libcni's `skel` does: the variables each
//! command needs, container ids of `[A-Za-z0-9][A-Za-z0-9_.-]*`, and
//! interface names the kernel accepts (at most 15 bytes, no `/`, `:` or
//! white space, not `.` or `..`).

use std::path::PathBuf;

use super::args::{CniArgs, parse_cni_args};
use super::error::{CniError, ErrorCode};

/// `CNI_COMMAND`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CniCommand {
    /// Attach the container to the network.
    Add,
    /// Detach it (idempotent).
    Del,
    /// Verify the attachment against `prevResult`.
    Check,
    /// Report the supported versions.
    Version,
}

impl CniCommand {
    /// The command's name.
    pub fn as_str(self) -> &'static str {
        match self {
            CniCommand::Add => "ADD",
            CniCommand::Del => "DEL",
            CniCommand::Check => "CHECK",
            CniCommand::Version => "VERSION",
        }
    }
}

/// The environment of an `ADD`, `DEL` or `CHECK`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CniEnv {
    /// The command.
    pub command: CniCommand,
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_NETNS`: the container's network namespace file (may be empty on
    /// `DEL`).
    pub netns: Option<PathBuf>,
    /// `CNI_IFNAME`: the interface to create inside the container.
    pub ifname: String,
    /// `CNI_ARGS`, parsed.
    pub args: CniArgs,
    /// `CNI_ARGS` as given.
    pub raw_args: String,
    /// `CNI_PATH`: where to look for delegated plugins (IPAM).
    pub path: Vec<PathBuf>,
}

fn invalid(msg: impl Into<String>, details: impl Into<String>) -> CniError {
    CniError::new(ErrorCode::InvalidEnvironment, msg, details)
}

/// The command alone (`VERSION` needs nothing else).
pub fn command_from(var: &impl Fn(&str) -> Option<String>) -> Result<CniCommand, CniError> {
    match var("CNI_COMMAND").as_deref() {
        Some("ADD") => Ok(CniCommand::Add),
        Some("DEL") => Ok(CniCommand::Del),
        Some("CHECK") => Ok(CniCommand::Check),
        Some("VERSION") => Ok(CniCommand::Version),
        Some(other) => Err(invalid(
            format!("CNI_COMMAND {other:?} is not one of ADD, DEL, CHECK, VERSION"),
            "",
        )),
        None => Err(invalid(
            "CNI_COMMAND is not set",
            "a CNI plugin is run by a container runtime with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME and CNI_PATH set",
        )),
    }
}

/// Whether a container id is valid (libcni's `ValidateContainerID`).
pub fn valid_container_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Why an interface name is invalid, if it is (libcni's `ValidateInterfaceName`).
pub fn interface_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.len() > 15 {
        Some("is longer than 15 bytes (IFNAMSIZ)")
    } else if name == "." || name == ".." {
        Some("is . or ..")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        Some("contains /, : or white space")
    } else {
        None
    }
}

impl CniEnv {
    /// Reads and checks the environment for `ADD`, `DEL` or `CHECK` through
    /// `var` (`std::env::var` in the binaries).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<CniEnv, CniError> {
        let command = command_from(&var)?;
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        // ADD and CHECK need every variable; DEL may come without a netns.
        let mut required = vec!["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"];
        if command != CniCommand::Del {
            required.insert(1, "CNI_NETNS");
        }
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|n| get(n).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(invalid(
                format!(
                    "required environment variables missing: {}",
                    missing.join(", ")
                ),
                "",
            ));
        }
        let container_id = get("CNI_CONTAINERID").unwrap_or_default();
        if !valid_container_id(&container_id) {
            return Err(invalid(
                "CNI_CONTAINERID has invalid characters",
                format!("{container_id:?}: it must match [A-Za-z0-9][A-Za-z0-9_.-]*"),
            ));
        }
        let ifname = get("CNI_IFNAME").unwrap_or_default();
        if let Some(problem) = interface_name_problem(&ifname) {
            return Err(invalid(format!("CNI_IFNAME {ifname:?} {problem}"), ""));
        }
        let raw_args = var("CNI_ARGS").unwrap_or_default();
        let args = parse_cni_args(&raw_args)?;
        let path = std::env::split_paths(&get("CNI_PATH").unwrap_or_default()).collect();
        Ok(CniEnv {
            command,
            container_id,
            netns: get("CNI_NETNS").map(PathBuf::from),
            ifname,
            args,
            raw_args,
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const ADD: &[(&str, &str)] = &[
        ("CNI_COMMAND", "ADD"),
        ("CNI_CONTAINERID", "abc123"),
        ("CNI_NETNS", "/var/run/netns/x"),
        ("CNI_IFNAME", "eth0"),
        ("CNI_PATH", "/opt/cni/bin:/usr/lib/cni"),
    ];

    #[test]
    fn a_full_add_environment_parses() {
        let env = CniEnv::from_vars(env_of(ADD)).unwrap();
        assert_eq!(env.command, CniCommand::Add);
        assert_eq!(env.path.len(), 2);
        assert_eq!(
            env.netns.as_deref(),
            Some(std::path::Path::new("/var/run/netns/x"))
        );
    }

    #[test]
    fn missing_variables_are_named() {
        let e = CniEnv::from_vars(env_of(&ADD[..3])).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidEnvironment);
        assert!(
            e.msg.contains("CNI_IFNAME") && e.msg.contains("CNI_PATH"),
            "{e}"
        );
        let e = CniEnv::from_vars(env_of(&[])).unwrap_err();
        assert!(e.msg.contains("CNI_COMMAND"), "{e}");
        let e = CniEnv::from_vars(env_of(&[("CNI_COMMAND", "GC")])).unwrap_err();
        assert!(e.msg.contains("GC"), "{e}");
    }

    #[test]
    fn del_may_come_without_a_netns() {
        let mut vars = ADD.to_vec();
        vars[0] = ("CNI_COMMAND", "DEL");
        vars.remove(2);
        let env = CniEnv::from_vars(env_of(&vars)).unwrap();
        assert_eq!(env.netns, None);
    }

    #[test]
    fn container_ids_and_interface_names_are_checked() {
        assert!(valid_container_id("a1_b.c-d"));
        assert!(!valid_container_id("-abc"));
        assert!(!valid_container_id("ab/c"));
        assert!(!valid_container_id(""));
        assert_eq!(interface_name_problem("eth0"), None);
        assert!(interface_name_problem("a-very-long-name0").is_some());
        assert!(interface_name_problem("..").is_some());
        assert!(interface_name_problem("et h0").is_some());
        let mut vars = ADD.to_vec();
        vars[3] = ("CNI_IFNAME", "bad/name");
        let e = CniEnv::from_vars(env_of(&vars)).unwrap_err();
        assert!(e.msg.contains("bad/name"), "{e}");
    }
}
