#!/usr/bin/env python3
"""The benchmark driver: every tool on the same lab, rounds interleaved, medians.

    bench/bench.py [--runs R] [--warmup W] [--sections LIST] [--w4-hosts M]
                   [--quiet-max S] [--quiet-budget S] [--results FILE] [--list]

A *section* is one workload at one lab size (w1-50, w2-10, w3-1, w4, ...). Its
configurations (tool + command) run in rounds: every round runs each
configuration once, in an order rotated from round to round, so that a drift of
the machine's speed touches every tool alike (A/B interleaving). The first W
rounds are warm-up: not timed, but the warm-up run of each configuration is
the one whose process-tree memory is sampled (sampling costs CPU, so timed runs
are never sampled).

Before every run (not timed): the lab's workload state is reset, and the
machine must be idle (< 10 % of one core busy over 1 s), waiting at most
--quiet-max seconds per run and --quiet-budget seconds in all; how long it
waited and how busy the machine was are recorded.

Per run it records:
  wall       seconds from fork to the exit of the tool's process
  op CPU     operator-side CPU seconds (user + sys) of the tool's whole process
             tree, including processes that detach (ControlPersist masters):
             the driver is a child subreaper, so every descendant is reaped by
             it or by one of its descendants and lands in RUSAGE_CHILDREN
  host CPU   CPU seconds of the lab's sshds and everything they ran (listeners'
             own + reaped children's times)
  foreign    machine CPU seconds (/proc/stat) - op CPU - host CPU: what else
             ran on the machine during the run
  tree RSS   (warm-up run) peak of the summed RSS of every process of the
             tool's tree, sampled every 10 ms
  max RSS    (warm-up run) largest single process of the tree, same sampling
After every run the remote effect is checked (every host answered W1, has the
pushed file with mode 0600, ran every W3 step); a run that fails the check
counts as failed and is listed.

RESULTS.md gets the command line, date, machine, load, versions, one table per
section (medians, ratios ecsfleet / other) and the targets, met or missed.
"""

import argparse
import ctypes
import datetime
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BENCH_HOME = os.environ.get("BENCH_HOME", "/var/tmp/ecsfleet-bench")
LAB = os.path.join(BENCH_HOME, "lab")
VENV = os.path.join(BENCH_HOME, "venv")
ECSFLEET = os.environ.get("ECSFLEET", os.path.join(REPO, "target", "bench", "release", "ecsfleet"))
ENV_FILE = os.path.join(LAB, "env.yml")
HZ = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
X25519 = "-oKexAlgorithms=curve25519-sha256"

W1_CMDS = [
    "hostname",
    "cat /etc/os-release",
    "systemctl is-active appliance",
    "df -P /app",
    "test -e /app/env.yml && sha256sum /app/env.yml || true",
]
W2_UPLOAD = ("umask 077 && cat > /app/env.yml.tmp && chmod 0600 /app/env.yml.tmp"
             " && mv -f /app/env.yml.tmp /app/env.yml")
W2_CMDS = ["cp /app/env.yml /app/active-env.yml", "chmod 0600 /app/active-env.yml",
           "systemctl start appliance-update"]


def joined(cmds):
    """The same one-shell line raw/raw.sh builds (workloads.sh: joined)."""
    return "".join(f'{{ {c}; }} ; echo "## rc=$?"; ' for c in cmds)


# ---------------------------------------------------------------- configurations

class Config:
    def __init__(self, name, tool, argv, env=None, stdin=None, steps=None, ecsfleet=False,
                 masters=False, note=""):
        self.name = name          # unique within the section, e.g. "ecsfleet exec"
        self.tool = tool          # version key: ecsfleet | openssh | ansible | pyinfra
        self.argv = argv
        self.env = env or {}
        self.stdin = stdin        # path fed to stdin
        self.steps = steps        # W3: steps.log lines expected per host
        self.ecsfleet = ecsfleet
        self.masters = masters    # leaves ControlPersist masters (Ansible)
        self.note = note


def fleet_inventory(n):
    return os.path.join(LAB, f"fleet-{n}", "inventory", "hosts.yml")


def ecsfleet_exec(n, command, forks=None, kex=None, stdin=False):
    argv = [ECSFLEET, "-i", fleet_inventory(n), "--max-handshakes", str(MAX_HANDSHAKES)]
    if kex:
        argv += ["--kex", kex]
    argv += ["exec", "--all", "-f", str(forks or n)]
    if stdin:
        argv.append("--stdin")
    return argv + ["--", command]


def ecsfleet_run(n, playbook, forks=None, channel_per_command=False):
    argv = [ECSFLEET, "-i", fleet_inventory(n), "--max-handshakes", str(MAX_HANDSHAKES)]
    if channel_per_command:
        argv.append("--channel-per-command")
    return argv + ["run", playbook, "--all", "--yes", "-f", str(forks or n)]


def raw(workload, mode, n, kex=None, steps=None):
    argv = [os.path.join(HERE, "raw", "raw.sh"), workload, mode, str(n)]
    if steps is not None:
        argv.append(str(steps))
    return argv, ({"SSH_EXTRA": kex} if kex else {})


