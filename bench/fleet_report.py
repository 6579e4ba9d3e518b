#!/usr/bin/env python3
"""bench/fleet's report: reads its WORK dir, prints markdown.

Inputs (all written by bench/fleet): events (phase marks, Unix time), monitor.log (slapd's
back-monitor counters each second), slapd/stats.log (slapd -d stats: ACCEPT lines with a hex
Unix timestamp), hosts/h*/lookups.log (fleetload: every lookup, its status and latency),
hosts/h*/daemon.log (ldaprsd's stderr, each line prefixed with the Unix time).
"""
import glob
import os
import re
import statistics
import sys
from collections import Counter, defaultdict

W = sys.argv[1]


def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def read_events():
    ev, mem = {}, {}
    for line in open(os.path.join(W, "events")):
        f = line.split()
        if f[0].startswith("mem"):
            mem[f[0]] = [int(x) for x in f[1:]]
        else:
            ev[f[0]] = float(f[1])
    return ev, mem


def read_monitor():
    out = []
    for line in open(os.path.join(W, "monitor.log")):
        f = line.split()
        if len(f) == 4:
            out.append((float(f[0]), int(f[1]), int(f[2]), int(f[3])))
    return out


ACCEPT = re.compile(r"^([0-9a-f]{8})\.([0-9a-f]{8}) \S+ conn=(\d+) fd=\d+ ACCEPT from IP=[^ ]+ \(IP=([0-9.]+):")
SRCH = re.compile(r'^([0-9a-f]{8})\.([0-9a-f]{8}) \S+ conn=(\d+) op=\d+ SRCH base=.* filter="(.*)"$')
VALUE = re.compile(r"\(([A-Za-z]+)=([^()]*)\)")


def kind(f):
    """A filter with its values (other than objectClass's) written as …."""
    return VALUE.sub(lambda m: m.group(0) if m.group(1) == "objectClass" else f"({m.group(1)}=…)", f)


def read_stats():
    """Fleet connections' ACCEPT times and SRCH times (the sampler uses 127.0.0.2: left out).
    Connection numbers start again at each slapd start: the map is per run."""
    accepts, searches, fleet = [], [], set()
    for line in open(os.path.join(W, "slapd", "stats.log"), errors="replace"):
        if " slapd starting" in line:
            fleet = set()
            continue
        m = ACCEPT.match(line)
        if m:
            t = int(m.group(1), 16) + int(m.group(2), 16) / 1e9
            if m.group(4) == "127.0.0.1":
                fleet.add(m.group(3))
                accepts.append(t)
            continue
        m = SRCH.match(line)
        if m and m.group(3) in fleet:
            searches.append((int(m.group(1), 16) + int(m.group(2), 16) / 1e9, kind(m.group(4))))
    return accepts, searches


def read_lookups():
    out = []  # (t, host, op, key, status, us)
    for path in sorted(glob.glob(os.path.join(W, "hosts", "h*", "lookups.log"))):
        host = os.path.basename(os.path.dirname(path))
        for line in open(path):
            f = line.split()
            if len(f) == 5:
                out.append((int(f[0]) / 1000.0, host, f[1], f[2], f[3], float(f[4])))
    out.sort()
    return out


def read_daemon_logs():
    out = defaultdict(list)  # host -> [(t, line)]
    for path in sorted(glob.glob(os.path.join(W, "hosts", "h*", "daemon.log"))):
        host = os.path.basename(os.path.dirname(path))
        for line in open(path, errors="replace"):
            t, _, msg = line.partition(" ")
            try:
                out[host].append((float(t), msg.strip()))
            except ValueError:
                pass
    return out


