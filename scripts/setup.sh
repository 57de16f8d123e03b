#!/usr/bin/env bash
# Installs what ecsfleet's build, tests and lab need on a fresh Debian machine
# (run as root). Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: run as root (it installs Debian packages and the lab needs namespaces)" >&2
    exit 2
fi

need_apt=()
for pair in sshd:openssh-server ssh:openssh-client sudo:sudo gpg:gnupg unshare:util-linux \
            nsenter:util-linux locale-gen:locales python3:python3 tar:tar \
            pdftoppm:poppler-utils zbarimg:zbar-tools isoinfo:genisoimage vagrant:vagrant strace:strace \
            groff:groff-base script:bsdutils systemd-nspawn:systemd-container \
            debootstrap:debootstrap git:git named-checkzone:bind9-utils; do
    cmd=${pair%%:*} pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
    # A freshly installed openssh-server may start the system sshd on *:22;
    # the tests and the lab need 127.0.x.y:22 for their own servers.
    if printf '%s\n' "${need_apt[@]}" | grep -qx openssh-server; then
        service ssh stop >/dev/null 2>&1 || true
    fi
fi
if command -v ss >/dev/null 2>&1 && ss -ltnH 2>/dev/null | awk '{print $4}' | grep -Eq '^(0\.0\.0\.0|\*|\[::\]):22$'; then
    echo "setup.sh: an sshd listens on *:22; the tests and the lab need 127.0.x.y:22 (stop it: service ssh stop)" >&2
fi

if [ -x scripts/lab-deps.sh ]; then
    scripts/lab-deps.sh
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup.sh: cargo is missing; install Rust (rustup) first" >&2
    exit 2
fi
