#!/bin/bash
# supervisor.sh HOSTDIR: the "init" of one lab host.
#
# `ecsfleet lab up` starts it as `setsid unshare --mount --uts --propagation
# private -- bash HOSTDIR/lab/supervisor.sh HOSTDIR`, so it is the first
# process of the host's own mount and UTS namespace. It
#   1. sets the hostname and bind-mounts the host's directories (HOSTDIR/app
#      over /app, ... see setup_namespace), then hides the lab directory so no
#      host sees another host's files;
#   2. boots: PostgreSQL, prepare-env, sshd, the appliance (when installed);
#   3. serves requests on the fifo /var/lib/ecs-lab/ctl, one line each:
#        reboot                      (from the host's `reboot`)
#        fault KIND on|off SEQ       (from `ecsfleet lab fault`)
#        shutdown SEQ                (from `ecsfleet lab down`; SIGTERM too)
#      and writes SEQ to /var/lib/ecs-lab/ctl.ack when a request is done;
#   4. restarts sshd when it died (drop-mid-transfer), unless `unreachable`.
# A reboot stops PostgreSQL, kills every other process of the namespace (all
# SSH sessions drop), empties /run, waits the boot delay and boots again.
# Its stdout/stderr is HOSTDIR/supervisor.log.
set -u
H=$1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LANG=C.UTF-8
umask 022

log() {
    printf '%(%H:%M:%S)T supervisor[%s]: %s\n' -1 "$$" "$*"
}

die() {
    log "fatal: $*"
    if [ -d /var/lib/ecs-lab/ssh ]; then
        echo failed >/var/lib/ecs-lab/status
    else
        echo failed >"$H/lab/status"
    fi
    if [ -n "${MYNS:-}" ]; then
        halt >/dev/null 2>&1
    fi
    exit 1
}

setup_namespace() {
    local d
    hostname "$(. "$H/lab/config.sh"; echo "$LAB_HOST")" || return 1
    # Mount points the host needs must exist on the machine (lab-deps.sh and
    # `lab up` create them, empty).
    mount --bind "$H/lab" /var/lib/ecs-lab || return 1
    for d in app:/app data:/data volatile:/volatile salt:/etc/salt sbin:/usr/local/sbin \
        share:/usr/local/share/appliance www:/var/www/html root:/root run:/run; do
        mount --bind "$H/${d%%:*}" "${d#*:}" || return 1
    done
    if ! mount -t overlay lab-usr-local-bin \
        -o "lowerdir=/usr/local/bin,upperdir=$H/bin,workdir=$H/.bin-work" /usr/local/bin 2>/dev/null; then
        log "overlay on /usr/local/bin failed, binding an empty directory instead"
        mount --bind "$H/bin" /usr/local/bin || return 1
    fi
    mount --bind "$H/etc/os-release" /etc/os-release || return 1
    mount --bind "$H/etc/hosts" /etc/hosts || return 1
    mount --bind "$H/proc/meminfo" /proc/meminfo || return 1
    mount --bind "$H/proc/cpuinfo" /proc/cpuinfo || return 1
    # Each boot gets its own boot id, as a real reboot does: clients confirm a
    # reboot by a changed /proc/sys/kernel/random/boot_id.
    cat /proc/sys/kernel/random/uuid > "$H/proc/boot_id"
    mount --bind "$H/proc/boot_id" /proc/sys/kernel/random/boot_id || return 1
    # /app as it is underneath a disk-full tmpfs.
    mkdir -p "$H/lab/mnt/app"
    mount --bind "$H/app" /var/lib/ecs-lab/mnt/app || return 1
    RUN_ID=$(stat -c %d:%i "$H/run")
    # Hide the lab directory: the other hosts' files, the client key. (Not
    # possible when DIR lies under a directory the host has its own of.)
    mount -t tmpfs -o size=16k,mode=0755 lab-hidden "$(. "$H/lab/config.sh"; echo "$LAB_DIR")" ||
        log "could not hide the lab directory from the host"
}