def ansible(workload, n, forks=None, extra=()):
    argv = [os.path.join(VENV, "bin", "ansible-playbook"), "-i", os.path.join(LAB, f"ansible-{n}.ini"),
            "-f", str(forks or n), os.path.join(HERE, "ansible", f"{workload}.yml"), *extra]
    return argv, {"ANSIBLE_CONFIG": os.path.join(HERE, "ansible", "ansible.cfg")}


def pyinfra(workload, n, parallel=None, steps=None):
    argv = [os.path.join(VENV, "bin", "pyinfra"), "-y", "--parallel", str(parallel or n),
            os.path.join(HERE, "pyinfra", "inventory.py"), os.path.join(HERE, "pyinfra", f"{workload}.py")]
    env = {"BENCH_N": str(n), "BENCH_HOME": BENCH_HOME}
    if steps is not None:
        env["BENCH_STEPS"] = str(steps)
    return argv, env


def cfg(name, tool, argv_env, **kw):
    argv, env = argv_env
    return Config(name, tool, argv, env=env, **kw)


def section_w12(workload, n):
    """W1 or W2 at n hosts: every tool."""
    cs = []
    if workload == "w1":
        cs.append(Config("ecsfleet exec", "ecsfleet", ecsfleet_exec(n, joined(W1_CMDS)), ecsfleet=True,
                         note="one shell per host, like raw ssh"))
        cs.append(Config("ecsfleet run", "ecsfleet", ecsfleet_run(n, "bench-w1"), ecsfleet=True,
                         note="playbook: 5 steps + lock, unlock; one session shell per host"))
    else:
        cs.append(Config("ecsfleet exec", "ecsfleet",
                         ecsfleet_exec(n, W2_UPLOAD + " && " + joined(W2_CMDS), stdin=True),
                         stdin=ENV_FILE, ecsfleet=True, note="one shell per host, file on stdin, like raw ssh"))
        cs.append(Config("ecsfleet run", "ecsfleet", ecsfleet_run(n, "bench-w2"), ecsfleet=True,
                         note="playbook: atomic upload (sha256, fsync) + 3 steps + lock, unlock; one session shell per host"))
    stdin = ENV_FILE if workload == "w2" else None
    cs.append(cfg("raw ssh x25519", "openssh", raw(workload, "1conn", n, kex=X25519),
                  note="one ssh per host, one shell, curve25519-sha256"))
    cs.append(cfg("raw ssh default kex", "openssh", raw(workload, "1conn", n),
                  note="one ssh per host, one shell, sntrup761x25519-sha512"))
    cs.append(cfg("raw ssh mux x25519", "openssh", raw(workload, "mux", n, kex=X25519),
                  note="ControlMaster, one session per command"))
    extra = ("-e", f"env_file={ENV_FILE}") if workload == "w2" else ()
    cs.append(cfg("ansible-core", "ansible", ansible(workload, n, extra=extra), masters=True,
                  note=f"forks {n}, pipelining, no facts"))
    cs.append(cfg("pyinfra", "pyinfra", pyinfra(workload, n), note=f"--parallel {n}"))
    if n >= 50:
        playbook = "bench-w1" if workload == "w1" else "bench-w2"
        cs.append(Config("ecsfleet run, channel per command", "ecsfleet",
                         ecsfleet_run(n, playbook, channel_per_command=True), ecsfleet=True,
                         note="--channel-per-command: a channel (sshd fork + login shell) per command"))
    if workload == "w1" and n >= 50:
        cs.append(Config("ecsfleet exec mlkem-first", "ecsfleet",
                         ecsfleet_exec(n, joined(W1_CMDS), kex="mlkem768x25519-sha256,curve25519-sha256"),
                         ecsfleet=True, note="--kex mlkem768x25519-sha256,curve25519-sha256"))
    return cs


def section_w3(n):
    """W3: 100 steps vs 1 step per tool; per-step cost = (T100 - T1) / 99."""
    x = "echo x >> /app/steps.log"
    return [
        Config("ecsfleet run 100", "ecsfleet", ecsfleet_run(n, "bench-w3"), steps=100, ecsfleet=True),
        Config("ecsfleet run 1", "ecsfleet", ecsfleet_run(n, "bench-w3-1"), steps=1, ecsfleet=True),
        Config("ecsfleet bare exec 100", "ecsfleet", ecsfleet_exec(n, x), env={"ECSFLEET_BENCH_REPEAT": "100"},
               steps=100, ecsfleet=True, note="ECSFLEET_BENCH_REPEAT=100: 100 channels on one open connection"),
        Config("ecsfleet bare exec 1", "ecsfleet", ecsfleet_exec(n, x), env={"ECSFLEET_BENCH_REPEAT": "1"},
               steps=1, ecsfleet=True),
        Config("ecsfleet bare shell 100", "ecsfleet", ecsfleet_exec(n, x),
               env={"ECSFLEET_BENCH_REPEAT": "100", "ECSFLEET_BENCH_SHELL": "1"}, steps=100, ecsfleet=True,
               note="ECSFLEET_BENCH_SHELL=1: 100 commands in the session shell playbook runs use"),
        Config("ecsfleet bare shell 1", "ecsfleet", ecsfleet_exec(n, x),
               env={"ECSFLEET_BENCH_REPEAT": "1", "ECSFLEET_BENCH_SHELL": "1"}, steps=1, ecsfleet=True),
        cfg("raw ssh mux 100", "openssh", raw("w3", "mux", n, kex=X25519, steps=100), steps=100,
            note="ControlMaster, 100 `ssh -S` sessions one after another"),
        cfg("raw ssh mux 1", "openssh", raw("w3", "mux", n, kex=X25519, steps=1), steps=1),
        cfg("raw ssh 1conn 100", "openssh", raw("w3", "1conn", n, kex=X25519, steps=100), steps=100,
            note="all 100 in one remote shell (no per-step round trip)"),
        cfg("pyinfra 100", "pyinfra", pyinfra("w3", n, steps=100), steps=100),
        cfg("pyinfra 1", "pyinfra", pyinfra("w3", n, steps=1), steps=1),
    ]


