# W1 "status": five operations on every host (pyinfra keeps their output).
from pyinfra.operations import server

server.shell(name="hostname", commands=["hostname"])
server.shell(name="os-release", commands=["cat /etc/os-release"])
server.shell(name="appliance active", commands=["systemctl is-active appliance"])
server.shell(name="df /app", commands=["df -P /app"])
server.shell(name="env.yml checksum", commands=["test -e /app/env.yml && sha256sum /app/env.yml || true"])
