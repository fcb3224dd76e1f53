//! Fuzz target `decode_update`. Arbitrary bytes as an UPDATE body under an input-chosen context: no panic, and decode/encode is stable.
//! See `bgp_proto_fuzz::checks::check_decode_update` and fuzz/README.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bgp_proto_fuzz::checks::check_decode_update(data));
