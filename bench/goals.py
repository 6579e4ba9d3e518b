#!/usr/bin/env python3
"""Issue 14's goals, read from the JSON lines of ../shared/bench runs (one column per run).

    bench/goals.py RESULTS.jsonl [RESULTS.jsonl ...]

Each row: ldaprs / nslcd (ratio), or ldaprs / floor (ratio), as the goal is stated; an
enumeration's figure is its slowest pass (the first, cold one)."""
import json
import sys


def load(path):
    rows = {}
    for line in open(path):
        d = json.loads(line)
        key = (d.get("label"), d.get("op"), d.get("phase"))
        rows[key] = d
    return rows


def p50(r, label, op, phase):
    d = r.get((label, op, phase))
    return None if d is None or "p50_us" not in d else d["p50_us"]


def slowest(r, label, op):
    d = r.get((label, op, "enum"))
    return None if d is None else d.get("max_us")


def mem(r, phase, field):
    d = r.get(("ldaprs", "daemon_mem", phase))
    return None if d is None else d[field] / 1024


def fmt(v, unit="µs"):
    if v is None:
        return "–"
    if unit == "µs" and v >= 1000:
        return f"{v / 1000:.2f} ms"
    if unit == "MiB":
        return f"{v:.1f} MiB"
    return f"{v:.0f} µs"


def main():
    runs = [(p.rsplit("/", 1)[-1].replace(".jsonl", ""), load(p)) for p in sys.argv[1:]]
    print("| goal | " + " | ".join(n for n, _ in runs) + " |")
    print("|---|" + "---|" * len(runs))

    def vs_nslcd(title, op, phase, goal):
        cells = []
        for _, r in runs:
            a, b = p50(r, "ldaprs", op, phase), p50(r, "nslcd", op, phase)
            cells.append("–" if a is None or b is None else f"{fmt(a)} / {fmt(b)} ({a / b:.2f} ×{'' if a / b <= goal else ' ✗'})")
        print(f"| {title} (ldaprs / nslcd, goal ≤ {goal}) | " + " | ".join(cells) + " |")

    def vs_floor(title, op, phase, fop, goal):
        cells = []
        for _, r in runs:
            a, f = p50(r, "ldaprs", op, phase), p50(r, "ldap-floor", fop, "seq")
            cells.append("–" if a is None or f is None else f"{fmt(a)} / {fmt(f)} ({a / f:.2f} ×{'' if a / f <= goal else ' ✗'})")
        print(f"| {title} (ldaprs / floor, goal ≤ {goal}) | " + " | ".join(cells) + " |")

    for op in ("getpwnam", "getpwuid", "getgrnam", "getgrgid"):
        vs_floor(f"{op} cold", op, "cold", "ldap_search", 2.5)
        vs_nslcd(f"{op} cold", op, "cold", 1.0)
    vs_nslcd("huge group cold", "getgrnam", "huge-cold", 0.7)
    vs_nslcd("heavy initgroups cold", "initgroups", "heavy-cold", 0.7)
    for op in ("getpwent", "getgrent"):
        cells = []
        for _, r in runs:
            a, b = slowest(r, "ldaprs", op), slowest(r, "nslcd", op)
            cells.append("–" if a is None or b is None else f"{fmt(a)} / {fmt(b)} ({a / b:.2f} ×{'' if a <= b else ' ✗'})")
        print(f"| {op} cold pass (ldaprs / nslcd, goal ≤ 1) | " + " | ".join(cells) + " |")
    vs_floor("PAM authenticate", "pam_auth", "seq", "ldap_search_bind", 1.5)
    cells = []
    for _, r in runs:
        cells.append(f"{fmt(mem(r, 'after-pam', 'hwm_kb'), 'MiB')} / {fmt(mem(r, 'after-enum', 'rss_kb'), 'MiB')}")
    print("| daemon peak / RSS after enumeration (goal at 100k ≤ 60 / ≤ 40 MiB) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
