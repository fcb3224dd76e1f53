//! Shared code of the `bgp-proto` fuzz targets.
//!
//! - [`checks`]: what each target asserts; `bgp-proto/tests/fuzz_regressions.rs`
//!   includes the same file, so every saved input is re-checked by `cargo test`;
//! - [`strategies`]: the proptest strategies of `bgp-proto/tests/strategies`,
//!   which the `roundtrip` target drives with its input as the random source.

#[path = "../../bgp-proto/tests/strategies/mod.rs"]
pub mod strategies;

pub mod checks;
