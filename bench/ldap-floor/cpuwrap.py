#!/usr/bin/env python3
"""cpuwrap.py CMD...: runs CMD, adds the child's CPU time per operation (user + system,
from getrusage(RUSAGE_CHILDREN)) to the JSON line it prints, as "cpu_us_per_op"."""
import json
import resource
import subprocess
import sys

out = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True).stdout
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
r = json.loads(out.strip().splitlines()[-1])
r["cpu_us_per_op"] = round((ru.ru_utime + ru.ru_stime) * 1e6 / max(r["n"], 1), 2)
print(json.dumps(r))
