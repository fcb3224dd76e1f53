#!/usr/bin/env python3
"""Build the seed corpora in fuzz/seeds/ from the shared captures.

BGP messages come from the pcap files (tshark extracts the TCP payloads,
which are concatenated per TCP stream and split on the 16-octet marker);
MRT records are the first few records of each MRT dump. Every seed file
holds one message (or a few MRT records) and is named after its SHA-1, so
running the script twice gives the same files.

Usage: python3 fuzz/scripts/make_seeds.py [DATA_DIR]   (default /work/shared/data)
"""

import gzip
import hashlib
import os
import random
import subprocess
import sys
from collections import defaultdict

FUZZ_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(FUZZ_DIR, "seeds")
MARKER = b"\xff" * 16

# Context prefix (see fuzz/src/checks.rs, `ctx_from_bytes`):
# byte 0: bit 0 four-octet AS, bit 1 extended message, bit 2 eBGP peer;
# byte 1: ADD-PATH for IPv4 unicast, IPv6 unicast, IPv4 multicast, IPv6 multicast.
FOUR_OCTET_IBGP = bytes([0x01, 0x00])
TWO_OCTET_EBGP = bytes([0x04, 0x00])
ADD_PATH_ALL = bytes([0x01, 0x0F])

# Keep each MRT seed small: at most this many records and bytes.
MRT_RECORDS = 4
MRT_MAX_BYTES = 16 * 1024


def write_seed(target, data):
    directory = os.path.join(SEEDS, target)
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def tcp_streams(pcap):
    """The BGP payload bytes of each TCP stream of `pcap`, in capture order."""
    out = subprocess.run(
        ["tshark", "-r", pcap, "-Y", "bgp", "-T", "fields",
         "-e", "tcp.stream", "-e", "tcp.payload"],
        check=True, capture_output=True, text=True,
    ).stdout
    streams = defaultdict(bytearray)
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) != 2 or not parts[1]:
            continue
        streams[parts[0]] += bytes.fromhex(parts[1].replace(":", ""))
    return list(streams.values())


def split_messages(stream):
    """Split a byte stream on BGP markers, keeping whole messages only."""
    messages = []
    pos = stream.find(MARKER)
    while pos >= 0 and pos + 19 <= len(stream):
        length = int.from_bytes(stream[pos + 16:pos + 18], "big")
        if length < 19 or pos + length > len(stream):
            pos = stream.find(MARKER, pos + 1)
            continue
        messages.append(bytes(stream[pos:pos + length]))
        pos = stream.find(MARKER, pos + length)
    return messages


def context_for(capture):
    if "add-path" in capture:
        return ADD_PATH_ALL
    if "16-bit" in capture:
        return TWO_OCTET_EBGP
    return FOUR_OCTET_IBGP


def bgp_seeds(data_dir):
    pcap_dir = os.path.join(data_dir, "pcap")
    count = 0
    for capture in sorted(os.listdir(pcap_dir)):
        ctx = context_for(capture)
        for stream in tcp_streams(os.path.join(pcap_dir, capture)):
            for message in split_messages(stream):
                write_seed("decode_message", ctx + message)
                if message[18] == 2:  # UPDATE: the body after the header
                    write_seed("decode_update", ctx + message[19:])
                count += 1
    return count


def mrt_seeds(data_dir):
    mrt_dir = os.path.join(data_dir, "mrt")
    count = 0
    for dump in sorted(os.listdir(mrt_dir)):
        if not dump.endswith(".gz"):
            continue
        with gzip.open(os.path.join(mrt_dir, dump), "rb") as f:
            data = f.read(1 << 20)
        records, pos = [], 0
        while pos + 12 <= len(data):
            length = int.from_bytes(data[pos + 8:pos + 12], "big")
            end = pos + 12 + length
            if end > len(data):
                break
            records.append(data[pos:end])
            pos = end
        # One seed with the first records, and one per record type seen early.
        first = b"".join(records[:MRT_RECORDS])
        if first and len(first) <= MRT_MAX_BYTES:
            write_seed("decode_mrt", first)
            count += 1
        seen = set()
        for record in records[:200]:
            kind = record[4:8]
            if kind not in seen and len(record) <= MRT_MAX_BYTES:
                seen.add(kind)
                write_seed("decode_mrt", record)
                count += 1
    return count


def roundtrip_seeds():
    """The roundtrip target reads its input as random bytes: fixed-seed noise."""
    rng = random.Random(179)
    for size in (16, 64, 256, 1024, 4096):
        for _ in range(4):
            write_seed("roundtrip", bytes(rng.randrange(256) for _ in range(size)))
    return 20


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"
    print("BGP messages:", bgp_seeds(data_dir))
    print("MRT seeds:", mrt_seeds(data_dir))
    print("roundtrip seeds:", roundtrip_seeds())


if __name__ == "__main__":
    main()
