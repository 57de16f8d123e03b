# pyinfra inventory: the first BENCH_N lab hosts (LAB/hosts.txt), named
# ecs1..ecsN, as root with the lab's client key; host keys checked against
# LAB/known_hosts.
import os

_lab = os.path.join(os.environ.get("BENCH_HOME", "/var/tmp/ecsfleet-bench"), "lab")
_n = int(os.environ["BENCH_N"])
with open(os.path.join(_lab, "hosts.txt")) as _f:
    _addrs = [_line.strip() for _line in _f if _line.strip()]
if len(_addrs) < _n:
    raise SystemExit(f"the lab has {len(_addrs)} hosts, need {_n}")

fleet = (
    [(f"ecs{_i + 1}", {"ssh_hostname": _a}) for _i, _a in enumerate(_addrs[:_n])],
    {
        "ssh_user": "root",
        "ssh_key": os.path.join(_lab, "client_key"),
        "ssh_strict_host_key_checking": "yes",
        "ssh_known_hosts_file": os.path.join(_lab, "known_hosts"),
    },
)
