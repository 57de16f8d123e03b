# W2 "push-env": upload the 20 KiB env.yml (mode 0600), then three commands.
import os

from pyinfra.operations import files, server

_env = os.path.join(os.environ.get("BENCH_HOME", "/var/tmp/ecsfleet-bench"), "lab", "env.yml")
files.put(name="upload env.yml", src=_env, dest="/app/env.yml", mode="600")
server.shell(name="activate env", commands=["cp /app/env.yml /app/active-env.yml"])
server.shell(name="restrict active env", commands=["chmod 0600 /app/active-env.yml"])
server.shell(name="start appliance-update", commands=["systemctl start appliance-update"])
