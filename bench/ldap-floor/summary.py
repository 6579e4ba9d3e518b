#!/usr/bin/env python3
"""Median over rounds of each run's figures, and for the latency runs the paired difference
to libldap (same attributes) in the same round: summary.py latency.jsonl [throughput.jsonl]."""
import json
import statistics
import sys

COLS = ["p50_us", "p90_us", "p99_us", "mean_us", "ops_s", "cpu_us_per_op"]
REF = ("ldap_search", "libldap", 1, 1, True)


def key(r):
    label = r.get("label", "").split(" ", 1)
    rest = label[1] if len(label) > 1 else ""
    threads = r.get("threads", 1)
    return (r["op"], rest, r.get("inflight", threads), r.get("conns", threads), r.get("nodelay", True))


def load(path):
    groups, rounds = {}, {}
    for line in open(path):
        if line.strip():
            r = json.loads(line)
            k = key(r)
            groups.setdefault(k, []).append(r)
            rounds.setdefault(r["label"].split(" ", 1)[0], {})[k] = r
    return groups, rounds


def table(path):
    groups, rounds = load(path)
    paired = REF in groups
    print(f"\n{path}: median of {max(len(v) for v in groups.values())} rounds")
    extra = " | p50 − libldap (paired) | CPU − libldap |" if paired else " |"
    print("| op | variant | in flight | conns | " + " | ".join(COLS) + " | p50 min..max" + extra + " errors |")
    print("|---|---|---|---|" + "---|" * (len(COLS) + (4 if paired else 2)))
    for k, rs in groups.items():
        med = [statistics.median(r.get(c, 0) for r in rs) for c in COLS]
        p50 = [r["p50_us"] for r in rs]
        cells = " | ".join(f"{m:.1f}" for m in med) + f" | {min(p50):.0f}..{max(p50):.0f}"
        if paired:
            d50 = [x[k]["p50_us"] - x[REF]["p50_us"] for x in rounds.values() if k in x and REF in x]
            dcpu = [x[k].get("cpu_us_per_op", 0) - x[REF].get("cpu_us_per_op", 0)
                    for x in rounds.values() if k in x and REF in x]
            cells += f" | {statistics.median(d50):+.1f} | {statistics.median(dcpu):+.1f}"
        errs = sum(r["errors"] for r in rs)
        var = k[1] + ("" if k[4] else " (no TCP_NODELAY)")
        print(f"| {k[0]} | {var} | {k[2]} | {k[3]} | {cells} | {errs} |")


for p in sys.argv[1:]:
    table(p)