def section_w4(m):
    """W4: W1 on m hosts, forks 200."""
    forks = min(200, m)
    return [
        Config("ecsfleet exec", "ecsfleet", ecsfleet_exec(m, joined(W1_CMDS), forks=forks), ecsfleet=True,
               note=f"-f {forks}"),
        Config("ecsfleet run", "ecsfleet", ecsfleet_run(m, "bench-w1", forks=forks), ecsfleet=True,
               note=f"-f {forks}"),
        cfg("raw ssh x25519", "openssh", raw("w1", "1conn", m, kex=X25519), note=f"{m} ssh at once"),
        cfg("pyinfra", "pyinfra", pyinfra("w1", m, parallel=forks), note=f"--parallel {forks}"),
    ]


def sections(w4_hosts):
    out = {}
    for n in (50, 10):
        for w in ("w1", "w2"):
            out[f"{w}-{n}"] = (w, n, section_w12(w, n))
    for n in (1, 10):
        out[f"w3-{n}"] = ("w3", n, section_w3(n))
    out["w4"] = ("w4", w4_hosts, section_w4(w4_hosts))
    return out


DEFAULT_ORDER = ["w1-50", "w2-50", "w3-1", "w3-10", "w4", "w1-10", "w2-10"]
MAX_HANDSHAKES = 8

# ---------------------------------------------------------------- measurement


def set_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def machine_cpu():
    with open("/proc/stat") as f:
        parts = f.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq = map(int, parts[1:8])
    return (user + nice + system + irq + softirq) / HZ


def listener_pids():
    pids = []
    for d in os.listdir(LAB):
        pf = os.path.join(LAB, d, "run", "sshd.pid")
        if d.startswith("h") and d[1:].isdigit() and os.path.exists(pf):
            try:
                pids.append(int(open(pf).read().strip()))
            except (OSError, ValueError):
                pass
    return pids