setup_namespace || die "setting up the namespace failed"
# From here on only paths inside the host are valid.
# shellcheck source=lib.sh
. /var/lib/ecs-lab/lib.sh
rm -f "$LAB/ctl"
mkfifo -m 0600 "$LAB/ctl" || die "mkfifo $LAB/ctl"
exec 3<>"$LAB/ctl"
mkdir -p "$LAB/faults" "$LAB/state/units" "$LAB/journal"
stat -L -c %i /proc/$$/ns/mnt >"$LAB/mntns"
MYNS=$(cat "$LAB/mntns")
SSHD_PID=""
WATCH_PID=""
BOOT_MS=$(awk -v s="$LAB_BOOT_DELAY" 'BEGIN { print int(s * 1000) }')
SLOW_BOOT_MS=$(awk -v s="$LAB_SLOW_BOOT_DELAY" 'BEGIN { print int(s * 1000) }')

status() {
    echo "$1" >"$LAB/status.new" && mv -f "$LAB/status.new" "$LAB/status"
}

ack() {
    [ -n "${1:-}" ] && echo "$1" >"$LAB/ctl.ack"
}

# Every process in this namespace but the supervisor itself.
ns_pids() {
    stat -L -c '%i %n' /proc/[0-9]*/ns/mnt 2>/dev/null |
        awk -v ino="$MYNS" -v self="$$" '$1 == ino { split($2, p, "/"); if (p[3] != self) print p[3] }'
}

sshd_alive() {
    [ -n "$SSHD_PID" ] && kill -0 "$SSHD_PID" 2>/dev/null
}

start_sshd() {
    sshd_alive && return 0
    rm -f "$LAB/sshd.pid"
    mkdir -p /run/sshd
    chmod 0755 /run/sshd
    /usr/sbin/sshd -D -e -f "$LAB/ssh/sshd_config" >>"$LAB/sshd.log" 2>&1 &
    SSHD_PID=$!
    local i
    # sshd writes its pid file once it listens (another process answering on
    # the address must not pass for ours).
    for i in $(seq 1 200); do
        if [ "$(cat "$LAB/sshd.pid" 2>/dev/null)" = "$SSHD_PID" ] && sshd_alive; then
            log "sshd $SSHD_PID listening on $LAB_ADDRESS:22"
            return 0
        fi
        sshd_alive || break
        sleep 0.05
    done
    log "sshd did not start; see $LAB/sshd.log"
    tail -n 5 "$LAB/sshd.log"
    return 1
}

# stop_sshd [--listener-only]: the listener, and (default) every session.
stop_sshd() {
    sshd_alive || {
        SSHD_PID=""
        return 0
    }
    local pids=()
    [ "${1:-}" = --listener-only ] || mapfile -t pids < <(descendants "$SSHD_PID")
    kill -KILL "$SSHD_PID" "${pids[@]}" 2>/dev/null
    wait "$SSHD_PID" 2>/dev/null
    SSHD_PID=""
}

# The drop-mid-transfer watcher: a new file under /app (two levels deep)
# whose name has "tmp" in it, ends in .part or starts with .ecsfleet- ->
# sshd and all its sessions are killed; the supervisor restarts sshd within
# a second. (Polling: a transfer shorter than ~20 ms can slip through; the
# mktemp, head and dd wrappers in /usr/local/sbin that the fault installs
# catch every transfer that makes its temp file with mktemp or receives its
# bytes with `head -c LEN > FILE` or `dd of=FILE` under /app, as ecsfleet's
# do.)
start_watcher() {
    [ -n "$WATCH_PID" ] && kill -0 "$WATCH_PID" 2>/dev/null && return 0
    (
        shopt -s nullglob dotglob
        declare -A seen
        exec 5<> <(:)
        patterns=(/app/*tmp* /app/*.part /app/.ecsfleet-* /app/*/*tmp* /app/*/*.part /app/*/.ecsfleet-*)
        for f in "${patterns[@]}"; do seen[$f]=1; done
        while :; do
            patterns=(/app/*tmp* /app/*.part /app/.ecsfleet-* /app/*/*tmp* /app/*/*.part /app/*/.ecsfleet-*)
            for f in "${patterns[@]}"; do
                if [ -z "${seen[$f]:-}" ]; then
                    seen[$f]=1
                    drop_connections "$f was written"
                fi
            done
            read -r -t 0.02 -u 5 _
        done
    ) &
    WATCH_PID=$!
    install -m 0755 "$LAB/payload/fault/mktemp" /usr/local/sbin/mktemp
    install -m 0755 "$LAB/payload/fault/head" /usr/local/sbin/head
    install -m 0755 "$LAB/payload/fault/dd" /usr/local/sbin/dd
}

