# W3 "steps": BENCH_STEPS (default 100) small commands, one operation each.
import os

from pyinfra.operations import server

for _k in range(1, int(os.environ.get("BENCH_STEPS", "100")) + 1):
    server.shell(name=f"step {_k}", commands=[f"echo {_k} >> /app/steps.log"])
