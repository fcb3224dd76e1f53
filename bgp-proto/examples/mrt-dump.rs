//! Print an MRT file the way `bgpdump -m FILE` does: one line per route.
//!
//! ```text
//! cargo run -p bgp-proto --example mrt-dump -- FILE [FILE...]
//! ```
//!
//! Plain and gzip files are accepted. Records that cannot be read are
//! skipped, as bgpdump skips them, and counted on stderr.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use bgp_proto::mrt::bgpdump::dump_file;

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: mrt-dump FILE [FILE...]");
        return ExitCode::from(2);
    }
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut status = ExitCode::SUCCESS;
    for path in &paths {
        match dump_file(path, &mut out) {
            Ok(stats) if stats.bad_records > 0 => {
                eprintln!("{path}: {} records could not be read", stats.bad_records);
            }
            Ok(_) => {}
            Err(error) => {
                eprintln!("{path}: {error}");
                status = ExitCode::FAILURE;
            }
        }
    }
    if let Err(error) = out.flush() {
        // A closed pipe (`mrt-dump FILE | head`) is not worth a message.
        if error.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("writing output: {error}");
            return ExitCode::FAILURE;
        }
    }
    status
}
