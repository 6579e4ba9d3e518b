#!/usr/bin/env python3
"""perf_split.py PERF.DATA OPS HZ: the self time of a `perf record` run grouped by who spends it
(kernel, lber = BER encoding/decoding, ldap3, tokio/mio, allocator/libc, the rest), as a
share and as µs per operation (samples / HZ / OPS)."""
import re
import subprocess
import sys

out = subprocess.run(["perf", "report", "-i", sys.argv[1], "--no-children", "--sort", "dso,sym",
                      "-g", "none", "--stdio", "-n"], capture_output=True, text=True).stdout
buckets = {}
for line in out.splitlines():
    m = re.match(r"\s*([\d.]+)%\s+(\d+)\s+(\S+)\s+\[(.)\]\s+(.*)", line)
    if not m:
        continue
    pct, dso, kind, sym = int(m.group(2)), m.group(3), m.group(4), m.group(5)
    if kind == "k":
        b = "kernel"
    elif dso.startswith("libldap"):
        b = "libldap (its own code)"
    elif dso.startswith("liblber"):
        b = "liblber (BER codec)"
    elif "lber::" in sym or "nom::" in sym or "Tuple<Input" in sym:
        b = "lber (BER codec, nom)"
    elif "rasn" in sym:
        b = "rasn (BER codec)"
    elif "ldap3::" in sym or "ldap_rs::" in sym:
        b = "ldap client crate (ldap3 / ldap-rs)"
    elif "tokio::" in sym or "mio::" in sym or "futures" in sym:
        b = "tokio / mio / futures"
    elif dso.startswith("libc") or "alloc" in sym or "malloc" in sym or "free" in sym or "memcpy" in sym:
        b = "allocator / libc (malloc, free, memcpy)"
    else:
        b = "other user space"
    buckets[b] = buckets.get(b, 0) + pct
ops, hz = int(sys.argv[2]), float(sys.argv[3])
total = sum(buckets.values())
print(f"| part | share | µs per op |  ({total} samples, {total / hz / ops * 1e6:.1f} µs CPU per op)")
for b, n in sorted(buckets.items(), key=lambda x: -x[1]):
    print(f"| {b} | {100 * n / total:.1f} % | {n / hz / ops * 1e6:.1f} |")