def steady(ev, mon, lookups, searches):
    a, b = ev["steady-start"], ev["steady-end"]
    s = [x for x in mon if a <= x[0] <= b]
    rates, binds, conns = [], [], []
    for p, q in zip(s, s[1:]):
        dt = q[0] - p[0]
        rates.append((q[1] - p[1] - 1) / dt)  # minus the sampler's own search
        binds.append((q[2] - p[2] - 1) / dt)  # minus the sampler's own bind
        conns.append(q[3] - 1)  # minus the sampler's own connection
    lk = [x for x in lookups if a <= x[0] <= b]
    st = Counter(x[4] for x in lk)
    lat = [x[5] for x in lk]
    in_window = [k for t, k in searches if a <= t <= b]
    log_s = len(in_window) / (b - a)
    print(f"## Steady state ({b - a:.0f} s window, after {a - ev['hosts-ready']:.0f} s of warm-up)\n")
    print("| figure | value |\n|---|---|")
    if rates:
        print(f"| slapd searches/s (back-monitor, per second) | mean {statistics.mean(rates):.1f}, "
              f"median {statistics.median(rates):.1f}, min {min(rates):.1f}, max {max(rates):.1f} |")
        print(f"| slapd searches/s (stats log, fleet connections only) | {log_s:.1f} |")
        print(f"| slapd binds/s | mean {statistics.mean(binds):.2f}, max {max(binds):.0f} |")
        print(f"| connections open (fleet) | median {statistics.median(conns):.0f}, "
              f"min {min(conns)}, max {max(conns)} |")
    print(f"| lookups by the fleet | {len(lk)} ({len(lk) / (b - a):.0f}/s): "
          + ", ".join(f"{k} {v}" for k, v in sorted(st.items())) + " |")
    if lat:
        print(f"| lookup latency | p50 {pct(lat, 50):.0f} µs, p99 {pct(lat, 99):.0f} µs, "
              f"max {max(lat) / 1000:.1f} ms |")
    r0, r1 = ev["hosts-ready"], min([ev[k] for k in ev if k.startswith("stop-")] + [b])
    trend = Counter(int((t - r0) // 20) for t, _ in searches if r0 <= t < r1)
    print("\nThe fleet's searches/s in 20 s slices since every host was ready (stats log): "
          + ", ".join(f"{trend.get(i, 0) / 20:.1f}" for i in range(int((r1 - r0) // 20))) + ".")
    print("\nThe fleet's searches in the window, by filter (slapd stats log):\n")
    print("| filter | searches | per second |\n|---|---|---|")
    for k, v in Counter(in_window).most_common(8):
        print(f"| `{k}` | {v} | {v / (b - a):.1f} |")
    print()


def memory(mem):
    print("## Daemon memory\n")
    print("| when | daemons | RSS sum | PSS sum | RSS per daemon | peak RSS sum |\n|---|---|---|---|---|---|")
    for k, label in (("mem", "end of the steady window"), ("mem-end", "after the outages")):
        if k in mem:
            rss, pss, hwm, n = mem[k]
            print(f"| {label} | {n} | {rss / 1024:.0f} MiB | {pss / 1024:.0f} MiB | "
                  f"{rss / max(n, 1) / 1024:.1f} MiB | {hwm / 1024:.0f} MiB |")
    print()


def histogram(times, origin, width):
    c = Counter(int((t - origin) // width) for t in times)
    return c


def outage(d, ev, lookups, accepts, dlogs):
    stop, down, up, end = (ev[f"{k}-{d}"] for k in ("stop", "down", "up", "end"))
    print(f"## Outage of {d} s (slapd stopped by PID, started again {up - stop:.1f} s later)\n")
    during = [x for x in lookups if stop <= x[0] < up]
    st = Counter(x[4] for x in during)
    hosts_failed = {x[1] for x in during if x[4] != "ok"}
    print(f"During the outage ({len(during)} lookups): "
          + ", ".join(f"{k} {v}" for k, v in sorted(st.items()))
          + f"; {len(hosts_failed)} hosts had at least one lookup not answered.\n")
    marked = {h for h, ls in dlogs.items() if any(stop <= t < up and "marked down" in m for t, m in ls)}
    offline = {h for h, ls in dlogs.items() if any(stop <= t < up + 1 and "offline:" in m for t, m in ls)}
    back = {}
    for h, ls in dlogs.items():
        for t, m in ls:
            if up <= t < end and ("is back after" in m or "online:" in m):
                back[h] = t
                break
    print(f"Daemons that marked the server down during the outage: {len(marked)}; went offline: {len(offline)}; "
          f"logged 'is back'/'online' after slapd was up: {len(back)}.\n")
    acc = [t for t in accepts if up <= t < end]
    if acc:
        first = sorted(acc)
        h1 = histogram(acc, up, 1.0)
        h01 = histogram(acc, up, 0.1)
        print(f"Fleet connections accepted by slapd after it was up: {len(acc)}; first {first[0] - up:.2f} s after, "
              f"last {first[-1] - up:.2f} s; "
              f"max in one 100 ms bucket: {max(h01.values())}, in one 1 s bucket: {max(h1.values())}.\n")
    if back:
        rel = sorted(t - up for t in back.values())
        print(f"Daemon reconnects ('is back' / 'online' lines), seconds after slapd was up: first {rel[0]:.2f}, "
              f"median {statistics.median(rel):.2f}, last {rel[-1]:.2f} (spread {rel[-1] - rel[0]:.2f} s); "
              f"max in one 100 ms bucket {max(histogram(rel, 0, 0.1).values())}, "
              f"in one 1 s bucket {max(histogram(rel, 0, 1.0).values())}.\n")
    if acc:
        h1 = histogram(acc, up, 1.0)
        hb = histogram(list(back.values()), up, 1.0) if back else Counter()
        print("| second after slapd up | fleet connections accepted | daemons back |\n|---|---|---|")
        for s in range(0, int(max(list(h1) + list(hb) + [0])) + 1):
            if h1.get(s) or hb.get(s):
                print(f"| {s} | {h1.get(s, 0)} | {hb.get(s, 0)} |")
        print()
    after = [x for x in lookups if up <= x[0] < end and x[4] != "ok"]
    before_back = [x for x in after if x[1] in back and x[0] < back[x[1]] or x[1] not in back]
    after_back = [x for x in after if x[1] in back and x[0] >= back[x[1]]]
    print(f"Failed lookups after slapd was up: {len(after)} on {len({x[1] for x in after})} hosts "
          f"({len(before_back)} before that host's daemon reconnected, {len(after_back)} after)"
          + "".join(f", {k} {v}" for k, v in sorted(Counter(x[4] for x in after).items())) + ".\n")
    for x in after[:15]:
        print(f"- {x[1]} +{x[0] - up:.2f} s {x[2]} {x[3]}: {x[4]}"
              + (f" (daemon back at +{back[x[1]] - up:.2f} s)" if x[1] in back else ""))
    if after:
        print()


def failures(ev, lookups):
    bad = [x for x in lookups if x[4] != "ok"]
    print(f"## Every failed lookup\n\n{len(bad)} of {len(lookups)} lookups were not answered "
          f"(list in {W}/failures.txt: unix time, host, op, key, status).\n")
    with open(os.path.join(W, "failures.txt"), "w") as f:
        for x in bad:
            f.write(f"{x[0]:.3f} {x[1]} {x[2]} {x[3]} {x[4]}\n")
    steady_bad = [x for x in bad if x[0] < ev.get("stop-" + outages(ev)[0], 1e20)] if outages(ev) else bad
    print(f"Before the first outage: {len(steady_bad)}.\n")


def outages(ev):
    return [k[5:] for k in sorted(ev, key=ev.get) if k.startswith("stop-")]


def main():
    ev, mem = read_events()
    print("# bench/fleet\n")
    for line in open(os.path.join(W, "meta")):
        print(f"- {line.strip()}")
    print()
    mon = read_monitor()
    accepts, searches = read_stats()
    lookups = read_lookups()
    dlogs = read_daemon_logs()
    steady(ev, mon, lookups, searches)
    memory(mem)
    for d in outages(ev):
        outage(d, ev, lookups, accepts, dlogs)
    failures(ev, lookups)


main()
