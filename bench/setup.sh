#!/usr/bin/env bash
# Installs what the benchmark needs (Debian 12, as root), idempotent:
#   - Debian packages: OpenSSH client and server (the lab hosts and the raw-ssh
#     floor), python3-venv, hyperfine (for ad-hoc timing), util-linux (unshare),
#     procps, iproute2, linux-perf and strace (profiling);
#   - a virtualenv with ansible-core and pyinfra at the versions pinned in
#     bench/requirements.txt;
#   - the release build of ecsfleet in target/bench (its own target dir, so a
#     benchmark never waits for or invalidates the debug build).
#
#   bench/setup.sh            everything
#   bench/setup.sh --no-build packages and virtualenv only
#
# Environment: BENCH_HOME (default /var/tmp/ecsfleet-bench): the virtualenv is
# BENCH_HOME/venv.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
BENCH_HOME=${BENCH_HOME:-/var/tmp/ecsfleet-bench}
build=1
[[ ${1:-} == --no-build ]] && build=0

[[ $(id -u) -eq 0 ]] || { echo "setup.sh: needs root (apt-get, and the lab needs namespaces)" >&2; exit 2; }

want=(openssh-server openssh-client python3 python3-venv hyperfine util-linux procps iproute2 strace linux-perf)
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} )); then
    echo "setup.sh: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The system python (Debian's), not a pyenv shim: the versions in RESULTS.md
# must say which interpreter ran Ansible and pyinfra.
py=/usr/bin/python3
mkdir -p "$BENCH_HOME"
if [[ ! -x $BENCH_HOME/venv/bin/python ]]; then
    "$py" -m venv "$BENCH_HOME/venv"
fi
if ! cmp -s "$here/requirements.txt" "$BENCH_HOME/venv/.requirements" 2>/dev/null; then
    "$BENCH_HOME/venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$BENCH_HOME/venv/.requirements"
fi
echo "setup.sh: $("$BENCH_HOME/venv/bin/ansible-playbook" --version | head -1), pyinfra $("$BENCH_HOME/venv/bin/pyinfra" --version 2>&1 | awk '{print $NF}')"

if (( build )); then
    (cd "$repo" && cargo build --release --target-dir target/bench --bin ecsfleet)
    echo "setup.sh: $("$repo/target/bench/release/ecsfleet" --version)"
fi
