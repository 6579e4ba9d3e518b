#!/usr/bin/env python3
"""il_table.py FILE...: the interleave runs (op "ldap3_il-<client>") as one table: the median
over runs of each client's p50/p90/p99/mean, and its p50 minus libldap's p50 of the same run."""
import json
import statistics
import sys

runs = []
for p in sys.argv[1:]:
    runs.append({json.loads(l)["op"].removeprefix("ldap3_il-"): json.loads(l) for l in open(p) if l.strip()})
print(f"| client | p50 µs | p90 µs | p99 µs | mean µs | p50 − libldap µs (per run) | errors |")
print("|---|---|---|---|---|---|---|")
for c in runs[0]:
    m = lambda f: statistics.median(r[c][f] for r in runs)
    d = [r[c]["p50_us"] - r["libldap"]["p50_us"] for r in runs]
    errs = sum(r[c]["errors"] for r in runs)
    print(f"| {c} | {m('p50_us'):.1f} | {m('p90_us'):.1f} | {m('p99_us'):.1f} | {m('mean_us'):.1f} | "
          f"{statistics.median(d):+.1f} ({', '.join(f'{x:+.0f}' for x in d)}) | {errs} |")
