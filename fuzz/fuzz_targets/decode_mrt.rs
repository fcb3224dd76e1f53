//! Fuzz target `decode_mrt`. Arbitrary bytes as an MRT stream: every record is read, its BGP parts decoded and formatted; no panic, and records re-encode to themselves.
//! See `bgp_proto_fuzz::checks::check_decode_mrt` and fuzz/README.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bgp_proto_fuzz::checks::check_decode_mrt(data));
