//! Helpers for the Reflex benchmarks: loading the real MRT data set once,
//! building synthetic UPDATEs, and one adapter per BGP codec so that every
//! codec is timed on the same job.
//!
//! See `docs/BENCHMARKS.md` at the workspace root for how to run them and
//! for the results.

pub mod codecs;
pub mod harness;
pub mod mrt;
pub mod synth;