def proc_times(pid):
    """utime+stime+cutime+cstime of pid in seconds (0 if gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return 0.0
    fields = st[st.rindex(")") + 2:].split()
    return sum(int(x) for x in fields[11:15]) / HZ


def children_of(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    out += [int(x) for x in f.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


def hosts_cpu(listeners):
    return sum(proc_times(p) for p in listeners)


def wait_hosts_idle(listeners, cap=5.0):
    """Until no listener has a per-connection child left (so its CPU is reaped)."""
    deadline = time.monotonic() + cap
    while time.monotonic() < deadline:
        if not any(children_of(p) for p in listeners):
            return
        time.sleep(0.02)


def tree_rss():
    """(summed RSS, largest single RSS) in bytes of every descendant of this process."""
    me = os.getpid()
    total, largest, todo = 0, 0, children_of(me)
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                rss = int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        total += rss
        largest = max(largest, rss)
        todo += children_of(pid)
    return total, largest


class Sampler(threading.Thread):
    def __init__(self, every=0.01):
        super().__init__(daemon=True)
        self.every, self.peak, self.largest, self.stop = every, 0, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            total, largest = tree_rss()
            self.peak, self.largest = max(self.peak, total), max(self.largest, largest)
            time.sleep(self.every)


class Quiet:
    """Waits until the machine is idle; keeps what it saw."""

    def __init__(self, max_wait, budget, ticks_limit=0.10):
        self.max_wait, self.budget, self.limit = max_wait, budget, ticks_limit
        self.waited_total = 0.0

    def busy_share(self, window=1.0):
        a = machine_cpu()
        time.sleep(window)
        return (machine_cpu() - a) / window  # cores busy

    def wait(self):
        """Returns (seconds waited, busy cores in the last 1 s window, quiet reached)."""
        start = time.monotonic()
        cap = min(self.max_wait, max(0.0, self.budget - self.waited_total))
        while True:
            busy = self.busy_share()
            waited = time.monotonic() - start
            if busy < self.limit:
                self.waited_total += waited
                return waited, busy, True
            if waited >= cap:
                self.waited_total += waited
                return waited, busy, False


def reap_all(pid_main, deadline=10.0):
    """After the main process: end what it left (ControlPersist masters) and
    reap every descendant, so that their CPU time is in RUSAGE_CHILDREN."""
    end = time.monotonic() + deadline
    while True:
        kids = children_of(os.getpid())
        if not kids:
            break
        for k in kids:
            try:
                os.kill(k, signal.SIGTERM if time.monotonic() < end else signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            while True:
                pid, _ = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
        except ChildProcessError:
            break
        time.sleep(0.02)


def run_once(c, sample=False):
    """Runs one configuration once; returns a dict of measurements."""
    listeners = listener_pids()
    env = dict(os.environ)
    env.update(c.env)
    cp_dir = None
    if c.masters:
        cp_dir = tempfile.mkdtemp(prefix="cp.", dir=os.path.join(LAB, "out"))
        env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = cp_dir
    errf = tempfile.TemporaryFile()
    stdin = open(c.stdin, "rb") if c.stdin else subprocess.DEVNULL
    wait_hosts_idle(listeners)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    m0, h0 = machine_cpu(), hosts_cpu(listeners)
    sampler = Sampler() if sample else None
    t0 = time.perf_counter()
    p = subprocess.Popen(c.argv, stdin=stdin, stdout=subprocess.DEVNULL, stderr=errf, env=env,
                         cwd=os.path.join(HERE, "pyinfra") if c.tool == "pyinfra" else REPO)
    if sampler:
        sampler.start()
    _, status, _ = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    reap_all(p.pid)
    if sampler:
        sampler.stop.set()
        sampler.join()
    wait_hosts_idle(listeners)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    m1, h1 = machine_cpu(), hosts_cpu(listeners)
    if c.stdin:
        stdin.close()
    if cp_dir:
        shutil.rmtree(cp_dir, ignore_errors=True)
    errf.seek(0)
    err = errf.read().decode(errors="replace")
    op = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {
        "wall": wall, "exit": p.returncode, "op_cpu": op, "host_cpu": h1 - h0,
        "foreign": max(0.0, (m1 - m0) - op - (h1 - h0)),
        "max_rss": sampler.largest if sampler else None,
        "tree_rss": sampler.peak if sampler else None, "stderr_tail": err[-2000:],
    }


# ---------------------------------------------------------------- lab state and checks


def lab_hosts(n):
    return [f"h{i}" for i in range(1, n + 1)]


def reset_lab():
    subprocess.run([os.path.join(HERE, "testbed.sh"), "reset"], check=True)


def env_sha():
    return hashlib.sha256(open(ENV_FILE, "rb").read()).hexdigest()


def check(workload, n, c):
    """The remote effect every host must show; returns a list of problems."""
    bad = []
    for h in lab_hosts(n):
        app = os.path.join(LAB, h, "app")
        calls = open(os.path.join(app, "calls.log")).read()
        if workload in ("w1", "w4"):
            if "systemctl is-active appliance" not in calls:
                bad.append(f"{h}: W1 did not run")
        elif workload == "w2":
            p = os.path.join(app, "env.yml")
            if not os.path.exists(p) or hashlib.sha256(open(p, "rb").read()).hexdigest() != env_sha():
                bad.append(f"{h}: env.yml missing or different")
            elif os.stat(p).st_mode & 0o777 != 0o600:
                bad.append(f"{h}: env.yml mode {oct(os.stat(p).st_mode & 0o777)}")
            if not os.path.exists(os.path.join(app, "active-env.yml")):
                bad.append(f"{h}: no active-env.yml")
            if "systemctl start appliance-update" not in calls:
                bad.append(f"{h}: appliance-update not started")
        elif workload == "w3":
            p = os.path.join(app, "steps.log")
            lines = len(open(p).read().splitlines()) if os.path.exists(p) else 0
            if lines != c.steps:
                bad.append(f"{h}: {lines} of {c.steps} steps ran")
    return bad


def install_fleet_playbooks(n):
    subprocess.run([os.path.join(HERE, "testbed.sh"), "fleets", str(n)], check=True)
    d = os.path.join(LAB, f"fleet-{n}", "playbooks")
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(os.path.join(HERE, "ecsfleet")):
        if f.endswith(".yml"):
            shutil.copy(os.path.join(HERE, "ecsfleet", f), d)
    shutil.copy(ENV_FILE, os.path.join(d, "env.yml"))


# ---------------------------------------------------------------- versions, machine


def out_of(argv, env=None):
    try:
        e = dict(os.environ)
        e.update(env or {})
        r = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=60)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"unavailable ({e})"


def versions():
    pip = os.path.join(VENV, "bin", "pip")
    freeze = out_of([pip, "freeze"]).splitlines()
    pins = {line.split("==")[0].lower(): line.split("==")[1] for line in freeze if "==" in line}
    lock = open(os.path.join(REPO, "Cargo.lock")).read()
    m = re.search(r'name = "russh"\nversion = "([^"]+)"', lock)
    commit = out_of(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = out_of(["git", "-C", REPO, "status", "--porcelain", "--", "cli", "inventory", "playbooks",
                    "env", "Cargo.toml", "Cargo.lock"])
    return {
        "ecsfleet": f"{out_of([ECSFLEET, '--version'])} (release build, commit {commit}"
                    f"{' + uncommitted changes' if dirty else ''}), russh {m.group(1) if m else '?'}",
        "openssh": f"{out_of(['ssh', '-V'])}; sshd: openssh-server "
                   f"{out_of(['dpkg-query', '-W', '-f=${Version}', 'openssh-server'])}",
        "ansible": f"ansible-core {pins.get('ansible-core', '?')} (Python "
                   f"{out_of([os.path.join(VENV, 'bin', 'python'), '-c', 'import platform; print(platform.python_version())'])})",
        "pyinfra": f"pyinfra {pins.get('pyinfra', '?')} (paramiko {pins.get('paramiko', '?')}, "
                   f"gevent {pins.get('gevent', '?')})",
    }


def machine():
    model = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = int(open("/proc/meminfo").readline().split()[1]) // 1024
    osr = dict(line.rstrip().split("=", 1) for line in open("/etc/os-release") if "=" in line)
    return (f"{os.cpu_count()} CPUs ({model}), {mem / 1024:.0f} GiB, "
            f"{osr.get('PRETTY_NAME', '?').strip(chr(34))}, kernel {platform.release()}")


# ---------------------------------------------------------------- key exchange probe


def sshd_negotiated(client_argv_for_port, port=2222):
    """Starts a one-connection sshd in debug mode on host 1's address and key
    (port `port`), runs the client, returns (kex the server logged, client's
    last output line)."""
    h1 = os.path.join(LAB, "h1")
    addr = open(os.path.join(LAB, "hosts.txt")).readline().strip()
    server = subprocess.Popen(
        ["/usr/sbin/sshd", "-d", "-f", os.path.join(h1, "etc", "sshd_config"), "-o", f"ListenAddress={addr}:{port}",
         "-o", "PidFile=none"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    client = subprocess.run(client_argv_for_port(addr, port), capture_output=True, text=True, timeout=60)
    try:
        _, err = server.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        _, err = server.communicate()
    m = re.search(r"kex: algorithm: (\S+)", err)
    if m and m.group(1).startswith("("):
        m = None
    last = (client.stdout + client.stderr).strip().splitlines()
    return (m.group(1) if m else "none (no agreement)"), (last[-1] if last else "")


def kex_probe():
    """What each client negotiates with the lab's sshd, seen from the server."""
    probe = os.path.join(LAB, "kex-probe")
    os.makedirs(os.path.join(probe, "inventory"), exist_ok=True)
    addr = open(os.path.join(LAB, "hosts.txt")).readline().strip()
    key = " ".join(open(os.path.join(LAB, "h1", "etc", "hostkey.pub")).read().split()[:2])
    with open(os.path.join(probe, "known_hosts"), "w") as f:
        f.write(f"[{addr}]:2222 {key}\n")
    with open(os.path.join(probe, "inventory", "hosts.yml"), "w") as f:
        f.write(f"defaults: {{user: root, port: 2222, identity: {LAB}/client_key}}\n"
                f"known_hosts: ../known_hosts\nhosts:\n  probe: {{address: {addr}}}\n")
    inv = os.path.join(probe, "inventory", "hosts.yml")
    ssh_cfg = os.path.join(LAB, "ssh_config")
    kh = os.path.join(probe, "known_hosts")
    rows = []
    for label, argv in (
        ("ecsfleet, default --kex", lambda a, p: [ECSFLEET, "-i", inv, "-q", "exec", "probe", "--", "true"]),
        ("ecsfleet --kex mlkem768x25519-sha256,curve25519-sha256",
         lambda a, p: [ECSFLEET, "-i", inv, "-q", "--kex", "mlkem768x25519-sha256,curve25519-sha256", "exec",
                       "probe", "--", "true"]),
        ("ecsfleet --kex mlkem768x25519-sha256 (hybrid only)",
         lambda a, p: [ECSFLEET, "-i", inv, "-q", "--kex", "mlkem768x25519-sha256", "exec", "probe", "--", "true"]),
        ("ssh, default KexAlgorithms",
         lambda a, p: ["ssh", "-F", ssh_cfg, "-o", f"UserKnownHostsFile={kh}", "-p", str(p), a, "true"]),
        ("ssh -oKexAlgorithms=curve25519-sha256",
         lambda a, p: ["ssh", "-F", ssh_cfg, "-o", f"UserKnownHostsFile={kh}", X25519, "-p", str(p), a, "true"]),
    ):
        try:
            kex, last = sshd_negotiated(argv)
        except (OSError, subprocess.SubprocessError) as e:
            kex, last = "probe failed", str(e)
        note = "" if kex != "none (no agreement)" else "client: " + last.replace("|", "/")[:200]
        rows.append(f"| {label} | {kex} | {note} |")
    return ("| client | key exchange sshd negotiated | note |\n|---|---|---|\n" + "\n".join(rows))


