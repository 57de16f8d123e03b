#!/bin/bash
# supervisor.sh HOST_DIR: keeps one twin host booted. Started detached by
# `ecsfleet-lab up` (setsid), it boots HOST_DIR/root (the host's overlay,
# mounted by ecsfleet-lab) with real systemd under systemd-nspawn, sharing the
# machine's network (LAB.md, "Real systemd in containers").
#
# The container's console is forwarded to HOST_DIR/nspawn.log
# (--console=read-only): a console nobody reads fills up and blocks the
# host's PID 1 in a write.
# A reboot inside the host (`systemctl reboot`, `reboot`) ends systemd-nspawn
# with status 133; the supervisor then waits the boot delay (the slow-boot
# delay while HOST_DIR/faults/slow-boot exists; switching that fault off ends
# the wait at once) and boots again: a fresh /run and a new boot id, as on a
# real machine. A poweroff (status 0) or a crash leaves the host down.
# SIGTERM: nspawn is sent SIGTERM, which makes the host's systemd shut down in
# order (nspawn's --kill-signal default with --boot); the supervisor exits
# when nspawn has.
set -u
h=$1
# shellcheck source=/dev/null
. "$h/settings.sh" # NAME BOOT_DELAY_MS SLOW_BOOT_DELAY_MS
# Each host in a cgroup of its own (CGROUP, unique per lab directory and
# host), in every hierarchy systemd uses: systemd-nspawn --keep-unit puts the
# container in a "payload" cgroup beside its own cgroup, so two hosts started
# from one cgroup would share one and each host's systemd would kill the
# other's processes when it stops a unit.
hierarchies=()
for hierarchy in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
    if [ -w "$hierarchy/cgroup.procs" ]; then
        mkdir -p "$hierarchy/$CGROUP"
        echo $$ >"$hierarchy/$CGROUP/cgroup.procs"
        hierarchies+=("$hierarchy")
    fi
done
leave_cgroups() {
    local hierarchy
    for hierarchy in "${hierarchies[@]}"; do
        echo $$ >"$hierarchy/cgroup.procs" 2>/dev/null
        find "$hierarchy/$CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null
        rmdir "$(dirname "$hierarchy/$CGROUP")" 2>/dev/null
    done
}
stopping=false
nspawn=
on_term() {
    stopping=true
    if [ -n "$nspawn" ]; then kill -TERM "$nspawn" 2>/dev/null; fi
}
trap on_term TERM INT HUP
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
log() { printf '%s %s\n' "$(date -u +%FT%TZ)" "$*" >>"$h/supervisor.log"; }

while ! $stopping; do
    log "boot"
    systemd-nspawn -q -D "$h/root" --boot --register=no --keep-unit --machine="$NAME" \
        --console=read-only </dev/null >>"$h/nspawn.log" 2>&1 &
    nspawn=$!
    echo "$nspawn" >"$h/nspawn.pid"
    rc=0
    while kill -0 "$nspawn" 2>/dev/null; do
        wait "$nspawn"
        rc=$?
    done
    rm -f "$h/nspawn.pid"
    nspawn=
    $stopping && break
    if [ "$rc" != 133 ]; then
        log "halted (systemd-nspawn exited $rc)"
        break
    fi
    if [ -e "$h/faults/slow-boot" ]; then delay=$SLOW_BOOT_DELAY_MS; else delay=$BOOT_DELAY_MS; fi
    log "reboot: down for ${delay} ms"
    end=$(($(now_ms) + delay))
    while ! $stopping && [ "$(now_ms)" -lt "$end" ]; do
        if [ "$delay" = "$SLOW_BOOT_DELAY_MS" ] && [ ! -e "$h/faults/slow-boot" ]; then break; fi
        sleep 0.1
    done
done
leave_cgroups
log "supervisor exits"
