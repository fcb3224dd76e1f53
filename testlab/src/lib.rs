//! `reflex-testlab`: hosts in network namespaces, links between them, and
//! real BGP daemons (BIRD 2, GoBGP, FRR) to test Reflex against.
//!
//! A [`Lab`] owns everything it creates: namespaces, processes, temporary
//! directories. Dropping it (also when a test panics) kills the processes
//! and deletes the namespaces, so a failed test leaves nothing behind.
//! Namespace names carry the process id, so parallel tests do not collide.
//!
//! Code in the test process can open sockets inside a host with
//! [`Host::enter`], which runs a closure on a thread that has joined the
//! host's namespace (sockets keep their namespace after the thread leaves).
//!
//! # Layout
//! - [`netns`]: namespaces, veth links, addresses, and running commands;
//! - [`daemons`]: configuration writers and launchers for BIRD, GoBGP, FRR,
//!   and an etcd server;
//! - [`workspace_binary`]: another package's binary for a test.
//!
//! # Example
//! ```no_run
//! # fn main() -> Result<(), reflex_testlab::LabError> {
//! let mut lab = reflex_testlab::Lab::new("demo")?;
//! let a = lab.host("a")?;
//! let b = lab.host("b")?;
//! lab.link(&a, "10.99.0.1/24", &b, "10.99.0.2/24")?;
//! let out = a.run(&["ping", "-c1", "-W1", "10.99.0.2"])?;
//! assert!(out.contains("1 received"));
//! # Ok(()) }
//! ```

pub mod daemons;
pub mod netns;

pub use netns::{Host, Lab, LabError};

/// The workspace binary `bin` of package `package`, in the directory of
/// `beside` (another binary of the same cargo profile, usually a test's
/// `env!("CARGO_BIN_EXE_...")`). `cargo test --workspace` builds every
/// binary; when this one is missing it is built with `cargo build -p
/// package --bins` first (an existing one is not rebuilt: after changing
/// its package, run the workspace's tests or `cargo build --bins`).
pub fn workspace_binary(beside: &str, bin: &str, package: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(beside)
        .parent()
        .expect("the binary's directory");
    let path = dir.join(bin);
    if path.is_file() {
        return path;
    }
    let profile = match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(other) => other.to_string(),
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!(
        "{} is missing: cargo build -p {package} --profile {profile}",
        path.display()
    );
    let status = std::process::Command::new(cargo)
        .args(["build", "-p", package, "--bins", "--profile", &profile])
        .arg("--target-dir")
        .arg(dir.parent().expect("cargo's target directory"))
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build -p {package}: {status}");
    assert!(
        path.is_file(),
        "{} still missing after the build",
        path.display()
    );
    path
}

/// Is `program` on the PATH?
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// True when tests must fail, rather than skip, if a tool or privilege is
/// missing: in CI and whenever `REFLEX_REQUIRE_TOOLS=1` (the test script sets it).
pub fn tools_required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var("REFLEX_REQUIRE_TOOLS").as_deref() == Ok("1")
}

/// Can this process create network namespaces (root, `ip` present)?
pub fn can_use_netns() -> bool {
    nix::unistd::Uid::effective().is_root() && have("ip")
}

/// Skip the calling test (return `true`) when `programs` or namespaces are
/// unavailable, unless [`tools_required`], in which case panic with the reason.
pub fn skip_unless(programs: &[&str]) -> bool {
    let mut missing: Vec<String> = programs
        .iter()
        .filter(|p| !have(p))
        .map(|p| p.to_string())
        .collect();
    if !can_use_netns() {
        missing.push("root and iproute2 for network namespaces".into());
    }
    if missing.is_empty() {
        return false;
    }
    if tools_required() {
        panic!("required for this test: {}", missing.join(", "));
    }
    eprintln!("skipping: missing {}", missing.join(", "));
    true
}