# ---------------------------------------------------------------- running sections


def run_section(key, workload, n, configs, rounds, warmup, quiet, log):
    install_fleet_playbooks(n)
    results = {c.name: {"runs": [], "warm": [], "failures": []} for c in configs}
    print(f"== {key}: {workload} on {n} host(s), {len(configs)} configurations, "
          f"{warmup} warm-up + {rounds} timed rounds", flush=True)
    for r in range(warmup + rounds):
        order = configs[r % len(configs):] + configs[:r % len(configs)]
        for c in order:
            reset_lab()
            waited, busy, ok = quiet.wait()
            m = run_once(c, sample=(r == 0))
            m.update(waited=waited, busy_before=busy, quiet=ok)
            problems = check(workload, n, c)
            if m["exit"] != 0:
                problems.insert(0, f"exit status {m['exit']}: {m['stderr_tail'][-600:].strip()}")
            m["problems"] = problems[:5]
            slot = results[c.name]
            (slot["warm"] if r < warmup else slot["runs"]).append(m)
            if problems:
                slot["failures"].append({"round": r, "problems": problems[:5]})
            tree = f" tree {m['tree_rss'] / 2**20:.0f} MiB" if m["tree_rss"] else ""
            line = (f"  {'warm' if r < warmup else 'run'} {r + 1 - (warmup if r >= warmup else 0)}"
                    f" {c.name:28s} {m['wall']:7.2f} s  op {m['op_cpu']:6.2f}  host {m['host_cpu']:6.2f}"
                    f"  foreign {m['foreign']:5.2f}{tree}  waited {waited:4.1f} s"
                    f"{'' if ok else ' (not quiet)'}{'  FAILED: ' + problems[0] if problems else ''}")
            print(line, flush=True)
            log.write(json.dumps({"section": key, "config": c.name, "round": r, **{
                k: v for k, v in m.items() if k != "stderr_tail"}}) + "\n")
            log.flush()
    return results


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(configs, results):
    rows = []
    for c in configs:
        s = results[c.name]
        ok = [m for m in s["runs"] if not m["problems"]]
        warm = s["warm"][0] if s["warm"] else {}
        rows.append({
            "name": c.name, "tool": c.tool, "note": c.note, "ecsfleet": c.ecsfleet,
            "wall": med([m["wall"] for m in ok]),
            "min": min((m["wall"] for m in ok), default=None),
            "max": max((m["wall"] for m in ok), default=None),
            "runs": len(ok), "failed": len(s["runs"]) - len(ok) + (1 if warm.get("problems") else 0),
            "total": len(s["runs"]) + len(s["warm"]),
            "op_cpu": med([m["op_cpu"] for m in ok]),
            "host_cpu": med([m["host_cpu"] for m in ok]),
            "foreign": med([m["foreign"] for m in ok]),
            "tree_rss": warm.get("tree_rss"), "max_rss": warm.get("max_rss"),
            "failures": s["failures"],
        })
    return rows


