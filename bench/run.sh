#!/usr/bin/env bash
# The whole benchmark in one command (as root, from anywhere):
#
#   bench/run.sh [--keep-lab] [bench.py options]
#
# 1. bench/setup.sh: Debian packages, the Ansible/pyinfra virtualenv, the
#    release build of ecsfleet (target/bench);
# 2. the lab: BENCH_W4_HOSTS (default 250) sshd hosts from 127.0.4.1 up;
# 3. bench/bench.py: every section (W1 and W2 at 50 and 10 hosts, W3 at 1 and
#    10, W4 at BENCH_W4_HOSTS), 1 warm-up + 5 timed rounds each, tools
#    interleaved; rewrites bench/RESULTS.md after every section;
# 4. stops the lab (unless --keep-lab).
# About 30-40 minutes on a quiet 2-core machine; longer when the machine is busy
# (each run first waits up to 20 s for an idle machine, 600 s in all).
# Options after --keep-lab go to bench.py (see bench/bench.py --help), e.g.
#   bench/run.sh --sections w1-50,w2-50 --runs 10
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
keep=0
if [[ ${1:-} == --keep-lab ]]; then keep=1; shift; fi
W4=${BENCH_W4_HOSTS:-250}

"$here/setup.sh"
"$here/testbed.sh" start "$W4"
if (( ! keep )); then trap '"$here/testbed.sh" stop' EXIT; fi
cd "$(dirname "$here")"
/usr/bin/python3 "$here/bench.py" --w4-hosts "$W4" "$@"