stop_watcher() {
    if [ -n "$WATCH_PID" ]; then
        kill "$WATCH_PID" 2>/dev/null
        wait "$WATCH_PID" 2>/dev/null
        WATCH_PID=""
    fi
    rm -f /usr/local/sbin/mktemp /usr/local/sbin/head /usr/local/sbin/dd
}

boot() {
    status booting
    # Rewritten in place through the bind mount made at setup (same inode).
    new_boot_id=$(cat /proc/sys/kernel/random/uuid)
    printf '%s\n' "$new_boot_id" > /proc/sys/kernel/random/boot_id || log "cannot set a new boot id"
    mkdir -p /run/lock /run/ecs-lab/units
    chmod 1777 /run/lock
    pg_start || log "postgresql did not start; see $PG_DATA/postgresql.log"
    if appliance_installed; then
        journal prepare-env "Starting Prepare Environment..."
        prepare_env || journal prepare-env "no environment found"
    fi
    if ! lab_fault unreachable && ! start_sshd; then
        # At the first boot this is fatal (`lab up` reports the log); after
        # a reboot the loop below keeps trying.
        [ "${1:-}" = first ] && die "sshd did not start"
    fi
    if appliance_installed; then
        appliance_start
    fi
    if lab_fault drop-mid-transfer; then
        start_watcher
    fi
    status up
}

# halt: what a shutdown does to the host's processes (not to its disks).
halt() {
    stop_watcher
    appliance_stop >/dev/null 2>&1
    pg_stop || log "pg_ctl stop failed"
    local i pids
    for i in 1 2 3 4 5 6 7 8 9 10; do
        mapfile -t pids < <(ns_pids)
        [ ${#pids[@]} -eq 0 ] && break
        if [ "$i" -le 2 ]; then
            kill -TERM "${pids[@]}" 2>/dev/null
        else
            kill -KILL "${pids[@]}" 2>/dev/null
        fi
        sleep 0.2
    done
    SSHD_PID=""
}

# boot_wait: the boot delay (the slow-boot delay while that fault is on,
# re-read every 0.1 s so switching it off ends a slow boot); a signal
# (lab down) interrupts it.
boot_wait() {
    local start now limit
    start=${EPOCHREALTIME/./}
    while :; do
        if lab_fault slow-boot; then limit=$SLOW_BOOT_MS; else limit=$BOOT_MS; fi
        now=${EPOCHREALTIME/./}
        [ $(((now - start) / 1000)) -ge "$limit" ] && return 0
        [ -n "$STOP" ] && shutdown_host
        sleep 0.1 &
        wait $!
    done
}

reboot_host() {
    log "reboot"
    status rebooting
    halt
    if [ "$(stat -c %d:%i /run)" = "$RUN_ID" ]; then
        find /run -mindepth 1 -delete 2>/dev/null || rm -rf /run/* /run/.[!.]* 2>/dev/null
    else
        log "/run is not the host's own run directory; not emptying it"
    fi
    boot_wait
    boot
    log "booted"
}

shutdown_host() {
    log "shutdown"
    status stopping
    halt
    status down
    ack "${1:-}"
    exit 0
}

# disk_full on|off: a small tmpfs over /app holding a copy of /app's files
# (subdirectories bound back in) and filled up, so writes to /app fail with
# ENOSPC; off copies /app's files back and removes it.
disk_full() {
    local orig=/var/lib/ecs-lab/mnt/app e name
    if [ "$1" = on ]; then
        [ -e "$LAB/faults/disk-full" ] && return 0
        mount -t tmpfs -o size=1m,mode=0755 lab-disk-full /app || return 1
        chown --reference="$orig" /app
        chmod --reference="$orig" /app
        shopt -s nullglob dotglob
        for e in "$orig"/*; do
            name=${e##*/}
            if [ -d "$e" ] && [ ! -L "$e" ]; then
                mkdir "/app/$name"
                mount --bind "$e" "/app/$name"
            else
                cp -a "$e" "/app/$name"
            fi
        done
        shopt -u nullglob dotglob
        dd if=/dev/zero of=/app/.lab-disk-full bs=4096 2>/dev/null
        touch "$LAB/faults/disk-full"
    else
        [ -e "$LAB/faults/disk-full" ] || return 0
        shopt -s nullglob dotglob
        for e in "$orig"/*; do
            name=${e##*/}
            if [ ! -d "$e" ] || [ -L "$e" ]; then
                [ -e "/app/$name" ] || [ -L "/app/$name" ] || rm -f "$e"
            fi
        done
        for e in /app/*; do
            name=${e##*/}
            [ "$name" = .lab-disk-full ] && continue
            if [ ! -d "$e" ] || [ -L "$e" ]; then
                cp -a "$e" "$orig/$name.lab-restore" && mv -f "$orig/$name.lab-restore" "$orig/$name"
            fi
        done
        shopt -u nullglob dotglob
        umount -R /app || return 1
        rm -f "$LAB/faults/disk-full"
    fi
}