def fmt(x, d=2):
    return "" if x is None else f"{x:.{d}f}"


def mib(x):
    return "" if x is None else f"{x / 2**20:.0f}"


def ratio(a, b):
    return None if not a or not b else a / b


def table(rows):
    ecs = [r for r in rows if r["ecsfleet"] and r["wall"]]
    base = {r["name"]: r for r in ecs}
    heads = ["tool", "what", "median s", "min s", "max s", "op CPU s", "host CPU s",
             "tree RSS MiB", "max proc RSS MiB", "ok runs"]
    ratio_cols = [name for name in ("ecsfleet exec", "ecsfleet run") if name in base]
    heads += [f"{name} / this (wall)" for name in ratio_cols]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for r in rows:
        cells = [r["name"], r["note"], fmt(r["wall"]), fmt(r["min"]), fmt(r["max"]), fmt(r["op_cpu"]),
                 fmt(r["host_cpu"]), mib(r["tree_rss"]), mib(r["max_rss"]), str(r["runs"])]
        for name in ratio_cols:
            x = ratio(base[name]["wall"], r["wall"])
            cells.append("" if x is None or r["name"] == name else f"{x:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def w3_table(rows):
    by = {r["name"]: r for r in rows}
    lines = ["| tool | T(100) s | T(1) s | per step ms = (T100 - T1) / 99 | op CPU per step ms |",
             "|---|---|---|---|---|"]
    per = {}
    for label, a, b in (("ecsfleet run (playbook steps)", "ecsfleet run 100", "ecsfleet run 1"),
                        ("ecsfleet bare exec (open connection)", "ecsfleet bare exec 100", "ecsfleet bare exec 1"),
                        ("ecsfleet bare command (open session shell)", "ecsfleet bare shell 100",
                         "ecsfleet bare shell 1"),
                        ("raw ssh ControlMaster sessions", "raw ssh mux 100", "raw ssh mux 1"),
                        ("pyinfra operations", "pyinfra 100", "pyinfra 1")):
        if a in by and b in by and by[a]["wall"] and by[b]["wall"]:
            step = (by[a]["wall"] - by[b]["wall"]) / 99
            cpu = (by[a]["op_cpu"] - by[b]["op_cpu"]) / 99
            per[label] = step
            lines.append(f"| {label} | {fmt(by[a]['wall'])} | {fmt(by[b]['wall'])} | {step * 1000:.2f} | {cpu * 1000:.2f} |")
    return "\n".join(lines), per


def verdict(ok):
    return "met" if ok else "MISSED"


def targets(sec):
    """Checks the issue's targets on what was measured."""
    out = ["| target | measured | verdict |", "|---|---|---|"]
    for key in ("w1-50", "w2-50"):
        if key not in sec:
            continue
        by = {r["name"]: r for r in sec[key]["rows"]}
        raw_x, ans, pyi = by.get("raw ssh x25519"), by.get("ansible-core"), by.get("pyinfra")
        for ename in ("ecsfleet exec", "ecsfleet run"):
            e = by.get(ename)
            if not e or not e["wall"]:
                continue
            w = key.split("-")[0].upper()
            if raw_x and raw_x["wall"]:
                x = e["wall"] / raw_x["wall"]
                out.append(f"| {w} N=50 {ename}: wall <= 1.0x raw ssh (curve25519, one connection) | {x:.2f}x "
                           f"({e['wall']:.2f} s vs {raw_x['wall']:.2f} s) | {verdict(x <= 1.0)} |")
                y = ratio(e["op_cpu"], raw_x["op_cpu"])
                if y is not None:
                    out.append(f"| {w} N=50 {ename}: operator CPU <= 0.7x raw ssh clients' | {y:.2f}x "
                               f"({e['op_cpu']:.2f} s vs {raw_x['op_cpu']:.2f} s) | {verdict(y <= 0.7)} |")
            if ans and ans["wall"]:
                x = ans["wall"] / e["wall"]
                out.append(f"| {w} N=50 {ename}: >= 40x faster than ansible-core | {x:.1f}x | {verdict(x >= 40)} |")
            if pyi and pyi["wall"]:
                x = pyi["wall"] / e["wall"]
                out.append(f"| {w} N=50 {ename}: >= 2.5x faster than pyinfra | {x:.1f}x | {verdict(x >= 2.5)} |")
    for key in ("w3-1", "w3-10"):
        if key in sec and sec[key].get("per"):
            per = sec[key]["per"]
            a = per.get("ecsfleet run (playbook steps)")
            for label, what in (("ecsfleet bare exec (open connection)", "a bare exec (new channel) on an open connection"),
                                ("ecsfleet bare command (open session shell)", "a bare command in the open session shell")):
                b = per.get(label)
                if a and b:
                    out.append(f"| W3 N={key.split('-')[1]}: per-step overhead <= 1.5x {what} "
                               f"| {a / b:.2f}x ({a * 1000:.2f} ms vs {b * 1000:.2f} ms) | {verdict(a / b <= 1.5)} |")
    if "w4" in sec:
        n = sec["w4"]["n"]
        for r in sec["w4"]["rows"]:
            if r["ecsfleet"]:
                dropped = r["failed"]
                out.append(f"| W4 ({n} hosts) {r['name']}: no dropped host | {dropped} failed of {r['total']} runs "
                           f"| {verdict(dropped == 0)} |")
                if r["tree_rss"]:
                    out.append(f"| W4 ({n} hosts) {r['name']}: operator peak memory < 150 MiB | "
                               f"{r['tree_rss'] / 2**20:.0f} MiB | {verdict(r['tree_rss'] < 150 * 2**20)} |")
    return "\n".join(out)


def write_results(path, argv, started, ended, sec, quiet, vers, mach, load_start, runs, warmup, kex):
    out = []
    out.append("# Benchmark results\n")
    out.append(f"Produced by `{' '.join(argv)}` (from the repository root; `bench/run.sh` runs it), "
               f"{started:%Y-%m-%d %H:%M}–{ended:%H:%M} UTC. Rewritten by every run; see "
               f"[README.md](README.md) for the method and how to read it.\n")
    out.append(f"- Machine: {mach}. Lab hosts and operator share these cores.")
    out.append(f"- Load: load average {load_start} at the start. Before each run the driver waited for "
               f"< 10 % of one core busy over 1 s (at most {quiet.max_wait:.0f} s per run, "
               f"{quiet.budget:.0f} s in all); it waited {quiet.waited_total:.0f} s in all. "
               "Per section below: runs that started on a quiet machine, and the median CPU used by other "
               "processes during a run (foreign CPU, in cores: machine busy time minus operator and lab).")
    out.append(f"- Runs: {warmup} warm-up round(s) + {runs} timed rounds per section, tools interleaved "
               "(the order rotates every round); medians of the timed runs that passed the check.")
    out.append("- Versions: " + "; ".join(f"{k}: {v}" for k, v in vers.items()) + ".\n")
    out.append("## Targets\n")
    out.append(targets(sec) + "\n")
    out.append("## Key exchange\n")
    out.append("What each client negotiates with the lab's sshd (OpenSSH 9.2), as the server logs it "
               "(a one-connection `sshd -d` on host 1's address and key):\n")
    out.append(kex + "\n")
    out.append("ecsfleet offers curve25519-sha256 first (its default `--kex` list), so that is what it "
               "negotiates with any OpenSSH since 6.5. The post-quantum hybrids: russh 0.65.1 implements "
               "mlkem768x25519-sha256 but not sntrup761x25519-sha512; OpenSSH 9.2 implements sntrup761x25519 "
               "but not mlkem768x25519 (added in OpenSSH 9.9). So against these hosts no hybrid is common to "
               "both ends: `--kex mlkem768x25519-sha256,curve25519-sha256` falls back to curve25519 (its W1 row "
               "below measures that), and the hybrid alone is refused at once, without retries. The raw ssh "
               "rows show what the hybrid costs where both ends have one (sntrup761x25519, OpenSSH's default).\n")
    for key, s in sec.items():
        title = {"w1": "W1 status", "w2": "W2 push-env", "w3": "W3 steps", "w4": "W4 scale (W1)"}[s["workload"]]
        out.append(f"## {title}, {s['n']} host{'s' if s['n'] != 1 else ''} ({key})\n")
        qs = [m for rr in s["results"].values() for m in rr["runs"]]
        quiet_runs = sum(1 for m in qs if m["quiet"])
        shares = [m["foreign"] / m["wall"] for m in qs if m["wall"]]
        out.append(f"Load: {quiet_runs} of {len(qs)} timed runs started on a quiet machine; foreign CPU "
                   f"during runs: median {med(shares) or 0:.2f} cores, max {max(shares, default=0):.2f}.\n")
        out.append(table(s["rows"]) + "\n")
        if s["workload"] == "w3":
            out.append(s["w3_table"] + "\n")
        fails = [(r["name"], f) for r in s["rows"] for f in r["failures"]]
        if fails:
            out.append("Failed runs:\n")
            for name, f in fails[:10]:
                out.append(f"- {name}, round {f['round'] + 1}: " + "; ".join(f["problems"])[:300])
            out.append("")
    out.append("Columns: median/min/max wall seconds of the timed runs; op CPU = operator-side CPU seconds "
               "(user+sys of the tool's whole process tree); host CPU = the lab sshds and what they ran; "
               "tree RSS = peak of the summed RSS of the tool's process tree (warm-up run, sampled every "
               "10 ms); max proc RSS = largest single process of it (same sampling); `X / this` = wall time of ecsfleet X divided "
               "by this row's (below 1: ecsfleet is faster).")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    global MAX_HANDSHAKES
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--sections", default=",".join(DEFAULT_ORDER))
    ap.add_argument("--only", default="", help="comma-separated configuration names to keep")
    ap.add_argument("--w4-hosts", type=int, default=int(os.environ.get("BENCH_W4_HOSTS", "250")))
    ap.add_argument("--quiet-max", type=float, default=20)
    ap.add_argument("--quiet-budget", type=float, default=600)
    ap.add_argument("--max-handshakes", type=int, default=8)
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    MAX_HANDSHAKES = a.max_handshakes
    secs = sections(a.w4_hosts)
    wanted = [s for s in a.sections.split(",") if s]
    if a.list:
        for k in wanted:
            w, n, cs = secs[k]
            for c in cs:
                print(f"{k:6s} {c.name:28s} {' '.join(c.argv)}")
        return 0
    for k in wanted:
        if k not in secs:
            sys.exit(f"unknown section {k}; known: {', '.join(secs)}")
    if a.warmup < 1:
        sys.exit("--warmup must be at least 1 (the warm-up run is the memory run)")
    set_subreaper()
    os.makedirs(os.path.join(LAB, "out"), exist_ok=True)
    if not os.path.exists(ENV_FILE):
        subprocess.run([sys.executable, os.path.join(HERE, "gen-env.py"), ENV_FILE], check=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = open("/proc/loadavg").read().split()[:3]
    quiet = Quiet(a.quiet_max, a.quiet_budget)
    vers = versions()
    mach = machine()
    log_path = os.path.join(LAB, "out", f"runs-{started:%Y%m%d-%H%M%S}.jsonl")
    kex = kex_probe()
    print(kex, flush=True)
    only = {x.strip() for x in a.only.split(",") if x.strip()}
    sec = {}
    with open(log_path, "w") as log:
        for k in wanted:
            w, n, cs = secs[k]
            if only:
                cs = [c for c in cs if c.name in only]
            res = run_section(k, w, n, cs, a.runs, a.warmup, quiet, log)
            rows = summarize(cs, res)
            sec[k] = {"workload": w, "n": n, "rows": rows, "results": res}
            if w == "w3":
                sec[k]["w3_table"], sec[k]["per"] = w3_table(rows)
            write_results(a.results, ["bench/bench.py"] + sys.argv[1:], started,
                          datetime.datetime.now(datetime.timezone.utc), sec, quiet, vers, mach,
                          " ".join(load_start), a.runs, a.warmup, kex)
            print(table(rows), flush=True)
            if w == "w3":
                print(sec[k]["w3_table"], flush=True)
    print(f"\nper-run log: {log_path}\nresults: {a.results}")
    print(targets(sec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
