#!/usr/bin/env python3
"""Write the reflector's symbol ordering file (reflector/link/).

The linker places the functions named in `reflector/link/hot-symbols.txt`
first and together (LLD's --symbol-ordering-file, passed by
reflector/build.rs), so the code a running reflector executes fills a few
contiguous pages instead of being spread over the whole text, and the
kernel's fault-around maps fewer pages of the binary.

Write: from a callgrind profile made with mangled names,
    hot_symbols.py write CALLGRIND_OUT BINARY ORDER_FILE
keeps every function of BINARY the profile saw executed or called, in the
order the profile first names them. How much of the list a binary still
has is printed by rr-bench next to the binary's version (src/hot_symbols.rs).
"""

import re
import subprocess
import sys


def text_symbols(binary):
    """Defined function symbols of `binary` -> size in bytes."""
    out = subprocess.run(
        ["nm", "--defined-only", "-S", binary], capture_output=True, text=True, check=True
    ).stdout
    symbols = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTwW":
            symbols[parts[3]] = int(parts[1], 16)
    return symbols


def executed_functions(callgrind_out):
    """Function names of a callgrind file, first appearance first."""
    seen, order = set(), []
    with open(callgrind_out, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("fn=") or line.startswith("cfn="):
                name = line.split("=", 1)[1].strip()
                # Compressed names (the default): "(id) name" the first
                # time, "(id)" after; the first time is all we need.
                compressed = re.match(r"\((\d+)\)\s*(.*)$", name)
                if compressed:
                    name = compressed.group(2)
                    if not name:
                        continue
                # Callgrind marks recursion depth as name'2, name'3, ...
                name = re.sub(r"'\d+$", "", name)
                if name not in seen:
                    seen.add(name)
                    order.append(name)
    return order


def write(callgrind_out, binary, order_file):
    symbols = text_symbols(binary)
    hot = [name for name in executed_functions(callgrind_out) if name in symbols]
    if not hot:
        sys.exit("no function of the binary in the profile (was it made with --demangle=no?)")
    with open(order_file, "w", encoding="utf-8") as f:
        f.write("\n".join(hot) + "\n")
    size = sum(symbols[name] for name in hot)
    total = sum(symbols.values())
    print(f"{len(hot)} functions, {size / 1e6:.2f} MB of {total / 1e6:.2f} MB of text -> {order_file}")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