hostkey_change() {
    local key=$LAB/ssh/ssh_host_ed25519_key
    if [ "$1" = on ]; then
        if [ ! -e "$key.orig" ]; then
            mv -f "$key" "$key.orig"
            mv -f "$key.pub" "$key.pub.orig"
        fi
        rm -f "$key" "$key.pub"
        ssh-keygen -q -t ed25519 -N '' -C "$LAB_HOST-changed" -f "$key" || return 1
        touch "$LAB/faults/hostkey-change"
    else
        if [ -e "$key.orig" ]; then
            mv -f "$key.orig" "$key"
            mv -f "$key.pub.orig" "$key.pub"
        fi
        rm -f "$LAB/faults/hostkey-change"
    fi
    if ! lab_fault unreachable; then
        stop_sshd --listener-only
        start_sshd
    fi
}

fault() {
    local kind=$1 state=$2
    case $kind in
    disk-full) disk_full "$state" ;;
    hostkey-change) hostkey_change "$state" ;;
    unreachable)
        if [ "$state" = on ]; then
            touch "$LAB/faults/unreachable"
            stop_sshd
        else
            rm -f "$LAB/faults/unreachable"
            start_sshd
        fi
        ;;
    drop-mid-transfer)
        if [ "$state" = on ]; then
            touch "$LAB/faults/drop-mid-transfer"
            start_watcher
        else
            rm -f "$LAB/faults/drop-mid-transfer"
            stop_watcher
        fi
        ;;
    slow-boot | highstate-fails)
        if [ "$state" = on ]; then touch "$LAB/faults/$kind"; else rm -f "$LAB/faults/$kind"; fi
        ;;
    *) log "unknown fault $kind" ;;
    esac
}

# A signal only sets a flag: the loop (or a boot delay) acts on it, outside
# any builtin the trap would interrupt.
STOP=""
trap 'STOP=1' TERM INT HUP
log "host $LAB_HOST in namespace $MYNS"
boot first
log "booted"
while :; do
    [ -n "$STOP" ] && shutdown_host
    if read -r -t 1 cmd a1 a2 a3 <&3; then
        case $cmd in
        reboot) reboot_host ;;
        shutdown) shutdown_host "${a1:-}" ;;
        fault)
            if fault "$a1" "$a2"; then
                echo "ok" >"$LAB/ctl.result"
            else
                echo "failed" >"$LAB/ctl.result"
            fi
            ack "$a3"
            ;;
        "") ;;
        *) log "unknown request: $cmd" ;;
        esac
    fi
    if ! lab_fault unreachable && ! sshd_alive && [ "$(cat "$LAB/status")" = up ]; then
        log "sshd is gone; starting it again"
        SSHD_PID=""
        start_sshd
    fi
done
