//! Every example configuration is valid, and `bgp-reflector check` says so
//! (exit 0), or reports errors with file:line:column and exits 1.

use std::path::{Path, PathBuf};
use std::process::Command;

use bgp_reflector::config;

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/reflector");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/reflector exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "default, static and redundant-pair at least"
    );
    files
}

fn check(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bgp-reflector"))
        .arg("check")
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_example_is_valid_without_warnings() {
    for file in examples() {
        let checked = config::load(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(checked.report.diagnostics, [], "{}", file.display());
        let (ok, stdout, stderr) = check(&["--config", file.to_str().unwrap()]);
        assert!(ok, "{}: {stdout}{stderr}", file.display());
        assert!(stdout.contains("configuration is valid"), "{stdout}");
    }
}

#[test]
fn the_embedded_default_is_the_example_file() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/reflector/default.toml");
    assert_eq!(
        std::fs::read_to_string(file).unwrap(),
        config::DEFAULT_CONFIG
    );
    let (ok, stdout, _) = check(&[]);
    assert!(ok);
    assert!(stdout.contains("<embedded default.toml>: configuration is valid"));
}

#[test]
fn check_reports_errors_and_exits_1() {
    let path = std::env::temp_dir().join(format!("reflex-check-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "[global]\nasn = 64512\n\n[[neighbor]]\naddress = \"10.0.0.2\"\nasn = 64512\n\n[[neighbor]]\naddress = \"10.0.0.3\"\nasn = 64512\nhold_time = 2\n",
    )
    .unwrap();
    let name = path.display().to_string();
    let (ok, _, stderr) = check(&["--config", &name]);
    std::fs::remove_file(&path).unwrap();
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "{name}:11:13: neighbor[1].hold_time: must be 0 or at least 3 seconds"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("1 error(s)"), "{stderr}");
    let (ok, _, stderr) = check(&["--config", "/nonexistent/reflector.toml"]);
    assert!(!ok);
    assert!(
        stderr.contains("cannot read /nonexistent/reflector.toml"),
        "{stderr}"
    );
}
