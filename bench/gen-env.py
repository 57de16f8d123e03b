#!/usr/bin/env python3
"""Write the deterministic 20 KiB (20480-byte) env.yml that workload W2 pushes.

usage: python3 gen-env.py OUT
"""
import hashlib
import os
import sys

SIZE = 20 * 1024
out = sys.argv[1]

lines = ["# synthetic appliance environment for the ecsfleet benchmarks (20480 bytes)", "appliance:"]
i = 0
body = "\n".join(lines) + "\n"
while True:
    h = hashlib.sha256(f"ecsfleet-env-{i}".encode()).hexdigest()
    line = f"  setting_{i:04d}: \"{h[:48]}\"\n"
    if len(body) + len(line) > SIZE - 1:
        break
    body += line
    i += 1
pad = SIZE - len(body) - 1
body += ("#" + "x" * (pad - 1) if pad > 0 else "") + "\n"
assert len(body.encode()) == SIZE, len(body)
with open(out, "w") as f:
    f.write(body)
print(f"wrote {out}: {SIZE} bytes, {i} settings")
