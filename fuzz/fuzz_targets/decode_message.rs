//! Fuzz target `decode_message`. Arbitrary bytes as a framed BGP stream under an input-chosen context: no panic, and every decoded message re-encodes to itself.
//! See `bgp_proto_fuzz::checks::check_decode_message` and fuzz/README.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bgp_proto_fuzz::checks::check_decode_message(data));
