//! Shared criterion plumbing.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};

use crate::codecs::Codec;
use crate::mrt::RawMessage;

/// The criterion settings of every benchmark here: short enough that the
/// whole suite runs in a few minutes on 2 cores, long enough for tight
/// confidence intervals on these sub-millisecond routines.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args()
}

/// Time `codec` decoding (and dropping) every message of `messages` per
/// iteration.
pub fn bench_decode<C: Codec>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    codec: &mut C,
    messages: &[RawMessage],
) {
    group.bench_function(C::NAME, |b| {
        b.iter(|| {
            for msg in messages {
                // Failures were counted before timing; here they cost what they cost.
                let _ = black_box(codec.decode(black_box(msg)));
            }
        })
    });
}

/// Where criterion writes its results, found the way criterion finds it:
/// `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else the
/// workspace's `target/criterion`.
pub fn criterion_home() -> std::path::PathBuf {
    use std::path::PathBuf;
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion")
}

/// The time per iteration, in nanoseconds, that criterion measured for
/// `group`/`function` in this process: its typical estimate (the slope of
/// the linear fit, else the mean), the value it prints as `time:`. `None`
/// if it was not run in this process (filtered out, or `--test` mode).
pub fn mean_ns(group: &str, function: &str, since: std::time::SystemTime) -> Option<f64> {
    let path = criterion_home()
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
    if modified < since {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let typical = if json["slope"].is_object() {
        &json["slope"]
    } else {
        &json["mean"]
    };
    typical["point_estimate"].as_f64()
}
