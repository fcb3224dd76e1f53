//! Fuzz target `roundtrip`. Input bytes drive the proptest strategies to build a valid message: it must encode and decode to itself.
//! See `bgp_proto_fuzz::checks::check_roundtrip` and fuzz/README.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bgp_proto_fuzz::checks::check_roundtrip(data));
