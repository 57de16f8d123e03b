#!/bin/bash
# dev-host.sh: a throwaway twin host for working on stand-ins by hand (not
# used by the lab itself). An overlay of BASE (default
# /var/lib/ecsfleet-lab/try-base) at /tmp/devhost-NAME/root, lab/twin/root
# copied in, booted with real systemd by systemd-nspawn.
#   dev-host.sh up NAME ADDRESS     boot it; sshd on ADDRESS:22 (127.0.0.x)
#   dev-host.sh run NAME CMD...     run CMD inside (all namespaces), as root
#   dev-host.sh sync NAME           copy lab/twin/root into the running host again
#   dev-host.sh down NAME           power off, unmount, remove
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=${BASE:-/var/lib/ecsfleet-lab/try-base}
cmd=$1 name=$2
h=/tmp/devhost-$name
leader() { pgrep -P "$(cat "$h/pid")" systemd | head -n 1; }
case $cmd in
up)
    address=$3
    mkdir -p "$h"/{upper,work,root}
    mountpoint -q "$h/root" || mount -t overlay overlay -o "lowerdir=$base,upperdir=$h/upper,workdir=$h/work" "$h/root"
    cp -a "$here/root/." "$h/root/"
    mkdir -p "$h/root/etc/ssh/sshd_config.d" "$h/root/var/lib/ecs-lab"
    echo "ListenAddress $address:22" >"$h/root/etc/ssh/sshd_config.d/twin.conf"
    [ -e "$h/root/etc/ssh/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$h/root/etc/ssh/ssh_host_ed25519_key"
    echo "$name" >"$h/root/etc/hostname"
    echo "$name" >"$h/root/var/lib/ecs-lab/host"
    printf '127.0.0.1 localhost\n%s %s\n' "$address" "$name" >"$h/root/etc/hosts"
    # A cgroup of its own (see supervisor.sh): hosts must not share nspawn's "payload".
    for hy in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
        [ -w "$hy/cgroup.procs" ] && mkdir -p "$hy/ecsfleet-dev/$name" && echo $$ >"$hy/ecsfleet-dev/$name/cgroup.procs"
    done
    setsid systemd-nspawn -q -D "$h/root" --boot --register=no --keep-unit --machine="$name" \
        --console=passive >"$h/nspawn.log" 2>&1 </dev/null &
    echo $! >"$h/pid"
    for _ in $(seq 50); do
        l=$(leader || true)
        if [ -n "$l" ] && nsenter -t "$l" -a systemctl is-system-running --wait >/dev/null 2>&1; then break; fi
        sleep 0.2
    done
    echo "up: $name (leader $(leader))"
    ;;
run) shift 2; nsenter -t "$(leader)" -a "$@" ;;
sync) cp -a "$here/root/." "$h/root/" ;;
down)
    if [ -e "$h/pid" ] && kill -0 "$(cat "$h/pid")" 2>/dev/null; then
        kill -TERM "$(cat "$h/pid")"
        for _ in $(seq 100); do kill -0 "$(cat "$h/pid")" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$(cat "$h/pid")" 2>/dev/null || true
    fi
    umount "$h/root" 2>/dev/null || true
    rm -rf "$h"
    ;;
esac
